"""Who sees which course (Art. 7 local courses), and the credits the catalog promises."""

from __future__ import annotations

from aiohttp.test_utils import TestClient

from tests.factories import World, login
from tests.proctor.catalog.helpers import make_course, titles


async def test_city_local_course_visible_only_in_that_city(
    client: TestClient, world: World
) -> None:
    """A 长沙市 course reaches 芙蓉区's learner and 长沙市's admin, never 株洲市."""
    local = await make_course(client, "cs_admin", "长沙城市治理", "elective", 2700)
    await make_course(client, "academy", "省级理论课", "required", 2700)
    for username in ("zhang", "cs_admin", "fr_admin", "academy"):
        headers = await login(client, username)
        assert await titles(client, headers) == {"长沙城市治理", "省级理论课"}, username
        detail = await client.get(f"/api/v1/courses/{local['id']}", headers=headers)
        assert detail.status == 200, username
    for username in ("zhao", "ht_admin"):
        headers = await login(client, username)
        assert await titles(client, headers) == {"省级理论课"}, username
        detail = await client.get(f"/api/v1/courses/{local['id']}", headers=headers)
        assert detail.status == 404, username
        page = await client.get(f"/catalog/{local['id']}", headers=headers)
        assert page.status == 404, username
        listing = await (await client.get("/catalog", headers=headers)).text()
        assert "长沙城市治理" not in listing and "省级理论课" in listing


async def test_catalog_shows_credits_each_course_will_earn(
    client: TestClient, world: World
) -> None:
    """67.5 minutes required -> 2 class hours, 2.00 credits; 23 minutes elective -> 0.50;
    designated credits override the computation."""
    await make_course(client, "academy", "必修六十七分半", "required", 4050)
    await make_course(client, "academy", "选修二十三分", "elective", 1380)
    await make_course(client, "academy", "指定学分课", "elective", 1380, designated_credits="3.5")
    headers = await login(client, "zhang")
    items = (await (await client.get("/api/v1/courses", headers=headers)).json())["items"]
    by_title = {i["title"]: i for i in items}
    assert by_title["必修六十七分半"]["credits"] == "2.00"
    assert by_title["必修六十七分半"]["class_hours"] == 2
    assert by_title["选修二十三分"]["credits"] == "0.50"
    assert by_title["指定学分课"]["credits"] == "3.50"
    assert by_title["指定学分课"]["designated"] is True
    # Required courses are listed first.
    assert items[0]["title"] == "必修六十七分半"

    html = await (await client.get("/catalog", headers=headers)).text()
    assert "67.5 分钟" in html and "2.00" in html and "0.50" in html and "3.50" in html
    assert "必修" in html and "选修" in html


async def test_catalog_page_marks_local_course_and_filters(
    client: TestClient, world: World
) -> None:
    """The local course carries its city; kind and category filters narrow the list."""
    await make_course(client, "cs_admin", "长沙城市治理", "elective", 2700, category="society")
    await make_course(client, "academy", "省级理论课", "required", 2700)
    headers = await login(client, "zhang")
    html = await (await client.get("/catalog", headers=headers)).text()
    assert "本地课程 · 长沙市" in html
    assert await titles(client, headers, kind="required") == {"省级理论课"}
    assert await titles(client, headers, category="society") == {"长沙城市治理"}
    assert await titles(client, headers, q="城市") == {"长沙城市治理"}
    bad = await client.get("/api/v1/courses", params={"kind": "optional"}, headers=headers)
    assert bad.status == 422
    assert (await bad.json())["field"] == "kind"


async def test_categories_are_the_ten_of_article_7(client: TestClient, world: World) -> None:
    """The API lists the ten categories in the measures' order."""
    headers = await login(client, "zhang")
    items = (await (await client.get("/api/v1/categories", headers=headers)).json())["items"]
    assert [i["name"] for i in items][:2] == ["基本理论", "政策法规"]
    assert len(items) == 10 and items[-1]["code"] == "topics"


async def test_unpublished_course_leaves_learners_catalog(client: TestClient, world: World) -> None:
    """Unpublishing hides a course from learners (404), not from its owning city."""
    local = await make_course(client, "cs_admin", "长沙城市治理", "elective", 2700)
    admin = await login(client, "cs_admin")
    resp = await client.patch(
        f"/api/v1/courses/{local['id']}", json={"published": False}, headers=admin
    )
    assert resp.status == 200
    zhang = await login(client, "zhang")
    assert await titles(client, zhang) == set()
    assert (await client.get(f"/api/v1/courses/{local['id']}", headers=zhang)).status == 404
    assert await titles(client, admin) == {"长沙城市治理"}
