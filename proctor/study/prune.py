"""Retention of the raw trace: beats older than the kept days go, the evidence of cases stays.

PostgreSQL drops whole months: a monthly partition goes once its last instant is older than
the cutoff (so up to a month more than the kept days stays online), and rows older than the
cutoff are deleted from the default partition. SQLite deletes rows older than the cutoff.
Deletions run in batches, each its own transaction, so writers are never held for long.

Kept either way: every beat of a session that a review case still needs. A case needs the
sessions its evidence page reads (its learner's sessions started within its period) while
someone may still act on it: the case is open (new, in review, appealed), or a finding was
confirmed and the learner's appeal window has not closed. Before a month's partition is
dropped its kept beats are copied out and inserted again into ``heartbeat``, where they land
in the default partition (no partition covers that month any more): the evidence page, the
writer's idempotency and later prunes see them like any other beat. A month is dropped in one
transaction with the copy, so a failure leaves the month as it was.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import (
    Column,
    Integer,
    MetaData,
    String,
    Table,
    delete,
    func,
    insert,
    select,
    text,
)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from models import HEARTBEAT_DEFAULT_PARTITION, CaseState, Heartbeat, ReviewCase, StudySession
from models.base import UTCDateTime
from proctor.detection.service import period_bounds
from proctor.errors import InvalidInput
from proctor.review.states import CONFIRMED, OPEN
from proctor.study.partitions import Partition, list_partitions, month_bounds

# Per-connection scratch tables: the cases' bounds, then the sessions they cite.
_scratch = MetaData()
_cases = Table(
    "prune_case",
    _scratch,
    Column("learner_id", Integer, nullable=False),
    Column("lo", UTCDateTime(), nullable=False),
    Column("hi", UTCDateTime(), nullable=False),
    prefixes=["TEMPORARY"],
)
_keep = Table(
    "prune_keep",
    _scratch,
    Column("session_id", String(64), primary_key=True),
    prefixes=["TEMPORARY"],
)


def needs_evidence(state: CaseState, appeal_deadline: dt.datetime | None, now: dt.datetime) -> bool:
    """Whether a case still needs the raw trace of its sessions."""
    if state in OPEN:
        return True
    return state in CONFIRMED and appeal_deadline is not None and now <= appeal_deadline


def cutoff_of(now: dt.datetime, keep_days: int) -> dt.datetime:
    """The instant before which beats go; at least one day is always kept."""
    if keep_days < 1:
        raise InvalidInput("保留天数须为正整数（至少保留 1 天）", field="keep_days")
    return now - dt.timedelta(days=keep_days)


def months_to_drop(partitions: list[Partition], cutoff: dt.datetime) -> list[Partition]:
    """Monthly partitions whose whole month lies before the cutoff."""
    return [p for p in partitions if p.month is not None and month_bounds(p.month)[1] <= cutoff]


@dataclass(frozen=True)
class Pruned:
    """What a prune did: partitions dropped, rows deleted, old rows kept for cases."""

    dropped: list[str]
    deleted: int
    kept: int
    cutoff: dt.datetime


async def prune_beats(
    engine: AsyncEngine, now: dt.datetime, keep_days: int, *, batch: int = 10_000
) -> Pruned:
    """Remove beats older than ``keep_days`` days, keeping those review cases need."""
    cutoff = cutoff_of(now, keep_days)
    if batch < 1:
        raise InvalidInput("每批删除行数须为正整数", field="batch")
    async with engine.connect() as conn:
        await conn.run_sync(_scratch.drop_all)
        await conn.run_sync(_scratch.create_all)
        try:
            await _collect_cited(conn, now)
            dropped: list[str] = []
            if conn.dialect.name == "postgresql":
                for part in months_to_drop(await list_partitions(conn), cutoff):
                    await _drop_month(conn, part.name)
                    dropped.append(part.name)
                await conn.commit()
                table = _rows_of(HEARTBEAT_DEFAULT_PARTITION)
            else:
                table = _rows_of(Heartbeat.__tablename__)
            deleted = await _delete_rows(conn, table, cutoff, batch)
            kept = await conn.scalar(
                select(func.count())
                .select_from(Heartbeat)
                .where(Heartbeat.received_at < cutoff)
                .where(Heartbeat.session_id.in_(select(_keep.c.session_id)))
            )
        finally:
            await conn.rollback()
            await conn.run_sync(_scratch.drop_all)
            await conn.commit()
    return Pruned(dropped=dropped, deleted=deleted, kept=int(kept or 0), cutoff=cutoff)


async def _collect_cited(conn: AsyncConnection, now: dt.datetime) -> None:
    """Fill the scratch table of sessions whose beats must stay."""
    rows = await conn.execute(
        select(
            ReviewCase.learner_id,
            ReviewCase.state,
            ReviewCase.period_start,
            ReviewCase.period_end,
            ReviewCase.appeal_deadline,
        ).where(ReviewCase.state.in_(OPEN | CONFIRMED))
    )
    bounds = []
    for learner_id, state, start, end, deadline in rows:
        if needs_evidence(state, deadline, now):
            lo, hi = period_bounds(start, end)
            bounds.append({"learner_id": learner_id, "lo": lo, "hi": hi})
    if bounds:
        await conn.execute(insert(_cases), bounds)
        cited = (
            select(StudySession.id)
            .join(_cases, _cases.c.learner_id == StudySession.learner_id)
            .where(StudySession.started_at >= _cases.c.lo, StudySession.started_at < _cases.c.hi)
            .distinct()
        )
        await conn.execute(insert(_keep).from_select(["session_id"], cited))
    await conn.commit()


async def _drop_month(conn: AsyncConnection, name: str) -> None:
    """Drop one monthly partition, its cited beats moved to the default partition."""
    # Partition names come from pg_inherits and match heartbeat_partition's pattern.
    for statement in (
        # Writers wait while the month goes (readers too, from the detach to the commit).
        "LOCK TABLE heartbeat IN SHARE ROW EXCLUSIVE MODE",
        f'CREATE TEMPORARY TABLE prune_kept_rows ON COMMIT DROP AS SELECT * FROM "{name}" '  # noqa: S608
        "WHERE session_id IN (SELECT session_id FROM prune_keep)",
        f'ALTER TABLE heartbeat DETACH PARTITION "{name}"',
        f'DROP TABLE "{name}"',
        "INSERT INTO heartbeat SELECT * FROM prune_kept_rows",
    ):
        await conn.execute(text(statement))
    await conn.commit()


def _rows_of(name: str) -> Table:
    """The columns a row delete needs, of a table named at run time."""
    return Table(
        name,
        MetaData(),
        Column("id", Integer, primary_key=True),
        Column("received_at", UTCDateTime()),
        Column("session_id", String(64)),
    )


async def _delete_rows(conn: AsyncConnection, table: Table, cutoff: dt.datetime, batch: int) -> int:
    """Delete old rows of sessions no case cites, a batch per transaction."""
    deleted = 0
    while True:
        ids = (
            select(table.c.id)
            .where(table.c.received_at < cutoff)
            .where(table.c.session_id.not_in(select(_keep.c.session_id)))
            .limit(batch)
        )
        result = await conn.execute(delete(table).where(table.c.id.in_(ids.scalar_subquery())))
        await conn.commit()
        deleted += result.rowcount
        if result.rowcount < batch:
            return deleted
