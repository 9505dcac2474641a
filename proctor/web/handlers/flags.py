"""Detection flags for reviewers and org administrators, within their authority."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from proctor.detection.service import flags_in_scope
from proctor.web import parse
from proctor.web.keys import actor_of, ctx_of
from proctor.web.openapi import STR, op, query
from proctor.web.render import json_response, page

routes = web.RouteTableDef()
BANDS = ("high", "medium", "low")
BAND_NAMES = {"high": "高", "medium": "中", "low": "低"}


def _band(request: web.Request) -> str:
    band = parse.text(dict(request.query), "band", required=False, max_len=8)
    if band and band not in BANDS:
        raise web.HTTPBadRequest(reason="band must be high, medium or low")
    return band


@routes.get("/api/v1/flags")
async def flags_api(request: web.Request) -> web.Response:
    flags = await flags_in_scope(ctx_of(request), actor_of(request), band=_band(request))
    return json_response({"items": [f.as_dict() for f in flags]})


@routes.get("/admin/flags")
async def flags_page(request: web.Request) -> web.Response:
    band = _band(request)
    flags = await flags_in_scope(ctx_of(request), actor_of(request), band=band)
    return page(
        request, "flags/list.html", {"flags": flags, "band": band, "band_names": BAND_NAMES}
    )


OPENAPI: dict[str, dict[str, Any]] = {
    "/api/v1/flags": {
        "get": op(
            "Open detection flags of learners in my authority, riskiest first, with reasons",
            tag="detection",
            params=[query("band", STR, "high | medium | low")],
        )
    }
}
