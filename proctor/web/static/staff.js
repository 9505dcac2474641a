// Behaviour of the staff pages. The Content-Security-Policy forbids inline scripts and
// event-handler attributes: markup declares intent with data-* attributes, wired up here.
(function () {
  "use strict";

  function getJson(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); });
  }

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined) { e.textContent = text; }
    return e;
  }

  // ---- org tree picker: search by name, or browse the tree from the top of one's authority
  function setupPicker(box) {
    var q = box.querySelector(".org-picker-q");
    var id = box.querySelector(".org-picker-id");
    var list = box.querySelector(".org-picker-results");
    var browse = box.querySelector(".org-picker-browse");
    var clear = box.querySelector(".org-picker-clear");
    var level = box.getAttribute("data-level") || "";
    var openOnly = box.getAttribute("data-open") === "1";
    var timer = null;
    // Enabled only with JavaScript: without it the <noscript> id field is the one posted.
    id.disabled = false;

    function choose(node) {
      id.value = String(node.id);
      q.value = node.trail || node.name;
      list.hidden = true;
      if (box.getAttribute("data-submit") === "1" && id.form) { id.form.submit(); }
    }

    function show(items, expandable) {
      list.innerHTML = "";
      if (!items.length) {
        list.appendChild(el("li", "none", "没有匹配的机构"));
      }
      items.forEach(function (node) {
        var li = el("li", node.closed ? "closed" : "", node.name);
        li.setAttribute("data-id", String(node.id));
        if (node.trail) { li.appendChild(el("small", "", node.trail + (node.closed ? "（已撤销）" : ""))); }
        var pickable = !level || node.level === level;
        if (expandable && node.level !== "unit") {
          var more = el("span", "expand", "展开 ▸");
          more.addEventListener("click", function (e) { e.stopPropagation(); children(node.id); });
          li.insertBefore(more, li.firstChild);
        }
        if (pickable && !(openOnly && node.closed)) {
          li.addEventListener("click", function () { choose(node); });
        } else if (expandable) {
          li.addEventListener("click", function () { children(node.id); });
        }
        list.appendChild(li);
      });
      list.hidden = false;
    }

    function search() {
      var url = "/api/v1/org-search?q=" + encodeURIComponent(q.value.trim());
      if (level) { url += "&level=" + level; }
      if (openOnly) { url += "&open=true"; }
      getJson(url).then(function (body) { show(body.items, false); }, function () {});
    }

    function children(orgId) {
      var url = orgId ? "/api/v1/orgs/" + orgId : "/api/v1/orgs";
      getJson(url).then(function (body) {
        var here = { id: body.id, name: body.name + "（本级）", level: body.level, trail: "" };
        var kids = body.children.map(function (k) {
          return { id: k.id, name: k.name, level: k.level, trail: k.code, closed: false };
        });
        show([here].concat(kids), true);
      }, function () {});
    }

    q.addEventListener("input", function () {
      id.value = "";
      clearTimeout(timer);
      timer = setTimeout(search, 250);
    });
    q.addEventListener("focus", function () { if (q.value.trim()) { search(); } });
    browse.addEventListener("click", function () { children(null); });
    if (clear) {
      clear.addEventListener("click", function () {
        id.value = ""; q.value = "";
        if (box.getAttribute("data-submit") === "1" && id.form) { id.form.submit(); }
      });
    }
    document.addEventListener("click", function (e) {
      if (!box.contains(e.target)) { list.hidden = true; }
    });
  }
  document.querySelectorAll("[data-org-picker]").forEach(setupPicker);

  // ---- confirmations and printing
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (e) {
      if (!window.confirm(form.getAttribute("data-confirm"))) { e.preventDefault(); }
    });
  });
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.addEventListener("click", function () { window.print(); });
  });

  // ---- video transcoding progress: the state is in the database, so a reload shows it too
  document.querySelectorAll("[data-media-job]").forEach(function (box) {
    var url = "/api/v1/media-jobs/" + box.getAttribute("data-media-job");
    var bar = box.querySelector("progress");
    var text = box.querySelector(".media-state");
    function poll() {
      getJson(url).then(function (job) {
        if (bar) { bar.value = job.progress; }
        if (text) { text.textContent = job.state_label + (job.state === "running" ? " " + job.progress + "%" : ""); }
        if (job.state === "ready" || job.state === "failed") {
          window.location.reload();
        } else {
          setTimeout(poll, 1500);
        }
      }, function () { setTimeout(poll, 5000); });
    }
    setTimeout(poll, 1000);
  });

  // ---- credits while editing a course: computed by the server's one credit policy
  document.querySelectorAll("[data-credit-preview]").forEach(function (form) {
    var out = form.querySelector(".credits-preview");
    function update() {
      var kind = form.querySelector("[name=kind]");
      var minutes = form.querySelector("[name=lecture_minutes]");
      var designated = form.querySelector("[name=designated_credits]");
      if (!kind || !minutes || !out) { return; }
      var seconds = Math.round(parseFloat(minutes.value || "0") * 60);
      if (!(seconds > 0)) { out.textContent = "请填写讲授时长"; return; }
      var url = "/api/v1/credits/preview?kind=" + encodeURIComponent(kind.value) +
        "&lecture_seconds=" + seconds;
      if (designated && designated.value.trim()) {
        url += "&designated_credits=" + encodeURIComponent(designated.value.trim());
      }
      getJson(url).then(function (p) { out.textContent = p.text; },
        function () { out.textContent = "学分无法计算：请检查讲授时长和指定学分"; });
    }
    form.addEventListener("input", update);
    form.addEventListener("change", update);
  });
})();
