"""Course catalog, course detail, authoring and enrolment (pages and API)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from models import Role
from proctor.catalog import classes
from proctor.catalog import service as catalog
from proctor.web import parse
from proctor.web.keys import actor_of, ctx_of
from proctor.web.openapi import BOOL, DECIMAL, INT, STR, obj, op, path_id, query
from proctor.web.render import json_response, page

routes = web.RouteTableDef()


def _filters(request: web.Request) -> dict[str, Any]:
    q = dict(request.query)
    return {
        "category": parse.text(q, "category", required=False, max_len=32),
        "kind": parse.text(q, "kind", required=False, max_len=16),
        "q": parse.text(q, "q", required=False, max_len=50),
        "page": parse.integer(q, "page", required=False, minimum=1, default=1) or 1,
    }


@routes.get("/api/v1/categories")
async def categories_api(request: web.Request) -> web.Response:
    rows = await catalog.categories(ctx_of(request))
    return json_response(
        {"items": [{"code": c.code, "name": c.name, "ordinal": c.ordinal} for c in rows]}
    )


@routes.get("/api/v1/courses")
async def search_api(request: web.Request) -> web.Response:
    filters = _filters(request)
    total, rows = await catalog.search(ctx_of(request), actor_of(request), **filters)
    return json_response(
        {
            "total": total,
            "page": filters["page"],
            "per_page": catalog.PER_PAGE,
            "items": [r.as_dict() for r in rows],
        }
    )


@routes.get("/api/v1/courses/{course_id}")
async def get_api(request: web.Request) -> web.Response:
    detail = await catalog.get_course(
        ctx_of(request), actor_of(request), parse.path_int(request, "course_id")
    )
    return json_response(detail.as_dict())


@routes.post("/api/v1/courses")
async def create_api(request: web.Request) -> web.Response:
    data = await parse.json_body(request)
    owner = parse.integer(data, "owner_org_id", required=False, minimum=1)
    detail = await catalog.create_course(
        ctx_of(request), actor_of(request), data, owner_org_id=owner
    )
    return json_response(detail.as_dict(), status=201)


@routes.patch("/api/v1/courses/{course_id}")
async def update_api(request: web.Request) -> web.Response:
    data = await parse.json_body(request)
    detail = await catalog.update_course(
        ctx_of(request), actor_of(request), parse.path_int(request, "course_id"), data
    )
    return json_response(detail.as_dict())


@routes.post("/api/v1/courses/{course_id}/enrol")
async def enrol_api(request: web.Request) -> web.Response:
    view = await catalog.enrol(
        ctx_of(request), actor_of(request), parse.path_int(request, "course_id")
    )
    return json_response(view.as_dict())


@routes.delete("/api/v1/courses/{course_id}/enrol")
async def withdraw_api(request: web.Request) -> web.Response:
    course_id = parse.path_int(request, "course_id")
    await catalog.withdraw(ctx_of(request), actor_of(request), course_id)
    return json_response({"course_id": course_id, "enrolled": False})


@routes.get("/api/v1/me/courses")
async def my_courses_api(request: web.Request) -> web.Response:
    rows = await catalog.my_courses(ctx_of(request), actor_of(request))
    return json_response({"items": [r.as_dict() for r in rows]})


@routes.get("/catalog")
async def catalog_page(request: web.Request) -> web.Response:
    ctx, actor = ctx_of(request), actor_of(request)
    filters = _filters(request)
    total, rows = await catalog.search(ctx, actor, **filters)
    return page(
        request,
        "catalog/list.html",
        {
            "filters": filters,
            "total": total,
            "rows": rows,
            "categories": await catalog.categories(ctx),
            "pages": (total + catalog.PER_PAGE - 1) // catalog.PER_PAGE,
            "my_classes": await classes.my_classes(ctx, actor),
            "is_learner": actor.role is Role.LEARNER,
            "rules": ctx.settings.credit_rules,
        },
    )


@routes.get("/catalog/{course_id}")
async def detail_page(request: web.Request) -> web.Response:
    actor = actor_of(request)
    detail = await catalog.get_course(ctx_of(request), actor, parse.path_int(request, "course_id"))
    return page(
        request,
        "catalog/detail.html",
        {"d": detail, "c": detail.course, "is_learner": actor.role is Role.LEARNER},
    )


def _back(form: dict[str, Any], course_id: int) -> str:
    target = str(form.get("next", ""))
    # Only local paths: a form field must never send the browser off-site.
    if target.startswith("/") and not target.startswith("//"):
        return target
    return f"/catalog/{course_id}"


@routes.post("/catalog/{course_id}/enrol")
async def enrol_form(request: web.Request) -> web.Response:
    course_id = parse.path_int(request, "course_id")
    form = await parse.form_or_json(request)
    await catalog.enrol(ctx_of(request), actor_of(request), course_id)
    raise web.HTTPSeeOther(_back(form, course_id))


@routes.post("/catalog/{course_id}/withdraw")
async def withdraw_form(request: web.Request) -> web.Response:
    course_id = parse.path_int(request, "course_id")
    form = await parse.form_or_json(request)
    await catalog.withdraw(ctx_of(request), actor_of(request), course_id)
    raise web.HTTPSeeOther(_back(form, course_id))


LESSON_IN = {
    "type": "object",
    "properties": {"title": STR, "duration_seconds": INT, "video_url": STR},
    "required": ["title", "duration_seconds"],
}
COURSE_SCHEMA = obj(
    id=INT,
    code=STR,
    title=STR,
    category=STR,
    category_name=STR,
    kind={"type": "string", "enum": ["required", "elective"]},
    kind_label=STR,
    lecture_seconds=INT,
    lecture_minutes=STR,
    class_hours=INT,
    credits=DECIMAL,
    designated=BOOL,
    owner_org_id=INT,
    owner_name=STR,
    local=BOOL,
    published=BOOL,
    lecturer=STR,
    description=STR,
    lesson_count=INT,
    enrolled={"type": ["boolean", "null"], "description": "learners only"},
    completed={"type": ["boolean", "null"], "description": "learners only"},
)
DETAIL_SCHEMA = {
    "allOf": [
        COURSE_SCHEMA,
        obj(
            lessons={
                "type": "array",
                "items": obj(id=INT, ordinal=INT, title=STR, duration_seconds=INT, video_url=STR),
            },
            enrolment_source={"type": ["string", "null"], "enum": ["self", "class", None]},
            can_manage=BOOL,
            classes={"type": "array", "items": STR},
        ),
    ]
}
COURSE_IN_PROPS: dict[str, Any] = {
    "title": STR,
    "category": {"type": "string", "description": "category code, see /api/v1/categories"},
    "kind": {"type": "string", "enum": ["required", "elective"]},
    "lecture_seconds": {"type": "integer", "minimum": 1},
    "designated_credits": {
        "type": ["string", "number", "null"],
        "description": "overrides the computed credits; >= 0, at most two decimals",
    },
    "lecturer": STR,
    "description": STR,
    "published": BOOL,
    "lessons": {"type": "array", "minItems": 1, "items": LESSON_IN},
}
ENROLMENT_SCHEMA = obj(
    course=COURSE_SCHEMA,
    source={"type": "string", "enum": ["self", "class"]},
    training_class_id={"type": ["integer", "null"]},
    enrolled_at=STR,
)


def created(operation: dict[str, Any]) -> dict[str, Any]:
    """The operation answering 201 Created instead of 200."""
    operation["responses"]["201"] = operation["responses"].pop("200")
    return operation


OPENAPI: dict[str, dict[str, Any]] = {
    "/api/v1/categories": {
        "get": op(
            "The ten course categories (Art. 7)",
            tag="catalog",
            response=obj(items={"type": "array", "items": obj(code=STR, name=STR, ordinal=INT)}),
        )
    },
    "/api/v1/courses": {
        "get": op(
            "Courses visible to me, required first, with the credits each will earn",
            tag="catalog",
            params=[
                query("category", STR, "category code"),
                query("kind", STR, "required or elective"),
                query("q", STR, "words of the title or lecturer, or the exact course code"),
                query("page", INT),
            ],
            response=obj(
                total=INT,
                page=INT,
                per_page=INT,
                items={"type": "array", "items": COURSE_SCHEMA},
            ),
        ),
        "post": created(
            op(
                "Create a course: provincial (academy administrator) or local to my city "
                "(city org administrator)",
                tag="catalog",
                body={
                    "type": "object",
                    "properties": COURSE_IN_PROPS
                    | {
                        "code": STR,
                        "owner_org_id": {
                            "type": "integer",
                            "description": "province or city owning the course; default: mine",
                        },
                    },
                    "required": ["title", "category", "kind", "lecture_seconds", "lessons"],
                },
                response=DETAIL_SCHEMA,
                errors=(400, 401, 403, 404, 409, 422),
            )
        ),
    },
    "/api/v1/courses/{course_id}": {
        "get": op(
            "A course with its lessons and credits (404 when not visible to me)",
            tag="catalog",
            params=[path_id("course_id")],
            response=DETAIL_SCHEMA,
        ),
        "patch": op(
            "Change a course I manage; `published: false` withdraws it from the catalog; "
            "`lessons` replaces the list (lessons keep their ids by position)",
            tag="catalog",
            params=[path_id("course_id")],
            body={"type": "object", "properties": COURSE_IN_PROPS},
            response=DETAIL_SCHEMA,
            errors=(400, 401, 403, 404, 409, 422),
        ),
    },
    "/api/v1/courses/{course_id}/enrol": {
        "post": op(
            "Enrol in a course (learners; idempotent)",
            tag="catalog",
            params=[path_id("course_id")],
            response=ENROLMENT_SCHEMA,
        ),
        "delete": op(
            "Withdraw from an elective not yet completed and not part of one of my classes",
            tag="catalog",
            params=[path_id("course_id")],
            response=obj(course_id=INT, enrolled=BOOL),
            errors=(400, 401, 403, 404, 409),
        ),
    },
    "/api/v1/me/courses": {
        "get": op(
            "My enrolments (learners), newest first",
            tag="catalog",
            response=obj(items={"type": "array", "items": ENROLMENT_SCHEMA}),
        )
    },
}
