"""Online special training classes (网上专题培训班, Art. 11) opened by org departments.

A class belongs to an org node inside its opener's subtree; its courses must be visible to
everyone below that node, and its members must be learners below it. Adding a member enrols
them in the class's courses, and adding a course enrols every member.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from models import (
    Account,
    AuditEvent,
    Course,
    CourseCompletion,
    EnrolmentSource,
    Learner,
    OrgUnit,
    Role,
    TrainingClass,
    TrainingClassCourse,
    TrainingClassMember,
    utcnow,
)
from models.catalog import Enrolment
from proctor.catalog.enrolment import insert_ignoring_duplicates
from proctor.catalog.views import CourseView, course_views
from proctor.catalog.visibility import Viewer, is_visible
from proctor.credits.policy import credit_rules
from proctor.kernel.authz import APPROVER_ROLES, Actor
from proctor.kernel.context import Context
from proctor.kernel.errors import InvalidInput, NotFound
from proctor.orgs.service import get_in_scope

NOT_FOUND = "培训班不存在或不在您的管理范围内"


@dataclass(frozen=True)
class ClassSummary:
    """A class in a list."""

    id: int
    name: str
    org_id: int
    org_name: str
    starts_on: dt.date
    ends_on: dt.date
    course_count: int
    member_count: int

    def as_dict(self) -> dict[str, Any]:
        """JSON shape (dates as ISO strings)."""
        return dict(self.__dict__)


@dataclass(frozen=True)
class MemberView:
    """A member as the class's administrators see them."""

    learner_id: int
    name: str
    username: str | None
    unit_name: str
    completed: int

    def as_dict(self) -> dict[str, Any]:
        """JSON shape."""
        return dict(self.__dict__)


@dataclass(frozen=True)
class ClassDetail:
    """A class with its courses; members only for staff (a learner sees no classmates)."""

    summary: ClassSummary
    courses: list[CourseView]
    members: list[MemberView] | None
    can_edit: bool

    def as_dict(self) -> dict[str, Any]:
        """JSON shape."""
        return self.summary.as_dict() | {
            "courses": [c.as_dict() for c in self.courses],
            "members": [m.as_dict() for m in self.members] if self.members is not None else None,
            "can_edit": self.can_edit,
        }


def _can_edit(actor: Actor, tc: TrainingClass) -> bool:
    return actor.role in APPROVER_ROLES and actor.covers(tc.org_path)


async def _load(session: AsyncSession, actor: Actor, class_id: int) -> TrainingClass:
    """A class the actor may see: staff in scope, learners only their own classes."""
    tc = await session.get(TrainingClass, class_id)
    if tc is None:
        raise NotFound(NOT_FOUND)
    if actor.role is Role.LEARNER:
        member = await session.get(TrainingClassMember, (tc.id, actor.learner_id or 0))
        if member is None:
            raise NotFound(NOT_FOUND)
    elif not actor.covers(tc.org_path):
        raise NotFound(NOT_FOUND)
    return tc


async def _summaries(session: AsyncSession, where: Sequence[Any]) -> list[ClassSummary]:
    courses = (
        select(func.count())
        .select_from(TrainingClassCourse)
        .where(TrainingClassCourse.class_id == TrainingClass.id)
        .correlate(TrainingClass)
        .scalar_subquery()
    )
    members = (
        select(func.count())
        .select_from(TrainingClassMember)
        .where(TrainingClassMember.class_id == TrainingClass.id)
        .correlate(TrainingClass)
        .scalar_subquery()
    )
    rows = (
        await session.execute(
            select(TrainingClass, OrgUnit.name, courses, members)
            .join(OrgUnit, OrgUnit.id == TrainingClass.org_id)
            .where(*where)
            .order_by(TrainingClass.starts_on.desc(), TrainingClass.id.desc())
        )
    ).all()
    return [
        ClassSummary(
            tc.id, tc.name, tc.org_id, org_name, tc.starts_on, tc.ends_on, nc or 0, nm or 0
        )
        for tc, org_name, nc, nm in rows
    ]


def _visible_classes(actor: Actor) -> list[Any]:
    if actor.role is Role.LEARNER:
        mine = select(TrainingClassMember.class_id).where(
            TrainingClassMember.learner_id == (actor.learner_id or 0)
        )
        return [TrainingClass.id.in_(mine)]
    return [actor.in_scope(TrainingClass.org_path)]


