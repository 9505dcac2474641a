"""Run the tracker: background tasks, and a standalone app (used by the benchmark)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from aiohttp import web

from tracker.hotstate.base import StoreUnavailable
from tracker.service import Tracker
from tracker.web.handlers import now_ms, routes
from tracker.web.keys import TRACKER

log = logging.getLogger(__name__)


async def reap_forever(tracker: Tracker, interval_s: float = 5.0) -> None:
    """End sessions whose heartbeats stopped (their summaries follow through the writer)."""
    while True:
        try:
            await tracker.expire(now_ms())
        except StoreUnavailable as exc:
            log.warning("hot state unavailable, expiry retried: %s", exc)
        except Exception:
            log.exception("session expiry failed; retried")
        await asyncio.sleep(interval_s)


@contextlib.asynccontextmanager
async def background(tracker: Tracker, *, flush_interval_s: float = 0.5) -> AsyncIterator[None]:
    """The writer and the reaper, cancelled on exit after a last flush."""
    tasks = [
        asyncio.create_task(tracker.writer.run(flush_interval_s), name="evidence-writer"),
        asyncio.create_task(reap_forever(tracker), name="session-reaper"),
    ]
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        with contextlib.suppress(StoreUnavailable):
            await tracker.writer.flush()


def create_app(tracker: Tracker) -> web.Application:
    """A tracker-only application (sessions are started by calling the service)."""
    app = web.Application()
    app[TRACKER] = tracker

    async def run_background(app: web.Application) -> AsyncIterator[None]:
        async with background(tracker):
            yield

    app.cleanup_ctx.append(run_background)
    app.router.add_routes(routes)
    return app
