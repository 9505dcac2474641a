"""Paging at province volumes: counts that stop at a cap instead of scanning everything.

A count over tens of thousands of rows costs as much as reading them; past a few thousand
nobody pages to the end, so lists say "10000+" and offer the next page while there is one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

COUNT_CAP = 10_000


@dataclass(frozen=True)
class Count:
    """How many rows match, exactly up to the cap."""

    value: int
    capped: bool

    @property
    def text(self) -> str:
        """ "10000+" past the cap, else the number."""
        return f"{self.value}+" if self.capped else str(self.value)

    def pages(self, per_page: int) -> int:
        """Pages to offer (those past the cap are reached by "next")."""
        return max(1, (self.value + per_page - 1) // per_page)


async def bounded_count(
    session: AsyncSession, stmt: Select[*tuple[Any, ...]], cap: int = COUNT_CAP
) -> Count:
    """Rows of ``stmt`` (without its ORDER BY), counted up to ``cap``."""
    limited = stmt.order_by(None).limit(cap + 1).subquery()
    found = int(await session.scalar(select(func.count()).select_from(limited)) or 0)
    return Count(min(found, cap), found > cap)
