"""The tracker's operations: start a session, take a beat, answer a challenge, end, expire.

The client reports; the server decides. Every decision is made by the pure functions in
:mod:`tracker.verify` on the hot state, committed atomically with its evidence.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models import LessonProgress, StudySession
from tracker import metrics
from tracker import segments as seg
from tracker.challenges import draw_challenge, next_due
from tracker.errors import ServiceError
from tracker.evidence import BeatRecord, EndRecord, EventRecord, Evidence
from tracker.hotstate.base import HotStore, Snapshot, parse_sid
from tracker.tokens import session_token, token_valid
from tracker.verify import (
    Beat,
    BeatRefused,
    LearnerState,
    Policy,
    SessionState,
    Verdict,
    answer_challenge,
    challenge_due,
    check_sequence,
    is_complete,
    verify,
)
from tracker.writer import EvidenceWriter, ms_to_dt

MAX_CAS_RETRIES = 8


class TrackerError(ServiceError):
    """A request the tracker refuses: its code, status and Chinese message."""

    def __init__(self, code: str, status: int, message: str, **extra: Any) -> None:
        super().__init__(message, code=code, status=status, **extra)


@dataclass(frozen=True)
class ChallengeTiming:
    """How often presence challenges fall due (random within the range, server-held)."""

    min_ms: int = 4 * 60_000
    max_ms: int = 12 * 60_000


@dataclass
class Tracker:
    """Hot state, SQL and policy, wired together."""

    store: HotStore
    db: async_sessionmaker[AsyncSession]
    writer: EvidenceWriter
    policy: Policy
    secret: bytes
    challenges: ChallengeTiming = ChallengeTiming()
    # The in-process store flushes evidence before answering; a batch driver (the
    # simulator) turns this off and flushes on its own schedule.
    eager_flush: bool = True
    # Shutdown: how long the last flush retries, and (embedded store) where what it could not
    # write is spilled for the next start. See tracker/spill.py.
    shutdown_flush_s: float = 10.0
    spill_path: Path | None = None
    # A waiting summary is written from what SQL has after this long; an open session whose
    # hot state is gone is ended this long after it would have expired.
    sweep_grace_ms: int = 120_000
    _tokens: dict[str, tuple[str, str]] = field(default_factory=dict, repr=False)

    async def start_session(
        self,
        *,
        learner_id: int,
        lesson_id: int,
        course_id: int,
        duration_ms: int,
        device: str,
        user_agent: str,
        ip: str,
        now_ms: int,
        bind: str = "",
    ) -> dict[str, Any]:
        """Open a session; the caller has checked the learner may study this lesson.

        ``bind`` ties the session's token to the caller's login (see :mod:`tracker.tokens`):
        every later request of the session must come with the same login.
        """
        await self.store.ping()
        sid = f"{learner_id}-{lesson_id}-{secrets.token_hex(12)}"
        async with self.db.begin() as s:
            s.add(
                StudySession(
                    id=sid,
                    learner_id=learner_id,
                    lesson_id=lesson_id,
                    course_id=course_id,
                    started_at=ms_to_dt(now_ms),
                    interval_s=self.policy.interval_ms // 1000,
                    device=device[:128],
                    user_agent=user_agent[:300],
                    ip=ip[:64],
                )
            )
            progress = await s.get(LessonProgress, (learner_id, lesson_id))
        coverage = seg.decode(progress.segments) if progress else ()
        state = SessionState(
            sid=sid,
            learner_id=learner_id,
            lesson_id=lesson_id,
            course_id=course_id,
            duration_ms=duration_ms,
            started_ms=now_ms,
            last_ms=now_ms,
            challenge_due_ms=next_due(now_ms, self.challenges.min_ms, self.challenges.max_ms),
        )
        await self.store.create_session(state, coverage)
        snap = await self.store.load(sid, learner_id, lesson_id)
        covered = seg.covered(snap.learner.coverage)
        return {
            "session_id": sid,
            "token": session_token(self.secret, sid, bind),
            "heartbeat_interval_s": self.policy.interval_ms / 1000,
            "server_time_ms": now_ms,
            "duration_s": duration_ms / 1000,
            "covered_s": covered / 1000,
            "resume_at_s": seg.resume_point(snap.learner.coverage, duration_ms) / 1000,
            "completed": is_complete(snap.learner.coverage, duration_ms, self.policy),
        }

    async def _snapshot(
        self, sid: str, token: str, *, fresh: bool = False, bind: str = ""
    ) -> Snapshot:
        ids = parse_sid(sid)
        if ids is None:
            raise TrackerError("unknown_session", 404, "学习会话不存在")
        if self._tokens.get(sid) != (token, bind):
            if not token_valid(self.secret, sid, token, bind):
                raise TrackerError("bad_token", 403, "学习会话令牌无效，或不属于当前登录")
            # Remember the checked token: an HMAC per beat is a measurable share of the work.
            if len(self._tokens) > 100_000:
                self._tokens.clear()
            self._tokens[sid] = (token, bind)
        snap = await self.store.load(sid, *ids, fresh=fresh)
        if snap.session is None and not fresh:
            snap = await self.store.load(sid, *ids, fresh=True)
        if snap.session is None:
            raise TrackerError("unknown_session", 404, "学习会话不存在或已过期")
        return snap

    async def heartbeat(
        self, sid: str, token: str, beat: Beat, *, ip: str, now_ms: int, bind: str = ""
    ) -> dict[str, Any]:
        """Verify one beat and answer with what it earned."""
        fresh = False
        for _ in range(MAX_CAS_RETRIES):
            snap = await self._snapshot(sid, token, fresh=fresh, bind=bind)
            state = snap.session
            assert state is not None  # noqa: S101 - _snapshot guarantees it
            try:
                if check_sequence(state, beat, now_ms, self.policy):
                    # The first answer may have failed to store the evidence (embedded
                    # store): the retry stores it before answering again.
                    await self._settle()
                    return self._replay(state, snap, beat, now_ms)
            except BeatRefused as refused:
                if not fresh:
                    # A refusal is final and commits nothing: decide it on the store's state,
                    # not on this process's possibly older copy.
                    fresh = True
                    continue
                await self._record_refusal(state, beat, refused, ip=ip, now_ms=now_ms)
                raise TrackerError(refused.code, refused.status, refused.message) from refused
            candidate = draw_challenge() if challenge_due(state, beat, now_ms) else None
            verdict = verify(
                state, snap.learner, beat, now_ms, self.policy, candidate_challenge=candidate
            )
            reply = self._reply(
                verdict.session, verdict.learner, beat, verdict.credited_ms, verdict.codes, now_ms
            )
            evidence: list[Evidence] = [_beat_evidence(state, verdict, beat, ip=ip, now_ms=now_ms)]
            if verdict.issued is not None:
                evidence.append(
                    _event(sid, now_ms, "challenge_issued", {"challenge_id": verdict.issued.id})
                )
            # Only what a retry cannot re-derive is kept: credit and codes (Redis memory).
            new_state = replace(
                verdict.session,
                reply=f"{verdict.credited_ms}|{','.join(verdict.codes)}",
                evidence_n=state.evidence_n + len(evidence),
            )
            if await self._commit(snap.version, new_state, verdict.learner, evidence):
                if verdict.issued is not None:
                    metrics.CHALLENGES_ISSUED.inc()
                await self._settle()
                return reply
        raise TrackerError("busy", 503, "服务繁忙，请稍后重试", retry_after=1)

    def _replay(
        self, state: SessionState, snap: Snapshot, beat: Beat, now_ms: int
    ) -> dict[str, Any]:
        """The answer to a retried beat: its recorded credit, the state as it now stands."""
        credited, _, codes = state.reply.partition("|")
        return self._reply(
            state,
            snap.learner,
            beat,
            int(credited or 0),
            tuple(c for c in codes.split(",") if c),
            now_ms,
        )

    def _reply(
        self,
        s: SessionState,
        learner: LearnerState,
        beat: Beat,
        credited_ms: int,
        codes: tuple[str, ...],
        now_ms: int,
    ) -> dict[str, Any]:
        covered = seg.covered(learner.coverage)
        challenge = s.challenge
        return {
            "seq": beat.seq,
            "credited_s": credited_ms / 1000,
            "codes": list(codes),
            "covered_s": covered / 1000,
            "duration_s": s.duration_ms / 1000,
            "progress": round(min(1.0, covered / s.duration_ms), 4) if s.duration_ms else 0.0,
            "completed": is_complete(learner.coverage, s.duration_ms, self.policy),
            "challenge": None
            if challenge is None
            else {
                "id": challenge.id,
                "prompt": challenge.prompt,
                "options": list(challenge.options),
            },
            "next_beat_s": self.policy.interval_ms / 1000,
            "server_time_ms": now_ms,
        }

    async def _record_refusal(
        self, state: SessionState, beat: Beat, refused: BeatRefused, *, ip: str, now_ms: int
    ) -> None:
        # Evidence of the attempt, for reviewers; the session state is left untouched.
        entry = BeatRecord(
            sid=state.sid,
            learner_id=state.learner_id,
            lesson_id=state.lesson_id,
            course_id=state.course_id,
            seq=beat.seq,
            received_ms=now_ms,
            beat=beat,
            ip=ip,
            accepted=False,
            elapsed_ms=max(0, now_ms - state.last_ms),
            codes=refused.code,
        )
        await self.store.append_evidence([entry])
        await self._settle()

    async def answer(
        self, sid: str, token: str, challenge_id: str, answer: str, *, now_ms: int, bind: str = ""
    ) -> dict[str, Any]:
        """Check a challenge answer; credit resumes only after a correct one."""
        for _ in range(MAX_CAS_RETRIES):
            snap = await self._snapshot(sid, token, bind=bind)
            state = snap.session
            assert state is not None  # noqa: S101
            try:
                result = answer_challenge(
                    state,
                    challenge_id,
                    answer,
                    now_ms,
                    next_due_ms=next_due(now_ms, self.challenges.min_ms, self.challenges.max_ms),
                    replacement=draw_challenge(),
                )
            except BeatRefused as refused:
                raise TrackerError(refused.code, refused.status, refused.message) from refused
            evidence = [
                _event(
                    sid,
                    now_ms,
                    "challenge_answered",
                    {
                        "challenge_id": challenge_id,
                        "correct": result.correct,
                        "latency_ms": result.latency_ms,
                    },
                )
            ]
            if result.reissued and result.session.challenge is not None:
                evidence.append(
                    _event(
                        sid,
                        now_ms,
                        "challenge_issued",
                        {"challenge_id": result.session.challenge.id},
                    )
                )
            committed = replace(
                result.session, evidence_n=result.session.evidence_n + len(evidence)
            )
            if await self._commit(snap.version, committed, snap.learner, evidence):
                (metrics.ANSWERED_RIGHT if result.correct else metrics.ANSWERED_WRONG).inc()
                if result.reissued:
                    metrics.CHALLENGES_ISSUED.inc()
                await self._settle()
                nxt = result.session.challenge
                return {
                    "correct": result.correct,
                    "latency_ms": result.latency_ms,
                    "challenge": None
                    if nxt is None
                    else {"id": nxt.id, "prompt": nxt.prompt, "options": list(nxt.options)},
                }
        raise TrackerError("busy", 503, "服务繁忙，请稍后重试", retry_after=1)

    async def end(
        self, sid: str, token: str, *, now_ms: int, reason: str = "ended", bind: str = ""
    ) -> dict[str, Any]:
        """End a session explicitly (idempotent).

        Acknowledged only once the end is committed: a lost compare-and-set (a beat of
        another of the learner's sessions, another process) is retried on the new state,
        as beats are, so no beat of the session is credited after the answer.
        """
        fresh = False
        for _ in range(MAX_CAS_RETRIES):
            snap = await self._snapshot(sid, token, fresh=fresh, bind=bind)
            assert snap.session is not None  # noqa: S101
            if snap.session.ended or await self._finish(snap, now_ms, reason):
                await self._settle()
                covered = seg.covered(snap.learner.coverage)
                return {
                    "ended": True,
                    "covered_s": covered / 1000,
                    "duration_s": snap.session.duration_ms / 1000,
                }
            fresh = True
        raise TrackerError("busy", 503, "服务繁忙，请稍后重试", retry_after=1)

    async def _finish(self, snap: Snapshot, now_ms: int, reason: str) -> bool:
        state = snap.session
        assert state is not None  # noqa: S101
        learner = snap.learner
        if learner.stream_sid == state.sid:
            learner = replace(learner, stream_sid="", stream_until_ms=0)
        ended_at = now_ms if reason == "ended" else state.last_ms
        end = EndRecord(
            sid=state.sid,
            at_ms=ended_at,
            reason=reason,
            learner_id=state.learner_id,
            lesson_id=state.lesson_id,
            course_id=state.course_id,
            # Records committed before the end: the summary waits until SQL holds them all.
            expected=state.evidence_n,
        )
        return await self._commit(snap.version, replace(state, ended=True), learner, [end])

    async def _commit(
        self,
        expected_version: int,
        session: SessionState,
        learner: LearnerState,
        evidence: list[Evidence],
    ) -> bool:
        """The store's compare-and-set, timed (the hot-state round trip metric)."""
        began = time.perf_counter()
        try:
            return await self.store.commit(expected_version, session, learner, evidence)
        finally:
            metrics.HOTSTATE_COMMIT.observe(time.perf_counter() - began)

    async def expire(self, now_ms: int, limit: int = 200) -> int:
        """End sessions that missed their heartbeats; returns how many were ended."""
        count = 0
        for sid in await self.store.due_sessions(now_ms, limit):
            ids = parse_sid(sid)
            snap = await self.store.load(sid, *ids, fresh=True) if ids else None
            if snap is None or snap.session is None or snap.session.ended:
                await self.store.forget_deadline(sid)
                continue
            if now_ms - snap.session.last_ms >= self.policy.expire_ms and await self._finish(
                snap, now_ms, "expired"
            ):
                count += 1
        if count:
            await self._settle()
        return count

    async def status(self, sid: str, token: str, *, bind: str = "") -> dict[str, Any]:
        """Where a session stands (for a player that reloads)."""
        snap = await self._snapshot(sid, token, fresh=True, bind=bind)
        state = snap.session
        assert state is not None  # noqa: S101
        covered = seg.covered(snap.learner.coverage)
        ch = state.challenge
        return {
            "session_id": sid,
            "ended": state.ended,
            "last_seq": state.last_seq,
            "covered_s": covered / 1000,
            "duration_s": state.duration_ms / 1000,
            "completed": is_complete(snap.learner.coverage, state.duration_ms, self.policy),
            "challenge": None
            if ch is None
            else {"id": ch.id, "prompt": ch.prompt, "options": list(ch.options)},
        }

    async def _settle(self) -> None:
        # The in-process store would lose evidence with the process: write it before answering.
        if self.eager_flush and not self.store.durable:
            try:
                await self.writer.flush()
            except Exception as exc:
                # Not acknowledged: the state is committed, so the player's retry of the same
                # request is answered from it, after the evidence is written.
                raise TrackerError(
                    "not_stored", 503, "学习记录暂未保存，请稍后重试", retry_after=1
                ) from exc


def _event(sid: str, now_ms: int, kind: str, detail: dict[str, Any]) -> Evidence:
    return EventRecord(sid=sid, at_ms=now_ms, kind=kind, detail=detail)


def _beat_evidence(
    state: SessionState, v: Verdict, beat: Beat, *, ip: str, now_ms: int
) -> BeatRecord:
    """A verified beat: what was sent, when the server received it, what it decided."""
    return BeatRecord(
        sid=state.sid,
        learner_id=state.learner_id,
        lesson_id=state.lesson_id,
        course_id=state.course_id,
        seq=beat.seq,
        received_ms=now_ms,
        beat=beat,
        ip=ip,
        accepted=True,
        elapsed_ms=v.elapsed_ms,
        credited_ms=v.credited_ms,
        new_coverage_ms=v.new_coverage_ms,
        codes=",".join(v.codes),
        coverage=seg.encode(v.learner.coverage),
        completed=v.completed,
    )
