"""The aiohttp application factory."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from aiohttp import web

from proctor.kernel.addresses import parse_networks
from proctor.kernel.context import Context, open_context
from proctor.kernel.settings import Settings
from proctor.study.partitions import keep_partitions_ahead
from proctor.study.runtime import make_tracker
from proctor.web.forwarded import forwarded_middleware
from proctor.web.keys import CTX
from proctor.web.middlewares import LoginBinding, auth_middleware, error_middleware
from proctor.web.openapi import OPENAPI_DOC, serve_document
from proctor.web.render import TEMPLATES, make_environment
from proctor.web.routes import setup_routes
from tracker.web.app import background
from tracker.web.keys import BINDING, TRACKER

HERE = Path(__file__).parent


def create_app(settings: Settings | None = None, *, ctx: Context | None = None) -> web.Application:
    """Build the web application; it opens (or borrows) the resources in a cleanup context."""
    settings = settings or (ctx.settings if ctx else Settings())
    app = web.Application(
        middlewares=[
            forwarded_middleware(parse_networks(settings.trusted_proxies)),
            error_middleware,
            auth_middleware,
        ],
        client_max_size=settings.max_upload_bytes + 64 * 1024,
    )
    app[TEMPLATES] = make_environment()
    app[BINDING] = LoginBinding()

    async def resources(app: web.Application) -> AsyncIterator[None]:
        owned = ctx is None
        app[CTX] = context = ctx if ctx is not None else open_context(settings)
        tracker = make_tracker(context)
        app[TRACKER] = tracker
        upkeep = asyncio.create_task(keep_partitions_ahead(context.engine), name="partitions")
        try:
            async with background(tracker, sweep_interval_s=context.settings.sweep_interval_s):
                yield
        finally:
            upkeep.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await upkeep
            await tracker.store.close()
            if owned:
                await context.close()

    app.cleanup_ctx.append(resources)
    app[OPENAPI_DOC] = setup_routes(app)
    app.router.add_get("/api/openapi.json", serve_document)
    app.router.add_static("/static/", HERE / "static", name="static")
    # Lesson videos live in the data folder (generated for the demo, uploaded in production).
    media = settings.data_dir / "media"
    media.mkdir(parents=True, exist_ok=True)
    app.router.add_static("/media/", media, name="media")
    return app
