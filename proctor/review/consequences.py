"""What a decision does to the learner's record: revoked credits, a bar on "excellent",
voided exam attempts. Each consequence is also said in words for the case history, naming
what was reversed and what was set, so the log never claims more than the ledger holds."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from models import (
    CaseEvent,
    CaseState,
    Course,
    CreditEntry,
    CreditKind,
    CreditSource,
    DetectionFlag,
    ExamAttempt,
    ExcellenceBar,
    Finding,
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


async def cheating_attempts(session: AsyncSession, case: ReviewCase) -> list[int]:
    """The exam attempts the case's exam flags point at."""
    rows = await session.scalars(
        select(DetectionFlag.attempt_id)
        .where(
            DetectionFlag.case_id == case.id,
            DetectionFlag.source == "exam",
            DetectionFlag.attempt_id.is_not(None),
        )
        .distinct()
    )
    return sorted(a for a in rows.all() if a is not None)


async def void_exam_attempts(
    session: AsyncSession, case: ReviewCase, actor_id: int, reason: str
) -> tuple[list[int], list[CreditEntry]]:
    """考试作弊: the flagged attempts count for nothing while the finding stands (see
    :func:`voided_attempts`), and the bonus each passed attempt posted is reversed."""
    attempts = (
        await session.scalars(
            select(ExamAttempt)
            .where(ExamAttempt.id.in_(await cheating_attempts(session, case)))
            .order_by(ExamAttempt.id)
        )
    ).all()
    reversed_ids = set(
        (
            await session.scalars(
                select(CreditEntry.reverses_id).where(CreditEntry.reverses_id.is_not(None))
            )
        ).all()
    )
    revoked = []
    for attempt in attempts:
        if attempt.bonus_entry_id is None or attempt.bonus_entry_id in reversed_ids:
            continue
        revoked.append(
            await ledger.revoke(
                session,
                entry_id=attempt.bonus_entry_id,
                reason=f"经审核认定考试作弊，答卷 #{attempt.id} 作废：{reason}",
                case_id=case.id,
                actor_id=actor_id,
            )
        )
    return [a.id for a in attempts], revoked


def voided_attempt_ids() -> Select[int | None]:
    """The attempts that are void: a standing 考试作弊 finding cites them. Derived, not stored:
    an upheld appeal clears the finding and with it the voiding, and the attempt row (a
    finished attempt never changes) stays as it was handed in."""
    return (
        select(DetectionFlag.attempt_id)
        .join(ReviewCase, ReviewCase.id == DetectionFlag.case_id)
        .where(
            DetectionFlag.attempt_id.is_not(None),
            ReviewCase.finding == Finding.EXAM_CHEATING,
        )
    )


async def voided_attempts(session: AsyncSession, attempt_ids: list[int]) -> set[int]:
    """Which of these attempts are void (see :func:`voided_attempt_ids`)."""
    if not attempt_ids:
        return set()
    rows = await session.scalars(
        voided_attempt_ids().where(DetectionFlag.attempt_id.in_(attempt_ids))
    )
    return {a for a in rows.all() if a is not None}


async def _decided(session: AsyncSession, case: ReviewCase) -> CaseState | None:
    """The first decision on the case (what an appeal answered)."""
    state = await session.scalar(
        select(CaseEvent.to_state)
        .where(CaseEvent.case_id == case.id, CaseEvent.action == "decide")
        .order_by(CaseEvent.id.desc())
        .limit(1)
    )
    return CaseState(state) if state else None


KIND_WORDS = {CreditKind.REQUIRED: "必修", CreditKind.ELECTIVE: "选修", CreditKind.BONUS: "奖励"}


async def _lines(session: AsyncSession, entries: list[CreditEntry]) -> str:
    """Ledger lines in words: 《课程》必修 2.00（记录 #12）, joined."""
    if not entries:
        return ""
    wanted = {e.course_id for e in entries if e.course_id is not None}
    rows = await session.execute(select(Course.id, Course.title).where(Course.id.in_(wanted)))
    titles = {cid: title for cid, title in rows}
    out = []
    for e in entries:
        title = titles.get(e.course_id, "历史学分") if e.course_id is not None else "历史学分"
        out.append(
            f"《{title}》{KIND_WORDS[e.kind]} {abs(Decimal(e.amount)):.2f}（记录 #{e.reverses_id}）"
        )
    return "、".join(out)


async def apply(
    session: AsyncSession, case: ReviewCase, state: CaseState, actor_id: int, reason: str
) -> dict[str, object]:
    """Carry out the consequences of the case reaching ``state``; say what was done, in the
    ``summary`` the case history shows."""
    if state is CaseState.CONFIRMED_FRAUD:
        revoked = await revoke_fraudulent_credits(session, case, actor_id, reason)
        lines = await _lines(session, revoked)
        summary = (
            f"已冲销学分 {len(revoked)} 条：{lines}"
            if revoked
            else "本案所涉期间的学习和考试没有可冲销的学分，未冲销任何学分"
        )
        return {"revoked_entries": [e.reverses_id for e in revoked], "summary": summary}
    if state is CaseState.CONFIRMED_PROXY:
        await bar_excellence(session, case, reason)
        return {
            "excellence_bar": case.year,
            "summary": f"已设置 {case.year} 年度考核不得评为优秀、不参加优秀学员评选",
        }
    if state is CaseState.CONFIRMED_EXAM_CHEATING:
        voided, revoked = await void_exam_attempts(session, case, actor_id, reason)
        named = "、".join(f"#{a}" for a in voided)
        summary = f"已作废答卷 {named}" + (
            f"；已冲销考试奖励学分 {len(revoked)} 条：{await _lines(session, revoked)}"
            if revoked
            else "；答卷未获得考试奖励学分，无需冲销"
        )
        return {
            "voided_attempts": voided,
            "revoked_entries": [e.reverses_id for e in revoked],
            "summary": summary,
        }
    if state is CaseState.APPEAL_UPHELD:
        restored = await reinstate_credits(session, case, actor_id, reason)
        lifted = await lift_bars(session, case)
        parts = []
        if restored:
            parts.append(f"已恢复被冲销的学分 {len(restored)} 条")
        if lifted:
            parts.append(f"已解除评优限制 {lifted} 项")
        if await _decided(session, case) is CaseState.CONFIRMED_EXAM_CHEATING:
            parts.append("被作废的答卷恢复有效")
        return {
            "reinstated_entries": [e.id for e in restored],
            "bars_lifted": lifted,
            "summary": "；".join(parts) or "原认定已撤销，没有需要恢复的学分或限制",
        }
    return {}
