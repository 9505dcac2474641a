"""The batch writer: moves evidence from the hot state's stream into SQL.

Evidence is acknowledged in the hot state only after the SQL transaction that holds it
has committed, and rows carry the entry id, so a writer killed between the two steps
writes nothing twice when the entry is delivered again.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models import Heartbeat, Lesson, LessonProgress, SessionEvent, SessionSummary, StudySession
from tracker import segments as seg
from tracker.hotstate.base import Evidence, HotStore, StoreUnavailable
from tracker.summary import summarise

log = logging.getLogger(__name__)

# Called inside the writer's transaction when a learner completes every lesson of a course.
CourseCompleted = Callable[[AsyncSession, int, int, dt.datetime, list[str]], Awaitable[None]]


def ms_to_dt(ms: int) -> dt.datetime:
    """Server milliseconds since the epoch as an aware UTC datetime."""
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC)


def dt_to_ms(value: dt.datetime) -> int:
    """Inverse of :func:`ms_to_dt`."""
    return int(value.timestamp() * 1000)


def beat_row(evidence_id: str, e: Evidence) -> dict[str, Any]:
    """A heartbeat evidence entry as a row of the raw trace."""
    return {
        "evidence_id": evidence_id,
        "session_id": e["sid"],
        "seq": e["q"],
        "received_at": ms_to_dt(e["t"]),
        "client_time_ms": e.get("ct"),
        "position_ms": e["p"],
        "rate": e["r"],
        "paused": e["pa"],
        "visible": e["vi"],
        "focused": e["fo"],
        "muted": e["mu"],
        "volume": e["vo"],
        "interactions": e["i"],
        "elapsed_ms": e["el"],
        "credited_ms": e["cr"],
        "new_coverage_ms": e["nc"],
        "accepted": e["ok"],
        "codes": e["codes"][:200],
        "ip": e.get("ip", "")[:64],
    }


def row_to_beat(h: Heartbeat) -> Evidence:
    """A raw-trace row back in evidence form, for summaries."""
    return {
        "q": h.seq,
        "t": dt_to_ms(h.received_at),
        "ct": h.client_time_ms,
        "p": h.position_ms,
        "r": h.rate,
        "pa": h.paused,
        "vi": h.visible,
        "fo": h.focused,
        "mu": h.muted,
        "vo": h.volume,
        "i": h.interactions,
        "el": h.elapsed_ms,
        "cr": h.credited_ms,
        "nc": h.new_coverage_ms,
        "ok": h.accepted,
        "codes": h.codes,
    }


class EvidenceWriter:
    """Drains evidence into SQL in batches; one per tracker process."""

    def __init__(
        self,
        store: HotStore,
        db: async_sessionmaker[AsyncSession],
        on_course_completed: CourseCompleted | None = None,
        batch: int = 500,
    ) -> None:
        self.store = store
        self.db = db
        self.on_course_completed = on_course_completed
        self.batch = batch
        self._lock = asyncio.Lock()

    async def flush(self) -> int:
        """Write everything pending; return how many entries were written."""
        written = 0
        async with self._lock:
            while True:
                entries = await self.store.read_evidence(self.batch)
                if not entries:
                    return written
                async with self.db.begin() as s:
                    await self._write(s, entries)
                await self.store.ack_evidence([i for i, _ in entries])
                written += len(entries)

    async def run(self, interval_s: float = 0.5) -> None:
        """Flush forever (a background task of the tracker app)."""
        while True:
            try:
                await self.flush()
            except StoreUnavailable as exc:
                log.warning("hot state unavailable, evidence flush retried: %s", exc)
            except Exception:
                log.exception("evidence flush failed; entries stay pending and are retried")
            await asyncio.sleep(interval_s)

    async def _write(self, s: AsyncSession, entries: list[tuple[str, Evidence]]) -> None:
        ids = [i for i, _ in entries]
        done = set(
            (
                await s.scalars(select(Heartbeat.evidence_id).where(Heartbeat.evidence_id.in_(ids)))
            ).all()
        ) | set(
            (
                await s.scalars(
                    select(SessionEvent.evidence_id).where(SessionEvent.evidence_id.in_(ids))
                )
            ).all()
        )
        fresh = [(i, e) for i, e in entries if i not in done]
        beats = [beat_row(i, e) for i, e in fresh if e["k"] == "beat"]
        events = [
            {
                "evidence_id": i,
                "session_id": e["sid"],
                "at": ms_to_dt(e["t"]),
                "kind": e["kind"] if e["k"] == "event" else "session_end",
                "detail": e.get("detail", {"reason": e.get("reason")}),
            }
            for i, e in fresh
            if e["k"] in ("event", "end")
        ]
        if beats:
            await s.execute(insert(Heartbeat), beats)
        if events:
            await s.execute(insert(SessionEvent), events)
        for e in _latest_progress(e for _, e in fresh if e["k"] == "beat"):
            await self._progress(s, e)
        for _, e in fresh:
            if e["k"] == "end":
                await self._end(s, e)

    async def _progress(self, s: AsyncSession, e: Evidence) -> None:
        coverage = seg.decode(e["cov"])
        row = await s.get(LessonProgress, (e["l"], e["n"]))
        now = ms_to_dt(e["t"])
        if row is None:
            row = LessonProgress(
                learner_id=e["l"], lesson_id=e["n"], segments="", covered_ms=0, updated_at=now
            )
            s.add(row)
        if seg.covered(coverage) >= row.covered_ms:
            row.segments = e["cov"]
            row.covered_ms = seg.covered(coverage)
            row.updated_at = now
        if e.get("done") and row.completed_at is None:
            row.completed_at = now
            await s.flush()
            await self._maybe_course_completed(s, e["l"], e["c"], now)

    async def _maybe_course_completed(
        self, s: AsyncSession, learner_id: int, course_id: int, at: dt.datetime
    ) -> None:
        lessons = set(
            (await s.scalars(select(Lesson.id).where(Lesson.course_id == course_id))).all()
        )
        completed = set(
            (
                await s.scalars(
                    select(LessonProgress.lesson_id).where(
                        LessonProgress.learner_id == learner_id,
                        LessonProgress.lesson_id.in_(lessons),
                        LessonProgress.completed_at.is_not(None),
                    )
                )
            ).all()
        )
        if lessons and lessons <= completed and self.on_course_completed is not None:
            sessions = list(
                (
                    await s.scalars(
                        select(StudySession.id)
                        .where(
                            StudySession.learner_id == learner_id,
                            StudySession.course_id == course_id,
                        )
                        .order_by(StudySession.started_at)
                    )
                ).all()
            )
            await self.on_course_completed(s, learner_id, course_id, at, sessions)

    async def _end(self, s: AsyncSession, e: Evidence) -> None:
        session = await s.get(StudySession, e["sid"])
        if session is None:
            return
        if session.ended_at is None:
            session.ended_at = ms_to_dt(e["t"])
            session.end_reason = e.get("reason", "ended")
        if await s.get(SessionSummary, session.id) is not None:
            return
        await s.flush()
        beats = [
            row_to_beat(h)
            for h in (
                await s.scalars(
                    select(Heartbeat)
                    .where(Heartbeat.session_id == session.id)
                    .order_by(Heartbeat.received_at, Heartbeat.id)
                )
            ).all()
        ]
        events = [
            {"kind": ev.kind, "detail": ev.detail}
            for ev in (
                await s.scalars(select(SessionEvent).where(SessionEvent.session_id == session.id))
            ).all()
        ]
        started = dt_to_ms(session.started_at)
        ended = dt_to_ms(session.ended_at)
        features = summarise(beats, events, started, ended)
        s.add(
            SessionSummary(
                session_id=session.id,
                learner_id=session.learner_id,
                course_id=session.course_id,
                lesson_id=session.lesson_id,
                started_at=session.started_at,
                ended_at=session.ended_at,
                wall_s=features["wall_s"],
                verified_s=features["verified_s"],
                new_coverage_s=features["new_coverage_s"],
                beats=features["beats"],
                rejected_beats=features["rejected_beats"],
                features=features,
                device=session.device,
                ip=session.ip,
                user_agent=session.user_agent,
            )
        )


def _latest_progress(beats: Any) -> list[Evidence]:
    """Per learner and lesson, the beat carrying the most coverage (and any completion)."""
    latest: dict[tuple[int, int], Evidence] = {}
    for e in beats:
        if not e["ok"] or (e["nc"] <= 0 and not e.get("done")):
            continue
        key = (e["l"], e["n"])
        prev = latest.get(key)
        if (
            prev is None
            or seg.covered(seg.decode(e["cov"])) >= seg.covered(seg.decode(prev["cov"]))
            or e.get("done")
        ):
            latest[key] = e | {"done": bool(e.get("done")) or bool(prev and prev.get("done"))}
    return list(latest.values())
