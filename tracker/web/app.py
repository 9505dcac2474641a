"""Run the tracker: background tasks, and a standalone app (used by the benchmark)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from aiohttp import web

from tracker import spill
from tracker.hotstate.base import StoreUnavailable
from tracker.service import Tracker
from tracker.sweep import sweep
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


async def sweep_forever(tracker: Tracker, interval_s: float = 30.0) -> None:
    """Write waiting summaries and end orphaned sessions (tracker/sweep.py)."""
    while True:
        try:
            await sweep(
                tracker.db,
                tracker.store,
                now_ms(),
                expire_ms=tracker.policy.expire_ms,
                grace_ms=tracker.sweep_grace_ms,
            )
        except StoreUnavailable as exc:
            log.warning("hot state unavailable, session sweep retried: %s", exc)
        except Exception:
            log.exception("session sweep failed; retried")
        await asyncio.sleep(interval_s)


@contextlib.asynccontextmanager
async def writing(tracker: Tracker, *, flush_interval_s: float = 0.5) -> AsyncIterator[None]:
    """The evidence writer; on exit a last flush, bounded, then (embedded store) a spill.

    Before it runs, evidence spilled by the previous run is written (it was acknowledged to
    players), so the sweep never ends a session whose beats are in the file.
    """
    if tracker.spill_path is not None:
        await spill.replay(tracker.writer, tracker.spill_path)
    task = asyncio.create_task(tracker.writer.run(flush_interval_s), name="evidence-writer")
    try:
        yield
    finally:
        await _stop([task])
        left = await tracker.writer.drain(tracker.shutdown_flush_s)
        if left and not tracker.store.durable and tracker.spill_path is not None:
            await asyncio.to_thread(spill.spill, tracker.spill_path, left)
        elif left:
            log.error(
                "%d evidence entries stay pending in the hot state for the next start", len(left)
            )


@contextlib.asynccontextmanager
async def reaping(
    tracker: Tracker, *, sweep_interval_s: float = 30.0, sweep: bool = True
) -> AsyncIterator[None]:
    """The reaper (sessions whose beats stopped) and the sweep (summaries, orphans); an
    embedding app with a job scheduler runs the sweep as one of its jobs instead."""
    tasks = [asyncio.create_task(reap_forever(tracker), name="session-reaper")]
    if sweep:
        tasks.append(
            asyncio.create_task(sweep_forever(tracker, sweep_interval_s), name="session-sweep")
        )
    try:
        yield
    finally:
        await _stop(tasks)


async def _stop(tasks: list[asyncio.Task[None]]) -> None:
    """Cancel background loops and wait until each has ended."""
    for task in tasks:
        task.cancel()
    for task in tasks:
        # A library may swallow a cancellation (in Python 3.11, asyncio.wait_for does when
        # its inner call finishes at the same moment, as redis-py's reads can): the loop
        # then sleeps on. Cancel again until the task has ended.
        while not task.done():
            await asyncio.wait({task}, timeout=0.5)
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


@contextlib.asynccontextmanager
async def background(
    tracker: Tracker, *, flush_interval_s: float = 0.5, sweep_interval_s: float = 30.0
) -> AsyncIterator[None]:
    """The writer, the reaper and the sweep together (the reaper stops first, so the
    writer's last flush takes the ends it wrote)."""
    async with (
        writing(tracker, flush_interval_s=flush_interval_s),
        reaping(tracker, sweep_interval_s=sweep_interval_s),
    ):
        yield


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
