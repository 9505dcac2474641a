"""Courses credited by the previous system's import show their credits like tracked ones."""

from __future__ import annotations

import io
import re
from decimal import Decimal

from aiohttp.test_utils import TestClient
from openpyxl import load_workbook

from models import CourseCompletion, CourseKind, CreditKind, utcnow
from proctor.credits import ledger
from proctor.kernel.context import Context
from tests.factories import World, login
from tests.proctor.archive.helpers import YEAR, add_course


async def _imported_course(ctx: Context, world: World) -> None:
    """zhang completed 数字经济 (1.50 elective) in the old system: a completion and a legacy
    line under the course's own ledger key, as the import writes them."""
    zhang = world.learners["zhang"].id
    course = await add_course(
        ctx, world, "B7", "数字经济", kind=CourseKind.ELECTIVE, seconds=90 * 60, category_id=3
    )
    async with ctx.db.begin() as s:
        s.add(
            CourseCompletion(
                learner_id=zhang,
                course_id=course.id,
                year=YEAR,
                completed_at=utcnow(),
                evidence={"legacy_record": "HN-C-1"},
            )
        )
        await ledger.post_legacy(
            s,
            learner_id=zhang,
            course_id=course.id,
            year=YEAR,
            kind=CreditKind.ELECTIVE,
            amount=Decimal("1.50"),
            record_id="HN-C-1",
            key=ledger.course_key(zhang, course.id),
        )


async def test_archive_page_shows_imported_course_credits(
    client: TestClient, ctx: Context, world: World
) -> None:
    """已完成课程 lists the imported course with 1.50, the same figure 学分明细 shows."""
    await _imported_course(ctx, world)
    html = await (await client.get("/archive", headers=await login(client, "zhang"))).text()
    done = html.split("已完成课程", 1)[1].split("</table>", 1)[0]
    row = re.search(r"<tr[^>]*>.*?数字经济.*?</tr>", done, re.S)
    assert row is not None
    assert re.search(r'<td class="num"[^>]*>1\.50<', row.group(0))
    assert "0.00" not in row.group(0)


async def test_archive_xlsx_shows_imported_course_credits(
    client: TestClient, ctx: Context, world: World
) -> None:
    """The XLSX sheet 已完成课程 carries the same 1.50, not a zero."""
    await _imported_course(ctx, world)
    resp = await client.get(
        f"/api/v1/me/archive.xlsx?year={YEAR}", headers=await login(client, "zhang")
    )
    assert resp.status == 200
    wb = load_workbook(io.BytesIO(await resp.read()))
    rows = list(wb["已完成课程"].iter_rows(min_row=2, values_only=True))
    assert [(r[1], r[4]) for r in rows] == [("数字经济", 1.5)]
