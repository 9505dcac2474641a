"""The aiohttp application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

from aiohttp import web

from proctor.context import Context, open_context
from proctor.security.forwarding import parse_networks
from proctor.settings import Settings
from proctor.study.runtime import make_tracker
from proctor.web.csrf import csrf_middleware
from proctor.web.forwarding import TRUSTED_PROXIES, forwarded_middleware
from proctor.web.headers import add_security_headers, hide_server_version
from proctor.web.keys import CTX
from proctor.web.middlewares import LoginBinding, auth_middleware, error_middleware
from proctor.web.openapi import OPENAPI_DOC, build_document, serve_document
from proctor.web.render import TEMPLATES, make_environment
from proctor.web.routes import setup_routes
from tracker.web.app import background
from tracker.web.keys import BINDING, TRACKER

HERE = Path(__file__).parent


def create_app(settings: Settings | None = None, *, ctx: Context | None = None) -> web.Application:
    """Build the web application; it opens (or borrows) the resources in a cleanup context."""
    settings = settings or (ctx.settings if ctx else Settings())
    app = web.Application(
        middlewares=[forwarded_middleware, error_middleware, auth_middleware, csrf_middleware],
        client_max_size=settings.max_upload_bytes + 64 * 1024,
    )
    app[TEMPLATES] = make_environment()
    app[TRUSTED_PROXIES] = parse_networks(settings.trusted_proxies)
    app[BINDING] = LoginBinding()
    app.on_response_prepare.append(add_security_headers)
    hide_server_version()

    async def resources(app: web.Application) -> AsyncIterator[None]:
        owned = ctx is None
        app[CTX] = context = ctx if ctx is not None else open_context(settings)
        tracker = make_tracker(context)
        app[TRACKER] = tracker
        try:
            async with background(tracker, sweep_interval_s=context.settings.sweep_interval_s):
                yield
        finally:
            await tracker.store.close()
            if owned:
                await context.close()

    app.cleanup_ctx.append(resources)
    paths = setup_routes(app)
    app[OPENAPI_DOC] = build_document(paths)
    app.router.add_get("/api/openapi.json", serve_document)
    app.router.add_static("/static/", HERE / "static", name="static")
    # Lesson videos live in the data folder (generated for the demo, uploaded in production).
    media = settings.data_dir / "media"
    media.mkdir(parents=True, exist_ok=True)
    app.router.add_static("/media/", media, name="media")
    return app
