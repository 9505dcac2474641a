"""Liveness answers while the process runs; readiness only while its dependencies answer."""

from __future__ import annotations

import json
import secrets
import socket
from dataclasses import dataclass
from typing import Any

from proctor.kernel.context import open_context
from proctor.kernel.settings import Settings
from proctor.web.app import create_app
from tests.tracker.conftest import REDIS_URL, drop_prefix, redis_or_skip


def _closed_port() -> int:
    """A local port where nothing listens."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Answer:
    status: int
    content_type: str
    headers: dict[str, str]
    text: str

    def json(self) -> Any:
        return json.loads(self.text)


async def _probe(settings: Settings, aiohttp_client: Any) -> tuple[Answer, Answer]:
    """/healthz and /readyz of an app on these settings, read whole before it stops."""
    # No lingering last flush at shutdown when a dependency is down on purpose.
    ctx = open_context(settings.model_copy(update={"shutdown_flush_s": 0}))
    try:
        client = await aiohttp_client(create_app(ctx=ctx))
        try:
            answers = []
            for path in ("/healthz", "/readyz"):
                resp = await client.get(path)
                answers.append(
                    Answer(resp.status, resp.content_type, dict(resp.headers), await resp.text())
                )
            return answers[0], answers[1]
        finally:
            await client.close()  # the app stops before the context it borrows closes
    finally:
        await ctx.close()


async def test_ready_with_the_embedded_hot_state(settings: Settings, aiohttp_client: Any) -> None:
    alive, ready = await _probe(settings, aiohttp_client)
    assert alive.status == 200
    assert ready.status == 200
    assert ready.json()["checks"] == {"database": "ok", "hot_state": "ok"}


async def test_ready_with_redis(settings: Settings, aiohttp_client: Any) -> None:
    client = await redis_or_skip()
    prefix = f"test:{secrets.token_hex(4)}:"
    try:
        _, ready = await _probe(
            settings.model_copy(update={"redis_url": REDIS_URL, "redis_prefix": prefix}),
            aiohttp_client,
        )
    finally:
        await drop_prefix(client, prefix)
        await client.aclose()
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
    body = ready.json()
    assert body["status"] == 503
    assert body["checks"] == {"database": "ok", "hot_state": "unavailable"}
    assert "热数据" in body["detail"]
    assert "127.0.0.1" not in ready.text  # names the dependency, not its address


async def test_not_ready_while_the_database_does_not_answer(
    settings: Settings, aiohttp_client: Any
) -> None:
    down = settings.model_copy(
        update={"database_url": f"postgresql+asyncpg://postgres@127.0.0.1:{_closed_port()}/x"}
    )
    alive, ready = await _probe(down, aiohttp_client)
    assert alive.status == 200
    assert ready.status == 503
    assert ready.json()["checks"] == {"database": "unavailable", "hot_state": "ok"}
