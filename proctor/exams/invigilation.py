"""Invigilation: the page's reported events, the server's own observations (address, device,
concurrent study or attempts), and the exam flag for a person to review when thresholds
are crossed (never an automatic fail).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from models import (
    AttemptState,
    DetectionFlag,
    Exam,
    ExamAttempt,
    ExamEvent,
    Heartbeat,
    StudySession,
)
from proctor.exams import rules
from proctor.kernel.calendar import ACADEMY_TZ
from proctor.kernel.context import Context
from proctor.review.intake import raise_flags

# A study beat this close to the attempt's window counts as inside it (one beat interval
# and network jitter).
STUDY_TOLERANCE = dt.timedelta(seconds=15)


# Server observations recorded once per new value (address, device, session, attempt).
WATCHED = ("ip_change", "device_change", "concurrent_study", "concurrent_attempt")


async def watch(
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


async def invigilation_flag(
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
    reasons = rules.invigilation_reasons(
        (e.kind for e in events), rules.invigilation_limits(ctx.settings)
    )
    if not reasons:
        return
    day = attempt.started_at.astimezone(ACADEMY_TZ).date()
    risk = min(0.95, 0.4 + 0.15 * len(reasons))
    await raise_flags(
        s,
        [
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
        ],
    )
