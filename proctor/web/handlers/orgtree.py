"""The org tree (Art. 2, 14): the picker's name search for every staff page, and adding,
renaming, moving and closing nodes for the academy and the province's and cities' administrators."""

from __future__ import annotations

from typing import Annotated, Literal

from aiohttp import web
from pydantic import Field

from models import OrgLevel, Role
from proctor.kernel.errors import ProctorError
from proctor.orgs import tree
from proctor.web.endpoint import Form, Routes
from proctor.web.fields import Input, Output, RecordId, chars
from proctor.web.keys import actor_of, ctx_of
from proctor.web.render import json_response, page

routes = Routes(tag="orgs")
Name = Annotated[str, chars(100)]
Code = Annotated[str, Field(pattern=r"^[A-Za-z0-9]{1,32}$")]
Level = Literal["province", "city", "county", "unit"]
MESSAGES = {
    "added": "已新增机构。",
    "renamed": "已更名。",
    "moved": "已移动，其下学员、课程、培训班、花名册和案件随之调整。",
    "closed": "已撤销。",
    "reopened": "已恢复。",
}


class OrgPath(Input):
    org_id: RecordId


class SearchQuery(Input):
    q: Annotated[str, chars(50, required=False, description="part of the name, or the code")] = ""
    level: Level | None = None
    open: bool | None = Field(None, description="only nodes not closed")


class TreeQuery(Input):
    org_id: RecordId | None = Field(None, alias="org")
    msg: Annotated[str, chars(16, required=False)] = ""


class NewOrg(Input):
    parent_id: RecordId
    name: Name
    code: Code | None = Field(None, description="default: the parent's code and a sequence")


class OrgChanges(Input):
    name: Name


class MoveIn(Input):
    parent_id: RecordId


class NameForm(Input):
    name: Name


class NewOrgForm(Input):
    name: Name
    code: Annotated[str, chars(32, required=False)] = ""


class MoveForm(Input):
    parent_id: RecordId


class Node(Output):
    id: int
    name: str
    code: str
    level: Level
    level_name: str
    trail: str = Field(description="names from the root, ' / ' between them")
    closed: bool


class Nodes(Output):
    items: list[Node]


@routes.get(
    "/api/v1/org-search",
    summary="Org nodes of my authority by name (or code prefix), shallowest first: the tree "
    "picker's search",
    query=SearchQuery,
    response=Nodes,
)
async def search_api(request: web.Request, query: SearchQuery) -> web.Response:
    found = await tree.search(
        ctx_of(request),
        actor_of(request),
        query.q,
        level=OrgLevel(query.level) if query.level else None,
        open_only=bool(query.open),
    )
    return json_response({"items": [n.as_dict() for n in found]})


@routes.post(
    "/api/v1/orgs",
    summary="Add a node below one of my authority (academy, province and city administrators)",
    body=NewOrg,
    response=Node,
    status=201,
    errors=(409,),
)
async def add_api(request: web.Request, body: NewOrg) -> web.Response:
    node = await tree.add_child(
        ctx_of(request), actor_of(request), body.parent_id, body.name, body.code
    )
    return json_response(node.as_dict(), status=201)


@routes.patch(
    "/api/v1/orgs/{org_id}",
    summary="Rename a node below my own",
    path=OrgPath,
    body=OrgChanges,
    response=Node,
    errors=(409,),
)
async def rename_api(request: web.Request, path: OrgPath, body: OrgChanges) -> web.Response:
    node = await tree.rename(ctx_of(request), actor_of(request), path.org_id, body.name)
    return json_response(node.as_dict())


@routes.post(
    "/api/v1/orgs/{org_id}/move",
    summary="Move a node (and all below it) under another parent of my authority; a parent "
    "outside it, which would take the node's learners out of my authority, is 404",
    path=OrgPath,
    body=MoveIn,
    response=Node,
    errors=(409,),
)
async def move_api(request: web.Request, path: OrgPath, body: MoveIn) -> web.Response:
    node = await tree.move(ctx_of(request), actor_of(request), path.org_id, body.parent_id)
    return json_response(node.as_dict())


