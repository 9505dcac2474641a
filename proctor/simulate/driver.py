"""Run session plans through the real tracker service, in simulated (server) time.

The driver plays every plan as a client would (a real player, a headless script, or a
forger), interleaving all sessions in time order; the tracker verifies each beat with the
same code and stores the same evidence and summaries as in production.
"""

from __future__ import annotations

import heapq
import itertools
import math
import random
from dataclasses import dataclass
from typing import Any

from proctor.kernel.progress import Progress, silent
from proctor.simulate.behaviour import TOUCH_INPUT, UA_MOBILE, Plan
from tracker.service import Tracker, TrackerError
from tracker.verify import Beat

# A session longer than this many beats is a stuck plan (e.g. a challenge never answered).
MAX_STEPS = 2000

# The progress stage of a simulation (sessions played to their end).
STAGE = "模拟学习会话"


@dataclass
class Run:
    """A plan being played."""

    plan: Plan
    sid: str = ""
    token: str = ""
    seq: int = 0
    pos: float = 0.0
    end_pos: float = 0.0
    duration: float = 0.0
    paused_until: int = 0
    hidden_until: int = 0
    challenge: dict[str, Any] | None = None
    answer_at: int = 0
    last_ms: int = 0
    steps: int = 0
    done: bool = False
    released: bool = False


