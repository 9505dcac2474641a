// Behaviour every page shares. The Content-Security-Policy forbids inline scripts and
// event-handler attributes, so markup only declares intent with data-* attributes.
(function () {
  "use strict";
  // <select data-autosubmit>: choosing an option applies the filter (a <noscript> button
  // does the same without JavaScript).
  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });
  // <a data-back href="/">: back to the previous page when there is one, else the link.
  document.querySelectorAll("a[data-back]").forEach(function (link) {
    link.addEventListener("click", function (e) {
      if (window.history.length > 1) { e.preventDefault(); window.history.back(); }
    });
  });
})();
