"""Approving the valid rows and returning the rest; fixing a row in place; withdrawing."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from models import Learner, RosterBatch
from proctor.kernel.context import Context
from tests.factories import World, login
from tests.proctor.rosters.helpers import counts, id_number, person, read_xlsx, upload_ok, xlsx

GOOD = person("张三", 1, post="科长/乡科级正职")
BAD_UNIT = person("李四", 2, unit="不存在的局", post="副局长/副处")
BAD_PHONE = person("王五", 3, post="科员", phone="12345")


async def _post(client: TestClient, headers: dict[str, str], url: str, **body: Any) -> Any:
    return await client.post(url, json=body or None, headers=headers)


async def test_approve_valid_rows_return_the_rest_and_fix_in_place(
    client: TestClient, ctx: Context, world: World
) -> None:
    """One good row becomes a learner; two rows go back with their reasons; the liaison fixes
    them in place (the batch goes back to the approver) and the second approval finishes it;
    every password of the batch is on one sheet."""
    liaison = await login(client, "fr_liaison")
    admin = await login(client, "fr_admin")
    batch = await upload_ok(client, liaison, xlsx([GOOD, BAD_UNIT, BAD_PHONE]))
    assert batch["error_rows"] == 2 and batch["can_withdraw"] is True
    detail = await (await client.get(f"/api/v1/rosters/{batch['id']}", headers=admin)).json()
    assert detail["can_approve"] is False and detail["can_approve_valid"] is True
    url = f"/api/v1/rosters/{batch['id']}"
    assert (await _post(client, liaison, f"{url}/approve-valid")).status == 403
    resp = await _post(client, admin, f"{url}/approve-valid", note="请更正单位和手机号")
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["status"] == "returned"
    async with ctx.db() as s:
        names = set(await s.scalars(select(Learner.name)))
    assert "张三" in names and "李四" not in names
    # Returned: the approver waits for the fixes.
    assert (await _post(client, admin, f"{url}/approve-valid")).status == 409

    # The liaison corrects the unit of row 3 (李四): it passes; the batch is pending again.
    fix = {
        "name": "李四",
        "unit": "430102001",
        "position": "副局长",
        "rank": "副处",
    }
    resp = await client.patch(f"{url}/rows/3", json=fix, headers=liaison)
    assert resp.status == 200, await resp.text()
    fixed = await resp.json()
    assert fixed["row"]["ok"] is True, fixed
    assert fixed["batch"]["status"] == "pending"
    assert fixed["row"]["id_masked"].endswith(id_number(2)[-4:])
    # A fix that is still wrong says why and keeps the row refused.
    resp = await client.patch(
        f"{url}/rows/4",
        json={"name": "王五", "unit": "芙蓉区财政局", "rank": "科员", "phone": "1380013"},
        headers=liaison,
    )
    assert (await resp.json())["row"]["errors"] == ["手机号格式不正确（应为 11 位中国大陆手机号）"]
    resp = await client.patch(
        f"{url}/rows/4",
        json={"name": "王五", "unit": "芙蓉区财政局", "rank": "科员", "phone": "13800138004"},
        headers=liaison,
    )
    assert (await resp.json())["batch"]["error_rows"] == 0
    # An approved row is not edited here.
    resp = await client.patch(f"{url}/rows/2", json=fix | {"name": "张三"}, headers=liaison)
    assert resp.status == 409
    resp = await _post(client, admin, f"{url}/approve")
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["status"] == "approved"
    sheet = await client.get(f"{url}/credentials.xlsx", headers=liaison)
    rows = read_xlsx(await sheet.read())
    assert {"张三", "李四", "王五"} <= {cell for row in rows for cell in row}


async def test_fix_checks_duplicates_and_scope(
    client: TestClient, ctx: Context, world: World
) -> None:
    """A fixed row may not name a unit outside the batch's subtree, repeat another row's
    identity number, or name someone already a learner; outside the authority it is 404."""
    liaison = await login(client, "fr_liaison")
    batch = await upload_ok(client, liaison, xlsx([GOOD, BAD_PHONE]))
    url = f"/api/v1/rosters/{batch['id']}/rows/3"
    base = {"name": "王五", "unit": "芙蓉区财政局", "rank": "科员", "phone": "13800138004"}
    twin = await client.patch(url, json=base | {"id_number": id_number(1)}, headers=liaison)
    assert "与第 2 行重复" in (await twin.json())["row"]["errors"][0]
    outside = await client.patch(url, json=base | {"unit": "天心区财政局"}, headers=liaison)
    assert "不在您的管理范围内" in (await outside.json())["row"]["errors"][0]
    other = await login(client, "tx_admin")
    assert (await client.patch(url, json=base, headers=other)).status == 404
    reviewer = await login(client, "cs_reviewer")
    assert (await client.patch(url, json=base, headers=reviewer)).status == 403


async def test_withdraw_a_batch_not_yet_approved(
    client: TestClient, ctx: Context, world: World
) -> None:
    """The uploader withdraws a pending batch: nothing is created and its people may be
    uploaded again; a withdrawn batch cannot be approved; another liaison's is 404."""
    liaison = await login(client, "fr_liaison")
    batch = await upload_ok(client, liaison, xlsx([GOOD]))
    before = await counts(ctx)
    url = f"/api/v1/rosters/{batch['id']}"
    tx = await login(client, "tx_admin")
    assert (await _post(client, tx, f"{url}/withdraw")).status == 404
    resp = await _post(client, liaison, f"{url}/withdraw", note="单位调整，稍后重报")
    assert resp.status == 200 and (await resp.json())["status"] == "withdrawn"
    assert await counts(ctx) == before
    admin = await login(client, "fr_admin")
    assert (await _post(client, admin, f"{url}/approve")).status == 409
    assert (await _post(client, liaison, f"{url}/withdraw")).status == 409
    again = await upload_ok(client, liaison, xlsx([GOOD]))
    assert again["error_rows"] == 0
    async with ctx.db() as s:
        statuses = sorted(s.value for s in await s.scalars(select(RosterBatch.status)))
    assert statuses == ["pending", "withdrawn"]
