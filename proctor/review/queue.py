"""The review queue: which cases a reviewer sees within their authority, filtered and sorted, and the next one to take."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from models import (
    Account,
    CaseState,
    Learner,
    OrgUnit,
    ReviewCase,
    Role,
    utcnow,
)
from proctor.kernel.authz import Actor
from proctor.kernel.context import Context
from proctor.kernel.errors import InvalidInput, NotFound
from proctor.kernel.paging import Count, bounded_count
from proctor.review.states import (
    OPEN,
    STATE_NAMES,
)

VIEW_ROLES = frozenset({Role.REVIEWER, Role.ORG_ADMIN, Role.ACADEMY_ADMIN})


BANDS = ("high", "medium", "low")


KINDS = ("proxy", "fraud", "exam", "bot", "anomaly", "technical")


KIND_NAMES = {
    "proxy": "疑似代学",
    "fraud": "疑似刷课/骗取学分",
    "exam": "考试异常",
    "bot": "疑似挂机/脚本",
    "anomaly": "行为异常",
    "technical": "技术/数据质量",
}


SORTS = ("priority", "oldest", "newest", "risk")


@dataclass(frozen=True)
class QueueFilter:
    """What the queue shows. Empty strings mean "any"."""

    org_id: int | None = None
    band: str = ""
    kind: str = ""
    category: str = ""
    state: str = "open"  # "open", "all", or a CaseState value
    min_age_days: int | None = None
    max_age_days: int | None = None
    sort: str = "priority"
    limit: int = 100
    offset: int = 0

    def __post_init__(self) -> None:
        if self.band and self.band not in BANDS:
            raise InvalidInput("风险等级只能是 high、medium 或 low", field="band")
        if self.kind and self.kind not in KINDS:
            raise InvalidInput(f"类型只能是 {'、'.join(KINDS)} 之一", field="kind")
        if self.category and self.category not in ("behaviour", "technical"):
            raise InvalidInput("类别只能是 behaviour 或 technical", field="category")
        if self.state not in ("open", "all") and self.state not in set(CaseState):
            raise InvalidInput("状态取值无效", field="state")
        if self.sort not in SORTS:
            raise InvalidInput(f"排序只能是 {'、'.join(SORTS)} 之一", field="sort")
        if not 1 <= self.limit <= 500:
            raise InvalidInput("每页条数应在 1 到 500 之间", field="limit")
        for name in ("min_age_days", "max_age_days"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise InvalidInput("天数不能为负数", field=name)


@dataclass(frozen=True)
class CaseRow:
    """A case as the queue lists it."""

    id: int
    learner_id: int
    learner_name: str
    unit: str
    period_start: dt.date
    period_end: dt.date
    state: str
    state_name: str
    category: str
    kind: str
    kind_name: str
    band: str
    risk: float
    priority: int
    age_days: int
    assignee: str | None
    version: int

    def as_dict(self) -> dict[str, Any]:
        """JSON shape."""
        return asdict(self)


def _age_days(opened: dt.datetime, now: dt.datetime) -> int:
    return max(0, (now - opened).days)


def _base_query(actor: Actor) -> Select[ReviewCase, str, str, str]:
    return (
        select(ReviewCase, Learner.name, OrgUnit.name, Account.display_name)
        .join(Learner, Learner.id == ReviewCase.learner_id)
        .join(OrgUnit, OrgUnit.id == Learner.unit_id)
        .outerjoin(Account, Account.id == ReviewCase.assignee_id)
        .where(actor.in_scope(ReviewCase.org_path))
    )


def _row(case: ReviewCase, name: str, unit: str, assignee: str | None, now: dt.datetime) -> CaseRow:
    return CaseRow(
        id=case.id,
        learner_id=case.learner_id,
        learner_name=name,
        unit=unit,
        period_start=case.period_start,
        period_end=case.period_end,
        state=case.state.value,
        state_name=STATE_NAMES[case.state],
        category=case.category,
        kind=case.kind,
        kind_name=KIND_NAMES.get(case.kind, case.kind),
        band=case.band,
        risk=round(case.risk, 4),
        priority=case.priority,
        age_days=_age_days(case.opened_at, now),
        assignee=assignee,
        version=case.version,
    )


async def queue(ctx: Context, actor: Actor, f: QueueFilter) -> tuple[list[CaseRow], Count]:
    """Cases of learners in the actor's authority, filtered and sorted; and how many match
    (counted up to a cap: at province volumes nobody pages to the end)."""
    actor.require(VIEW_ROLES, "查看审核案件")
    now = utcnow()
    stmt = _base_query(actor)
    async with ctx.db() as s:
        if f.org_id is not None:
            org = await s.get(OrgUnit, f.org_id)
            if org is None or not actor.covers(org.path):
                raise NotFound("机构不存在或不在您的管理范围内")
            stmt = stmt.where(ReviewCase.org_path.startswith(org.path))
        if f.band:
            stmt = stmt.where(ReviewCase.band == f.band)
        if f.kind:
            stmt = stmt.where(ReviewCase.kind == f.kind)
        if f.category:
            stmt = stmt.where(ReviewCase.category == f.category)
        if f.state == "open":
            stmt = stmt.where(ReviewCase.state.in_(OPEN))
        elif f.state != "all":
            stmt = stmt.where(ReviewCase.state == CaseState(f.state))
        if f.min_age_days is not None:
            stmt = stmt.where(ReviewCase.opened_at <= now - dt.timedelta(days=f.min_age_days))
        if f.max_age_days is not None:
            stmt = stmt.where(ReviewCase.opened_at > now - dt.timedelta(days=f.max_age_days + 1))
        total = await bounded_count(s, stmt)
        order = {
            "priority": (ReviewCase.priority.desc(), ReviewCase.opened_at, ReviewCase.id),
            "oldest": (ReviewCase.opened_at, ReviewCase.id),
            "newest": (ReviewCase.opened_at.desc(), ReviewCase.id.desc()),
            "risk": (ReviewCase.risk.desc(), ReviewCase.id),
        }[f.sort]
        rows = (await s.execute(stmt.order_by(*order).limit(f.limit).offset(f.offset))).all()
    return [_row(c, n, u, a, now) for c, n, u, a in rows], total


async def case_in_scope(s: AsyncSession, actor: Actor, case_id: int) -> ReviewCase:
    case = await s.get(ReviewCase, case_id)
    if case is None or not actor.covers(case.org_path):
        raise NotFound("案件不存在或不在您的管理范围内")
    return case


async def next_case(ctx: Context, actor: Actor, after: int | None = None) -> int | None:
    """The most urgent open case awaiting a decision (for keyboard triage), skipping ``after``."""
    actor.require(VIEW_ROLES, "查看审核案件")
    async with ctx.db() as s:
        stmt = (
            select(ReviewCase.id)
            .where(
                actor.in_scope(ReviewCase.org_path),
                ReviewCase.state.in_([CaseState.NEW, CaseState.IN_REVIEW, CaseState.APPEALED]),
            )
            .order_by(ReviewCase.priority.desc(), ReviewCase.opened_at, ReviewCase.id)
        )
        if actor.learner_id is not None:
            stmt = stmt.where(ReviewCase.learner_id != actor.learner_id)
        if after is not None:
            stmt = stmt.where(ReviewCase.id != after)
        return await s.scalar(stmt.limit(1))
