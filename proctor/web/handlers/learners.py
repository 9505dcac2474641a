"""Learner search and records, and the org tree, for staff within their authority."""

from __future__ import annotations

from typing import Annotated

from aiohttp import web
from pydantic import Field

from proctor.learners import service
from proctor.learners.ranks import RANKS
from proctor.orgs import service as orgs
from proctor.web.endpoint import Routes
from proctor.web.fields import Flag, Input, Output, Page, RecordId, chars
from proctor.web.handlers import accounts
from proctor.web.keys import actor_of, ctx_of
from proctor.web.render import json_response, page

routes = Routes(tag="learners")


class LearnerPath(Input):
    learner_id: RecordId


class OrgPath(Input):
    org_id: RecordId


class SearchQuery(Input):
    q: Annotated[
        str, chars(50, required=False, description="name, username, unit name or identity number")
    ] = ""
    org_id: RecordId | None = Field(None, description="restrict to an org subtree")
    rank: Annotated[str, chars(20, required=False)] = ""
    page: Page = 1


class LearnerChanges(Input):
    name: Annotated[str, chars(50)] | None = None
    rank: Annotated[str, chars(20)] | None = None
    position: Annotated[str, chars(60, required=False)] | None = None
    phone: Annotated[str, chars(20)] | None = None
    unit_id: RecordId | None = None
    active: Flag | None = None


class Learner(Output):
    id: int
    name: str
    id_masked: str
    gender: str
    birth_date: str
    phone_masked: str
    unit_id: int
    unit_name: str
    rank: str
    position: str
    active: bool
    username: str | None


class LearnerPage(Output):
    total: int
    page: int
    items: list[Learner]


class Identifiers(Output):
    id_number: str
    phone: str


class OrgChild(Output):
    id: int
    name: str
    code: str
    level: str
    parent_id: int | None
    learners: int


class Liaison(Output):
    name: str
    phone_masked: str
    email: str | None


class OrgNode(Output):
    id: int
    name: str
    level: str
    children: list[OrgChild]
    liaisons: list[Liaison]


@routes.get(
    "/api/v1/learners",
    summary="Search learners within my authority",
    query=SearchQuery,
    response=LearnerPage,
)
async def search_api(request: web.Request, query: SearchQuery) -> web.Response:
    total, rows = await service.search(ctx_of(request), actor_of(request), **query.model_dump())
    return json_response({"total": total, "page": query.page, "items": [r.as_dict() for r in rows]})


@routes.get(
    "/api/v1/learners/{learner_id}",
    summary="One learner (404 outside my authority)",
    path=LearnerPath,
    response=Learner,
)
async def get_api(request: web.Request, path: LearnerPath) -> web.Response:
    view = await service.get(ctx_of(request), actor_of(request), path.learner_id)
    return json_response(view.as_dict())


@routes.patch(
    "/api/v1/learners/{learner_id}",
    summary="Change name, rank, position, phone, unit (within my authority) or active flag; "
    "every change is audited",
    path=LearnerPath,
    body=LearnerChanges,
    response=Learner,
)
async def update_api(request: web.Request, path: LearnerPath, body: LearnerChanges) -> web.Response:
    view = await service.update(
        ctx_of(request),
        actor_of(request),
        path.learner_id,
        body.model_dump(exclude_unset=True, exclude_none=True),
    )
    return json_response(view.as_dict())


@routes.post(
    "/api/v1/learners/{learner_id}/reveal",
    summary="Full identity number and phone (org administrators; audited)",
    path=LearnerPath,
    response=Identifiers,
)
async def reveal_api(request: web.Request, path: LearnerPath) -> web.Response:
    values = await service.reveal_identifiers(ctx_of(request), actor_of(request), path.learner_id)
    return json_response(values)


@routes.get("/api/v1/orgs", summary="My org node and its children", tag="orgs", response=OrgNode)
async def org_root_api(request: web.Request) -> web.Response:
    return await _children(request, None)


@routes.get(
    "/api/v1/orgs/{org_id}",
    summary="An org node in my authority and its children",
    tag="orgs",
    path=OrgPath,
    response=OrgNode,
)
async def org_api(request: web.Request, path: OrgPath) -> web.Response:
    return await _children(request, path.org_id)


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


@routes.get("/admin/learners", query=SearchQuery)
async def search_page(request: web.Request, query: SearchQuery) -> web.Response:
    actor = actor_of(request)
    total, rows = await service.search(ctx_of(request), actor, **query.model_dump())
    node, _ = await orgs.children(ctx_of(request), actor, None)
    return page(
        request,
        "learners/search.html",
        {
            "filters": query,
            "total": total,
            "rows": rows,
            "ranks": RANKS,
            "scope_name": node.name,
            "pages": (total + 49) // 50,
        },
    )


class DetailQuery(Input):
    msg: Annotated[str, chars(16, required=False)] = ""


@routes.get("/admin/learners/{learner_id}", path=LearnerPath, query=DetailQuery)
async def detail_page(request: web.Request, path: LearnerPath, query: DetailQuery) -> web.Response:
    return await accounts.learner_page(
        request, path.learner_id, message=accounts.MESSAGES.get(query.msg)
    )
