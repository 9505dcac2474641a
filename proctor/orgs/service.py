"""Org-tree queries and changes, always within the actor's subtree."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from models import Learner, Liaison, OrgLevel, OrgUnit
from proctor.kernel.authz import Actor
from proctor.kernel.context import Context
from proctor.kernel.errors import InvalidInput, NotFound

CHILD_LEVEL = {
    OrgLevel.PROVINCE: OrgLevel.CITY,
    OrgLevel.CITY: OrgLevel.COUNTY,
    OrgLevel.COUNTY: OrgLevel.UNIT,
}
LEVEL_NAMES = {
    OrgLevel.PROVINCE: "省",
    OrgLevel.CITY: "市州",
    OrgLevel.COUNTY: "县市区",
    OrgLevel.UNIT: "单位",
}


@dataclass(frozen=True)
class OrgView:
    """An org node as the API shows it."""

    id: int
    name: str
    code: str
    level: str
    parent_id: int | None
    learners: int

    def as_dict(self) -> dict[str, object]:
        """JSON shape."""
        return {
            "id": self.id,
            "name": self.name,
            "code": self.code,
            "level": self.level,
            "parent_id": self.parent_id,
            "learners": self.learners,
        }


async def add_org(
    session: AsyncSession, parent: OrgUnit | None, level: OrgLevel, name: str, code: str
) -> OrgUnit:
    """Insert a node and give it its materialised path (needs its id, hence the flush)."""
    if parent is None and level is not OrgLevel.PROVINCE:
        raise InvalidInput("只有省级节点可以没有上级", field="parent_id")
    if parent is not None and CHILD_LEVEL.get(parent.level) is not level:
        raise InvalidInput(
            f"{LEVEL_NAMES[parent.level]}下只能设{LEVEL_NAMES[CHILD_LEVEL[parent.level]]}"
            if parent.level in CHILD_LEVEL
            else "单位下不能再设下级",
            field="level",
        )
    org = OrgUnit(
        parent_id=parent.id if parent else None,
        level=level,
        name=name,
        code=code,
        path=f"tmp:{code}",
    )
    session.add(org)
    await session.flush()
    org.path = f"{parent.path if parent else '/'}{org.id}/"
    await session.flush()
    return org


async def get_in_scope(session: AsyncSession, actor: Actor, org_id: int) -> OrgUnit:
    """An org node inside the actor's subtree, or 404."""
    org = await session.get(OrgUnit, org_id)
    if org is None or not actor.covers(org.path):
        raise NotFound("机构不存在或不在您的管理范围内")
    return org


async def children(ctx: Context, actor: Actor, org_id: int | None) -> tuple[OrgUnit, list[OrgView]]:
    """A node (default: the actor's own) and its direct children with learner counts."""
    async with ctx.db() as s:
        node = await get_in_scope(s, actor, org_id if org_id is not None else actor.org_id)
        kids = (
            await s.scalars(
                select(OrgUnit).where(OrgUnit.parent_id == node.id).order_by(OrgUnit.code)
            )
        ).all()
        counts: dict[int, int] = {}
        for kid in kids:
            counts[kid.id] = (
                await s.scalar(
                    select(func.count())
                    .select_from(Learner)
                    .where(Learner.org_path.startswith(kid.path), Learner.active.is_(True))
                )
            ) or 0
    return node, [
        OrgView(k.id, k.name, k.code, k.level.value, k.parent_id, counts[k.id]) for k in kids
    ]


async def units_in_scope(session: AsyncSession, actor: Actor) -> list[OrgUnit]:
    """All open units (leaf level) the actor administers."""
    return list(
        (
            await session.scalars(
                select(OrgUnit)
                .where(
                    actor.in_scope(OrgUnit.path),
                    OrgUnit.level == OrgLevel.UNIT,
                    OrgUnit.closed_at.is_(None),
                )
                .order_by(OrgUnit.code)
            )
        ).all()
    )


async def ancestors(session: AsyncSession, org: OrgUnit) -> list[OrgUnit]:
    """The chain province -> ... -> org, for breadcrumbs and full unit names."""
    ids = [int(p) for p in org.path.strip("/").split("/") if p]
    rows = {
        o.id: o for o in (await session.scalars(select(OrgUnit).where(OrgUnit.id.in_(ids)))).all()
    }
    return [rows[i] for i in ids if i in rows]


@dataclass(frozen=True)
class LiaisonView:
    """A unit's liaison as staff see them: the phone masked (the full number stays encrypted)."""

    name: str
    phone_masked: str
    email: str | None

    def as_dict(self) -> dict[str, object]:
        """JSON shape."""
        return {"name": self.name, "phone_masked": self.phone_masked, "email": self.email}


async def liaisons(ctx: Context, actor: Actor, org_id: int) -> list[LiaisonView]:
    """A unit's liaisons (Art. 9), if the unit is in scope."""
    async with ctx.db() as s:
        await get_in_scope(s, actor, org_id)
        rows = await s.scalars(select(Liaison).where(Liaison.org_id == org_id).order_by(Liaison.id))
        return [LiaisonView(r.name, r.phone_masked, r.email) for r in rows]
