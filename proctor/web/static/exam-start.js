// The exam list: "start" opens a server-timed attempt, then goes to its page.
(function () {
  "use strict";
  document.querySelectorAll(".start-exam").forEach((btn) => btn.addEventListener("click", async () => {
    btn.disabled = true;
    const resp = await fetch("/api/v1/exams/" + btn.dataset.examId + "/attempts", {
      method: "POST", headers: { "Content-Type": "application/json" }, credentials: "same-origin",
      body: JSON.stringify({ device: await window.deviceFingerprint() }),
    });
    const data = await resp.json().catch(() => ({}));
    if (resp.ok) { window.location.href = "/exams/attempts/" + data.attempt_id; return; }
    const err = document.getElementById("exam-error");
    err.textContent = data.detail || "无法开始考试"; err.hidden = false; btn.disabled = false;
  }));
})();
