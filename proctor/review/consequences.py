"""What a decision does to the learner's record: revoked credits, a bar on "excellent"."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models import (
    CaseState,
    CreditEntry,
    CreditSource,
    DetectionFlag,
    ExcellenceBar,
    ReviewCase,
    StudySession,
    utcnow,
)
from proctor.credits import ledger
from proctor.kernel.calendar import period_bounds


async def affected_courses(session: AsyncSession, case: ReviewCase) -> set[int]:
    """Courses the learner studied in the case's period: their credits rest on those sessions."""
    lo, hi = period_bounds(case.period_start, case.period_end)
    rows = await session.scalars(
        select(StudySession.course_id)
        .where(
            StudySession.learner_id == case.learner_id,
            StudySession.started_at < hi,
            StudySession.started_at >= lo,
        )
        .distinct()
    )
    return set(rows.all())


async def _exam_courses(session: AsyncSession, case: ReviewCase) -> set[int]:
    evidence = await session.scalars(
        select(DetectionFlag.evidence).where(
            DetectionFlag.case_id == case.id, DetectionFlag.source == "exam"
        )
    )
    return {int(e["course_id"]) for e in evidence if isinstance(e, dict) and e.get("course_id")}


async def revoke_fraudulent_credits(
    session: AsyncSession, case: ReviewCase, actor_id: int, reason: str
) -> list[CreditEntry]:
    """Reverse the standing credits earned through the case's sessions (and flagged exams)."""
    courses = await affected_courses(session, case)
    exam_courses = await _exam_courses(session, case)
    if not courses and not exam_courses:
        return []
    reversed_ids = select(CreditEntry.reverses_id).where(CreditEntry.reverses_id.is_not(None))
    candidates = (
        await session.scalars(
            select(CreditEntry)
            .where(
                CreditEntry.learner_id == case.learner_id,
                CreditEntry.source != CreditSource.REVERSAL,
                CreditEntry.id.not_in(reversed_ids),
                CreditEntry.amount != 0,
            )
            .order_by(CreditEntry.id)
        )
    ).all()
    out = []
    for entry in candidates:
        study = entry.source in (CreditSource.ATTENTION, CreditSource.DESIGNATED)
        exam = entry.source is CreditSource.EXAM
        if (study and entry.course_id in courses) or (exam and entry.course_id in exam_courses):
            out.append(
                await ledger.revoke(
                    session,
                    entry_id=entry.id,
                    reason=f"经审核认定弄虚作假骗取学分：{reason}",
                    case_id=case.id,
                    actor_id=actor_id,
                )
            )
    return out


async def reinstate_credits(
    session: AsyncSession, case: ReviewCase, actor_id: int, reason: str
) -> list[CreditEntry]:
    """An upheld appeal gives back every credit the case revoked."""
    reversals = (
        await session.scalars(
            select(CreditEntry).where(
                CreditEntry.case_id == case.id,
                CreditEntry.source == CreditSource.REVERSAL,
                CreditEntry.amount < 0,
            )
        )
    ).all()
    return [
        await ledger.reinstate(
            session,
            reversal_id=r.id,
            reason=f"申诉成立，恢复学分：{reason}",
            case_id=case.id,
            actor_id=actor_id,
        )
        for r in reversals
    ]


async def bar_excellence(session: AsyncSession, case: ReviewCase, reason: str) -> ExcellenceBar:
    """Art. 16: a learner confirmed to have had someone study for them is not rated excellent."""
    bar = ExcellenceBar(
        learner_id=case.learner_id,
        year=case.year,
        case_id=case.id,
        reason=f"经审核认定请人代学，{case.year} 年度考核不得评为优秀，不参加优秀学员评选：{reason}",
    )
    session.add(bar)
    return bar


async def lift_bars(session: AsyncSession, case: ReviewCase, at: dt.datetime | None = None) -> int:
    """An upheld appeal lifts the case's bars (kept, with the time they were lifted)."""
    bars = (
        await session.scalars(
            select(ExcellenceBar).where(
                ExcellenceBar.case_id == case.id, ExcellenceBar.lifted_at.is_(None)
            )
        )
    ).all()
    for bar in bars:
        bar.lifted_at = at or utcnow()
    return len(bars)


async def apply(
    session: AsyncSession, case: ReviewCase, state: CaseState, actor_id: int, reason: str
) -> dict[str, object]:
    """Carry out the consequences of the case reaching ``state``; say what was done."""
    if state is CaseState.CONFIRMED_FRAUD:
        revoked = await revoke_fraudulent_credits(session, case, actor_id, reason)
        return {"revoked_entries": [e.reverses_id for e in revoked]}
    if state is CaseState.CONFIRMED_PROXY:
        await bar_excellence(session, case, reason)
        return {"excellence_bar": case.year}
    if state is CaseState.APPEAL_UPHELD:
        restored = await reinstate_credits(session, case, actor_id, reason)
        lifted = await lift_bars(session, case)
        return {"reinstated_entries": [e.id for e in restored], "bars_lifted": lifted}
    return {}
