"""Sign-in guards: a budget per source address, then the account lockout.

Counters run on the embedded store and on Redis (where several server processes share
them); accounts on SQLite and PostgreSQL.
"""

from __future__ import annotations

import secrets
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from proctor.accounts import service as accounts
from proctor.accounts.throttle import LoginLimits, TooManyAttempts, address_key, lock_needed
from proctor.kernel.context import Context, open_context
from proctor.kernel.errors import Unauthenticated, Unavailable
from proctor.kernel.security.windows import MemoryWindows, RedisWindows, Windows
from proctor.kernel.settings import Settings
from proctor.web.app import create_app
from tests.factories import PASSWORD, World, build_world
from tests.tracker.conftest import REDIS_URL, cluster_or_skip, drop_prefix, redis_or_skip

LIMITS = LoginLimits(address_failures=20, address_window_s=600, account_failures=5, lock_s=900)


@pytest.mark.parametrize(
    ("ip", "key"),
    [
        ("10.2.3.4", "10.2.3.4"),
        (" 10.2.3.4 ", "10.2.3.4"),
        ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"),
        ("2001:db8:1:3::1", "2001:db8:1:3::/64"),
        ("::ffff:10.2.3.4", "10.2.3.4"),
        ("", "unknown"),
        ("not-an-address", "unknown"),
    ],
)
def test_address_budgets_are_per_ipv4_address_and_per_ipv6_network(ip: str, key: str) -> None:
    assert address_key(ip) == key


@pytest.mark.parametrize(
    ("staff", "failures", "addresses", "locks"),
    [
        (False, 4, 0, False),
        (False, 5, 0, True),  # a learner account: five wrong passwords from anywhere
        (True, 50, 1, False),  # staff: any number from one address never locks
        (True, 50, 4, False),
        (True, 5, 5, True),  # five different addresses do
    ],
)
def test_lock_policy(staff: bool, failures: int, addresses: int, locks: bool) -> None:
    assert lock_needed(staff=staff, failures=failures, addresses=addresses, limits=LIMITS) is locks


class Clock:
    def __init__(self) -> None:
        self.t = 1_790_000_000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture(params=["memory", "redis", "cluster"])
async def windows(request: pytest.FixtureRequest) -> AsyncIterator[tuple[Windows, Clock]]:
    clock = Clock()
    if request.param == "memory":
        yield MemoryWindows(clock=clock), clock
        return
    client = await (redis_or_skip() if request.param == "redis" else cluster_or_skip())
    prefix = f"test:{secrets.token_hex(4)}:"
    yield RedisWindows(client, prefix=prefix, clock=clock, close_client=False), clock
    await drop_prefix(client, prefix)
    await client.aclose()


async def test_counters(windows: tuple[Windows, Clock]) -> None:
    store, _ = windows
    assert (await store.hit("a", 600)).hits == 1
    second = await store.hit("a", 600)
    assert second.hits == 2 and 590 <= second.resets_in_s <= 600
    await store.undo("a")
    assert (await store.hit("a", 600)).hits == 2
    assert (await store.hit("b", 600)).hits == 1
    await store.undo("never-hit")
    assert (await store.hit("never-hit", 600)).hits == 1
    await store.clear("a")
    assert (await store.hit("a", 600)).hits == 1


async def test_distinct_members_in_a_sliding_window(windows: tuple[Windows, Clock]) -> None:
    store, clock = windows
    assert await store.add("s", "10.0.0.1", 900) == 1
    assert await store.add("s", "10.0.0.1", 900) == 1  # the same address counts once
    clock.t += 600
    assert await store.add("s", "10.0.0.2", 900) == 2
    clock.t += 400  # the first address was last seen 1000 s ago: out of the window
    assert await store.add("s", "10.0.0.3", 900) == 2
    await store.clear("s")
    assert await store.add("s", "10.0.0.3", 900) == 1


def test_the_embedded_counters_expire() -> None:
    import asyncio

    clock = Clock()
    store = MemoryWindows(clock=clock)

    async def run() -> None:
        for _ in range(3):
            await store.hit("a", 60)
        clock.t += 61
        assert (await store.hit("a", 60)).hits == 1

    asyncio.run(run())


@pytest.fixture(params=["memory", "redis"])
async def guarded(
    request: pytest.FixtureRequest, settings: Settings
) -> AsyncIterator[tuple[Context, World]]:
    """A context whose sign-in counters are embedded or in Redis, with the test world."""
    if request.param == "memory":
        ctx = open_context(settings)
        yield ctx, await build_world(ctx)
        await ctx.close()
        return
    client = await redis_or_skip()
    prefix = f"test:{secrets.token_hex(4)}:"
    ctx = open_context(settings.model_copy(update={"redis_url": REDIS_URL, "redis_prefix": prefix}))
    yield ctx, await build_world(ctx)
    await ctx.close()
    await drop_prefix(client, prefix)
    await client.aclose()


async def _fail(ctx: Context, username: str, ip: str) -> None:
    with pytest.raises(Unauthenticated):
        await accounts.login(ctx, username, "wrong-password", ip=ip)


async def test_one_address_trying_many_accounts_gets_429(
    guarded: tuple[Context, World], aiohttp_client: Any
) -> None:
    """40 wrong passwords on 20 accounts from one address: 429 from the 21st on."""
    ctx, _ = guarded
    client: TestClient = await aiohttp_client(create_app(ctx=ctx))
    statuses = []
    for n in range(40):
        resp = await client.post(
            "/api/v1/login", json={"username": f"user{n % 20}", "password": "guess"}
        )
        statuses.append(resp.status)
    assert statuses[:20] == [401] * 20
    assert statuses[20:] == [429] * 20
    assert 0 < int(resp.headers["Retry-After"]) <= 600
    body = await resp.json()
    assert body["status"] == 429 and body["retry_after"] == int(resp.headers["Retry-After"])
    # Refused before any password is checked: the right password does not get through.
    right = await client.post("/api/v1/login", json={"username": "zhang", "password": PASSWORD})
    assert right.status == 429
    page = await client.post("/login", data={"username": "zhang", "password": PASSWORD})
    assert page.status == 429
    assert page.headers["Retry-After"] and "分钟后再试" in await page.text()


async def test_sign_ins_that_succeed_use_no_budget(guarded: tuple[Context, World]) -> None:
    ctx, _ = guarded
    for _ in range(LIMITS.address_failures + 5):
        await accounts.login(ctx, "zhang", PASSWORD, ip="10.0.0.1")
    await _fail(ctx, "zhang", "10.0.0.1")


async def test_other_addresses_keep_their_budget(guarded: tuple[Context, World]) -> None:
    ctx, _ = guarded
    for n in range(LIMITS.address_failures):
        await _fail(ctx, f"nobody{n}", "10.0.0.66")
    with pytest.raises(TooManyAttempts):
        await accounts.login(ctx, "zhang", PASSWORD, ip="10.0.0.66")
    for n in range(LIMITS.address_failures):  # the same IPv6 /64 is one budget
        await _fail(ctx, f"nobody{n}", f"2001:db8::{n + 1}")
    with pytest.raises(TooManyAttempts):
        await accounts.login(ctx, "zhang", PASSWORD, ip="2001:db8::ffff")
    token, actor = await accounts.login(ctx, "zhang", PASSWORD, ip="10.0.0.67")
    assert token and actor.username == "zhang"


