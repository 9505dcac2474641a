"""Online special training classes (网上专题培训班): scope, members, enrolment."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from models import Enrolment, TrainingClass, TrainingClassMember
from proctor.kernel.context import Context
from tests.factories import World, login
from tests.proctor.catalog.helpers import make_course


async def _open(
    client: TestClient, admin: str, course_ids: list[int], learner_ids: list[int], **extra: Any
) -> Any:
    headers = await login(client, admin)
    return await client.post(
        "/api/v1/classes",
        json={
            "name": "学习贯彻专题班",
            "starts_on": "2024-03-01",
            "ends_on": "2024-04-30",
            "course_ids": course_ids,
            "learner_ids": learner_ids,
            **extra,
        },
        headers=headers,
    )


async def _count(ctx: Context, model: Any) -> int:
    async with ctx.db() as s:
        return await s.scalar(select(func.count()).select_from(model)) or 0


async def test_class_members_are_enrolled_in_its_courses(client: TestClient, world: World) -> None:
    """Opening a class with members enrols each of them in every class course."""
    provincial = await make_course(client, "academy", "省级必修课", "required", 2700)
    local = await make_course(client, "cs_admin", "长沙城市治理", "elective", 1380)
    zhang, wang = world.learners["zhang"].id, world.learners["wang"].id
    resp = await _open(client, "cs_admin", [provincial["id"], local["id"]], [zhang, wang])
    assert resp.status == 201, await resp.text()
    body = await resp.json()
    assert {m["name"] for m in body["members"]} == {"张伟", "王芳"}
    assert {c["title"] for c in body["courses"]} == {"省级必修课", "长沙城市治理"}

    learner = await login(client, "zhang")
    mine = (await (await client.get("/api/v1/me/courses", headers=learner)).json())["items"]
    assert {(m["course"]["title"], m["source"]) for m in mine} == {
        ("省级必修课", "class"),
        ("长沙城市治理", "class"),
    }
    classes = (await (await client.get("/api/v1/classes", headers=learner)).json())["items"]
    assert [c["name"] for c in classes] == ["学习贯彻专题班"]
    # A learner sees the class and its courses, never the classmates.
    detail = await (await client.get(f"/api/v1/classes/{body['id']}", headers=learner)).json()
    assert detail["members"] is None
    html = await (await client.get("/catalog", headers=learner)).text()
    assert "学习贯彻专题班" in html
    # A class course cannot be dropped while in the class.
    drop = await client.delete(f"/api/v1/courses/{local['id']}/enrol", headers=learner)
    assert drop.status == 409


async def test_members_outside_scope_refused_and_nothing_added(
    client: TestClient, ctx: Context, world: World
) -> None:
    """Adding 株洲市's learner to 长沙市's class is 404 naming them; 李娜 is not added either."""
    course = await make_course(client, "academy", "省级必修课", "required", 2700)
    resp = await _open(client, "cs_admin", [course["id"]], [world.learners["zhang"].id])
    class_id = (await resp.json())["id"]
    before = await _count(ctx, Enrolment)
    headers = await login(client, "cs_admin")
    zhao, li = world.learners["zhao"].id, world.learners["li"].id
    refused = await client.post(
        f"/api/v1/classes/{class_id}/members", json={"learner_ids": [li, zhao]}, headers=headers
    )
    assert refused.status == 404
    problem = await refused.json()
    assert str(zhao) in problem["detail"] and problem["rejected"] == [str(zhao)]
    assert "赵磊" not in problem["detail"]
    assert await _count(ctx, TrainingClassMember) == 1
    assert await _count(ctx, Enrolment) == before

    by_name = await client.post(
        f"/api/v1/classes/{class_id}/members", json={"usernames": ["li", "zhao"]}, headers=headers
    )
    assert by_name.status == 404
    assert (await by_name.json())["rejected"] == ["zhao"]
    assert await _count(ctx, TrainingClassMember) == 1

    added = await client.post(
        f"/api/v1/classes/{class_id}/members", json={"usernames": ["li"]}, headers=headers
    )
    assert added.status == 200
    assert {m["name"] for m in (await added.json())["members"]} == {"张伟", "李娜"}
    assert await _count(ctx, Enrolment) == before + 1


async def test_opening_class_with_outside_member_creates_nothing(
    client: TestClient, ctx: Context, world: World
) -> None:
    """A county admin cannot enrol another county's learner; the class is not created."""
    course = await make_course(client, "academy", "省级必修课", "required", 2700)
    resp = await _open(
        client, "fr_admin", [course["id"]], [world.learners["zhang"].id, world.learners["wang"].id]
    )
    assert resp.status == 404
    assert await _count(ctx, TrainingClass) == 0
    assert await _count(ctx, Enrolment) == 0


