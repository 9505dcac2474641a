"""Reading what the statements describe: finished study sessions and scored exam attempts.

Everything here turns rows into the plain data of :mod:`proctor.xapi.coverage` and
:mod:`proctor.xapi.statements`; the decisions stay in those pure modules.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import String, cast, exists, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql.elements import ColumnElement

from models import (
    CaseState,
    Course,
    DetectionFlag,
    Exam,
    ExamAttempt,
    Heartbeat,
    Lesson,
    ReviewCase,
    SessionSummary,
    StudySession,
    XapiOutbox,
)
from proctor.review.consequences import voided_attempt_ids
from proctor.xapi.coverage import TraceBeat, TraceSession
from proctor.xapi.statements import ExamResult, LessonInfo
from tracker.finalize import dt_to_ms

STUDY = "study"
EXAM = "exam"
EXAM_VOID = "exam_void"  # the academy voids a result a 考试作弊 finding stands on
EXAM_REINSTATED = "exam_reinstated"  # the result restated after an upheld appeal
# Accepted beats of a session are received between its start and its end; the margin covers
# an end stamped by another process's clock.
_CLOCK_MARGIN = dt.timedelta(minutes=5)


@dataclass(frozen=True)
class Finished:
    """A summarised study session not yet in the outbox."""

    session_id: str
    learner_id: int
    lesson_id: int
    ended_at: dt.datetime


@dataclass
class Registration:
    """A learner's sessions on one lesson, their accepted beats, and what bounds them."""

    learner_id: int
    lesson: LessonInfo
    duration_ms: int
    sessions: list[TraceSession] = field(default_factory=list)
    # Sessions without a summary yet (open, or waiting for evidence), by start time.
    unsettled: list[int] = field(default_factory=list)
    beats: list[TraceBeat] = field(default_factory=list)
    other_credits: list[int] = field(default_factory=list)

    def settled_at(self, ended_ms: int) -> bool:
        """Every session that began before this moment is final (summarised)."""
        return all(started > ended_ms for started in self.unsettled)


def _not_enqueued(
    source: str, ref: InstrumentedAttribute[str] | ColumnElement[str]
) -> ColumnElement[bool]:
    return ~exists().where(XapiOutbox.source == source, XapiOutbox.source_ref == ref)


async def finished_sessions(
    s: AsyncSession, since: dt.datetime, after: tuple[dt.datetime, str] | None, limit: int
) -> list[Finished]:
    """Summarised sessions ended since ``since`` that have no statement yet, in end order.

    ``after`` is the keyset cursor of the previous page (end time, session id).
    """
    q = (
        select(
            SessionSummary.session_id,
            SessionSummary.learner_id,
            SessionSummary.lesson_id,
            SessionSummary.ended_at,
        )
        .where(SessionSummary.ended_at >= since, _not_enqueued(STUDY, SessionSummary.session_id))
        .order_by(SessionSummary.ended_at, SessionSummary.session_id)
        .limit(limit)
    )
    if after is not None:
        q = q.where(tuple_(SessionSummary.ended_at, SessionSummary.session_id) > tuple_(*after))
    return [Finished(*row) for row in (await s.execute(q)).all()]


async def registrations(
    s: AsyncSession, finished: list[Finished]
) -> dict[tuple[int, int], Registration]:
    """The registrations (learner, lesson) of these sessions, with their history so far."""
    pairs = sorted({(f.learner_id, f.lesson_id) for f in finished})
    if not pairs:
        return {}
    latest = max(f.ended_at for f in finished)
    lessons = {
        lesson.id: (lesson, course)
        for lesson, course in (
            await s.execute(
                select(Lesson, Course)
                .join(Course, Course.id == Lesson.course_id)
                .where(Lesson.id.in_({lesson for _, lesson in pairs}))
            )
        ).all()
    }
    regs: dict[tuple[int, int], Registration] = {}
    for learner_id, lesson_id in pairs:
        lesson, course = lessons[lesson_id]
        info = LessonInfo(course.id, course.title, lesson.id, lesson.title)
        regs[(learner_id, lesson_id)] = Registration(
            learner_id, info, lesson.duration_seconds * 1000
        )
    rows = (
        await s.execute(
            select(StudySession, SessionSummary.session_id)
            .outerjoin(SessionSummary, SessionSummary.session_id == StudySession.id)
            .where(
                tuple_(StudySession.learner_id, StudySession.lesson_id).in_(pairs),
                StudySession.started_at <= latest,
            )
        )
    ).all()
    windows: dict[int, list[tuple[int, int]]] = defaultdict(list)
    ids = []
    for session, summarised in rows:
        reg = regs[(session.learner_id, session.lesson_id)]
        if summarised is None or session.ended_at is None:
            reg.unsettled.append(dt_to_ms(session.started_at))
            continue
        trace = TraceSession(session.id, dt_to_ms(session.started_at), dt_to_ms(session.ended_at))
        reg.sessions.append(trace)
        windows[session.learner_id].append((trace.started_ms, trace.ended_ms))
        ids.append(session.id)
    by_session = {t.id: reg for reg in regs.values() for t in reg.sessions}
    if ids:
        spans = [t for reg in regs.values() for t in reg.sessions]
        lo = _ms_dt(min(t.started_ms for t in spans)) - _CLOCK_MARGIN
        hi = _ms_dt(max(t.ended_ms for t in spans)) + _CLOCK_MARGIN
        for beat in await _beats_of(s, ids, lo, hi):
            by_session[beat.session_id].beats.append(beat)
    await _other_credits(s, regs, windows)
    return regs


