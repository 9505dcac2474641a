"""Approving rosters: all learners and accounts or none, credentials once, within authority."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from models import Account, AuditEvent, Learner, Role, RosterBatch
from proctor.kernel.context import Context
from proctor.rosters import approval
from tests.factories import World, add_account, login
from tests.proctor.rosters.helpers import (
    XLSX_MIME,
    counts,
    id_number,
    person,
    read_xlsx,
    upload_ok,
    xlsx,
)

ROWS = [
    person("张三", 1, post="科长/乡科级正职"),
    person("李四", 2, unit="芙蓉区教育局", post="副局长/副处"),
    person("王五", 3, post="科员"),
]


async def _approve(client: TestClient, headers: dict[str, str], batch_id: int, **body: Any) -> Any:
    return await client.post(f"/api/v1/rosters/{batch_id}/approve", json=body, headers=headers)


async def _credentials(client: TestClient, headers: dict[str, str], batch_id: int) -> Any:
    return await client.get(f"/api/v1/rosters/{batch_id}/credentials.xlsx", headers=headers)


async def test_approval_creates_accounts_that_can_sign_in(
    client: TestClient, ctx: Context, world: World
) -> None:
    """A liaison uploads, the county admin approves; the credentials sheet works once, and each
    new learner must change the initial password at first sign-in."""
    liaison = await login(client, "fr_liaison")
    batch = await upload_ok(client, liaison, xlsx(ROWS[:1] + ROWS[2:]))
    before = await counts(ctx)

    # A liaison submits but may not approve.
    resp = await _approve(client, liaison, batch["id"])
    assert resp.status == 403
    assert await counts(ctx) == before

    admin = await login(client, "fr_admin")
    resp = await _approve(client, admin, batch["id"], note="同意")
    assert resp.status == 200, await resp.text()
    decided = await resp.json()
    assert (decided["status"], decided["decided_by"], decided["decision_note"]) == (
        "approved",
        "fr_admin",
        "同意",
    )
    assert decided["credentials_ready"] is True
    assert await counts(ctx) == before | {
        "learners": before["learners"] + 2,
        "accounts": before["accounts"] + 2,
    }
    # Approving twice changes nothing more.
    again = await _approve(client, admin, batch["id"])
    assert again.status == 409
    assert "已被审批通过" in (await again.json())["detail"]

    # The uploader downloads the sheet once.
    resp = await _credentials(client, liaison, batch["id"])
    assert resp.status == 200, await resp.text()
    assert resp.content_type == XLSX_MIME
    assert resp.headers["Cache-Control"] == "no-store"
    sheet = read_xlsx(await resp.read())
    assert sheet[0] == ["姓名", "单位", "用户名", "初始密码"]
    assert [(r[0], r[1], r[2]) for r in sheet[1:]] == [
        ("张三", "芙蓉区财政局", "430102001-0001"),
        ("王五", "芙蓉区财政局", "430102001-0002"),
    ]
    second = await _credentials(client, admin, batch["id"])
    assert second.status == 410
    assert "只能下载一次" in (await second.json())["detail"]

    # Each new learner signs in with the initial password and is sent to change it first.
    username, password = sheet[1][2], sheet[1][3]
    resp = await client.post("/api/v1/login", json={"username": username, "password": password})
    assert resp.status == 200
    assert (await resp.json())["must_change_password"] is True
    headers = await login(client, username, password)
    blocked = await client.get("/api/v1/learners", headers=headers)
    assert blocked.status == 403
    assert (await blocked.json())["title"] == "password_change_required"

    async with ctx.db() as s:
        learner = await s.scalar(
            select(Learner)
            .join(Account, Account.learner_id == Learner.id)
            .where(Account.username == username)
        )
        account = await s.scalar(select(Account).where(Account.username == username))
        stored = await s.get_one(RosterBatch, batch["id"])
        actions = (await s.scalars(select(AuditEvent.action).order_by(AuditEvent.id))).all()
    assert learner is not None and account is not None
    assert (learner.name, learner.rank, learner.position, learner.gender) == (
        "张三",
        "乡科级正职",
        "科长",
        "M",
    )
    assert learner.org_path == world.org("芙蓉区财政局").path
    assert ctx.vault.decrypt(learner.id_cipher) == id_number(1)
    assert (account.role, account.must_change_password) == (Role.LEARNER, True)
    assert account.password_hash.startswith("$argon2")
    assert stored.credentials_cipher is None and stored.credentials_downloaded_at is not None
    assert [a for a in actions if a.startswith("roster.")] == [
        "roster.upload",
        "roster.approve",
        "roster.credentials_download",
    ]

    # The report now links rows to the learners they became.
    detail = await (await client.get(f"/api/v1/rosters/{batch['id']}", headers=admin)).json()
    assert detail["rows"][0]["learner_id"] == learner.id
    assert detail["can_download"] is False


async def test_usernames_continue_a_units_sequence(client: TestClient, world: World) -> None:
    admin = await login(client, "cs_admin")
    first = await upload_ok(client, admin, xlsx(ROWS[:2]))
    assert (await _approve(client, admin, first["id"])).status == 200
    second = await upload_ok(client, admin, xlsx([person("赵六", 4), person("钱七", 5)]))
    assert (await _approve(client, admin, second["id"])).status == 200
    sheet = read_xlsx(await (await _credentials(client, admin, second["id"])).read())
    assert [r[2] for r in sheet[1:]] == ["430102001-0002", "430102001-0003"]
    passwords = [r[3] for r in sheet[1:]]
    assert len(set(passwords)) == 2 and all(len(p) == 10 for p in passwords)


async def test_a_batch_with_an_error_row_cannot_be_approved(
    client: TestClient, ctx: Context, world: World
) -> None:
    admin = await login(client, "fr_admin")
    batch = await upload_ok(client, admin, xlsx([*ROWS, person("赵六", 4, phone="12345")]))
    assert batch["error_rows"] == 1
    before = await counts(ctx)
    resp = await _approve(client, admin, batch["id"])
    assert resp.status == 409
    assert "1 行存在问题，不能审批通过" in (await resp.json())["detail"]
    assert await counts(ctx) == before
    # It can be rejected with a reason, and then it is closed.
    resp = await client.post(f"/api/v1/rosters/{batch['id']}/reject", json={}, headers=admin)
    assert resp.status == 422
    assert (await resp.json())["field"] == "note"
    resp = await client.post(
        f"/api/v1/rosters/{batch['id']}/reject", json={"note": "第 5 行手机号有误"}, headers=admin
    )
    assert resp.status == 200
    assert ((await resp.json())["status"], (await resp.json())["decision_note"]) == (
        "rejected",
        "第 5 行手机号有误",
    )
    assert (await _credentials(client, admin, batch["id"])).status == 409
    resp = await _approve(client, admin, batch["id"])
    assert resp.status == 409
    assert "已被驳回" in (await resp.json())["detail"]
    assert await counts(ctx) == before


async def test_approval_rechecks_uniqueness_and_creates_nothing(
    client: TestClient, ctx: Context, world: World
) -> None:
    """Someone on the batch became a learner after the upload: the approval is refused whole."""
    admin = await login(client, "fr_admin")
    batch = await upload_ok(client, admin, xlsx(ROWS))
    # The person on the LAST row becomes a learner meanwhile (through another county's batch).
    number = id_number(3)
    async with ctx.db.begin() as s:
        s.add(
            Learner(
                name="王五",
                id_hash=ctx.vault.lookup_hash(number),
                id_cipher=ctx.vault.encrypt(number),
                id_masked="masked",
                birth_date=dt.date(1985, 3, 4),
                gender="M",
                phone_cipher=ctx.vault.encrypt("13912340003"),
                phone_masked="139****0003",
                unit_id=world.org("天心区财政局").id,
                org_path=world.org("天心区财政局").path,
                rank="科员",
            )
        )
    before = await counts(ctx)
    resp = await _approve(client, admin, batch["id"])
    assert resp.status == 409
    body = await resp.json()
    assert "第 4 行的身份证号在上传之后已被导入系统" in body["detail"]
    assert "本批次未导入任何学员" in body["detail"]
    assert body["rows"] == [4]
    assert await counts(ctx) == before
    listed = await (await client.get(f"/api/v1/rosters/{batch['id']}", headers=admin)).json()
    assert listed["status"] == "pending"


async def test_a_failure_midway_rolls_everything_back(
    client: TestClient, ctx: Context, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Learners are inserted before accounts; if an account insert fails (a username taken by a
    concurrent approval), the learners inserted before it disappear too."""
    admin = await login(client, "fr_admin")
    batch = await upload_ok(client, admin, xlsx(ROWS))
    before = await counts(ctx)

    async def clashing(_session: Any, needed: dict[str, int]) -> dict[str, list[str]]:
        return {code: ["zhang"] * n for code, n in needed.items()}  # an existing username

    monkeypatch.setattr(approval.credentials, "allocate_usernames", clashing)
    resp = await _approve(client, admin, batch["id"])
    assert resp.status == 409
    assert "本批次未导入任何学员" in (await resp.json())["detail"]
    assert await counts(ctx) == before
    async with ctx.db() as s:
        stored = await s.get_one(RosterBatch, batch["id"])
    assert stored.status.value == "pending" and stored.credentials_cipher is None

    monkeypatch.undo()
    assert (await _approve(client, admin, batch["id"])).status == 200
    assert (await counts(ctx))["learners"] == before["learners"] + 3


