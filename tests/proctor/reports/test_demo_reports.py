"""The demo's report story: last year's top candidate in 长沙市 is found to have had a proxy
and drops out of the excellent-learner candidates; the rollups are built."""

from __future__ import annotations

from sqlalchemy import select

from models import ReportCutoff, Role
from proctor.demo.reports import CLOSED_YEAR, reports_demo
from proctor.kernel.context import Context
from proctor.reports import yearly
from tests.factories import World, add_account
from tests.proctor.reports.helpers import YEAR, seed_year
from tests.proctor.reports.test_figures_ledger import actor, check_all


async def test_reports_demo(ctx: Context, world: World) -> None:
    assert CLOSED_YEAR == YEAR
    await seed_year(ctx, world)
    await add_account(ctx, world, "reviewer_cs", Role.REVIEWER, "长沙市")
    city = actor(world, "cs_admin")
    before = await yearly.evaluation(ctx, city, None, YEAR)
    assert [x["name"] for x in before["excellent_learners"]] == ["王芳"]
    logins = await reports_demo(ctx, "pw")
    assert len(logins) == 2 and "王芳" in logins[0][2]
    assert logins[1][0] == "cs_admin"
    after = await yearly.evaluation(ctx, city, None, YEAR)
    assert after["excellent_learners"] == []
    async with ctx.db() as s:
        years = (await s.scalars(select(ReportCutoff.year))).all()
    assert sorted(years) == [YEAR, YEAR + 1]
    await check_all(ctx, world)
