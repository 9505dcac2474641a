"""Reminders sent to learners and staff, and how each channel delivered them."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, BigIntPK, CreatedAt, UTCDateTime


class Reminder(Base):
    """One reminder to one account, for one reason.

    ``reason_key`` is unique: the same reason (this learner behind schedule this month, this
    case near its deadline) is never sent twice, whoever or whatever asks for it again.

    PII: the recipient's name may appear in the text.
    """

    __tablename__ = "reminder"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    reason_key: Mapped[str] = mapped_column(String(160), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"))
    learner_id: Mapped[int | None] = mapped_column(ForeignKey("learner.id"))
    # The recipient's org node, so that administrators read the log of their own subtree.
    org_path: Mapped[str] = mapped_column(String(255), index=True)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    link: Mapped[str] = mapped_column(String(200), default="")
    sent_by: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    created_at: Mapped[CreatedAt]
    read_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_reminder_account_read", "account_id", "read_at"),)


class ReminderDelivery(Base):
    """How one channel (in-app, e-mail, webhook) did with one reminder."""

    __tablename__ = "reminder_delivery"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    reminder_id: Mapped[int] = mapped_column(ForeignKey("reminder.id"))
    channel: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))  # delivered | failed
    detail: Mapped[str] = mapped_column(String(500), default="")
    attempts: Mapped[int] = mapped_column(default=1)
    attempted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())

    __table_args__ = (UniqueConstraint("reminder_id", "channel"),)
