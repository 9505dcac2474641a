"""The ledger posts once under retries and races, and revokes only by reversing entries."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from models import Course, CourseKind, CreditEntry, CreditKind, utcnow
from proctor.context import Context
from proctor.credits import ledger
from proctor.errors import Conflict
from tests.factories import World


async def make_course(
    ctx: Context, world: World, *, kind: CourseKind, seconds: int, designated: Decimal | None = None
) -> Course:
    province = world.org("湖南省")
    async with ctx.db.begin() as s:
        course = Course(
            code=f"L{seconds}{kind.value[0]}",
            title="课程",
            category_id=1,
            kind=kind,
            lecture_seconds=seconds,
            designated_credits=designated,
            owner_org_id=province.id,
            owner_path=province.path,
        )
        s.add(course)
    return course


async def post(ctx: Context, learner_id: int, course: Course) -> CreditEntry:
    async with ctx.db.begin() as s:
        return await ledger.post_course_completion(
            s,
            learner_id=learner_id,
            course=course,
            year=2026,
            completed_at=utcnow(),
            evidence={"sessions": ["x"]},
        )


async def test_completion_posts_once_under_retry_and_race(ctx: Context, world: World) -> None:
    """Retries and two concurrent posters leave exactly one entry of the right amount."""
    course = await make_course(ctx, world, kind=CourseKind.REQUIRED, seconds=int(67.5 * 60))
    learner = world.learners["zhang"].id
    await asyncio.gather(post(ctx, learner, course), post(ctx, learner, course))
    again = await post(ctx, learner, course)
    async with ctx.db() as s:
        assert await s.scalar(select(func.count()).select_from(CreditEntry)) == 1
        bal = await ledger.balances(s, learner, 2026)
    assert again.amount == Decimal("2.00")
    assert bal[CreditKind.REQUIRED] == Decimal("2.00")


@pytest.mark.parametrize(
    ("kind", "seconds", "designated", "amount", "credit_kind", "source"),
    [
        (CourseKind.ELECTIVE, 23 * 60, None, "0.50", CreditKind.ELECTIVE, "attention"),
        (CourseKind.REQUIRED, 22 * 60, None, "0.00", CreditKind.REQUIRED, "attention"),
        (CourseKind.REQUIRED, 45 * 60, Decimal("5"), "5.00", CreditKind.REQUIRED, "designated"),
    ],
)
async def test_amounts_follow_the_policy(
    ctx: Context,
    world: World,
    kind: CourseKind,
    seconds: int,
    designated: Decimal | None,
    amount: str,
    credit_kind: CreditKind,
    source: str,
) -> None:
    """Elective half rate, rounding, designated credits; the source says where it came from."""
    course = await make_course(ctx, world, kind=kind, seconds=seconds, designated=designated)
    entry = await post(ctx, world.learners["li"].id, course)
    assert entry.amount == Decimal(amount)
    assert entry.kind is credit_kind
    assert entry.source.value == source


async def test_revocation_reverses_and_cannot_repeat(ctx: Context, world: World) -> None:
    """A revocation is a negative entry citing the case; balances drop; twice is refused."""
    course = await make_course(ctx, world, kind=CourseKind.REQUIRED, seconds=90 * 60)
    learner = world.learners["wang"].id
    entry = await post(ctx, learner, course)
    async with ctx.db.begin() as s:
        rev = await ledger.revoke(s, entry_id=entry.id, reason="代学查实", case_id=7, actor_id=None)
    assert rev.amount == Decimal("-2.00")
    assert rev.reverses_id == entry.id
    async with ctx.db() as s:
        assert (await ledger.balances(s, learner, 2026))[CreditKind.REQUIRED] == Decimal("0.00")
        assert await s.scalar(select(func.count()).select_from(CreditEntry)) == 2
    for target in (entry.id, rev.id):
        with pytest.raises(Conflict):
            async with ctx.db.begin() as s:
                await ledger.revoke(s, entry_id=target, reason="again", case_id=7, actor_id=None)
