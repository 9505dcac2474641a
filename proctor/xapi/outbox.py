"""The outbox in SQL: enqueue once, take for sending under a lease, settle after the reply.

A statement is enqueued under its deterministic id (a second enqueue of the same id is
skipped by the database), taken by one sender at a time (a compare-and-set on its due time
that doubles as a lease), and marked sent only after the LRS acknowledged it. A sender
that dies after taking statements leaves them due again when the lease runs out.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from models import XapiOutbox
from tracker.finalize import insert_ignoring_duplicates


@dataclass(frozen=True)
class Queued:
    """A statement to enqueue, with what it describes."""

    statement: dict[str, Any]
    source: str
    source_ref: str
    occurred_at: dt.datetime


@dataclass(frozen=True)
class Taken:
    """A statement a sender holds under lease."""

    id: int
    statement_id: str
    statement: dict[str, Any]
    attempts: int


def backoff_s(attempts: int, base_s: float, max_s: float) -> float:
    """Wait before the next try after ``attempts`` failed ones: doubling, capped."""
    return float(min(max_s, base_s * 2 ** max(0, min(attempts - 1, 62))))


async def enqueue(s: AsyncSession, items: Sequence[Queued], now: dt.datetime) -> None:
    """Store statements to send (in the caller's transaction); known ids are skipped."""
    if not items:
        return
    await s.execute(
        insert_ignoring_duplicates(s, XapiOutbox),
        [
            {
                "statement_id": q.statement["id"],
                "source": q.source,
                "source_ref": q.source_ref,
                "occurred_at": q.occurred_at,
                "statement": q.statement,
                "created_at": now,
                "attempts": 0,
                "next_attempt_at": now,
                "last_error": "",
            }
            for q in items
        ],
    )


async def newest_occurrence(s: AsyncSession) -> dt.datetime | None:
    """When the newest record with a statement in the outbox happened (the watermark)."""
    newest: dt.datetime | None = await s.scalar(select(func.max(XapiOutbox.occurred_at)))
    return newest


async def take(s: AsyncSession, now: dt.datetime, limit: int, lease_s: float) -> list[Taken]:
    """Take up to ``limit`` due statements for sending, oldest first.

    The update re-checks the due time, so of two senders that read the same rows only one
    takes each (PostgreSQL re-evaluates the condition after the other's commit; SQLite
    serialises writers).
    """
    due = (
        await s.scalars(
            select(XapiOutbox.id)
            .where(XapiOutbox.sent_at.is_(None), XapiOutbox.next_attempt_at <= now)
            .order_by(XapiOutbox.next_attempt_at, XapiOutbox.id)
            .limit(limit)
        )
    ).all()
    if not due:
        return []
    rows = (
        await s.execute(
            update(XapiOutbox)
            .where(
                XapiOutbox.id.in_(due),
                XapiOutbox.sent_at.is_(None),
                XapiOutbox.next_attempt_at <= now,
            )
            .values(next_attempt_at=now + dt.timedelta(seconds=lease_s))
            .returning(
                XapiOutbox.id, XapiOutbox.statement_id, XapiOutbox.statement, XapiOutbox.attempts
            )
            .execution_options(synchronize_session=False)
        )
    ).all()
    return sorted((Taken(*row) for row in rows), key=lambda t: t.id)


async def mark_sent(
    s: AsyncSession, ids: Sequence[int], now: dt.datetime, outcome: str = "stored"
) -> None:
    """The LRS acknowledged these (or already held their ids): never send them again."""
    if ids:
        await s.execute(
            update(XapiOutbox)
            .where(XapiOutbox.id.in_(list(ids)))
            .values(
                sent_at=now,
                outcome=outcome,
                attempts=XapiOutbox.attempts + 1,
                last_error="",
            )
            .execution_options(synchronize_session=False)
        )


async def mark_failed(
    s: AsyncSession,
    taken: Sequence[Taken],
    now: dt.datetime,
    error: str,
    *,
    base_s: float,
    max_s: float,
) -> None:
    """Not acknowledged: try again after the backoff for one more failed attempt."""
    for t in taken:
        wait = backoff_s(t.attempts + 1, base_s, max_s)
        await s.execute(
            update(XapiOutbox)
            .where(XapiOutbox.id == t.id, XapiOutbox.sent_at.is_(None))
            .values(
                attempts=t.attempts + 1,
                next_attempt_at=now + dt.timedelta(seconds=wait),
                last_error=error[:300],
            )
            .execution_options(synchronize_session=False)
        )


async def prune_sent(s: AsyncSession, before: dt.datetime, limit: int) -> int:
    """Delete up to ``limit`` sent statements about records older than ``before``."""
    old = (
        select(XapiOutbox.id)
        .where(XapiOutbox.occurred_at < before, XapiOutbox.sent_at.is_not(None))
        .limit(limit)
    )
    ids = list((await s.scalars(old)).all())
    if ids:
        await s.execute(
            delete(XapiOutbox)
            .where(XapiOutbox.id.in_(ids))
            .execution_options(synchronize_session=False)
        )
    return len(ids)


@dataclass(frozen=True)
class Backlog:
    """What the outbox holds: sent, waiting, and the last error of those that failed."""

    sent: int
    pending: int
    failing: int
    last_error: str


async def backlog(s: AsyncSession) -> Backlog:
    """Counts for the operator (``proctor xapi send`` prints them)."""
    sent = await s.scalar(
        select(func.count()).select_from(XapiOutbox).where(XapiOutbox.sent_at.is_not(None))
    )
    pending = await s.scalar(
        select(func.count()).select_from(XapiOutbox).where(XapiOutbox.sent_at.is_(None))
    )
    failing = await s.scalar(
        select(func.count())
        .select_from(XapiOutbox)
        .where(XapiOutbox.sent_at.is_(None), XapiOutbox.attempts > 0)
    )
    last = await s.scalar(
        select(XapiOutbox.last_error)
        .where(XapiOutbox.sent_at.is_(None), XapiOutbox.last_error != "")
        .order_by(XapiOutbox.next_attempt_at.desc())
        .limit(1)
    )
    return Backlog(int(sent or 0), int(pending or 0), int(failing or 0), last or "")
