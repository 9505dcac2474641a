"""Who must study in a year, and how much (Art. 5, 12): target groups are data."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models import Learner, TargetGroup
from proctor.credits.policy import Quota


def matches(group: TargetGroup, org_path: str, rank: str) -> bool:
    """The group covers a learner at ``org_path`` with ``rank`` (no ranks listed: every rank)."""
    return org_path.startswith(group.org_path) and (not group.ranks or rank in group.ranks)


def most_specific(groups: list[TargetGroup], org_path: str, rank: str) -> TargetGroup | None:
    """The deepest matching group; ties broken by priority, then by id for determinism."""
    candidates = [g for g in groups if matches(g, org_path, rank)]
    if not candidates:
        return None
    return max(candidates, key=lambda g: (g.org_path.count("/"), g.priority, -g.id))


async def resolve_group(session: AsyncSession, learner: Learner, year: int) -> TargetGroup | None:
    """The learner's target group for a year, or None (not required to study that year)."""
    groups = list(
        (await session.scalars(select(TargetGroup).where(TargetGroup.year == year))).all()
    )
    return most_specific(groups, learner.org_path, learner.rank)


def quota_of(group: TargetGroup | None) -> Quota | None:
    """The group's quota in the policy's terms."""
    return None if group is None else Quota(group.total_credits, group.required_credits)
