"""Transactions that lost a race to a concurrent one are run again, not answered with 500.

Two requests that both find no row and both insert it (a double-clicked "start", twenty
saves of one answer) meet a unique constraint; on SQLite a second writer meets the lock.
Run again, the loser finds the winner's row and takes the path for an existing one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from proctor.kernel.errors import Conflict

T = TypeVar("T")


def lost_race(exc: BaseException) -> bool:
    """A unique violation, or a lock or serialisation failure that a retry resolves."""
    if isinstance(exc, IntegrityError):
        return True
    text = str(exc).lower()
    return isinstance(exc, DBAPIError) and (
        "database is locked" in text or "could not serialize" in text or "deadlock" in text
    )


async def retry_on_race(operation: Callable[[], Awaitable[T]], attempts: int = 5) -> T:
    """Run ``operation`` (one whole transaction) again while it loses races."""
    for n in range(attempts):
        try:
            return await operation()
        except DBAPIError as exc:
            if not lost_race(exc):
                raise
            await asyncio.sleep(0.01 * (n + 1))
    raise Conflict("操作冲突，请稍后重试")


async def hold_lock(session: AsyncSession, name: str) -> None:
    """Serialise transactions that write the same thing (``name``) until this one ends.

    PostgreSQL: a transaction-scoped advisory lock, so the second writer waits and then
    reads what the first committed (read committed). SQLite lets one writer at a time
    anyway, and its second writer sees the first's rows when it gets the lock."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(select(func.pg_advisory_xact_lock(func.hashtext(name))))
