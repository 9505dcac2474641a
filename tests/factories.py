"""A small org tree with accounts of every role, shared by the tests."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pytest
from aiohttp.test_utils import TestClient

from models import Account, Learner, OrgLevel, OrgUnit, Role
from proctor.kernel.context import Context
from proctor.kernel.identity import make_id_number
from proctor.kernel.security.pii import mask_id_number, mask_phone
from proctor.orgs.service import add_org

PASSWORD = "Passw0rd!"


@dataclass
class World:
    """Ids of the test tree: 湖南省 > 长沙市 (芙蓉区, 天心区), 株洲市 (荷塘区)."""

    orgs: dict[str, OrgUnit] = field(default_factory=dict)
    accounts: dict[str, Account] = field(default_factory=dict)
    learners: dict[str, Learner] = field(default_factory=dict)

    def org(self, name: str) -> OrgUnit:
        """An org node by name."""
        return self.orgs[name]


async def add_learner(
    ctx: Context,
    world: World,
    key: str,
    unit: str,
    *,
    name: str,
    rank: str = "县处级副职",
    seq: int = 1,
    birth: dt.date = dt.date(1980, 5, 17),
    with_account: bool = True,
) -> Learner:
    """A learner (and a learner account named ``key``) in a unit of the world."""
    org = world.org(unit)
    id_number = make_id_number("430102", birth, seq)
    phone = f"1380000{seq:04d}"
    async with ctx.db.begin() as s:
        learner = Learner(
            name=name,
            id_hash=ctx.vault.lookup_hash(id_number),
            id_cipher=ctx.vault.encrypt(id_number),
            id_masked=mask_id_number(id_number),
            birth_date=birth,
            gender="M" if seq % 2 else "F",
            phone_cipher=ctx.vault.encrypt(phone),
            phone_masked=mask_phone(phone),
            unit_id=org.id,
            org_path=org.path,
            rank=rank,
        )
        s.add(learner)
        await s.flush()
        if with_account:
            account = Account(
                username=key,
                display_name=name,
                password_hash=ctx.passwords.hash(PASSWORD),
                role=Role.LEARNER,
                org_id=org.id,
                learner_id=learner.id,
                must_change_password=False,
            )
            s.add(account)
            await s.flush()
            world.accounts[key] = account
    world.learners[key] = learner
    return learner


async def add_account(
    ctx: Context, world: World, username: str, role: Role, org: str, *, must_change: bool = False
) -> Account:
    """A staff account attached to an org node of the world."""
    async with ctx.db.begin() as s:
        account = Account(
            username=username,
            display_name=username,
            password_hash=ctx.passwords.hash(PASSWORD),
            role=role,
            org_id=world.org(org).id,
            must_change_password=must_change,
        )
        s.add(account)
    world.accounts[username] = account
    return account


@pytest.fixture
async def world(ctx: Context) -> World:
    """The shared tree, accounts of every role, and four learners in three counties."""
    return await build_world(ctx)


async def build_world(ctx: Context) -> World:
    """Build the shared tree in a context's database."""
    w = World()
    async with ctx.db.begin() as s:
        hn = await add_org(s, None, OrgLevel.PROVINCE, "湖南省", "43")
        cs = await add_org(s, hn, OrgLevel.CITY, "长沙市", "4301")
        zz = await add_org(s, hn, OrgLevel.CITY, "株洲市", "4302")
        fr = await add_org(s, cs, OrgLevel.COUNTY, "芙蓉区", "430102")
        tx = await add_org(s, cs, OrgLevel.COUNTY, "天心区", "430103")
        ht = await add_org(s, zz, OrgLevel.COUNTY, "荷塘区", "430202")
        units = [
            await add_org(s, fr, OrgLevel.UNIT, "芙蓉区财政局", "430102001"),
            await add_org(s, fr, OrgLevel.UNIT, "芙蓉区教育局", "430102002"),
            await add_org(s, tx, OrgLevel.UNIT, "天心区财政局", "430103001"),
            await add_org(s, ht, OrgLevel.UNIT, "荷塘区财政局", "430202001"),
        ]
        for org in [hn, cs, zz, fr, tx, ht, *units]:
            w.orgs[org.name] = org
    await add_account(ctx, w, "academy", Role.ACADEMY_ADMIN, "湖南省")
    await add_account(ctx, w, "cs_admin", Role.ORG_ADMIN, "长沙市")
    await add_account(ctx, w, "fr_admin", Role.ORG_ADMIN, "芙蓉区")
    await add_account(ctx, w, "tx_admin", Role.ORG_ADMIN, "天心区")
    await add_account(ctx, w, "ht_admin", Role.ORG_ADMIN, "荷塘区")
    await add_account(ctx, w, "fr_liaison", Role.LIAISON, "芙蓉区财政局")
    await add_account(ctx, w, "cs_reviewer", Role.REVIEWER, "长沙市")
    await add_learner(ctx, w, "zhang", "芙蓉区财政局", name="张伟", seq=11)
    await add_learner(ctx, w, "li", "芙蓉区教育局", name="李娜", seq=22, rank="科员")
    await add_learner(ctx, w, "wang", "天心区财政局", name="王芳", seq=32)
    await add_learner(ctx, w, "zhao", "荷塘区财政局", name="赵磊", seq=41)
    return w


async def login(client: TestClient, username: str, password: str = PASSWORD) -> dict[str, str]:
    """Bearer headers for an account of the world."""
    resp = await client.post("/api/v1/login", json={"username": username, "password": password})
    assert resp.status == 200, await resp.text()
    return {"Authorization": f"Bearer {(await resp.json())['token']}"}
