"""Report fixtures: two target groups, a ledger spread over the world, cases and a bar."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import update

from models import (
    CaseState,
    CourseKind,
    CreditEntry,
    CreditKind,
    ExcellenceBar,
    Finding,
    Learner,
    ReviewCase,
    TargetGroup,
    utcnow,
)
from proctor.credits import ledger, quota
from proctor.credits.policy import credit_rules, quota_status
from proctor.kernel.context import Context
from tests.factories import World, add_learner
from tests.proctor.archive.helpers import add_course, legacy, revoke

YEAR = 2025


@dataclass
class Seeded:
    """Ids the tests refer to."""

    cases: dict[str, int]


async def add_groups(ctx: Context, world: World, year: int = YEAR) -> None:
    """Province-wide: 县处级副职 40/24; 芙蓉区 everyone 30/10 (deeper, so it wins there)."""
    hn, fr = world.org("湖南省"), world.org("芙蓉区")
    async with ctx.db.begin() as s:
        s.add(
            TargetGroup(
                year=year,
                name="县处级",
                org_id=hn.id,
                org_path=hn.path,
                ranks=["县处级副职"],
                total_credits=Decimal(40),
                required_credits=Decimal(24),
            )
        )
        s.add(
            TargetGroup(
                year=year,
                name="芙蓉区全体",
                org_id=fr.id,
                org_path=fr.path,
                ranks=[],
                total_credits=Decimal(30),
                required_credits=Decimal(10),
            )
        )


async def _case(
    ctx: Context, world: World, who: str, state: CaseState, finding: Finding | None, year: int
) -> int:
    learner = world.learners[who]
    async with ctx.db.begin() as s:
        case = ReviewCase(
            learner_id=learner.id,
            org_path=learner.org_path,
            year=year,
            period_start=dt.date(year, 3, 1),
            period_end=dt.date(year, 3, 7),
            category="behaviour",
            kind="proxy",
            risk=0.9,
            band="high",
            priority=1,
            state=state,
            finding=finding,
            updated_at=utcnow(),
        )
        s.add(case)
        await s.flush()
        return case.id


async def backdate(ctx: Context, entry_id: int, at: dt.datetime) -> None:
    """Move an entry's posting time (history imported earlier in the year)."""
    async with ctx.db.begin() as s:
        await s.execute(update(CreditEntry).where(CreditEntry.id == entry_id).values(posted_at=at))


async def seed_year(ctx: Context, world: World, year: int = YEAR) -> Seeded:
    """Credits, a revocation, cases and a bar across three counties.

    zhang (芙蓉区财政局, 县处级副职 -> 芙蓉区全体 30/10): 12 required + 20 elective, met;
      one elective revoked for fraud (confirmed finding).
    li (芙蓉区教育局, 科员 -> 芙蓉区全体): 5 required, behind.
    wang (天心区财政局, 县处级副职 -> 县处级 40/24): 24 required + 16 elective + 2 bonus, met.
    zhou (天心区财政局, 科员 -> no group): 3 elective.
    zhao (荷塘区财政局, 县处级副职): nothing, an open case.
    """
    await add_groups(ctx, world, year)
    await add_learner(ctx, world, "zhou", "天心区财政局", name="周敏", seq=51, rank="科员")
    L = {k: v.id for k, v in world.learners.items()}
    # The world's learners were on the roll throughout the seeded year (a report counts
    # only learners who had joined by the end of its year, or have credits in it).
    async with ctx.db.begin() as s:
        await s.execute(
            update(Learner)
            .where(Learner.id.in_(L.values()))
            .values(created_at=dt.datetime(year, 1, 1, tzinfo=dt.UTC))
        )
    jan = dt.datetime(year, 1, 20, 4, tzinfo=dt.UTC)
    may = dt.datetime(year, 5, 10, 4, tzinfo=dt.UTC)
    sep = dt.datetime(year, 9, 10, 4, tzinfo=dt.UTC)
    plan = [
        ("zhang", CreditKind.REQUIRED, "12", jan),
        ("zhang", CreditKind.ELECTIVE, "20", may),
        ("li", CreditKind.REQUIRED, "5", may),
        ("wang", CreditKind.REQUIRED, "24", jan),
        ("wang", CreditKind.ELECTIVE, "16", sep),
        ("wang", CreditKind.BONUS, "2", sep),
        ("zhou", CreditKind.ELECTIVE, "3", may),
    ]
    for i, (who, kind, amount, at) in enumerate(plan):
        entry = await legacy(ctx, L[who], kind, amount, f"{year}-{i}", year=year)
        await backdate(ctx, entry, at)
    course = await add_course(
        ctx,
        world,
        f"E{year}",
        "数字经济",
        kind=CourseKind.ELECTIVE,
        seconds=2 * 2700,
        category_id=3,
    )
    async with ctx.db.begin() as s:
        e = await ledger.post_course_completion(
            s,
            learner_id=L["zhang"],
            course=course,
            year=year,
            completed_at=sep,
            evidence={},
        )
        fraud_entry = e.id
    await backdate(ctx, fraud_entry, sep)
    cases = {
        "fraud": await _case(
            ctx, world, "zhang", CaseState.CONFIRMED_FRAUD, Finding.CREDIT_FRAUD, year
        ),
        "open": await _case(ctx, world, "zhao", CaseState.NEW, None, year),
        "dismissed": await _case(ctx, world, "wang", CaseState.NO_MISCONDUCT, None, year),
    }
    await revoke(ctx, fraud_entry, "刷课查实", cases["fraud"])
    async with ctx.db.begin() as s:
        s.add(
            ExcellenceBar(learner_id=L["li"], year=year, case_id=cases["dismissed"], reason="测试")
        )
    return Seeded(cases=cases)


async def ledger_truth(
    ctx: Context, world: World, year: int = YEAR
) -> dict[str, dict[str, object]]:
    """Each learner's year straight from ledger.balances and quota resolution."""
    out: dict[str, dict[str, object]] = {}
    async with ctx.db() as s:
        for key, learner in world.learners.items():
            b = await ledger.balances(s, learner.id, year)
            group = await quota.resolve_group(s, learner, year)
            st = quota_status(
                b[CreditKind.REQUIRED],
                b[CreditKind.ELECTIVE],
                b[CreditKind.BONUS],
                quota.quota_of(group),
                credit_rules(ctx.settings),
            )
            out[key] = {
                "group": group.name if group else None,
                "status": st,
                "path": learner.org_path,
            }
    return out
