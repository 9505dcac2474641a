"""Editing a course lesson by lesson, publishing and retiring it (Art. 6-7, 11).

A course is written as a draft: lessons are added one by one and get their videos by upload
(see ``media.py``); it is published once every lesson has a playable video, and retired when
withdrawn for good (learners' archives keep it; the catalog no longer offers it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from models import AuditEvent, Course, Lesson, LessonProgress, MediaJob, MediaState, utcnow
from proctor.catalog.inputs import MAX_LESSONS
from proctor.catalog.media import managed_lesson
from proctor.catalog.views import CourseDetail, LessonView, course_detail
from proctor.catalog.visibility import can_manage, load_visible, viewer_of
from proctor.credits.policy import credit_rules
from proctor.kernel.authz import APPROVER_ROLES, Actor
from proctor.kernel.context import Context
from proctor.kernel.errors import Conflict, Forbidden, InvalidInput


def _lesson_view(lesson: Lesson) -> LessonView:
    return LessonView(
        lesson.id, lesson.ordinal, lesson.title, lesson.duration_seconds, lesson.video_url
    )


async def managed_course(s: AsyncSession, actor: Actor, course_id: int) -> Course:
    """A course the actor manages (404 when not visible to them, 403 when only visible)."""
    actor.require(APPROVER_ROLES, "编辑课程")
    course = await load_visible(s, await viewer_of(s, actor), course_id)
    if not can_manage(actor, course):
        raise Forbidden("只有课程所属机构的管理员可以编辑课程")
    return course


def _title(value: str) -> str:
    title = value.strip()
    if not title:
        raise InvalidInput("请填写课时名称", field="title")
    return title[:200]


def _audit(actor: Actor, action: str, target: str, **detail: Any) -> AuditEvent:
    return AuditEvent(actor_id=actor.account_id, action=action, target=target, detail=detail)


async def add_lesson(ctx: Context, actor: Actor, course_id: int, title: str) -> LessonView:
    """A new last lesson, waiting for its video (a published course takes none: retire or
    draft it first, so learners never meet a lesson they cannot play)."""
    title = _title(title)
    async with ctx.db.begin() as s:
        course = await managed_course(s, actor, course_id)
        if course.published:
            raise Conflict("已发布的课程不能增加课时，请先下线课程", field="course_id")
        count = int(await s.scalar(select(func.count()).where(Lesson.course_id == course.id)) or 0)
        if count >= MAX_LESSONS:
            raise InvalidInput(f"一门课程最多 {MAX_LESSONS} 个课时", field="title")
        last = await s.scalar(select(func.max(Lesson.ordinal)).where(Lesson.course_id == course.id))
        lesson = Lesson(
            course_id=course.id,
            ordinal=(last or 0) + 1,
            title=title,
            duration_seconds=0,
            video_url="",
        )
        s.add(lesson)
        await s.flush()
        s.add(_audit(actor, "lesson.add", f"lesson:{lesson.id}", course_id=course.id))
        return _lesson_view(lesson)


async def rename_lesson(ctx: Context, actor: Actor, lesson_id: int, title: str) -> LessonView:
    """A lesson's new title."""
    title = _title(title)
    async with ctx.db.begin() as s:
        lesson, _ = await managed_lesson(s, actor, lesson_id)
        s.add(_audit(actor, "lesson.rename", f"lesson:{lesson.id}", title=[lesson.title, title]))
        lesson.title = title
        return _lesson_view(lesson)


async def remove_lesson(ctx: Context, actor: Actor, lesson_id: int) -> None:
    """Delete a lesson nobody has studied, of a course not published."""
    async with ctx.db.begin() as s:
        lesson, course = await managed_lesson(s, actor, lesson_id)
        if course.published:
            raise Conflict("已发布的课程不能删除课时，请先下线课程", field="lesson_id")
        studied = await s.scalar(
            select(func.count())
            .select_from(LessonProgress)
            .where(LessonProgress.lesson_id == lesson.id)
        )
        if studied:
            raise Conflict("已有学员学习过该课时，不能删除", field="lesson_id")
        for job in await s.scalars(select(MediaJob).where(MediaJob.lesson_id == lesson.id)):
            await s.delete(job)
        s.add(_audit(actor, "lesson.remove", f"lesson:{lesson.id}", course_id=course.id))
        await s.delete(lesson)
        try:
            await s.flush()
        except IntegrityError as exc:
            raise Conflict("该课时已有学习记录，不能删除", field="lesson_id") from exc


@dataclass(frozen=True)
class Readiness:
    """Why a course cannot be published yet (empty: it can)."""

    problems: list[str]


async def readiness(s: AsyncSession, course: Course) -> Readiness:
    """Every lesson must have a playable video and no video job still running."""
    lessons = list(
        await s.scalars(
            select(Lesson).where(Lesson.course_id == course.id).order_by(Lesson.ordinal)
        )
    )
    problems: list[str] = []
    if not lessons:
        problems.append("课程还没有课时")
    if course.lecture_seconds <= 0:
        problems.append("请填写讲授时长")
    busy = set(
        await s.scalars(
            select(MediaJob.lesson_id).where(
                MediaJob.lesson_id.in_([le.id for le in lessons]),
                MediaJob.state.in_([MediaState.QUEUED, MediaState.RUNNING]),
            )
        )
    )
    for lesson in lessons:
        if lesson.id in busy:
            problems.append(f"第 {lesson.ordinal} 课时“{lesson.title}”的视频仍在转码")
        elif not lesson.video_url or lesson.duration_seconds <= 0:
            problems.append(f"第 {lesson.ordinal} 课时“{lesson.title}”还没有视频")
    return Readiness(problems)


async def publish(ctx: Context, actor: Actor, course_id: int) -> CourseDetail:
    """Offer the course in the catalog of everyone below its owner (Art. 6-7)."""
    async with ctx.db.begin() as s:
        course = await managed_course(s, actor, course_id)
        if course.published:
            raise Conflict("课程已发布", field="course_id")
        ready = await readiness(s, course)
        if ready.problems:
            raise Conflict("课程还不能发布：" + "；".join(ready.problems), field="lessons")
        course.published = True
        course.retired_at = None
        s.add(_audit(actor, "course.publish", f"course:{course.id}"))
        await s.flush()
        return await course_detail(
            s, credit_rules(ctx.settings), actor, await viewer_of(s, actor), course
        )


async def retire(ctx: Context, actor: Actor, course_id: int) -> CourseDetail:
    """Withdraw a published course: no new learner takes it; credits earned stay (Art. 13)."""
    async with ctx.db.begin() as s:
        course = await managed_course(s, actor, course_id)
        if not course.published:
            raise Conflict("课程未发布，无须下线", field="course_id")
        course.published = False
        course.retired_at = utcnow()
        s.add(_audit(actor, "course.retire", f"course:{course.id}"))
        await s.flush()
        return await course_detail(
            s, credit_rules(ctx.settings), actor, await viewer_of(s, actor), course
        )
