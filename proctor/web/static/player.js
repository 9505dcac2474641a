// Lesson player client: reports what the player sees; the server decides what counts.
// Flags in a beat describe the whole interval since the previous beat: "visible" is false
// if the page was hidden at any moment, "paused" true if playback stopped at any moment.
(function () {
  "use strict";
  // The session's CSRF token (see docs/security.md); Origin alone also suffices.
  const csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  const script = document.getElementById("player-script");
  const lessonId = Number(script.dataset.lessonId);
  const video = document.getElementById("lesson-video");
  const bar = document.getElementById("verified-bar");
  const text = document.getElementById("verified-text");
  const status = document.getElementById("tracker-status");
  const box = document.getElementById("challenge");
  const promptEl = document.getElementById("challenge-prompt");
  const optionsEl = document.getElementById("challenge-options");

  let session = null;
  let seq = 0;
  let interactions = 0;
  let interval = { paused: false, hidden: false, blurred: false };
  let queue = Promise.resolve();
  let timer = null;
  let challengeOpen = false;
  let lastSent = 0;

  function resetInterval() {
    interval = { paused: video.paused || video.ended, hidden: document.visibilityState !== "visible", blurred: !document.hasFocus() };
  }

  function fmt(seconds) {
    const m = Math.floor(seconds / 60);
    const s = Math.floor(seconds % 60);
    return m + " 分 " + s + " 秒";
  }

  function showProgress(reply) {
    const pct = reply.duration_s ? Math.min(100, (100 * reply.covered_s) / reply.duration_s) : 0;
    bar.style.width = pct.toFixed(1) + "%";
    text.textContent = "已验证学习 " + fmt(reply.covered_s) + " / " + fmt(reply.duration_s) +
      "（" + pct.toFixed(0) + "%）" + (reply.completed ? " · 本讲已完成" : "");
    text.dataset.coveredS = String(reply.covered_s);
    text.dataset.completed = reply.completed ? "1" : "0";
  }

  // Every code the tracker's verification can give (tracker/verify.py), in words; a code
  // this page does not know yet still gets a sentence, never the code itself.
  const NOTES = { first_beat: "已开始记录学时", paused: "已暂停", hidden: "页面不可见",
    unfocused: "窗口不在前台", seek_forward: "快进部分不计学时", seek_back: "回看",
    rate_exceeded: "倍速播放不计学时", concurrent_session: "您在其他页面或设备上正在学习，本页面不计学时",
    challenge_pending: "请先完成确认提示", rewatch: "重复观看不重复计时", seq_gap: "网络中断，间隔时间不计",
    late_beat: "网络中断，间隔时间不计" };
  const UNKNOWN_NOTE = "本段学习以服务器核验结果为准";

  function describe(codes) {
    const words = codes.map((c) => (Object.prototype.hasOwnProperty.call(NOTES, c) ? NOTES[c] : UNKNOWN_NOTE));
    return [...new Set(words)].join("；");
  }

  // A lesson whose video is missing or cannot be decoded would show a black frame at 0:00;
  // say so instead, in the player and in the status line.
  const problem = document.getElementById("video-problem");
  function videoUnplayable() {
    const message = "本讲视频暂时无法播放（视频文件缺失或格式不受支持），请稍后再试或联系学院管理员。学时不会因此受影响。";
    if (problem) { problem.querySelector("p").textContent = message; problem.hidden = false; }
    text.dataset.videoError = "1";
  }
  video.addEventListener("error", videoUnplayable);
  if (video.error) videoUnplayable();

  async function post(url, body) {
    const resp = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-Study-Token": session.token, "X-CSRF-Token": csrf },
      body: JSON.stringify(body),
      credentials: "same-origin",
    });
    const data = await resp.json().catch(() => ({}));
    return { resp, data };
  }

  // Send one beat; a network failure or 5xx retries the very same body (same seq), so
  // the server either counts it once or answers the retry from its record.
  function sendBeat() {
    if (!session) return queue;
    // The body is fixed now (the interval closes now); sending waits its turn so that
    // sequence numbers reach the server in order.
    seq += 1;
    const body = {
      seq, position: video.currentTime, rate: video.playbackRate,
      paused: interval.paused, visible: !interval.hidden, focused: !interval.blurred,
      muted: video.muted, volume: video.volume, interactions, client_time: Date.now(),
    };
    interactions = 0;
    resetInterval();
    lastSent = Date.now();
    const sid = session.session_id;
    queue = queue.then(async () => {
      for (let attempt = 0; attempt < 6; attempt++) {
        if (!session || session.session_id !== sid) return;
        try {
          const { resp, data } = await post("/api/v1/track/sessions/" + sid + "/beats", body);
          if (resp.ok) {
            status.textContent = describe(data.codes || []);
            showProgress(data);
            if (data.challenge && !challengeOpen) openChallenge(data.challenge);
            return;
          }
          if (resp.status < 500) {
            status.textContent = data.detail || "心跳被拒绝";
            if (resp.status === 409 || resp.status === 410 || resp.status === 404) await restart();
            return;
          }
          status.textContent = data.detail || "学习记录服务暂时不可用，正在重试…";
        } catch (err) {
          status.textContent = "网络不稳定，正在重试…";
        }
        await new Promise((r) => setTimeout(r, Math.min(8000, 500 * 2 ** attempt)));
      }
    });
    return queue;
  }

  let pending = false;
  function beatSoon() {
    // A state change closes the current interval at once (at most twice a second): the
    // interval up to the change keeps the state it had, the next one starts with the new.
    if (pending) return;
    const wait = Math.max(0, 500 - (Date.now() - lastSent));
    if (wait === 0) { sendBeat(); return; }
    pending = true;
    setTimeout(() => { pending = false; sendBeat(); }, wait);
  }

  function openChallenge(ch) {
    challengeOpen = true;
    video.pause();
    promptEl.textContent = ch.prompt;
    optionsEl.replaceChildren();
    for (const opt of ch.options) {
      const b = document.createElement("button");
      b.type = "button";
      b.textContent = opt;
      b.addEventListener("click", () => answer(ch.id, opt));
      optionsEl.appendChild(b);
    }
    box.hidden = false;
  }

  async function answer(id, value) {
    const { resp, data } = await post("/api/v1/track/sessions/" + session.session_id + "/challenge",
      { challenge_id: id, answer: value });
    if (!resp.ok) { status.textContent = data.detail || "提交失败"; return; }
    if (data.correct) {
      box.hidden = true;
      challengeOpen = false;
      status.textContent = "确认成功，继续学习";
      video.play().catch(() => {});
    } else if (data.challenge) {
      status.textContent = "回答不正确，请重试";
      openChallenge(data.challenge);
    }
  }

  async function restart() {
    session = null;
    await start(false);
  }

  async function start(seekToResume) {
    const resp = await fetch("/api/v1/study/sessions", {
      method: "POST", headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf }, credentials: "same-origin",
      body: JSON.stringify({ lesson_id: lessonId, device: await window.deviceFingerprint() }),
    });
    const data = await resp.json().catch(() => ({}));
    if (!resp.ok) { text.textContent = data.detail || "无法开始学习"; return; }
    session = data;
    seq = 0;
    showProgress({ covered_s: data.covered_s, duration_s: data.duration_s, completed: data.completed });
    if (seekToResume && data.resume_at_s > 0 && data.resume_at_s < data.duration_s - 1) {
      video.currentTime = data.resume_at_s;
    }
    resetInterval();
    await sendBeat();
    clearInterval(timer);
    timer = setInterval(sendBeat, data.heartbeat_interval_s * 1000);
  }

  for (const ev of ["pointerdown", "keydown", "wheel", "touchstart", "pointermove"]) {
    window.addEventListener(ev, () => { interactions += 1; }, { passive: true });
  }
  // A change closes the interval; a change that happens while a close is pending (within
  // the 500 ms limit) marks the interval, so no unwatched moment is reported as watched.
  function change(flag) { if (pending) interval[flag] = true; beatSoon(); }
  video.addEventListener("pause", () => change("paused"));
  video.addEventListener("ended", () => change("paused"));
  video.addEventListener("play", () => beatSoon());
  video.addEventListener("seeking", () => change("paused"));
  video.addEventListener("seeked", () => beatSoon());
  document.addEventListener("visibilitychange", () => change(document.visibilityState === "visible" ? "none" : "hidden"));
  window.addEventListener("blur", () => change("blurred"));
  window.addEventListener("focus", () => beatSoon());
  window.addEventListener("pagehide", () => {
    if (!session) return;
    fetch("/api/v1/track/sessions/" + session.session_id + "/end", {
      method: "POST", keepalive: true, headers: { "X-Study-Token": session.token, "X-CSRF-Token": csrf }, credentials: "same-origin",
    });
  });
  window.proctorPlayer = { sendBeat, describe, state: () => ({ session, seq }) };
  start(true);
})();
