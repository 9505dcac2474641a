"""The OpenAPI document describes every JSON API route the app serves."""

from __future__ import annotations

import re

from aiohttp.test_utils import TestClient


async def test_every_api_route_is_documented(client: TestClient) -> None:
    """Each /api/ route (method and path) appears in /api/openapi.json, which needs no login."""
    resp = await client.get("/api/openapi.json")
    assert resp.status == 200
    doc = await resp.json()
    assert doc["openapi"].startswith("3.")
    missing = []
    for route in client.server.app.router.routes():
        info = route.resource.get_info() if route.resource else {}
        path = info.get("path") or info.get("formatter") or ""
        if not path.startswith("/api/") or path == "/api/openapi.json" or route.method == "HEAD":
            continue
        path = re.sub(r"\{(\w+)(:[^}]*)?\}", r"{\1}", path)
        if route.method.lower() not in doc["paths"].get(path, {}):
            missing.append(f"{route.method} {path}")
    assert missing == []


async def test_api_errors_are_problem_bodies(client: TestClient) -> None:
    """Unknown API paths and missing logins answer with JSON problem bodies naming the issue."""
    resp = await client.get("/api/v1/nothing-here")
    assert resp.content_type == "application/problem+json"
    body = await resp.json()
    assert body["status"] in (401, 404)
    assert body["detail"]
    bad = await client.post(
        "/api/v1/login", data=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert bad.status == 422
    assert (await bad.json())["field"] == "body"
