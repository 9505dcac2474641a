"""Liveness answers while the process runs; readiness only while its dependencies answer."""

from __future__ import annotations

import socket
from typing import Any

from proctor.context import open_context
from proctor.settings import Settings
from proctor.web.app import create_app
from tests.tracker.conftest import REDIS_URL, redis_or_skip


def _closed_port() -> int:
    """A local port where nothing listens."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _probe(settings: Settings, aiohttp_client: Any) -> tuple[Any, Any]:
    ctx = open_context(settings)
    try:
        client = await aiohttp_client(create_app(ctx=ctx))
        return await client.get("/healthz"), await client.get("/readyz")
    finally:
        await ctx.close()


async def test_ready_with_the_embedded_hot_state(settings: Settings, aiohttp_client: Any) -> None:
    alive, ready = await _probe(settings, aiohttp_client)
    assert alive.status == 200
    assert ready.status == 200
    assert (await ready.json())["checks"] == {"database": "ok", "hot_state": "ok"}


async def test_ready_with_redis(settings: Settings, aiohttp_client: Any) -> None:
    await (await redis_or_skip()).aclose()
    _, ready = await _probe(settings.model_copy(update={"redis_url": REDIS_URL}), aiohttp_client)
    assert ready.status == 200


async def test_not_ready_while_redis_does_not_answer(
    settings: Settings, aiohttp_client: Any
) -> None:
    """Redis configured where nothing listens: alive, not ready, and the body says why."""
    down = settings.model_copy(update={"redis_url": f"redis://127.0.0.1:{_closed_port()}/0"})
    alive, ready = await _probe(down, aiohttp_client)
    assert alive.status == 200
    assert ready.status == 503
    assert ready.content_type == "application/problem+json"
    assert ready.headers["Retry-After"]
    body = await ready.json()
    assert body["status"] == 503
    assert body["checks"] == {"database": "ok", "hot_state": "unavailable"}
    assert "热数据" in body["detail"]
    assert "127.0.0.1" not in await ready.text()  # names the dependency, not its address


async def test_not_ready_while_the_database_does_not_answer(
    settings: Settings, aiohttp_client: Any
) -> None:
    down = settings.model_copy(
        update={"database_url": f"postgresql+asyncpg://postgres@127.0.0.1:{_closed_port()}/x"}
    )
    alive, ready = await _probe(down, aiohttp_client)
    assert alive.status == 200
    assert ready.status == 503
    assert (await ready.json())["checks"] == {"database": "unavailable", "hot_state": "ok"}
