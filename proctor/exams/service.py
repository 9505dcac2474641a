"""Taking an exam: start or resume an attempt, save answers, report invigilation, submit.

The server keeps the clock and the key. The page gets the items without their key and the
seconds left by the server's clock; answers are saved one by one, so a reload or a lost
network resumes where it stopped; an attempt past its deadline is closed by the server with
what was saved.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from models import (
    AttemptState,
    Course,
    DetectionFlag,
    Exam,
    ExamAnswer,
    ExamAttempt,
    ExamEvent,
    ExamItem,
    Heartbeat,
    ItemKind,
    Role,
    StudySession,
)
from proctor.authz import Actor
from proctor.catalog.service import load_visible, viewer_of, visible_clause
from proctor.context import Context
from proctor.credits import ledger
from proctor.errors import Conflict, Forbidden, InvalidInput, NotFound
from proctor.exams import rules
from proctor.races import retry_on_race
from proctor.review.intake import intake
from proctor.study.completion import ACADEMY_TZ, study_year

MISSING = "考试记录不存在"
# The page reports at this interval; the server stamps every event with its own clock.
BEAT_INTERVAL_S = 15
MAX_EVENTS_PER_REPORT = 50
# A study beat this close to the attempt's window counts as inside it (one beat interval
# and network jitter).
STUDY_TOLERANCE = dt.timedelta(seconds=15)
# Server observations recorded once per new value (address, device, session, attempt).
WATCHED = ("ip_change", "device_change", "concurrent_study", "concurrent_attempt")


def _learner(actor: Actor) -> int:
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


async def exams_for_learner(ctx: Context, actor: Actor, now: dt.datetime) -> list[ExamCard]:
    """Published exams of courses the learner may see, soonest closing first."""
    learner_id = _learner(actor)
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
    cards = []
    for exam, course in rows:
        mine = [a for a in attempts if a.exam_id == exam.id]
        scores = [a.score for a in mine if a.score is not None]
        open_one = next((a for a in mine if a.state is AttemptState.OPEN), None)
        status = rules.window_status(exam.opens_at, exam.closes_at, now)
        cards.append(
            ExamCard(
                exam=exam,
                course=course,
                attempts_used=len(mine),
                best_score=max(scores) if scores else None,
                passed=any(a.passed for a in mine),
                open_attempt_id=open_one.id if open_one else None,
                status=status,
            )
        )
    return cards


# ---------------------------------------------------------------- the attempt


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

    def as_json(self) -> dict[str, Any]:
        return {
            "attempt_id": self.attempt.id,
            "exam_id": self.exam.id,
            "title": self.exam.title,
            "state": self.attempt.state.value,
            "remaining_s": self.remaining_s,
            "deadline": self.attempt.deadline_at.isoformat(),
            "beat_interval_s": BEAT_INTERVAL_S,
            "items": self.items,
            "answered": self.answered,
            "score": self.attempt.score,
            "passed": self.attempt.passed,
        }


def _letters(n: int) -> list[str]:
    return [chr(ord("A") + i) for i in range(n)]


def _present(
    attempt: ExamAttempt, bank: dict[int, ExamItem], answers: dict[int, ExamAnswer]
) -> list[dict[str, Any]]:
    """The drawn items as this examinee sees them: shuffled options relabelled A, B, C..."""
    shown = []
    for n, slot in enumerate(attempt.items, start=1):
        item = bank[slot["item_id"]]
        texts = {o["id"]: o["text"] for o in item.options}
        order: list[str] = slot["order"]
        letters = _letters(len(order)) if item.kind is not ItemKind.TRUE_FALSE else order
        saved = answers.get(item.id)
        shown.append(
            {
                "n": n,
                "item_id": item.id,
                "kind": item.kind.value,
                "stem": item.stem,
                # The option id goes back with the answer; the letter is only a label.
                "options": [
                    {"id": oid, "label": letter, "text": texts[oid]}
                    for oid, letter in zip(order, letters, strict=True)
                ],
                "chosen": list(saved.choice) if saved else [],
            }
        )
    return shown


async def _owned(s: AsyncSession, actor: Actor, attempt_id: int, *, lock: bool = False) -> Any:
    learner_id = _learner(actor)
    q = select(ExamAttempt).where(ExamAttempt.id == attempt_id)
    if lock:
        q = q.with_for_update()
    attempt = await s.scalar(q)
    # Another learner's attempt is "not found", never "forbidden": ids reveal nothing.
    if attempt is None or attempt.learner_id != learner_id:
        raise NotFound(MISSING)
    return attempt


async def _load_view(s: AsyncSession, attempt: ExamAttempt, now: dt.datetime) -> AttemptView:
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
    return AttemptView(
        attempt=attempt,
        exam=exam,
        course=course,
        items=_present(attempt, bank, answers),
        remaining_s=remaining,
        answered=sum(1 for a in answers.values() if a.choice),
    )


async def start(
    ctx: Context,
    actor: Actor,
    exam_id: int,
    *,
    ip: str,
    device: str,
    user_agent: str,
    now: dt.datetime,
) -> AttemptView:
    """Begin an attempt (or return the open one: starting twice resumes, it never redraws).

    Simultaneous starts (a double click, two tabs) race on the attempt's unique number: the
    loser runs again and resumes the winner's attempt.
    """
    learner_id = _learner(actor)
    return await retry_on_race(
        lambda: _start(
            ctx, actor, exam_id, learner_id, ip=ip, device=device, user_agent=user_agent, now=now
        )
    )


async def _start(
    ctx: Context,
    actor: Actor,
    exam_id: int,
    learner_id: int,
    *,
    ip: str,
    device: str,
    user_agent: str,
    now: dt.datetime,
) -> AttemptView:
    async with ctx.db.begin() as s:
        exam = await s.get(Exam, exam_id)
        if exam is None or not exam.published:
            raise NotFound("考试不存在或您无权参加")
        await load_visible(s, await viewer_of(s, actor), exam.course_id)
        await _close_expired(s, ctx, learner_id=learner_id, now=now)
        mine = list(
            (
                await s.scalars(
                    select(ExamAttempt)
                    .where(ExamAttempt.exam_id == exam.id, ExamAttempt.learner_id == learner_id)
                    .order_by(ExamAttempt.number)
                )
            ).all()
        )
        current = next((a for a in mine if a.state is AttemptState.OPEN), None)
        if current is not None:
            await _watch(
                s, current, ip=ip, device=device, now=now, kind="resume", concurrency=False
            )
            return await _load_view(s, current, now)
        window = rules.window_status(exam.opens_at, exam.closes_at, now)
        if window != "open":
            raise Conflict("考试尚未开始" if window == "upcoming" else "考试已结束")
        if any(a.passed for a in mine):
            raise Conflict("您已通过本次考试，无需再考")
        if len(mine) >= exam.attempts_allowed:
            raise Conflict(f"已用完 {exam.attempts_allowed} 次考试机会")
        bank = [
            rules.BankItem(i.id, i.kind, tuple(o["id"] for o in i.options))
            for i in await s.scalars(
                select(ExamItem).where(
                    ExamItem.course_id == exam.course_id, ExamItem.active.is_(True)
                )
            )
        ]
        # The draw must not be predictable from the attempt id or the clock.
        drawn = rules.draw(bank, exam.item_count, random.SystemRandom())
        deadline = min(now + dt.timedelta(seconds=exam.time_limit_s), exam.closes_at)
        attempt = ExamAttempt(
            exam_id=exam.id,
            learner_id=learner_id,
            number=len(mine) + 1,
            state=AttemptState.OPEN,
            items=drawn,
            started_at=now,
            deadline_at=deadline,
            ip=ip[:64],
            device=device[:128],
            user_agent=user_agent[:300],
        )
        s.add(attempt)
        await s.flush()
        s.add(ExamEvent(attempt_id=attempt.id, at=now, kind="start", detail={}, ip=ip[:64]))
        await _watch(s, attempt, ip=ip, device=device, now=now, kind=None, concurrency=True)
        return replace(await _load_view(s, attempt, now), created=True)


async def view(
    ctx: Context,
    actor: Actor,
    attempt_id: int,
    *,
    ip: str,
    device: str,
    now: dt.datetime,
    opened: bool = False,
) -> AttemptView:
    """The attempt as it stands (a reload resumes here); closes it if its time is up.

    ``opened`` marks the exam page being (re)loaded, which the timeline records.
    """
    async with ctx.db.begin() as s:
        attempt = await _owned(s, actor, attempt_id)
        if attempt.state is AttemptState.OPEN:
            if rules.accepts_answers(attempt.deadline_at, now):
                kind = "resume" if opened else None
                await _watch(
                    s, attempt, ip=ip, device=device, now=now, kind=kind, concurrency=False
                )
            else:
                await _finalise(s, ctx, attempt, now, AttemptState.EXPIRED)
        view_ = await _load_view(s, attempt, now)
        events = (
            await s.scalars(
                select(ExamEvent)
                .where(ExamEvent.attempt_id == attempt.id)
                .order_by(ExamEvent.at, ExamEvent.id)
            )
        ).all()
        return AttemptView(**{**view_.__dict__, "events": list(events)})


async def save_answer(
    ctx: Context,
    actor: Actor,
    attempt_id: int,
    item_id: int,
    chosen: list[str],
    seconds: float,
    *,
    now: dt.datetime,
) -> dict[str, Any]:
    """Save (or change, or clear) the answer to one item of an open attempt.

    Simultaneous saves of one item race on the answer's unique row: the loser runs again
    and changes the winner's row, so the last save stands and no answer is stored twice.
    """
    return await retry_on_race(
        lambda: _save_answer(ctx, actor, attempt_id, item_id, chosen, seconds, now=now)
    )


async def _save_answer(
    ctx: Context,
    actor: Actor,
    attempt_id: int,
    item_id: int,
    chosen: list[str],
    seconds: float,
    *,
    now: dt.datetime,
) -> dict[str, Any]:
    async with ctx.db.begin() as s:
        attempt = await _owned(s, actor, attempt_id)
        if attempt.state is not AttemptState.OPEN:
            raise Conflict("本次考试已交卷，不能再修改答案")
        if not rules.accepts_answers(attempt.deadline_at, now):
            raise Conflict("考试时间已到，答案未保存")
        if item_id not in {slot["item_id"] for slot in attempt.items}:
            raise InvalidInput("该题不在本次考试中", field="item_id")
        item = await s.get_one(ExamItem, item_id)
        choice = rules.canonical(item.kind, chosen, [o["id"] for o in item.options])
        # Time on an item cannot exceed the time the attempt has been open on the server.
        elapsed = (now - attempt.started_at).total_seconds()
        seconds = max(0.0, min(seconds, elapsed))
        saved = await s.scalar(
            select(ExamAnswer).where(
                ExamAnswer.attempt_id == attempt.id, ExamAnswer.item_id == item_id
            )
        )
        if saved is None:
            s.add(
                ExamAnswer(
                    attempt_id=attempt.id,
                    item_id=item_id,
                    choice=choice,
                    seconds=seconds,
                    saved_at=now,
                )
            )
        elif saved.choice != choice:
            saved.changes += 1
            saved.choice = choice
            saved.seconds = seconds
            # Only a change moves the save time: a retried or repeated save must not erase
            # when the answer was really entered (evidence for the timing test).
            saved.saved_at = now
        await s.flush()
        answered = await s.scalar(
            select(func.count())
            .select_from(ExamAnswer)
            .where(ExamAnswer.attempt_id == attempt.id, ExamAnswer.choice != "")
        )
        return {
            "item_id": item_id,
            "choice": list(choice),
            "answered": int(answered or 0),
            "remaining_s": rules.remaining_s(attempt.deadline_at, now),
        }


async def report(
    ctx: Context,
    actor: Actor,
    attempt_id: int,
    events: list[tuple[str, dict[str, Any]]],
    *,
    ip: str,
    device: str,
    now: dt.datetime,
) -> dict[str, Any]:
    """A beat from the exam page with the events since the last one; replies with time left."""
    if len(events) > MAX_EVENTS_PER_REPORT:
        raise InvalidInput(f"每次最多上报 {MAX_EVENTS_PER_REPORT} 个事件", field="events")
    for kind, _ in events:
        if kind not in rules.PAGE_EVENTS:
            raise InvalidInput(f"未知的考试事件类型：{kind}", field="events")
    async with ctx.db.begin() as s:
        attempt = await _owned(s, actor, attempt_id)
        if attempt.state is AttemptState.OPEN and not rules.accepts_answers(
            attempt.deadline_at, now
        ):
            await _finalise(s, ctx, attempt, now, AttemptState.EXPIRED)
        if attempt.state is not AttemptState.OPEN:
            return {"state": attempt.state.value, "remaining_s": 0, "recorded": 0}
        s.add_all(
            ExamEvent(attempt_id=attempt.id, at=now, kind=kind, detail=detail, ip=ip[:64])
            for kind, detail in events
        )
        await _watch(s, attempt, ip=ip, device=device, now=now, kind=None, concurrency=True)
        return {
            "state": attempt.state.value,
            "remaining_s": rules.remaining_s(attempt.deadline_at, now),
            "recorded": len(events),
        }


async def submit(ctx: Context, actor: Actor, attempt_id: int, *, now: dt.datetime) -> AttemptView:
    """Hand in: score what was saved, post the bonus on a pass. Submitting twice is harmless."""
    async with ctx.db.begin() as s:
        attempt = await _owned(s, actor, attempt_id)
        if attempt.state is AttemptState.OPEN:
            late = not rules.accepts_answers(attempt.deadline_at, now)
            await _finalise(
                s, ctx, attempt, now, AttemptState.EXPIRED if late else AttemptState.SUBMITTED
            )
        return await _load_view(s, attempt, now)


async def close_expired(ctx: Context, now: dt.datetime) -> int:
    """Close every attempt whose time is up (the server's sweep; pages also trigger it)."""
    async with ctx.db.begin() as s:
        return await _close_expired(s, ctx, learner_id=None, now=now)


# ---------------------------------------------------------------- internals


async def _close_expired(
    s: AsyncSession, ctx: Context, *, learner_id: int | None, now: dt.datetime
) -> int:
    cutoff = now - dt.timedelta(seconds=rules.GRACE_S)
    q = select(ExamAttempt).where(
        ExamAttempt.state == AttemptState.OPEN, ExamAttempt.deadline_at < cutoff
    )
    if learner_id is not None:
        q = q.where(ExamAttempt.learner_id == learner_id)
    due = list((await s.scalars(q)).all())
    for attempt in due:
        await _finalise(s, ctx, attempt, now, AttemptState.EXPIRED)
    return len(due)


async def _finalise(
    s: AsyncSession, ctx: Context, attempt: ExamAttempt, now: dt.datetime, state: AttemptState
) -> None:
    """Score and close an attempt exactly once, even when a submit races the sweep."""
    exam = await s.get_one(Exam, attempt.exam_id)
    ids = [slot["item_id"] for slot in attempt.items]
    keys = {i.id: i.key for i in await s.scalars(select(ExamItem).where(ExamItem.id.in_(ids)))}
    answers = {
        a.item_id: a.choice
        for a in await s.scalars(select(ExamAnswer).where(ExamAnswer.attempt_id == attempt.id))
    }
    result = rules.score(keys, answers, exam.pass_mark)
    won = await s.execute(
        update(ExamAttempt)
        .where(ExamAttempt.id == attempt.id, ExamAttempt.version == attempt.version)
        .values(
            state=state,
            finished_at=now,
            correct=result.correct,
            score=result.percent,
            passed=result.passed,
            version=attempt.version + 1,
        )
        .execution_options(synchronize_session=False)
    )
    if won.rowcount != 1:  # type: ignore[attr-defined]
        await s.refresh(attempt)
        return
    await s.refresh(attempt)
    if result.passed and exam.bonus_credits > 0:
        entry = await ledger.post_exam_bonus(
            s,
            learner_id=attempt.learner_id,
            course_id=exam.course_id,
            # The year the exam was sat in, even when the sweep closes it later.
            year=study_year(min(now, attempt.deadline_at)),
            amount=exam.bonus_credits,
            evidence={"exam_id": exam.id, "attempt_id": attempt.id, "score": result.percent},
        )
        attempt.bonus_entry_id = entry.id
    await _invigilation_flag(s, ctx, attempt, exam, now)


async def _watch(
    s: AsyncSession,
    attempt: ExamAttempt,
    *,
    ip: str,
    device: str,
    now: dt.datetime,
    kind: str | None,
    concurrency: bool,
) -> None:
    """The server's own observations: a page (re)opened, a new address or device, and
    (on beats) study sessions or other attempts of the learner running at the same time.

    Each new address, device, session or attempt is recorded once, not once per beat.
    """
    if kind is not None:
        s.add(ExamEvent(attempt_id=attempt.id, at=now, kind=kind, detail={}, ip=ip[:64]))
    seen = {
        (e.kind, str(e.detail.get("to") or e.detail.get("other") or ""))
        for e in await s.scalars(
            select(ExamEvent).where(ExamEvent.attempt_id == attempt.id, ExamEvent.kind.in_(WATCHED))
        )
    }
    found: list[tuple[str, dict[str, str]]] = [
        (change, {"from": was, "to": now_seen})
        for change, now_seen, was in (
            ("ip_change", ip, attempt.ip),
            ("device_change", device, attempt.device),
        )
        if now_seen and now_seen != was
    ]
    if concurrency:
        # Concurrent only if the server saw study in the session during the attempt: a
        # playing beat stored in the window. An open session with no such beat (left open
        # by a crash or a lost hot state, days ago) is not study, whatever its ended_at.
        since = attempt.started_at - STUDY_TOLERANCE
        sessions = await s.scalars(
            select(StudySession.id).where(
                StudySession.learner_id == attempt.learner_id,
                StudySession.started_at <= now,
                (StudySession.ended_at.is_(None)) | (StudySession.ended_at >= since),
                exists().where(
                    Heartbeat.session_id == StudySession.id,
                    Heartbeat.received_at >= since,
                    Heartbeat.received_at <= now + STUDY_TOLERANCE,
                    Heartbeat.accepted.is_(True),
                    Heartbeat.paused.is_(False),
                ),
            )
        )
        found += [("concurrent_study", {"other": sid}) for sid in sessions]
        others = await s.scalars(
            select(ExamAttempt.id).where(
                ExamAttempt.learner_id == attempt.learner_id,
                ExamAttempt.id != attempt.id,
                ExamAttempt.state == AttemptState.OPEN,
                ExamAttempt.deadline_at >= now,
            )
        )
        found += [("concurrent_attempt", {"other": str(other)}) for other in others]
    for event, detail in found:
        if (event, detail.get("to") or detail["other"]) not in seen:
            s.add(ExamEvent(attempt_id=attempt.id, at=now, kind=event, detail=detail, ip=ip[:64]))
    await s.flush()


async def _invigilation_flag(
    s: AsyncSession, ctx: Context, attempt: ExamAttempt, exam: Exam, now: dt.datetime
) -> None:
    """Crossed thresholds become an exam flag for a person to review; the score stands."""
    events = list(
        (
            await s.scalars(
                select(ExamEvent)
                .where(ExamEvent.attempt_id == attempt.id)
                .order_by(ExamEvent.at, ExamEvent.id)
            )
        ).all()
    )
    reasons = rules.invigilation_reasons((e.kind for e in events), ctx.settings.exam_limits)
    if not reasons:
        return
    day = attempt.started_at.astimezone(ACADEMY_TZ).date()
    risk = min(0.95, 0.4 + 0.15 * len(reasons))
    s.add(
        DetectionFlag(
            learner_id=attempt.learner_id,
            period_start=day,
            period_end=day,
            risk=risk,
            band="medium" if len(reasons) < 3 else "high",
            kind="exam",
            rules=[r.as_dict() for r in reasons],
            drivers=[],
            model_version="invigilation-1",
            thresholds={r.id: float(r.threshold) for r in reasons},
            source="exam",
            attempt_id=attempt.id,
            evidence={
                "type": "invigilation",
                "course_id": exam.course_id,
                "exam_id": exam.id,
                "attempt_id": attempt.id,
                "score": attempt.score,
                "started_at": attempt.started_at.isoformat(),
                "deadline_at": attempt.deadline_at.isoformat(),
                "finished_at": now.isoformat(),
                "events": [
                    {"at": e.at.isoformat(), "kind": e.kind, "detail": e.detail} for e in events
                ],
            },
        )
    )
    await s.flush()
    await intake(s)
