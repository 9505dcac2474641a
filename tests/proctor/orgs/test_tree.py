"""The academy and the cities shape the org tree: add, rename, move, close; records follow."""

from __future__ import annotations

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from models import AuditEvent, Learner, OrgUnit, RosterBatch
from proctor.kernel.context import Context
from tests.factories import World, login


async def _org(ctx: Context, org_id: int) -> OrgUnit:
    async with ctx.db() as s:
        return await s.get_one(OrgUnit, org_id)


async def test_add_rename_and_search(client: TestClient, ctx: Context, world: World) -> None:
    """The city adds a unit to a county (code numbered after the county's), renames it, and
    finds it by name; a duplicate name among siblings is 409; county admins are 403."""
    city = await login(client, "cs_admin")
    county = world.org("芙蓉区").id
    resp = await client.post(
        "/api/v1/orgs", json={"parent_id": county, "name": "芙蓉区卫健局"}, headers=city
    )
    assert resp.status == 201, await resp.text()
    node = await resp.json()
    assert (node["level"], node["code"]) == ("unit", "430102003")
    assert node["trail"] == "湖南省 / 长沙市 / 芙蓉区 / 芙蓉区卫健局"
    same = await client.post(
        "/api/v1/orgs", json={"parent_id": county, "name": "芙蓉区卫健局"}, headers=city
    )
    assert same.status == 409 and (await same.json())["field"] == "name"
    renamed = await client.patch(
        f"/api/v1/orgs/{node['id']}", json={"name": "芙蓉区卫生健康局"}, headers=city
    )
    assert (await renamed.json())["name"] == "芙蓉区卫生健康局"
    found = await client.get("/api/v1/org-search", params={"q": "卫生健康"}, headers=city)
    assert [n["id"] for n in (await found.json())["items"]] == [node["id"]]
    county_admin = await login(client, "fr_admin")
    refused = await client.post(
        "/api/v1/orgs", json={"parent_id": county, "name": "芙蓉区文旅局"}, headers=county_admin
    )
    assert refused.status == 403
    other = await client.get("/api/v1/org-search", params={"q": "荷塘"}, headers=city)
    assert (await other.json())["items"] == []


async def test_move_carries_learners_and_records(
    client: TestClient, ctx: Context, world: World
) -> None:
    """Moving 芙蓉区教育局 to 天心区 rewrites the paths of the unit, its learners and its
    rosters; the learner is then in 天心区's authority and out of 芙蓉区's."""
    city = await login(client, "cs_admin")
    unit = world.org("芙蓉区教育局")
    async with ctx.db.begin() as s:
        s.add(
            RosterBatch(
                org_id=unit.id,
                org_path=unit.path,
                uploaded_by=world.accounts["fr_liaison"].id,
                filename="r.xlsx",
                file_sha256="0" * 64,
                status="approved",
                total_rows=0,
                error_rows=0,
            )
        )
    resp = await client.post(
        f"/api/v1/orgs/{unit.id}/move", json={"parent_id": world.org("天心区").id}, headers=city
    )
    assert resp.status == 200, await resp.text()
    moved = await _org(ctx, unit.id)
    assert moved.path == f"{world.org('天心区').path}{unit.id}/"
    async with ctx.db() as s:
        learner = await s.get_one(Learner, world.learners["li"].id)
        batch = await s.scalar(select(RosterBatch))
    assert learner.org_path == moved.path and batch is not None and batch.org_path == moved.path
    li = world.learners["li"].id
    tx = await login(client, "tx_admin")
    assert (await client.get(f"/api/v1/learners/{li}", headers=tx)).status == 200
    fr = await login(client, "fr_admin")
    assert (await client.get(f"/api/v1/learners/{li}", headers=fr)).status == 404


async def test_a_move_out_of_the_movers_authority_is_refused(
    client: TestClient, ctx: Context, world: World
) -> None:
    """长沙市 cannot move a unit with a learner under 株洲市's 荷塘区: refused, nothing moves;
    nor can it put a unit under a unit or move its own node."""
    city = await login(client, "cs_admin")
    unit = world.org("芙蓉区财政局")
    resp = await client.post(
        f"/api/v1/orgs/{unit.id}/move", json={"parent_id": world.org("荷塘区").id}, headers=city
    )
    assert resp.status == 404
    body = await resp.json()
    assert body["field"] == "parent_id" and "1 名学员" in body["detail"]
    assert (await _org(ctx, unit.id)).path == unit.path
    async with ctx.db() as s:
        learner = await s.get_one(Learner, world.learners["zhang"].id)
        moves = await s.scalar(select(AuditEvent).where(AuditEvent.action == "org.move"))
    assert learner.org_path == unit.path and moves is None
    under_unit = await client.post(
        f"/api/v1/orgs/{unit.id}/move",
        json={"parent_id": world.org("芙蓉区教育局").id},
        headers=city,
    )
    assert under_unit.status == 422
    own = await client.post(
        f"/api/v1/orgs/{world.org('长沙市').id}/move",
        json={"parent_id": world.org("湖南省").id},
        headers=city,
    )
    assert own.status in (403, 404)


async def test_close_only_an_empty_unit(client: TestClient, ctx: Context, world: World) -> None:
    """A unit with learners or accounts stays open; an emptied one closes and takes no roster
    rows or transfers; reopening undoes it."""
    city = await login(client, "cs_admin")
    unit = world.org("芙蓉区教育局")
    busy = await client.post(f"/api/v1/orgs/{unit.id}/close", headers=city)
    assert busy.status == 409 and "1 名在学学员" in (await busy.json())["detail"]
    li = world.learners["li"].id
    await client.patch(
        f"/api/v1/learners/{li}", json={"unit_id": world.org("芙蓉区财政局").id}, headers=city
    )
    closed = await client.post(f"/api/v1/orgs/{unit.id}/close", headers=city)
    assert closed.status == 200 and (await closed.json())["closed"] is True
    back = await client.patch(f"/api/v1/learners/{li}", json={"unit_id": unit.id}, headers=city)
    assert back.status == 422
    reopened = await client.post(f"/api/v1/orgs/{unit.id}/reopen", headers=city)
    assert (await reopened.json())["closed"] is False
