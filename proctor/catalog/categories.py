"""The content categories (Art. 7): set by the Organization Department, that is the academy.

Categories are shared by every course of the province and the cities, so only the academy's
administrators add, rename or reorder them; one in use is never deleted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from models import AuditEvent, Course, CourseCategory, Role
from proctor.kernel.authz import Actor
from proctor.kernel.context import Context
from proctor.kernel.errors import Conflict, InvalidInput, NotFound

CODE_RE = re.compile(r"^[a-z][a-z0-9_]{1,31}$")


@dataclass(frozen=True)
class CategoryView:
    """A category with the number of courses filed under it."""

    code: str
    name: str
    ordinal: int
    courses: int

    def as_dict(self) -> dict[str, Any]:
        """JSON shape."""
        return dict(self.__dict__)


def _academy(actor: Actor) -> None:
    actor.require(frozenset({Role.ACADEMY_ADMIN}), "设置课程分类")


async def list_categories(ctx: Context) -> list[CategoryView]:
    """Every category in order, with its course count."""
    async with ctx.db() as s:
        counts = dict(
            (
                await s.execute(
                    select(Course.category_id, func.count()).group_by(Course.category_id)
                )
            ).all()
        )
        rows = await s.scalars(
            select(CourseCategory).order_by(CourseCategory.ordinal, CourseCategory.id)
        )
        return [CategoryView(c.code, c.name, c.ordinal, int(counts.get(c.id, 0))) for c in rows]


def _name(value: str) -> str:
    name = value.strip()
    if not name:
        raise InvalidInput("请填写分类名称", field="name")
    return name[:50]


async def add_category(
    ctx: Context, actor: Actor, code: str, name: str, ordinal: int | None = None
) -> CategoryView:
    """A new category; code and name are unique."""
    _academy(actor)
    code, name = code.strip(), _name(name)
    if not CODE_RE.match(code):
        raise InvalidInput(
            "分类代码须为 2 至 32 位小写字母、数字或下划线，以字母开头", field="code"
        )
    try:
        async with ctx.db.begin() as s:
            for column, value, field in (
                (CourseCategory.code, code, "code"),
                (CourseCategory.name, name, "name"),
            ):
                if await s.scalar(select(CourseCategory.id).where(column == value)) is not None:
                    raise Conflict(f"已有相同的分类：{value}", field=field)
            if ordinal is None:
                ordinal = int(await s.scalar(select(func.max(CourseCategory.ordinal))) or 0) + 1
            s.add(CourseCategory(code=code, name=name, ordinal=ordinal))
            s.add(
                AuditEvent(
                    actor_id=actor.account_id,
                    action="category.add",
                    target=f"category:{code}",
                    detail={"name": name},
                )
            )
    except IntegrityError as exc:
        raise Conflict("分类代码或名称刚被占用，请刷新后重试", field="code") from exc
    return CategoryView(code, name, ordinal, 0)


async def change_category(
    ctx: Context, actor: Actor, code: str, *, name: str | None = None, ordinal: int | None = None
) -> CategoryView:
    """Rename or move a category in the list."""
    _academy(actor)
    async with ctx.db.begin() as s:
        category = await s.scalar(select(CourseCategory).where(CourseCategory.code == code))
        if category is None:
            raise NotFound("课程分类不存在", field="code")
        detail: dict[str, Any] = {}
        if name is not None:
            name = _name(name)
            clash = await s.scalar(
                select(CourseCategory.id).where(
                    CourseCategory.name == name, CourseCategory.id != category.id
                )
            )
            if clash is not None:
                raise Conflict(f"已有相同的分类：{name}", field="name")
            detail["name"] = [category.name, name]
            category.name = name
        if ordinal is not None:
            detail["ordinal"] = [category.ordinal, ordinal]
            category.ordinal = ordinal
        if not detail:
            raise InvalidInput("没有可修改的字段", field="body")
        s.add(
            AuditEvent(
                actor_id=actor.account_id,
                action="category.change",
                target=f"category:{code}",
                detail=detail,
            )
        )
        courses = int(
            await s.scalar(select(func.count()).where(Course.category_id == category.id)) or 0
        )
        return CategoryView(category.code, category.name, category.ordinal, courses)
