"""Creating and editing courses and their lessons, within the author's authority."""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from models import (
    AuditEvent,
    Course,
    Lesson,
    OrgLevel,
    OrgUnit,
    Role,
)
from proctor.catalog import inputs
from proctor.catalog.inputs import LessonInput
from proctor.catalog.search import category_by_code
from proctor.catalog.views import CourseDetail, course_detail
from proctor.catalog.visibility import can_manage, load_visible, viewer_of
from proctor.credits.policy import credit_rules
from proctor.kernel.authz import APPROVER_ROLES, Actor
from proctor.kernel.context import Context
from proctor.kernel.errors import Conflict, Forbidden, InvalidInput, NotFound


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
        category = await category_by_code(s, fields["category"], "category")
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
        return await course_detail(s, credit_rules(ctx.settings), actor, viewer, course)


async def create_draft(
    ctx: Context, actor: Actor, data: dict[str, Any], *, owner_org_id: int | None = None
) -> int:
    """A course written in the pages: a draft without lessons yet, published once every
    lesson has its video (``lessons.publish``). Returns its id."""
    actor.require(APPROVER_ROLES, "开发课程")
    fields = inputs.course_fields(
        data | {"lessons": [{"title": "-", "duration_seconds": 1}]}, partial=False
    )
    async with ctx.db.begin() as s:
        owner = await _owner_for(s, actor, owner_org_id)
        category = await category_by_code(s, fields["category"], "category")
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
            published=False,
        )
        s.add(course)
        await s.flush()
        s.add(
            AuditEvent(
                actor_id=actor.account_id,
                action="course.create",
                target=f"course:{course.id}",
                detail={"code": code, "owner_org_id": owner.id, "draft": True},
            )
        )
        return course.id


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
            course.category_id = (await category_by_code(s, fields["category"], "category")).id
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
        return await course_detail(s, credit_rules(ctx.settings), actor, viewer, course)
