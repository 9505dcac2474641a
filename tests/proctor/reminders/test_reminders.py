"""Reminders reach people in the product, by e-mail through a real SMTP server and through a
webhook; each reason is sent once; every delivery is recorded; liaisons remind their own."""

from __future__ import annotations

import asyncio
import datetime as dt
import email
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from email.message import Message
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy import func, select, update

from models import (
    Account,
    CaseState,
    Finding,
    Learner,
    Notification,
    Reminder,
    ReminderDelivery,
    ReviewCase,
    RosterBatch,
    utcnow,
)
from proctor.kernel.context import Context, open_context
from proctor.kernel.settings import Settings
from proctor.reminders.sending import send_due_reminders
from tests.factories import World, build_world, login
from tests.proctor.reports.helpers import add_groups

NOW = dt.datetime(2025, 10, 15, 2, 0, tzinfo=dt.UTC)


@dataclass
class Inbox:
    """What the local SMTP server received."""

    messages: list[Message] = field(default_factory=list)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.content if isinstance(envelope.content, bytes) else b""
        self.messages.append(email.message_from_bytes(raw))
        return "250 OK"


@dataclass
class Outside:
    """The local SMTP server and webhook receiver, and what they got."""

    inbox: Inbox
    hooks: list[dict[str, Any]]
    smtp_port: int
    hook_url: str
    status: list[int]


@pytest.fixture
async def outside() -> AsyncIterator[Outside]:
    inbox = Inbox()
    loop = asyncio.get_running_loop()
    smtp = await loop.create_server(lambda: SMTP(inbox, hostname="test"), "127.0.0.1", 0)
    port = smtp.sockets[0].getsockname()[1]
    hooks: list[dict[str, Any]] = []
    status = [200]

    async def receive(request: web.Request) -> web.Response:
        hooks.append(await request.json())
        return web.json_response({"errcode": 0}, status=status[0])

    app = web.Application()
    app.router.add_post("/hook", receive)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield Outside(inbox, hooks, port, str(server.make_url("/hook")), status)
    finally:
        await server.close()
        smtp.close()
        await smtp.wait_closed()


@pytest.fixture
async def sending_ctx(settings: Settings, outside: Outside) -> AsyncIterator[Context]:
    configured = settings.model_copy(
        update={
            "smtp_host": "127.0.0.1",
            "smtp_port": outside.smtp_port,
            "smtp_starttls": False,
            "smtp_sender": "academy@example.gov.cn",
            "notify_webhook_url": outside.hook_url,
            "public_url": "https://xueyuan.example",
        }
    )
    ctx = open_context(configured)
    yield ctx
    await ctx.close()


async def _seed(ctx: Context, world: World, now: dt.datetime) -> dict[str, int]:
    """Everyone behind in October; a returned batch; a case near its deadline; a finding whose
    appeal window closes soon; e-mail addresses for some."""
    await add_groups(ctx, world, year=now.year)
    async with ctx.db.begin() as s:
        # On the roll since the start of the year (a report counts only learners who had
        # joined by then or have credits in it).
        await s.execute(
            update(Learner).values(created_at=dt.datetime(now.year, 1, 1, tzinfo=dt.UTC))
        )
        for username, address in (
            ("zhang", "zhang@example.gov.cn"),
            ("cs_reviewer", "rev@example.gov.cn"),
        ):
            await s.execute(
                update(Account)
                .where(Account.id == world.accounts[username].id)
                .values(email=address)
            )
        unit = world.org("芙蓉区财政局")
        batch = RosterBatch(
            org_id=unit.id,
            org_path=unit.path,
            uploaded_by=world.accounts["fr_liaison"].id,
            filename="财政局花名册.xlsx",
            file_sha256="0" * 64,
            status="returned",
            total_rows=5,
            error_rows=2,
            decided_at=now - dt.timedelta(hours=3),
        )
        due_case = ReviewCase(
            learner_id=world.learners["li"].id,
            org_path=world.learners["li"].org_path,
            year=now.year,
            period_start=dt.date(now.year, 9, 1),
            period_end=dt.date(now.year, 9, 7),
            category="behaviour",
            kind="proxy",
            risk=0.9,
            band="high",
            priority=90,
            state=CaseState.NEW,
            opened_at=now - dt.timedelta(days=28),
            updated_at=now - dt.timedelta(days=28),
        )
        finding = ReviewCase(
            learner_id=world.learners["wang"].id,
            org_path=world.learners["wang"].org_path,
            year=now.year,
            period_start=dt.date(now.year, 8, 1),
            period_end=dt.date(now.year, 8, 7),
            category="behaviour",
            kind="fraud",
            risk=0.95,
            band="high",
            priority=95,
            state=CaseState.CONFIRMED_FRAUD,
            finding=Finding.CREDIT_FRAUD,
            opened_at=now - dt.timedelta(days=20),
            updated_at=now - dt.timedelta(days=13),
            appeal_deadline=now + dt.timedelta(days=2),
        )
        s.add_all([batch, due_case, finding])
        await s.flush()
        return {"batch": batch.id, "case": due_case.id, "finding": finding.id}


