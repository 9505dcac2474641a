"""The learner's own standing on a course: per-lesson verified progress, and where "继续学习"
goes (which lesson, which second).

The second is derived from verified coverage (``lesson_progress``), exactly as the tracker
derives the point the player seeks to when a session starts: the start of the first part
not yet verified. The lesson is the one studied last when it is not yet complete, else the
next incomplete one after it, else the first incomplete one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from models import Lesson, LessonProgress, Role, StudySession
from proctor.kernel.authz import Actor
from proctor.kernel.context import Context
from tracker import segments


@dataclass(frozen=True)
class LessonStanding:
    """One lesson as the learner stands on it."""

    lesson_id: int
    ordinal: int
    title: str
    duration_s: int
    covered_s: int
    completed: bool
    resume_s: int  # where the player will start (0 when complete or not started)

    @property
    def percent(self) -> int:
        if self.completed:
            return 100
        return min(99, 100 * self.covered_s // self.duration_s) if self.duration_s else 0

    @property
    def started(self) -> bool:
        return self.completed or self.covered_s > 0

    @property
    def resume_label(self) -> str:
        return clock(self.resume_s)


@dataclass(frozen=True)
class CourseStanding:
    """A course's lessons with the learner's progress, and the lesson to continue with."""

    lessons: list[LessonStanding]
    next: LessonStanding | None  # None when there is nothing left to study

    @property
    def started(self) -> bool:
        return any(x.started for x in self.lessons)


def clock(seconds: int) -> str:
    """ "12:05", or "1:02:05" past the hour, as a player shows time."""
    h, rest = divmod(max(0, seconds), 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def _standing(lesson: Lesson, progress: LessonProgress | None) -> LessonStanding:
    duration_ms = lesson.duration_seconds * 1000
    done = progress is not None and progress.completed_at is not None
    covered = segments.decode(progress.segments) if progress else ()
    resume_ms = 0 if done else segments.resume_point(covered, duration_ms)
    # The player does not seek to the very end (it would end at once): start over instead.
    if resume_ms >= duration_ms - 1000:
        resume_ms = 0
    return LessonStanding(
        lesson_id=lesson.id,
        ordinal=lesson.ordinal,
        title=lesson.title,
        duration_s=lesson.duration_seconds,
        covered_s=(progress.covered_ms if progress else 0) // 1000,
        completed=done,
        resume_s=resume_ms // 1000,
    )


def _next(lessons: list[LessonStanding], last_studied: int | None) -> LessonStanding | None:
    open_ = [x for x in lessons if not x.completed]
    if not open_:
        return None
    order = [x.lesson_id for x in lessons]
    if last_studied in order:
        at = order.index(last_studied)
        after = [x for x in lessons[at:] if not x.completed]
        if after:
            return after[0]
    return open_[0]


async def standings(
    s: AsyncSession, learner_id: int, course_ids: Iterable[int]
) -> dict[int, CourseStanding]:
    """Each course's standing for one learner (three queries whatever the number of courses)."""
    ids = sorted(set(course_ids))
    if not ids:
        return {}
    lessons = (
        await s.scalars(
            select(Lesson).where(Lesson.course_id.in_(ids)).order_by(Lesson.ordinal, Lesson.id)
        )
    ).all()
    progress = {
        p.lesson_id: p
        for p in await s.scalars(
            select(LessonProgress).where(
                LessonProgress.learner_id == learner_id,
                LessonProgress.lesson_id.in_([x.id for x in lessons]),
            )
        )
    }
    latest: dict[int, tuple[int, dt.datetime]] = {}
    for course_id, lesson_id, started in (
        await s.execute(
            select(
                StudySession.course_id, StudySession.lesson_id, func.max(StudySession.started_at)
            )
            .where(StudySession.learner_id == learner_id, StudySession.course_id.in_(ids))
            .group_by(StudySession.course_id, StudySession.lesson_id)
        )
    ).all():
        if course_id not in latest or started > latest[course_id][1]:
            latest[course_id] = (lesson_id, started)
    out: dict[int, CourseStanding] = {}
    for course_id in ids:
        rows = [_standing(x, progress.get(x.id)) for x in lessons if x.course_id == course_id]
        last = latest.get(course_id)
        out[course_id] = CourseStanding(rows, _next(rows, last[0] if last else None))
    return out


async def my_standings(
    ctx: Context, actor: Actor, course_ids: Iterable[int]
) -> dict[int, CourseStanding]:
    """The signed-in learner's standing on courses the caller has already let them see
    (staff have none)."""
    if actor.role is not Role.LEARNER or actor.learner_id is None:
        return {}
    async with ctx.db() as s:
        return await standings(s, actor.learner_id, course_ids)