async def test_no_one_sees_or_decides_outside_their_authority(
    client: TestClient, ctx: Context, world: World
) -> None:
    """A 天心区 batch does not exist for 芙蓉区's administrator; the city and academy see it."""
    tx = await login(client, "tx_admin")
    batch = await upload_ok(client, tx, xlsx([person("周九", 9, unit="天心区财政局")]))
    before = await counts(ctx)
    fr = await login(client, "fr_admin")
    for resp in (
        await client.get(f"/api/v1/rosters/{batch['id']}", headers=fr),
        await _approve(client, fr, batch["id"]),
        await client.post(f"/api/v1/rosters/{batch['id']}/reject", json={"note": "x"}, headers=fr),
        await _credentials(client, fr, batch["id"]),
    ):
        assert resp.status == 404
    assert (await (await client.get("/api/v1/rosters", headers=fr)).json())["items"] == []
    ht = await login(client, "ht_admin")
    assert (await _approve(client, ht, batch["id"])).status == 404
    assert await counts(ctx) == before

    academy = await login(client, "academy")
    listed = await (await client.get("/api/v1/rosters", headers=academy)).json()
    assert [b["id"] for b in listed["items"]] == [batch["id"]]
    cs = await login(client, "cs_admin")
    assert (await _approve(client, cs, batch["id"])).status == 200
    assert (await _credentials(client, cs, batch["id"])).status == 200


async def test_only_the_uploader_or_an_approver_downloads(
    client: TestClient, ctx: Context, world: World
) -> None:
    await add_account(ctx, world, "fr_liaison2", Role.LIAISON, "芙蓉区财政局")
    uploader = await login(client, "fr_liaison")
    batch = await upload_ok(client, uploader, xlsx(ROWS[:1]))
    assert (await _approve(client, await login(client, "fr_admin"), batch["id"])).status == 200
    colleague = await login(client, "fr_liaison2")
    # The colleague sees the batch but may not take its passwords.
    assert (await client.get(f"/api/v1/rosters/{batch['id']}", headers=colleague)).status == 200
    resp = await _credentials(client, colleague, batch["id"])
    assert resp.status == 403
    assert "只有上传人或审批人" in (await resp.json())["detail"]
    assert (await _credentials(client, uploader, batch["id"])).status == 200
