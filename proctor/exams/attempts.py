"""Taking an exam: start or resume an attempt, save answers, submit, and the server's clock closing what is overdue.

The server keeps the clock and the key. The page gets the items without their key and the
seconds left by the server's clock; answers are saved one by one, so a reload or a lost
network resumes where it stopped; an attempt past its deadline is closed by the server with
what was saved. State changes follow the attempt state machine (`states.py`)."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import replace
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from models import (
    AttemptState,
    Exam,
    ExamAnswer,
    ExamAttempt,
    ExamEvent,
    ExamItem,
)
from proctor.catalog.visibility import load_visible, viewer_of
from proctor.credits import ledger
from proctor.exams import rules, states
from proctor.exams.invigilation import invigilation_flag, watch
from proctor.exams.views import AttemptView, examinee, load_view
from proctor.kernel.authz import Actor
from proctor.kernel.calendar import study_year
from proctor.kernel.context import Context
from proctor.kernel.errors import Conflict, InvalidInput, NotFound
from proctor.kernel.races import retry_on_race
from proctor.review.consequences import voided_attempts

MISSING = "考试记录不存在"


MAX_EVENTS_PER_REPORT = 50


async def _owned(s: AsyncSession, actor: Actor, attempt_id: int, *, lock: bool = False) -> Any:
    learner_id = examinee(actor)
    q = select(ExamAttempt).where(ExamAttempt.id == attempt_id)
    if lock:
        q = q.with_for_update()
    attempt = await s.scalar(q)
    # Another learner's attempt is "not found", never "forbidden": ids reveal nothing.
    if attempt is None or attempt.learner_id != learner_id:
        raise NotFound(MISSING)
    return attempt


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
    learner_id = examinee(actor)
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
            await watch(s, current, ip=ip, device=device, now=now, kind="resume", concurrency=False)
            return await load_view(s, current, now)
        window = rules.window_status(exam.opens_at, exam.closes_at, now)
        if window != "open":
            raise Conflict("考试尚未开始" if window == "upcoming" else "考试已结束")
        if any(a.passed for a in mine):
            # A voided pass still ends the exam for the learner: cheating does not buy a retry.
            if await voided_attempts(s, [a.id for a in mine if a.passed]):
                raise Conflict("您的答卷已被认定考试作弊并作废，不能再次参加本次考试")
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
        await watch(s, attempt, ip=ip, device=device, now=now, kind=None, concurrency=True)
        return replace(await load_view(s, attempt, now), created=True)


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
        closing = states.overdue(attempt.state, attempt.deadline_at, now)
        if closing is not None:
            await _finalise(s, ctx, attempt, now, closing)
        elif attempt.state is AttemptState.OPEN:
            kind = "resume" if opened else None
            await watch(s, attempt, ip=ip, device=device, now=now, kind=kind, concurrency=False)
        view_ = await load_view(s, attempt, now)
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
        refused = states.answer_refused(attempt.state, attempt.deadline_at, now)
        if refused is not None:
            raise Conflict(refused)
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
        closing = states.overdue(attempt.state, attempt.deadline_at, now)
        if closing is not None:
            await _finalise(s, ctx, attempt, now, closing)
        if attempt.state is not AttemptState.OPEN:
            return {"state": attempt.state.value, "remaining_s": 0, "recorded": 0}
        s.add_all(
            ExamEvent(attempt_id=attempt.id, at=now, kind=kind, detail=detail, ip=ip[:64])
            for kind, detail in events
        )
        await watch(s, attempt, ip=ip, device=device, now=now, kind=None, concurrency=True)
        return {
            "state": attempt.state.value,
            "remaining_s": rules.remaining_s(attempt.deadline_at, now),
            "recorded": len(events),
        }


async def submit(ctx: Context, actor: Actor, attempt_id: int, *, now: dt.datetime) -> AttemptView:
    """Hand in: score what was saved, post the bonus on a pass. Submitting twice is harmless."""
    async with ctx.db.begin() as s:
        attempt = await _owned(s, actor, attempt_id)
        closing = states.on_submit(attempt.state, attempt.deadline_at, now)
        if closing is not None:
            await _finalise(s, ctx, attempt, now, closing)
        return await load_view(s, attempt, now)


async def close_expired(ctx: Context, now: dt.datetime) -> int:
    """Close every attempt whose time is up (the server's sweep; pages also trigger it)."""
    async with ctx.db.begin() as s:
        return await _close_expired(s, ctx, learner_id=None, now=now)


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
    states.check_move(attempt.state, state)
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
    await invigilation_flag(s, ctx, attempt, exam, now)
