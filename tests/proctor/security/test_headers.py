"""Security headers on every response, and no cache of anything personal."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

import proctor
from proctor.kernel.context import open_context
from proctor.kernel.settings import Settings
from proctor.web.app import create_app
from tests.factories import World, login

PACKAGE = Path(proctor.__file__).parent


async def _responses(client: TestClient, world: World) -> dict[str, object]:
    """One response of every kind: page, API, file, redirect, and the error paths."""
    learner = await login(client, "zhang")
    staff = await login(client, "fr_admin")
    client.session.cookie_jar.clear()
    zhang = world.learners["zhang"].id
    return {
        "login page": await client.get("/login"),
        "staff page": await client.get("/admin/learners", headers=staff),
        "learner archive page": await client.get("/archive", headers=learner),
        "redirect": await client.get("/", allow_redirects=False),
        "api json": await client.get("/api/v1/me", headers=learner),
        "learner record": await client.get(f"/api/v1/learners/{zhang}", headers=staff),
        "openapi": await client.get("/api/openapi.json"),
        "static css": await client.get("/static/app.css"),
        "static js": await client.get("/static/app.js"),
        "page 404": await client.get("/no/such/page", headers=staff),
        "api 404": await client.get("/api/v1/learners/999999", headers=staff),
        "api 405": await client.put("/api/v1/me", headers=learner),
        "api 401": await client.get("/api/v1/me"),
        "login failure": await client.post(
            "/api/v1/login", json={"username": "zhang", "password": "wrong-password"}
        ),
        "health": await client.get("/healthz"),
    }


async def test_every_response_carries_the_security_headers(
    client: TestClient, world: World
) -> None:
    for kind, resp in (await _responses(client, world)).items():
        h = resp.headers  # type: ignore[attr-defined]
        csp = h.get("Content-Security-Policy", "")
        directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
        assert directives.get("script-src") == "'self'", kind
        assert directives.get("style-src") == "'self'", kind
        assert directives.get("frame-ancestors") == "'none'", kind
        assert "unsafe" not in csp, kind
        assert h.get("X-Frame-Options") == "DENY", kind
        assert h.get("X-Content-Type-Options") == "nosniff", kind
        assert h.get("Referrer-Policy") == "same-origin", kind
        server = h.get("Server", "")
        assert not re.search(r"\d", server) and "aiohttp" not in server.lower(), (kind, server)


@pytest.mark.parametrize(
    "raw",
    [b"GET / HTTP/1.1\r\nHost: x\r\nBad\x01Header: y\r\n\r\n", b"BL\x00AH / HTTP/1.1\r\n\r\n"],
    ids=["control-character-in-header", "garbage-method"],
)
async def test_malformed_requests_are_answered_without_versions(
    client: TestClient, raw: bytes
) -> None:
    """The HTTP parser's own 400s, which no application code sees, name no versions either."""
    reader, writer = await asyncio.open_connection("127.0.0.1", client.port)
    try:
        writer.write(raw)
        await writer.drain()
        head = (await reader.read(4096)).split(b"\r\n\r\n")[0].decode()
    finally:
        writer.close()
    assert head.startswith("HTTP/1.") and " 400 " in head.splitlines()[0]
    server = next(line for line in head.splitlines() if line.lower().startswith("server:"))
    assert not re.search(r"\d", server) and "aiohttp" not in server.lower(), server


async def test_nothing_dynamic_is_cached_and_static_files_may_be(
    client: TestClient, world: World
) -> None:
    for kind, resp in (await _responses(client, world)).items():
        cache = resp.headers.get("Cache-Control")  # type: ignore[attr-defined]
        if kind.startswith("static"):
            assert cache != "no-store", kind
        else:
            assert cache == "no-store", kind


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/me/archive",
        "/api/v1/me/archive.csv",
        "/api/v1/me/archive.xlsx",
        "/api/v1/me/courses",
        "/api/v1/me/cases",
        "/archive",
        "/learn",
    ],
)
async def test_a_learners_own_records_and_exports_are_not_stored(
    client: TestClient, world: World, path: str
) -> None:
    resp = await client.get(path, headers=await login(client, "zhang"))
    assert resp.status == 200
    assert resp.headers["Cache-Control"] == "no-store"


async def test_staff_records_and_exports_are_not_stored(client: TestClient, world: World) -> None:
    staff = await login(client, "fr_admin")
    zhang = world.learners["zhang"].id
    for path in (
        f"/api/v1/learners/{zhang}",
        f"/api/v1/learners/{zhang}/archive",
        f"/api/v1/learners/{zhang}/archive.csv",
        f"/api/v1/learners/{zhang}/archive.xlsx",
        f"/admin/learners/{zhang}",
        "/api/v1/cases",
        "/api/v1/reports/summary",
        "/api/v1/reports/summary.xlsx",
        "/api/v1/reports/behind.xlsx",
    ):
        resp = await client.get(path, headers=staff)
        assert resp.status == 200, (path, resp.status)
        assert resp.headers["Cache-Control"] == "no-store", path


async def test_hsts_only_when_served_over_https(
    client: TestClient, settings: Settings, aiohttp_client: Any
) -> None:
    """Cookies marked secure mean HTTPS; only then is the browser told to insist on it."""
    assert "Strict-Transport-Security" not in (await client.get("/login")).headers
    secure = open_context(settings.model_copy(update={"cookie_secure": True}))
    try:
        https = await aiohttp_client(create_app(ctx=secure))
        try:
            resp = await https.get("/login")
            assert resp.headers["Strict-Transport-Security"].startswith("max-age=")
        finally:
            await https.close()  # the app stops before the context it borrows closes
    finally:
        await secure.close()


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
EVENT_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.IGNORECASE)
STYLE_ATTRIBUTE = re.compile(r"<[^>]+\sstyle\s*=", re.IGNORECASE)
STYLE_ELEMENT = re.compile(r"<style\b", re.IGNORECASE)
JS_URL = re.compile(r"javascript:", re.IGNORECASE)


def _markup_sources() -> list[Path]:
    """Templates, and the modules that write SVG charts into pages."""
    sources = sorted((PACKAGE / "web" / "templates").rglob("*.html"))
    sources += [p for p in PACKAGE.rglob("*.py") if "<svg" in p.read_text(encoding="utf-8")]
    return sources


@pytest.mark.parametrize(
    "pattern", [INLINE_SCRIPT, EVENT_HANDLER, STYLE_ATTRIBUTE, STYLE_ELEMENT, JS_URL]
)
def test_no_markup_needs_an_inline_exception_to_the_policy(pattern: re.Pattern[str]) -> None:
    """The policy allows scripts and styles only from files: markup must not need more."""
    offenders = [
        f"{path.relative_to(PACKAGE)}: {m.group(0)[:60]}"
        for path in _markup_sources()
        for m in pattern.finditer(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []
