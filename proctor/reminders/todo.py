"""What waits for a staff member: the counts and links of their home page, and their
reminders (in-app notices) to read."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, or_, select, update

from models import (
    BatchStatus,
    CaseState,
    Course,
    Exam,
    MediaJob,
    MediaState,
    Reminder,
    ReviewCase,
    Role,
    RosterBatch,
    utcnow,
)
from proctor.kernel.authz import Actor
from proctor.kernel.calendar import ACADEMY_TZ
from proctor.kernel.context import Context
from proctor.kernel.errors import NotFound
from proctor.reminders.deadlines import opened_before
from proctor.reminders.due import review_days
from proctor.reports.progress import elapsed_months
from proctor.reports.service import node_report

BAND_NAMES = {"high": "高风险", "medium": "中风险", "low": "低风险"}
MANAGERS = frozenset({Role.ORG_ADMIN, Role.ACADEMY_ADMIN})
REVIEW_ROLES = frozenset({Role.REVIEWER, Role.ORG_ADMIN, Role.ACADEMY_ADMIN})
ROSTER_ROLES = frozenset({Role.LIAISON, Role.ORG_ADMIN, Role.ACADEMY_ADMIN})


@dataclass(frozen=True)
class Item:
    """One thing waiting: how many, what, and where to do it."""

    key: str
    count: int
    label: str
    link: str
    hint: str = ""

    def as_dict(self) -> dict[str, Any]:
        """JSON shape."""
        return dict(self.__dict__)


@dataclass(frozen=True)
class Todo:
    """A staff member's waiting work."""

    items: list[Item] = field(default_factory=list)
    unread: int = 0

    @property
    def waiting(self) -> int:
        """Everything waiting, all items together."""
        return sum(i.count for i in self.items)

    def as_dict(self) -> dict[str, Any]:
        """JSON shape."""
        return {"items": [i.as_dict() for i in self.items], "unread_reminders": self.unread}


async def todo(ctx: Context, actor: Actor, now: dt.datetime | None = None) -> Todo:
    """The counts and links of the actor's home page (learners have none)."""
    now = now or utcnow()
    items: list[Item] = []
    days = review_days(ctx)
    async with ctx.db() as s:
        if actor.role in ROSTER_ROLES:
            mine = await s.scalar(
                select(func.count()).where(
                    actor.in_scope(RosterBatch.org_path),
                    RosterBatch.uploaded_by == actor.account_id,
                    or_(
                        RosterBatch.status == BatchStatus.RETURNED,
                        (RosterBatch.status == BatchStatus.PENDING) & (RosterBatch.error_rows > 0),
                    ),
                )
            )
            items.append(
                Item(
                    "my_batches",
                    int(mine or 0),
                    "我上传的花名册待修改",
                    "/admin/rosters",
                    "退回或检查未通过的行，逐行修改后重新提交",
                )
            )
        if actor.role in MANAGERS:
            pending = await s.scalar(
                select(func.count()).where(
                    actor.in_scope(RosterBatch.org_path), RosterBatch.status == BatchStatus.PENDING
                )
            )
            items.append(
                Item("pending_batches", int(pending or 0), "待审批的花名册", "/admin/rosters")
            )
        if actor.role in REVIEW_ROLES:
            bands = dict(
                (
                    await s.execute(
                        select(ReviewCase.band, func.count())
                        .where(
                            actor.in_scope(ReviewCase.org_path),
                            ReviewCase.state.in_([CaseState.NEW, CaseState.IN_REVIEW]),
                        )
                        .group_by(ReviewCase.band)
                    )
                ).all()
            )
            for band, name in BAND_NAMES.items():
                items.append(
                    Item(
                        f"cases_{band}",
                        int(bands.get(band, 0)),
                        f"待处理的{name}案件",
                        f"/review?band={band}",
                    )
                )
            near = await s.scalar(
                select(func.count()).where(
                    actor.in_scope(ReviewCase.org_path),
                    ReviewCase.state.in_([CaseState.NEW, CaseState.IN_REVIEW]),
                    ReviewCase.opened_at <= opened_before(now, days.decide_days, days.lead_days),
                )
            )
            items.append(
                Item(
                    "cases_due",
                    int(near or 0),
                    f"{days.lead_days} 天内到期的案件",
                    "/review?sort=oldest",
                    f"立案后 {days.decide_days} 天内应作出决定",
                )
            )
            appeals = await s.scalar(
                select(func.count()).where(
                    actor.in_scope(ReviewCase.org_path),
                    ReviewCase.state == CaseState.APPEALED,
                    ReviewCase.appealed_at <= opened_before(now, days.answer_days, days.lead_days),
                )
            )
            open_appeals = await s.scalar(
                select(func.count()).where(
                    actor.in_scope(ReviewCase.org_path), ReviewCase.state == CaseState.APPEALED
                )
            )
            items.append(
                Item(
                    "appeals_due",
                    int(appeals or 0),
                    f"{days.lead_days} 天内到期的申诉",
                    "/review?state=appealed",
                    f"共 {int(open_appeals or 0)} 件申诉待答复；申诉提出后 {days.answer_days} 天内应答复",
                )
            )
        if actor.role in MANAGERS:
            exams = await s.scalar(
                select(func.count())
                .select_from(Exam)
                .join(Course, Course.id == Exam.course_id)
                .where(
                    actor.in_scope(Course.owner_path),
                    Exam.closes_at <= now,
                    Exam.analysed_at.is_(None),
                )
            )
            items.append(
                Item(
                    "exams",
                    int(exams or 0),
                    "已结束、待分析的考试",
                    "/admin/exams",
                    "考试结束后运行作答数据分析，发现雷同和代考",
                )
            )
            videos = await s.scalar(
                select(func.count())
                .select_from(MediaJob)
                .where(
                    MediaJob.created_by == actor.account_id,
                    MediaJob.state == MediaState.FAILED,
                    MediaJob.finished_at >= now - dt.timedelta(days=7),
                )
            )
            if videos:
                items.append(
                    Item("videos", int(videos), "近 7 天转码失败的课程视频", "/admin/courses")
                )
        unread = await s.scalar(
            select(func.count()).where(
                Reminder.account_id == actor.account_id, Reminder.read_at.is_(None)
            )
        )
    if actor.role in ROSTER_ROLES:
        items.insert(0, await _behind(ctx, actor, now))
    return Todo(items, int(unread or 0))


