"""Who must study in a year, and how much (Art. 5, 12): target groups are data.

A learner belongs to the most specific group of the year that matches them: the group's org
subtree holds the learner's unit and its rank list holds the learner's rank (an empty list
matches every rank). The deepest org node wins; at equal depth the higher ``priority``, then
the older group (lower id), so resolution is deterministic. No matching group means the
learner is not in this year's target group (非本年度参学对象): no quota is due.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models import TargetGroup
from proctor.credits.policy import Quota

NOT_IN_GROUP = "非本年度参学对象"


class Placed(Protocol):
    """What resolution needs of a learner."""

    @property
    def org_path(self) -> str: ...

    @property
    def rank(self) -> str: ...


def depth(path: str) -> int:
    """Depth of a materialised path ("/1/" is 1, "/1/4/" is 2)."""
    return path.strip("/").count("/") + 1 if path.strip("/") else 0


def matches(group: TargetGroup, org_path: str, rank: str) -> bool:
    """The group covers a learner at ``org_path`` with ``rank``."""
    # Paths end with "/", so "/1/4/" never claims "/1/40/".
    return org_path.startswith(group.org_path) and (not group.ranks or rank in group.ranks)


def most_specific(groups: Iterable[TargetGroup], org_path: str, rank: str) -> TargetGroup | None:
    """The deepest matching group; ties by priority (higher first), then lower id."""
    candidates = [g for g in groups if matches(g, org_path, rank)]
    if not candidates:
        return None
    return max(candidates, key=lambda g: (depth(g.org_path), g.priority, -g.id))


async def resolve_group(session: AsyncSession, learner: Placed, year: int) -> TargetGroup | None:
    """The learner's target group for a year, or None (not required to study that year)."""
    # A year has a handful of groups: load them and decide in Python (ranks are a JSON list).
    groups = (await session.scalars(select(TargetGroup).where(TargetGroup.year == year))).all()
    return most_specific(groups, learner.org_path, learner.rank)


def quota_of(group: TargetGroup | None) -> Quota | None:
    """The group's quota in the policy's terms (None: nothing due)."""
    return None if group is None else Quota(group.total_credits, group.required_credits)


async def learner_quota(session: AsyncSession, learner: Placed, year: int) -> Quota | None:
    """The quota due from a learner in a year, or None when not in the target group."""
    return quota_of(await resolve_group(session, learner, year))
