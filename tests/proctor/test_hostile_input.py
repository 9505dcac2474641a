"""Hostile input: every kind that once answered 500 is now a 4xx problem naming the field, and it
changes nothing; JSON routes take only JSON; 405 says what is allowed."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from models import Course, ExamItem, Learner, RosterBatch
from proctor.kernel.context import Context
from tests.factories import World, login

HUGE = 10**20
OUT_OF_RANGE_IDS = [str(HUGE), "-1", "0", str(2**31), "9223372036854775808", "1e3", "x"]


async def _problem(resp: Any, status: int, field: str | None) -> dict[str, Any]:
    assert resp.status == status, await resp.text()
    assert resp.content_type == "application/problem+json"
    body: dict[str, Any] = await resp.json()
    assert body["status"] == status and body["detail"]
    if field is not None:
        assert body.get("field") == field, body
    return body


@pytest.mark.parametrize("raw", OUT_OF_RANGE_IDS)
async def test_path_ids_outside_the_key_range_are_404(
    client: TestClient, world: World, raw: str
) -> None:
    """GET /api/v1/learners/100000000000000000000 (and negative, zero, 2**31...) is a 404."""
    headers = await login(client, "fr_admin")
    resp = await client.get(f"/api/v1/learners/{raw}", headers=headers)
    await _problem(resp, 404, "learner_id")


async def test_every_id_route_answers_404_for_an_id_out_of_range(
    client: TestClient, world: World
) -> None:
    """Each documented route with integer path ids, each method: an id of 10**20 is a 404."""
    headers = await login(client, "academy")
    doc = await (await client.get("/api/openapi.json")).json()
    tried = 0
    for path, operations in doc["paths"].items():
        for method, op in operations.items():
            ints = [
                p["name"]
                for p in op.get("parameters", [])
                if p["in"] == "path" and p["schema"].get("type") == "integer"
            ]
            if not ints:
                continue
            assert all(
                p["schema"].get("maximum") == 2**31 - 1
                for p in op["parameters"]
                if p["name"] in ints
            )
            url = re.sub(r"\{(\w+)\}", lambda m, ids=ints: str(HUGE) if m[1] in ids else "1", path)
            resp = await client.request(method.upper(), url, json={}, headers=headers)
            assert resp.status == 404, (method, url, resp.status)
            tried += 1
    assert tried >= 30


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/api/v1/courses?page=1e20", "page"),
        (f"/api/v1/courses?page={HUGE}", "page"),
        (f"/api/v1/learners?org_id={2**63}", "org_id"),
        ("/api/v1/learners?org_id=-5", "org_id"),
        ("/api/v1/reports/learners?offset=1e20", "offset"),
        (f"/api/v1/reports/learners?offset={HUGE}", "offset"),
        ("/api/v1/reports/learners?as_of=9999-12-31", "as_of"),
        ("/api/v1/cases?max_age=1000000", "max_age"),
        ("/api/v1/cases?min_age=1000000", "min_age"),
        (f"/api/v1/cases?org={HUGE}", "org"),
        ("/api/v1/reports/summary?year=2101", "year"),
        ("/api/v1/learners?q=%00", "q"),
    ],
)
async def test_query_numbers_out_of_range_are_named_422(
    client: TestClient, world: World, url: str, field: str
) -> None:
    headers = await login(client, "academy")
    await _problem(await client.get(url, headers=headers), 422, field)


async def test_number_overflowing_in_a_json_body(
    client: TestClient, ctx: Context, world: World
) -> None:
    """{"unit_id": 1e400} decodes as infinity; the field refuses it by name; nothing changes."""
    headers = await login(client, "fr_admin")
    learner = world.learners["zhang"].id
    for raw in ('{"unit_id": 1e400}', '{"unit_id": -1e400}', f'{{"unit_id": {HUGE}}}'):
        resp = await client.patch(
            f"/api/v1/learners/{learner}",
            data=raw,
            headers=headers | {"Content-Type": "application/json"},
        )
        await _problem(resp, 422, "unit_id")
    nan = await client.patch(
        f"/api/v1/learners/{learner}",
        data='{"unit_id": NaN}',
        headers=headers | {"Content-Type": "application/json"},
    )
    await _problem(nan, 422, "body")
    async with ctx.db() as s:
        assert (await s.get_one(Learner, learner)).unit_id == world.learners["zhang"].unit_id


async def test_deeply_nested_json_is_refused_before_decoding(
    client: TestClient, world: World
) -> None:
    """100,000 levels on login, 2,000 on an API route: a 422 on the body, not a crash."""
    for depth in (100_000, 2_000, 33):
        resp = await client.post(
            "/api/v1/login",
            data="[" * depth + "]" * depth,
            headers={"Content-Type": "application/json"},
        )
        body = await _problem(resp, 422, "body")
        assert "嵌套" in body["detail"]
    # Nesting that real payloads use still decodes (and then fails on its content only).
    ok = await client.post(
        "/api/v1/login", json={"username": "zhang", "password": "Passw0rd!", "x": [[[[{}]]]]}
    )
    assert ok.status == 200


def _multipart(header: bytes) -> bytes:
    return b"--xyz\r\n" + header + b"\r\n\r\nhello\r\n--xyz--\r\n"


BAD_PART_HEADERS = [
    b'Content-Disposition: form-data; name="file"; filename="a\x01.xlsx"',
    b'Content-Disposition: form-data; name="fi\x00le"',
    b'Content-Type: text/\x7fplain\r\nContent-Disposition: form-data; name="file"',
    b'X-\x01: y\r\nContent-Disposition: form-data; name="file"; filename="a.csv"',
    b"Content-Disposition: form-data; name=\"file\"; filename*=utf-8''%ff%fe",
]


@pytest.mark.parametrize("header", BAD_PART_HEADERS)
async def test_multipart_part_headers_with_control_characters(
    client: TestClient, ctx: Context, world: World, header: bytes
) -> None:
    """Roster and exam-bank uploads: a malformed part header is a 422 on `file`; nothing made."""
    admin = await login(client, "academy")
    multipart = {"Content-Type": "multipart/form-data; boundary=xyz"}
    course = await client.post(
        "/api/v1/courses",
        json={
            "title": "课",
            "category": "politics",
            "kind": "elective",
            "lecture_seconds": 600,
            "lessons": [{"title": "一", "duration_seconds": 600}],
        },
        headers=admin,
    )
    assert course.status == 201, await course.text()
    course_id = (await course.json())["id"]
    for url in ("/api/v1/rosters", f"/api/v1/courses/{course_id}/exam-items.xlsx"):
        resp = await client.post(url, data=_multipart(header), headers=admin | multipart)
        await _problem(resp, 422, "file")
    for url in ("/admin/rosters", f"/admin/exams/courses/{course_id}/bank"):
        page = await client.post(url, data=_multipart(header), headers=admin | multipart)
        assert page.status == 422
        assert "上传内容格式有误" in await page.text()
    async with ctx.db() as s:
        assert await s.scalar(select(func.count()).select_from(RosterBatch)) == 0
        assert await s.scalar(select(func.count()).select_from(ExamItem)) == 0


async def test_json_routes_take_only_json(client: TestClient, ctx: Context, world: World) -> None:
    """A JSON body sent as text/plain or as a form is a 415, before anything happens."""
    creds = json.dumps({"username": "zhang", "password": "Passw0rd!"})
    for content_type in ("text/plain", "application/x-www-form-urlencoded", "application/xml"):
        resp = await client.post(
            "/api/v1/login", data=creds, headers={"Content-Type": content_type}
        )
        await _problem(resp, 415, "body")
    admin = await login(client, "academy")
    resp = await client.post("/api/v1/courses", data={"title": "表单课"}, headers=admin)
    await _problem(resp, 415, "body")
    async with ctx.db() as s:
        assert await s.scalar(select(func.count()).select_from(Course)) == 0


async def test_unsupported_methods_name_the_allowed_ones(client: TestClient, world: World) -> None:
    headers = await login(client, "academy")
    resp = await client.put("/api/v1/learners", headers=headers)
    await _problem(resp, 405, None)
    assert set(resp.headers["Allow"].replace(" ", "").split(",")) >= {"GET"}
    resp = await client.delete("/api/v1/courses", headers=headers)
    assert resp.status == 405
    assert {"GET", "POST"} <= set(resp.headers["Allow"].replace(" ", "").split(","))


async def test_the_document_states_what_the_server_enforces(client: TestClient) -> None:
    """Ranges (year 2000-2100), lengths, every 201, and each error status a route can give."""
    doc = await (await client.get("/api/openapi.json")).json()
    paths = doc["paths"]
    year = next(
        p for p in paths["/api/v1/reports/summary"]["get"]["parameters"] if p["name"] == "year"
    )
    assert (year["schema"]["minimum"], year["schema"]["maximum"]) == (2000, 2100)
    for path, method in [
        ("/api/v1/courses", "post"),
        ("/api/v1/classes", "post"),
        ("/api/v1/rosters", "post"),
        ("/api/v1/study/sessions", "post"),
        ("/api/v1/courses/{course_id}/exam-items", "post"),
        ("/api/v1/courses/{course_id}/exams", "post"),
        ("/api/v1/cases/{case_id}/notes", "post"),
        ("/api/v1/admin/exams/{exam_id}/analysis", "post"),
    ]:
        assert "201" in paths[path][method]["responses"], (path, method)
        assert "200" not in paths[path][method]["responses"], (path, method)
    # Starting an exam creates an attempt (201) or resumes the open one (200).
    assert {"200", "201"} <= set(paths["/api/v1/exams/{exam_id}/attempts"]["post"]["responses"])
    patch = paths["/api/v1/learners/{learner_id}"]["patch"]
    assert {"401", "403", "404", "413", "415", "422"} <= set(patch["responses"])
    note = doc["components"]["schemas"]["Note"]["properties"]["text"]
    assert note["maxLength"] == 2000


async def test_refused_writes_change_nothing(
    client: TestClient, ctx: Context, world: World
) -> None:
    """A body with one bad field among good ones is refused whole."""
    headers = await login(client, "fr_admin")
    learner = world.learners["zhang"].id
    resp = await client.patch(
        f"/api/v1/learners/{learner}",
        json={"rank": "科员", "position": "x" * 61},
        headers=headers,
    )
    await _problem(resp, 422, "position")
    async with ctx.db() as s:
        assert (await s.get_one(Learner, learner)).rank == "县处级副职"


async def test_pages_check_their_query_the_same_way(client: TestClient, world: World) -> None:
    """The queue page with good filters renders; an out-of-range one is a 422 page."""
    headers = await login(client, "cs_reviewer")
    ok = await client.get("/review?band=high&year=2024&sort=risk&org=", headers=headers)
    assert ok.status == 200, await ok.text()
    bad = await client.get("/review?max_age=1000000", headers=headers)
    assert bad.status == 422
    assert "max_age" in await bad.text()
    missing = await client.get(f"/admin/learners/{HUGE}", headers=await login(client, "fr_admin"))
    assert missing.status == 404


async def test_no_page_answers_500_to_any_role(client: TestClient, world: World) -> None:
    """Every GET page, with ids that exist, that cannot, and odd queries: never a 5xx."""
    urls = set()
    for route in client.server.app.router.routes():
        info = route.resource.get_info() if route.resource else {}
        path = info.get("path") or info.get("formatter") or ""
        if route.method != "GET" or path.startswith(("/api/", "/static", "/media")):
            continue
        for value in ("1", str(HUGE)):
            urls.add(re.sub(r"\{\w+\}", value, path))
    assert len(urls) >= 20
    for username in ("academy", "fr_admin", "fr_liaison", "cs_reviewer", "zhang"):
        headers = await login(client, username)
        for url in sorted(urls):
            for query in ("", "?year=1e20&page=-1&org=abc&band=x&offset=99999999999"):
                resp = await client.get(url + query, headers=headers, allow_redirects=False)
                assert resp.status < 500, (username, url + query, resp.status)
