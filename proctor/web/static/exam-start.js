// The exam list: "start" first shows what the attempt involves (time, attempts left, what is
// recorded); only "确认开始" opens a server-timed attempt, then goes to its page.
(function () {
  "use strict";
  // The session's CSRF token (see docs/security.md); Origin alone also suffices.
  const csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  const dialog = document.getElementById("exam-confirm");
  const startBtn = document.getElementById("exam-confirm-start");
  const err = document.getElementById("exam-error");
  let chosen = null;

  async function start(btn) {
    startBtn.disabled = true;
    const resp = await fetch("/api/v1/exams/" + btn.dataset.examId + "/attempts", {
      method: "POST", headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf }, credentials: "same-origin",
      body: JSON.stringify({ device: await window.deviceFingerprint() }),
    });
    const data = await resp.json().catch(() => ({}));
    if (resp.ok) { window.location.href = "/exams/attempts/" + data.attempt_id; return; }
    dialog.close();
    err.textContent = data.detail || "无法开始考试"; err.hidden = false; startBtn.disabled = false;
  }

  document.querySelectorAll(".start-exam").forEach((btn) => btn.addEventListener("click", () => {
    chosen = btn;
    dialog.querySelectorAll("[data-fill]").forEach((el) => { el.textContent = btn.dataset[el.dataset.fill]; });
    err.hidden = true;
    dialog.showModal();
  }));
  startBtn.addEventListener("click", () => { if (chosen) start(chosen); });
  document.getElementById("exam-confirm-cancel").addEventListener("click", () => dialog.close());
})();
