"""Finding courses in the catalog: categories, filters, paging, one course's page."""

from __future__ import annotations

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from models import (
    Course,
    CourseCategory,
)
from proctor.catalog import inputs
from proctor.catalog.views import CourseDetail, CourseView, course_detail, course_views
from proctor.catalog.visibility import load_visible, viewer_of, visible_clause
from proctor.credits.policy import credit_rules
from proctor.kernel.authz import Actor
from proctor.kernel.context import Context
from proctor.kernel.errors import InvalidInput

PER_PAGE = 20


async def categories(ctx: Context) -> list[CourseCategory]:
    """The ten content categories of Art. 7, in the measures' order."""
    async with ctx.db() as s:
        return list(
            (await s.scalars(select(CourseCategory).order_by(CourseCategory.ordinal))).all()
        )


async def category_by_code(session: AsyncSession, code: str, field: str) -> CourseCategory:
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
            cat = await category_by_code(s, category, "category")
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


async def get_course(ctx: Context, actor: Actor, course_id: int) -> CourseDetail:
    """A visible course with its lessons, credits and the viewer's enrolment."""
    async with ctx.db() as s:
        viewer = await viewer_of(s, actor)
        course = await load_visible(s, viewer, course_id)
        return await course_detail(s, credit_rules(ctx.settings), actor, viewer, course)
