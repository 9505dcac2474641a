"""The append-only credit ledger (Art. 13): post once, revoke by reversing, never update.

Exactly-once: every posting carries an idempotency key, unique in ``credit_entry``. A retry
finds the entry already there; a concurrent poster loses the unique-constraint race inside a
SAVEPOINT and gets the winner's entry, so its own transaction carries on unharmed.

Zero-credit courses (lecture under 23 minutes, or designated 0): the completion is recorded
and a 0.00 entry is posted anyway. One code path, the archive lists the course with its
evidence, and the caller always gets the entry that stands for the completion.

A completion credits a course once ever: completing it again, even after a revocation, posts
nothing (a revoked credit is not re-earned by replaying the course).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import Integer, func, select, type_coerce
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from models import (
    Course,
    CourseCompletion,
    CourseKind,
    CreditEntry,
    CreditKind,
    CreditSource,
    cents_to_credits,
)
from proctor.credits.policy import DEFAULT_RULES, CreditRules, course_credits
from proctor.kernel.errors import Conflict, InvalidInput, NotFound

ZERO = Decimal("0.00")


def course_key(learner_id: int, course_id: int) -> str:
    """Idempotency key of a course's completion credits."""
    return f"course:{learner_id}:{course_id}"


def exam_key(learner_id: int, course_id: int, year: int) -> str:
    """Idempotency key of a course exam's bonus in a year."""
    return f"exam:{learner_id}:{course_id}:{year}"


async def _by_key(session: AsyncSession, key: str) -> CreditEntry | None:
    return await session.scalar(select(CreditEntry).where(CreditEntry.idempotency_key == key))


async def _post_once(session: AsyncSession, entry: CreditEntry) -> CreditEntry:
    """Insert an entry unless one with its idempotency key exists (retries and races)."""
    assert entry.idempotency_key is not None  # noqa: S101 - every posting path sets one
    existing = await _by_key(session, entry.idempotency_key)
    if existing is not None:
        return existing
    try:
        async with session.begin_nested():
            session.add(entry)
            await session.flush()
    except IntegrityError:
        # Another transaction posted the same key between our check and our insert; the
        # SAVEPOINT rolled back only our insert.
        existing = await _by_key(session, entry.idempotency_key)
        if existing is None:
            raise
        return existing
    return entry


async def _record_completion(
    session: AsyncSession,
    *,
    learner_id: int,
    course_id: int,
    year: int,
    completed_at: dt.datetime,
    evidence: dict[str, Any],
) -> None:
    done = await session.scalar(
        select(CourseCompletion.id).where(
            CourseCompletion.learner_id == learner_id, CourseCompletion.course_id == course_id
        )
    )
    if done is not None:
        return
    try:
        async with session.begin_nested():
            session.add(
                CourseCompletion(
                    learner_id=learner_id,
                    course_id=course_id,
                    year=year,
                    completed_at=completed_at,
                    evidence=evidence,
                )
            )
            await session.flush()
    except IntegrityError:
        pass  # recorded concurrently; the ledger key keeps the credit single as well


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
    """Record a completed course and post its credits exactly once; return the standing entry."""
    await _record_completion(
        session,
        learner_id=learner_id,
        course_id=course.id,
        year=year,
        completed_at=completed_at,
        evidence=evidence,
    )
    designated = course.designated_credits is not None
    return await _post_once(
        session,
        CreditEntry(
            learner_id=learner_id,
            year=year,
            course_id=course.id,
            kind=CreditKind.REQUIRED if course.kind is CourseKind.REQUIRED else CreditKind.ELECTIVE,
            amount=course_credits(
                course.kind, course.lecture_seconds, course.designated_credits, rules
            ),
            source=CreditSource.DESIGNATED if designated else CreditSource.ATTENTION,
            evidence=evidence,
            idempotency_key=course_key(learner_id, course.id),
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
    if amount < 0:
        raise InvalidInput("奖励学分不能为负数", field="amount")
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
            idempotency_key=exam_key(learner_id, course_id, year),
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
    key: str | None = None,
) -> CreditEntry:
    """An entry imported from the previous system; the evidence carries its old record id.

    Idempotent by ``key`` (default ``legacy:{record_id}``), so an import can be re-run.
    """
    if not record_id:
        raise InvalidInput("历史记录缺少原系统记录号", field="record_id")
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
            idempotency_key=key or f"legacy:{record_id}",
        ),
    )


async def revoke(
    session: AsyncSession, *, entry_id: int, reason: str, case_id: int | None, actor_id: int | None
) -> CreditEntry:
    """Cancel an entry with a reversing entry citing the reason and the deciding case.

    The caller checks the actor's authority over the learner; this only keeps the ledger sound.
    """
    reason = reason.strip()
    if not reason:
        raise InvalidInput("冲销必须写明原因", field="reason")
    entry = await session.get(CreditEntry, entry_id)
    if entry is None:
        raise NotFound("学分记录不存在")
    if entry.source is CreditSource.REVERSAL:
        raise Conflict("冲销记录不能再被冲销")
    reversed_already = await session.scalar(
        select(CreditEntry.id).where(CreditEntry.reverses_id == entry.id)
    )
    if reversed_already is not None:
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
    try:
        async with session.begin_nested():
            session.add(reversal)
            await session.flush()
    except IntegrityError as exc:
        # reverses_id is unique: a concurrent revocation of the same entry won.
        raise Conflict("该学分记录已被冲销") from exc
    return reversal


async def reinstate(
    session: AsyncSession,
    *,
    reversal_id: int,
    reason: str,
    case_id: int | None,
    actor_id: int | None,
) -> CreditEntry:
    """Restore credits a reversal took away (an appeal upheld): a new entry cancelling it.

    Only a reversal can be reinstated, and only once; the original line and the reversal stay.
    """
    reason = reason.strip()
    if not reason:
        raise InvalidInput("恢复学分必须写明原因", field="reason")
    reversal = await session.get(CreditEntry, reversal_id)
    if reversal is None or reversal.source is not CreditSource.REVERSAL:
        raise NotFound("冲销记录不存在")
    if reversal.amount >= 0:
        raise Conflict("恢复记录不能再被恢复")
    return await _post_once(
        session,
        CreditEntry(
            learner_id=reversal.learner_id,
            year=reversal.year,
            course_id=reversal.course_id,
            kind=reversal.kind,
            amount=-reversal.amount,
            source=CreditSource.REVERSAL,
            evidence={"reinstates": reversal.reverses_id, "cancels": reversal.id},
            reverses_id=reversal.id,
            reason=reason,
            case_id=case_id,
            posted_by=actor_id,
            idempotency_key=f"reinstate:{reversal.id}",
        ),
    )


async def balances(session: AsyncSession, learner_id: int, year: int) -> dict[CreditKind, Decimal]:
    """Credits by kind for a learner's year, revocations netted (every kind present)."""
    cents = func.sum(type_coerce(CreditEntry.amount, Integer))
    rows = await session.execute(
        select(CreditEntry.kind, cents)
        .where(CreditEntry.learner_id == learner_id, CreditEntry.year == year)
        .group_by(CreditEntry.kind)
    )
    out = dict.fromkeys(CreditKind, ZERO)
    for kind, total in rows.all():
        out[CreditKind(kind)] = cents_to_credits(total)
    return out
