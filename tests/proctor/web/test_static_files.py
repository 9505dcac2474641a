"""Static files: a missing one is a 404 with a page, the icon is served and linked."""

from __future__ import annotations

from aiohttp.test_utils import TestClient

from tests.factories import World, login


async def test_missing_static_file_is_a_404_with_a_body(client: TestClient) -> None:
    """Not an empty answer a browser caches as the stylesheet or script."""
    resp = await client.get("/static/no-such-file.css")
    assert resp.status == 404
    assert "页面不存在" in await resp.text()
    for path in ("/static/", "/static/js/", "/static/no/such.js"):
        assert (await client.get(path)).status == 404, path


async def test_existing_static_file_is_served(client: TestClient) -> None:
    resp = await client.get("/static/app.css")
    assert resp.status == 200
    assert resp.content_type == "text/css"
    assert len(await resp.read()) > 100


async def test_favicon_is_served_and_linked(client: TestClient, world: World) -> None:
    """/favicon.ico answers without signing in; every page links the SVG icon."""
    ico = await client.get("/favicon.ico")
    assert ico.status == 200
    body = await ico.read()
    assert body[:4] == b"\x00\x00\x01\x00"  # an ICO header
    svg = await client.get("/static/favicon.svg")
    assert svg.status == 200
    assert svg.content_type == "image/svg+xml"
    for path, user in (("/login", None), ("/learn", "zhang")):
        headers = await login(client, user) if user else None
        html = await (await client.get(path, headers=headers)).text()
        assert '<link rel="icon" href="/static/favicon.svg"' in html
