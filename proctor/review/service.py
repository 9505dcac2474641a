"""Cases as reviewers and learners use them: the queue, one case, and every move on it.

Every move is a compare-and-set on the case's ``version`` inside one transaction with its
consequences and its audit event: of two reviewers deciding the same case at once, one wins
and the other gets a conflict, and nothing half-done is ever left behind.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import Select, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from models import (
    Account,
    AuditEvent,
    CaseEvent,
    CaseState,
    DetectionFlag,
    Learner,
    Notification,
    OrgUnit,
    ReviewCase,
    Role,
    utcnow,
)
from proctor.kernel.authz import Actor
from proctor.kernel.context import Context
from proctor.kernel.errors import Conflict, Forbidden, InvalidInput, NotFound
from proctor.review import consequences
from proctor.review.states import (
    APPEAL_OUTCOMES,
    CONFIRMED,
    DECISIONS,
    FINDING_NAMES,
    MOVES,
    OPEN,
    STATE_NAMES,
    check_move,
    finding_after,
)

VIEW_ROLES = frozenset({Role.REVIEWER, Role.ORG_ADMIN, Role.ACADEMY_ADMIN})
DECIDE_ROLES = frozenset({Role.REVIEWER, Role.ACADEMY_ADMIN})
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
MIN_REASON = 4
MAX_TEXT = 2000


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


async def queue(ctx: Context, actor: Actor, f: QueueFilter) -> tuple[list[CaseRow], int]:
    """Cases of learners in the actor's authority, filtered and sorted; and how many match."""
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
        total = await s.scalar(select(func.count()).select_from(stmt.subquery())) or 0
        order = {
            "priority": (ReviewCase.priority.desc(), ReviewCase.opened_at, ReviewCase.id),
            "oldest": (ReviewCase.opened_at, ReviewCase.id),
            "newest": (ReviewCase.opened_at.desc(), ReviewCase.id.desc()),
            "risk": (ReviewCase.risk.desc(), ReviewCase.id),
        }[f.sort]
        rows = (await s.execute(stmt.order_by(*order).limit(f.limit).offset(f.offset))).all()
    return [_row(c, n, u, a, now) for c, n, u, a in rows], total


async def _case_in_scope(s: AsyncSession, actor: Actor, case_id: int) -> ReviewCase:
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


@dataclass
class CaseDetail:
    """One case with what a reviewer needs to decide it (evidence is built separately)."""

    row: CaseRow
    case: ReviewCase
    flags: list[DetectionFlag]
    events: list[dict[str, Any]]
    allowed: list[str]
    can_decide: bool
    why_not: str = ""
    finding_name: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """JSON shape."""
        c = self.case
        return {
            **self.row.as_dict(),
            "finding": c.finding.value if c.finding else None,
            "decision_reason": c.decision_reason,
            "decided_at": c.decided_at,
            "appeal_deadline": c.appeal_deadline,
            "appeal_statement": c.appeal_statement,
            "appealed_at": c.appealed_at,
            "appeal_reason": c.appeal_reason,
            "model_version": c.model_version,
            "thresholds": c.thresholds,
            "allowed_moves": self.allowed,
            "can_decide": self.can_decide,
            "flags": [
                {
                    "id": f.id,
                    "source": f.source,
                    "kind": f.kind,
                    "risk": f.risk,
                    "band": f.band,
                    "period_start": f.period_start,
                    "period_end": f.period_end,
                    "rules": f.rules,
                    "drivers": f.drivers,
                    "evidence": f.evidence,
                    "attempt_id": f.attempt_id,
                    "model_version": f.model_version,
                }
                for f in self.flags
            ],
            "events": self.events,
        }


async def _events(s: AsyncSession, case_id: int) -> list[dict[str, Any]]:
    rows = (
        await s.execute(
            select(CaseEvent, Account.display_name)
            .outerjoin(Account, Account.id == CaseEvent.actor_id)
            .where(CaseEvent.case_id == case_id)
            .order_by(CaseEvent.at, CaseEvent.id)
        )
    ).all()
    return [
        {
            "at": e.at,
            "actor": who or "系统",
            "action": e.action,
            "from_state": e.from_state,
            "to_state": e.to_state,
            "to_state_name": STATE_NAMES.get(CaseState(e.to_state), e.to_state)
            if e.to_state
            else "",
            "reason": e.reason,
            "model_version": e.model_version,
        }
        for e, who in rows
    ]


def _why_cannot_decide(actor: Actor, case: ReviewCase) -> str:
    if actor.role not in DECIDE_ROLES:
        return "当前角色只能查看案件，不能作出决定"
    if actor.learner_id is not None and actor.learner_id == case.learner_id:
        return "不能审核与本人有关的案件"
    if case.state is CaseState.APPEALED and case.decided_by == actor.account_id:
        return "申诉须由原审核人以外的审核人员处理"
    return ""


