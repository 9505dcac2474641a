"""Administrators manage accounts within their authority: resets, locks, status, staff accounts,
learners' details; every change is audited; outside the subtree 404, the wrong role 403."""

from __future__ import annotations

import datetime as dt

from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from models import Account, AuditEvent, Learner, Liaison, LoginSession, utcnow
from proctor.kernel.context import Context
from proctor.orgs.contacts import new_liaison
from tests.factories import PASSWORD, World, login


async def _sign_in(client: TestClient, username: str, password: str) -> int:
    resp = await client.post("/api/v1/login", json={"username": username, "password": password})
    return resp.status


async def test_reset_gives_a_one_time_password_and_forces_a_change(
    client: TestClient, ctx: Context, world: World
) -> None:
    """The county administrator resets 张伟's password: the old one and old sessions stop
    working, the new one signs in but must be changed first; the reset is audited."""
    learner_session = await login(client, "zhang")
    admin = await login(client, "fr_admin")
    account = world.accounts["zhang"].id
    resp = await client.post(f"/api/v1/accounts/{account}/password-reset", headers=admin)
    assert resp.status == 200, await resp.text()
    assert resp.headers["Cache-Control"] == "no-store"
    issued = await resp.json()
    assert issued["username"] == "zhang" and len(issued["password"]) >= 10
    assert await _sign_in(client, "zhang", PASSWORD) == 401
    assert (await client.get("/api/v1/me", headers=learner_session)).status == 401
    fresh = await client.post(
        "/api/v1/login", json={"username": "zhang", "password": issued["password"]}
    )
    body = await fresh.json()
    assert body["must_change_password"] is True
    token = {"Authorization": f"Bearer {body['token']}"}
    assert (await client.get("/api/v1/courses", headers=token)).status == 403
    async with ctx.db() as s:
        audit = await s.scalar(
            select(AuditEvent).where(AuditEvent.action == "account.password_reset")
        )
    assert audit is not None and audit.target == f"account:{account}"
    assert audit.actor_id == world.accounts["fr_admin"].id
    assert issued["password"] not in str(audit.detail)


async def test_scope_and_role(client: TestClient, ctx: Context, world: World) -> None:
    """Another county's learner is 404; a reviewer is 403; a liaison may reset but not
    deactivate; no one acts on their own account here."""
    zhang, wang = world.accounts["zhang"].id, world.accounts["wang"].id
    fr = await login(client, "fr_admin")
    for action in ("password-reset", "unlock", "deactivate", "reactivate"):
        resp = await client.post(f"/api/v1/accounts/{wang}/{action}", headers=fr)
        assert resp.status == 404, action
    assert (await client.get(f"/api/v1/accounts/{wang}", headers=fr)).status == 404
    reviewer = await login(client, "cs_reviewer")
    assert (await client.post(f"/api/v1/accounts/{zhang}/unlock", headers=reviewer)).status == 403
    liaison = await login(client, "fr_liaison")
    assert (await client.post(f"/api/v1/accounts/{zhang}/unlock", headers=liaison)).status == 200
    resp = await client.post(f"/api/v1/accounts/{zhang}/deactivate", headers=liaison)
    assert resp.status == 403
    own = world.accounts["fr_admin"].id
    assert (await client.post(f"/api/v1/accounts/{own}/password-reset", headers=fr)).status == 403
    learner = await login(client, "li")
    assert (await client.post(f"/api/v1/accounts/{zhang}/unlock", headers=learner)).status == 403
    async with ctx.db() as s:
        active = await s.scalar(select(Account.active).where(Account.id == zhang))
    assert active is True


async def test_unlock_and_deactivate(client: TestClient, ctx: Context, world: World) -> None:
    """A locked learner signs in after the unlock; a deactivated one cannot, and leaves the
    counts (their learner record is inactive) until reactivated."""
    zhang = world.accounts["zhang"].id
    async with ctx.db.begin() as s:
        account = await s.get_one(Account, zhang)
        account.locked_until = utcnow() + dt.timedelta(minutes=10)
    assert await _sign_in(client, "zhang", PASSWORD) == 401
    admin = await login(client, "cs_admin")
    view = await (await client.get(f"/api/v1/accounts/{zhang}", headers=admin)).json()
    assert view["locked"] is True
    resp = await client.post(f"/api/v1/accounts/{zhang}/unlock", headers=admin)
    assert (await resp.json())["locked"] is False
    assert await _sign_in(client, "zhang", PASSWORD) == 200
    resp = await client.post(f"/api/v1/accounts/{zhang}/deactivate", headers=admin)
    assert (await resp.json())["active"] is False
    assert await _sign_in(client, "zhang", PASSWORD) == 401
    async with ctx.db() as s:
        learner = await s.get_one(Learner, world.learners["zhang"].id)
        sessions = await s.scalar(
            select(func.count()).select_from(LoginSession).where(LoginSession.account_id == zhang)
        )
    assert learner.active is False and sessions == 0
    await client.post(f"/api/v1/accounts/{zhang}/reactivate", headers=admin)
    assert await _sign_in(client, "zhang", PASSWORD) == 200


