"""Learner home, own archive and the staff view, in Chinese, revocations visible."""

from __future__ import annotations

import re

from aiohttp.test_utils import TestClient

from proctor.kernel.context import Context
from tests.factories import World, login
from tests.proctor.archive.helpers import seed_boundary


def bar_widths(html: str) -> list[str]:
    return re.findall(r'<progress class="progress" max="100" value="(\d+)"', html)


async def test_learner_home(client: TestClient, ctx: Context, world: World) -> None:
    """我的学习: this year's credits against the quota, what is missing, my courses."""
    await seed_boundary(ctx, world)
    resp = await client.get("/learn", headers=await login(client, "zhang"))
    assert resp.status == 200
    html = await resp.text()
    assert "我的学习" in html
    assert "总学分 40.00 / 40.00" in html
    assert "必修学分 23.00 / 24.00" in html
    assert "还差 <strong>1.00</strong> 学分" in html
    assert bar_widths(html) == ["100", "95"]  # 23 of 24 required, floored
    assert "未完成年度要求" in html
    for title in ("党章学习", "数字经济", "法治政府建设"):
        assert title in html
    assert html.count("已完成</span>") == 2
    assert "继续学习" in html  # the enrolled course not yet finished
    assert 'href="/archive"' in html and 'href="/catalog"' in html


async def test_learner_outside_the_target_group(
    client: TestClient, ctx: Context, world: World
) -> None:
    """No quota: the page says so instead of showing progress."""
    await seed_boundary(ctx, world)
    html = await (await client.get("/learn", headers=await login(client, "li"))).text()
    assert "非本年度参学对象" in html
    assert bar_widths(html) == []
    assert "还没有选课" in html


async def test_own_archive_page_shows_revocations(
    client: TestClient, ctx: Context, world: World
) -> None:
    """The revoked line is struck, the reversal is red with its reason and case."""
    ids = await seed_boundary(ctx, world)
    resp = await client.get("/archive", headers=await login(client, "zhang"))
    assert resp.status == 200
    html = await resp.text()
    assert "电子学习档案" in html
    assert re.search(rf'<tr id="entry-{ids["digital"]}" class="revoked', html)
    assert re.search(rf'<tr id="entry-{ids["reversal"]}" class=" reversal', html)
    assert "代刷查实（案件 #12）" in html
    assert 'href="/api/v1/me/archive.xlsx?year=' in html
    assert 'href="/api/v1/me/archive.csv?year=' in html


async def test_staff_archive_page(client: TestClient, ctx: Context, world: World) -> None:
    """HR views a learner's archive in scope with export links to that learner."""
    await seed_boundary(ctx, world)
    zhang = world.learners["zhang"].id
    resp = await client.get(
        f"/admin/learners/{zhang}/archive", headers=await login(client, "fr_admin")
    )
    assert resp.status == 200
    html = await resp.text()
    assert "电子学习档案 · 张伟" in html
    assert f'href="/api/v1/learners/{zhang}/archive.xlsx?year=' in html
    outside = await client.get(
        f"/admin/learners/{zhang}/archive", headers=await login(client, "tx_admin")
    )
    assert outside.status == 404
    assert "张伟" not in await outside.text()


async def test_staff_learner_pages_send_them_home(
    client: TestClient, ctx: Context, world: World
) -> None:
    """Staff following /learn or /archive land on their own home page."""
    headers = await login(client, "cs_admin")
    for path in ("/learn", "/archive"):
        resp = await client.get(path, headers=headers, allow_redirects=False)
        assert resp.status == 303
        assert resp.headers["Location"] == "/"
