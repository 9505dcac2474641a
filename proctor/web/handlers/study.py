"""Study: the lesson player page and the session start the player calls."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from proctor.study import service
from proctor.web import parse
from proctor.web.keys import TOKEN, actor_of, ctx_of
from proctor.web.openapi import INT, STR, obj, op
from proctor.web.render import json_response, page
from tracker.protocol import parse_start
from tracker.tokens import binding_of
from tracker.web.handlers import client_ip, now_ms, read_body, tracked
from tracker.web.keys import TRACKER

routes = web.RouteTableDef()


@routes.post("/api/v1/study/sessions")
@tracked
async def start_api(request: web.Request) -> web.StreamResponse:
    lesson_id, device = parse_start(await read_body(request))
    started = await service.start(
        ctx_of(request),
        request.config_dict[TRACKER],
        actor_of(request),
        lesson_id,
        device=device,
        user_agent=request.headers.get("User-Agent", ""),
        ip=client_ip(request),
        now_ms=now_ms(),
        bind=binding_of(request[TOKEN]),
    )
    return json_response(started, status=201)


@routes.get("/learn/lessons/{lesson_id}")
async def player_page(request: web.Request) -> web.Response:
    info = await service.lesson_page(
        ctx_of(request), actor_of(request), parse.path_int(request, "lesson_id")
    )
    return page(request, "study/player.html", {"info": info})


OPENAPI: dict[str, dict[str, Any]] = {
    "/api/v1/study/sessions": {
        "post": op(
            "Start a tracked study session on a lesson (learners; enrols in the course)",
            tag="tracker",
            body=obj(lesson_id=INT, device=STR),
            response=obj(
                session_id=STR,
                token=STR,
                heartbeat_interval_s={"type": "number"},
                duration_s={"type": "number"},
                covered_s={"type": "number"},
                resume_at_s={"type": "number"},
            ),
            errors=(400, 401, 403, 404, 413, 422, 503),
        )
    }
}
