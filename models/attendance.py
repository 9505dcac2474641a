"""Study sessions and their evidence: raw heartbeats, session events, lesson coverage, summaries.

Everything here is written by the tracker's batch writer from the hot state's durable
stream; the hot state (Redis or in-process) stays the authority while a session is live.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, BigIntPK, UTCDateTime


class StudySession(Base):
    """One player session of a learner on a lesson.

    PII: client IP address, device fingerprint and user agent.
    """

    __tablename__ = "study_session"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    learner_id: Mapped[int] = mapped_column(ForeignKey("learner.id"))
    lesson_id: Mapped[int] = mapped_column(ForeignKey("lesson.id"))
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id"))
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    end_reason: Mapped[str | None] = mapped_column(String(16))
    interval_s: Mapped[int]
    device: Mapped[str] = mapped_column(String(128))
    user_agent: Mapped[str] = mapped_column(String(300))
    ip: Mapped[str] = mapped_column(String(64))
    # Evidence entries the hot state committed for this session before its end (from the end
    # entry): the summary is final only once that many are in SQL.
    expected_evidence: Mapped[int | None] = mapped_column(Integer)
    # Ended, summary not yet written (waiting for beats another writer holds, or the sweep).
    summary_pending: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    __table_args__ = (
        Index("ix_study_session_learner_started", "learner_id", "started_at"),
        # The sweeps look only at open sessions and pending summaries: small partial indexes.
        Index(
            "ix_study_session_open",
            "started_at",
            postgresql_where=text("ended_at IS NULL"),
            sqlite_where=text("ended_at IS NULL"),
        ),
        Index(
            "ix_study_session_summary_pending",
            "ended_at",
            postgresql_where=text("summary_pending"),
            sqlite_where=text("summary_pending"),
        ),
    )


class Heartbeat(Base):
    """A heartbeat as received, accepted or not, with the server's verdict (raw trace).

    Positions and credit are integer milliseconds; ``codes`` lists why credit was reduced.
    PII: client IP address.

    On PostgreSQL the table is partitioned by month of ``received_at`` (UTC), so that a month
    is dropped in one statement when it ages out (migration 0007, proctor.study.partitions);
    there its primary key is ``(id, received_at)``, since a partitioned table's unique keys
    must hold the partition key. ``id`` alone still identifies a row (one sequence feeds all
    partitions). SQLite keeps one plain table.
    """

    __tablename__ = "heartbeat"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    # The hot state's evidence entry id: a redelivered entry is recognised and skipped. Unique
    # together with received_at (see __table_args__): that is as strong as the id alone,
    # because received_at is the entry's own server receipt time ("t"), fixed when the entry
    # was appended, so a redelivery of the same entry always carries the same pair.
    evidence_id: Mapped[str] = mapped_column(String(40))
    session_id: Mapped[str] = mapped_column(String(64))
    seq: Mapped[int]
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    client_time_ms: Mapped[int | None] = mapped_column(BigInteger)
    position_ms: Mapped[int] = mapped_column(BigInteger)
    rate: Mapped[float] = mapped_column(Float)
    paused: Mapped[bool] = mapped_column(Boolean)
    visible: Mapped[bool] = mapped_column(Boolean)
    focused: Mapped[bool] = mapped_column(Boolean)
    muted: Mapped[bool] = mapped_column(Boolean)
    volume: Mapped[float] = mapped_column(Float)
    interactions: Mapped[int] = mapped_column(Integer)
    elapsed_ms: Mapped[int] = mapped_column(Integer)
    credited_ms: Mapped[int] = mapped_column(Integer)
    new_coverage_ms: Mapped[int] = mapped_column(Integer)
    accepted: Mapped[bool] = mapped_column(Boolean)
    codes: Mapped[str] = mapped_column(String(200))
    ip: Mapped[str] = mapped_column(String(64))

    __table_args__ = (
        Index("ix_heartbeat_session_seq", "session_id", "seq"),
        UniqueConstraint("evidence_id", "received_at"),
    )


# Names of the heartbeat table's partitions on PostgreSQL (one per UTC month, and a default
# one for rows of months without their own partition).
HEARTBEAT_DEFAULT_PARTITION = "heartbeat_default"
HEARTBEAT_PARTITION_NAME = re.compile(r"^heartbeat_(y(\d{4})m(\d{2})|default)$")


def heartbeat_partition(month: dt.date) -> str:
    """The partition holding the beats received in ``month`` (any day of it)."""
    return f"heartbeat_y{month.year:04d}m{month.month:02d}"


class SessionEvent(Base):
    """Something that happened in a session besides a beat: a challenge issued or answered,
    a refused request, the session's end, an overlap with another session."""

    __tablename__ = "session_event"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    evidence_id: Mapped[str] = mapped_column(String(40), unique=True)
    session_id: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    kind: Mapped[str] = mapped_column(String(32))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class LessonProgress(Base):
    """The union of a learner's verified segments of a lesson (milliseconds of content)."""

    __tablename__ = "lesson_progress"

    learner_id: Mapped[int] = mapped_column(ForeignKey("learner.id"), primary_key=True)
    lesson_id: Mapped[int] = mapped_column(ForeignKey("lesson.id"), primary_key=True)
    segments: Mapped[str] = mapped_column(String(4000), default="")
    covered_ms: Mapped[int] = mapped_column(BigInteger, default=0)
    completed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class SessionSummary(Base):
    """What the detector reads about a finished session, computed from its raw trace."""

    __tablename__ = "session_summary"

    session_id: Mapped[str] = mapped_column(ForeignKey("study_session.id"), primary_key=True)
    learner_id: Mapped[int] = mapped_column(ForeignKey("learner.id"), index=True)
    course_id: Mapped[int]
    lesson_id: Mapped[int]
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    # Indexed for the xAPI export, which finds sessions summarised since its watermark.
    ended_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)
    wall_s: Mapped[float] = mapped_column(Float)
    verified_s: Mapped[float] = mapped_column(Float)
    new_coverage_s: Mapped[float] = mapped_column(Float)
    beats: Mapped[int]
    rejected_beats: Mapped[int]
    features: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    device: Mapped[str] = mapped_column(String(128))
    ip: Mapped[str] = mapped_column(String(64))
    user_agent: Mapped[str] = mapped_column(String(300))
