"""The tracker's background tasks end at shutdown even when a cancellation is swallowed."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest

from tracker.web.app import background


class SwallowingWriter:
    """A writer whose flush loop loses the first cancellation, as a library call can."""

    def __init__(self) -> None:
        self.swallowed = 0

    async def run(self, interval_s: float) -> None:
        while True:
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                if self.swallowed:
                    raise
                self.swallowed += 1
            await asyncio.sleep(interval_s)

    async def drain(self, bound_s: float) -> list[Any]:
        return []


async def test_shutdown_does_not_hang_on_a_swallowed_cancellation(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def idle(*args: Any, **kwargs: Any) -> None:
        await asyncio.sleep(3600)

    monkeypatch.setattr("tracker.web.app.reap_forever", idle)
    monkeypatch.setattr("tracker.web.app.sweep_forever", idle)
    writer = SwallowingWriter()
    tracker: Any = SimpleNamespace(
        writer=writer, spill_path=None, shutdown_flush_s=0.0, store=SimpleNamespace(durable=True)
    )

    async def run() -> None:
        async with background(tracker, flush_interval_s=60):
            await asyncio.sleep(0.05)

    shutdown = asyncio.ensure_future(run())
    done, _ = await asyncio.wait({shutdown}, timeout=5)  # a bound for a hang, not a speed test
    if not done:
        shutdown.cancel()  # (cancelling the shutdown cancels the writer once more)
        await asyncio.wait({shutdown})
    assert done, "shutdown waited on a writer that had lost its cancellation"
    assert writer.swallowed == 1