async def _beats_of(
    s: AsyncSession, ids: list[str], lo: dt.datetime, hi: dt.datetime
) -> list[TraceBeat]:
    out: list[TraceBeat] = []
    for i in range(0, len(ids), 500):
        # Bounded by receipt time so that PostgreSQL reads only the months' partitions.
        q = select(
            Heartbeat.session_id,
            Heartbeat.evidence_id,
            Heartbeat.seq,
            Heartbeat.received_at,
            Heartbeat.position_ms,
            Heartbeat.elapsed_ms,
            Heartbeat.codes,
        ).where(
            Heartbeat.session_id.in_(ids[i : i + 500]),
            Heartbeat.accepted.is_(True),
            Heartbeat.received_at >= lo,
            Heartbeat.received_at <= hi,
        )
        for sid, eid, seq, received, pos, elapsed, codes in (await s.execute(q)).all():
            out.append(
                TraceBeat(
                    sid,
                    eid,
                    seq,
                    dt_to_ms(received),
                    pos,
                    elapsed,
                    tuple(c for c in codes.split(",") if c),
                )
            )
    return out


async def _other_credits(
    s: AsyncSession,
    regs: dict[tuple[int, int], Registration],
    windows: dict[int, list[tuple[int, int]]],
) -> None:
    """Creditable beats of the learners' concurrent sessions on other lessons.

    The learner has one credited stream: such a beat bounds what a session here earned in
    the same interval. Concurrent sessions are rare, so this is usually a short list.
    """
    if not windows:
        return
    lo = min(a for spans in windows.values() for a, _ in spans)
    hi = max(b for spans in windows.values() for _, b in spans)
    lo_dt, hi_dt = _ms_dt(lo), _ms_dt(hi)
    # Creditable receipt times per learner and lesson; the registrations' own beats are
    # loaded already, other sessions that overlap them in time are read here.
    times: dict[tuple[int, int], list[int]] = defaultdict(list)
    loaded: set[str] = set()
    for (learner_id, lesson_id), reg in regs.items():
        loaded.update(t.id for t in reg.sessions)
        times[(learner_id, lesson_id)] += [b.received_ms for b in reg.beats if b.creditable]
    others = (
        await s.execute(
            select(
                StudySession.id,
                StudySession.learner_id,
                StudySession.lesson_id,
                StudySession.started_at,
                StudySession.ended_at,
            ).where(
                StudySession.learner_id.in_(list(windows)),
                StudySession.started_at <= hi_dt,
                or_(StudySession.ended_at.is_(None), StudySession.ended_at >= lo_dt),
            )
        )
    ).all()
    overlapping: dict[str, tuple[int, int]] = {}
    for sid, learner_id, lesson_id, started, ended in others:
        a = dt_to_ms(started)
        b = dt_to_ms(ended) if ended is not None else hi
        if sid not in loaded and any(a <= end and b >= start for start, end in windows[learner_id]):
            overlapping[sid] = (learner_id, lesson_id)
    if overlapping:
        for beat in await _beats_of(
            s, list(overlapping), lo_dt - _CLOCK_MARGIN, hi_dt + _CLOCK_MARGIN
        ):
            if beat.creditable:
                times[overlapping[beat.session_id]].append(beat.received_ms)
    for (learner_id, lesson_id), reg in regs.items():
        reg.other_credits = sorted(
            t
            for (other_learner, other_lesson), ts in times.items()
            if other_learner == learner_id and other_lesson != lesson_id
            for t in ts
        )


