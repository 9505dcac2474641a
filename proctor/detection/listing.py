"""The flags page at province volumes: open flags of an org subtree, riskiest first, a page at
a time, with a count that stops at a cap.

The order (risk, then id, both descending) is the ``ix_detection_flag_status_risk`` index read
backwards, so a page costs the rows before it in the index, not a sort of every open flag.
"""

from __future__ import annotations

from sqlalchemy import select

from models import DetectionFlag, Learner, OrgUnit, Role
from proctor.detection.service import FlagView
from proctor.kernel.authz import Actor
from proctor.kernel.context import Context
from proctor.kernel.paging import Count, bounded_count

VIEW_ROLES = frozenset({Role.REVIEWER, Role.ORG_ADMIN, Role.ACADEMY_ADMIN})


async def flag_page(
    ctx: Context,
    actor: Actor,
    *,
    band: str = "",
    source: str = "",
    org_path: str | None = None,
    offset: int = 0,
    limit: int = 50,
) -> tuple[Count, list[FlagView]]:
    """Open flags of learners in the actor's subtree (or the part ``org_path`` names)."""
    actor.require(VIEW_ROLES, "查看检测标记")
    stmt = (
        select(DetectionFlag, Learner.name, OrgUnit.name)
        .join(Learner, Learner.id == DetectionFlag.learner_id)
        .join(OrgUnit, OrgUnit.id == Learner.unit_id)
        .where(actor.in_scope(Learner.org_path), DetectionFlag.status == "open")
    )
    if org_path is not None:
        stmt = stmt.where(Learner.org_path.startswith(org_path))
    if band:
        stmt = stmt.where(DetectionFlag.band == band)
    if source:
        stmt = stmt.where(DetectionFlag.source == source)
    async with ctx.db() as s:
        total = await bounded_count(s, stmt)
        rows = (
            await s.execute(
                stmt.order_by(DetectionFlag.risk.desc(), DetectionFlag.id.desc())
                .offset(offset)
                .limit(limit)
            )
        ).all()
    return total, [
        FlagView(
            f.id,
            f.learner_id,
            name,
            unit,
            f"{f.period_start} 至 {f.period_end}",
            f.risk,
            f.band,
            f.kind,
            f.rules,
            f.drivers,
            f.model_version,
            f.source,
        )
        for f, name, unit in rows
    ]