@routes.post(
    "/api/v1/orgs/{org_id}/close",
    summary="Close a node with no active learners, accounts, open children or pending rosters",
    path=OrgPath,
    response=Node,
    errors=(409,),
)
async def close_api(request: web.Request, path: OrgPath) -> web.Response:
    node = await tree.close(ctx_of(request), actor_of(request), path.org_id)
    return json_response(node.as_dict())


@routes.post(
    "/api/v1/orgs/{org_id}/reopen",
    summary="Reopen a closed node",
    path=OrgPath,
    response=Node,
    errors=(409,),
)
async def reopen_api(request: web.Request, path: OrgPath) -> web.Response:
    node = await tree.reopen(ctx_of(request), actor_of(request), path.org_id)
    return json_response(node.as_dict())


# ---------------------------------------------------------------- pages


async def _tree_page(
    request: web.Request,
    org_id: int | None,
    *,
    message: str | None = None,
    error: str | None = None,
    status: int = 200,
) -> web.Response:
    ctx, actor = ctx_of(request), actor_of(request)
    actor.require(frozenset({Role.ORG_ADMIN, Role.ACADEMY_ADMIN}), "管理机构")
    node, kids = await tree.node_refs(ctx, actor, org_id if org_id is not None else actor.org_id)
    can_shape = await tree.can_shape(ctx, actor)
    return page(
        request,
        "orgs/tree.html",
        {
            "node": node,
            "kids": kids,
            "own": node.id == actor.org_id,
            "can_shape": can_shape,
            "message": message,
            "error": error,
        },
        status=status,
    )


@routes.get("/admin/orgs", query=TreeQuery)
async def tree_page(request: web.Request, query: TreeQuery) -> web.Response:
    return await _tree_page(request, query.org_id, message=MESSAGES.get(query.msg))


@routes.post("/admin/orgs/{org_id}/children", path=OrgPath, form=NewOrgForm)
async def add_form(request: web.Request, path: OrgPath, form: Form[NewOrgForm]) -> web.Response:
    try:
        new = form.valid()
        await tree.add_child(
            ctx_of(request), actor_of(request), path.org_id, new.name, new.code or None
        )
    except ProctorError as exc:
        return await _tree_page(request, path.org_id, error=exc.message, status=exc.status)
    raise web.HTTPSeeOther(f"/admin/orgs?org={path.org_id}&msg=added")


@routes.post("/admin/orgs/{org_id}/rename", path=OrgPath, form=NameForm)
async def rename_form(request: web.Request, path: OrgPath, form: Form[NameForm]) -> web.Response:
    try:
        await tree.rename(ctx_of(request), actor_of(request), path.org_id, form.valid().name)
    except ProctorError as exc:
        return await _tree_page(request, path.org_id, error=exc.message, status=exc.status)
    raise web.HTTPSeeOther(f"/admin/orgs?org={path.org_id}&msg=renamed")


@routes.post("/admin/orgs/{org_id}/move", path=OrgPath, form=MoveForm)
async def move_form(request: web.Request, path: OrgPath, form: Form[MoveForm]) -> web.Response:
    try:
        await tree.move(ctx_of(request), actor_of(request), path.org_id, form.valid().parent_id)
    except ProctorError as exc:
        return await _tree_page(request, path.org_id, error=exc.message, status=exc.status)
    raise web.HTTPSeeOther(f"/admin/orgs?org={path.org_id}&msg=moved")


@routes.post("/admin/orgs/{org_id}/close", path=OrgPath)
async def close_form(request: web.Request, path: OrgPath) -> web.Response:
    try:
        await tree.close(ctx_of(request), actor_of(request), path.org_id)
    except ProctorError as exc:
        return await _tree_page(request, path.org_id, error=exc.message, status=exc.status)
    raise web.HTTPSeeOther(f"/admin/orgs?org={path.org_id}&msg=closed")


@routes.post("/admin/orgs/{org_id}/reopen", path=OrgPath)
async def reopen_form(request: web.Request, path: OrgPath) -> web.Response:
    try:
        await tree.reopen(ctx_of(request), actor_of(request), path.org_id)
    except ProctorError as exc:
        return await _tree_page(request, path.org_id, error=exc.message, status=exc.status)
    raise web.HTTPSeeOther(f"/admin/orgs?org={path.org_id}&msg=reopened")
