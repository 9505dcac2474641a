"""A learner's archive for a year: credits by kind against the quota, courses, every entry.

The numbers come from the ledger only (SQL sums through :func:`ledger.balances`); the archive
never keeps a copy of its own. Revoked entries stay listed next to the reversal that cancels
them, with its reason and case.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
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
    utcnow,
)
from proctor.credits import ledger
from proctor.credits.policy import QuotaStatus, credit_rules, quota_status
from proctor.credits.quota import NOT_IN_GROUP, quota_of, resolve_group
from proctor.kernel.authz import Actor
from proctor.kernel.calendar import ACADEMY_TZ, study_year
from proctor.kernel.context import Context
from proctor.learners.service import load_in_scope
from proctor.review.learner_cases import LearnerCase, cases_of, standing_bars

KIND_NAMES = {"required": "必修", "elective": "选修", "bonus": "奖励"}
SOURCE_NAMES = {
    "attention": "在线学习（已核验）",
    "designated": "特殊课程指定学分",
    "exam": "考试奖励",
    "legacy": "历史记录导入",
    "reversal": "冲销",
}
LEGACY_COURSE = "历史学分（原系统导入）"
CENT = Decimal("0.01")


def _cents(value: Decimal) -> Decimal:
    """Credits always with two decimals, as the ledger stores them ("0.00", not "0")."""
    return value.quantize(CENT)


def local_date(at: dt.datetime) -> dt.date:
    """The academy's calendar date of a moment (a 07:00 CST posting is not "yesterday")."""
    return at.astimezone(ACADEMY_TZ).date()


@dataclass(frozen=True)
class EntryView:
    """One ledger line as the archive shows it."""

    id: int
    date: dt.date
    posted_at: dt.datetime
    course_id: int | None
    course: str
    kind: str
    source: str
    amount: Decimal
    reason: str
    case_id: int | None
    reverses_id: int | None
    reversed_by: int | None
    evidence: dict[str, Any]

    @property
    def is_reversal(self) -> bool:
        """This line cancels another."""
        return self.source == CreditSource.REVERSAL.value

    @property
    def note(self) -> str:
        """The remark column of pages and exports."""
        if self.is_reversal:
            case = f"（案件 #{self.case_id}）" if self.case_id is not None else ""
            if self.amount > 0:
                return f"恢复学分（撤销冲销记录 #{self.reverses_id}）：{self.reason}{case}"
            return f"冲销记录 #{self.reverses_id}：{self.reason}{case}"
        if self.reversed_by is not None:
            return f"已被冲销（见记录 #{self.reversed_by}）"
        return ""

    def as_dict(self) -> dict[str, Any]:
        """JSON shape."""
        return asdict(self)


@dataclass(frozen=True)
class CompletionView:
    """A course the learner completed in the year, with the credits it posted."""

    course_id: int
    title: str
    category: str
    kind: str
    completed_at: dt.datetime
    date: dt.date
    credits: Decimal
    revoked: bool

    def as_dict(self) -> dict[str, Any]:
        """JSON shape."""
        return asdict(self)


@dataclass(frozen=True)
class Finding:
    """A standing conclusion on the learner's record (e.g. a review decision)."""

    kind: str
    text: str
    case_id: int | None
    date: dt.date

    def as_dict(self) -> dict[str, Any]:
        """JSON shape."""
        return asdict(self)


@dataclass(frozen=True)
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
    findings: list[Finding]
    cases: list[LearnerCase] = field(default_factory=list)

    @property
    def group_label(self) -> str:
        """The target group's name, or that the learner is not in this year's group."""
        return self.group or NOT_IN_GROUP

    @property
    def exams(self) -> list[EntryView]:
        """Exam bonuses of the year (the bonus ledger lines, revoked ones included)."""
        return [e for e in self.entries if e.kind == CreditKind.BONUS.value and not e.is_reversal]

    def as_dict(self) -> dict[str, Any]:
        """JSON shape (credits as exact decimal strings once rendered)."""
        st = self.status
        return {
            "learner_id": self.learner_id,
            "name": self.name,
            "unit": self.unit,
            "rank": self.rank,
            "year": self.year,
            "years": self.years,
            "target_group": self.group,
            "in_target_group": self.group is not None,
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
            "remaining": {
                "total": _cents(st.remaining_total),
                "required": _cents(st.remaining_required),
            },
            "courses_completed": [c.as_dict() for c in self.completions],
            "exams": [e.as_dict() for e in self.exams],
            "entries": [e.as_dict() for e in self.entries],
            "findings": [f.as_dict() for f in self.findings],
            "cases": [c.as_dict() for c in self.cases],
        }


