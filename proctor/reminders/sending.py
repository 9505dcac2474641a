"""Sending reminders: recorded once per reason, then told in the product and, if configured,
by e-mail and webhook; every channel's outcome is recorded.

A reminder row is inserted under its unique reason key before anything is sent, with the
database's own conflict handling: a reason sent before (by the schedule, by a liaison's click,
by another server process at the same moment) inserts nothing and sends nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import AsyncIterator, Sequence

import aiohttp
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from models import (
    Account,
    Learner,
    Liaison,
    Notification,
    OrgUnit,
    Reminder,
    ReminderDelivery,
    Role,
    utcnow,
)
from proctor.kernel.authz import Actor
from proctor.kernel.context import Context
from proctor.orgs.contacts import full_phone
from proctor.reminders import due
from proctor.reminders.channels import Channel, Email, Message, Recipient, Webhook

log = logging.getLogger(__name__)

CHUNK = 500
# Deliveries in flight at once: an SMTP server or an SMS gateway is not flooded.
PARALLEL = 5
SENDER_ROLES = frozenset({Role.LIAISON, Role.ORG_ADMIN, Role.ACADEMY_ADMIN})


async def record(
    ctx: Context, candidates: Sequence[due.Candidate], sent_by: int | None = None
) -> list[int]:
    """Insert the reminders whose reason is new; the ids of those inserted."""
    now = utcnow()
    new: list[int] = []
    unique = list({c.reason_key: c for c in candidates}.values())
    async with ctx.db.begin() as s:
        dialect = s.get_bind().dialect.name
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        for start in range(0, len(unique), CHUNK):
            rows = [
                {
                    "reason_key": c.reason_key,
                    "kind": c.kind,
                    "account_id": c.account_id,
                    "learner_id": c.learner_id,
                    "org_path": c.org_path,
                    "title": c.text.title,
                    "body": c.text.body,
                    "link": c.text.link,
                    "sent_by": sent_by,
                    "created_at": now,
                }
                for c in unique[start : start + CHUNK]
            ]
            result = await s.execute(
                insert(Reminder)
                .on_conflict_do_nothing(index_elements=["reason_key"])
                .returning(Reminder.id, Reminder.learner_id, Reminder.title, Reminder.body)
                .values(rows)
            )
            for reminder_id, learner_id, title, body in result.all():
                new.append(reminder_id)
                if learner_id is not None:
                    # Learners read their notices in their archive, like a case decision.
                    s.add(Notification(learner_id=learner_id, title=title, body=body, link=""))
                s.add(
                    ReminderDelivery(
                        reminder_id=reminder_id,
                        channel="app",
                        status="delivered",
                        attempted_at=now,
                    )
                )
    return new


@contextlib.asynccontextmanager
async def channels(ctx: Context) -> AsyncIterator[list[Channel]]:
    """The configured outside channels (none by default)."""
    out: list[Channel] = []
    settings = ctx.settings
    if settings.smtp_host:
        out.append(Email(settings))
    if not settings.notify_webhook_url:
        yield out
        return
    async with aiohttp.ClientSession() as session:
        out.append(Webhook(settings, session))
        yield out


async def _recipients(ctx: Context, ids: Sequence[int]) -> dict[int, tuple[Reminder, Recipient]]:
    out: dict[int, tuple[Reminder, Recipient]] = {}
    async with ctx.db() as s:
        rows = await s.execute(
            select(Reminder, Account, Learner)
            .join(Account, Account.id == Reminder.account_id)
            .outerjoin(Learner, Learner.id == Account.learner_id)
            .where(Reminder.id.in_(ids))
        )
        for reminder, account, learner in rows:
            phone = None
            if learner is not None:
                phone = ctx.vault.decrypt(learner.phone_cipher)
            elif account.role is Role.LIAISON:
                liaison = await s.scalar(
                    select(Liaison).where(Liaison.account_id == account.id).limit(1)
                )
                phone = full_phone(ctx.vault, liaison) if liaison is not None else None
            out[reminder.id] = (
                reminder,
                Recipient(account.username, account.display_name, account.email, phone),
            )
    return out


async def deliver(ctx: Context, ids: Sequence[int]) -> None:
    """Send new reminders through the outside channels and record how each went."""
    if not ids:
        return
    async with channels(ctx) as outside:
        if not outside:
            return
        gate = asyncio.Semaphore(PARALLEL)
        base = ctx.settings.public_url.rstrip("/")

        async def one(reminder: Reminder, to: Recipient) -> list[ReminderDelivery]:
            message = Message(reminder.kind, reminder.title, reminder.body, base + reminder.link)
            done = []
            for channel in outside:
                async with gate:
                    outcome = await channel.send(to, message)
                done.append(
                    ReminderDelivery(
                        reminder_id=reminder.id,
                        channel=channel.name,
                        status=outcome.status,
                        detail=outcome.detail[:500],
                        attempted_at=utcnow(),
                    )
                )
            return done

        for start in range(0, len(ids), CHUNK):
            found = await _recipients(ctx, ids[start : start + CHUNK])
            results = await asyncio.gather(*(one(r, to) for r, to in found.values()))
            async with ctx.db.begin() as s:
                s.add_all(d for batch in results for d in batch)


async def _roots(ctx: Context) -> list[OrgUnit]:
    async with ctx.db() as s:
        return list(await s.scalars(select(OrgUnit).where(OrgUnit.parent_id.is_(None))))


def system_actor(root: OrgUnit) -> Actor:
    """The scheduled run reads the reports as the academy of a whole tree would."""
    return Actor(0, "system", "系统", Role.ACADEMY_ADMIN, root.id, root.path)


async def send_due_reminders(ctx: Context, now: dt.datetime) -> int:
    """Every reminder due at ``now`` whose reason was never sent; how many were sent.

    The scheduler calls this (daily is enough: reasons are per month, per batch return, per
    deadline and per appeal window, so a second run the same day sends nothing new).
    """
    candidates: list[due.Candidate] = []
    for root in await _roots(ctx):
        candidates += await due.behind(ctx, system_actor(root), now)
    async with ctx.db() as s:
        candidates += await due.batches(s, now)
        candidates += await due.cases(s, now, due.review_days(ctx))
        candidates += await due.appeals(s, now, ctx.settings.reminder_lead_days)
    new = await record(ctx, candidates)
    await deliver(ctx, new)
    log.info("reminders: %d due, %d new", len(candidates), len(new))
    return len(new)


async def remind_behind(ctx: Context, actor: Actor, now: dt.datetime) -> tuple[int, int]:
    """A liaison's or administrator's click: remind the learners of their subtree who are
    behind schedule. (sent now, already reminded this month)."""
    actor.require(SENDER_ROLES, "发送学习提醒")
    candidates = await due.behind(ctx, actor, now)
    new = await record(ctx, candidates, sent_by=actor.account_id)
    await deliver(ctx, new)
    return len(new), len(candidates) - len(new)
