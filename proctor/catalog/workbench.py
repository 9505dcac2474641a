"""What the course authoring pages show: the courses an administrator manages, and one course
with its lessons' video jobs and what still stands between it and publication."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select

from models import Course, CourseCategory, Lesson, OrgUnit, Role
from proctor.catalog.inputs import KIND_NAMES
from proctor.catalog.lessons import managed_course, readiness
from proctor.catalog.media import JobView, latest_jobs
from proctor.catalog.views import CourseDetail, course_detail
from proctor.catalog.visibility import viewer_of
from proctor.credits.policy import course_credits, credit_rules
from proctor.kernel.authz import APPROVER_ROLES, Actor
from proctor.kernel.context import Context
from proctor.kernel.paging import Count, bounded_count

STATUS_LABELS = {"draft": "草稿", "published": "已发布", "retired": "已下线"}


def status_of(course: Course) -> str:
    """draft, published or retired."""
    if course.published:
        return "published"
    return "retired" if course.retired_at is not None else "draft"


@dataclass(frozen=True)
class ManagedCourse:
    """A course in the authoring list."""

    id: int
    code: str
    title: str
    kind_label: str
    category_name: str
    owner_name: str
    status: str
    status_label: str
    lessons: int
    credits: Decimal

    def as_dict(self) -> dict[str, Any]:
        """JSON shape."""
        return dict(self.__dict__)


def managed_clause(actor: Actor) -> ColumnElement[bool]:
    """Courses the actor manages (the same rule as ``visibility.can_manage``)."""
    if actor.role is Role.ACADEMY_ADMIN:
        return Course.owner_path.startswith(actor.org_path)
    if actor.role is Role.ORG_ADMIN:
        return Course.owner_org_id == actor.org_id
    return and_(Course.id.is_(None), Course.id.is_not(None))


async def managed_courses(
    ctx: Context,
    actor: Actor,
    *,
    q: str = "",
    status: str = "",
    offset: int = 0,
    limit: int = 50,
) -> tuple[Count, list[ManagedCourse]]:
    """The courses the actor develops, newest first."""
    actor.require(APPROVER_ROLES, "管理课程")
    lessons = (
        select(func.count())
        .select_from(Lesson)
        .where(Lesson.course_id == Course.id)
        .correlate(Course)
        .scalar_subquery()
    )
    stmt = (
        select(Course, CourseCategory.name, OrgUnit.name, lessons)
        .join(CourseCategory, CourseCategory.id == Course.category_id)
        .join(OrgUnit, OrgUnit.id == Course.owner_org_id)
        .where(managed_clause(actor))
    )
    if q:
        words = q.replace("%", "").replace("_", "")
        stmt = stmt.where(or_(Course.title.contains(words), Course.code.startswith(words)))
    if status == "published":
        stmt = stmt.where(Course.published.is_(True))
    elif status == "retired":
        stmt = stmt.where(Course.published.is_(False), Course.retired_at.is_not(None))
    elif status == "draft":
        stmt = stmt.where(Course.published.is_(False), Course.retired_at.is_(None))
    rules = credit_rules(ctx.settings)
    async with ctx.db() as s:
        total = await bounded_count(s, stmt)
        rows = (await s.execute(stmt.order_by(Course.id.desc()).offset(offset).limit(limit))).all()
    return total, [
        ManagedCourse(
            c.id,
            c.code,
            c.title,
            KIND_NAMES[c.kind],
            category,
            owner,
            status_of(c),
            STATUS_LABELS[status_of(c)],
            int(count or 0),
            course_credits(c.kind, c.lecture_seconds, c.designated_credits, rules),
        )
        for c, category, owner, count in rows
    ]


@dataclass(frozen=True)
class Editing:
    """One course on the authoring page."""

    detail: CourseDetail
    status: str
    jobs: dict[int, JobView]
    problems: list[str]
    video_seconds: int

    @property
    def status_label(self) -> str:
        """草稿 / 已发布 / 已下线."""
        return STATUS_LABELS[self.status]


async def editing(ctx: Context, actor: Actor, course_id: int) -> Editing:
    """A course the actor manages, with its lessons' latest video jobs and its readiness."""
    async with ctx.db() as s:
        course = await managed_course(s, actor, course_id)
        detail = await course_detail(
            s, credit_rules(ctx.settings), actor, await viewer_of(s, actor), course
        )
        jobs = await latest_jobs(s, [le.id for le in detail.lessons])
        ready = await readiness(s, course)
    return Editing(
        detail=detail,
        status=status_of(course),
        jobs=jobs,
        problems=ready.problems,
        video_seconds=sum(le.duration_seconds for le in detail.lessons),
    )