class Driver:
    """Plays plans against a tracker; one event queue for all sessions."""

    def __init__(self, tracker: Tracker, rng: random.Random, *, flush_every: int = 2000) -> None:
        self.tracker = tracker
        self.rng = rng
        self.interval_ms = tracker.policy.interval_ms
        self.flush_every = flush_every
        self._queue: list[tuple[int, int, Run]] = []
        self._counter = itertools.count()
        self._active: set[int] = set()
        self._freed: dict[str, int] = {}  # machine -> when its last session was ended
        self._devices: dict[str, set[int]] = {}  # device -> learners with a session open on it
        self.beats = 0

    def add(self, plan: Plan) -> None:
        """Schedule a plan at its start time."""
        heapq.heappush(self._queue, (plan.start_ms, next(self._counter), Run(plan)))

    async def run(self, progress: Progress = silent) -> None:
        """Play everything to the end, then expire what was left open and flush."""
        steps = 0
        last = 0
        total, played = len(self._queue), 0
        progress(STAGE, 0, total)
        while self._queue:
            now, _, run = heapq.heappop(self._queue)
            last = max(last, now)
            nxt = await self._step(run, now)
            if nxt is not None:
                heapq.heappush(self._queue, (nxt, next(self._counter), run))
            else:
                played += 1
            steps += 1
            if steps % self.flush_every == 0:
                await self.tracker.writer.flush()
                progress(STAGE, played, total)
        progress(STAGE, total, total)
        await self.tracker.expire(last + 10 * 60_000, limit=1_000_000)
        await self.tracker.writer.flush()

    async def _step(self, run: Run, now: int) -> int | None:
        p, c = run.plan, run.plan.client
        busy_person = not p.concurrent and p.learner_id in self._active
        machine = p.machine or p.device
        others = self._devices.get(machine, set()) - {p.learner_id}
        # The session on the machine is ended a second after its last beat: wait for that.
        busy_device = not p.device_in_use_ok and (
            bool(others) or now <= self._freed.get(machine, 0)
        )
        if not run.sid and (busy_person or busy_device):
            # One person watches one lesson at a time, and a colleague waits for the shared
            # office PC: try again a little later.
            return now + int(self.rng.uniform(30, 120) * 1000)
        if not run.sid:
            self._active.add(p.learner_id)
            self._devices.setdefault(machine, set()).add(p.learner_id)
            lesson = p.course.lessons[p.lesson_index]
            started = await self.tracker.start_session(
                learner_id=p.learner_id,
                lesson_id=lesson.id,
                course_id=p.course.id,
                duration_ms=lesson.seconds * 1000,
                device=p.device,
                user_agent=p.user_agent,
                ip=p.ip,
                now_ms=now,
            )
            run.sid, run.token = started["session_id"], started["token"]
            run.duration = lesson.seconds
            run.pos = 0.0 if c.mode != "player" else float(started["resume_at_s"])
            if run.pos >= run.duration - 5:
                run.pos = 0.0  # already complete: a learner rewatches from the start
            run.end_pos = min(run.duration, run.pos + p.watch_s)
            run.last_ms = now
            await self._beat(run, now, paused=False, visible=True, focused=True, interactions=0)
            return now + self._gap(c.jitter_s)
        if c.mode == "forged":
            run.pos = run.duration
            await self._beat(run, now, paused=False, visible=True, focused=True, interactions=0)
            await self._end(run, now + 500)
            return None
        if run.challenge is not None and run.answer_at and now >= run.answer_at:
            await self._answer(run, now)
        # The video advances by the time that really passed since the last beat.
        dt_s = max(0.0, (now - run.last_ms) / 1000)
        run.last_ms = now
        paused = visible_lost = False
        if c.mode == "player":
            if run.challenge is not None or now < run.paused_until:
                paused = True
            elif self.rng.random() < c.pause_p:
                run.paused_until = now + int(self.rng.uniform(20, 300) * 1000)
                run.pos += dt_s * c.rate * self.rng.random()
                paused = True
            else:
                run.pos += dt_s * c.rate
            if now < run.hidden_until:
                visible_lost = True
            elif self.rng.random() < c.hide_p:
                run.hidden_until = now + int(self.rng.uniform(10, 150) * 1000)
                visible_lost = True
            if self.rng.random() < c.seek_back_p:
                run.pos = max(0.0, run.pos - self.rng.uniform(20, 120))
        else:  # a headless script: steady progress, all flags "fine", challenges ignored
            # one that knows R13 reports a one-beat pause and a hidden tab now and then (no
            # draw otherwise, so the other scripts' random streams are unchanged)
            if c.pause_p > 0 and self.rng.random() < c.pause_p:
                paused = True  # the video stands still for this beat
            else:
                run.pos += dt_s * c.rate
            if c.hide_p > 0 and self.rng.random() < c.hide_p:
                visible_lost = True
        run.pos = min(run.pos, run.duration)
        lam = c.interactions * (TOUCH_INPUT if run.plan.user_agent == UA_MOBILE else 1.0)
        interactions = _poisson(self.rng, lam * (3 if paused else 1)) if lam > 0 else 0
        await self._beat(
            run,
            now,
            paused=paused,
            visible=not visible_lost,
            focused=not visible_lost,
            interactions=interactions,
        )
        run.steps += 1
        finished = run.pos >= run.end_pos - 0.5 and (run.challenge is None or c.answer == "never")
        if finished or run.steps > MAX_STEPS or run.done:
            await self._end(run, now + 1000)
            return None
        nxt = now + self._gap(c.jitter_s)
        if run.challenge is not None and run.answer_at and run.answer_at < nxt:
            return run.answer_at
        return nxt

    def _gap(self, jitter_s: float) -> int:
        return int(self.interval_ms + self.rng.gauss(0, jitter_s) * 1000)

    async def _beat(
        self, run: Run, now: int, *, paused: bool, visible: bool, focused: bool, interactions: int
    ) -> None:
        c = run.plan.client
        run.seq += 1
        beat = Beat(
            seq=run.seq,
            position_ms=round(run.pos * 1000),
            rate=c.rate,
            paused=paused,
            visible=visible,
            focused=focused,
            muted=c.muted,
            volume=0.0 if c.muted else 0.8,
            interactions=interactions,
            client_time_ms=now + c.skew_ms,
        )
        self.beats += 1
        try:
            reply = await self.tracker.heartbeat(
                run.sid, run.token, beat, ip=run.plan.ip, now_ms=now
            )
        except TrackerError:
            run.done = True
            self._release(run)
            return
        if reply.get("challenge") and run.challenge is None:
            run.challenge = reply["challenge"]
            latency = self._latency(run)
            run.answer_at = now + latency if latency else 0

    async def _answer(self, run: Run, now: int) -> None:
        ch = run.challenge
        assert ch is not None  # noqa: S101
        snap = await self.tracker.store.load(
            run.sid,
            run.plan.learner_id,
            run.plan.course.lessons[run.plan.lesson_index].id,
            fresh=True,
        )
        truth = snap.session.challenge.answer if snap.session and snap.session.challenge else ""
        wrong = self.rng.random() < 0.03 and run.plan.client.answer == "human"
        answer = next((o for o in ch["options"] if o != truth), truth) if wrong else truth
        try:
            res = await self.tracker.answer(run.sid, run.token, ch["id"], answer, now_ms=now)
        except TrackerError:
            run.challenge = None
            return
        if res["correct"]:
            run.challenge = None
            run.answer_at = 0
        else:
            run.challenge = res["challenge"]
            latency = self._latency(run)
            run.answer_at = now + latency if latency else 0

    def _latency(self, run: Run) -> int:
        c = run.plan.client
        if c.answer == "never":
            return 0
        if c.answer == "bot":
            return int((self.rng.uniform(0, c.poll_s) + self.rng.uniform(0.05, 0.25)) * 1000)
        if self.rng.random() < c.miss_p:
            return int(self.rng.uniform(30, 180) * 1000)
        return int(c.latency_median_s * math.exp(self.rng.gauss(0, c.latency_sigma)) * 1000)

    def _release(self, run: Run) -> None:
        """The person and the device are free again (once per run)."""
        if run.released:
            return
        run.released = True
        self._active.discard(run.plan.learner_id)
        self._devices[run.plan.machine or run.plan.device].discard(run.plan.learner_id)

    async def _end(self, run: Run, now: int) -> None:
        run.done = True
        self._release(run)
        self._freed[run.plan.machine or run.plan.device] = now
        try:
            await self.tracker.end(run.sid, run.token, now_ms=now)
        except TrackerError:
            return


def _poisson(rng: random.Random, lam: float) -> int:
    """Knuth's method; lam is small here."""
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1