async def list_classes(ctx: Context, actor: Actor) -> list[ClassSummary]:
    """Classes in the actor's subtree, or a learner's own classes; newest first."""
    async with ctx.db() as s:
        return await _summaries(s, _visible_classes(actor))


async def course_detail(
    ctx: Context, s: AsyncSession, actor: Actor, tc: TrainingClass
) -> ClassDetail:
    [summary] = await _summaries(s, [TrainingClass.id == tc.id])
    in_class = select(TrainingClassCourse.course_id).where(TrainingClassCourse.class_id == tc.id)
    viewer = Viewer(tc.org_path, staff=False, learner_id=actor.learner_id)
    # Membership already grants sight of the class's courses, even one unpublished since.
    courses = await course_views(
        s, credit_rules(ctx.settings), viewer, [Course.id.in_(in_class)], check_visibility=False
    )
    members = None if actor.role is Role.LEARNER else await _members(s, tc.id)
    return ClassDetail(summary, courses, members, _can_edit(actor, tc))


async def _members(s: AsyncSession, class_id: int) -> list[MemberView]:
    rows = (
        await s.execute(
            select(Learner, OrgUnit.name, Account.username)
            .join(TrainingClassMember, TrainingClassMember.learner_id == Learner.id)
            .join(OrgUnit, OrgUnit.id == Learner.unit_id)
            .outerjoin(Account, Account.learner_id == Learner.id)
            .where(TrainingClassMember.class_id == class_id)
            .order_by(Learner.org_path, Learner.id)
        )
    ).all()
    done_rows = await s.execute(
        select(CourseCompletion.learner_id, func.count())
        .join(TrainingClassCourse, TrainingClassCourse.course_id == CourseCompletion.course_id)
        .join(TrainingClassMember, TrainingClassMember.learner_id == CourseCompletion.learner_id)
        .where(
            TrainingClassCourse.class_id == class_id,
            TrainingClassMember.class_id == class_id,
        )
        .group_by(CourseCompletion.learner_id)
    )
    done = {learner_id: count for learner_id, count in done_rows}
    return [
        MemberView(learner.id, learner.name, username, unit, done.get(learner.id, 0))
        for learner, unit, username in rows
    ]


async def get_class(ctx: Context, actor: Actor, class_id: int) -> ClassDetail:
    """One class with its courses (and members, for staff)."""
    async with ctx.db() as s:
        tc = await _load(s, actor, class_id)
        return await course_detail(ctx, s, actor, tc)


async def my_classes(ctx: Context, actor: Actor) -> list[ClassDetail]:
    """A learner's classes with their courses (shown on the catalog page)."""
    if actor.role is not Role.LEARNER:
        return []
    async with ctx.db() as s:
        out = []
        for summary in await _summaries(s, _visible_classes(actor)):
            tc = await s.get_one(TrainingClass, summary.id)
            out.append(await course_detail(ctx, s, actor, tc))
        return out


async def _check_courses(
    s: AsyncSession, actor: Actor, tc_org_path: str, course_ids: list[int]
) -> list[int]:
    """Courses the opener can see and every member of the class can see, or a 4xx naming them."""
    if not course_ids:
        return []
    found = {
        c.id: c for c in (await s.scalars(select(Course).where(Course.id.in_(course_ids)))).all()
    }
    staff = Viewer(actor.org_path, staff=True)
    unknown = [i for i in course_ids if i not in found or not is_visible(staff, found[i])]
    if unknown:
        raise NotFound(
            f"以下课程不存在或不在您的可见范围内：{', '.join(map(str, unknown))}",
            field="course_ids",
            rejected=unknown,
        )
    members_view = Viewer(tc_org_path, staff=False)
    narrow = [i for i in course_ids if not is_visible(members_view, found[i])]
    if narrow:
        raise InvalidInput(
            "以下课程未发布或对培训班部分学员不可见（本地课程只能在所属市州的培训班中使用）："
            + "、".join(found[i].title for i in narrow),
            field="course_ids",
            rejected=narrow,
        )
    return course_ids


