"""Enrolling in courses and leaving them; a learner's own courses."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from models import (
    Course,
    CourseCompletion,
    CourseKind,
    Enrolment,
    EnrolmentSource,
    Learner,
    Role,
    utcnow,
)
from models.base import Base
from proctor.catalog.views import (
    EnrolmentView,
    classes_with_course,
    course_query,
    course_view,
    course_views,
)
from proctor.catalog.visibility import NOT_VISIBLE, Viewer, is_visible, load_visible, viewer_of
from proctor.credits.policy import credit_rules
from proctor.kernel.authz import Actor
from proctor.kernel.context import Context
from proctor.kernel.errors import Conflict, Forbidden, NotFound


async def insert_ignoring_duplicates(
    session: AsyncSession, model: type[Base], rows: list[dict[str, Any]], keys: list[str]
) -> None:
    """INSERT rows, skipping those that hit the unique ``keys``: safe under concurrent retries."""
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    await session.execute(insert(model).on_conflict_do_nothing(index_elements=keys), rows)


async def ensure_enrolled(
    session: AsyncSession,
    learner_id: int,
    course_id: int,
    source: EnrolmentSource = EnrolmentSource.SELF,
    *,
    training_class_id: int | None = None,
) -> Enrolment:
    """The learner's enrolment in a course, created if missing (idempotent).

    Study of a required course enrols on first use (Art. 11); a course the learner may not
    see is 404. An existing enrolment keeps its original source.
    """
    learner = await session.get(Learner, learner_id)
    course = await session.get(Course, course_id)
    if learner is None or course is None:
        raise NotFound(NOT_VISIBLE)
    if not is_visible(Viewer(learner.org_path, staff=False, learner_id=learner.id), course):
        raise NotFound(NOT_VISIBLE)
    await insert_ignoring_duplicates(
        session,
        Enrolment,
        [
            {
                "learner_id": learner_id,
                "course_id": course_id,
                "source": source,
                "training_class_id": training_class_id,
                "enrolled_at": utcnow(),
            }
        ],
        ["learner_id", "course_id"],
    )
    enrolments = await session.scalars(
        select(Enrolment).where(
            Enrolment.learner_id == learner_id, Enrolment.course_id == course_id
        )
    )
    return enrolments.one()


def _learner_id(actor: Actor) -> int:
    if actor.role is not Role.LEARNER or actor.learner_id is None:
        raise Forbidden("只有学员可以选课或退选")
    return actor.learner_id


async def enrol(ctx: Context, actor: Actor, course_id: int) -> EnrolmentView:
    """A learner chooses a course (Art. 11); enrolling twice keeps the one enrolment."""
    learner_id = _learner_id(actor)
    async with ctx.db.begin() as s:
        enrolment = await ensure_enrolled(s, learner_id, course_id, EnrolmentSource.SELF)
        viewer = await viewer_of(s, actor)
        [view] = await course_views(s, credit_rules(ctx.settings), viewer, [Course.id == course_id])
        return EnrolmentView(
            view, enrolment.source.value, enrolment.training_class_id, enrolment.enrolled_at
        )


async def withdraw(ctx: Context, actor: Actor, course_id: int) -> None:
    """Drop an elective not yet completed and not part of one of the learner's classes."""
    learner_id = _learner_id(actor)
    async with ctx.db.begin() as s:
        viewer = await viewer_of(s, actor)
        course = await load_visible(s, viewer, course_id)
        if course.kind is CourseKind.REQUIRED:
            raise Conflict("必修课程不能退选", field="course_id")
        done = await s.scalar(
            select(CourseCompletion.id).where(
                CourseCompletion.learner_id == learner_id, CourseCompletion.course_id == course_id
            )
        )
        if done is not None:
            raise Conflict("已完成的课程不能退选", field="course_id")
        classes = await classes_with_course(s, learner_id, course_id)
        if classes:
            raise Conflict(
                f"该课程属于您参加的专题培训班“{classes[0]}”，不能退选", field="course_id"
            )
        await s.execute(
            delete(Enrolment).where(
                Enrolment.learner_id == learner_id, Enrolment.course_id == course_id
            )
        )


async def my_courses(ctx: Context, actor: Actor) -> list[EnrolmentView]:
    """The learner's enrolments, newest first (kept even if the course later left their view)."""
    learner_id = _learner_id(actor)
    rules = credit_rules(ctx.settings)
    async with ctx.db() as s:
        rows = (
            await s.execute(
                course_query()
                .add_columns(Enrolment)
                .join(Enrolment, Enrolment.course_id == Course.id)
                .where(Enrolment.learner_id == learner_id)
                .order_by(Enrolment.enrolled_at.desc(), Enrolment.id.desc())
            )
        ).all()
        completed = set(
            await s.scalars(
                select(CourseCompletion.course_id).where(CourseCompletion.learner_id == learner_id)
            )
        )
    return [
        EnrolmentView(
            course_view(
                course,
                cat,
                owner,
                count or 0,
                rules,
                enrolled=True,
                completed=course.id in completed,
            ),
            enrolment.source.value,
            enrolment.training_class_id,
            enrolment.enrolled_at,
        )
        for course, cat, owner, count, enrolment in rows
    ]
