"""The archive shows the ledger exactly, against the year's quota."""

from __future__ import annotations

from decimal import Decimal

from aiohttp.test_utils import TestClient

from models import CreditKind
from proctor.credits import ledger
from proctor.kernel.context import Context
from tests.factories import World, login
from tests.proctor.archive.helpers import YEAR, add_course, complete, legacy, seed_boundary


async def my_archive(client: TestClient, username: str, year: int = YEAR) -> dict:
    resp = await client.get(
        f"/api/v1/me/archive?year={year}", headers=await login(client, username)
    )
    assert resp.status == 200, await resp.text()
    return await resp.json()


async def test_numbers_equal_the_ledger_and_40_with_23_required_is_not_met(
    client: TestClient, ctx: Context, world: World
) -> None:
    """40 credits with 23 required: the total is met, the required minimum is not, so the year is not."""
    await seed_boundary(ctx, world)
    body = await my_archive(client, "zhang")
    async with ctx.db() as s:
        sums = await ledger.balances(s, world.learners["zhang"].id, YEAR)
    assert body["credits"] == {
        "required": str(sums[CreditKind.REQUIRED]),
        "elective": str(sums[CreditKind.ELECTIVE]),
        "bonus": str(sums[CreditKind.BONUS]),
        "total": "40.00",
    }
    assert body["credits"]["required"] == "23.00"
    assert body["credits"]["elective"] == "17.00"
    assert body["target_group"] == "县处级试点"
    assert body["quota"] == {"total": "40.00", "required": "24.00"}
    assert (body["total_met"], body["required_met"], body["quota_met"]) == (True, False, False)
    assert body["remaining"] == {"total": "0.00", "required": "1.00"}


async def test_one_more_required_credit_meets_the_quota(
    client: TestClient, ctx: Context, world: World
) -> None:
    """With 24 required credits the same year is complete; exam bonuses are listed as exams."""
    await seed_boundary(ctx, world)
    zhang = world.learners["zhang"].id
    await legacy(ctx, zhang, CreditKind.REQUIRED, "1", "R-2")
    course = await add_course(ctx, world, "X1", "党史专题")
    async with ctx.db.begin() as s:
        await ledger.post_exam_bonus(
            s, learner_id=zhang, course_id=course.id, year=YEAR, amount=Decimal(2), evidence={}
        )
    body = await my_archive(client, "zhang")
    assert body["credits"] == {
        "required": "24.00",
        "elective": "17.00",
        "bonus": "2.00",
        "total": "43.00",
    }
    assert body["quota_met"] is True
    assert [(e["course"], e["amount"], e["source"]) for e in body["exams"]] == [
        ("党史专题", "2.00", "exam")
    ]


async def test_revocation_stays_visible_with_reason_and_case(
    client: TestClient, ctx: Context, world: World
) -> None:
    """The revoked course keeps its line, marked; the reversal cites reason and case."""
    ids = await seed_boundary(ctx, world)
    body = await my_archive(client, "zhang")
    courses = {c["title"]: c for c in body["courses_completed"]}
    assert set(courses) == {"党章学习", "数字经济"}
    assert (courses["党章学习"]["credits"], courses["党章学习"]["revoked"]) == ("2.00", False)
    assert (courses["数字经济"]["credits"], courses["数字经济"]["revoked"]) == ("1.00", True)
    assert courses["数字经济"]["kind"] == "elective"
    assert courses["党章学习"]["category"]  # the category's name, from the seeded list
    entries = {e["id"]: e for e in body["entries"]}
    assert len(entries) == 5
    original, reversal = entries[ids["digital"]], entries[ids["reversal"]]
    assert original["amount"] == "1.00"
    assert original["reversed_by"] == ids["reversal"]
    assert reversal["amount"] == "-1.00"
    assert (reversal["source"], reversal["reverses_id"]) == ("reversal", ids["digital"])
    assert (reversal["reason"], reversal["case_id"]) == ("代刷查实", 12)
    assert body["findings"] == []


async def test_not_in_target_group(client: TestClient, ctx: Context, world: World) -> None:
    """A 科员 outside the pilot group owes nothing; their credits still count in the archive."""
    await seed_boundary(ctx, world)
    li = world.learners["li"].id
    await complete(ctx, li, await add_course(ctx, world, "L1", "公文写作"))
    body = await my_archive(client, "li")
    assert body["target_group"] is None
    assert body["in_target_group"] is False
    assert body["quota"] is None
    assert body["credits"]["required"] == "1.00"
    assert body["quota_met"] is True
    assert body["remaining"] == {"total": "0.00", "required": "0.00"}


async def test_years_are_kept_apart(client: TestClient, ctx: Context, world: World) -> None:
    """Last year's imported credits show under last year only; both years are selectable."""
    await seed_boundary(ctx, world)
    await legacy(ctx, world.learners["zhang"].id, CreditKind.ELECTIVE, "30", "OLD-1", YEAR - 1)
    this_year = await my_archive(client, "zhang")
    last_year = await my_archive(client, "zhang", YEAR - 1)
    assert this_year["credits"]["elective"] == "17.00"
    assert last_year["credits"] == {
        "required": "0.00",
        "elective": "30.00",
        "bonus": "0.00",
        "total": "30.00",
    }
    assert last_year["target_group"] is None  # the group is defined for this year only
    assert last_year["courses_completed"] == []
    assert this_year["years"][:2] == [YEAR, YEAR - 1]
