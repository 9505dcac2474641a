"""Online special training classes (网上专题培训班): pages for admins, JSON API for all."""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web
from multidict import MultiDictProxy

from proctor.authz import APPROVER_ROLES, STAFF_ROLES
from proctor.catalog import classes
from proctor.catalog.inputs import id_list, name_list
from proctor.errors import InvalidInput, ProctorError
from proctor.web import parse
from proctor.web.handlers.catalog import COURSE_SCHEMA, created
from proctor.web.keys import actor_of, ctx_of
from proctor.web.openapi import BOOL, INT, STR, obj, op, path_id
from proctor.web.render import json_response, page

routes = web.RouteTableDef()


@routes.get("/api/v1/classes")
async def list_api(request: web.Request) -> web.Response:
    rows = await classes.list_classes(ctx_of(request), actor_of(request))
    return json_response({"items": [r.as_dict() for r in rows]})


@routes.post("/api/v1/classes")
async def create_api(request: web.Request) -> web.Response:
    data = await parse.json_body(request)
    detail = await classes.create_class(
        ctx_of(request),
        actor_of(request),
        name=parse.text(data, "name", max_len=200),
        starts_on=parse.date(data, "starts_on"),
        ends_on=parse.date(data, "ends_on"),
        org_id=parse.integer(data, "org_id", required=False, minimum=1),
        course_ids=id_list(data, "course_ids"),
        learner_ids=id_list(data, "learner_ids"),
        usernames=name_list(data, "usernames"),
    )
    return json_response(detail.as_dict(), status=201)


@routes.get("/api/v1/classes/{class_id}")
async def get_api(request: web.Request) -> web.Response:
    detail = await classes.get_class(
        ctx_of(request), actor_of(request), parse.path_int(request, "class_id")
    )
    return json_response(detail.as_dict())


@routes.post("/api/v1/classes/{class_id}/members")
async def members_api(request: web.Request) -> web.Response:
    data = await parse.json_body(request)
    detail = await classes.add_members(
        ctx_of(request),
        actor_of(request),
        parse.path_int(request, "class_id"),
        learner_ids=id_list(data, "learner_ids"),
        usernames=name_list(data, "usernames"),
    )
    return json_response(detail.as_dict())


@routes.post("/api/v1/classes/{class_id}/courses")
async def courses_api(request: web.Request) -> web.Response:
    data = await parse.json_body(request)
    detail = await classes.add_courses(
        ctx_of(request),
        actor_of(request),
        parse.path_int(request, "class_id"),
        id_list(data, "course_ids"),
    )
    return json_response(detail.as_dict())


# ---------------------------------------------------------------- pages


