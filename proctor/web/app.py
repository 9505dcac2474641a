"""The aiohttp application factory."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from aiohttp import web

from proctor.catalog.media import Transcoder
from proctor.jobs import registry
from proctor.jobs.runner import Scheduler
from proctor.kernel.context import Context, open_context
from proctor.kernel.metrics import instrument_pool
from proctor.kernel.security.forwarding import parse_networks
from proctor.kernel.settings import Settings
from proctor.study.partitions import keep_partitions_ahead
from proctor.study.runtime import make_tracker
from proctor.web.access import access_middleware, echo_request_id
from proctor.web.csrf import csrf_middleware
from proctor.web.forwarding import TRUSTED_PROXIES, forwarded_middleware
from proctor.web.headers import add_security_headers, hide_server_version
from proctor.web.keys import CTX, TRANSCODER
from proctor.web.media import serve_favicon, serve_media, serve_static
from proctor.web.metrics import serve_metrics
from proctor.web.middlewares import LoginBinding, auth_middleware, error_middleware
from proctor.web.openapi import OPENAPI_DOC, serve_document
from proctor.web.render import TEMPLATES, make_environment
from proctor.web.routes import setup_routes
from tracker.web.app import reaping, writing
from tracker.web.keys import BINDING, TRACKER

# How long a stopping worker lets its scheduled run in hand finish before cancelling it.
JOB_STOP_GRACE_S = 10.0


def create_app(
    settings: Settings | None = None, *, ctx: Context | None = None, jobs: bool = False
) -> web.Application:
    """Build the web application. No I/O here: each resource is opened (or borrowed) by its
    own cleanup context when the app starts, and closed in reverse order when it stops.

    ``jobs``: run the scheduled jobs (``proctor serve`` does when PROCTOR_JOBS_ENABLED; tests
    and tools that embed the app do not, unless they ask)."""
    if settings is None:
        if ctx is None:
            raise TypeError("create_app needs the settings (the CLI reads them) or a context")
        settings = ctx.settings
    app = web.Application(
        middlewares=[
            forwarded_middleware,
            access_middleware,
            error_middleware,
            auth_middleware,
            csrf_middleware,
        ],
        client_max_size=settings.max_upload_bytes + 64 * 1024,
    )
    app[TEMPLATES] = make_environment()
    app[TRUSTED_PROXIES] = parse_networks(settings.trusted_proxies)
    app[BINDING] = LoginBinding()
    app.on_response_prepare.append(add_security_headers)
    app.on_response_prepare.append(echo_request_id)
    hide_server_version()

    async def database(app: web.Application) -> AsyncIterator[None]:
        app[CTX] = context = ctx if ctx is not None else open_context(settings)
        if ctx is None:
            instrument_pool(context.engine)
        try:
            yield
        finally:
            if ctx is None:
                await context.close()

    async def hot_state(app: web.Application) -> AsyncIterator[None]:
        app[TRACKER] = tracker = make_tracker(app[CTX])
        try:
            yield
        finally:
            await tracker.store.close()

    async def evidence_writer(app: web.Application) -> AsyncIterator[None]:
        async with writing(app[TRACKER]):
            yield

    async def session_reaper(app: web.Application) -> AsyncIterator[None]:
        async with reaping(
            app[TRACKER], sweep_interval_s=app[CTX].settings.sweep_interval_s, sweep=not jobs
        ):
            yield

    async def job_scheduler(app: web.Application) -> AsyncIterator[None]:
        scheduler = Scheduler(app[CTX], registry.jobs(app[CTX], app[TRACKER]))
        task = asyncio.create_task(scheduler.run_forever(), name="jobs")
        try:
            yield
        finally:
            # Let the run in hand finish and be recorded; a long one (a daily detection) is
            # cancelled after the grace and taken over later as abandoned.
            scheduler.stop()
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(task, JOB_STOP_GRACE_S)

    async def partition_upkeep(app: web.Application) -> AsyncIterator[None]:
        task = asyncio.create_task(keep_partitions_ahead(app[CTX].engine), name="partitions")
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def video_transcoder(app: web.Application) -> AsyncIterator[None]:
        app[TRANSCODER] = transcoder = Transcoder(app[CTX])
        task = asyncio.create_task(transcoder.run_forever(), name="transcoder")
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    app.cleanup_ctx.extend([database, hot_state, evidence_writer, session_reaper, partition_upkeep])
    app.cleanup_ctx.append(video_transcoder)
    if jobs:
        app.cleanup_ctx.append(job_scheduler)
    app[OPENAPI_DOC] = setup_routes(app)
    app.router.add_get("/api/openapi.json", serve_document)
    app.router.add_get("/static/{path:.+}", serve_static, name="static")
    app.router.add_get("/favicon.ico", serve_favicon, name="favicon")
    app.router.add_get("/media/{path:.+}", serve_media, name="media")
    app.router.add_get("/metrics", serve_metrics, name="metrics")
    return app