async def load_case(ctx: Context, actor: Actor, case_id: int) -> CaseDetail:
    """One case in the actor's authority, with its flags and history; the viewing is audited."""
    actor.require(VIEW_ROLES, "查看审核案件")
    now = utcnow()
    async with ctx.db.begin() as s:
        case = await _case_in_scope(s, actor, case_id)
        learner = await s.get_one(Learner, case.learner_id)
        unit = await s.get_one(OrgUnit, learner.unit_id)
        assignee = (
            (await s.get_one(Account, case.assignee_id)).display_name if case.assignee_id else None
        )
        flags = list(
            (
                await s.scalars(
                    select(DetectionFlag)
                    .where(DetectionFlag.case_id == case.id)
                    .order_by(DetectionFlag.risk.desc(), DetectionFlag.id)
                )
            ).all()
        )
        events = await _events(s, case.id)
        # Who saw the evidence is part of a defensible process (and of the personal-data log).
        s.add(AuditEvent(actor_id=actor.account_id, action="case.view", target=f"case:{case.id}"))
    why = _why_cannot_decide(actor, case)
    return CaseDetail(
        row=_row(case, learner.name, unit.name, assignee, now),
        case=case,
        flags=flags,
        events=events,
        allowed=[s.value for s in sorted(MOVES[case.state])],
        can_decide=not why and bool(MOVES[case.state]),
        why_not=why,
        finding_name=FINDING_NAMES[case.finding] if case.finding else "",
    )


def _reason(text: str, what: str = "理由") -> str:
    text = (text or "").strip()
    if len(text) < MIN_REASON:
        raise InvalidInput(f"必须写明{what}（至少 {MIN_REASON} 个字）", field="reason")
    if len(text) > MAX_TEXT:
        raise InvalidInput(f"{what}不能超过 {MAX_TEXT} 字", field="reason")
    return text


