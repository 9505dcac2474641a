// The exam page: a countdown from the server's clock, answers saved item by item, and the
// invigilation beat. Nothing here decides a score or a deadline; the server does.
(function () {
  // The session's CSRF token (see docs/security.md); Origin alone also suffices.
  const csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  const script = document.getElementById("exam-script");
  const attemptId = script.dataset.attemptId;
  const base = "/api/v1/exams/attempts/" + attemptId;
  const intervalMs = Number(script.dataset.interval || 15) * 1000;
  const timerEl = document.getElementById("exam-timer");
  const answeredEl = document.getElementById("exam-answered");
  const saveEl = document.getElementById("exam-save");
  const submitBtn = document.getElementById("exam-submit");
  const fsBtn = document.getElementById("exam-fullscreen");
  let deadline = Date.now() + Number(script.dataset.remaining) * 1000;
  let device = "";
  let events = [];
  let lastAction = Date.now();
  const timeOnItem = {};
  const pending = new Map(); // item id -> choice still to be saved
  let finishing = false;

  function headers() {
    return { "Content-Type": "application/json", "X-Device": device, "X-CSRF-Token": csrf };
  }

  function record(kind, extra) {
    events.push(Object.assign({ kind: kind, client_ms: Date.now() }, extra || {}));
  }

  function showTimer() {
    const left = Math.max(0, Math.round((deadline - Date.now()) / 1000));
    timerEl.textContent = Math.floor(left / 60) + ":" + String(left % 60).padStart(2, "0");
    if (left <= 0) finish();
  }

  async function flushSaves() {
    for (const [itemId, choice] of Array.from(pending.entries())) {
      try {
        const resp = await fetch(base + "/answers/" + itemId, {
          method: "PUT", headers: headers(), credentials: "same-origin",
          body: JSON.stringify({ choice: choice, seconds: timeOnItem[itemId] || 0 }),
        });
        const data = await resp.json().catch(() => ({}));
        if (resp.ok) {
          if (pending.get(itemId) === choice) pending.delete(itemId);
          answeredEl.textContent = data.answered;
          deadline = Date.now() + data.remaining_s * 1000;
          saveEl.textContent = "已保存";
        } else if (resp.status === 409) {
          pending.clear();
          saveEl.textContent = data.detail || "考试已结束";
          window.location.reload();
          return;
        } else {
          pending.delete(itemId);
          saveEl.textContent = data.detail || "保存失败";
        }
      } catch (e) {
        saveEl.textContent = "网络中断，答案将在恢复后自动保存";
        return;
      }
    }
  }

  // The answer card follows what is chosen on the page (saves catch up in the background).
  const card = document.getElementById("answer-card");
  const unansweredEl = document.getElementById("exam-unanswered");
  function unanswered() {
    let left = 0;
    document.querySelectorAll(".exam-item").forEach((box) => {
      const done = box.querySelector("input:checked") !== null;
      const link = card.querySelector('a[data-item-id="' + box.dataset.itemId + '"]');
      link.classList.toggle("answered", done);
      link.classList.toggle("unanswered", !done);
      if (!done) left += 1;
    });
    unansweredEl.textContent = left;
    return left;
  }
  card.querySelectorAll("a").forEach((link) => link.addEventListener("click", () => { card.open = false; }));

  document.querySelectorAll(".exam-item").forEach((box) => {
    const itemId = box.dataset.itemId;
    box.addEventListener("change", () => {
      unanswered();
      const now = Date.now();
      timeOnItem[itemId] = (timeOnItem[itemId] || 0) + (now - lastAction) / 1000;
      lastAction = now;
      const choice = Array.from(box.querySelectorAll("input:checked")).map((i) => i.value);
      pending.set(itemId, choice);
      saveEl.textContent = "正在保存…";
      flushSaves();
    });
  });

  async function beat() {
    const batch = events.slice(0, 50);
    try {
      const resp = await fetch(base + "/beats", {
        method: "POST", headers: headers(), credentials: "same-origin",
        body: JSON.stringify({ events: batch }),
      });
      const data = await resp.json().catch(() => ({}));
      if (resp.ok) {
        events = events.slice(batch.length);
        deadline = Date.now() + data.remaining_s * 1000;
        if (data.state !== "open") window.location.reload();
      }
    } catch (e) { /* kept for the next beat */ }
    if (pending.size) flushSaves();
  }

  async function finish() {
    if (finishing) return;
    finishing = true;
    clearInterval(tick);
    await flushSaves();
    await beat();
    await fetch(base + "/submit", { method: "POST", headers: headers(), credentials: "same-origin" });
    window.location.reload();
  }

  document.addEventListener("visibilitychange", () => {
    record(document.visibilityState === "visible" ? "visible" : "hidden");
    if (document.visibilityState !== "visible") beat();
  });
  window.addEventListener("blur", () => record("blur"));
  window.addEventListener("focus", () => record("focus"));
  ["copy", "paste", "cut"].forEach((k) => document.addEventListener(k, () => record(k)));
  document.addEventListener("contextmenu", () => record("menu"));
  let wasFullscreen = false;
  document.addEventListener("fullscreenchange", () => {
    if (document.fullscreenElement) { wasFullscreen = true; return; }
    if (wasFullscreen) record("fullscreen_exit");
    wasFullscreen = false;
  });
  fsBtn.addEventListener("click", () => {
    if (document.documentElement.requestFullscreen) document.documentElement.requestFullscreen().catch(() => {});
  });
  // "交卷" says how many items are still unanswered and asks before handing in.
  const submitDialog = document.getElementById("submit-dialog");
  submitBtn.addEventListener("click", () => {
    const left = unanswered();
    const total = document.querySelectorAll(".exam-item").length;
    document.getElementById("submit-message").textContent = left
      ? "还有 " + left + " 题未作答（共 " + total + " 题），未作答的题不得分。确定交卷吗？"
      : "全部 " + total + " 题均已作答。确定交卷吗？";
    submitDialog.showModal();
  });
  document.getElementById("exam-submit-cancel").addEventListener("click", () => submitDialog.close());
  document.getElementById("exam-submit-confirm").addEventListener("click", () => {
    document.getElementById("exam-submit-confirm").disabled = true;
    submitDialog.close();
    finish();
  });

  // Answers are saved as they are chosen; the form itself is never submitted.
  document.getElementById("exam-form").addEventListener("submit", (e) => e.preventDefault());

  const tick = setInterval(showTimer, 1000);
  setInterval(beat, intervalMs);
  window.deviceFingerprint().then((d) => {
    device = d;
    // Tell the server which device is answering (a change mid-attempt is evidence).
    fetch(base, { headers: headers(), credentials: "same-origin" });
  });
})();