async def _resolve_members(
    s: AsyncSession,
    actor: Actor,
    tc_org: OrgUnit,
    learner_ids: list[int],
    usernames: list[str],
) -> list[int]:
    """Learner ids for the references given; anything outside scope names itself, by the
    reference the admin typed (never revealing who it is)."""
    ids = list(learner_ids)
    rejected: list[str] = []
    by_name: dict[str, int | None] = {}
    if usernames:
        found = await s.execute(
            select(Account.username, Account.learner_id).where(
                Account.username.in_(usernames), Account.learner_id.is_not(None)
            )
        )
        by_name = {username: learner_id for username, learner_id in found}
        for name in usernames:
            learner_id = by_name.get(name)
            if learner_id is None:
                rejected.append(name)
            elif learner_id not in ids:
                ids.append(learner_id)
    learners = {
        le.id: le for le in (await s.scalars(select(Learner).where(Learner.id.in_(ids)))).all()
    }
    typed_as = {learner_id: name for name, learner_id in by_name.items()}
    for learner_id in ids:
        learner = learners.get(learner_id)
        if learner is None or not actor.covers(learner.org_path):
            rejected.append(typed_as.get(learner_id, str(learner_id)))
    if rejected:
        raise NotFound(
            f"以下学员不存在或不在您的管理范围内：{', '.join(rejected)}",
            field="usernames" if usernames and not learner_ids else "learner_ids",
            rejected=rejected,
        )
    outside = [learners[i].name for i in ids if not learners[i].org_path.startswith(tc_org.path)]
    if outside:
        raise InvalidInput(
            f"以下学员不属于培训班所属机构（{tc_org.name}）：{'、'.join(outside)}",
            field="learner_ids",
        )
    inactive = [learners[i].name for i in ids if not learners[i].active]
    if inactive:
        raise InvalidInput(f"以下学员已停用，不能报名：{'、'.join(inactive)}", field="learner_ids")
    return ids


async def _enrol(
    s: AsyncSession, class_id: int, learner_ids: Sequence[int], course_ids: Sequence[int]
) -> None:
    """Enrol members in class courses; an existing enrolment keeps its source."""
    now = utcnow()
    await insert_ignoring_duplicates(
        s,
        Enrolment,
        [
            {
                "learner_id": learner_id,
                "course_id": course_id,
                "source": EnrolmentSource.TRAINING_CLASS,
                "training_class_id": class_id,
                "enrolled_at": now,
            }
            for learner_id in learner_ids
            for course_id in course_ids
        ],
        ["learner_id", "course_id"],
    )


async def _class_course_ids(s: AsyncSession, class_id: int) -> list[int]:
    return list(
        await s.scalars(
            select(TrainingClassCourse.course_id).where(TrainingClassCourse.class_id == class_id)
        )
    )


async def _class_member_ids(s: AsyncSession, class_id: int) -> list[int]:
    return list(
        await s.scalars(
            select(TrainingClassMember.learner_id).where(TrainingClassMember.class_id == class_id)
        )
    )


async def create_class(
    ctx: Context,
    actor: Actor,
    *,
    name: str,
    starts_on: dt.date,
    ends_on: dt.date,
    org_id: int | None = None,
    course_ids: Sequence[int] = (),
    learner_ids: Sequence[int] = (),
    usernames: Sequence[str] = (),
) -> ClassDetail:
    """Open a class in the actor's subtree with its courses and first members."""
    actor.require(APPROVER_ROLES, "开设专题培训班")
    name = name.strip()
    if not name:
        raise InvalidInput("缺少字段 name", field="name")
    if starts_on > ends_on:
        raise InvalidInput("结束日期不能早于开始日期", field="ends_on")
    async with ctx.db.begin() as s:
        org = await get_in_scope(s, actor, org_id if org_id is not None else actor.org_id)
        courses = await _check_courses(s, actor, org.path, list(course_ids))
        members = await _resolve_members(s, actor, org, list(learner_ids), list(usernames))
        tc = TrainingClass(
            name=name,
            org_id=org.id,
            org_path=org.path,
            starts_on=starts_on,
            ends_on=ends_on,
            created_by=actor.account_id,
        )
        s.add(tc)
        await s.flush()
        s.add_all(TrainingClassCourse(class_id=tc.id, course_id=c) for c in courses)
        s.add_all(TrainingClassMember(class_id=tc.id, learner_id=m) for m in members)
        await s.flush()
        await _enrol(s, tc.id, members, courses)
        s.add(
            AuditEvent(
                actor_id=actor.account_id,
                action="class.create",
                target=f"training_class:{tc.id}",
                detail={"courses": courses, "members": members},
            )
        )
        return await course_detail(ctx, s, actor, tc)


