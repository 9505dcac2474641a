"""Review fixtures: study with its raw trace, credits earned through it, and flags."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from models import (
    Course,
    DetectionFlag,
    Heartbeat,
    Lesson,
    SessionEvent,
    SessionSummary,
    StudySession,
)
from proctor.kernel.calendar import ACADEMY_TZ
from proctor.kernel.context import Context
from proctor.review.intake import intake
from tests.factories import World
from tests.proctor.archive.helpers import YEAR, add_course, complete

# A week inside the current credit year, so that credits and cases share a year.
START = dt.date(YEAR, 3, 2)
END = dt.date(YEAR, 3, 8)


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    """A Beijing-time instant in the week, as UTC."""
    return dt.datetime(YEAR, 3, day, hour, minute, tzinfo=ACADEMY_TZ).astimezone(dt.UTC)


async def add_lesson(ctx: Context, course: Course) -> Lesson:
    """One 45-minute lesson of a course."""
    async with ctx.db.begin() as s:
        lesson = Lesson(
            course_id=course.id, ordinal=1, title=f"{course.title} 第1讲", duration_seconds=2700
        )
        s.add(lesson)
    return lesson


async def study(
    ctx: Context,
    learner_id: int,
    lesson: Lesson,
    start: dt.datetime,
    *,
    minutes: int = 40,
    verified: float = 1.0,
    device: str = "dev-own",
    ip: str = "10.0.0.1",
    seek_at: int | None = None,
    challenge: bool = False,
) -> str:
    """A finished session with a beat every minute, its summary, optionally a seek."""
    sid = uuid.uuid4().hex
    end = start + dt.timedelta(minutes=minutes)
    async with ctx.db.begin() as s:
        s.add(
            StudySession(
                id=sid,
                learner_id=learner_id,
                lesson_id=lesson.id,
                course_id=lesson.course_id,
                started_at=start,
                ended_at=end,
                end_reason="ended",
                interval_s=60,
                device=device,
                user_agent="Mozilla/5.0 Chrome/120",
                ip=ip,
            )
        )
        await s.flush()
        position = 0
        for n in range(1, minutes + 1):
            jump = seek_at is not None and n == seek_at
            position += 600_000 if jump else 60_000
            s.add(
                Heartbeat(
                    evidence_id=f"{sid[:20]}-{n}",
                    session_id=sid,
                    seq=n,
                    received_at=start + dt.timedelta(minutes=n),
                    client_time_ms=None,
                    position_ms=position,
                    rate=1.0,
                    paused=False,
                    visible=n % 7 != 0,
                    focused=True,
                    muted=False,
                    volume=1.0,
                    interactions=1,
                    elapsed_ms=60_000,
                    credited_ms=0 if jump else int(60_000 * verified),
                    new_coverage_ms=60_000,
                    accepted=not jump,
                    codes="seek" if jump else "",
                    ip=ip,
                )
            )
        if challenge:
            s.add(
                SessionEvent(
                    evidence_id=f"{sid[:20]}-c1",
                    session_id=sid,
                    at=start + dt.timedelta(minutes=5),
                    kind="challenge_issued",
                    detail={"challenge_id": "c1"},
                )
            )
            s.add(
                SessionEvent(
                    evidence_id=f"{sid[:20]}-c2",
                    session_id=sid,
                    at=start + dt.timedelta(minutes=5, seconds=7),
                    kind="challenge_answered",
                    detail={"challenge_id": "c1", "correct": True, "latency_ms": 7000},
                )
            )
        s.add(
            SessionSummary(
                session_id=sid,
                learner_id=learner_id,
                course_id=lesson.course_id,
                lesson_id=lesson.id,
                started_at=start,
                ended_at=end,
                wall_s=minutes * 60.0,
                verified_s=minutes * 60.0 * verified,
                new_coverage_s=minutes * 60.0 * verified,
                beats=minutes,
                rejected_beats=1 if seek_at else 0,
                features={},
                device=device,
                ip=ip,
                user_agent="Mozilla/5.0 Chrome/120",
            )
        )
    return sid


async def flag(
    ctx: Context,
    learner_id: int,
    *,
    start: dt.date = START,
    end: dt.date = END,
    risk: float = 0.9,
    band: str = "high",
    rules: list[dict[str, Any]] | None = None,
    kind: str = "behaviour",
    source: str = "study",
    evidence: dict[str, Any] | None = None,
) -> int:
    """A detection flag, taken into the review queue at once."""
    async with ctx.db.begin() as s:
        f = DetectionFlag(
            learner_id=learner_id,
            period_start=start,
            period_end=end,
            risk=risk,
            band=band,
            kind=kind,
            rules=rules
            if rules is not None
            else [{"id": "R01", "name": "并行多开学习", "kind": "behaviour", "text": "60% 并行"}],
            drivers=[
                {
                    "feature": "overlap_share",
                    "label": "并行学习占比",
                    "value": 0.6,
                    "percentile": 99.5,
                    "benign": "无",
                }
            ],
            model_version="det-test-1",
            thresholds={"R01.overlap_share": 0.2},
            source=source,
            evidence=evidence or {},
        )
        s.add(f)
        await s.flush()
        await intake(s)
        return f.id


async def case_of(ctx: Context, flag_id: int) -> int:
    """The case a flag was merged into."""
    async with ctx.db() as s:
        case_id = await s.scalar(select(DetectionFlag.case_id).where(DetectionFlag.id == flag_id))
    assert case_id is not None
    return case_id


@dataclass
class Fraud:
    """zhang studied two courses in the flagged week (credits earned), one before it."""

    case_id: int
    in_period: list[int]  # credit entry ids earned through the week's sessions
    before: int  # credit entry id of a course studied before the week
    session_id: str


async def seed_fraud(ctx: Context, world: World) -> Fraud:
    """A flagged week of zhang's with two courses credited through it."""
    zhang = world.learners["zhang"].id
    a = await add_course(ctx, world, "F1", "党史学习教育")
    b = await add_course(ctx, world, "F2", "乡村振兴战略")
    old = await add_course(ctx, world, "F0", "公文写作")
    la, lb, lo = await add_lesson(ctx, a), await add_lesson(ctx, b), await add_lesson(ctx, old)
    sid = await study(ctx, zhang, la, at(3, 9), seek_at=12, challenge=True)
    await study(ctx, zhang, lb, at(3, 9, 10), device="dev-other", ip="10.0.0.9")
    await study(ctx, zhang, lo, at(1, 9) - dt.timedelta(days=20))
    entries = [await complete(ctx, zhang, a), await complete(ctx, zhang, b)]
    before = await complete(ctx, zhang, old)
    case_id = await case_of(ctx, await flag(ctx, zhang))
    return Fraud(case_id, entries, before, sid)
