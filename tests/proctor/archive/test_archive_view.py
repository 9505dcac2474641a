"""The archive shows the ledger exactly, against the quota, within scope; exports open in Excel."""

from __future__ import annotations

import io
from decimal import Decimal

from aiohttp.test_utils import TestClient
from openpyxl import load_workbook

from models import Course, CourseKind, CreditKind, TargetGroup, utcnow
from proctor.context import Context
from proctor.credits import ledger
from tests.factories import World, login


async def seed(ctx: Context, world: World) -> None:
    """zhang: 23 required + 17 elective in 2026 under a 40/24 quota; one entry revoked."""
    province = world.org("湖南省")
    learner = world.learners["zhang"].id
    async with ctx.db.begin() as s:
        s.add(
            TargetGroup(
                year=2026,
                name="试点",
                org_id=province.id,
                org_path=province.path,
                ranks=["县处级副职"],
                total_credits=Decimal(40),
                required_credits=Decimal(24),
            )
        )
        course = Course(
            code="A1",
            title="党章学习",
            category_id=7,
            kind=CourseKind.REQUIRED,
            lecture_seconds=2 * 2700,
            owner_org_id=province.id,
            owner_path=province.path,
        )
        s.add(course)
        await s.flush()
        await ledger.post_course_completion(
            s, learner_id=learner, course=course, year=2026, completed_at=utcnow(), evidence={}
        )
        await ledger.post_legacy(
            s,
            learner_id=learner,
            course_id=None,
            year=2026,
            kind=CreditKind.REQUIRED,
            amount=Decimal(21),
            record_id="r1",
        )
        await ledger.post_legacy(
            s,
            learner_id=learner,
            course_id=None,
            year=2026,
            kind=CreditKind.ELECTIVE,
            amount=Decimal(17),
            record_id="e1",
        )
        bad = await ledger.post_legacy(
            s,
            learner_id=learner,
            course_id=None,
            year=2026,
            kind=CreditKind.ELECTIVE,
            amount=Decimal(3),
            record_id="e2",
        )
        await s.flush()
        await ledger.revoke(s, entry_id=bad.id, reason="代刷查实", case_id=12, actor_id=None)


async def test_archive_matches_ledger_and_quota_boundary(
    client: TestClient, ctx: Context, world: World
) -> None:
    """40 credits with 23 required: total met, required minimum not met, so the year is not met."""
    await seed(ctx, world)
    body = await (
        await client.get("/api/v1/me/archive?year=2026", headers=await login(client, "zhang"))
    ).json()
    assert body["credits"] == {
        "required": "23.00",
        "elective": "17.00",
        "bonus": "0.00",
        "total": "40.00",
    }
    assert body["total_met"] is True
    assert body["required_met"] is False
    assert body["quota_met"] is False
    assert body["remaining"]["required"] == "1.00"
    assert [c["title"] for c in body["courses_completed"]] == ["党章学习"]
    reversal = [e for e in body["entries"] if e["source"] == "reversal"]
    assert len(reversal) == 1
    assert reversal[0]["amount"] == "-3.00"
    assert reversal[0]["case_id"] == 12


async def test_archive_scope(client: TestClient, ctx: Context, world: World) -> None:
    """A county admin reads their learners' archives, not another county's; learners only their own."""
    await seed(ctx, world)
    zhang = world.learners["zhang"].id
    assert (
        await client.get(
            f"/api/v1/learners/{zhang}/archive", headers=await login(client, "fr_admin")
        )
    ).status == 200
    assert (
        await client.get(
            f"/api/v1/learners/{zhang}/archive", headers=await login(client, "tx_admin")
        )
    ).status == 404
    assert (
        await client.get(f"/api/v1/learners/{zhang}/archive", headers=await login(client, "li"))
    ).status == 404
    page = await client.get("/archive", headers=await login(client, "zhang"))
    assert page.status == 200
    assert "代刷查实" in await page.text()


async def test_exports(client: TestClient, ctx: Context, world: World) -> None:
    """XLSX with Chinese headers and numeric credits; CSV with a BOM."""
    await seed(ctx, world)
    headers = await login(client, "fr_admin")
    zhang = world.learners["zhang"].id
    resp = await client.get(f"/api/v1/learners/{zhang}/archive.xlsx?year=2026", headers=headers)
    assert resp.status == 200
    wb = load_workbook(io.BytesIO(await resp.read()))
    sheet = wb["学分明细"]
    assert [c.value for c in sheet[1]] == ["日期", "课程", "类别", "来源", "学分", "说明"]
    amounts = [row[4].value for row in sheet.iter_rows(min_row=2)]
    assert all(isinstance(a, int | float) for a in amounts)  # numbers, not text
    assert sum(amounts) == 40
    csv_resp = await client.get(f"/api/v1/learners/{zhang}/archive.csv?year=2026", headers=headers)
    raw = await csv_resp.read()
    assert raw.startswith("\ufeff".encode())
    assert "学分明细" not in raw.decode("utf-8-sig")
    assert "年度总学分,40.00" in raw.decode("utf-8-sig").replace("\r", "")
