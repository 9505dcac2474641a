"""The record of reminders sent: who, what, when, and how each channel did (administrators
read their own subtree's)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from models import Account, Reminder, ReminderDelivery, Role
from proctor.kernel.authz import Actor
from proctor.kernel.context import Context
from proctor.kernel.paging import Count, bounded_count
from proctor.reminders.texts import KIND_NAMES

LOG_ROLES = frozenset({Role.LIAISON, Role.ORG_ADMIN, Role.ACADEMY_ADMIN})


@dataclass(frozen=True)
class SentView:
    """One reminder in the log."""

    id: int
    kind: str
    kind_name: str
    to: str
    title: str
    created_at: dt.datetime
    sent_by: str | None
    deliveries: dict[str, str]  # channel -> delivered | failed | skipped

    def as_dict(self) -> dict[str, Any]:
        """JSON shape."""
        return dict(self.__dict__)


async def sent(
    ctx: Context, actor: Actor, *, kind: str = "", offset: int = 0, limit: int = 50
) -> tuple[Count, list[SentView]]:
    """Reminders to accounts of the actor's subtree, newest first."""
    actor.require(LOG_ROLES, "查看提醒记录")
    stmt = (
        select(Reminder, Account.display_name)
        .join(Account, Account.id == Reminder.account_id)
        .where(actor.in_scope(Reminder.org_path))
    )
    if kind:
        stmt = stmt.where(Reminder.kind == kind)
    async with ctx.db() as s:
        total = await bounded_count(s, stmt)
        rows = (
            await s.execute(stmt.order_by(Reminder.id.desc()).offset(offset).limit(limit))
        ).all()
        ids = [r.id for r, _ in rows]
        senders = {r.sent_by for r, _ in rows if r.sent_by is not None}
        names = dict(
            (
                await s.execute(
                    select(Account.id, Account.display_name).where(Account.id.in_(senders))
                )
            ).all()
        )
        outcomes: dict[int, dict[str, str]] = {}
        for reminder_id, channel, status in await s.execute(
            select(
                ReminderDelivery.reminder_id, ReminderDelivery.channel, ReminderDelivery.status
            ).where(ReminderDelivery.reminder_id.in_(ids))
        ):
            outcomes.setdefault(reminder_id, {})[channel] = status
    return total, [
        SentView(
            r.id,
            r.kind,
            KIND_NAMES.get(r.kind, r.kind),
            to,
            r.title,
            r.created_at,
            names.get(r.sent_by) if r.sent_by is not None else None,
            outcomes.get(r.id, {}),
        )
        for r, to in rows
    ]
