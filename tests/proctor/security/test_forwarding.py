"""Behind our reverse proxies, the client's address and scheme count; nobody else's claim does."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from pydantic import ValidationError
from sqlalchemy import select

from models import LoginSession
from proctor.kernel.context import Context, open_context
from proctor.kernel.security.forwarding import client_address, forwarded_scheme, parse_networks
from proctor.kernel.settings import Settings
from proctor.web.app import create_app
from tests.factories import PASSWORD, build_world

PROXIES = parse_networks("10.0.1.1, 10.0.1.2, fd00:1::/64")


@pytest.mark.parametrize(
    ("peer", "forwarded_for", "client"),
    [
        ("192.168.5.5", ["172.16.0.9"], "192.168.5.5"),  # not our proxy: the header is ignored
        ("10.0.1.1", ["172.16.0.9"], "172.16.0.9"),
        ("10.0.1.1", [" 172.16.0.9 "], "172.16.0.9"),
        ("10.0.1.1", ["6.6.6.6, 172.16.0.9"], "172.16.0.9"),  # what the client wrote is left
        ("10.0.1.1", ["6.6.6.6", "172.16.0.9"], "172.16.0.9"),
        ("10.0.1.1", ["172.16.0.9, 10.0.1.2"], "172.16.0.9"),  # through two of our proxies
        ("fd00:1::7", ["2001:db8::5"], "2001:db8::5"),
        ("::ffff:10.0.1.1", ["172.16.0.9"], "172.16.0.9"),
        ("10.0.1.1", ["::ffff:172.16.0.9"], "172.16.0.9"),
        ("10.0.1.1", [], "10.0.1.1"),
        ("10.0.1.1", ["10.0.1.2"], "10.0.1.2"),  # a proxy's own request
        ("10.0.1.1", ["garbage, 172.16.0.9"], "172.16.0.9"),
        ("10.0.1.1", ["172.16.0.9, garbage"], "10.0.1.1"),  # an unreadable chain is not believed
    ],
)
def test_client_address(peer: str, forwarded_for: list[str], client: str) -> None:
    assert client_address(peer, forwarded_for, PROXIES) == client


@pytest.mark.parametrize(
    ("peer", "proto", "scheme"),
    [
        ("10.0.1.1", ["https"], "https"),
        ("10.0.1.1", ["HTTPS"], "https"),
        ("10.0.1.1", ["http, https"], "https"),
        ("10.0.1.1", ["gopher"], None),
        ("10.0.1.1", [], None),
        ("192.168.5.5", ["https"], None),
    ],
)
def test_forwarded_scheme(peer: str, proto: list[str], scheme: str | None) -> None:
    assert forwarded_scheme(peer, proto, PROXIES) == scheme


def test_a_misspelt_proxy_list_stops_the_start() -> None:
    with pytest.raises(ValidationError, match=r"10\.0\.1\.300"):
        Settings(trusted_proxies="10.0.1.1, 10.0.1.300")


async def _app(settings: Settings, aiohttp_client: Any, trusted: str) -> tuple[Context, TestClient]:
    ctx = open_context(settings.model_copy(update={"trusted_proxies": trusted}))
    await build_world(ctx)
    return ctx, await aiohttp_client(create_app(ctx=ctx))


async def _fail(client: TestClient, forwarded_for: str) -> int:
    resp = await client.post(
        "/api/v1/login",
        json={"username": "zhang", "password": "wrong"},
        headers={"X-Forwarded-For": forwarded_for},
    )
    return resp.status


async def test_behind_our_proxy_each_client_has_its_own_budget(
    settings: Settings, aiohttp_client: Any
) -> None:
    """The test client connects from 127.0.0.1: here that is our proxy."""
    ctx, client = await _app(settings, aiohttp_client, "127.0.0.1")
    try:
        limit = settings.login_address_max_failures
        assert {await _fail(client, "172.16.0.9") for _ in range(limit)} == {401}
        assert await _fail(client, "172.16.0.9") == 429
        assert await _fail(client, "6.6.6.6, 172.16.0.10") == 401  # another client
        ok = await client.post(
            "/api/v1/login",
            json={"username": "li", "password": PASSWORD},
            headers={"X-Forwarded-For": "172.16.0.11"},
        )
        assert ok.status == 200
        async with ctx.db() as s:
            recorded = await s.scalar(select(LoginSession.ip))
        assert recorded == "172.16.0.11"  # the session records the client, not the proxy
    finally:
        await client.close()
        await ctx.close()


async def test_a_forged_header_buys_no_budget(settings: Settings, aiohttp_client: Any) -> None:
    """Without configured proxies, a client naming a new address each time is still one."""
    ctx, client = await _app(settings, aiohttp_client, "")
    try:
        limit = settings.login_address_max_failures
        statuses = [await _fail(client, f"172.16.1.{n}") for n in range(limit + 1)]
        assert statuses[-1] == 429
    finally:
        await client.close()
        await ctx.close()


async def test_behind_a_tls_proxy_the_https_origin_is_ours(
    settings: Settings, aiohttp_client: Any
) -> None:
    ctx, client = await _app(settings, aiohttp_client, "127.0.0.1")
    try:
        await client.post("/login", data={"username": "cs_reviewer", "password": PASSWORD})
        https_origin = f"https://127.0.0.1:{client.port}"
        resp = await client.post(
            "/api/v1/logout",
            headers={"Origin": https_origin, "X-Forwarded-Proto": "https"},
        )
        assert resp.status == 200
    finally:
        await client.close()
        await ctx.close()


async def test_only_our_proxy_may_say_https(settings: Settings, aiohttp_client: Any) -> None:
    ctx, client = await _app(settings, aiohttp_client, "10.0.1.1")
    try:
        await client.post("/login", data={"username": "cs_reviewer", "password": PASSWORD})
        resp = await client.post(
            "/api/v1/logout",
            headers={"Origin": f"https://127.0.0.1:{client.port}", "X-Forwarded-Proto": "https"},
        )
        assert resp.status == 403
    finally:
        await client.close()
        await ctx.close()