async def standing_findings(session: AsyncSession, learner_id: int, year: int) -> list[Finding]:
    """Findings standing on the learner's record for the year: confirmed misconduct from
    review decisions (while it stands), and bars on an excellent rating (Art. 16)."""
    out = []
    for case in await cases_of(session, learner_id, year):
        if case.finding is None:
            continue
        pending = "；当事人已提出申诉，正在复核" if case.state == "appealed" else ""
        when = case.decided_at or utcnow()
        out.append(
            Finding(
                kind=case.finding,
                text=f"经人工审核认定“{case.finding_name}”：{case.decision_reason}{pending}",
                case_id=case.id,
                date=local_date(when),
            )
        )
    for bar in await standing_bars(session, learner_id, year):
        out.append(
            Finding(
                kind="excellence_bar",
                text=bar.reason,
                case_id=bar.case_id,
                date=local_date(bar.created_at),
            )
        )
    return out


async def _entries(session: AsyncSession, learner_id: int, year: int) -> list[EntryView]:
    rows = (
        await session.execute(
            select(CreditEntry, Course.title)
            .outerjoin(Course, Course.id == CreditEntry.course_id)
            .where(CreditEntry.learner_id == learner_id, CreditEntry.year == year)
            .order_by(CreditEntry.posted_at, CreditEntry.id)
        )
    ).all()
    reversed_by = {e.reverses_id: e.id for e, _ in rows if e.reverses_id is not None}
    return [
        EntryView(
            id=e.id,
            date=local_date(e.posted_at),
            posted_at=e.posted_at,
            course_id=e.course_id,
            course=title or (LEGACY_COURSE if e.course_id is None else ""),
            kind=e.kind.value,
            source=e.source.value,
            amount=e.amount,
            reason=e.reason,
            case_id=e.case_id,
            reverses_id=e.reverses_id,
            reversed_by=reversed_by.get(e.id),
            evidence=dict(e.evidence or {}),
        )
        for e, title in rows
    ]


async def _completions(
    session: AsyncSession, learner_id: int, year: int, entries: list[EntryView]
) -> list[CompletionView]:
    # The credits a completion earned are those of its course line (not a bonus, not the
    # reversal), found by the course key the ledger posts it under. A course credited by the
    # previous system's import is a legacy line under the same key, so it counts too.
    keys = {
        ledger.course_key(learner_id, e.course_id): e
        for e in entries
        if e.course_id is not None
        and e.kind != CreditKind.BONUS.value
        and e.source
        in (CreditSource.ATTENTION.value, CreditSource.DESIGNATED.value, CreditSource.LEGACY.value)
    }
    rows = (
        await session.execute(
            select(CourseCompletion, Course, CourseCategory.name)
            .join(Course, Course.id == CourseCompletion.course_id)
            .join(CourseCategory, CourseCategory.id == Course.category_id)
            .where(CourseCompletion.learner_id == learner_id, CourseCompletion.year == year)
            .order_by(CourseCompletion.completed_at, CourseCompletion.id)
        )
    ).all()
    reinstated = {e.reverses_id for e in entries if e.is_reversal and e.amount > 0}
    out = []
    for done, course, category in rows:
        line = keys.get(ledger.course_key(learner_id, course.id))
        out.append(
            CompletionView(
                course_id=course.id,
                title=course.title,
                category=category,
                kind=course.kind.value,
                completed_at=done.completed_at,
                date=local_date(done.completed_at),
                credits=line.amount if line else Decimal("0.00"),
                # Revoked while a reversal stands; an upheld appeal cancels the reversal.
                revoked=line is not None
                and line.reversed_by is not None
                and line.reversed_by not in reinstated,
            )
        )
    return out


async def _years(session: AsyncSession, learner_id: int, year: int) -> list[int]:
    """Years with anything on record, plus the one asked for and the current one."""
    posted = await session.scalars(
        select(CreditEntry.year).where(CreditEntry.learner_id == learner_id).distinct()
    )
    completed = await session.scalars(
        select(CourseCompletion.year).where(CourseCompletion.learner_id == learner_id).distinct()
    )
    return sorted({*posted, *completed, year, study_year(utcnow())}, reverse=True)


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
        credit_rules(ctx.settings),
    )
    entries = await _entries(session, learner.id, year)
    return Archive(
        learner_id=learner.id,
        name=learner.name,
        unit=unit.name,
        rank=learner.rank,
        year=year,
        years=await _years(session, learner.id, year),
        group=group.name if group else None,
        status=status,
        completions=await _completions(session, learner.id, year, entries),
        entries=entries,
        findings=await standing_findings(session, learner.id, year),
        cases=await cases_of(session, learner.id, year),
    )


async def learner_archive(ctx: Context, actor: Actor, learner_id: int, year: int) -> Archive:
    """A learner's archive: their own, or within the staff member's authority (else 404)."""
    async with ctx.db() as s:
        learner = await load_in_scope(s, actor, learner_id)
        return await build(s, ctx, learner, year)
