"""What a learner sees of cases about them: decided cases, the reasons, the decision, the appeal.

A learner is not shown a flag nobody has looked at yet: they hear of a case once a person has
decided it, with the reasons and the way to answer.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models import CaseState, DetectionFlag, ExcellenceBar, Notification, ReviewCase, Role, utcnow
from proctor.kernel.authz import Actor
from proctor.kernel.context import Context
from proctor.kernel.errors import Forbidden, NotFound
from proctor.review.states import CONFIRMED, FINDING_NAMES, STATE_NAMES, verdict

UNDECIDED = (CaseState.NEW, CaseState.IN_REVIEW)


@dataclass(frozen=True)
class LearnerCase:
    """A decided case as its learner sees it."""

    id: int
    period_start: dt.date
    period_end: dt.date
    state: str
    state_name: str
    finding: str | None
    finding_name: str
    verdict: str
    reasons: list[str]
    decision_reason: str
    decided_at: dt.datetime | None
    appeal_deadline: dt.datetime | None
    can_appeal: bool
    appeal_statement: str
    appealed_at: dt.datetime | None
    appeal_reason: str
    appeal_decided_at: dt.datetime | None

    def as_dict(self) -> dict[str, Any]:
        """JSON shape."""
        return dict(self.__dict__)


def _learner(actor: Actor) -> int:
    if actor.role is not Role.LEARNER or actor.learner_id is None:
        raise Forbidden("仅学员本人可查看")
    return actor.learner_id


async def _reasons(s: AsyncSession, case_id: int) -> list[str]:
    rules = await s.scalars(select(DetectionFlag.rules).where(DetectionFlag.case_id == case_id))
    out: list[str] = []
    for group in rules:
        for r in group or []:
            # A rule stored without a name of its own carries its id there; the id means
            # nothing to a learner, so only the sentence is shown then.
            name = r.get("name", "")
            text = (
                r.get("text", "")
                if not name or name == r.get("id")
                else f"{name}：{r.get('text', '')}"
            )
            if text not in out:
                out.append(text)
    return out or ["学习行为与同批学员差异显著（异常模型），经人工审核"]


def _view(case: ReviewCase, reasons: list[str], now: dt.datetime) -> LearnerCase:
    can_appeal = (
        case.state in CONFIRMED and case.appeal_deadline is not None and now <= case.appeal_deadline
    )
    return LearnerCase(
        id=case.id,
        period_start=case.period_start,
        period_end=case.period_end,
        state=case.state.value,
        state_name=STATE_NAMES[case.state],
        finding=case.finding.value if case.finding else None,
        finding_name=FINDING_NAMES[case.finding] if case.finding else "",
        verdict=verdict(case.state, case.finding),
        reasons=reasons,
        decision_reason=case.decision_reason,
        decided_at=case.decided_at,
        appeal_deadline=case.appeal_deadline,
        can_appeal=can_appeal,
        appeal_statement=case.appeal_statement,
        appealed_at=case.appealed_at,
        appeal_reason=case.appeal_reason,
        appeal_decided_at=case.appeal_decided_at,
    )


async def cases_of(s: AsyncSession, learner_id: int, year: int | None = None) -> list[LearnerCase]:
    """A learner's decided cases, newest first (optionally of one year)."""
    stmt = select(ReviewCase).where(
        ReviewCase.learner_id == learner_id, ReviewCase.state.not_in(UNDECIDED)
    )
    if year is not None:
        stmt = stmt.where(ReviewCase.year == year)
    cases = (await s.scalars(stmt.order_by(ReviewCase.decided_at.desc(), ReviewCase.id))).all()
    now = utcnow()
    return [_view(c, await _reasons(s, c.id), now) for c in cases]


async def my_cases(ctx: Context, actor: Actor) -> list[LearnerCase]:
    """The signed-in learner's decided cases."""
    learner_id = _learner(actor)
    async with ctx.db() as s:
        return await cases_of(s, learner_id)


async def my_case(ctx: Context, actor: Actor, case_id: int) -> LearnerCase:
    """One decided case of the signed-in learner; reading it marks its notices read."""
    learner_id = _learner(actor)
    async with ctx.db.begin() as s:
        case = await s.get(ReviewCase, case_id)
        if case is None or case.learner_id != learner_id or case.state in UNDECIDED:
            raise NotFound("案件不存在")
        notices = await s.scalars(
            select(Notification).where(
                Notification.case_id == case.id, Notification.read_at.is_(None)
            )
        )
        for n in notices:
            n.read_at = utcnow()
        return _view(case, await _reasons(s, case.id), utcnow())


async def unread_notices(ctx: Context, actor: Actor) -> list[Notification]:
    """The learner's unread notices, newest first."""
    if actor.learner_id is None:
        return []
    async with ctx.db() as s:
        rows = await s.scalars(
            select(Notification)
            .where(Notification.learner_id == actor.learner_id, Notification.read_at.is_(None))
            .order_by(Notification.created_at.desc())
            .limit(20)
        )
        return list(rows.all())


async def standing_bars(s: AsyncSession, learner_id: int, year: int) -> list[ExcellenceBar]:
    """Bars on an excellent rating standing for the learner's year."""
    rows = await s.scalars(
        select(ExcellenceBar).where(
            ExcellenceBar.learner_id == learner_id,
            ExcellenceBar.year == year,
            ExcellenceBar.lifted_at.is_(None),
        )
    )
    return list(rows.all())
