"""Study: the lesson player page and the session start the player calls."""

from __future__ import annotations

from typing import Annotated

from aiohttp import web

from proctor.study import service
from proctor.web.endpoint import Routes
from proctor.web.fields import Input, Output, RecordId, chars
from proctor.web.keys import TOKEN, actor_of, ctx_of
from proctor.web.render import json_response, page
from tracker.protocol import MAX_BODY_BYTES
from tracker.tokens import binding_of
from tracker.web.handlers import client_ip, now_ms, tracked
from tracker.web.keys import TRACKER

routes = Routes(tag="tracker")


class LessonPath(Input):
    lesson_id: RecordId


class SessionStart(Input):
    lesson_id: RecordId
    device: Annotated[str, chars(128, required=False, description="the player's fingerprint")] = ""


class Started(Output):
    session_id: str
    token: str
    heartbeat_interval_s: float
    server_time_ms: int
    duration_s: float
    covered_s: float
    resume_at_s: float
    completed: bool
    lesson_id: int
    course_id: int


@routes.post(
    "/api/v1/study/sessions",
    summary="Start a tracked study session on a lesson (learners; enrols in the course)",
    body=SessionStart,
    max_body=MAX_BODY_BYTES,
    response=Started,
    status=201,
    errors=(404, 503),
    around=tracked,
)
async def start_api(request: web.Request, body: SessionStart) -> web.StreamResponse:
    started = await service.start(
        ctx_of(request),
        request.config_dict[TRACKER],
        actor_of(request),
        body.lesson_id,
        device=body.device,
        user_agent=request.headers.get("User-Agent", ""),
        ip=client_ip(request),
        now_ms=now_ms(),
        bind=binding_of(request[TOKEN]),
    )
    return json_response(started, status=201)


@routes.get("/learn/lessons/{lesson_id}", path=LessonPath)
async def player_page(request: web.Request, path: LessonPath) -> web.Response:
    info = await service.lesson_page(ctx_of(request), actor_of(request), path.lesson_id)
    return page(request, "study/player.html", {"info": info})
