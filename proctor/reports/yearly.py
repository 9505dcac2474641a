"""The yearly evaluation of a node's units (Art. 15), live until frozen at year close.

Live, it is computed from the current figures; frozen, it is the stored snapshot, whatever
happened to the ledger or the cases since (a later reversal does not rewrite an award list).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from models import EvaluationSnapshot, OrgLevel, utcnow
from proctor.kernel.authz import APPROVER_ROLES, Actor
from proctor.kernel.calendar import study_year
from proctor.kernel.context import Context
from proctor.kernel.errors import Conflict, InvalidInput
from proctor.kernel.jsonable import to_jsonable
from proctor.reports import service
from proctor.reports.evaluation import UnitInput, parse_weights, rank_units


def weights_of(ctx: Context) -> Any:
    """The configured weights (a broken setting is an operator error, said plainly)."""
    try:
        return parse_weights(ctx.settings.reports_evaluation)
    except ValueError as exc:
        raise InvalidInput(f"考核评分配置有误：{exc}", field="PROCTOR_REPORTS_EVALUATION") from exc


def _plain(data: dict[str, Any]) -> dict[str, Any]:
    # Decimals become strings exactly as the API sends them, so a snapshot reads back the same.
    return json.loads(json.dumps(data, ensure_ascii=False, default=to_jsonable))  # type: ignore[no-any-return]


async def live(ctx: Context, actor: Actor, org_id: int | None, year: int) -> dict[str, Any]:
    """The evaluation computed now from the ledger and the cases."""
    w = weights_of(ctx)
    async with ctx.db() as s:
        scope = await service.open_scope(s, actor, org_id, year)
        per_unit = await service.unit_tallies(s, scope, ctx)
    units = [
        UnitInput(
            org_id=o.id,
            name=o.name,
            target=per_unit[o.id].target if o.id in per_unit else 0,
            participated=per_unit[o.id].participated if o.id in per_unit else 0,
            met=per_unit[o.id].met if o.id in per_unit else 0,
            cents=per_unit[o.id].cents if o.id in per_unit else 0,
            quota_cents=per_unit[o.id].quota_cents if o.id in per_unit else 0,
            findings=per_unit[o.id].findings if o.id in per_unit else 0,
        )
        for o in sorted(scope.orgs.values(), key=lambda o: o.code)
        if o.level is OrgLevel.UNIT or o.id in per_unit
    ]
    ranked = rank_units(units, w)
    node, _, learners = await service.learner_lines(
        ctx, actor, scope.node.id, year, only_candidates=True, limit=w.learner_award_count
    )
    return _plain(
        {
            "org": node.as_dict(),
            "year": year,
            "frozen": False,
            "frozen_at": None,
            "weights": w.as_dict(),
            "units": [u.as_dict() for u in ranked],
            "excellent_units": [u.as_dict() for u in ranked if u.excellent_candidate],
            "excellent_learners": [x.as_dict() for x in learners],
        }
    )


async def evaluation(ctx: Context, actor: Actor, org_id: int | None, year: int) -> dict[str, Any]:
    """The frozen snapshot when there is one, else the live evaluation."""
    async with ctx.db() as s:
        scope = await service.open_scope(s, actor, org_id, year, tree=False)
        snap = await s.scalar(
            select(EvaluationSnapshot).where(
                EvaluationSnapshot.year == year, EvaluationSnapshot.org_id == scope.node.id
            )
        )
    if snap is not None:
        return snap.body | {"frozen": True, "frozen_at": snap.frozen_at.isoformat()}
    return await live(ctx, actor, scope.node.id, year)


async def freeze(
    ctx: Context, actor: Actor, org_id: int | None, year: int, *, today: dt.date | None = None
) -> dict[str, Any]:
    """Store the evaluation of a closed year for good; a second freeze is a conflict."""
    actor.require(APPROVER_ROLES, "冻结年度考核结果")
    current = today.year if today else study_year(utcnow())
    if year >= current:
        raise Conflict(f"{year} 年度尚未结束，不能冻结考核结果", field="year")
    body = await live(ctx, actor, org_id, year)
    try:
        async with ctx.db.begin() as s:
            scope = await service.open_scope(s, actor, org_id, year, tree=False)
            snap = EvaluationSnapshot(
                year=year,
                org_id=scope.node.id,
                org_path=scope.node.path,
                frozen_by=actor.account_id,
                body=body,
            )
            s.add(snap)
            await s.flush()
            frozen_at = snap.frozen_at
    except IntegrityError as exc:
        raise Conflict(f"{year} 年度考核结果已冻结", field="year") from exc
    return body | {"frozen": True, "frozen_at": frozen_at.isoformat()}