def _ms_dt(ms: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC)


async def scored_attempts(
    s: AsyncSession, since: dt.datetime, after: tuple[dt.datetime, int] | None, limit: int
) -> list[tuple[dt.datetime, ExamResult]]:
    """Attempts scored since ``since`` that have no statement yet, in order of finishing,
    with the exact time each finished (the keyset cursor)."""
    q = (
        select(ExamAttempt, Exam, Course)
        .join(Exam, Exam.id == ExamAttempt.exam_id)
        .join(Course, Course.id == Exam.course_id)
        .where(
            ExamAttempt.finished_at >= since,
            ExamAttempt.score.is_not(None),
            _not_enqueued(EXAM, cast(ExamAttempt.id, String)),
        )
        .order_by(ExamAttempt.finished_at, ExamAttempt.id)
        .limit(limit)
    )
    if after is not None:
        q = q.where(tuple_(ExamAttempt.finished_at, ExamAttempt.id) > tuple_(*after))
    out = []
    for attempt, exam, course in (await s.execute(q)).all():
        assert attempt.finished_at is not None  # noqa: S101 - filtered above
        out.append((attempt.finished_at, _result(attempt, exam, course)))
    return out


def _result(attempt: ExamAttempt, exam: Exam, course: Course) -> ExamResult:
    assert attempt.finished_at is not None  # noqa: S101 - only scored attempts come here
    return ExamResult(
        attempt_id=attempt.id,
        learner_id=attempt.learner_id,
        number=attempt.number,
        course_id=course.id,
        course_title=course.title,
        exam_id=exam.id,
        exam_title=exam.title,
        started_ms=dt_to_ms(attempt.started_at),
        finished_ms=dt_to_ms(attempt.finished_at),
        items=len(attempt.items),
        correct=attempt.correct or 0,
        score=attempt.score or 0,
        passed=bool(attempt.passed),
    )


async def voided_results(s: AsyncSession, since: dt.datetime) -> list[tuple[dt.datetime, int]]:
    """Scored attempts a 考试作弊 finding decided since ``since`` stands on, whose result
    statement is not voided yet: (when it was decided, attempt id)."""
    q = (
        voided_attempt_ids()
        .add_columns(ReviewCase.decided_at)
        .join(ExamAttempt, ExamAttempt.id == DetectionFlag.attempt_id)
        .where(
            ReviewCase.decided_at >= since,
            ExamAttempt.score.is_not(None),
            _not_enqueued(EXAM_VOID, cast(ExamAttempt.id, String)),
        )
        .order_by(ReviewCase.decided_at, ExamAttempt.id)
    )
    seen: dict[int, dt.datetime] = {}
    for attempt_id, decided_at in (await s.execute(q)).all():
        if attempt_id is not None and decided_at is not None:
            seen.setdefault(attempt_id, decided_at)
    return [(at, aid) for aid, at in seen.items()]


async def reinstated_results(
    s: AsyncSession, since: dt.datetime
) -> list[tuple[dt.datetime, ExamResult]]:
    """Attempts whose result was voided and whose finding an appeal decided since ``since``
    lifted (and no other finding stands on): the result to state again."""
    ref = cast(ExamAttempt.id, String)
    q = (
        select(ReviewCase.appeal_decided_at, ExamAttempt, Exam, Course)
        .join(DetectionFlag, DetectionFlag.case_id == ReviewCase.id)
        .join(ExamAttempt, ExamAttempt.id == DetectionFlag.attempt_id)
        .join(Exam, Exam.id == ExamAttempt.exam_id)
        .join(Course, Course.id == Exam.course_id)
        .where(
            ReviewCase.state == CaseState.APPEAL_UPHELD,
            ReviewCase.appeal_decided_at >= since,
            ExamAttempt.score.is_not(None),
            exists().where(XapiOutbox.source == EXAM_VOID, XapiOutbox.source_ref == ref),
            _not_enqueued(EXAM_REINSTATED, ref),
            ExamAttempt.id.not_in(voided_attempt_ids()),
        )
        .order_by(ReviewCase.appeal_decided_at, ExamAttempt.id)
    )
    seen: dict[int, tuple[dt.datetime, ExamResult]] = {}
    for at, attempt, exam, course in (await s.execute(q)).all():
        if at is not None and attempt.id not in seen:
            seen[attempt.id] = (at, _result(attempt, exam, course))
    return list(seen.values())
