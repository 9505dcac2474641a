"""Finishing what no beat will finish: pending summaries and sessions orphaned by a lost
hot state (a Redis restart without persistence, an embedded-store process that died).

Every tracker process runs the sweep; each step is a compare-and-set in SQL, so a session
is ended and summarised once, whichever process gets there first.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models import StudySession
from tracker.finalize import end_orphan, try_summarise
from tracker.hotstate.base import HotStore
from tracker.writer import ms_to_dt

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SweepResult:
    """What one sweep did."""

    summaries: int = 0
    orphans: int = 0


async def sweep(
    db: async_sessionmaker[AsyncSession],
    store: HotStore,
    now_ms: int,
    *,
    expire_ms: int,
    grace_ms: int,
    batch: int = 1000,
) -> SweepResult:
    """Write waiting summaries, and end open sessions whose hot state is gone.

    A summary waits for entries another writer holds; after ``grace_ms`` it is written
    from what SQL has (the rest was lost with the hot state, and the summary says how many).
    A session counts as orphaned only when it started more than ``expire_ms + grace_ms``
    ago and the hot state no longer knows it; it ends at its last stored beat.
    """
    summaries = await _pending_summaries(db, ms_to_dt(now_ms - grace_ms), batch)
    orphans = await _orphans(db, store, ms_to_dt(now_ms - expire_ms - grace_ms), batch)
    if orphans:
        log.warning("ended %d study sessions whose hot state was lost (orphaned)", orphans)
    return SweepResult(summaries=summaries, orphans=orphans)


async def _pending_summaries(
    db: async_sessionmaker[AsyncSession], give_up_before: dt.datetime, batch: int
) -> int:
    async with db() as s:
        pending = list(
            (
                await s.scalars(
                    select(StudySession.id)
                    .where(StudySession.summary_pending.is_(True))
                    .order_by(StudySession.ended_at)
                    .limit(batch)
                )
            ).all()
        )
    written = 0
    for sid in pending:
        async with db.begin() as s:
            session = await s.get(StudySession, sid)
            if session is None or not session.summary_pending or session.ended_at is None:
                continue
            written += await try_summarise(s, session, force=session.ended_at < give_up_before)
    return written


async def _orphans(
    db: async_sessionmaker[AsyncSession], store: HotStore, started_before: dt.datetime, batch: int
) -> int:
    ended = 0
    after = ""
    while True:
        async with db() as s:
            rows = list(
                (
                    await s.scalars(
                        select(StudySession.id)
                        .where(
                            StudySession.ended_at.is_(None),
                            StudySession.started_at < started_before,
                            StudySession.id > after,
                        )
                        .order_by(StudySession.id)
                        .limit(batch)
                    )
                ).all()
            )
        if not rows:
            return ended
        alive = await store.alive(rows)
        for sid in rows:
            if sid in alive:
                continue
            async with db.begin() as s:
                ended += await end_orphan(s, sid)
        after = rows[-1]
