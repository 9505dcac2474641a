"""Management authority: staff see only their own org subtree; outside ids are 404."""

from __future__ import annotations

from aiohttp.test_utils import TestClient

from tests.factories import World, login


async def test_county_admin_lists_only_own_county(client: TestClient, world: World) -> None:
    """芙蓉区's administrator lists 芙蓉区's learners and no one from 天心区 or 株洲市."""
    headers = await login(client, "fr_admin")
    resp = await client.get("/api/v1/learners", headers=headers)
    assert resp.status == 200
    names = {item["name"] for item in (await resp.json())["items"]}
    assert names == {"张伟", "李娜"}


async def test_county_admin_gets_404_for_other_county_learner(
    client: TestClient, world: World
) -> None:
    """Reading, changing or revealing another county's learner answers 404, as for a missing id."""
    headers = await login(client, "fr_admin")
    other = world.learners["wang"].id
    for method, url, body in [
        ("GET", f"/api/v1/learners/{other}", None),
        ("PATCH", f"/api/v1/learners/{other}", {"rank": "科员"}),
        ("POST", f"/api/v1/learners/{other}/reveal", None),
    ]:
        resp = await client.request(method, url, json=body, headers=headers)
        assert resp.status == 404, (method, url)
        assert (await resp.json())["title"] == "not_found"
    missing = await client.get("/api/v1/learners/999999", headers=headers)
    assert missing.status == 404
    # The refused change changed nothing.
    city = await login(client, "cs_admin")
    resp = await client.get(f"/api/v1/learners/{other}", headers=city)
    assert (await resp.json())["rank"] == "县处级副职"


async def test_city_admin_sees_counties_below_but_not_other_city(
    client: TestClient, world: World
) -> None:
    """长沙市 sees 芙蓉区 and 天心区 learners, not 株洲市's."""
    headers = await login(client, "cs_admin")
    resp = await client.get("/api/v1/learners", headers=headers)
    names = {item["name"] for item in (await resp.json())["items"]}
    assert names == {"张伟", "李娜", "王芳"}
    other_city = await client.get(f"/api/v1/learners/{world.learners['zhao'].id}", headers=headers)
    assert other_city.status == 404
    org = await client.get(f"/api/v1/orgs/{world.org('株洲市').id}", headers=headers)
    assert org.status == 404


async def test_learner_sees_only_self(client: TestClient, world: World) -> None:
    """A learner reads their own record and cannot search or read a colleague."""
    headers = await login(client, "zhang")
    own = await client.get(f"/api/v1/learners/{world.learners['zhang'].id}", headers=headers)
    assert own.status == 200
    colleague = await client.get(f"/api/v1/learners/{world.learners['li'].id}", headers=headers)
    assert colleague.status == 404
    search = await client.get("/api/v1/learners", headers=headers)
    assert search.status == 403


async def test_identifiers_masked_and_reveal_audited(client: TestClient, world: World) -> None:
    """Staff see masked identity numbers; an org admin may reveal, a liaison may not."""
    admin = await login(client, "fr_admin")
    learner_id = world.learners["zhang"].id
    body = await (await client.get(f"/api/v1/learners/{learner_id}", headers=admin)).json()
    assert body["id_masked"].startswith("4301") and "*" in body["id_masked"]
    revealed = await client.post(f"/api/v1/learners/{learner_id}/reveal", headers=admin)
    full = (await revealed.json())["id_number"]
    assert (
        len(full) == 18
        and full[:4] == body["id_masked"][:4]
        and full[-4:] == body["id_masked"][-4:]
    )
    liaison = await login(client, "fr_liaison")
    assert (
        await client.post(f"/api/v1/learners/{learner_id}/reveal", headers=liaison)
    ).status == 403


async def test_move_learner_only_into_own_subtree(client: TestClient, world: World) -> None:
    """An admin cannot move a learner into a unit outside their authority."""
    headers = await login(client, "fr_admin")
    learner_id = world.learners["zhang"].id
    outside = await client.patch(
        f"/api/v1/learners/{learner_id}",
        json={"unit_id": world.org("天心区财政局").id},
        headers=headers,
    )
    assert outside.status == 404
    inside = await client.patch(
        f"/api/v1/learners/{learner_id}",
        json={"unit_id": world.org("芙蓉区教育局").id},
        headers=headers,
    )
    assert inside.status == 200
    assert (await inside.json())["unit_name"] == "芙蓉区教育局"
