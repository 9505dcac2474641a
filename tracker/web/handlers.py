"""Heartbeat, challenge, end and status endpoints. Session start lives with the caller
(proctor), which knows who the learner is and whether they may study the lesson."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from tracker import metrics
from tracker.errors import ServiceError
from tracker.hotstate.base import StoreUnavailable
from tracker.protocol import (
    MAX_BODY_BYTES,
    MAX_POSITION_S,
    MAX_RATE,
    parse_answer,
    parse_beat,
    parse_body,
)
from tracker.service import TrackerError
from tracker.tokens import binding_of
from tracker.web.keys import BINDING, TRACKER, LoginBinding
from tracker.web.problem import problem, problem_of

routes = web.RouteTableDef()
PREFIX = "/api/v1/track/sessions/{sid}"
TOKEN_HEADER = "X-Study-Token"  # noqa: S105 - a header name, not a secret


def now_ms() -> int:
    """The server clock: the only clock credit is measured by."""
    return int(time.time() * 1000)


async def read_body(request: web.Request) -> dict[str, Any]:
    """The JSON body, refusing oversized ones before reading them whole."""
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        raise TrackerError("too_large", 413, f"请求体过大（最多 {MAX_BODY_BYTES} 字节）")
    raw = await request.content.read(MAX_BODY_BYTES + 1)
    return parse_body(raw)


def _token(request: web.Request) -> str:
    token = request.headers.get(TOKEN_HEADER, "")
    if not token:
        raise TrackerError("bad_token", 401, f"缺少学习会话令牌（请求头 {TOKEN_HEADER}）")
    return token


_NO_LOGIN = LoginBinding()


def binding(request: web.Request) -> str:
    """The binding of the login presented with the request (tracker/tokens.py)."""
    return binding_of(request.config_dict.get(BINDING, _NO_LOGIN).credential(request))


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def tracked(handler: Handler) -> Handler:
    """Turn tracker errors into problem bodies; refuse with 503 when the hot state is down."""

    async def wrapper(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except ServiceError as exc:
            return problem_of(exc)
        except StoreUnavailable:
            return problem(
                503,
                "hot_state_unavailable",
                "学习记录服务暂时不可用，本次心跳未计入学时，请稍后重试",
                headers={"Retry-After": "5"},
            )

    return wrapper


def client_ip(request: web.Request) -> str:
    """The client's address: the peer, or the client behind a trusted reverse proxy (the
    embedding app rewrites ``request.remote`` from X-Forwarded-For for those)."""
    return request.remote or ""


@routes.post(PREFIX + "/beats")
@tracked
async def beat(request: web.Request) -> web.StreamResponse:
    try:
        hb = parse_beat(await read_body(request))
        began = time.perf_counter()
        reply = await request.config_dict[TRACKER].heartbeat(
            request.match_info["sid"],
            _token(request),
            hb,
            ip=client_ip(request),
            now_ms=now_ms(),
            bind=binding(request),
        )
        metrics.VERIFICATION.observe(time.perf_counter() - began)
    except ServiceError as exc:
        metrics.BEATS_REFUSED.labels(exc.code).inc()
        raise
    except StoreUnavailable:
        metrics.BEATS_REFUSED.labels("hot_state_unavailable").inc()
        raise
    metrics.BEATS_ACCEPTED.inc()
    return web.json_response(reply)


@routes.post(PREFIX + "/challenge")
@tracked
async def challenge(request: web.Request) -> web.StreamResponse:
    cid, answer = parse_answer(await read_body(request))
    reply = await request.config_dict[TRACKER].answer(
        request.match_info["sid"],
        _token(request),
        cid,
        answer,
        now_ms=now_ms(),
        bind=binding(request),
    )
    return web.json_response(reply)


@routes.post(PREFIX + "/end")
@tracked
async def end(request: web.Request) -> web.StreamResponse:
    reply = await request.config_dict[TRACKER].end(
        request.match_info["sid"], _token(request), now_ms=now_ms(), bind=binding(request)
    )
    return web.json_response(reply)


@routes.get(PREFIX)
@tracked
async def status(request: web.Request) -> web.StreamResponse:
    reply = await request.config_dict[TRACKER].status(
        request.match_info["sid"], _token(request), bind=binding(request)
    )
    return web.json_response(reply)


_SID = {"name": "sid", "in": "path", "required": True, "schema": {"type": "string"}}
_TOKEN = {"name": TOKEN_HEADER, "in": "header", "required": True, "schema": {"type": "string"}}
_PROBLEM = {"description": "Problem (RFC 9457)", "content": {"application/problem+json": {}}}
_ERRORS = {str(c): _PROBLEM for c in (400, 401, 403, 404, 409, 410, 413, 422, 503)}
BEAT_SCHEMA = {
    "type": "object",
    "required": [
        "seq",
        "position",
        "rate",
        "paused",
        "visible",
        "focused",
        "muted",
        "volume",
        "interactions",
    ],
    "properties": {
        "seq": {
            "type": "integer",
            "minimum": 1,
            "maximum": 2**31 - 1,
            "description": "1, 2, 3... per session; a retry repeats it",
        },
        "position": {
            "type": "number",
            "minimum": 0,
            "maximum": MAX_POSITION_S,
            "description": "video position, seconds",
        },
        "rate": {"type": "number", "minimum": 0.0625, "maximum": MAX_RATE},
        "paused": {"type": "boolean"},
        "visible": {"type": "boolean", "description": "document.visibilityState == 'visible'"},
        "focused": {"type": "boolean", "description": "document.hasFocus()"},
        "muted": {"type": "boolean"},
        "volume": {"type": "number", "minimum": 0, "maximum": 1},
        "interactions": {
            "type": "integer",
            "minimum": 0,
            "maximum": 100_000,
            "description": "pointer/key/scroll events since last beat",
        },
        "client_time": {
            "type": "number",
            "minimum": 0,
            "maximum": 1e14,
            "description": "client clock, ms since epoch: recorded, never trusted",
        },
    },
}

OPENAPI: dict[str, dict[str, Any]] = {
    "/api/v1/track/sessions/{sid}/beats": {
        "post": {
            "summary": "Heartbeat: the server decides the verified seconds it earned",
            "tags": ["tracker"],
            "parameters": [_SID, _TOKEN],
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": BEAT_SCHEMA}},
            },
            "responses": {
                "200": {
                    "description": "credited seconds, reason codes, coverage, maybe a challenge"
                }
            }
            | _ERRORS,
        }
    },
    "/api/v1/track/sessions/{sid}/challenge": {
        "post": {
            "summary": "Answer the presence challenge the last beat carried",
            "tags": ["tracker"],
            "parameters": [_SID, _TOKEN],
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["challenge_id", "answer"],
                            "properties": {
                                "challenge_id": {
                                    "type": "string",
                                    "minLength": 1,
                                    "maxLength": 32,
                                },
                                "answer": {"type": "string", "maxLength": 32},
                            },
                        }
                    }
                },
            },
            "responses": {"200": {"description": "correct or not; a new challenge when wrong"}}
            | _ERRORS,
        }
    },
    "/api/v1/track/sessions/{sid}/end": {
        "post": {
            "summary": "End the session",
            "tags": ["tracker"],
            "parameters": [_SID, _TOKEN],
            "responses": {"200": {"description": "ended"}} | _ERRORS,
        }
    },
    "/api/v1/track/sessions/{sid}": {
        "get": {
            "summary": "Session status (for a reloading player)",
            "tags": ["tracker"],
            "parameters": [_SID, _TOKEN],
            "responses": {"200": {"description": "status"}} | _ERRORS,
        }
    },
}
