"""Yearly evaluation: award candidates exclude findings and bars; the frozen snapshot stays."""

from __future__ import annotations

import io

from aiohttp.test_utils import TestClient
from openpyxl import load_workbook

from models import CreditKind
from proctor.kernel.context import Context
from tests.factories import World, login
from tests.proctor.archive.helpers import legacy
from tests.proctor.reports.helpers import YEAR, seed_year


async def test_candidates_and_ranking(client: TestClient, ctx: Context, world: World) -> None:
    """zhang met the quota but has a confirmed finding; li is barred; wang is the candidate."""
    await seed_year(ctx, world)
    headers = await login(client, "academy")
    body = await (
        await client.get(f"/api/v1/reports/evaluation?year={YEAR}", headers=headers)
    ).json()
    assert body["frozen"] is False
    assert [x["name"] for x in body["excellent_learners"]] == ["王芳"]
    units = {u["name"]: u for u in body["units"]}
    # 天心区财政局: wang met 40/24, zhou is no target; 芙蓉区财政局: zhang met but a finding.
    assert units["天心区财政局"]["rank"] == 1 and units["天心区财政局"]["excellent_candidate"]
    assert units["芙蓉区财政局"]["findings"] == 1
    assert not units["芙蓉区财政局"]["excellent_candidate"]
    assert units["荷塘区财政局"]["score"] == "0.00"


async def test_freeze_keeps_history(client: TestClient, ctx: Context, world: World) -> None:
    """Frozen once, by an administrator, for a closed year; later credits change nothing."""
    await seed_year(ctx, world)
    city = await login(client, "cs_admin")
    org = world.org("长沙市").id
    liaison = await client.post(
        "/api/v1/reports/evaluation/freeze",
        json={"year": YEAR},
        headers=await login(client, "fr_liaison"),
    )
    assert liaison.status == 403
    current = await client.post(
        "/api/v1/reports/evaluation/freeze", json={"year": 2100}, headers=city
    )
    assert current.status == 409
    assert (await current.json())["field"] == "year"
    other = await client.post(
        "/api/v1/reports/evaluation/freeze",
        json={"year": YEAR, "org": world.org("株洲市").id},
        headers=city,
    )
    assert other.status == 404
    frozen = await client.post(
        "/api/v1/reports/evaluation/freeze", json={"year": YEAR, "org": org}, headers=city
    )
    assert frozen.status == 200, await frozen.text()
    before = await frozen.json()
    assert before["frozen"] is True
    again = await client.post(
        "/api/v1/reports/evaluation/freeze", json={"year": YEAR, "org": org}, headers=city
    )
    assert again.status == 409
    # li now tops the city with 60 credits, but the frozen evaluation does not move.
    await legacy(ctx, world.learners["li"].id, CreditKind.REQUIRED, "60", "late", year=YEAR)
    after = await (
        await client.get(f"/api/v1/reports/evaluation?year={YEAR}&org={org}", headers=city)
    ).json()
    assert after["units"] == before["units"]
    assert after["excellent_learners"] == before["excellent_learners"]
    # The live figures do move.
    summary = await (
        await client.get(f"/api/v1/reports/summary?year={YEAR}&org={org}", headers=city)
    ).json()
    assert summary["figures"]["quota_met"] == 3
    xlsx = await client.get(f"/api/v1/reports/evaluation.xlsx?year={YEAR}&org={org}", headers=city)
    wb = load_workbook(io.BytesIO(await xlsx.read()))
    assert wb.sheetnames == ["单位考核排名", "优秀学员奖候选", "评分办法"]
    ranking = list(wb["单位考核排名"].iter_rows(min_row=2, values_only=True))
    assert ranking[0][1] == "天心区财政局" and isinstance(ranking[0][7], float | int)
    assert [r[1] for r in wb["优秀学员奖候选"].iter_rows(min_row=2, values_only=True)] == ["王芳"]
    page = await client.get(f"/reports/evaluation?year={YEAR}&org={org}", headers=city)
    assert "已于" in await page.text()


async def test_sql_candidates_follow_the_pure_rule(
    client: TestClient, ctx: Context, world: World
) -> None:
    """The candidates the API lists are exactly what evaluation.learner_candidates picks."""
    from proctor.reports.evaluation import LearnerInput, Weights, learner_candidates

    await seed_year(ctx, world)
    await legacy(ctx, world.learners["zhao"].id, CreditKind.REQUIRED, "45", "z", year=YEAR)
    headers = await login(client, "academy")
    everyone = await (
        await client.get(f"/api/v1/reports/learners?year={YEAR}", headers=headers)
    ).json()
    pure = learner_candidates(
        [
            LearnerInput(
                x["learner_id"],
                x["name"],
                x["unit"],
                int(float(x["total"]) * 100),
                int(float(x["required"]) * 100),
                bool(x["quota_met"]),
                x["findings"],
                x["barred"],
            )
            for x in everyone["items"]
            if x["target_group"] is not None
        ],
        Weights(),
    )
    api = await (
        await client.get(f"/api/v1/reports/learners?filter=candidates&year={YEAR}", headers=headers)
    ).json()
    assert [x["learner_id"] for x in api["items"]] == [p.learner_id for p in pure]
    assert [x["name"] for x in api["items"]] == ["赵磊", "王芳"]
