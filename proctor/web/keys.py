"""Typed keys for application and request state."""

from __future__ import annotations

from aiohttp import web

from proctor.catalog.media import Transcoder
from proctor.kernel.authz import Actor
from proctor.kernel.context import Context

CTX = web.AppKey("ctx", Context)
# The process's lesson-video worker (proctor.catalog.media), woken when a video is uploaded.
TRANSCODER = web.AppKey("transcoder", Transcoder)
ACTOR = web.RequestKey("actor", Actor)
TOKEN = web.RequestKey("token", str)
SESSION_COOKIE = "proctor_session"


def ctx_of(request: web.Request) -> Context:
    """The process's resources."""
    return request.config_dict[CTX]


def actor_of(request: web.Request) -> Actor:
    """The signed-in actor (the auth middleware guarantees one on protected routes)."""
    return request[ACTOR]


def is_api(request: web.Request) -> bool:
    """JSON API routes answer with problem bodies; pages answer with HTML."""
    return request.path.startswith("/api/")
