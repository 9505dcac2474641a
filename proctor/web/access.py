"""One log line and the metrics per request; the request id, taken or made, and echoed.

The line says what operations need and no personal data: when, which request, which route
(its template, not the path with its ids), the status, how long, and who by internal id.
A client that goes away before its answer is one line with status 499, not a traceback.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from aiohttp import ClientConnectionResetError, web
from prometheus_client import Counter, Histogram

from proctor.kernel import metrics
from proctor.kernel.logs import REQUEST_ID, new_request_id
from proctor.web.keys import ACTOR

log = logging.getLogger("proctor.access")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
HEADER = "X-Request-Id"
# nginx's code for a client that closed the connection before the answer.
CLIENT_GONE = 499
# Errors that mean the peer is gone, whichever layer noticed it.
DISCONNECTED = (ConnectionResetError, ClientConnectionResetError, BrokenPipeError)


def _route(request: web.Request) -> str:
    info = request.match_info
    resource = info.route.resource if info.http_exception is None else None
    return resource.canonical if resource is not None else "unmatched"


def _actor(request: web.Request) -> dict[str, int]:
    actor = request.get(ACTOR)
    if actor is not None:
        return {"actor_id": actor.account_id}
    # Tracker routes sign in by study token: the session id ("<learner>-<lesson>-<random>")
    # names its learner (the tracker checks the rest).
    learner = request.match_info.get("sid", "").partition("-")[0]
    return {"learner_id": int(learner)} if learner.isdigit() and len(learner) < 12 else {}


# The labelled series, looked up once per (route, method, status): prometheus-client's
# labels() takes a lock and builds a key each call, a measurable share on the beat path.
_SERIES: dict[tuple[str, str, int], tuple[Histogram, Counter]] = {}


# Anything else a client may invent is one label value, so no request can add series.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def _series(route: str, method: str, status: int) -> tuple[Histogram, Counter]:
    method = method if method in METHODS else "other"
    key = (route, method, status)
    found = _SERIES.get(key)
    if found is None:
        found = _SERIES[key] = (
            metrics.REQUEST_SECONDS.labels(route, method),
            metrics.REQUESTS.labels(route, method, str(status)),
        )
    return found


@web.middleware
async def access_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    # Not reset at the end: the answer is prepared after this returns, and its header
    # (echo_request_id) reads the id from here. The next request on the connection sets it.
    REQUEST_ID.set(new_request_id(request.headers.get(HEADER)))
    began = time.perf_counter()
    status = 500
    gone = False
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    except DISCONNECTED:
        status, gone = CLIENT_GONE, True
        # Nobody reads this answer; returning one keeps aiohttp from logging a traceback.
        return web.Response(status=CLIENT_GONE)
    except asyncio.CancelledError:
        status, gone = CLIENT_GONE, True
        raise
    finally:
        seconds = time.perf_counter() - began
        route = _route(request)
        timer, counter = _series(route, request.method, status)
        timer.observe(seconds)
        counter.inc()
        extra: dict[str, object] = {
            "request_id": REQUEST_ID.get(),
            "method": request.method,
            "route": route,
            "status": status,
            "duration_ms": round(seconds * 1000, 2),
            **_actor(request),
        }
        if gone:
            extra["client_gone"] = True
        log.info("request", extra=extra)


async def echo_request_id(request: web.Request, response: web.StreamResponse) -> None:
    """Every answer names its request id (set when the response is prepared, so redirects,
    router errors and files carry it too)."""
    rid = REQUEST_ID.get()
    if rid:
        response.headers[HEADER] = rid
