"""Exams as the learner sees them: the list with each exam's status, and an attempt's items
without their key (options shuffled per attempt and relabelled), saved answers, time left."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models import (
    AttemptState,
    Course,
    Exam,
    ExamAnswer,
    ExamAttempt,
    ExamEvent,
    ExamItem,
    ItemKind,
    Role,
)
from proctor.catalog.visibility import viewer_of, visible_clause
from proctor.exams import rules
from proctor.kernel.authz import Actor
from proctor.kernel.context import Context
from proctor.kernel.errors import Forbidden
from proctor.review.consequences import voided_attempts

# The page reports at this interval; the server stamps every event with its own clock.
BEAT_INTERVAL_S = 15


def examinee(actor: Actor) -> int:
    """The learner taking exams (staff have no attempts)."""
    if actor.role is not Role.LEARNER or actor.learner_id is None:
        raise Forbidden("只有学员可以参加考试")
    return actor.learner_id


@dataclass(frozen=True)
class ExamCard:
    """An exam in the learner's list, with their standing on it."""

    exam: Exam
    course: Course
    attempts_used: int
    best_score: int | None
    passed: bool
    open_attempt_id: int | None
    status: str  # upcoming / open / closed
    # A pass voided by a 考试作弊 finding: it no longer counts, and its bonus was reversed.
    voided: bool = False
    # The latest handed-in attempt: its page shows the score, and the key once closed.
    last_attempt_id: int | None = None

    @property
    def attempts_left(self) -> int:
        return max(0, self.exam.attempts_allowed - self.attempts_used)


async def exams_for_learner(ctx: Context, actor: Actor, now: dt.datetime) -> list[ExamCard]:
    """Published exams of courses the learner may see, soonest closing first."""
    learner_id = examinee(actor)
    async with ctx.db() as s:
        viewer = await viewer_of(s, actor)
        rows = (
            await s.execute(
                select(Exam, Course)
                .join(Course, Course.id == Exam.course_id)
                .where(Exam.published.is_(True), visible_clause(viewer))
                .order_by(Exam.closes_at, Exam.id)
            )
        ).all()
        attempts = (
            await s.scalars(select(ExamAttempt).where(ExamAttempt.learner_id == learner_id))
        ).all()
        voided = await voided_attempts(s, [a.id for a in attempts])
    cards = []
    for exam, course in rows:
        mine = [a for a in attempts if a.exam_id == exam.id]
        scores = [a.score for a in mine if a.score is not None]
        open_one = next((a for a in mine if a.state is AttemptState.OPEN), None)
        finished = [a for a in mine if a.state is not AttemptState.OPEN]
        status = rules.window_status(exam.opens_at, exam.closes_at, now)
        cards.append(
            ExamCard(
                exam=exam,
                course=course,
                attempts_used=len(mine),
                best_score=max(scores) if scores else None,
                passed=any(a.passed and a.id not in voided for a in mine),
                open_attempt_id=open_one.id if open_one else None,
                status=status,
                voided=any(a.id in voided for a in mine),
                last_attempt_id=max(finished, key=lambda a: a.number).id if finished else None,
            )
        )
    return cards


@dataclass(frozen=True)
class AttemptView:
    """What the exam page shows: items without their key, saved answers, server time left."""

    attempt: ExamAttempt
    exam: Exam
    course: Course
    items: list[dict[str, Any]]
    remaining_s: int
    answered: int
    events: list[ExamEvent] = field(default_factory=list)
    # A new attempt (201) rather than the open one resumed (200).
    created: bool = False
    # The items carry their key and whether the answer was right (rules.key_shown).
    reviewed: bool = False

    @property
    def unanswered(self) -> int:
        return len(self.items) - self.answered

    def as_json(self) -> dict[str, Any]:
        return {
            "attempt_id": self.attempt.id,
            "exam_id": self.exam.id,
            "title": self.exam.title,
            "state": self.attempt.state.value,
            "remaining_s": self.remaining_s,
            "deadline": self.attempt.deadline_at.isoformat(),
            "beat_interval_s": BEAT_INTERVAL_S,
            # The key stays on the page: the API serves the attempt, not its review.
            "items": [
                {k: v for k, v in i.items() if k not in {"key", "right"}} for i in self.items
            ],
            "answered": self.answered,
            "score": self.attempt.score,
            "passed": self.attempt.passed,
        }


def _letters(n: int) -> list[str]:
    return [chr(ord("A") + i) for i in range(n)]


def _present(
    attempt: ExamAttempt,
    bank: dict[int, ExamItem],
    answers: dict[int, ExamAnswer],
    *,
    with_key: bool = False,
) -> list[dict[str, Any]]:
    """The drawn items as this examinee sees them: shuffled options relabelled A, B, C..."""
    shown = []
    for n, slot in enumerate(attempt.items, start=1):
        item = bank[slot["item_id"]]
        texts = {o["id"]: o["text"] for o in item.options}
        order: list[str] = slot["order"]
        letters = _letters(len(order)) if item.kind is not ItemKind.TRUE_FALSE else order
        saved = answers.get(item.id)
        chosen = list(saved.choice) if saved else []
        review = {"key": list(item.key), "right": "".join(chosen) == item.key} if with_key else {}
        shown.append(
            review
            | {
                "n": n,
                "item_id": item.id,
                "kind": item.kind.value,
                "stem": item.stem,
                # The option id goes back with the answer; the letter is only a label.
                "options": [
                    {"id": oid, "label": letter, "text": texts[oid]}
                    for oid, letter in zip(order, letters, strict=True)
                ],
                "chosen": chosen,
            }
        )
    return shown


async def load_view(s: AsyncSession, attempt: ExamAttempt, now: dt.datetime) -> AttemptView:
    exam = await s.get_one(Exam, attempt.exam_id)
    course = await s.get_one(Course, exam.course_id)
    ids = [slot["item_id"] for slot in attempt.items]
    bank = {i.id: i for i in (await s.scalars(select(ExamItem).where(ExamItem.id.in_(ids))))}
    answers = {
        a.item_id: a
        for a in await s.scalars(select(ExamAnswer).where(ExamAnswer.attempt_id == attempt.id))
    }
    remaining = (
        rules.remaining_s(attempt.deadline_at, now) if attempt.state is AttemptState.OPEN else 0
    )
    with_key = attempt.state is not AttemptState.OPEN and rules.key_shown(exam.closes_at, now)
    return AttemptView(
        attempt=attempt,
        exam=exam,
        course=course,
        items=_present(attempt, bank, answers, with_key=with_key),
        remaining_s=remaining,
        answered=sum(1 for a in answers.values() if a.choice),
        reviewed=with_key,
    )
