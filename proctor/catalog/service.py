"""Course catalog and enrolment (Art. 6, 7, 11), always as seen by the signed-in actor.

Visibility: a course owned by the province or by a city is visible to everyone whose org path
lies below its owner (the owner is an ancestor-or-self of the viewer). Staff additionally see
courses owned inside their own subtree, including unpublished drafts. Anything else is 404.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, and_, case, delete, func, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from models import (
    AuditEvent,
    Course,
    CourseCategory,
    CourseCompletion,
    CourseKind,
    Enrolment,
    EnrolmentSource,
    Learner,
    Lesson,
    OrgLevel,
    OrgUnit,
    Role,
    TrainingClass,
    TrainingClassCourse,
    TrainingClassMember,
    utcnow,
)
from models.base import Base
from proctor.catalog import inputs
from proctor.catalog.inputs import KIND_NAMES, LessonInput
from proctor.credits.policy import CreditRules, class_hours, course_credits, credit_rules
from proctor.kernel.authz import APPROVER_ROLES, Actor
from proctor.kernel.context import Context
from proctor.kernel.errors import Conflict, Forbidden, InvalidInput, NotFound

PER_PAGE = 20
NOT_VISIBLE = "课程不存在或不在您的可见范围内"


# ---------------------------------------------------------------- visibility


@dataclass(frozen=True)
class Viewer:
    """Whose eyes a catalog query uses: an org path, and whether it is staff."""

    path: str
    staff: bool
    learner_id: int | None = None


def ancestor_paths(path: str) -> list[str]:
    """Every materialised path from the root down to ``path`` itself."""
    parts = [p for p in path.strip("/").split("/") if p]
    return ["/" + "/".join(parts[:i]) + "/" for i in range(1, len(parts) + 1)]


async def viewer_of(session: AsyncSession, actor: Actor) -> Viewer:
    """A learner is placed by their learner record (moves update it); staff by their account."""
    if actor.role is not Role.LEARNER:
        return Viewer(actor.org_path, staff=True)
    if actor.learner_id is None:
        raise NotFound(NOT_VISIBLE)
    learner = await session.get(Learner, actor.learner_id)
    path = learner.org_path if learner is not None else actor.org_path
    return Viewer(path, staff=False, learner_id=actor.learner_id)


def visible_clause(viewer: Viewer) -> ColumnElement[bool]:
    """SQL filter: courses this viewer may see."""
    shared = and_(Course.owner_path.in_(ancestor_paths(viewer.path)), Course.published.is_(True))
    if not viewer.staff:
        return shared
    return or_(shared, Course.owner_path.startswith(viewer.path))


def is_visible(viewer: Viewer, course: Course) -> bool:
    """Python twin of :func:`visible_clause` for one loaded course."""
    if course.published and viewer.path.startswith(course.owner_path):
        return True
    return viewer.staff and course.owner_path.startswith(viewer.path)


def can_manage(actor: Actor, course: Course) -> bool:
    """The academy manages every course in its subtree; a city org admin its own local ones."""
    if actor.role is Role.ACADEMY_ADMIN:
        return actor.covers(course.owner_path)
    return actor.role is Role.ORG_ADMIN and course.owner_org_id == actor.org_id


# ---------------------------------------------------------------- views


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


def _base_query() -> Any:
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
    stmt = _base_query().where(*where).order_by(*_catalog_order())
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


# ---------------------------------------------------------------- catalog queries


async def categories(ctx: Context) -> list[CourseCategory]:
    """The ten content categories of Art. 7, in the measures' order."""
    async with ctx.db() as s:
        return list(
            (await s.scalars(select(CourseCategory).order_by(CourseCategory.ordinal))).all()
        )


async def _category_by_code(session: AsyncSession, code: str, field: str) -> CourseCategory:
    category = await session.scalar(select(CourseCategory).where(CourseCategory.code == code))
    if category is None:
        raise InvalidInput(f"课程分类不存在：{code}", field=field)
    return category


async def search(
    ctx: Context,
    actor: Actor,
    *,
    category: str = "",
    kind: str = "",
    q: str = "",
    page: int = 1,
    per_page: int = PER_PAGE,
) -> tuple[int, list[CourseView]]:
    """Visible courses matching the filters: total and one page, in catalog order."""
    async with ctx.db() as s:
        viewer = await viewer_of(s, actor)
        where: list[ColumnElement[bool]] = []
        if category:
            cat = await _category_by_code(s, category, "category")
            where.append(Course.category_id == cat.id)
        if kind:
            where.append(Course.kind == inputs.kind(kind))
        if q:
            where.append(
                or_(
                    Course.title.icontains(q, autoescape=True),
                    Course.lecturer.icontains(q, autoescape=True),
                    Course.code == q,
                )
            )
        count_stmt = (
            select(func.count())
            .select_from(Course)
            .join(CourseCategory, CourseCategory.id == Course.category_id)
            .where(visible_clause(viewer), *where)
        )
        total = await s.scalar(count_stmt) or 0
        rows = await course_views(
            s,
            credit_rules(ctx.settings),
            viewer,
            where,
            limit=per_page,
            offset=(max(page, 1) - 1) * per_page,
        )
    return total, rows


async def load_visible(session: AsyncSession, viewer: Viewer, course_id: int) -> Course:
    """A course the viewer may see, or 404 (never saying whether it exists)."""
    course = await session.get(Course, course_id)
    if course is None or not is_visible(viewer, course):
        raise NotFound(NOT_VISIBLE)
    return course


async def get_course(ctx: Context, actor: Actor, course_id: int) -> CourseDetail:
    """A visible course with its lessons, credits and the viewer's enrolment."""
    async with ctx.db() as s:
        viewer = await viewer_of(s, actor)
        course = await load_visible(s, viewer, course_id)
        return await _detail(s, credit_rules(ctx.settings), actor, viewer, course)


