"""Runs of the scheduled jobs (``proctor serve``'s scheduler, docs/operations.md).

One row per job and slot (the scheduled moment the run is for): the unique pair is the lock
that lets one process of many run it, whichever inserts it first. A failed run is retried by
whichever process first finds it due again (a compare-and-set on the row).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, BigIntPK, UTCDateTime


class JobRun(Base):
    """One scheduled run: its state (running, ok, failed, skipped), attempts and outcome."""

    __tablename__ = "job_run"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    job: Mapped[str] = mapped_column(String(32))
    slot: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    state: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    duration_ms: Mapped[int | None] = mapped_column(Integer)
    # A failed run is retried from this moment (the backoff); none when done.
    retry_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # What the run did (counts), or the error of the last attempt; no personal data.
    detail: Mapped[str] = mapped_column(String(500), default="")
    # Which process ran it (host:pid), for the operator reading the admin page.
    runner: Mapped[str] = mapped_column(String(80), default="")

    __table_args__ = (UniqueConstraint("job", "slot"),)
