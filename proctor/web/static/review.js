// Keyboard triage for reviewers: j/k move through the queue, Enter opens, n goes to the next
// case; on a case, 1-4 pick an outcome and Ctrl+Enter submits and moves on. Pages work
// without this script; it only saves reaching for the mouse.
(function () {
  "use strict";
  function typing(e) {
    var t = e.target;
    return t && (t.tagName === "TEXTAREA" || t.tagName === "INPUT" || t.tagName === "SELECT");
  }
  var rows = Array.prototype.slice.call(document.querySelectorAll("#queue tbody tr[data-href]"));
  var at = -1;
  function select(i) {
    if (!rows.length) return;
    at = Math.max(0, Math.min(rows.length - 1, i));
    rows.forEach(function (r, n) { r.classList.toggle("selected", n === at); });
    rows[at].scrollIntoView({ block: "nearest" });
  }
  var form = document.getElementById("decide-form");
  document.addEventListener("keydown", function (e) {
    if (form && e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
      var next = form.querySelector('button[value="next"]');
      if (next && form.reportValidity()) { e.preventDefault(); next.click(); }
      return;
    }
    if (typing(e) || e.ctrlKey || e.metaKey || e.altKey) return;
    if (rows.length && e.key === "j") { select(at + 1); e.preventDefault(); }
    else if (rows.length && e.key === "k") { select(at - 1); e.preventDefault(); }
    else if (rows.length && e.key === "Enter" && at >= 0) { location.href = rows[at].dataset.href; }
    else if (e.key === "n") {
      var here = location.pathname.match(/\/review\/cases\/(\d+)/);
      location.href = "/review/next" + (here ? "?after=" + here[1] : "");
    } else if (form && /^[1-4]$/.test(e.key)) {
      var radio = form.querySelectorAll('input[name="outcome"]')[Number(e.key) - 1];
      if (radio) { radio.checked = true; form.querySelector("textarea").focus(); e.preventDefault(); }
    }
  });
})();