async def _detail(
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
        class_names = list(await _classes_with_course(session, viewer.learner_id, course.id))
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


async def _classes_with_course(
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


# ---------------------------------------------------------------- authoring


async def _owner_for(session: AsyncSession, actor: Actor, owner_org_id: int | None) -> OrgUnit:
    """The org that will own a new course, if the actor may develop courses for it (Art. 7)."""
    if owner_org_id is None:
        org = await session.get_one(OrgUnit, actor.org_id)
    else:
        found = await session.get(OrgUnit, owner_org_id)
        if found is None:
            raise NotFound("机构不存在或不在您的管理范围内", field="owner_org_id")
        org = found
    if org.level is OrgLevel.PROVINCE:
        if actor.role is not Role.ACADEMY_ADMIN:
            raise Forbidden("只有学院管理员可以开发省级课程", field="owner_org_id")
        return org
    if not actor.covers(org.path):
        raise NotFound("机构不存在或不在您的管理范围内", field="owner_org_id")
    if org.level is not OrgLevel.CITY:
        if owner_org_id is None:
            raise Forbidden("只有学院和市州组织部门可以开发课程", field="owner_org_id")
        raise InvalidInput(
            "本地课程只能由市州开发（课程所属机构应为省或市州）", field="owner_org_id"
        )
    if actor.role is Role.ACADEMY_ADMIN or actor.org_id == org.id:
        return org
    raise Forbidden("只有该市州的组织管理员可以开发本地课程", field="owner_org_id")


def _new_code() -> str:
    return f"C{secrets.token_hex(5).upper()}"


async def create_course(
    ctx: Context, actor: Actor, data: dict[str, Any], *, owner_org_id: int | None = None
) -> CourseDetail:
    """Create a course owned by the province (academy) or by the actor's city (local course)."""
    actor.require(APPROVER_ROLES, "开发课程")
    fields = inputs.course_fields(data, partial=False)
    async with ctx.db.begin() as s:
        owner = await _owner_for(s, actor, owner_org_id)
        category = await _category_by_code(s, fields["category"], "category")
        code = fields.get("code") or _new_code()
        if await s.scalar(select(Course.id).where(Course.code == code)) is not None:
            raise Conflict(f"课程编号已存在：{code}", field="code")
        course = Course(
            code=code,
            title=fields["title"],
            category_id=category.id,
            kind=fields["kind"],
            lecture_seconds=fields["lecture_seconds"],
            designated_credits=fields.get("designated_credits"),
            owner_org_id=owner.id,
            owner_path=owner.path,
            lecturer=fields.get("lecturer", ""),
            description=fields.get("description", ""),
            published=fields.get("published", True),
        )
        s.add(course)
        await s.flush()
        await _set_lessons(s, course, fields["lessons"])
        s.add(
            AuditEvent(
                actor_id=actor.account_id,
                action="course.create",
                target=f"course:{course.id}",
                detail={"code": code, "owner_org_id": owner.id},
            )
        )
        viewer = await viewer_of(s, actor)
        return await _detail(s, credit_rules(ctx.settings), actor, viewer, course)


async def _set_lessons(session: AsyncSession, course: Course, lessons: list[LessonInput]) -> None:
    """Replace the lesson list, keeping lesson ids by position: study records point at them."""
    existing = {
        les.ordinal: les
        for les in (await session.scalars(select(Lesson).where(Lesson.course_id == course.id)))
    }
    for ordinal, item in enumerate(lessons, start=1):
        lesson = existing.pop(ordinal, None)
        if lesson is None:
            session.add(
                Lesson(
                    course_id=course.id,
                    ordinal=ordinal,
                    title=item.title,
                    duration_seconds=item.duration_seconds,
                    video_url=item.video_url,
                )
            )
        else:
            lesson.title = item.title
            lesson.duration_seconds = item.duration_seconds
            lesson.video_url = item.video_url
    for lesson in existing.values():
        await session.delete(lesson)
    try:
        await session.flush()
    except IntegrityError as exc:
        raise Conflict("已有学习记录的课时视频不能删除", field="lessons") from exc


async def update_course(
    ctx: Context, actor: Actor, course_id: int, data: dict[str, Any]
) -> CourseDetail:
    """Change a course the actor manages (title, category, kind, time, credits, lessons, ...)."""
    actor.require(APPROVER_ROLES, "修改课程")
    fields = inputs.course_fields(data, partial=True)
    async with ctx.db.begin() as s:
        viewer = await viewer_of(s, actor)
        course = await load_visible(s, viewer, course_id)
        if not can_manage(actor, course):
            raise Forbidden("只有课程所属机构的管理员可以修改课程")
        if "category" in fields:
            course.category_id = (await _category_by_code(s, fields["category"], "category")).id
        for name in (
            "title",
            "kind",
            "lecture_seconds",
            "designated_credits",
            "lecturer",
            "description",
            "published",
        ):
            if name in fields:
                setattr(course, name, fields[name])
        if "lessons" in fields:
            await _set_lessons(s, course, fields["lessons"])
        s.add(
            AuditEvent(
                actor_id=actor.account_id,
                action="course.update",
                target=f"course:{course.id}",
                detail={"fields": sorted(fields)},
            )
        )
        await s.flush()
        return await _detail(s, credit_rules(ctx.settings), actor, viewer, course)


async def set_published(
    ctx: Context, actor: Actor, course_id: int, published: bool
) -> CourseDetail:
    """Publish or withdraw a course from learners' catalog."""
    return await update_course(ctx, actor, course_id, {"published": published})


# ---------------------------------------------------------------- enrolment


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
        classes = await _classes_with_course(s, learner_id, course_id)
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
                _base_query()
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
