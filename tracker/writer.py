"""The batch writer: moves evidence from the hot state's stream into SQL.

Evidence is acknowledged in the hot state only after the SQL transaction that holds it
has committed, and rows carry the entry's durable id (unique), so an entry delivered again
(a writer killed between the two steps, a replayed spill) is skipped by the database.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models import Heartbeat, Lesson, LessonProgress, SessionEvent, StudySession
from tracker import metrics
from tracker import segments as seg
from tracker.evidence import BeatRecord, EndRecord, EventRecord, Evidence
from tracker.finalize import (
    finish_pending,
    insert_ignoring_duplicates,
    record_end,
    upsert_progress,
)
from tracker.hotstate.base import HotStore, StoreUnavailable

log = logging.getLogger(__name__)

# Called inside the writer's transaction when a learner completes every lesson of a course.
CourseCompleted = Callable[[AsyncSession, int, int, dt.datetime, list[str]], Awaitable[None]]


def ms_to_dt(ms: int) -> dt.datetime:
    """Server milliseconds since the epoch as an aware UTC datetime."""
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC)


def beat_row(e: BeatRecord) -> dict[str, Any]:
    """A beat record as a row of the raw trace."""
    b = e.beat
    return {
        "evidence_id": e.id,
        "session_id": e.sid,
        "seq": e.seq,
        "received_at": ms_to_dt(e.received_ms),
        "client_time_ms": b.client_time_ms,
        "position_ms": b.position_ms,
        "rate": b.rate,
        "paused": b.paused,
        "visible": b.visible,
        "focused": b.focused,
        "muted": b.muted,
        "volume": b.volume,
        "interactions": b.interactions,
        "elapsed_ms": e.elapsed_ms,
        "credited_ms": e.credited_ms,
        "new_coverage_ms": e.new_coverage_ms,
        "accepted": e.accepted,
        "codes": e.codes[:200],
        "ip": e.ip[:64],
    }


def event_row(e: EventRecord | EndRecord) -> dict[str, Any]:
    """A non-beat record (challenge, end) as a session event."""
    if isinstance(e, EndRecord):
        kind, detail = "session_end", {"reason": e.reason}
    else:
        kind, detail = e.kind, e.detail
    return {
        "evidence_id": e.id,
        "session_id": e.sid,
        "at": ms_to_dt(e.at_ms),
        "kind": kind,
        "detail": detail,
    }


def _observe_lag(records: list[Evidence]) -> None:
    # An end record carries the session's last beat time, not when it was committed: only
    # beats and events date their commit.
    times = [
        e.received_ms if isinstance(e, BeatRecord) else e.at_ms
        for e in records
        if not isinstance(e, EndRecord)
    ]
    metrics.EVIDENCE_WRITTEN.inc(len(records))
    if times:
        metrics.WRITER_LAG.observe(max(0.0, time.time() - min(times) / 1000))


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
        self._failing = False

    async def flush(self) -> int:
        """Write everything pending; return how many entries were written."""
        written = 0
        async with self._lock:
            while True:
                entries = await self.store.read_evidence(self.batch)
                if not entries:
                    return written
                records = [e for _, e in entries]
                await self.write(records)
                await self.store.ack_evidence([h for h, _ in entries])
                written += len(entries)
                _observe_lag(records)

    async def write(self, entries: list[Evidence]) -> None:
        """Write entries (each with its durable id) in one transaction, idempotently."""
        async with self.db.begin() as s:
            await self._write(s, entries)

    async def run(self, interval_s: float = 0.5) -> None:
        """Flush forever (a background task of the tracker app)."""
        while True:
            try:
                await self.flush()
                if self._failing:
                    log.warning("evidence flush recovered")
                self._failing = False
            except StoreUnavailable as exc:
                self._log_failure("hot state unavailable, evidence flush retried: %s", exc)
            except Exception as exc:  # noqa: BLE001 - any failure: entries stay pending
                self._log_failure("evidence flush failed, entries stay pending: %r", exc)
            await asyncio.sleep(interval_s)

    def _log_failure(self, message: str, exc: BaseException) -> None:
        # One line per incident, not one per flush every half second.
        if not self._failing:
            log.warning(message, exc)
        self._failing = True

    async def drain(self, bound_s: float) -> list[Evidence]:
        """The last flush at shutdown: retry failures with backoff for up to ``bound_s``.

        Returns the entries that could not be written (still unacknowledged in the store).
        """
        deadline = time.monotonic() + bound_s
        delay = 0.05
        while True:
            try:
                await self.flush()
                return []
            except Exception as exc:  # noqa: BLE001 - retried until the bound, then reported
                if time.monotonic() + delay > deadline:
                    left = await self._unwritten()
                    log.error(
                        "last evidence flush gave up after %.1f s: %d entries not written (%r)",
                        bound_s,
                        len(left),
                        exc,
                    )
                    return left
                await asyncio.sleep(delay)
                delay = min(delay * 2, 1.0)

    async def _unwritten(self) -> list[Evidence]:
        try:
            return [e for _, e in await self.store.read_evidence(1_000_000_000)]
        except StoreUnavailable:
            return []

    async def _write(self, s: AsyncSession, entries: list[Evidence]) -> None:
        beats = [e for e in entries if isinstance(e, BeatRecord)]
        others = [e for e in entries if not isinstance(e, BeatRecord)]
        if beats:
            await s.execute(insert_ignoring_duplicates(s, Heartbeat), [beat_row(e) for e in beats])
        if others:
            await s.execute(
                insert_ignoring_duplicates(s, SessionEvent), [event_row(e) for e in others]
            )
        progress = _latest_progress(beats)
        plain = [e for e in progress if not e.completed]
        if plain:
            await s.execute(
                upsert_progress(s),
                [
                    {
                        "learner_id": e.learner_id,
                        "lesson_id": e.lesson_id,
                        "segments": e.coverage,
                        "covered_ms": seg.covered(seg.decode(e.coverage)),
                        "updated_at": ms_to_dt(e.received_ms),
                    }
                    for e in plain
                ],
            )
        for e in progress:
            if e.completed:
                await self._progress(s, e)
        ended: set[str] = set()
        for end in others:
            if isinstance(end, EndRecord):
                ended.add(end.sid)
                await record_end(s, end.sid, ms_to_dt(end.at_ms), end.reason, end.expected)
        # Entries of sessions whose end another writer stored first: their summary waited.
        await finish_pending(s, {e.sid for e in entries if e.sid not in ended})

    async def _progress(self, s: AsyncSession, e: BeatRecord) -> None:
        coverage = seg.decode(e.coverage)
        row = await s.get(LessonProgress, (e.learner_id, e.lesson_id))
        now = ms_to_dt(e.received_ms)
        if row is None:
            row = LessonProgress(
                learner_id=e.learner_id,
                lesson_id=e.lesson_id,
                segments="",
                covered_ms=0,
                updated_at=now,
            )
            s.add(row)
        if seg.covered(coverage) >= row.covered_ms:
            row.segments = e.coverage
            row.covered_ms = seg.covered(coverage)
            row.updated_at = now
        if e.completed and row.completed_at is None:
            row.completed_at = now
            await s.flush()
            await self._maybe_course_completed(s, e.learner_id, e.course_id, now)

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


def _latest_progress(beats: Iterable[BeatRecord]) -> list[BeatRecord]:
    """Per learner and lesson, the beat carrying the most coverage (and any completion)."""
    latest: dict[tuple[int, int], BeatRecord] = {}
    for e in beats:
        if not e.accepted or (e.new_coverage_ms <= 0 and not e.completed):
            continue
        key = (e.learner_id, e.lesson_id)
        prev = latest.get(key)
        if (
            prev is None
            or seg.covered(seg.decode(e.coverage)) >= seg.covered(seg.decode(prev.coverage))
            or e.completed
        ):
            latest[key] = replace(e, completed=e.completed or bool(prev and prev.completed))
    return list(latest.values())
