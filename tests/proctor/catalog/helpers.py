"""Course fixtures built through the API, as an administrator would."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from tests.factories import login


def course_body(title: str, kind: str, seconds: int, **extra: Any) -> dict[str, Any]:
    """A valid course payload with one lesson as long as the lecture."""
    return {
        "title": title,
        "category": "theory",
        "kind": kind,
        "lecture_seconds": seconds,
        "lessons": [{"title": f"{title}（一）", "duration_seconds": seconds}],
        **extra,
    }


async def make_course(
    client: TestClient, admin: str, title: str, kind: str, seconds: int, **extra: Any
) -> dict[str, Any]:
    """Create a course as ``admin`` (academy: provincial; a city admin: local)."""
    headers = await login(client, admin)
    resp = await client.post(
        "/api/v1/courses", json=course_body(title, kind, seconds, **extra), headers=headers
    )
    assert resp.status == 201, await resp.text()
    body: dict[str, Any] = await resp.json()
    return body


async def titles(client: TestClient, headers: dict[str, str], **params: str) -> set[str]:
    """Titles of the catalog as an account sees it."""
    resp = await client.get("/api/v1/courses", params=params, headers=headers)
    assert resp.status == 200, await resp.text()
    return {item["title"] for item in (await resp.json())["items"]}
