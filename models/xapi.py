"""The xAPI outbox: learning-record statements waiting for, or acknowledged by, the LRS.

A statement is stored here whole, under its deterministic id, before any attempt to send
it; it is marked sent only after the LRS acknowledged it, so a crash at any point leaves it
to be sent again, and the LRS recognises the id (docs/xapi.md).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, BigIntPK, CreatedAt, UTCDateTime


class XapiOutbox(Base):
    """One xAPI statement and its delivery state.

    ``source`` and ``source_ref`` name what it describes (``study`` and a study session id,
    ``exam`` and an exam attempt id); ``occurred_at`` is when that finished (session end,
    attempt scored), the watermark of the scan that finds new records. No personal data:
    the actor in ``statement`` is a keyed pseudonym.
    """

    __tablename__ = "xapi_outbox"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    statement_id: Mapped[str] = mapped_column(String(36), unique=True)
    source: Mapped[str] = mapped_column(String(16))
    source_ref: Mapped[str] = mapped_column(String(64))
    occurred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)
    statement: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[CreatedAt]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # Not tried before this moment: the backoff after a failure, or the lease of a sender
    # that took it (a sender that died leaves it to the next one when the lease runs out).
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # "stored", or "conflict" when the LRS already held a different statement under the id.
    outcome: Mapped[str | None] = mapped_column(String(16))
    last_error: Mapped[str] = mapped_column(String(300), default="")

    __table_args__ = (
        Index("ix_xapi_outbox_source", "source", "source_ref"),
        # Senders look only at what is not yet sent: a small partial index.
        Index(
            "ix_xapi_outbox_due",
            "next_attempt_at",
            postgresql_where=text("sent_at IS NULL"),
            sqlite_where=text("sent_at IS NULL"),
        ),
    )
