"""Detection flags for reviewers and org administrators, within their authority."""

from __future__ import annotations

from typing import Any, Literal

from aiohttp import web

from proctor.detection.service import flags_in_scope
from proctor.web.endpoint import Routes
from proctor.web.fields import Input, Output
from proctor.web.keys import actor_of, ctx_of
from proctor.web.render import json_response, page

routes = Routes(tag="detection")
BAND_NAMES = {"high": "高", "medium": "中", "low": "低"}


class FlagQuery(Input):
    band: Literal["high", "medium", "low"] | None = None


class Flags(Output):
    items: list[dict[str, Any]]


@routes.get(
    "/api/v1/flags",
    summary="Open detection flags of learners in my authority, riskiest first, with reasons",
    query=FlagQuery,
    response=Flags,
)
async def flags_api(request: web.Request, query: FlagQuery) -> web.Response:
    flags = await flags_in_scope(ctx_of(request), actor_of(request), band=query.band or "")
    return json_response({"items": [f.as_dict() for f in flags]})


@routes.get("/admin/flags", query=FlagQuery)
async def flags_page(request: web.Request, query: FlagQuery) -> web.Response:
    band = query.band or ""
    flags = await flags_in_scope(ctx_of(request), actor_of(request), band=band)
    return page(
        request, "flags/list.html", {"flags": flags, "band": band, "band_names": BAND_NAMES}
    )
