"""A learner's archive for a year: credits by kind against the quota, courses, every entry."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models import (
    Course,
    CourseCategory,
    CourseCompletion,
    CreditEntry,
    CreditKind,
    CreditSource,
    Learner,
    OrgUnit,
)
from proctor.authz import Actor
from proctor.context import Context
from proctor.credits import ledger
from proctor.credits.policy import QuotaStatus, quota_status
from proctor.credits.quota import quota_of, resolve_group
from proctor.learners.service import load_in_scope

KIND_NAMES = {"required": "必修", "elective": "选修", "bonus": "奖励"}
SOURCE_NAMES = {
    "attention": "在线学习（已核验）",
    "designated": "特殊课程指定学分",
    "exam": "考试奖励",
    "legacy": "历史记录导入",
    "reversal": "冲销",
}


@dataclass(frozen=True)
class EntryView:
    """One ledger line as the archive shows it."""

    id: int
    posted_at: dt.datetime
    course: str
    kind: str
    source: str
    amount: Decimal
    reason: str
    case_id: int | None
    reversed_by: int | None

    def as_dict(self) -> dict[str, Any]:
        """JSON shape."""
        return dict(self.__dict__)


@dataclass(frozen=True)
class CompletionView:
    """A course the learner completed in the year."""

    course_id: int
    title: str
    category: str
    kind: str
    completed_at: dt.datetime
    credits: Decimal

    def as_dict(self) -> dict[str, Any]:
        """JSON shape."""
        return dict(self.__dict__)


@dataclass
class Archive:
    """Everything the archive page, the API and the exports show."""

    learner_id: int
    name: str
    unit: str
    rank: str
    year: int
    years: list[int]
    group: str | None
    status: QuotaStatus
    completions: list[CompletionView]
    entries: list[EntryView]
    findings: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON shape (credits as exact decimal strings)."""
        st = self.status
        return {
            "learner_id": self.learner_id,
            "name": self.name,
            "unit": self.unit,
            "rank": self.rank,
            "year": self.year,
            "years": self.years,
            "target_group": self.group,
            "credits": {
                "required": st.required,
                "elective": st.elective,
                "bonus": st.bonus,
                "total": st.total,
            },
            "quota": None
            if st.quota is None
            else {"total": st.quota.total, "required": st.quota.required},
            "quota_met": st.met,
            "total_met": st.total_met,
            "required_met": st.required_met,
            "remaining": {"total": st.remaining_total, "required": st.remaining_required},
            "courses_completed": [c.as_dict() for c in self.completions],
            "exams": [e.as_dict() for e in self.entries if e.source == "exam"],
            "entries": [e.as_dict() for e in self.entries],
            "findings": self.findings,
        }


async def standing_findings(
    session: AsyncSession, learner_id: int, year: int
) -> list[dict[str, Any]]:
    """Findings on the learner's record for the year (the review workflow adds them)."""
    return []


async def build(session: AsyncSession, ctx: Context, learner: Learner, year: int) -> Archive:
    """The archive of a loaded learner (scope already checked)."""
    unit = await session.get_one(OrgUnit, learner.unit_id)
    balances = await ledger.balances(session, learner.id, year)
    group = await resolve_group(session, learner, year)
    status = quota_status(
        balances[CreditKind.REQUIRED],
        balances[CreditKind.ELECTIVE],
        balances[CreditKind.BONUS],
        quota_of(group),
        ctx.settings.credit_rules,
    )
    rows = (
        await session.execute(
            select(CreditEntry, Course.title)
            .outerjoin(Course, Course.id == CreditEntry.course_id)
            .where(CreditEntry.learner_id == learner.id, CreditEntry.year == year)
            .order_by(CreditEntry.posted_at, CreditEntry.id)
        )
    ).all()
    reversed_by = {e.reverses_id: e.id for e, _ in rows if e.reverses_id is not None}
    entries = [
        EntryView(
            id=e.id,
            posted_at=e.posted_at,
            course=title
            or ("历史学分" if e.source in (CreditSource.LEGACY, CreditSource.REVERSAL) else ""),
            kind=e.kind.value,
            source=e.source.value,
            amount=e.amount,
            reason=e.reason,
            case_id=e.case_id,
            reversed_by=reversed_by.get(e.id),
        )
        for e, title in rows
    ]
    credited = {
        e.course_id: e.amount
        for e, _ in rows
        if e.course_id is not None and e.source is not CreditSource.EXAM
    }
    completions = [
        CompletionView(
            c.course_id,
            course.title,
            category,
            course.kind.value,
            c.completed_at,
            credited.get(c.course_id, Decimal("0")),
        )
        for c, course, category in (
            await session.execute(
                select(CourseCompletion, Course, CourseCategory.name)
                .join(Course, Course.id == CourseCompletion.course_id)
                .join(CourseCategory, CourseCategory.id == Course.category_id)
                .where(CourseCompletion.learner_id == learner.id, CourseCompletion.year == year)
                .order_by(CourseCompletion.completed_at)
            )
        ).all()
    ]
    years = sorted(
        set(
            (
                await session.scalars(
                    select(CreditEntry.year).where(CreditEntry.learner_id == learner.id).distinct()
                )
            ).all()
        )
        | {year},
        reverse=True,
    )
    return Archive(
        learner_id=learner.id,
        name=learner.name,
        unit=unit.name,
        rank=learner.rank,
        year=year,
        years=years,
        group=group.name if group else None,
        status=status,
        completions=completions,
        entries=entries,
        findings=await standing_findings(session, learner.id, year),
    )


async def learner_archive(ctx: Context, actor: Actor, learner_id: int, year: int) -> Archive:
    """A learner's archive: their own, or within the staff member's authority (else 404)."""
    async with ctx.db() as s:
        learner = await load_in_scope(s, actor, learner_id)
        return await build(s, ctx, learner, year)
