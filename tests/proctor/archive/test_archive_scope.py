"""Learners read their own archive; staff only within their subtree; outside is 404."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient

from proctor.kernel.context import Context
from tests.factories import World, login
from tests.proctor.archive.helpers import seed_boundary


@pytest.mark.parametrize(
    ("username", "owner", "status"),
    [
        ("fr_admin", "wang", 404),  # 天心区 is outside 芙蓉区
        ("ht_admin", "zhang", 404),
        ("li", "zhang", 404),  # a learner never sees another learner
        ("fr_liaison", "li", 404),  # 芙蓉区教育局 is outside the liaison's 芙蓉区财政局
        ("fr_admin", "zhang", 200),
        ("tx_admin", "wang", 200),
        ("cs_admin", "wang", 200),
        ("cs_reviewer", "zhang", 200),
        ("academy", "zhao", 200),
        ("fr_liaison", "zhang", 200),
        ("zhang", "zhang", 200),
    ],
)
async def test_archive_scope(
    client: TestClient, ctx: Context, world: World, username: str, owner: str, status: int
) -> None:
    """The JSON, both exports and the staff page answer alike."""
    await seed_boundary(ctx, world)
    headers = await login(client, username)
    learner = world.learners[owner].id
    for path in (
        f"/api/v1/learners/{learner}/archive",
        f"/api/v1/learners/{learner}/archive.xlsx",
        f"/api/v1/learners/{learner}/archive.csv",
    ):
        resp = await client.get(path, headers=headers)
        assert resp.status == status, path
        if status == 404:
            assert resp.content_type == "application/problem+json"
            assert "张伟" not in await resp.text()
    if username not in world.learners:  # the staff page; learners have /archive
        page = await client.get(f"/admin/learners/{learner}/archive", headers=headers)
        assert page.status == status


async def test_staff_have_no_own_archive(client: TestClient, ctx: Context, world: World) -> None:
    """/me/archive belongs to learners; staff are told to go through the learner search."""
    headers = await login(client, "fr_admin")
    for path in ("/api/v1/me/archive", "/api/v1/me/archive.xlsx", "/api/v1/me/archive.csv"):
        resp = await client.get(path, headers=headers)
        assert resp.status == 403, path
    learner_page = await client.get(
        f"/admin/learners/{world.learners['zhang'].id}/archive",
        headers=await login(client, "zhang"),
    )
    assert learner_page.status == 403


@pytest.mark.parametrize("year", ["abc", "1999", "2101", "2026.5"])
async def test_bad_year_is_a_clear_422(
    client: TestClient, ctx: Context, world: World, year: str
) -> None:
    """The problem body names the field."""
    resp = await client.get(f"/api/v1/me/archive?year={year}", headers=await login(client, "zhang"))
    assert resp.status == 422
    assert (await resp.json())["field"] == "year"


async def test_archive_needs_a_login(client: TestClient, ctx: Context, world: World) -> None:
    """No token, no archive."""
    resp = await client.get(f"/api/v1/learners/{world.learners['zhang'].id}/archive")
    assert resp.status == 401
