"""Enrolment (Art. 11): learners choose electives; required courses enrol on first study."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from models import CourseCompletion, Enrolment, EnrolmentSource, utcnow
from proctor.catalog.enrolment import ensure_enrolled
from proctor.kernel.context import Context
from proctor.kernel.errors import NotFound
from tests.factories import World, login
from tests.proctor.catalog.helpers import make_course


async def _enrolments(ctx: Context, learner_id: int) -> int:
    async with ctx.db() as s:
        return (
            await s.scalar(
                select(func.count())
                .select_from(Enrolment)
                .where(Enrolment.learner_id == learner_id)
            )
            or 0
        )


async def test_enrolling_twice_keeps_one_enrolment(
    client: TestClient, ctx: Context, world: World
) -> None:
    """A second POST (double click, retry) is not an error and adds nothing."""
    course = await make_course(client, "academy", "选修课", "elective", 2700)
    headers = await login(client, "zhang")
    for _ in range(2):
        resp = await client.post(f"/api/v1/courses/{course['id']}/enrol", headers=headers)
        assert resp.status == 200
        assert (await resp.json())["source"] == "self"
    mine = (await (await client.get("/api/v1/me/courses", headers=headers)).json())["items"]
    assert [m["course"]["title"] for m in mine] == ["选修课"]
    assert await _enrolments(ctx, world.learners["zhang"].id) == 1
    detail = await (await client.get(f"/api/v1/courses/{course['id']}", headers=headers)).json()
    assert detail["enrolled"] is True


async def test_withdraw_from_elective(client: TestClient, world: World) -> None:
    """Withdrawing drops the enrolment; the catalog offers 选课 again."""
    course = await make_course(client, "academy", "选修课", "elective", 2700)
    headers = await login(client, "zhang")
    await client.post(f"/api/v1/courses/{course['id']}/enrol", headers=headers)
    html = await (await client.get("/catalog", headers=headers)).text()
    assert "退选" in html
    resp = await client.delete(f"/api/v1/courses/{course['id']}/enrol", headers=headers)
    assert resp.status == 200
    assert (await (await client.get("/api/v1/me/courses", headers=headers)).json())["items"] == []
    html = await (await client.get("/catalog", headers=headers)).text()
    assert "选课</button>" in html and "退选</button>" not in html


async def test_cannot_withdraw_completed_or_required(
    client: TestClient, ctx: Context, world: World
) -> None:
    """A completed elective and a required course stay enrolled (409)."""
    elective = await make_course(client, "academy", "已学完的选修课", "elective", 2700)
    required = await make_course(client, "academy", "必修课", "required", 2700)
    headers = await login(client, "zhang")
    zhang = world.learners["zhang"].id
    for course in (elective, required):
        await client.post(f"/api/v1/courses/{course['id']}/enrol", headers=headers)
    async with ctx.db.begin() as s:
        s.add(
            CourseCompletion(
                learner_id=zhang, course_id=elective["id"], year=2024, completed_at=utcnow()
            )
        )
    for course in (elective, required):
        resp = await client.delete(f"/api/v1/courses/{course['id']}/enrol", headers=headers)
        assert resp.status == 409, course["title"]
    assert await _enrolments(ctx, zhang) == 2


async def test_cannot_enrol_in_invisible_course(
    client: TestClient, ctx: Context, world: World
) -> None:
    """株洲市's learner gets 404 for a 长沙市 course, and no enrolment is created."""
    local = await make_course(client, "cs_admin", "长沙城市治理", "elective", 2700)
    headers = await login(client, "zhao")
    resp = await client.post(f"/api/v1/courses/{local['id']}/enrol", headers=headers)
    assert resp.status == 404
    missing = await client.post("/api/v1/courses/999999/enrol", headers=headers)
    assert missing.status == 404
    assert await _enrolments(ctx, world.learners["zhao"].id) == 0


async def test_staff_do_not_enrol(client: TestClient, world: World) -> None:
    """Only learners choose courses."""
    course = await make_course(client, "academy", "选修课", "elective", 2700)
    headers = await login(client, "cs_admin")
    resp = await client.post(f"/api/v1/courses/{course['id']}/enrol", headers=headers)
    assert resp.status == 403
    assert (await client.get("/api/v1/me/courses", headers=headers)).status == 403


async def test_enrol_through_catalog_page(client: TestClient, world: World) -> None:
    """The 选课 button posts a form and returns to the catalog."""
    course = await make_course(client, "academy", "选修课", "elective", 2700)
    headers = await login(client, "zhang")
    resp = await client.post(
        f"/catalog/{course['id']}/enrol",
        data={"next": "/catalog?kind=elective"},
        headers=headers,
        allow_redirects=False,
    )
    assert resp.status == 303
    assert resp.headers["Location"] == "/catalog?kind=elective"
    mine = (await (await client.get("/api/v1/me/courses", headers=headers)).json())["items"]
    assert len(mine) == 1


async def test_required_course_enrols_on_first_study(
    client: TestClient, ctx: Context, world: World
) -> None:
    """ensure_enrolled (called by study tracking) is idempotent and respects visibility."""
    required = await make_course(client, "academy", "必修课", "required", 2700)
    local = await make_course(client, "cs_admin", "长沙城市治理", "required", 2700)
    zhang, zhao = world.learners["zhang"].id, world.learners["zhao"].id
    headers = await login(client, "zhang")
    detail = await (await client.get(f"/api/v1/courses/{required['id']}", headers=headers)).json()
    assert detail["kind_label"] == "必修" and detail["enrolled"] is False
    for _ in range(2):
        async with ctx.db.begin() as s:
            enrolment = await ensure_enrolled(s, zhang, required["id"], EnrolmentSource.SELF)
            assert enrolment.course_id == required["id"]
    assert await _enrolments(ctx, zhang) == 1
    async with ctx.db.begin() as s:
        with pytest.raises(NotFound):
            await ensure_enrolled(s, zhao, local["id"], EnrolmentSource.SELF)
    assert await _enrolments(ctx, zhao) == 0