async def _behind(ctx: Context, actor: Actor, now: dt.datetime) -> Item:
    """Learners of the actor's subtree behind the schedule, by the reports' own figures."""
    today = now.astimezone(ACADEMY_TZ).date()
    report = await node_report(ctx, actor, None, today.year)
    behind = report.tally.behind[elapsed_months(today.year, today)]
    return Item(
        "behind",
        behind,
        "学习进度落后的学员",
        "/reports/behind",
        "可一键提醒这些学员（每人每月至多提醒一次）",
    )


@dataclass(frozen=True)
class ReminderView:
    """A reminder as its recipient reads it."""

    id: int
    kind: str
    title: str
    body: str
    link: str
    created_at: dt.datetime
    read: bool

    def as_dict(self) -> dict[str, Any]:
        """JSON shape."""
        return dict(self.__dict__)


async def my_reminders(ctx: Context, actor: Actor, limit: int = 20) -> list[ReminderView]:
    """The actor's reminders, unread first, newest first."""
    async with ctx.db() as s:
        rows = await s.scalars(
            select(Reminder)
            .where(Reminder.account_id == actor.account_id)
            .order_by(Reminder.read_at.is_not(None), Reminder.id.desc())
            .limit(limit)
        )
        return [
            ReminderView(r.id, r.kind, r.title, r.body, r.link, r.created_at, r.read_at is not None)
            for r in rows
        ]


async def mark_read(ctx: Context, actor: Actor, reminder_id: int) -> None:
    """The recipient has read a reminder (someone else's is 404)."""
    async with ctx.db.begin() as s:
        found = await s.scalar(
            select(Reminder.id).where(
                Reminder.id == reminder_id, Reminder.account_id == actor.account_id
            )
        )
        if found is None:
            raise NotFound("提醒不存在")
        await s.execute(
            update(Reminder)
            .where(Reminder.id == reminder_id, Reminder.read_at.is_(None))
            .values(read_at=utcnow())
        )