async def _load_for_edit(s: AsyncSession, actor: Actor, class_id: int) -> TrainingClass:
    actor.require(APPROVER_ROLES, "管理专题培训班")
    return await _load(s, actor, class_id)


async def add_members(
    ctx: Context,
    actor: Actor,
    class_id: int,
    *,
    learner_ids: Sequence[int] = (),
    usernames: Sequence[str] = (),
) -> ClassDetail:
    """Add learners (all or none) and enrol them in the class's courses."""
    if not learner_ids and not usernames:
        raise InvalidInput("请至少提供一名学员（learner_ids 或 usernames）", field="learner_ids")
    async with ctx.db.begin() as s:
        tc = await _load_for_edit(s, actor, class_id)
        org = await s.get_one(OrgUnit, tc.org_id)
        members = await _resolve_members(s, actor, org, list(learner_ids), list(usernames))
        await insert_ignoring_duplicates(
            s,
            TrainingClassMember,
            [{"class_id": tc.id, "learner_id": m} for m in members],
            ["class_id", "learner_id"],
        )
        await _enrol(s, tc.id, members, await _class_course_ids(s, tc.id))
        s.add(
            AuditEvent(
                actor_id=actor.account_id,
                action="class.add_members",
                target=f"training_class:{tc.id}",
                detail={"members": members},
            )
        )
        return await course_detail(ctx, s, actor, tc)


async def remove_member(ctx: Context, actor: Actor, class_id: int, learner_id: int) -> ClassDetail:
    """Take a learner out of a class: their enrolments through it go, except in courses they
    completed (the completion and its credits stay, Art. 13)."""
    async with ctx.db.begin() as s:
        tc = await _load_for_edit(s, actor, class_id)
        member = await s.get(TrainingClassMember, (tc.id, learner_id))
        if member is None:
            raise NotFound("该学员不在本培训班中", field="learner_id")
        completed = select(CourseCompletion.course_id).where(
            CourseCompletion.learner_id == learner_id
        )
        await s.execute(
            delete(Enrolment).where(
                Enrolment.learner_id == learner_id,
                Enrolment.training_class_id == tc.id,
                Enrolment.source == EnrolmentSource.TRAINING_CLASS,
                Enrolment.course_id.not_in(completed),
            )
        )
        await s.delete(member)
        s.add(
            AuditEvent(
                actor_id=actor.account_id,
                action="class.remove_member",
                target=f"training_class:{tc.id}",
                detail={"learner_id": learner_id},
            )
        )
        await s.flush()
        return await course_detail(ctx, s, actor, tc)


async def add_courses(
    ctx: Context, actor: Actor, class_id: int, course_ids: Sequence[int]
) -> ClassDetail:
    """Add courses (all or none) and enrol every member in them."""
    if not course_ids:
        raise InvalidInput("请至少选择一门课程", field="course_ids")
    async with ctx.db.begin() as s:
        tc = await _load_for_edit(s, actor, class_id)
        courses = await _check_courses(s, actor, tc.org_path, list(course_ids))
        await insert_ignoring_duplicates(
            s,
            TrainingClassCourse,
            [{"class_id": tc.id, "course_id": c} for c in courses],
            ["class_id", "course_id"],
        )
        await _enrol(s, tc.id, await _class_member_ids(s, tc.id), courses)
        s.add(
            AuditEvent(
                actor_id=actor.account_id,
                action="class.add_courses",
                target=f"training_class:{tc.id}",
                detail={"courses": courses},
            )
        )
        return await course_detail(ctx, s, actor, tc)


async def eligible_courses(
    ctx: Context, actor: Actor, class_id: int | None = None
) -> list[CourseView]:
    """Published courses every member of the class (or of a new class at the actor's own
    org) can see: the choices offered on the class forms."""
    async with ctx.db() as s:
        path = actor.org_path
        if class_id is not None:
            path = (await _load_for_edit(s, actor, class_id)).org_path
        return await course_views(s, credit_rules(ctx.settings), Viewer(path, staff=False))