async def test_staff_accounts_by_the_administrator_above(
    client: TestClient, ctx: Context, world: World
) -> None:
    """The city opens a liaison for a unit (named as its contact) and a county administrator;
    a duplicate username is 409 and creates nothing; places follow the roles."""
    city = await login(client, "cs_admin")
    unit = world.org("芙蓉区教育局").id
    resp = await client.post(
        "/api/v1/accounts",
        json={
            "username": "jy_liaison",
            "display_name": "周敏",
            "role": "liaison",
            "org_id": unit,
            "phone": "13900001111",
            "email": "zhoumin@example.gov.cn",
        },
        headers=city,
    )
    assert resp.status == 201, await resp.text()
    issued = await resp.json()
    fresh = await client.post(
        "/api/v1/login", json={"username": "jy_liaison", "password": issued["password"]}
    )
    assert (await fresh.json())["must_change_password"] is True
    async with ctx.db() as s:
        liaison = await s.scalar(select(Liaison).where(Liaison.org_id == unit))
    assert liaison is not None and liaison.name == "周敏"
    for username in ("jy_liaison", "JY_Liaison", "zhang"):
        again = await client.post(
            "/api/v1/accounts",
            json={
                "username": username,
                "display_name": "另一人",
                "role": "reviewer",
                "org_id": world.org("长沙市").id,
            },
            headers=city,
        )
        assert again.status == 409, username
        assert (await again.json())["field"] == "username"
    wrong_place = await client.post(
        "/api/v1/accounts",
        json={
            "username": "fr_liaison2",
            "display_name": "钱程",
            "role": "liaison",
            "org_id": world.org("芙蓉区").id,
            "phone": "13900002222",
        },
        headers=city,
    )
    assert wrong_place.status == 422 and (await wrong_place.json())["field"] == "org_id"
    peer = await client.post(
        "/api/v1/accounts",
        json={
            "username": "cs_admin2",
            "display_name": "孙立",
            "role": "org_admin",
            "org_id": world.org("长沙市").id,
        },
        headers=city,
    )
    assert peer.status == 403
    other_city = await client.post(
        "/api/v1/accounts",
        json={
            "username": "zz_reviewer",
            "display_name": "吴刚",
            "role": "reviewer",
            "org_id": world.org("株洲市").id,
        },
        headers=city,
    )
    assert other_city.status == 404
    county = await login(client, "fr_admin")
    listed = await (await client.get("/api/v1/accounts", headers=county)).json()
    assert {a["username"] for a in listed["items"]} == {"fr_admin", "fr_liaison", "jy_liaison"}
    assert (
        await client.get("/api/v1/accounts", headers=await login(client, "zhang"))
    ).status == 403
    async with ctx.db() as s:
        count = await s.scalar(select(func.count()).select_from(Account))
    assert count == 12  # the world's 11 and the new liaison


async def test_learner_details_changed_and_audited(
    client: TestClient, ctx: Context, world: World
) -> None:
    """Name, rank, phone and a transfer within scope; a transfer outside is 404 and changes
    nothing; the account follows the learner; the audit keeps before and after."""
    admin = await login(client, "cs_admin")
    learner_id = world.learners["zhang"].id
    resp = await client.patch(
        f"/api/v1/learners/{learner_id}",
        json={
            "name": "张  伟明",
            "rank": "正科",
            "phone": "13712345678",
            "unit_id": world.org("天心区财政局").id,
        },
        headers=admin,
    )
    assert resp.status == 200, await resp.text()
    body = await resp.json()
    assert (body["name"], body["rank"], body["unit_name"]) == (
        "张伟明",
        "乡科级正职",
        "天心区财政局",
    )
    assert body["phone_masked"] == "137****5678"
    outside = await client.patch(
        f"/api/v1/learners/{learner_id}",
        json={"unit_id": world.org("荷塘区财政局").id},
        headers=admin,
    )
    assert outside.status == 404
    bad_name = await client.patch(
        f"/api/v1/learners/{learner_id}", json={"name": "张3"}, headers=admin
    )
    assert bad_name.status == 422 and (await bad_name.json())["field"] == "name"
    async with ctx.db() as s:
        account = await s.get_one(Account, world.accounts["zhang"].id)
        audit = await s.scalar(select(AuditEvent).where(AuditEvent.action == "learner.update"))
    assert account.display_name == "张伟明" and account.org_id == world.org("天心区财政局").id
    assert audit is not None
    assert audit.detail["name"] == ["张伟", "张伟明"]
    assert audit.detail["rank"] == ["县处级副职", "乡科级正职"]
    assert audit.detail["phone"] == ["138****0011", "137****5678"]
    # The county administrator no longer sees the learner who moved to another county.
    county = await login(client, "fr_admin")
    assert (await client.get(f"/api/v1/learners/{learner_id}", headers=county)).status == 404


async def test_forgot_password_names_the_liaison(
    client: TestClient, ctx: Context, world: World
) -> None:
    """A learner whose username and name match sees their unit's liaison with a masked phone;
    a wrong name reveals nothing."""
    async with ctx.db.begin() as s:
        s.add(
            new_liaison(
                ctx.vault,
                world.org("芙蓉区财政局").id,
                "刘洋",
                "13800138000",
                account_id=world.accounts["fr_liaison"].id,
            )
        )
    resp = await client.get("/api/v1/login/contacts", params={"username": "zhang", "name": "张伟"})
    assert resp.status == 200
    items = (await resp.json())["items"]
    assert items == [
        {
            "name": "刘洋",
            "phone_masked": "138****8000",
            "org_name": "芙蓉区财政局",
            "role": "liaison",
        }
    ]
    wrong = await client.get("/api/v1/login/contacts", params={"username": "zhang", "name": "李娜"})
    assert (await wrong.json())["items"] == []
    # 李娜's unit has no liaison: she is sent to the county's administrator.
    li = await client.get("/api/v1/login/contacts", params={"username": "li", "name": "李娜"})
    assert [(c["name"], c["role"]) for c in (await li.json())["items"]] == [
        ("fr_admin", "administrator")
    ]
    page = await client.post("/login/forgot", data={"username": "zhang", "name": "张伟"})
    html = await page.text()
    assert page.status == 200 and "刘洋" in html and "138****8000" in html
    assert "13800138000" not in html