async def test_class_visible_only_in_scope(client: TestClient, world: World) -> None:
    """长沙市's class is invisible to a county admin below it and to 株洲市."""
    course = await make_course(client, "academy", "省级必修课", "required", 2700)
    class_id = (await (await _open(client, "cs_admin", [course["id"]], [])).json())["id"]
    for username, status in [("cs_admin", 200), ("academy", 200), ("ht_admin", 404)]:
        headers = await login(client, username)
        resp = await client.get(f"/api/v1/classes/{class_id}", headers=headers)
        assert resp.status == status, username
        listed = (await (await client.get("/api/v1/classes", headers=headers)).json())["items"]
        assert (len(listed) == 1) == (status == 200), username
    outsider = await login(client, "zhao")
    assert (await client.get(f"/api/v1/classes/{class_id}", headers=outsider)).status == 404
    page = await client.get(f"/admin/classes/{class_id}", headers=await login(client, "ht_admin"))
    assert page.status == 404


async def test_adding_course_enrols_existing_members(
    client: TestClient, ctx: Context, world: World
) -> None:
    """A course added later reaches every member."""
    first = await make_course(client, "academy", "省级必修课", "required", 2700)
    later = await make_course(client, "academy", "后加的选修课", "elective", 2700)
    members = [world.learners["zhang"].id, world.learners["li"].id]
    class_id = (await (await _open(client, "fr_admin", [first["id"]], members)).json())["id"]
    headers = await login(client, "fr_admin")
    resp = await client.post(
        f"/api/v1/classes/{class_id}/courses", json={"course_ids": [later["id"]]}, headers=headers
    )
    assert resp.status == 200
    async with ctx.db() as s:
        enrolled = set(
            await s.scalars(select(Enrolment.learner_id).where(Enrolment.course_id == later["id"]))
        )
    assert enrolled == set(members)


async def test_class_courses_must_be_visible_to_all_members(
    client: TestClient, ctx: Context, world: World
) -> None:
    """株洲市 cannot use 长沙市's course (404); a provincial class cannot either (422)."""
    local = await make_course(client, "cs_admin", "长沙城市治理", "elective", 2700)
    assert (await _open(client, "ht_admin", [local["id"]], [])).status == 404
    provincial = await _open(client, "academy", [local["id"]], [])
    assert provincial.status == 422
    assert (await provincial.json())["field"] == "course_ids"
    assert await _count(ctx, TrainingClass) == 0


async def test_class_dates_and_roles(client: TestClient, ctx: Context, world: World) -> None:
    """End before start is a 422 on ends_on; learners and liaisons do not open classes."""
    bad = await _open(client, "cs_admin", [], [], starts_on="2024-05-01", ends_on="2024-04-01")
    assert bad.status == 422 and (await bad.json())["field"] == "ends_on"
    for username in ("zhang", "fr_liaison"):
        assert (await _open(client, username, [], [])).status == 403, username
    assert await _count(ctx, TrainingClass) == 0


async def test_class_pages(client: TestClient, world: World) -> None:
    """An admin opens a class with the form, then adds a member by username."""
    course = await make_course(client, "academy", "省级必修课", "required", 2700)
    headers = await login(client, "fr_admin")
    created = await client.post(
        "/admin/classes",
        data={
            "name": "芙蓉区专题班",
            "starts_on": "2024-03-01",
            "ends_on": "2024-03-31",
            "course_ids": str(course["id"]),
        },
        headers=headers,
        allow_redirects=False,
    )
    assert created.status == 303, await created.text()
    location = created.headers["Location"]
    added = await client.post(
        f"{location}/members", data={"usernames": "zhang"}, headers=headers, allow_redirects=False
    )
    assert added.status == 303
    html = await (await client.get(location, headers=headers)).text()
    assert "芙蓉区专题班" in html and "张伟" in html and "省级必修课" in html
    refused = await client.post(f"{location}/members", data={"usernames": "wang"}, headers=headers)
    assert refused.status == 404
    assert "wang" in await refused.text()
    listing = await (await client.get("/admin/classes", headers=headers)).text()
    assert "芙蓉区专题班" in listing
    wrong = await client.post(
        "/admin/classes",
        data={"name": "倒序", "starts_on": "2024-03-31", "ends_on": "2024-03-01"},
        headers=headers,
    )
    assert wrong.status == 422
    assert "结束日期不能早于开始日期" in await wrong.text()
