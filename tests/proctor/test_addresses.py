"""Who the client is behind reverse proxies: only listed proxies are believed."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from models import LoginSession
from proctor.kernel.addresses import client_address, parse_networks
from proctor.kernel.context import open_context
from proctor.kernel.settings import Settings
from proctor.web.app import create_app
from tests.factories import PASSWORD, build_world

NGINX = parse_networks("10.0.1.1, 10.0.2.0/24")


@pytest.mark.parametrize(
    ("peer", "forwarded", "client"),
    [
        ("10.0.1.1", "203.0.113.7", "203.0.113.7"),  # through nginx
        ("10.0.1.1", "198.51.100.1, 203.0.113.7", "203.0.113.7"),  # a planted first hop
        ("10.0.1.1", "203.0.113.7, 10.0.2.9", "203.0.113.7"),  # two trusted proxies
        ("203.0.113.7", "1.2.3.4", "203.0.113.7"),  # a client sending the header itself
        ("10.0.1.1", "", "10.0.1.1"),  # no header: the proxy's address
        ("10.0.1.1", "not-an-address", "10.0.1.1"),  # malformed: never believed
        ("10.0.1.1", "10.0.2.3", "10.0.1.1"),  # only proxies: the nearest one
        ("10.0.1.1", "2001:db8::1", "2001:db8::1"),
    ],
)
def test_client_address(peer: str, forwarded: str, client: str) -> None:
    assert client_address(peer, forwarded, NGINX) == client


def test_nothing_trusted_by_default() -> None:
    assert client_address("127.0.0.1", "203.0.113.7", parse_networks("")) == "127.0.0.1"


def test_bad_proxy_setting_is_refused() -> None:
    with pytest.raises(ValueError, match="not-an-ip"):
        Settings(trusted_proxies="10.0.0.1, not-an-ip")


@pytest.mark.parametrize(("trusted", "recorded"), [("127.0.0.1", "203.0.113.7"), ("", "127.0.0.1")])
async def test_login_records_the_client_behind_a_trusted_proxy(
    settings: Settings, aiohttp_client: Any, trusted: str, recorded: str
) -> None:
    ctx = open_context(settings.model_copy(update={"trusted_proxies": trusted}))
    await build_world(ctx)
    client = await aiohttp_client(create_app(ctx=ctx))
    resp = await client.post(
        "/api/v1/login",
        json={"username": "zhang", "password": PASSWORD},
        headers={"X-Forwarded-For": "203.0.113.7"},
    )
    assert resp.status == 200
    async with ctx.db() as s:
        ips = (await s.scalars(select(LoginSession.ip))).all()
    assert ips == [recorded]
    await client.close()
    await ctx.close()
