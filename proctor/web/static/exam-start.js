// The exam list: "start" opens a server-timed attempt, then goes to its page.
(function () {
  "use strict";
  // The session's CSRF token (see docs/security.md); Origin alone also suffices.
  const csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  document.querySelectorAll(".start-exam").forEach((btn) => btn.addEventListener("click", async () => {
    btn.disabled = true;
    const resp = await fetch("/api/v1/exams/" + btn.dataset.examId + "/attempts", {
      method: "POST", headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf }, credentials: "same-origin",
      body: JSON.stringify({ device: await window.deviceFingerprint() }),
    });
    const data = await resp.json().catch(() => ({}));
    if (resp.ok) { window.location.href = "/exams/attempts/" + data.attempt_id; return; }
    const err = document.getElementById("exam-error");
    err.textContent = data.detail || "无法开始考试"; err.hidden = false; btn.disabled = false;
  }));
})();
