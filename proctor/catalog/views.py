"""Courses as pages and the API show them: credits by the policy, lessons, the viewer's enrolment and progress."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from models import (
    Course,
    CourseCategory,
    CourseCompletion,
    CourseKind,
    Enrolment,
    Lesson,
    OrgLevel,
    OrgUnit,
    TrainingClass,
    TrainingClassCourse,
    TrainingClassMember,
)
from proctor.catalog.inputs import KIND_NAMES
from proctor.catalog.visibility import Viewer, can_manage, visible_clause
from proctor.credits.policy import CreditRules, class_hours, course_credits
from proctor.kernel.authz import Actor


def minutes_label(seconds: int) -> str:
    """Lecture time in minutes for display: 4050 s -> "67.5", 1380 s -> "23"."""
    minutes = (Decimal(seconds) / 60).quantize(Decimal("0.1"))
    return f"{minutes:f}".removesuffix(".0")


@dataclass(frozen=True)
class CourseView:
    """A course as the catalog shows it, with the credits it will earn."""

    id: int
    code: str
    title: str
    category: str
    category_name: str
    kind: CourseKind
    lecture_seconds: int
    class_hours: int
    credits: Decimal
    designated: bool
    owner_org_id: int
    owner_name: str
    local: bool
    published: bool
    lecturer: str
    description: str
    lesson_count: int
    enrolled: bool | None = None
    completed: bool | None = None

    @property
    def kind_label(self) -> str:
        """必修 / 选修."""
        return KIND_NAMES[self.kind]

    @property
    def minutes(self) -> str:
        """Lecture time in minutes."""
        return minutes_label(self.lecture_seconds)

    def as_dict(self) -> dict[str, Any]:
        """JSON shape (credits stay Decimal: the renderer sends them as exact strings)."""
        out = dict(self.__dict__)
        out["kind"] = self.kind.value
        out["kind_label"] = self.kind_label
        out["lecture_minutes"] = self.minutes
        return out


@dataclass(frozen=True)
class LessonView:
    """A lesson (video) of a course."""

    id: int
    ordinal: int
    title: str
    duration_seconds: int
    video_url: str

    @property
    def minutes(self) -> str:
        """Duration in minutes."""
        return minutes_label(self.duration_seconds)

    def as_dict(self) -> dict[str, Any]:
        """JSON shape."""
        return dict(self.__dict__)


@dataclass(frozen=True)
class CourseDetail:
    """A course with its lessons and the viewer's relation to it."""

    course: CourseView
    lessons: list[LessonView]
    enrolment_source: str | None = None
    can_manage: bool = False
    classes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON shape."""
        return self.course.as_dict() | {
            "lessons": [lesson.as_dict() for lesson in self.lessons],
            "enrolment_source": self.enrolment_source,
            "can_manage": self.can_manage,
            "classes": self.classes,
        }


@dataclass(frozen=True)
class EnrolmentView:
    """A learner's enrolment in a course."""

    course: CourseView
    source: str
    training_class_id: int | None
    enrolled_at: Any

    def as_dict(self) -> dict[str, Any]:
        """JSON shape."""
        return {
            "course": self.course.as_dict(),
            "source": self.source,
            "training_class_id": self.training_class_id,
            "enrolled_at": self.enrolled_at,
        }


def course_view(
    course: Course,
    category: CourseCategory,
    owner: OrgUnit,
    lesson_count: int,
    rules: CreditRules,
    *,
    enrolled: bool | None = None,
    completed: bool | None = None,
) -> CourseView:
    """Build the view; credits come from the one credit policy, never recomputed here."""
    return CourseView(
        id=course.id,
        code=course.code,
        title=course.title,
        category=category.code,
        category_name=category.name,
        kind=course.kind,
        lecture_seconds=course.lecture_seconds,
        class_hours=class_hours(course.lecture_seconds, rules),
        credits=course_credits(
            course.kind, course.lecture_seconds, course.designated_credits, rules
        ),
        designated=course.designated_credits is not None,
        owner_org_id=owner.id,
        owner_name=owner.name,
        local=owner.level is not OrgLevel.PROVINCE,
        published=course.published,
        lecturer=course.lecturer,
        description=course.description,
        lesson_count=lesson_count,
        enrolled=enrolled,
        completed=completed,
    )


