"""The append-only credit ledger (Art. 13): post once, revoke by reversing, never update."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from models import (
    Course,
    CourseCompletion,
    CourseKind,
    CreditEntry,
    CreditKind,
    CreditSource,
)
from proctor.credits.policy import DEFAULT_RULES, CreditRules, course_credits
from proctor.errors import Conflict, NotFound


async def _post_once(session: AsyncSession, entry: CreditEntry) -> CreditEntry:
    """Insert an entry unless one with its idempotency key exists (retries and races)."""
    existing = await session.scalar(
        select(CreditEntry).where(CreditEntry.idempotency_key == entry.idempotency_key)
    )
    if existing is not None:
        return existing
    try:
        async with session.begin_nested():
            session.add(entry)
            await session.flush()
    except IntegrityError:
        # Another transaction posted the same key between our check and our insert.
        existing = await session.scalar(
            select(CreditEntry).where(CreditEntry.idempotency_key == entry.idempotency_key)
        )
        if existing is None:
            raise
        return existing
    return entry


async def post_course_completion(
    session: AsyncSession,
    *,
    learner_id: int,
    course: Course,
    year: int,
    completed_at: dt.datetime,
    evidence: dict[str, Any],
    rules: CreditRules = DEFAULT_RULES,
) -> CreditEntry:
    """Record a completed course and post its credits exactly once (ever, per learner and course)."""
    done = await session.scalar(
        select(CourseCompletion).where(
            CourseCompletion.learner_id == learner_id, CourseCompletion.course_id == course.id
        )
    )
    if done is None:
        try:
            async with session.begin_nested():
                session.add(
                    CourseCompletion(
                        learner_id=learner_id,
                        course_id=course.id,
                        year=year,
                        completed_at=completed_at,
                        evidence=evidence,
                    )
                )
                await session.flush()
        except IntegrityError:
            pass  # completed concurrently; the ledger key below keeps the credit single
    amount = course_credits(course.kind, course.lecture_seconds, course.designated_credits, rules)
    return await _post_once(
        session,
        CreditEntry(
            learner_id=learner_id,
            year=year,
            course_id=course.id,
            kind=CreditKind.REQUIRED if course.kind is CourseKind.REQUIRED else CreditKind.ELECTIVE,
            amount=amount,
            source=CreditSource.DESIGNATED
            if course.designated_credits is not None
            else CreditSource.ATTENTION,
            evidence=evidence,
            idempotency_key=f"course:{learner_id}:{course.id}",
        ),
    )


async def post_exam_bonus(
    session: AsyncSession,
    *,
    learner_id: int,
    course_id: int,
    year: int,
    amount: Decimal,
    evidence: dict[str, Any],
) -> CreditEntry:
    """Bonus credits for passing a course's online exam: once per learner, course and year."""
    return await _post_once(
        session,
        CreditEntry(
            learner_id=learner_id,
            year=year,
            course_id=course_id,
            kind=CreditKind.BONUS,
            amount=amount,
            source=CreditSource.EXAM,
            evidence=evidence,
            idempotency_key=f"exam:{learner_id}:{course_id}:{year}",
        ),
    )


async def post_legacy(
    session: AsyncSession,
    *,
    learner_id: int,
    course_id: int | None,
    year: int,
    kind: CreditKind,
    amount: Decimal,
    record_id: str,
) -> CreditEntry:
    """An entry imported from the previous system, keyed by its record id there."""
    return await _post_once(
        session,
        CreditEntry(
            learner_id=learner_id,
            year=year,
            course_id=course_id,
            kind=kind,
            amount=amount,
            source=CreditSource.LEGACY,
            evidence={"legacy_record": record_id},
            idempotency_key=f"legacy:{record_id}",
        ),
    )


async def revoke(
    session: AsyncSession, *, entry_id: int, reason: str, case_id: int | None, actor_id: int | None
) -> CreditEntry:
    """Cancel an entry with a reversing entry citing the reason and the deciding case."""
    entry = await session.get(CreditEntry, entry_id)
    if entry is None:
        raise NotFound("学分记录不存在")
    if entry.source is CreditSource.REVERSAL:
        raise Conflict("冲销记录不能再被冲销")
    if (
        await session.scalar(select(CreditEntry.id).where(CreditEntry.reverses_id == entry.id))
        is not None
    ):
        raise Conflict("该学分记录已被冲销")
    reversal = CreditEntry(
        learner_id=entry.learner_id,
        year=entry.year,
        course_id=entry.course_id,
        kind=entry.kind,
        amount=-entry.amount,
        source=CreditSource.REVERSAL,
        evidence={"reverses": entry.id},
        reverses_id=entry.id,
        reason=reason,
        case_id=case_id,
        posted_by=actor_id,
        idempotency_key=f"reversal:{entry.id}",
    )
    return await _post_once(session, reversal)


async def balances(session: AsyncSession, learner_id: int, year: int) -> dict[CreditKind, Decimal]:
    """Credits by kind for a learner's year (revocations included)."""
    rows = await session.execute(
        select(CreditEntry.kind, func.sum(CreditEntry.amount))
        .where(CreditEntry.learner_id == learner_id, CreditEntry.year == year)
        .group_by(CreditEntry.kind)
    )
    out = {kind: Decimal("0.00") for kind in CreditKind}
    # SUM over a Credits column comes back through the same type: already Decimal credits.
    for kind, total in rows.all():
        out[CreditKind(kind)] = Decimal(total or 0).quantize(Decimal("0.01"))
    return out
