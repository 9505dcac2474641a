"""Ending sessions in SQL: the end entry, summaries once every beat is in, and orphans.

A session's summary is what detection and exam forensics read as its verified time, so it
is written only when it can be complete: the end entry carries how many evidence entries
the hot state committed for the session, and with several writers the beats may reach SQL
after the end does. Whichever writer (or sweep) first sees them all writes the summary.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Table, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from models import Heartbeat, LessonProgress, SessionEvent, SessionSummary, StudySession
from tracker.evidence import BeatRecord, EventRecord
from tracker.summary import summarise
from tracker.verify import Beat


def dt_to_ms(value: dt.datetime) -> int:
    """Server milliseconds since the epoch of an aware datetime."""
    return int(value.timestamp() * 1000)


def _is_postgres(s: AsyncSession) -> bool:
    return s.get_bind().dialect.name == "postgresql"


def insert_ignoring_duplicates(s: AsyncSession, model: type[Any]) -> Any:
    """An INSERT that skips rows whose unique key is already stored (one statement a batch).

    The database's own conflict handling replaces a read before every write: a redelivered
    entry, or a row another writer stored a moment ago, is skipped without a round trip.
    """
    table: Table = model.__table__
    if _is_postgres(s):
        return pg_insert(table).on_conflict_do_nothing()
    return sqlite_insert(table).on_conflict_do_nothing()


def upsert_progress(s: AsyncSession) -> Any:
    """Store a lesson's coverage unless the stored one is larger (beats of one lesson may
    reach SQL out of order through several writers; coverage only grows)."""
    stmt = pg_insert(LessonProgress) if _is_postgres(s) else sqlite_insert(LessonProgress)
    return stmt.on_conflict_do_update(
        index_elements=["learner_id", "lesson_id"],
        set_={
            "segments": stmt.excluded.segments,
            "covered_ms": stmt.excluded.covered_ms,
            "updated_at": stmt.excluded.updated_at,
        },
        where=LessonProgress.covered_ms <= stmt.excluded.covered_ms,
    )


def row_to_beat(h: Heartbeat) -> BeatRecord:
    """A raw-trace row back as the beat record it was written from, for summaries."""
    return BeatRecord(
        id=h.evidence_id,
        sid=h.session_id,
        learner_id=0,
        lesson_id=0,
        course_id=0,
        seq=h.seq,
        received_ms=dt_to_ms(h.received_at),
        beat=Beat(
            seq=h.seq,
            position_ms=h.position_ms,
            rate=h.rate,
            paused=h.paused,
            visible=h.visible,
            focused=h.focused,
            muted=h.muted,
            volume=h.volume,
            interactions=h.interactions,
            client_time_ms=h.client_time_ms,
        ),
        ip=h.ip,
        accepted=h.accepted,
        elapsed_ms=h.elapsed_ms,
        credited_ms=h.credited_ms,
        new_coverage_ms=h.new_coverage_ms,
        codes=h.codes,
    )


async def stored_evidence(s: AsyncSession, sid: str) -> int:
    """Entries of a session in SQL that its hot state committed (accepted beats, events)."""
    beats = await s.scalar(
        select(func.count())
        .select_from(Heartbeat)
        .where(Heartbeat.session_id == sid, Heartbeat.accepted.is_(True))
    )
    events = await s.scalar(
        select(func.count())
        .select_from(SessionEvent)
        .where(SessionEvent.session_id == sid, SessionEvent.kind != "session_end")
    )
    return int(beats or 0) + int(events or 0)


async def write_summary(s: AsyncSession, session: StudySession, *, missing: int = 0) -> None:
    """Summarise a session from its raw trace (once: a second writer's insert is skipped)."""
    assert session.ended_at is not None  # noqa: S101 - only ended sessions are summarised
    beats = [
        row_to_beat(h)
        for h in (
            await s.scalars(
                select(Heartbeat)
                .where(Heartbeat.session_id == session.id)
                .order_by(Heartbeat.received_at, Heartbeat.seq, Heartbeat.id)
            )
        ).all()
    ]
    events = [
        EventRecord(sid=ev.session_id, at_ms=dt_to_ms(ev.at), kind=ev.kind, detail=ev.detail)
        for ev in (
            await s.scalars(select(SessionEvent).where(SessionEvent.session_id == session.id))
        ).all()
    ]
    features = summarise(beats, events, dt_to_ms(session.started_at), dt_to_ms(session.ended_at))
    if missing:
        # Entries the hot state committed that never reached SQL (lost with Redis' data).
        features["missing_evidence"] = missing
    await s.execute(
        insert_ignoring_duplicates(s, SessionSummary),
        [
            {
                "session_id": session.id,
                "learner_id": session.learner_id,
                "course_id": session.course_id,
                "lesson_id": session.lesson_id,
                "started_at": session.started_at,
                "ended_at": session.ended_at,
                "wall_s": features["wall_s"],
                "verified_s": features["verified_s"],
                "new_coverage_s": features["new_coverage_s"],
                "beats": features["beats"],
                "rejected_beats": features["rejected_beats"],
                "features": features,
                "device": session.device,
                "ip": session.ip,
                "user_agent": session.user_agent,
            }
        ],
    )
    session.summary_pending = False


async def try_summarise(s: AsyncSession, session: StudySession, *, force: bool = False) -> bool:
    """Write the summary if every committed entry is stored (or ``force``: give up waiting)."""
    expected = session.expected_evidence
    stored = await stored_evidence(s, session.id)
    if expected is not None and stored < expected and not force:
        return False
    await write_summary(s, session, missing=max(0, (expected or 0) - stored))
    return True


async def record_end(
    s: AsyncSession, sid: str, ended_at: dt.datetime, reason: str, expected: int | None
) -> None:
    """Apply a session's end entry: end time, expected evidence, and the summary if complete."""
    session = await s.get(StudySession, sid)
    if session is None:
        return
    if session.ended_at is None:
        session.ended_at = ended_at
        session.end_reason = reason
    if expected is not None:
        session.expected_evidence = expected
    if await s.get(SessionSummary, sid) is not None:
        return
    session.summary_pending = True
    await s.flush()
    await try_summarise(s, session)


async def finish_pending(s: AsyncSession, sids: set[str]) -> int:
    """Summaries that were waiting for entries of these sessions; returns how many written."""
    if not sids:
        return 0
    written = 0
    for session in (
        await s.scalars(
            select(StudySession).where(
                StudySession.id.in_(sorted(sids)), StudySession.summary_pending.is_(True)
            )
        )
    ).all():
        written += await try_summarise(s, session)
    return written


async def end_orphan(s: AsyncSession, sid: str) -> bool:
    """End a session whose hot state is gone: at its last stored beat, once (a compare-and-set
    on ``ended_at``, so of several processes sweeping, one ends it)."""
    last = await s.scalar(
        select(func.max(Heartbeat.received_at)).where(Heartbeat.session_id == sid)
    )
    session = await s.get(StudySession, sid)
    if session is None or session.ended_at is not None:
        return False
    result = await s.execute(
        update(StudySession)
        .where(StudySession.id == sid, StudySession.ended_at.is_(None))
        .values(
            ended_at=max(last, session.started_at) if last else session.started_at,
            end_reason="orphaned",
            summary_pending=True,
        )
        .execution_options(synchronize_session=False)
    )
    if getattr(result, "rowcount", 0) != 1:
        return False
    await s.refresh(session)
    await write_summary(s, session)
    return True
