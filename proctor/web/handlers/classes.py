"""Online special training classes (网上专题培训班): pages for admins, JSON API for all."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from aiohttp import web
from pydantic import Field

from proctor.catalog import classes
from proctor.kernel.authz import APPROVER_ROLES, STAFF_ROLES
from proctor.kernel.errors import InvalidInput, ProctorError
from proctor.web.endpoint import Form, Routes
from proctor.web.fields import Day, IdList, Input, NameList, Output, RecordId, Words, chars
from proctor.web.handlers.catalog import Course
from proctor.web.keys import actor_of, ctx_of
from proctor.web.render import json_response, page

routes = Routes(tag="classes")


class ClassPath(Input):
    class_id: RecordId


class NewClass(Input):
    name: Annotated[str, chars(200)]
    starts_on: Day
    ends_on: Day
    org_id: RecordId | None = Field(None, description="default: my org")
    course_ids: IdList = Field(default_factory=list)
    learner_ids: IdList = Field(default_factory=list)
    usernames: NameList = Field(default_factory=list)


class MemberPath(Input):
    class_id: RecordId
    learner_id: RecordId


class NewMembers(Input):
    learner_ids: IdList = Field(default_factory=list)
    usernames: NameList = Field(default_factory=list)


class NewCourses(Input):
    course_ids: IdList


class ClassForm(Input):
    name: Annotated[str, chars(200)]
    starts_on: Day
    ends_on: Day
    course_ids: Annotated[IdList, Words] = Field(default_factory=list)


class MembersForm(Input):
    usernames: Annotated[NameList, Words] = Field(default_factory=list)
    learner_ids: Annotated[IdList, Words] = Field(default_factory=list)


class CoursesForm(Input):
    course_ids: Annotated[IdList, Words] = Field(default_factory=list)


class ClassSummary(Output):
    id: int
    name: str
    org_id: int
    org_name: str
    starts_on: dt.date
    ends_on: dt.date
    course_count: int
    member_count: int


class ClassList(Output):
    items: list[ClassSummary]


class Member(Output):
    learner_id: int
    name: str
    username: str | None
    unit_name: str
    completed: int


class ClassDetail(ClassSummary):
    courses: list[Course]
    members: list[Member] | None = Field(description="staff only")
    can_edit: bool


@routes.get(
    "/api/v1/classes",
    summary="Training classes in my authority (learners: the classes I am in)",
    response=ClassList,
)
async def list_api(request: web.Request) -> web.Response:
    rows = await classes.list_classes(ctx_of(request), actor_of(request))
    return json_response({"items": [r.as_dict() for r in rows]})


@routes.post(
    "/api/v1/classes",
    summary="Open a training class in my authority with its courses and first members",
    body=NewClass,
    response=ClassDetail,
    status=201,
    errors=(404,),
)
async def create_api(request: web.Request, body: NewClass) -> web.Response:
    detail = await classes.create_class(ctx_of(request), actor_of(request), **body.model_dump())
    return json_response(detail.as_dict(), status=201)


@routes.get(
    "/api/v1/classes/{class_id}",
    summary="A training class with its courses (and members, for staff)",
    path=ClassPath,
    response=ClassDetail,
)
async def get_api(request: web.Request, path: ClassPath) -> web.Response:
    detail = await classes.get_class(ctx_of(request), actor_of(request), path.class_id)
    return json_response(detail.as_dict())


@routes.post(
    "/api/v1/classes/{class_id}/members",
    summary="Add learners (all or none; refused ones are named) and enrol them in the courses",
    path=ClassPath,
    body=NewMembers,
    response=ClassDetail,
)
async def members_api(request: web.Request, path: ClassPath, body: NewMembers) -> web.Response:
    detail = await classes.add_members(
        ctx_of(request), actor_of(request), path.class_id, **body.model_dump()
    )
    return json_response(detail.as_dict())


@routes.delete(
    "/api/v1/classes/{class_id}/members/{learner_id}",
    summary="Take a learner out of a class (enrolments through it go, completed courses stay)",
    path=MemberPath,
    response=ClassDetail,
)
async def remove_member_api(request: web.Request, path: MemberPath) -> web.Response:
    detail = await classes.remove_member(
        ctx_of(request), actor_of(request), path.class_id, path.learner_id
    )
    return json_response(detail.as_dict())


@routes.post(
    "/api/v1/classes/{class_id}/courses",
    summary="Add courses (all or none) and enrol every member in them",
    path=ClassPath,
    body=NewCourses,
    response=ClassDetail,
)
async def courses_api(request: web.Request, path: ClassPath, body: NewCourses) -> web.Response:
    detail = await classes.add_courses(
        ctx_of(request), actor_of(request), path.class_id, body.course_ids
    )
    return json_response(detail.as_dict())


# ---------------------------------------------------------------- pages


async def _list_page(
    request: web.Request, *, form: dict[str, str], error: str | None, status: int = 200
) -> web.Response:
    ctx, actor = ctx_of(request), actor_of(request)
    rows = await classes.list_classes(ctx, actor)
    can_open = actor.role in APPROVER_ROLES
    courses = await classes.eligible_courses(ctx, actor) if can_open else []
    return page(
        request,
        "classes/list.html",
        {"rows": rows, "courses": courses, "can_open": can_open, "form": form, "error": error},
        status=status,
    )


@routes.get("/admin/classes")
async def list_page(request: web.Request) -> web.Response:
    actor_of(request).require(STAFF_ROLES, "查看专题培训班")
    return await _list_page(request, form={}, error=None)


@routes.post("/admin/classes", form=ClassForm)
async def create_form(request: web.Request, form: Form[ClassForm]) -> web.Response:
    try:
        detail = await classes.create_class(
            ctx_of(request), actor_of(request), **form.valid().model_dump()
        )
    except ProctorError as exc:
        return await _list_page(request, form=form.fields, error=exc.message, status=exc.status)
    raise web.HTTPSeeOther(f"/admin/classes/{detail.summary.id}")


async def _detail_page(
    request: web.Request, class_id: int, *, error: str | None = None, status: int = 200
) -> web.Response:
    ctx, actor = ctx_of(request), actor_of(request)
    actor.require(STAFF_ROLES, "查看专题培训班")
    detail = await classes.get_class(ctx, actor, class_id)
    courses = await classes.eligible_courses(ctx, actor, class_id) if detail.can_edit else []
    in_class = {c.id for c in detail.courses}
    return page(
        request,
        "classes/detail.html",
        {
            "d": detail,
            "s": detail.summary,
            "addable": [c for c in courses if c.id not in in_class],
            "error": error,
        },
        status=status,
    )


@routes.get("/admin/classes/{class_id}", path=ClassPath)
async def detail_page(request: web.Request, path: ClassPath) -> web.Response:
    return await _detail_page(request, path.class_id)


@routes.post("/admin/classes/{class_id}/members", path=ClassPath, form=MembersForm)
async def members_form(
    request: web.Request, path: ClassPath, form: Form[MembersForm]
) -> web.Response:
    try:
        members = form.valid()
        if not members.usernames and not members.learner_ids:
            raise InvalidInput("请填写要报名的学员用户名或学员编号", field="usernames")
        await classes.add_members(
            ctx_of(request), actor_of(request), path.class_id, **members.model_dump()
        )
    except ProctorError as exc:
        return await _detail_page(request, path.class_id, error=exc.message, status=exc.status)
    raise web.HTTPSeeOther(f"/admin/classes/{path.class_id}")


@routes.post("/admin/classes/{class_id}/courses", path=ClassPath, form=CoursesForm)
async def courses_form(
    request: web.Request, path: ClassPath, form: Form[CoursesForm]
) -> web.Response:
    try:
        await classes.add_courses(
            ctx_of(request), actor_of(request), path.class_id, form.valid().course_ids
        )
    except ProctorError as exc:
        return await _detail_page(request, path.class_id, error=exc.message, status=exc.status)
    raise web.HTTPSeeOther(f"/admin/classes/{path.class_id}")


@routes.post("/admin/classes/{class_id}/members/{learner_id}/remove", path=MemberPath)
async def remove_member_form(request: web.Request, path: MemberPath) -> web.Response:
    try:
        await classes.remove_member(
            ctx_of(request), actor_of(request), path.class_id, path.learner_id
        )
    except ProctorError as exc:
        return await _detail_page(request, path.class_id, error=exc.message, status=exc.status)
    raise web.HTTPSeeOther(f"/admin/classes/{path.class_id}")
