"""Hot-state stores for the contract suite: the embedded store and a real Redis server."""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from redis import asyncio as aioredis

from tracker.hotstate.base import HotStore
from tracker.hotstate.memory import MemoryStore
from tracker.hotstate.redis import RedisStore, connect

REDIS_URL = os.environ.get("PROCTOR_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
# A real Redis Cluster (three masters; .ci/redis-cluster starts one on 7000-7002).
CLUSTER_URL = os.environ.get("PROCTOR_TEST_REDIS_CLUSTER_URL", "redis+cluster://127.0.0.1:7000/0")
REQUIRE_SERVICES = os.environ.get("PROCTOR_TEST_REQUIRE_SERVICES") == "1"


async def redis_or_skip() -> aioredis.Redis:
    """A client of the test Redis, or skip (fail under CI) when it does not answer."""
    client = aioredis.from_url(REDIS_URL, decode_responses=True)
    try:
        await client.ping()
    except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"
        await client.aclose()
        if REQUIRE_SERVICES:
            pytest.fail(f"Redis is required but not reachable at {REDIS_URL}: {exc}")
        pytest.skip(f"Redis not reachable: {exc}")
    return client


async def cluster_or_skip() -> Any:
    """A client of the test Redis Cluster, or skip (fail under CI) when it does not answer."""
    try:
        client = connect(CLUSTER_URL)
        await client.ping()
    except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"
        if REQUIRE_SERVICES:
            pytest.fail(f"Redis Cluster is required but not reachable at {CLUSTER_URL}: {exc}")
        pytest.skip(f"Redis Cluster not reachable: {exc}")
    return client


@dataclass
class Target:
    """A Redis deployment under test (one server or a cluster) with a test's own prefix."""

    url: str
    prefix: str
    client: Any


@pytest.fixture(params=["redis", "cluster"])
async def target(request: pytest.FixtureRequest) -> AsyncIterator[Target]:
    """Each multi-process test runs on one Redis server and on Redis Cluster."""
    if request.param == "redis":
        client = await redis_or_skip()
        url = REDIS_URL
    else:
        client = await cluster_or_skip()
        url = CLUSTER_URL
    prefix = f"test:{secrets.token_hex(4)}:"
    yield Target(url, prefix, client)
    await drop_prefix(client, prefix)
    await client.aclose()


async def drop_prefix(client: Any, prefix: str) -> None:
    """Delete a test's keys (each test has its own prefix; nothing else is touched)."""
    async for key in client.scan_iter(match=f"{prefix}*"):
        await client.delete(key)


@pytest.fixture(params=["memory", "redis", "cluster"])
async def store(request: pytest.FixtureRequest) -> AsyncIterator[HotStore]:
    """Each contract test runs against the embedded store, Redis and Redis Cluster."""
    if request.param == "memory":
        yield MemoryStore(expire_ms=90_000)
        return
    client = await (redis_or_skip() if request.param == "redis" else cluster_or_skip())
    prefix = f"test:{secrets.token_hex(4)}:"
    yield RedisStore(REDIS_URL, prefix=prefix, expire_ms=90_000, client=client)
    await drop_prefix(client, prefix)
    await client.aclose()


class FakeClock:
    """The server clock under test control (milliseconds since the epoch)."""

    def __init__(self) -> None:
        self.ms = 1_790_000_000_000

    def __call__(self) -> int:
        return self.ms

    def advance(self, seconds: float) -> int:
        self.ms += int(seconds * 1000)
        return self.ms


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    """Replace the tracker's server clock in every handler that reads it."""
    fake = FakeClock()
    monkeypatch.setattr("tracker.web.handlers.now_ms", fake)
    monkeypatch.setattr("proctor.web.handlers.study.now_ms", fake)
    return fake


@pytest.fixture(params=["memory", "redis"])
async def hot_settings(request: pytest.FixtureRequest, settings: object) -> AsyncIterator[object]:
    """The test settings with the embedded store or a real Redis (own key prefix)."""
    from proctor.settings import Settings

    assert isinstance(settings, Settings)
    if request.param == "memory":
        yield settings
        return
    client = await redis_or_skip()
    prefix = f"test:{secrets.token_hex(4)}:"
    yield settings.model_copy(update={"redis_url": REDIS_URL, "redis_prefix": prefix})
    await drop_prefix(client, prefix)
    await client.aclose()