async def _deliveries(ctx: Context) -> dict[tuple[str, str], str]:
    async with ctx.db() as s:
        rows = await s.execute(
            select(Reminder.reason_key, ReminderDelivery.channel, ReminderDelivery.status).join(
                ReminderDelivery, ReminderDelivery.reminder_id == Reminder.id
            )
        )
        return {(key, channel): status for key, channel, status in rows}


async def test_due_reminders_go_out_once_through_every_channel(
    sending_ctx: Context, outside: Outside
) -> None:
    ctx = sending_ctx
    world = await build_world(ctx)
    ids = await _seed(ctx, world, NOW)
    sent = await send_due_reminders(ctx, NOW)
    # 4 learners behind, the returned batch, the case to the city's reviewer, the appeal window.
    assert sent == 7
    got = await _deliveries(ctx)
    behind_zhang = f"behind:{world.learners['zhang'].id}:2025-10"
    assert got[(behind_zhang, "app")] == "delivered"
    assert got[(behind_zhang, "email")] == "delivered"
    assert got[(behind_zhang, "webhook")] == "delivered"
    case_key = f"case-due:{ids['case']}:{world.accounts['cs_reviewer'].id}:2025-10-17"
    assert got[(case_key, "email")] == "delivered"
    assert got[(f"appeal-window:{ids['finding']}", "email")] == "skipped"  # 王芳 has no address
    assert {m["To"] for m in outside.inbox.messages} == {
        "zhang@example.gov.cn",
        "rev@example.gov.cn",
    }
    case_mail = next(m for m in outside.inbox.messages if m["To"] == "rev@example.gov.cn")
    subject = str(email.header.make_header(email.header.decode_header(case_mail["Subject"])))
    assert f"案件 #{ids['case']}（李娜）" in subject
    body = case_mail.get_payload(decode=True).decode()
    assert f"https://xueyuan.example/review/cases/{ids['case']}" in body
    assert len(outside.hooks) == 7
    to_zhang = next(h for h in outside.hooks if h["to"]["username"] == "zhang")
    assert to_zhang["kind"] == "behind" and to_zhang["to"]["phone"] == "13800000011"
    async with ctx.db() as s:
        notices = await s.scalar(select(func.count()).select_from(Notification))
    assert notices == 5  # the learners' reminders also reach their notices

    # The same reasons are never sent twice.
    assert await send_due_reminders(ctx, NOW + dt.timedelta(hours=6)) == 0
    assert len(outside.inbox.messages) == 2 and len(outside.hooks) == 7


