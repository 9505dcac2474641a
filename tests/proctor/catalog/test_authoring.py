"""Creating and changing courses: who may, and what is refused."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from models import Course, Lesson
from proctor.kernel.context import Context
from tests.factories import World, login
from tests.proctor.catalog.helpers import course_body, make_course


async def _count(ctx: Context) -> tuple[int, int]:
    async with ctx.db() as s:
        courses = await s.scalar(select(func.count()).select_from(Course)) or 0
        lessons = await s.scalar(select(func.count()).select_from(Lesson)) or 0
    return courses, lessons


def _without(body: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k != key}


GOOD = course_body("理论课", "required", 2700)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (_without(GOOD, "title"), "title"),
        (GOOD | {"title": "   "}, "title"),
        (GOOD | {"category": "astrology"}, "category"),
        (GOOD | {"kind": "optional"}, "kind"),
        (_without(GOOD, "lecture_seconds"), "lecture_seconds"),
        (GOOD | {"lecture_seconds": 0}, "lecture_seconds"),
        (GOOD | {"lecture_seconds": "abc"}, "lecture_seconds"),
        (GOOD | {"designated_credits": "-1"}, "designated_credits"),
        (GOOD | {"designated_credits": "1.234"}, "designated_credits"),
        (GOOD | {"designated_credits": "两分"}, "designated_credits"),
        (GOOD | {"lessons": []}, "lessons"),
        (
            GOOD | {"lessons": [{"title": "一", "duration_seconds": 60}, {"title": "二"}]},
            "lessons[1].duration_seconds",
        ),
        (
            GOOD | {"lessons": [{"title": "一", "duration_seconds": -5}]},
            "lessons[0].duration_seconds",
        ),
        (GOOD | {"lessons": [{"duration_seconds": 60}]}, "lessons[0].title"),
    ],
)
async def test_invalid_course_names_field_and_creates_nothing(
    client: TestClient, ctx: Context, world: World, body: dict[str, Any], field: str
) -> None:
    """Each bad field is a 422 naming it; no course or lesson is written."""
    headers = await login(client, "academy")
    resp = await client.post("/api/v1/courses", json=body, headers=headers)
    assert resp.status == 422, await resp.text()
    problem = await resp.json()
    assert problem["field"] == field
    assert problem["detail"]
    assert await _count(ctx) == (0, 0)


async def test_designated_credits_with_two_decimals_accepted(
    client: TestClient, world: World
) -> None:
    """0 and 2.25 are valid designated credits and are what the course earns."""
    zero = await make_course(client, "academy", "零学分", "elective", 600, designated_credits=0)
    assert zero["credits"] == "0.00"
    quarter = await make_course(
        client, "academy", "特殊课", "elective", 600, designated_credits=2.25
    )
    assert quarter["credits"] == "2.25"
    assert quarter["lessons"][0]["duration_seconds"] == 600


async def test_county_admin_cannot_create_provincial_course(
    client: TestClient, ctx: Context, world: World
) -> None:
    """Art. 7: the province and cities develop courses; a county may not (403)."""
    headers = await login(client, "fr_admin")
    own = await client.post("/api/v1/courses", json=GOOD, headers=headers)
    assert own.status == 403
    provincial = await client.post(
        "/api/v1/courses", json=GOOD | {"owner_org_id": world.org("湖南省").id}, headers=headers
    )
    assert provincial.status == 403
    city = await login(client, "cs_admin")
    by_city = await client.post(
        "/api/v1/courses", json=GOOD | {"owner_org_id": world.org("湖南省").id}, headers=city
    )
    assert by_city.status == 403
    learner = await login(client, "zhang")
    assert (await client.post("/api/v1/courses", json=GOOD, headers=learner)).status == 403
    assert await _count(ctx) == (0, 0)


async def test_city_admin_creates_local_course(client: TestClient, world: World) -> None:
    """A city's org admin develops a local course owned by the city."""
    course = await make_course(client, "cs_admin", "长沙城市治理", "elective", 2700)
    assert course["owner_name"] == "长沙市"
    assert course["local"] is True
    assert course["can_manage"] is True
    other_city = await login(client, "ht_admin")
    resp = await client.post(
        "/api/v1/courses",
        json=GOOD | {"owner_org_id": world.org("长沙市").id},
        headers=other_city,
    )
    assert resp.status == 404


async def test_only_owner_changes_a_course(client: TestClient, world: World) -> None:
    """The owning city edits its course; a county below sees but may not edit it;
    another city gets 404; a bad change changes nothing."""
    course = await make_course(client, "cs_admin", "长沙城市治理", "elective", 2700)
    url = f"/api/v1/courses/{course['id']}"
    owner = await login(client, "cs_admin")
    resp = await client.patch(
        url, json={"lecture_seconds": 4050, "kind": "required"}, headers=owner
    )
    assert resp.status == 200
    assert (await resp.json())["credits"] == "2.00"
    county = await login(client, "fr_admin")
    assert (await client.patch(url, json={"title": "改名"}, headers=county)).status == 403
    other = await login(client, "ht_admin")
    assert (await client.patch(url, json={"title": "改名"}, headers=other)).status == 404
    bad = await client.patch(url, json={"title": "新名", "lecture_seconds": -1}, headers=owner)
    assert bad.status == 422 and (await bad.json())["field"] == "lecture_seconds"
    after = await (await client.get(url, headers=owner)).json()
    assert after["title"] == "长沙城市治理"


async def test_duplicate_code_conflicts(client: TestClient, world: World) -> None:
    """Course codes are unique."""
    await make_course(client, "academy", "一", "elective", 600, code="LX-001")
    headers = await login(client, "academy")
    resp = await client.post(
        "/api/v1/courses", json=course_body("二", "elective", 600, code="LX-001"), headers=headers
    )
    assert resp.status == 409 and (await resp.json())["field"] == "code"
