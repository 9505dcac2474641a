"""Detection flags for reviewers and org administrators, within their authority: paged, and
filtered by band and by an org node picked by name."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from aiohttp import web
from pydantic import Field

from proctor.detection.listing import flag_page
from proctor.orgs import tree
from proctor.web.endpoint import Routes
from proctor.web.fields import Input, Offset, Output, Page, RecordId
from proctor.web.keys import actor_of, ctx_of
from proctor.web.render import json_response, page

routes = Routes(tag="detection")
BAND_NAMES = {"high": "高", "medium": "中", "low": "低"}
SOURCE_NAMES = {"study": "学习检测", "exam": "考试"}
Source = Literal["study", "exam"]
PER_PAGE = 50


class FlagQuery(Input):
    band: Literal["high", "medium", "low"] | None = None
    source: Source | None = Field(None, description="study detection or exam forensics")
    org_id: RecordId | None = Field(None, alias="org", description="org node (my authority)")
    offset: Offset = 0
    limit: Annotated[int, Field(ge=1, le=500)] = 200


class FlagPageQuery(Input):
    band: Literal["high", "medium", "low"] | None = None
    source: Source | None = None
    org_id: RecordId | None = Field(None, alias="org")
    page: Page = 1


class Flags(Output):
    total: int
    capped: bool = Field(description="more match than total (counting stops at the cap)")
    items: list[dict[str, Any]]


@routes.get(
    "/api/v1/flags",
    summary="Open detection flags of learners in my authority, riskiest first, with reasons; "
    "paged, by band, source and org",
    query=FlagQuery,
    response=Flags,
)
async def flags_api(request: web.Request, query: FlagQuery) -> web.Response:
    ctx, actor = ctx_of(request), actor_of(request)
    org_path = None
    if query.org_id is not None:
        _, org_path = await tree.picked(ctx, actor, query.org_id)
    total, flags = await flag_page(
        ctx,
        actor,
        band=query.band or "",
        source=query.source or "",
        org_path=org_path,
        offset=query.offset,
        limit=query.limit,
    )
    return json_response(
        {"total": total.value, "capped": total.capped, "items": [f.as_dict() for f in flags]}
    )


@routes.get("/admin/flags", query=FlagPageQuery)
async def flags_page(request: web.Request, query: FlagPageQuery) -> web.Response:
    ctx, actor = ctx_of(request), actor_of(request)
    org = org_path = None
    if query.org_id is not None:
        org, org_path = await tree.picked(ctx, actor, query.org_id)
    total, flags = await flag_page(
        ctx,
        actor,
        band=query.band or "",
        source=query.source or "",
        org_path=org_path,
        offset=(query.page - 1) * PER_PAGE,
        limit=PER_PAGE,
    )
    return page(
        request,
        "flags/list.html",
        {
            "flags": flags,
            "band": query.band or "",
            "band_names": BAND_NAMES,
            "source": query.source or "",
            "source_names": SOURCE_NAMES,
            "org": org,
            "total": total,
            "f": query,
            "pages": total.pages(PER_PAGE),
        },
    )
