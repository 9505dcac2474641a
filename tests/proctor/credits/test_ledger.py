"""The ledger posts once under retries and races, and revokes only by reversing entries."""

from __future__ import annotations

import asyncio
import itertools
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from models import (
    Course,
    CourseCompletion,
    CourseKind,
    CreditEntry,
    CreditKind,
    CreditSource,
    utcnow,
)
from proctor.credits import ledger
from proctor.kernel.context import Context
from proctor.kernel.errors import Conflict, InvalidInput, NotFound
from tests.factories import World

_codes = itertools.count(1)


async def make_course(
    ctx: Context, world: World, *, kind: CourseKind, seconds: int, designated: Decimal | None = None
) -> Course:
    province = world.org("湖南省")
    async with ctx.db.begin() as s:
        course = Course(
            code=f"LEDGER{next(_codes)}",
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


async def post(ctx: Context, learner_id: int, course: Course, year: int = 2026) -> CreditEntry:
    async with ctx.db.begin() as s:
        return await ledger.post_course_completion(
            s,
            learner_id=learner_id,
            course=course,
            year=year,
            completed_at=utcnow(),
            evidence={"sessions": ["s-1", "s-2"]},
        )


async def count(ctx: Context, model: type[CreditEntry] | type[CourseCompletion]) -> int:
    async with ctx.db() as s:
        return await s.scalar(select(func.count()).select_from(model)) or 0


async def test_completion_posts_once_under_race_and_retry(ctx: Context, world: World) -> None:
    """Two concurrent posting transactions and a later retry leave one entry and one completion."""
    course = await make_course(ctx, world, kind=CourseKind.REQUIRED, seconds=int(67.5 * 60))
    learner = world.learners["zhang"].id
    first, second = await asyncio.gather(post(ctx, learner, course), post(ctx, learner, course))
    again = await post(ctx, learner, course)
    assert first.id == second.id == again.id
    assert again.amount == Decimal("2.00")  # 1.5 class hours round half up to 2
    assert again.idempotency_key == f"course:{learner}:{course.id}"
    assert again.evidence == {"sessions": ["s-1", "s-2"]}
    assert await count(ctx, CreditEntry) == 1
    assert await count(ctx, CourseCompletion) == 1
    async with ctx.db() as s:
        assert (await ledger.balances(s, learner, 2026))[CreditKind.REQUIRED] == Decimal("2.00")


async def test_many_concurrent_posters_still_post_once(ctx: Context, world: World) -> None:
    """Five racing completions of the same course by the same learner credit it once."""
    course = await make_course(ctx, world, kind=CourseKind.ELECTIVE, seconds=90 * 60)
    learner = world.learners["li"].id
    entries = await asyncio.gather(*(post(ctx, learner, course) for _ in range(5)))
    assert len({e.id for e in entries}) == 1
    assert await count(ctx, CreditEntry) == 1
    async with ctx.db() as s:
        assert (await ledger.balances(s, learner, 2026))[CreditKind.ELECTIVE] == Decimal("1.00")


@pytest.mark.parametrize(
    ("kind", "seconds", "designated", "amount", "credit_kind", "source"),
    [
        (CourseKind.REQUIRED, 90 * 60, None, "2.00", CreditKind.REQUIRED, CreditSource.ATTENTION),
        (CourseKind.ELECTIVE, 90 * 60, None, "1.00", CreditKind.ELECTIVE, CreditSource.ATTENTION),
        (CourseKind.ELECTIVE, 23 * 60, None, "0.50", CreditKind.ELECTIVE, CreditSource.ATTENTION),
        (CourseKind.REQUIRED, 45 * 60, Decimal("5"), "5.00", CreditKind.REQUIRED, "designated"),
        (CourseKind.ELECTIVE, 45 * 60, Decimal("3.5"), "3.50", CreditKind.ELECTIVE, "designated"),
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
    """Required full rate, elective half, designated credits override; the source says which."""
    course = await make_course(ctx, world, kind=kind, seconds=seconds, designated=designated)
    entry = await post(ctx, world.learners["li"].id, course)
    assert entry.amount == Decimal(amount)
    assert entry.kind is credit_kind
    assert entry.source.value == source


async def test_zero_credit_course_is_still_recorded(ctx: Context, world: World) -> None:
    """22 minutes earn 0 class hours: the completion is on record with a 0.00 entry."""
    course = await make_course(ctx, world, kind=CourseKind.REQUIRED, seconds=22 * 60)
    learner = world.learners["li"].id
    entry = await post(ctx, learner, course)
    assert entry.amount == Decimal("0.00")
    assert await count(ctx, CourseCompletion) == 1
    async with ctx.db() as s:
        assert (await ledger.balances(s, learner, 2026))[CreditKind.REQUIRED] == Decimal("0.00")


async def test_exam_bonus_once_per_course_and_year(ctx: Context, world: World) -> None:
    """A retried exam bonus posts once; the next year's exam of the same course is separate."""
    course = await make_course(ctx, world, kind=CourseKind.REQUIRED, seconds=45 * 60)
    learner = world.learners["zhang"].id
    for year in (2026, 2026, 2027):
        async with ctx.db.begin() as s:
            entry = await ledger.post_exam_bonus(
                s,
                learner_id=learner,
                course_id=course.id,
                year=year,
                amount=Decimal("1.5"),
                evidence={"exam_attempt": 9},
            )
        assert entry.kind is CreditKind.BONUS
        assert entry.source is CreditSource.EXAM
    assert await count(ctx, CreditEntry) == 2
    async with ctx.db() as s:
        assert (await ledger.balances(s, learner, 2026))[CreditKind.BONUS] == Decimal("1.50")
        assert (await ledger.balances(s, learner, 2027))[CreditKind.BONUS] == Decimal("1.50")


async def test_legacy_import_is_idempotent_by_record(ctx: Context, world: World) -> None:
    """Re-running an import posts each old record once and keeps its id as evidence."""
    learner = world.learners["wang"].id
    for _ in range(2):
        async with ctx.db.begin() as s:
            entry = await ledger.post_legacy(
                s,
                learner_id=learner,
                course_id=None,
                year=2025,
                kind=CreditKind.ELECTIVE,
                amount=Decimal("12.5"),
                record_id="OLD-778",
            )
    assert entry.source is CreditSource.LEGACY
    assert entry.evidence == {"legacy_record": "OLD-778"}
    assert await count(ctx, CreditEntry) == 1


async def test_balances_by_kind_for_one_learner_and_year(ctx: Context, world: World) -> None:
    """Each kind sums separately; other years and other learners do not leak in."""
    zhang, li = world.learners["zhang"].id, world.learners["li"].id
    rows = [
        (zhang, 2026, CreditKind.REQUIRED, "10.5"),
        (zhang, 2026, CreditKind.REQUIRED, "2"),
        (zhang, 2026, CreditKind.ELECTIVE, "3.5"),
        (zhang, 2025, CreditKind.ELECTIVE, "30"),
        (li, 2026, CreditKind.REQUIRED, "40"),
    ]
    async with ctx.db.begin() as s:
        for i, (learner, year, kind, amount) in enumerate(rows):
            await ledger.post_legacy(
                s,
                learner_id=learner,
                course_id=None,
                year=year,
                kind=kind,
                amount=Decimal(amount),
                record_id=f"B{i}",
            )
    async with ctx.db() as s:
        assert await ledger.balances(s, zhang, 2026) == {
            CreditKind.REQUIRED: Decimal("12.50"),
            CreditKind.ELECTIVE: Decimal("3.50"),
            CreditKind.BONUS: Decimal("0.00"),
        }


async def test_revocation_reverses_and_cannot_repeat(ctx: Context, world: World) -> None:
    """A revocation is a negative entry citing reason and case; twice, or of a reversal, is refused."""
    course = await make_course(ctx, world, kind=CourseKind.REQUIRED, seconds=90 * 60)
    learner = world.learners["wang"].id
    entry = await post(ctx, learner, course)
    async with ctx.db.begin() as s:
        rev = await ledger.revoke(
            s,
            entry_id=entry.id,
            reason="代学查实",
            case_id=7,
            actor_id=world.accounts["academy"].id,
        )
    assert (rev.amount, rev.reverses_id, rev.source) == (
        Decimal("-2.00"),
        entry.id,
        CreditSource.REVERSAL,
    )
    assert (rev.learner_id, rev.year, rev.course_id, rev.kind) == (
        learner,
        2026,
        course.id,
        CreditKind.REQUIRED,
    )
    assert (rev.reason, rev.case_id, rev.posted_by) == ("代学查实", 7, world.accounts["academy"].id)
    for target in (entry.id, rev.id):
        with pytest.raises(Conflict):
            async with ctx.db.begin() as s:
                await ledger.revoke(s, entry_id=target, reason="again", case_id=7, actor_id=None)
    async with ctx.db() as s:
        assert (await ledger.balances(s, learner, 2026))[CreditKind.REQUIRED] == Decimal("0.00")
        original = await s.get_one(CreditEntry, entry.id)
        assert original.amount == Decimal("2.00")  # never updated in place
    assert await count(ctx, CreditEntry) == 2
    # Completing the course again does not re-earn the revoked credit.
    assert (await post(ctx, learner, course)).id == entry.id
    assert await count(ctx, CreditEntry) == 2


async def test_concurrent_revocations_reverse_once(ctx: Context, world: World) -> None:
    """Two reviewers revoking the same entry at once: one reversal, the other told it is done."""
    course = await make_course(ctx, world, kind=CourseKind.ELECTIVE, seconds=90 * 60)
    entry = await post(ctx, world.learners["zhang"].id, course)

    async def revoke() -> CreditEntry:
        async with ctx.db.begin() as s:
            return await ledger.revoke(
                s, entry_id=entry.id, reason="代刷", case_id=1, actor_id=None
            )

    results = await asyncio.gather(revoke(), revoke(), return_exceptions=True)
    assert sorted(type(r).__name__ for r in results) == ["Conflict", "CreditEntry"]
    assert await count(ctx, CreditEntry) == 2


async def test_revocation_racing_an_uncommitted_one_is_refused(ctx: Context, world: World) -> None:
    """A revocation that passes its checks while another is still uncommitted loses at insert."""
    course = await make_course(ctx, world, kind=CourseKind.ELECTIVE, seconds=90 * 60)
    entry = await post(ctx, world.learners["zhang"].id, course)

    async def late() -> CreditEntry:
        async with ctx.db.begin() as s:
            return await ledger.revoke(
                s, entry_id=entry.id, reason="重复", case_id=2, actor_id=None
            )

    async with ctx.db.begin() as s:
        await ledger.revoke(s, entry_id=entry.id, reason="代刷", case_id=1, actor_id=None)
        second = asyncio.create_task(late())
        await asyncio.sleep(0.3)  # the second sees no reversal yet and waits on its insert
    with pytest.raises(Conflict):
        await second
    assert await count(ctx, CreditEntry) == 2


async def test_revocation_needs_a_reason_and_an_entry(ctx: Context, world: World) -> None:
    """A blank reason or an unknown entry is refused and posts nothing."""
    course = await make_course(ctx, world, kind=CourseKind.REQUIRED, seconds=45 * 60)
    entry = await post(ctx, world.learners["zhang"].id, course)
    with pytest.raises(InvalidInput) as bad:
        async with ctx.db.begin() as s:
            await ledger.revoke(s, entry_id=entry.id, reason="  ", case_id=None, actor_id=None)
    assert bad.value.field == "reason"
    with pytest.raises(NotFound):
        async with ctx.db.begin() as s:
            await ledger.revoke(s, entry_id=entry.id + 999, reason="x", case_id=None, actor_id=None)
    assert await count(ctx, CreditEntry) == 1