async def test_failures_are_recorded_and_the_product_still_tells(
    sending_ctx: Context, outside: Outside
) -> None:
    ctx = sending_ctx
    world = await build_world(ctx)
    await _seed(ctx, world, NOW)
    outside.status[0] = 500
    broken = ctx.settings.model_copy(update={"smtp_port": 1})
    ctx.settings = broken
    assert await send_due_reminders(ctx, NOW) == 7
    got = await _deliveries(ctx)
    key = f"behind:{world.learners['zhang'].id}:2025-10"
    assert (got[(key, "app")], got[(key, "email")], got[(key, "webhook")]) == (
        "delivered",
        "failed",
        "failed",
    )


async def test_off_by_default(ctx: Context, world: World) -> None:
    """With nothing configured, reminders are in-app only."""
    await _seed(ctx, world, NOW)
    assert await send_due_reminders(ctx, NOW) == 7
    assert {channel for _, channel in await _deliveries(ctx)} == {"app"}


async def test_a_liaison_reminds_their_own_learners(
    client: TestClient, ctx: Context, world: World
) -> None:
    """The liaison's click reaches the behind learners of their unit only, once a month; the
    schedule then skips them; other roles are refused."""
    now = utcnow()
    await add_groups(ctx, world, year=now.astimezone(dt.timezone(dt.timedelta(hours=8))).year)
    liaison = await login(client, "fr_liaison")
    resp = await client.post("/api/v1/reminders/behind", headers=liaison)
    assert resp.status == 200, await resp.text()
    assert await resp.json() == {"sent": 1, "already": 0}
    again = await client.post("/api/v1/reminders/behind", headers=liaison)
    assert await again.json() == {"sent": 0, "already": 1}
    zhang = await login(client, "zhang")
    mine = await (await client.get("/api/v1/reminders", headers=zhang)).json()
    assert len(mine["items"]) == 1 and "进度落后" in mine["items"][0]["title"]
    other = await (await client.get("/api/v1/reminders", headers=await login(client, "li"))).json()
    assert other["items"] == []
    read = await client.post(f"/api/v1/reminders/{mine['items'][0]['id']}/read", headers=liaison)
    assert read.status == 404
    assert (await client.post("/api/v1/reminders/behind", headers=zhang)).status == 403
    reviewer = await login(client, "cs_reviewer")
    assert (await client.post("/api/v1/reminders/behind", headers=reviewer)).status == 403
    log = await (await client.get("/api/v1/reminders/sent", headers=liaison)).json()
    assert [r["to"] for r in log["items"]] == ["张伟"]
    assert log["items"][0]["sent_by"] == "fr_liaison"
    # The schedule's run the same month: 张伟 is not reminded again.
    assert await send_due_reminders(ctx, now) == 3


async def test_todo_pages_say_what_waits(client: TestClient, ctx: Context, world: World) -> None:
    """Counts by role: the county administrator's pending batches and cases by band, the
    reviewer's cases, the liaison's returned batch; learners have none."""
    ids = await _seed(ctx, world, utcnow())
    admin = await login(client, "fr_admin")
    items = {
        i["key"]: i
        for i in (await (await client.get("/api/v1/todo", headers=admin)).json())["items"]
    }
    assert items["cases_high"]["count"] == 1  # 李娜's case in 芙蓉区; 王芳's is decided
    assert items["cases_due"]["count"] == 1
    assert items["pending_batches"]["count"] == 0
    liaison = await login(client, "fr_liaison")
    mine = {
        i["key"]: i
        for i in (await (await client.get("/api/v1/todo", headers=liaison)).json())["items"]
    }
    assert mine["my_batches"]["count"] == 1 and "cases_high" not in mine
    reviewer = await login(client, "cs_reviewer")
    theirs = {
        i["key"]: i["count"]
        for i in (await (await client.get("/api/v1/todo", headers=reviewer)).json())["items"]
    }
    assert theirs["cases_high"] == 1 and "behind" not in theirs
    html = await (await client.get("/", headers=admin)).text()
    assert 'data-todo="cases_high"' in html and 'href="/review?band=high"' in html
    learner = await login(client, "zhang")
    assert (await (await client.get("/api/v1/todo", headers=learner)).json())["items"] == []
    del ids
