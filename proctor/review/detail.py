"""One case as its page shows it: the case, its timeline, and whether the viewer may decide it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models import (
    Account,
    AuditEvent,
    CaseEvent,
    CaseState,
    DetectionFlag,
    Learner,
    OrgUnit,
    ReviewCase,
    utcnow,
)
from proctor.kernel.authz import Actor
from proctor.kernel.context import Context
from proctor.review.decisions import DECIDE_ROLES
from proctor.review.queue import VIEW_ROLES, CaseRow, _row, case_in_scope
from proctor.review.states import (
    DECISIONS,
    FINDING_NAMES,
    MOVES,
    STATE_NAMES,
    action_name,
    verdict,
)


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
    verdict: str = ""
    decisions: list[CaseState] = field(default_factory=list)
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
            "action_name": action_name(e.action),
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


def _offered(flags: list[DetectionFlag]) -> list[CaseState]:
    """The decisions the page offers, in the state machine's order; 考试作弊 only where the
    case has an exam attempt it could void."""
    exam = any(f.source == "exam" and f.attempt_id for f in flags)
    return [
        s
        for s in STATE_NAMES
        if s in DECISIONS and (s is not CaseState.CONFIRMED_EXAM_CHEATING or exam)
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
        case = await case_in_scope(s, actor, case_id)
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
        verdict=verdict(case.state, case.finding),
        decisions=_offered(flags),
    )
