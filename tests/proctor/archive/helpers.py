"""Archive fixtures: a target group, courses made with the models, ledger postings."""

from __future__ import annotations

from decimal import Decimal

from models import Course, CourseKind, CreditKind, Enrolment, EnrolmentSource, TargetGroup, utcnow
from proctor.credits import ledger
from proctor.kernel.calendar import study_year
from proctor.kernel.context import Context
from tests.factories import World

# The credit year the pages default to; seeding it keeps the tests independent of the date.
YEAR = study_year(utcnow())


async def add_group(
    ctx: Context,
    world: World,
    *,
    org: str = "湖南省",
    ranks: tuple[str, ...] = ("县处级副职",),
    total: int = 40,
    required: int = 24,
    year: int = YEAR,
) -> None:
    """The pilot target group (Art. 12: 40 credits, at least 24 required) by default."""
    node = world.org(org)
    async with ctx.db.begin() as s:
        s.add(
            TargetGroup(
                year=year,
                name="县处级试点",
                org_id=node.id,
                org_path=node.path,
                ranks=list(ranks),
                total_credits=Decimal(total),
                required_credits=Decimal(required),
            )
        )


async def add_course(
    ctx: Context,
    world: World,
    code: str,
    title: str,
    *,
    kind: CourseKind = CourseKind.REQUIRED,
    seconds: int = 2700,
    category_id: int = 1,
) -> Course:
    """A published provincial course."""
    province = world.org("湖南省")
    async with ctx.db.begin() as s:
        course = Course(
            code=code,
            title=title,
            category_id=category_id,
            kind=kind,
            lecture_seconds=seconds,
            owner_org_id=province.id,
            owner_path=province.path,
        )
        s.add(course)
    return course


async def complete(ctx: Context, learner_id: int, course: Course, *, enrol: bool = True) -> int:
    """Enrol (optionally) and complete a course; the id of its credit entry."""
    async with ctx.db.begin() as s:
        if enrol:
            s.add(
                Enrolment(learner_id=learner_id, course_id=course.id, source=EnrolmentSource.SELF)
            )
        entry = await ledger.post_course_completion(
            s,
            learner_id=learner_id,
            course=course,
            year=YEAR,
            completed_at=utcnow(),
            evidence={"sessions": ["s1"]},
        )
        return entry.id


async def legacy(
    ctx: Context, learner_id: int, kind: CreditKind, amount: str, record: str, year: int = YEAR
) -> int:
    """An imported entry; its id."""
    async with ctx.db.begin() as s:
        entry = await ledger.post_legacy(
            s,
            learner_id=learner_id,
            course_id=None,
            year=year,
            kind=kind,
            amount=Decimal(amount),
            record_id=record,
        )
        return entry.id


async def revoke(ctx: Context, entry_id: int, reason: str, case_id: int) -> int:
    """Revoke an entry; the reversal's id."""
    async with ctx.db.begin() as s:
        rev = await ledger.revoke(
            s, entry_id=entry_id, reason=reason, case_id=case_id, actor_id=None
        )
        return rev.id


async def seed_boundary(ctx: Context, world: World) -> dict[str, int]:
    """zhang (芙蓉区): 23 required + 17 elective = 40 under a 40/24 quota; one course revoked.

    required: 党章学习 (2 class hours) + 21 imported; elective: 17 imported, plus 数字经济
    (1.00) that is revoked for proxy study, so it nets to 0.
    """
    zhang = world.learners["zhang"].id
    await add_group(ctx, world)
    party = await add_course(ctx, world, "A1", "党章学习", seconds=2 * 2700, category_id=7)
    digital = await add_course(
        ctx, world, "B1", "数字经济", kind=CourseKind.ELECTIVE, seconds=90 * 60, category_id=3
    )
    pending = await add_course(ctx, world, "C1", "法治政府建设", seconds=2700)
    ids = {
        "party": await complete(ctx, zhang, party),
        "digital": await complete(ctx, zhang, digital),
    }
    await legacy(ctx, zhang, CreditKind.REQUIRED, "21", "R-1")
    await legacy(ctx, zhang, CreditKind.ELECTIVE, "17", "E-1")
    ids["reversal"] = await revoke(ctx, ids["digital"], "代刷查实", 12)
    async with ctx.db.begin() as s:
        s.add(Enrolment(learner_id=zhang, course_id=pending.id, source=EnrolmentSource.SELF))
    return ids
