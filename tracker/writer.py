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
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models import Heartbeat, Lesson, LessonProgress, SessionEvent, StudySession
from tracker import segments as seg
from tracker.finalize import (
    finish_pending,
    insert_ignoring_duplicates,
    record_end,
    upsert_progress,
)
from tracker.hotstate.base import Evidence, HotStore, StoreUnavailable, evidence_id

log = logging.getLogger(__name__)

# Called inside the writer's transaction when a learner completes every lesson of a course.
CourseCompleted = Callable[[AsyncSession, int, int, dt.datetime, list[str]], Awaitable[None]]


def ms_to_dt(ms: int) -> dt.datetime:
    """Server milliseconds since the epoch as an aware UTC datetime."""
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC)


def beat_row(e: Evidence) -> dict[str, Any]:
    """A heartbeat evidence entry as a row of the raw trace."""
    return {
        "evidence_id": e["id"],
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


def event_row(e: Evidence) -> dict[str, Any]:
    """A non-beat evidence entry (challenge, end) as a session event."""
    return {
        "evidence_id": e["id"],
        "session_id": e["sid"],
        "at": ms_to_dt(e["t"]),
        "kind": e["kind"] if e["k"] == "event" else "session_end",
        "detail": e.get("detail", {"reason": e.get("reason")}),
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
        self._failing = False

    async def flush(self) -> int:
        """Write everything pending; return how many entries were written."""
        written = 0
        async with self._lock:
            while True:
                entries = await self.store.read_evidence(self.batch)
                if not entries:
                    return written
                await self.write([{**e, "id": evidence_id(h, e)} for h, e in entries])
                await self.store.ack_evidence([h for h, _ in entries])
                written += len(entries)

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
            return [
                {**e, "id": evidence_id(h, e)}
                for h, e in await self.store.read_evidence(1_000_000_000)
            ]
        except StoreUnavailable:
            return []

    async def _write(self, s: AsyncSession, entries: list[Evidence]) -> None:
        beats = [beat_row(e) for e in entries if e["k"] == "beat"]
        events = [event_row(e) for e in entries if e["k"] in ("event", "end")]
        if beats:
            await s.execute(insert_ignoring_duplicates(s, Heartbeat), beats)
        if events:
            await s.execute(insert_ignoring_duplicates(s, SessionEvent), events)
        progress = _latest_progress(e for e in entries if e["k"] == "beat")
        plain = [e for e in progress if not e.get("done")]
        if plain:
            await s.execute(
                upsert_progress(s),
                [
                    {
                        "learner_id": e["l"],
                        "lesson_id": e["n"],
                        "segments": e["cov"],
                        "covered_ms": seg.covered(seg.decode(e["cov"])),
                        "updated_at": ms_to_dt(e["t"]),
                    }
                    for e in plain
                ],
            )
        for e in progress:
            if e.get("done"):
                await self._progress(s, e)
        ended = set()
        for e in entries:
            if e["k"] == "end":
                ended.add(e["sid"])
                await record_end(
                    s, e["sid"], ms_to_dt(e["t"]), e.get("reason", "ended"), e.get("x")
                )
        # Entries of sessions whose end another writer stored first: their summary waited.
        await finish_pending(s, {e["sid"] for e in entries if e["sid"] not in ended})

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


def _latest_progress(beats: Iterable[Evidence]) -> list[Evidence]:
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
