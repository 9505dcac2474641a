"""Lesson video uploads and their transcoding jobs (Art. 6-7: the academy's courseware)."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, CreatedAt, IntPK, UTCDateTime, str_enum


class MediaState(enum.StrEnum):
    """Where an uploaded video stands: waiting, being transcoded, playable, or refused."""

    QUEUED = "queued"
    RUNNING = "running"
    READY = "ready"
    FAILED = "failed"


class MediaJob(Base):
    """One uploaded video of a lesson and its transcoding to what the player plays.

    The state lives here, not in a process, so progress survives a reload and a job whose
    process died (``updated_at`` stale while running) is taken up by another.
    """

    __tablename__ = "media_job"

    id: Mapped[IntPK]
    lesson_id: Mapped[int] = mapped_column(ForeignKey("lesson.id"), index=True)
    state: Mapped[MediaState] = mapped_column(str_enum(MediaState), default=MediaState.QUEUED)
    progress: Mapped[int] = mapped_column(default=0)  # percent of the duration transcoded
    source_name: Mapped[str] = mapped_column(String(255))
    # Paths under the data folder's media/ directory.
    source_path: Mapped[str] = mapped_column(String(300))
    output_path: Mapped[str] = mapped_column(String(300), default="")
    duration_seconds: Mapped[int | None]
    message: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[int] = mapped_column(ForeignKey("account.id"))
    created_at: Mapped[CreatedAt]
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_media_job_state_updated", "state", "updated_at"),)