async def test_a_locked_account_answers_like_a_wrong_password_after_the_same_hashing(
    guarded: tuple[Context, World], aiohttp_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    ctx, _ = guarded
    client: TestClient = await aiohttp_client(create_app(ctx=ctx))
    for _ in range(LIMITS.account_failures):
        wrong = await client.post("/api/v1/login", json={"username": "zhang", "password": "x1"})
    wrong_body = await wrong.json()
    verified: list[str] = []
    real_verify = ctx.passwords.verify

    def counting_verify(stored_hash: str, password: str) -> bool:
        verified.append(password)
        return real_verify(stored_hash, password)

    monkeypatch.setattr(ctx.passwords, "verify", counting_verify)
    locked = await client.post("/api/v1/login", json={"username": "zhang", "password": PASSWORD})
    assert locked.status == wrong.status == 401
    assert await locked.json() == wrong_body
    assert verified == [PASSWORD]  # the hash ran, as for a wrong password
    again = await client.post("/api/v1/login", json={"username": "zhang", "password": "x2"})
    assert await again.json() == wrong_body
    unknown = await client.post("/api/v1/login", json={"username": "nobody", "password": "x"})
    assert await unknown.json() == wrong_body
    assert verified == [PASSWORD, "x2", "x"]
    page_locked = await client.post("/login", data={"username": "zhang", "password": PASSWORD})
    page_wrong = await client.post("/login", data={"username": "li", "password": "x3"})
    assert page_locked.status == page_wrong.status == 401
    assert (await page_locked.text()).replace("zhang", "li") == await page_wrong.text()


async def test_one_address_cannot_lock_a_staff_account(guarded: tuple[Context, World]) -> None:
    ctx, _ = guarded
    for _ in range(LIMITS.address_failures - 1):
        await _fail(ctx, "fr_admin", "10.0.0.9")
    _, actor = await accounts.login(ctx, "fr_admin", PASSWORD, ip="10.0.0.9")
    assert actor.username == "fr_admin"
    # From the attacker's address the budget runs out instead; the administrator elsewhere
    # is not affected.
    await _fail(ctx, "fr_admin", "10.0.0.9")  # the address's last failure in this window
    with pytest.raises(TooManyAttempts):
        await accounts.login(ctx, "fr_admin", PASSWORD, ip="10.0.0.9")
    _, actor = await accounts.login(ctx, "fr_admin", PASSWORD, ip="10.0.0.10")
    assert actor.username == "fr_admin"


async def test_guessing_from_many_addresses_locks_a_staff_account(
    guarded: tuple[Context, World],
) -> None:
    ctx, _ = guarded
    for n in range(LIMITS.account_failures):
        await _fail(ctx, "cs_reviewer", f"10.0.1.{n}")
    with pytest.raises(Unauthenticated):
        await accounts.login(ctx, "cs_reviewer", PASSWORD, ip="10.0.2.1")


async def test_one_address_still_locks_a_learner_account(guarded: tuple[Context, World]) -> None:
    ctx, _ = guarded
    for _ in range(LIMITS.account_failures):
        await _fail(ctx, "li", "10.0.0.5")
    with pytest.raises(Unauthenticated):
        await accounts.login(ctx, "li", PASSWORD, ip="10.0.0.6")
    _, actor = await accounts.login(ctx, "wang", PASSWORD, ip="10.0.0.5")
    assert actor.username == "wang"


async def test_processes_sharing_redis_share_the_budget(settings: Settings) -> None:
    """Two server processes (two contexts) behind one Redis count one address together."""
    client = await redis_or_skip()
    prefix = f"test:{secrets.token_hex(4)}:"
    shared = settings.model_copy(update={"redis_url": REDIS_URL, "redis_prefix": prefix})
    first, second = open_context(shared), open_context(shared)
    try:
        await build_world(first)
        for n in range(LIMITS.address_failures):
            await _fail(first if n % 2 else second, f"nobody{n}", "10.0.0.7")
        with pytest.raises(TooManyAttempts):
            await accounts.login(second, "zhang", PASSWORD, ip="10.0.0.7")
        with pytest.raises(TooManyAttempts):
            await accounts.login(first, "zhang", PASSWORD, ip="10.0.0.7")
    finally:
        await first.close()
        await second.close()
        await drop_prefix(client, prefix)
        await client.aclose()


async def test_sign_in_refuses_while_redis_does_not_answer(
    settings: Settings, aiohttp_client: Any
) -> None:
    """No counting means no guard: 503 with Retry-After, never a sign-in without the checks."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    down = {"redis_url": f"redis://127.0.0.1:{port}/0", "shutdown_flush_s": 0}
    ctx = open_context(settings.model_copy(update=down))
    try:
        await build_world(ctx)
        with pytest.raises(Unavailable):
            await accounts.login(ctx, "zhang", PASSWORD, ip="10.0.0.8")
        client: TestClient = await aiohttp_client(create_app(ctx=ctx))
        resp = await client.post("/api/v1/login", json={"username": "zhang", "password": PASSWORD})
        assert resp.status == 503
        assert resp.headers["Retry-After"] == "5"
        await client.close()  # the app stops before the context it borrows closes
    finally:
        await ctx.close()