async def _move(
    s: AsyncSession,
    case: ReviewCase,
    actor_id: int | None,
    to: CaseState,
    *,
    action: str,
    reason: str,
    values: dict[str, Any] | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Compare-and-set the case to ``to`` and append the audit event, in the caller's txn."""
    check_move(case.state, to)
    frm = case.state
    now = utcnow()
    result = await s.execute(
        update(ReviewCase)
        .where(ReviewCase.id == case.id, ReviewCase.version == case.version)
        .values(
            state=to,
            version=case.version + 1,
            updated_at=now,
            finding=finding_after(to, case.finding),
            **(values or {}),
        )
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict("该案件已被其他人员处理，请刷新后查看最新状态", case_id=case.id)
    await s.refresh(case)
    s.add(
        CaseEvent(
            case_id=case.id,
            actor_id=actor_id,
            action=action,
            from_state=frm.value,
            to_state=to.value,
            reason=reason,
            model_version=case.model_version,
            thresholds=case.thresholds,
            detail=detail or {},
        )
    )


async def _load_for_move(
    s: AsyncSession, actor: Actor, case_id: int, version: int | None
) -> ReviewCase:
    actor.require(DECIDE_ROLES, "处理审核案件")
    case = await _case_in_scope(s, actor, case_id)
    if actor.learner_id is not None and actor.learner_id == case.learner_id:
        raise Forbidden("不能审核与本人有关的案件")
    if version is not None and version != case.version:
        raise Conflict("该案件已被其他人员处理，请刷新后查看最新状态", case_id=case.id)
    return case


async def claim(ctx: Context, actor: Actor, case_id: int, version: int | None = None) -> CaseState:
    """Take a new case into review (it shows as being handled by the actor)."""
    async with ctx.db.begin() as s:
        case = await _load_for_move(s, actor, case_id, version)
        await _move(
            s,
            case,
            actor.account_id,
            CaseState.IN_REVIEW,
            action="claim",
            reason="开始审核",
            values={"assignee_id": actor.account_id},
        )
        return case.state


async def release(ctx: Context, actor: Actor, case_id: int, version: int | None = None) -> None:
    """Put a case under review back in the queue."""
    async with ctx.db.begin() as s:
        case = await _load_for_move(s, actor, case_id, version)
        await _move(
            s,
            case,
            actor.account_id,
            CaseState.NEW,
            action="release",
            reason="退回待审核队列",
            values={"assignee_id": None},
        )


async def add_note(ctx: Context, actor: Actor, case_id: int, text: str) -> None:
    """A reviewer's note on the case's timeline (no state change)."""
    text = _reason(text, "备注内容")
    actor.require(VIEW_ROLES, "添加审核备注")
    async with ctx.db.begin() as s:
        case = await _case_in_scope(s, actor, case_id)
        s.add(
            CaseEvent(
                case_id=case.id,
                actor_id=actor.account_id,
                action="note",
                reason=text,
                model_version=case.model_version,
                thresholds=case.thresholds,
            )
        )


def _notice(case: ReviewCase, state: CaseState, deadline: dt.datetime | None) -> tuple[str, str]:
    name = STATE_NAMES[state]
    if state in CONFIRMED:
        assert deadline is not None  # noqa: S101 - set with every confirming decision
        local = deadline.astimezone(dt.timezone(dt.timedelta(hours=8)))
        return (
            f"学习情况审核结果：{name}",
            f"经人工审核，您 {case.period_start} 至 {case.period_end} 的在线学习情况被认定为“{name}”。"
            f"如有异议，请于 {local:%Y-%m-%d %H:%M} 前在“我的档案”中提出申诉并说明情况。",
        )
    if state in APPEAL_OUTCOMES:
        return (f"申诉处理结果：{name}", f"您就案件 #{case.id} 提出的申诉已处理：{name}。")
    return (
        f"学习情况审核结果：{name}",
        f"系统曾对您 {case.period_start} 至 {case.period_end} 的学习情况提示异常，"
        f"经人工审核结论为“{name}”，您的学习记录不受影响。",
    )


async def decide(
    ctx: Context,
    actor: Actor,
    case_id: int,
    outcome: str,
    reason: str,
    version: int | None = None,
) -> dict[str, Any]:
    """Decide a case: the outcome, its consequences, the learner's notice, all or nothing."""
    try:
        target = CaseState(outcome)
    except ValueError:
        target = None
    if target not in DECISIONS:
        raise InvalidInput(
            "结论只能是 confirmed_proxy、confirmed_fraud、no_misconduct 或 insufficient_evidence",
            field="outcome",
        )
    assert target is not None  # noqa: S101 - narrowed above
    reason = _reason(reason, "决定理由")
    now = utcnow()
    async with ctx.db.begin() as s:
        case = await _load_for_move(s, actor, case_id, version)
        if case.state is CaseState.NEW:
            await _move(
                s,
                case,
                actor.account_id,
                CaseState.IN_REVIEW,
                action="claim",
                reason="开始审核",
                values={"assignee_id": actor.account_id},
            )
        deadline = (
            now + dt.timedelta(days=ctx.settings.appeal_days) if target in CONFIRMED else None
        )
        await _move(
            s,
            case,
            actor.account_id,
            target,
            action="decide",
            reason=reason,
            values={
                "decided_by": actor.account_id,
                "decided_at": now,
                "decision_reason": reason,
                "appeal_deadline": deadline,
            },
        )
        done = await consequences.apply(s, case, target, actor.account_id, reason)
        title, body = _notice(case, target, deadline)
        s.add(
            Notification(
                learner_id=case.learner_id,
                case_id=case.id,
                title=title,
                body=body,
                link=f"/archive/cases/{case.id}",
            )
        )
        if done:
            s.add(
                CaseEvent(
                    case_id=case.id,
                    actor_id=actor.account_id,
                    action="consequences",
                    reason="决定的后果已执行",
                    model_version=case.model_version,
                    thresholds=case.thresholds,
                    detail=done,
                )
            )
        return {"state": case.state.value, "version": case.version, **done}


async def appeal(ctx: Context, actor: Actor, case_id: int, statement: str) -> dict[str, Any]:
    """The learner answers a finding against them, within the appeal period."""
    if actor.role is not Role.LEARNER or actor.learner_id is None:
        raise Forbidden("只有案件当事学员本人可以提出申诉")
    statement = _reason(statement, "申诉理由")
    now = utcnow()
    async with ctx.db.begin() as s:
        case = await s.get(ReviewCase, case_id)
        if case is None or case.learner_id != actor.learner_id:
            raise NotFound("案件不存在")
        if case.state in CONFIRMED and case.appeal_deadline and now > case.appeal_deadline:
            raise Conflict("申诉期限已过，不能再提出申诉")
        await _move(
            s,
            case,
            actor.account_id,
            CaseState.APPEALED,
            action="appeal",
            reason=statement,
            values={"appeal_statement": statement, "appealed_at": now},
        )
        return {"state": case.state.value, "version": case.version}


async def decide_appeal(
    ctx: Context,
    actor: Actor,
    case_id: int,
    outcome: str,
    reason: str,
    version: int | None = None,
) -> dict[str, Any]:
    """A reviewer other than the first decides the appeal; an upheld appeal undoes the finding."""
    try:
        target = CaseState(outcome)
    except ValueError:
        target = None
    if target not in APPEAL_OUTCOMES:
        raise InvalidInput("申诉结论只能是 appeal_upheld 或 appeal_rejected", field="outcome")
    assert target is not None  # noqa: S101 - narrowed above
    reason = _reason(reason, "申诉处理理由")
    now = utcnow()
    async with ctx.db.begin() as s:
        case = await _load_for_move(s, actor, case_id, version)
        if case.decided_by == actor.account_id:
            raise Forbidden("申诉须由原审核人以外的审核人员处理")
        await _move(
            s,
            case,
            actor.account_id,
            target,
            action="decide_appeal",
            reason=reason,
            values={
                "appeal_decided_by": actor.account_id,
                "appeal_decided_at": now,
                "appeal_reason": reason,
            },
        )
        done = await consequences.apply(s, case, target, actor.account_id, reason)
        title, body = _notice(case, target, None)
        s.add(
            Notification(
                learner_id=case.learner_id,
                case_id=case.id,
                title=title,
                body=body,
                link=f"/archive/cases/{case.id}",
            )
        )
        return {"state": case.state.value, "version": case.version, **done}
