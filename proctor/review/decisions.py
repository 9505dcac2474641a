"""Every move on a case: claim, release, note, decide, appeal, decide the appeal.

Every move is a compare-and-set on the case's ``version`` inside one transaction with its
consequences and its audit event: of two reviewers deciding the same case at once, one wins
and the other gets a conflict, and nothing half-done is ever left behind.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from models import (
    CaseEvent,
    CaseState,
    DetectionFlag,
    Notification,
    ReviewCase,
    Role,
    utcnow,
)
from proctor.kernel.authz import Actor
from proctor.kernel.calendar import ACADEMY_TZ
from proctor.kernel.context import Context
from proctor.kernel.errors import Conflict, Forbidden, InvalidInput, NotFound
from proctor.review import consequences
from proctor.review.queue import VIEW_ROLES, case_in_scope
from proctor.review.states import (
    APPEAL_OUTCOMES,
    CONFIRMED,
    DECISIONS,
    FINDING_NAMES,
    OPEN,
    STATE_NAMES,
    check_move,
    finding_after,
)

DECIDE_ROLES = frozenset({Role.REVIEWER, Role.ACADEMY_ADMIN})


MIN_REASON = 4


MAX_TEXT = 2000


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
    # The flags page lists what still waits for a person: a flag is open while its case is.
    # A flag a later run over the same period replaced stays superseded.
    await s.execute(
        update(DetectionFlag)
        .where(DetectionFlag.case_id == case.id, DetectionFlag.status != "superseded")
        .values(status="open" if to in OPEN else "closed")
        .execution_options(synchronize_session=False)
    )
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
    case = await case_in_scope(s, actor, case_id)
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
        case = await case_in_scope(s, actor, case_id)
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


def _notice(
    case: ReviewCase, state: CaseState, deadline: dt.datetime | None, done: dict[str, Any]
) -> tuple[str, str]:
    name = STATE_NAMES[state]
    if state in CONFIRMED:
        assert deadline is not None  # noqa: S101 - set with every confirming decision
        assert case.finding is not None  # noqa: S101 - set by every confirming decision
        local = deadline.astimezone(ACADEMY_TZ)
        what = "考试" if state is CaseState.CONFIRMED_EXAM_CHEATING else "在线学习"
        summary = done.get("summary")
        return (
            f"学习情况审核结果：{name}",
            f"经人工审核，您 {case.period_start} 至 {case.period_end} 的{what}情况被认定为"
            f"“{FINDING_NAMES[case.finding]}”。"
            + (f"处理结果：{summary}。" if summary else "")
            + f"如有异议，请于 {local:%Y-%m-%d %H:%M} 前在“我的档案”中提出申诉并说明情况。",
        )
    if state in APPEAL_OUTCOMES:
        summary = done.get("summary")
        return (
            f"申诉处理结果：{name}",
            f"您就案件 #{case.id} 提出的申诉已处理：{name}。" + (f"{summary}。" if summary else ""),
        )
    return (
        f"学习情况审核结果：{name}",
        f"系统曾对您 {case.period_start} 至 {case.period_end} 的学习情况提示异常，"
        f"经人工审核结论为“{name}”，您的学习记录不受影响。",
    )


async def _conclude(
    s: AsyncSession,
    case: ReviewCase,
    target: CaseState,
    actor: Actor,
    reason: str,
    deadline: dt.datetime | None,
) -> dict[str, Any]:
    """After a decision or an appeal's: its consequences, recorded, and the learner's notice."""
    done = await consequences.apply(s, case, target, actor.account_id, reason)
    title, body = _notice(case, target, deadline, done)
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
                reason=str(done.get("summary", "")),
                model_version=case.model_version,
                thresholds=case.thresholds,
                detail=done,
            )
        )
    return {"state": case.state.value, "version": case.version, **done}


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
            "结论只能是 confirmed_proxy、confirmed_fraud、confirmed_exam_cheating、no_misconduct"
            " 或 insufficient_evidence",
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
        if target is CaseState.CONFIRMED_EXAM_CHEATING and not (
            await consequences.cheating_attempts(s, case)
        ):
            raise InvalidInput("本案件没有考试答卷的标记，不能认定考试作弊", field="outcome")
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
        return await _conclude(s, case, target, actor, reason, deadline)


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
        # The decision's notice invited this appeal; once it is filed, the invitation is
        # answered and must not stay on the learner's home page.
        await s.execute(
            update(Notification)
            .where(Notification.case_id == case.id, Notification.read_at.is_(None))
            .values(read_at=now)
            .execution_options(synchronize_session=False)
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
        return await _conclude(s, case, target, actor, reason, None)