def _lesson_count() -> Any:
    return (
        select(func.count())
        .select_from(Lesson)
        .where(Lesson.course_id == Course.id)
        .correlate(Course)
        .scalar_subquery()
    )


def course_query() -> Any:
    return (
        select(Course, CourseCategory, OrgUnit, _lesson_count())
        .join(CourseCategory, CourseCategory.id == Course.category_id)
        .join(OrgUnit, OrgUnit.id == Course.owner_org_id)
    )


async def course_views(
    session: AsyncSession,
    rules: CreditRules,
    viewer: Viewer,
    where: Sequence[ColumnElement[bool]] = (),
    *,
    limit: int | None = None,
    offset: int = 0,
    check_visibility: bool = True,
) -> list[CourseView]:
    """Visible courses matching ``where``, in catalog order, with the learner's status."""
    if check_visibility:
        where = [visible_clause(viewer), *where]
    stmt = course_query().where(*where).order_by(*_catalog_order())
    if limit is not None:
        stmt = stmt.limit(limit).offset(offset)
    rows = (await session.execute(stmt)).all()
    enrolled, completed = await _learner_marks(session, viewer, [r[0].id for r in rows])
    learner = viewer.learner_id is not None
    return [
        course_view(
            course,
            cat,
            owner,
            count or 0,
            rules,
            enrolled=(course.id in enrolled) if learner else None,
            completed=(course.id in completed) if learner else None,
        )
        for course, cat, owner, count in rows
    ]


def _catalog_order() -> list[Any]:
    # Required first, then by category as the measures list them; codes are ASCII, so the
    # order is the same on SQLite and PostgreSQL whatever the collation.
    return [
        case((Course.kind == CourseKind.REQUIRED, 0), else_=1),
        CourseCategory.ordinal,
        Course.code,
        Course.id,
    ]


async def _learner_marks(
    session: AsyncSession, viewer: Viewer, course_ids: list[int]
) -> tuple[set[int], set[int]]:
    if viewer.learner_id is None or not course_ids:
        return set(), set()
    enrolled = await session.scalars(
        select(Enrolment.course_id).where(
            Enrolment.learner_id == viewer.learner_id, Enrolment.course_id.in_(course_ids)
        )
    )
    completed = await session.scalars(
        select(CourseCompletion.course_id).where(
            CourseCompletion.learner_id == viewer.learner_id,
            CourseCompletion.course_id.in_(course_ids),
        )
    )
    return set(enrolled), set(completed)


async def course_detail(
    session: AsyncSession, rules: CreditRules, actor: Actor, viewer: Viewer, course: Course
) -> CourseDetail:
    [view] = await course_views(session, rules, viewer, [Course.id == course.id])
    lessons = (
        await session.scalars(
            select(Lesson).where(Lesson.course_id == course.id).order_by(Lesson.ordinal)
        )
    ).all()
    source: str | None = None
    class_names: list[str] = []
    if viewer.learner_id is not None:
        enrolment = await session.scalar(
            select(Enrolment).where(
                Enrolment.learner_id == viewer.learner_id, Enrolment.course_id == course.id
            )
        )
        source = enrolment.source.value if enrolment is not None else None
        class_names = list(await classes_with_course(session, viewer.learner_id, course.id))
    return CourseDetail(
        course=view,
        lessons=[
            LessonView(les.id, les.ordinal, les.title, les.duration_seconds, les.video_url)
            for les in lessons
        ],
        enrolment_source=source,
        can_manage=can_manage(actor, course),
        classes=class_names,
    )


async def classes_with_course(
    session: AsyncSession, learner_id: int, course_id: int
) -> Sequence[str]:
    return (
        await session.scalars(
            select(TrainingClass.name)
            .join(TrainingClassMember, TrainingClassMember.class_id == TrainingClass.id)
            .join(TrainingClassCourse, TrainingClassCourse.class_id == TrainingClass.id)
            .where(
                TrainingClassMember.learner_id == learner_id,
                TrainingClassCourse.course_id == course_id,
            )
            .order_by(TrainingClass.id)
        )
    ).all()
