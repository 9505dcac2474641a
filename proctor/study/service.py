"""Start studying a lesson: check the learner may, then open a tracked session."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from models import Course, Lesson, LessonProgress, Role
from proctor.authz import Actor
from proctor.catalog.service import ensure_enrolled, load_visible, viewer_of
from proctor.context import Context
from proctor.errors import Forbidden, NotFound
from tracker.service import Tracker


async def start(
    ctx: Context,
    tracker: Tracker,
    actor: Actor,
    lesson_id: int,
    *,
    device: str,
    user_agent: str,
    ip: str,
    now_ms: int,
    bind: str = "",
) -> dict[str, Any]:
    """Open a study session on a lesson of a course visible to the learner (enrolling them).

    ``bind`` ties the session's token to the learner's login (tracker/tokens.py).
    """
    if actor.role is not Role.LEARNER or actor.learner_id is None:
        raise Forbidden("只有学员可以学习课程")
    async with ctx.db.begin() as s:
        lesson = await s.get(Lesson, lesson_id)
        if lesson is None:
            raise NotFound("课程内容不存在或您无权学习")
        viewer = await viewer_of(s, actor)
        course = await load_visible(s, viewer, lesson.course_id)
        await ensure_enrolled(s, actor.learner_id, course.id)
    started = await tracker.start_session(
        learner_id=actor.learner_id,
        lesson_id=lesson.id,
        course_id=course.id,
        duration_ms=lesson.duration_seconds * 1000,
        device=device,
        user_agent=user_agent,
        ip=ip,
        now_ms=now_ms,
        bind=bind,
    )
    return started | {"lesson_id": lesson.id, "course_id": course.id}


@dataclass(frozen=True)
class LessonPage:
    """What the player page needs about a lesson and the learner's progress on its course."""

    lesson: Lesson
    course: Course
    lessons: list[tuple[Lesson, int, bool]]  # lesson, covered ms, complete


async def lesson_page(ctx: Context, actor: Actor, lesson_id: int) -> LessonPage:
    """The lesson and its siblings with the learner's verified coverage."""
    if actor.role is not Role.LEARNER or actor.learner_id is None:
        raise Forbidden("只有学员可以学习课程")
    async with ctx.db() as s:
        lesson = await s.get(Lesson, lesson_id)
        if lesson is None:
            raise NotFound("课程内容不存在或您无权学习")
        course = await load_visible(s, await viewer_of(s, actor), lesson.course_id)
        siblings = (
            await s.scalars(
                select(Lesson).where(Lesson.course_id == course.id).order_by(Lesson.ordinal)
            )
        ).all()
        progress = {
            p.lesson_id: p
            for p in (
                await s.scalars(
                    select(LessonProgress).where(
                        LessonProgress.learner_id == actor.learner_id,
                        LessonProgress.lesson_id.in_([x.id for x in siblings]),
                    )
                )
            ).all()
        }
    rows = [
        (
            x,
            progress[x.id].covered_ms if x.id in progress else 0,
            bool(x.id in progress and progress[x.id].completed_at),
        )
        for x in siblings
    ]
    return LessonPage(lesson=lesson, course=course, lessons=rows)
