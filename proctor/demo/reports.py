"""Reports in the demo: last year's best learner in 长沙市 found to have had a proxy, and the
rollups built, so the city administrator's evaluation shows the exclusion.

2025 is the closed year (history imported from the old system), 2026 the running one.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from models import CaseState, DetectionFlag, ReviewCase
from proctor.demo.review import actor_for, learner_account
from proctor.kernel.context import Context
from proctor.reports import rollup, service
from proctor.review import decisions
from proctor.review.intake import raise_flags

CLOSED_YEAR = 2025


async def _find_top_candidate(ctx: Context) -> tuple[int, str] | None:
    admin = await actor_for(ctx, "cs_admin")
    if admin is None:
        return None
    _, _, top = await service.learner_lines(
        ctx, admin, None, CLOSED_YEAR, only_candidates=True, limit=1
    )
    return (top[0].learner_id, top[0].name) if top else None


async def reports_demo(ctx: Context, password: str) -> list[tuple[str, str, str]]:
    """Confirm proxy study against last year's top candidate; build both years' rollups."""
    logins: list[tuple[str, str, str]] = []
    top = await _find_top_candidate(ctx)
    reviewer = await actor_for(ctx, "reviewer_cs")
    if top is not None and reviewer is not None:
        learner_id, name = top
        async with ctx.db.begin() as s:
            await raise_flags(
                s,
                [
                    DetectionFlag(
                        learner_id=learner_id,
                        period_start=dt.date(CLOSED_YEAR, 11, 3),
                        period_end=dt.date(CLOSED_YEAR, 11, 9),
                        risk=0.91,
                        band="high",
                        kind="behaviour",
                        rules=[
                            {
                                "id": "R08",
                                "name": "他人设备与时段",
                                "kind": "behaviour",
                                "text": "学时主要来自本人从未使用过的设备",
                            }
                        ],
                        drivers=[],
                        model_version="demo-2025",
                        thresholds={},
                    )
                ],
            )
            case_id = await s.scalar(
                select(ReviewCase.id)
                .where(
                    ReviewCase.learner_id == learner_id,
                    ReviewCase.year == CLOSED_YEAR,
                    ReviewCase.state == CaseState.NEW,
                )
                .order_by(ReviewCase.id.desc())
                .limit(1)
            )
        if case_id is not None:
            await decisions.decide(
                ctx,
                reviewer,
                case_id,
                "confirmed_proxy",
                "单位核实：该学员 2025 年 11 月的学时由同事代为完成",
            )
            username = await learner_account(ctx, learner_id)
            if username:
                logins.append(
                    (
                        username,
                        password,
                        f"学员（{name}，2025 年度学分居长沙市前列，但认定请人代学：不在优秀学员候选中）",
                    )
                )
    for year in (CLOSED_YEAR, CLOSED_YEAR + 1):
        await rollup.refresh(ctx, year)
    logins.append(
        (
            "cs_admin",
            password,
            f"组织管理员（长沙市）：学习统计 /reports?year={CLOSED_YEAR} 逐级查看区县、单位、学员，"
            "年度考核与评优可导出",
        )
    )
    return logins
