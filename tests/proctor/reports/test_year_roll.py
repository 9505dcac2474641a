"""Who a year's report counts, what a closed year calls those short, and 0 of 0."""

from __future__ import annotations

import re

from aiohttp.test_utils import TestClient

from models import CreditKind
from proctor.kernel.context import Context
from tests.factories import World, add_learner, login
from tests.proctor.archive.helpers import legacy
from tests.proctor.reports.helpers import YEAR, seed_year


async def _names(client: TestClient, year: int, unit_id: int) -> set[str]:
    headers = await login(client, "academy")
    resp = await client.get(f"/api/v1/reports/learners?org={unit_id}&year={year}", headers=headers)
    assert resp.status == 200, await resp.text()
    return {x["name"] for x in (await resp.json())["items"]}


async def test_a_learner_who_joined_later_is_not_in_last_years_report(
    client: TestClient, ctx: Context, world: World
) -> None:
    """许静 joins now (after 2025): not a 2025 learner who failed to study, but one of this
    year's; someone joining now with imported 2025 credits is counted in 2025."""
    await seed_year(ctx, world)
    unit = world.org("芙蓉区财政局")
    await add_learner(ctx, world, "xu", "芙蓉区财政局", name="许静", seq=61)
    await add_learner(ctx, world, "he", "芙蓉区财政局", name="何平", seq=62)
    await legacy(ctx, world.learners["he"].id, CreditKind.REQUIRED, "8", "HIST-1", year=YEAR)
    assert await _names(client, YEAR, unit.id) == {"张伟", "何平"}
    assert {"许静", "何平"} <= await _names(client, YEAR + 1, unit.id)
    summary = await (
        await client.get(
            f"/api/v1/reports/summary?org={unit.id}&year={YEAR}",
            headers=await login(client, "academy"),
        )
    ).json()
    assert summary["figures"]["target_learners"] == 2


async def test_a_closed_year_says_not_met_not_behind(
    client: TestClient, ctx: Context, world: World
) -> None:
    """2025 is over: the list is 未完成年度要求学员, the short ones without any tolerance."""
    await seed_year(ctx, world)
    headers = await login(client, "academy")
    html = await (await client.get(f"/reports?year={YEAR}", headers=headers)).text()
    assert "进度落后" not in html
    assert re.search(r"未完成年度要求学员（\d+）", html)
    assert f"{YEAR} 年度已结束，未完成年度要求" in html
    page = await (await client.get(f"/reports/behind?year={YEAR}", headers=headers)).text()
    assert "<h1>未完成年度要求学员" in page and "进度落后" not in page
    assert "李娜" in page and "赵磊" in page
    progress = await (
        await client.get(f"/api/v1/reports/progress?year={YEAR}", headers=headers)
    ).json()
    assert progress["year_closed"] is True
    # While a year runs, the words are those of the schedule.
    running = await (
        await client.get(f"/reports/behind?year={YEAR}&as_of={YEAR}-10-15", headers=headers)
    ).text()
    assert "<h1>进度落后学员" in running


async def test_zero_of_zero_is_a_dash(client: TestClient, ctx: Context, world: World) -> None:
    """A year without target learners shows — for its rates, never 0.0%."""
    headers = await login(client, "academy")
    html = await (await client.get(f"/reports?year={YEAR - 1}", headers=headers)).text()
    assert '<strong data-figure="participation">—</strong>' in html
    assert '<strong data-figure="completion">—</strong>' in html
    assert "0.0%" not in html


async def test_workbooks_say_the_same(client: TestClient, ctx: Context, world: World) -> None:
    """The closed year's list is titled and headed 未完成; 0 of 0 is a dash there too."""
    import io
    from urllib.parse import unquote

    from openpyxl import load_workbook

    await seed_year(ctx, world)
    headers = await login(client, "academy")
    resp = await client.get(f"/api/v1/reports/behind.xlsx?year={YEAR}", headers=headers)
    assert "未完成年度要求学员" in unquote(resp.headers["Content-Disposition"])
    sheet = load_workbook(io.BytesIO(await resp.read())).active
    assert sheet is not None
    header = [c.value for c in sheet[1]]
    assert "未完成年度要求" in header and "进度落后" not in header
    empty = await client.get(f"/api/v1/reports/summary.xlsx?year={YEAR - 1}", headers=headers)
    first = load_workbook(io.BytesIO(await empty.read())).worksheets[0]
    assert [first["D2"].value, first["F2"].value] == ["—", "—"]
