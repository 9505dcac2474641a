"""The reports API, pages and exports over HTTP: scope, bad input, workbook contents."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from aiohttp.test_utils import TestClient
from openpyxl import load_workbook

from proctor.kernel.context import Context
from tests.factories import World, login
from tests.proctor.reports.helpers import YEAR, seed_year


@pytest.mark.parametrize(
    ("username", "org", "status"),
    [
        ("fr_admin", "天心区", 404),  # another county
        ("fr_admin", "长沙市", 404),  # up the tree
        ("tx_admin", "芙蓉区财政局", 404),
        ("ht_admin", "长沙市", 404),  # another city
        ("fr_liaison", "芙蓉区教育局", 404),  # a liaison reads their own unit only
        ("fr_admin", "芙蓉区", 200),
        ("fr_admin", "芙蓉区财政局", 200),
        ("cs_admin", "天心区", 200),
        ("fr_liaison", "芙蓉区财政局", 200),
        ("academy", "荷塘区", 200),
        ("zhang", "芙蓉区财政局", 403),  # learners read no reports
        ("cs_reviewer", "长沙市", 403),
    ],
)
async def test_report_scope(
    client: TestClient, ctx: Context, world: World, username: str, org: str, status: int
) -> None:
    """Every report route answers alike for a node outside the actor's authority."""
    await seed_year(ctx, world)
    headers = await login(client, username)
    org_id = world.org(org).id
    for path in (
        "/api/v1/reports/summary",
        "/api/v1/reports/learners",
        "/api/v1/reports/progress",
        "/api/v1/reports/evaluation",
        "/api/v1/reports/summary.xlsx",
        "/api/v1/reports/behind.xlsx",
        "/api/v1/reports/candidates.xlsx",
        "/api/v1/reports/evaluation.xlsx",
        "/reports",
        "/reports/behind",
        "/reports/evaluation",
    ):
        resp = await client.get(f"{path}?org={org_id}&year={YEAR}", headers=headers)
        assert resp.status == status, path
        if status != 200 and path.startswith("/api/"):
            assert resp.content_type == "application/problem+json"
            body = await resp.text()
            assert "张伟" not in body and "王芳" not in body


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("year=abc", "year"),
        ("year=1999", "year"),
        ("org=abc", "org"),
        ("org=0", "org"),
        ("filter=everyone", "filter"),
        ("limit=0", "limit"),
        ("as_of=2025-13-01", "as_of"),
    ],
)
async def test_bad_input_is_a_named_422(
    client: TestClient, world: World, query: str, field: str
) -> None:
    headers = await login(client, "academy")
    resp = await client.get(f"/api/v1/reports/learners?{query}", headers=headers)
    assert resp.status == 422
    assert (await resp.json())["field"] == field


async def test_summary_drills_down_to_learners(
    client: TestClient, ctx: Context, world: World
) -> None:
    """City -> county -> unit, then the unit's learners link to their archives."""
    await seed_year(ctx, world)
    headers = await login(client, "cs_admin")
    city = await (await client.get(f"/api/v1/reports/summary?year={YEAR}", headers=headers)).json()
    assert city["org"]["name"] == "长沙市"
    assert [c["org"]["name"] for c in city["children"]] == ["芙蓉区", "天心区"]
    county_id = city["children"][0]["org"]["id"]
    county = await (
        await client.get(f"/api/v1/reports/summary?org={county_id}&year={YEAR}", headers=headers)
    ).json()
    assert [n["name"] for n in county["trail"]] == ["长沙市", "芙蓉区"]
    unit_id = world.org("芙蓉区财政局").id
    page = await client.get(f"/reports?org={unit_id}&year={YEAR}", headers=headers)
    html = await page.text()
    assert page.status == 200
    assert f"/admin/learners/{world.learners['zhang'].id}/archive" in html
    assert 'data-chart="curve"' in html and "<script" not in html.split("<main>")[1]
    learners = await (
        await client.get(f"/api/v1/reports/learners?org={unit_id}&year={YEAR}", headers=headers)
    ).json()
    assert learners["total"] == 1
    assert learners["items"][0]["total"] == "32.00"


async def test_behind_list_and_export(client: TestClient, ctx: Context, world: World) -> None:
    """In October: li (5 of 30) and zhao (0 of 40) are behind; the workbook says so, as numbers."""
    await seed_year(ctx, world)
    headers = await login(client, "academy")
    resp = await client.get(
        f"/api/v1/reports/learners?filter=behind&year={YEAR}&as_of={YEAR}-10-15", headers=headers
    )
    body = await resp.json()
    assert {x["name"] for x in body["items"]} == {"李娜", "赵磊"}
    xlsx = await client.get(
        f"/api/v1/reports/behind.xlsx?year={YEAR}&as_of={YEAR}-10-15", headers=headers
    )
    assert xlsx.status == 200
    wb = load_workbook(io.BytesIO(await xlsx.read()))
    sheet = wb.active
    assert sheet is not None
    assert sheet["A1"].value == "姓名" and sheet["H1"].value == "年度总学分"
    rows = {r[0]: r for r in sheet.iter_rows(min_row=2, values_only=True)}
    assert set(rows) == {"李娜", "赵磊"}
    assert rows["李娜"][7] == 5 and isinstance(rows["李娜"][7], int | float)


async def test_unit_report_workbook_matches_the_api(
    client: TestClient, ctx: Context, world: World
) -> None:
    await seed_year(ctx, world)
    headers = await login(client, "academy")
    api = await (await client.get(f"/api/v1/reports/summary?year={YEAR}", headers=headers)).json()
    resp = await client.get(f"/api/v1/reports/summary.xlsx?year={YEAR}", headers=headers)
    assert resp.status == 200
    assert "attachment" in resp.headers["Content-Disposition"]
    wb = load_workbook(io.BytesIO(await resp.read()))
    sheet = wb[f"{YEAR}年度统计"]
    header = [c.value for c in sheet[1]]
    assert header[:3] == ["机构", "参学对象人数", "参学人数"]
    total = [c.value for c in sheet[2]]
    assert total[1] == api["figures"]["target_learners"]
    assert Decimal(str(total[8])) == Decimal(api["figures"]["credits_total"])
    assert sheet.cell(row=2, column=9).number_format == "0.00"
    assert {"学分分布", "课程分类学分", "学员明细"} <= set(wb.sheetnames)
    assert wb["学员明细"].max_row == 1 + 5


async def test_target_groups_shown_where_they_apply(
    client: TestClient, ctx: Context, world: World
) -> None:
    """芙蓉区 sees both groups that reach it; 荷塘区 only the province-wide one."""
    await seed_year(ctx, world)
    headers = await login(client, "academy")
    fr = await (
        await client.get(
            f"/api/v1/reports/summary?org={world.org('芙蓉区').id}&year={YEAR}", headers=headers
        )
    ).json()
    assert {g["name"]: (g["total"], g["required"]) for g in fr["target_groups"]} == {
        "芙蓉区全体": ("30.00", "10.00"),
        "县处级": ("40.00", "24.00"),
    }
    ht = await (
        await client.get(
            f"/api/v1/reports/summary?org={world.org('荷塘区').id}&year={YEAR}", headers=headers
        )
    ).json()
    assert [g["name"] for g in ht["target_groups"]] == ["县处级"]
    page = await client.get(f"/reports?org={world.org('荷塘区').id}&year={YEAR}", headers=headers)
    assert "县处级副职；年度 40.00 学分" in await page.text()
