"""Exports open in Excel: typed XLSX cells, bold Chinese headers; CSV with a BOM."""

from __future__ import annotations

import csv
import io
from urllib.parse import unquote

from aiohttp.test_utils import TestClient
from openpyxl import load_workbook

from proctor.kernel.context import Context
from tests.factories import World, login
from tests.proctor.archive.helpers import YEAR, add_course, complete, seed_boundary


async def test_xlsx_export(client: TestClient, ctx: Context, world: World) -> None:
    """Summary, courses and ledger sheets; credits are numbers that sum to the archive total."""
    ids = await seed_boundary(ctx, world)
    zhang = world.learners["zhang"].id
    resp = await client.get(
        f"/api/v1/learners/{zhang}/archive.xlsx?year={YEAR}",
        headers=await login(client, "fr_admin"),
    )
    assert resp.status == 200
    assert resp.content_type.endswith("spreadsheetml.sheet")
    assert "学习档案-张伟" in unquote(resp.headers["Content-Disposition"])
    wb = load_workbook(io.BytesIO(await resp.read()))
    assert wb.sheetnames == ["档案概要", "已完成课程", "学分明细"]

    lines = wb["学分明细"]
    header = list(lines[1])
    assert [c.value for c in header] == ["记录号", "日期", "课程", "类别", "来源", "学分", "说明"]
    assert all(c.font.bold for c in header)
    assert lines.column_dimensions["C"].width >= 30
    rows = {r[0].value: r for r in lines.iter_rows(min_row=2)}
    amounts = [r[5].value for r in rows.values()]
    assert all(isinstance(a, int | float) for a in amounts)  # numbers, not text
    assert sum(amounts) == 40
    reversal = rows[ids["reversal"]]
    assert reversal[5].value == -1
    assert "代刷查实" in reversal[6].value and "12" in reversal[6].value

    summary = {r[0].value: r[1].value for r in wb["档案概要"].iter_rows()}
    assert summary["姓名"] == "张伟"
    assert summary["年度总学分"] == 40
    assert summary["必修学分"] == 23
    assert summary["其中必修不少于"] == 24
    assert summary["必修学分是否达标"] == "否"
    assert summary["是否完成年度要求"] == "未完成"

    courses = list(wb["已完成课程"].iter_rows(min_row=2, values_only=True))
    assert sorted((c[1], c[4], c[5]) for c in courses) == [
        ("党章学习", 2, None),
        ("数字经济", 1, "已冲销"),
    ]


async def test_csv_export(client: TestClient, ctx: Context, world: World) -> None:
    """UTF-8 with a BOM, the header first, one row per ledger line with exact amounts."""
    await seed_boundary(ctx, world)
    resp = await client.get(
        f"/api/v1/me/archive.csv?year={YEAR}", headers=await login(client, "zhang")
    )
    assert resp.status == 200
    assert resp.content_type == "text/csv"
    raw = await resp.read()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0] == [
        "姓名",
        "单位",
        "年度",
        "记录号",
        "日期",
        "课程",
        "类别",
        "来源",
        "学分",
        "说明",
    ]
    body = rows[1:]
    assert len(body) == 5
    assert {r[0] for r in body} == {"张伟"}
    assert {r[2] for r in body} == {str(YEAR)}
    assert sorted(r[8] for r in body) == ["-1.00", "1.00", "17.00", "2.00", "21.00"]
    assert any("代刷查实" in r[9] for r in body)


async def test_titles_are_never_formulas(client: TestClient, ctx: Context, world: World) -> None:
    """A title that looks like a formula stays text in both exports."""
    zhang = world.learners["zhang"].id
    await complete(ctx, zhang, await add_course(ctx, world, "F1", '=HYPERLINK("http://x")'))
    headers = await login(client, "zhang")
    xlsx = await client.get(f"/api/v1/me/archive.xlsx?year={YEAR}", headers=headers)
    cell = load_workbook(io.BytesIO(await xlsx.read()))["学分明细"]["C2"]
    assert (cell.value, cell.data_type) == ('=HYPERLINK("http://x")', "s")
    text = await (await client.get(f"/api/v1/me/archive.csv?year={YEAR}", headers=headers)).read()
    row = list(csv.reader(io.StringIO(text.decode("utf-8-sig"))))[1]
    assert row[5] == '\'=HYPERLINK("http://x")'
