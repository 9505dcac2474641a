"""Monthly partitions of the raw trace (``heartbeat``) on PostgreSQL, created ahead of time.

Migration 0007 partitions the table by month of ``received_at`` (UTC) with a default
partition; beats of a month that has no partition of its own land in the default one, so a
late creation never refuses a beat. :func:`ensure_partitions` creates the partitions of the
current month and the next ones, moving any rows of those months that already sit in the
default partition into them. It is idempotent and safe to call from several processes at
once (the first takes the table's lock, the others then find the work done). SQLite keeps one
plain table: nothing to do there.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from models import HEARTBEAT_DEFAULT_PARTITION, heartbeat_partition
from models.attendance import HEARTBEAT_PARTITION_NAME
from proctor.errors import Conflict


class NotPartitioned(Conflict):
    """The heartbeat table on PostgreSQL is not partitioned (the schema is behind)."""

    code = "not_partitioned"


def month_start(value: dt.date, add: int = 0) -> dt.date:
    """The first day of ``value``'s month, ``add`` months later (or earlier, if negative)."""
    index = value.year * 12 + value.month - 1 + add
    return dt.date(index // 12, index % 12 + 1, 1)


def months_to_cover(now: dt.datetime, months: int) -> list[dt.date]:
    """The months a partition must exist for: now's month (UTC) and ``months`` after it."""
    today = now.astimezone(dt.UTC).date()
    return [month_start(today, k) for k in range(months + 1)]


def month_bounds(month: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The month as a half-open UTC range [first instant, first instant of the next month)."""
    lo = month_start(month)
    hi = month_start(month, 1)
    return (
        dt.datetime(lo.year, lo.month, 1, tzinfo=dt.UTC),
        dt.datetime(hi.year, hi.month, 1, tzinfo=dt.UTC),
    )


def month_of(name: str) -> dt.date | None:
    """The month a monthly partition's name stands for (None for the default partition)."""
    m = HEARTBEAT_PARTITION_NAME.match(name)
    if m is None or m.group(2) is None:
        return None
    return dt.date(int(m.group(2)), int(m.group(3)), 1)


@dataclass(frozen=True)
class Partition:
    """A partition of the heartbeat table: its name and month (None: the default one)."""

    name: str
    month: dt.date | None


async def _check_partitioned(conn: AsyncConnection) -> None:
    kind = await conn.scalar(
        text("SELECT relkind::text FROM pg_class WHERE oid = to_regclass('heartbeat')")
    )
    if kind != "p":
        raise NotPartitioned("heartbeat 表尚未分区，请先运行 proctor db upgrade")


async def list_partitions(conn: AsyncConnection) -> list[Partition]:
    """The heartbeat table's partitions on PostgreSQL, oldest month first, default last."""
    await _check_partitioned(conn)
    names = (
        await conn.execute(
            text(
                "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                "WHERE i.inhparent = to_regclass('heartbeat')"
            )
        )
    ).scalars()
    parts = [Partition(n, month_of(n)) for n in names]
    return sorted(parts, key=lambda p: (p.month is None, p.month or dt.date.min))


async def ensure_partitions(
    engine: AsyncEngine, now: dt.datetime, months_ahead: int = 2
) -> list[str]:
    """Create the heartbeat partitions of now's month and the next ``months_ahead``.

    Returns the names created (empty when they all existed, and always on SQLite).
    """
    if engine.dialect.name != "postgresql":
        return []
    if months_ahead < 0:
        raise ValueError("months_ahead must not be negative")
    wanted = months_to_cover(now, months_ahead)
    created: list[str] = []
    async with engine.begin() as conn:
        await _check_partitioned(conn)
        existing = {p.name for p in await list_partitions(conn)}
        if all(heartbeat_partition(m) in existing for m in wanted):
            return []
        # Writers wait (briefly) while partitions are added; a second caller waits here and
        # then finds them made.
        await conn.execute(text("LOCK TABLE heartbeat IN SHARE ROW EXCLUSIVE MODE"))
        existing = {p.name for p in await list_partitions(conn)}
        for month in wanted:
            name = heartbeat_partition(month)
            if name not in existing:
                await _create(conn, name, month, HEARTBEAT_DEFAULT_PARTITION in existing)
                created.append(name)
    return created


async def _create(conn: AsyncConnection, name: str, month: dt.date, has_default: bool) -> None:
    lo, hi = month_bounds(month)
    # A standalone table filled with the month's rows from the default partition, then
    # attached: attaching a range while the default partition still holds rows of it fails.
    await conn.execute(text(f'CREATE TABLE "{name}" (LIKE heartbeat INCLUDING DEFAULTS)'))
    if has_default:
        # Partition names are made by heartbeat_partition, never taken from input.
        move = (
            f'WITH moved AS (DELETE FROM "{HEARTBEAT_DEFAULT_PARTITION}" '  # noqa: S608
            "WHERE received_at >= :lo AND received_at < :hi RETURNING *) "
            f'INSERT INTO "{name}" SELECT * FROM moved'
        )
        await conn.execute(
            text(move),
            {"lo": lo, "hi": hi},
        )
    await conn.execute(
        text(
            f'ALTER TABLE heartbeat ATTACH PARTITION "{name}" '
            f"FOR VALUES FROM ('{lo.isoformat()}') TO ('{hi.isoformat()}')"
        )
    )