async def _list_page(
    request: web.Request, *, form: dict[str, Any], error: str | None, status: int = 200
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


def _words(value: str) -> list[str]:
    return [w for w in re.split(r"[\s,，;；、]+", value) if w]


def _form_ids(form: MultiDictProxy[Any], field: str) -> list[int]:
    values = [v for v in form.getall(field, []) if isinstance(v, str)]
    words = [w for v in values for w in _words(v)]
    return id_list({field: words}, field)


@routes.post("/admin/classes")
async def create_form(request: web.Request) -> web.Response:
    form = await request.post()
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    try:
        detail = await classes.create_class(
            ctx_of(request),
            actor_of(request),
            name=parse.text(fields, "name", max_len=200),
            starts_on=parse.date(fields, "starts_on"),
            ends_on=parse.date(fields, "ends_on"),
            course_ids=_form_ids(form, "course_ids"),
        )
    except ProctorError as exc:
        return await _list_page(request, form=fields, error=exc.message, status=exc.status)
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


@routes.get("/admin/classes/{class_id}")
async def detail_page(request: web.Request) -> web.Response:
    return await _detail_page(request, parse.path_int(request, "class_id"))


@routes.post("/admin/classes/{class_id}/members")
async def members_form(request: web.Request) -> web.Response:
    class_id = parse.path_int(request, "class_id")
    form = await request.post()
    try:
        usernames = _words(str(form.get("usernames", "")))
        learner_ids = _form_ids(form, "learner_ids")
        if not usernames and not learner_ids:
            raise InvalidInput("请填写要报名的学员用户名或学员编号", field="usernames")
        await classes.add_members(
            ctx_of(request),
            actor_of(request),
            class_id,
            learner_ids=learner_ids,
            usernames=usernames,
        )
    except ProctorError as exc:
        return await _detail_page(request, class_id, error=exc.message, status=exc.status)
    raise web.HTTPSeeOther(f"/admin/classes/{class_id}")


@routes.post("/admin/classes/{class_id}/courses")
async def courses_form(request: web.Request) -> web.Response:
    class_id = parse.path_int(request, "class_id")
    form = await request.post()
    try:
        await classes.add_courses(
            ctx_of(request), actor_of(request), class_id, _form_ids(form, "course_ids")
        )
    except ProctorError as exc:
        return await _detail_page(request, class_id, error=exc.message, status=exc.status)
    raise web.HTTPSeeOther(f"/admin/classes/{class_id}")


SUMMARY_PROPS: dict[str, Any] = {
    "id": INT,
    "name": STR,
    "org_id": INT,
    "org_name": STR,
    "starts_on": {"type": "string", "format": "date"},
    "ends_on": {"type": "string", "format": "date"},
    "course_count": INT,
    "member_count": INT,
}
SUMMARY_SCHEMA = obj(**SUMMARY_PROPS)
DETAIL_SCHEMA = obj(
    **SUMMARY_PROPS,
    courses={"type": "array", "items": COURSE_SCHEMA},
    members={
        "type": ["array", "null"],
        "description": "staff only",
        "items": obj(learner_id=INT, name=STR, username=STR, unit_name=STR, completed=INT),
    },
    can_edit=BOOL,
)
IDS = {"type": "array", "items": INT}
NAMES = {"type": "array", "items": STR}
CLASS_ERRORS = (400, 401, 403, 404, 422)

OPENAPI: dict[str, dict[str, Any]] = {
    "/api/v1/classes": {
        "get": op(
            "Training classes in my authority (learners: the classes I am in)",
            tag="classes",
            response=obj(items={"type": "array", "items": SUMMARY_SCHEMA}),
        ),
        "post": created(
            op(
                "Open a training class in my authority with its courses and first members",
                tag="classes",
                body={
                    "type": "object",
                    "properties": {
                        "name": STR,
                        "starts_on": {"type": "string", "format": "date"},
                        "ends_on": {"type": "string", "format": "date"},
                        "org_id": {"type": "integer", "description": "default: my org"},
                        "course_ids": IDS,
                        "learner_ids": IDS,
                        "usernames": NAMES,
                    },
                    "required": ["name", "starts_on", "ends_on"],
                },
                response=DETAIL_SCHEMA,
                errors=CLASS_ERRORS,
            )
        ),
    },
    "/api/v1/classes/{class_id}": {
        "get": op(
            "A training class with its courses (and members, for staff)",
            tag="classes",
            params=[path_id("class_id")],
            response=DETAIL_SCHEMA,
        )
    },
    "/api/v1/classes/{class_id}/members": {
        "post": op(
            "Add learners (all or none; refused ones are named) and enrol them in the courses",
            tag="classes",
            params=[path_id("class_id")],
            body={"type": "object", "properties": {"learner_ids": IDS, "usernames": NAMES}},
            response=DETAIL_SCHEMA,
            errors=CLASS_ERRORS,
        )
    },
    "/api/v1/classes/{class_id}/courses": {
        "post": op(
            "Add courses (all or none) and enrol every member in them",
            tag="classes",
            params=[path_id("class_id")],
            body=obj(course_ids=IDS),
            response=DETAIL_SCHEMA,
            errors=CLASS_ERRORS,
        )
    },
}
