"""Learner search and records, and the org tree, for staff within their authority."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from proctor.learners import service
from proctor.learners.ranks import RANKS
from proctor.orgs import service as orgs
from proctor.web import parse
from proctor.web.keys import actor_of, ctx_of
from proctor.web.openapi import BOOL, INT, STR, obj, op, path_id, query
from proctor.web.render import json_response, page

routes = web.RouteTableDef()


def _filters(request: web.Request) -> dict[str, Any]:
    q = request.query
    return {
        "q": parse.text(dict(q), "q", required=False, max_len=50),
        "org_id": parse.integer(dict(q), "org_id", required=False, minimum=1),
        "rank": parse.text(dict(q), "rank", required=False, max_len=20),
        "page": parse.integer(dict(q), "page", required=False, minimum=1, default=1) or 1,
    }


@routes.get("/api/v1/learners")
async def search_api(request: web.Request) -> web.Response:
    filters = _filters(request)
    total, rows = await service.search(ctx_of(request), actor_of(request), **filters)
    return json_response(
        {"total": total, "page": filters["page"], "items": [r.as_dict() for r in rows]}
    )


@routes.get("/api/v1/learners/{learner_id}")
async def get_api(request: web.Request) -> web.Response:
    view = await service.get(
        ctx_of(request), actor_of(request), parse.path_int(request, "learner_id")
    )
    return json_response(view.as_dict())


@routes.patch("/api/v1/learners/{learner_id}")
async def update_api(request: web.Request) -> web.Response:
    data = await parse.json_body(request)
    view = await service.update(
        ctx_of(request), actor_of(request), parse.path_int(request, "learner_id"), data
    )
    return json_response(view.as_dict())


@routes.post("/api/v1/learners/{learner_id}/reveal")
async def reveal_api(request: web.Request) -> web.Response:
    values = await service.reveal_identifiers(
        ctx_of(request), actor_of(request), parse.path_int(request, "learner_id")
    )
    return json_response(values)


@routes.get("/api/v1/orgs")
async def org_root_api(request: web.Request) -> web.Response:
    return await _children(request, None)


@routes.get("/api/v1/orgs/{org_id}")
async def org_api(request: web.Request) -> web.Response:
    return await _children(request, parse.path_int(request, "org_id"))


async def _children(request: web.Request, org_id: int | None) -> web.Response:
    node, kids = await orgs.children(ctx_of(request), actor_of(request), org_id)
    contacts = await orgs.liaisons(ctx_of(request), actor_of(request), node.id)
    return json_response(
        {
            "id": node.id,
            "name": node.name,
            "level": node.level.value,
            "children": [k.as_dict() for k in kids],
            "liaisons": [c.as_dict() for c in contacts],
        }
    )


@routes.get("/admin/learners")
async def search_page(request: web.Request) -> web.Response:
    filters = _filters(request)
    actor = actor_of(request)
    total, rows = await service.search(ctx_of(request), actor, **filters)
    node, _ = await orgs.children(ctx_of(request), actor, None)
    return page(
        request,
        "learners/search.html",
        {
            "filters": filters,
            "total": total,
            "rows": rows,
            "ranks": RANKS,
            "scope_name": node.name,
            "pages": (total + 49) // 50,
        },
    )


@routes.get("/admin/learners/{learner_id}")
async def detail_page(request: web.Request) -> web.Response:
    learner = await service.get(
        ctx_of(request), actor_of(request), parse.path_int(request, "learner_id")
    )
    return page(request, "learners/detail.html", {"learner": learner})


LEARNER_SCHEMA = obj(
    id=INT,
    name=STR,
    id_masked=STR,
    gender=STR,
    birth_date=STR,
    phone_masked=STR,
    unit_id=INT,
    unit_name=STR,
    rank=STR,
    position=STR,
    active=BOOL,
    username=STR,
)

OPENAPI: dict[str, dict[str, Any]] = {
    "/api/v1/learners": {
        "get": op(
            "Search learners within my authority",
            tag="learners",
            params=[
                query("q", STR, "name, username, unit name or full identity number"),
                query("org_id", INT, "restrict to an org subtree"),
                query("rank", STR),
                query("page", INT),
            ],
            response=obj(total=INT, page=INT, items={"type": "array", "items": LEARNER_SCHEMA}),
        )
    },
    "/api/v1/learners/{learner_id}": {
        "get": op(
            "One learner (404 outside my authority)",
            tag="learners",
            params=[path_id("learner_id")],
            response=LEARNER_SCHEMA,
        ),
        "patch": op(
            "Change rank, position, phone, unit or active flag",
            tag="learners",
            params=[path_id("learner_id")],
            body={
                "type": "object",
                "properties": {
                    "rank": STR,
                    "position": STR,
                    "phone": STR,
                    "unit_id": INT,
                    "active": BOOL,
                },
            },
            response=LEARNER_SCHEMA,
        ),
    },
    "/api/v1/learners/{learner_id}/reveal": {
        "post": op(
            "Full identity number and phone (org administrators; audited)",
            tag="learners",
            params=[path_id("learner_id")],
            response=obj(id_number=STR, phone=STR),
        )
    },
    "/api/v1/orgs": {"get": op("My org node and its children", tag="orgs")},
    "/api/v1/orgs/{org_id}": {
        "get": op(
            "An org node in my authority and its children", tag="orgs", params=[path_id("org_id")]
        )
    },
}
