"""Online exams (Art. 12, 16): question banks, exams, attempts, answers, invigilation events.

The answer key lives only here, on the server: attempts store the drawn items and the option
order each examinee saw, answers store the canonical option ids chosen, so two examinees who
picked the same option match whatever position it was shown at.
"""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, BigIntPK, CreatedAt, Credits, IntPK, UTCDateTime, str_enum


class ItemKind(enum.StrEnum):
    """Question types of the bank."""

    SINGLE = "single"  # one correct option
    MULTIPLE = "multiple"  # all correct options and no other
    TRUE_FALSE = "truefalse"


class AttemptState(enum.StrEnum):
    """An attempt is open until submitted by the learner or closed by the server's clock."""

    OPEN = "open"
    SUBMITTED = "submitted"
    EXPIRED = "expired"


class ExamItem(Base):
    """A question of a course's bank; ``key`` is the sorted ids of its correct options."""

    __tablename__ = "exam_item"

    id: Mapped[IntPK]
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id"), index=True)
    kind: Mapped[ItemKind] = mapped_column(str_enum(ItemKind))
    stem: Mapped[str] = mapped_column(Text)
    # [{"id": "A", "text": "..."}]; ids are stable, display letters are assigned per attempt.
    options: Mapped[list[dict[str, str]]] = mapped_column(JSON)
    key: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[CreatedAt]


class Exam(Base):
    """A course's online exam and its rules: draw size, time limit, pass mark, attempts, bonus."""

    __tablename__ = "exam"

    id: Mapped[IntPK]
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    item_count: Mapped[int]
    time_limit_s: Mapped[int]
    pass_mark: Mapped[int]  # percent of items answered correctly
    attempts_allowed: Mapped[int]
    bonus_credits: Mapped[Decimal] = mapped_column(Credits())
    opens_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    closes_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    published: Mapped[bool] = mapped_column(Boolean, default=True)
    # Set when post-exam forensics ran over the closed window; they run once per window.
    analysed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[CreatedAt]


class ExamAttempt(Base):
    """One sitting of an exam by a learner, timed by the server.

    ``items`` holds the draw: ``[{"item_id": 7, "order": ["C", "A", "D", "B"]}]``.
    PII: client IP address, device fingerprint and user agent.
    """

    __tablename__ = "exam_attempt"

    id: Mapped[IntPK]
    exam_id: Mapped[int] = mapped_column(ForeignKey("exam.id"))
    learner_id: Mapped[int] = mapped_column(ForeignKey("learner.id"), index=True)
    number: Mapped[int]
    state: Mapped[AttemptState] = mapped_column(str_enum(AttemptState))
    items: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    deadline_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    # Indexed for the xAPI export, which finds attempts scored since its watermark.
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), index=True)
    correct: Mapped[int | None]
    score: Mapped[int | None]  # percent
    passed: Mapped[bool | None] = mapped_column(Boolean)
    bonus_entry_id: Mapped[int | None]
    ip: Mapped[str] = mapped_column(String(64))
    device: Mapped[str] = mapped_column(String(128))
    user_agent: Mapped[str] = mapped_column(String(300))
    # Speed τ relative to the exam's cohort (log-time model), set when the exam is
    # analysed: a later exam's proxy rule compares the attempt with the learner's own pace.
    speed: Mapped[float | None] = mapped_column(Float)
    # Compare-and-set guard: a submit racing the server's expiry finalises the attempt once.
    version: Mapped[int] = mapped_column(default=1)

    __table_args__ = (
        UniqueConstraint("exam_id", "learner_id", "number"),
        Index("ix_exam_attempt_exam_state", "exam_id", "state"),
        # a later exam's proxy rule reads the year's sittings on a machine (P08)
        Index("ix_exam_attempt_device", "device"),
    )


class ExamAnswer(Base):
    """The answer currently saved for one item of an attempt (saved item by item)."""

    __tablename__ = "exam_answer"

    id: Mapped[IntPK]
    attempt_id: Mapped[int] = mapped_column(ForeignKey("exam_attempt.id"))
    item_id: Mapped[int] = mapped_column(ForeignKey("exam_item.id"))
    choice: Mapped[str] = mapped_column(String(16))  # canonical option ids, sorted
    # Time on the item as the page measured it (evidence, bounded by the server's clock).
    seconds: Mapped[float] = mapped_column(Float)
    changes: Mapped[int] = mapped_column(default=0)
    saved_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())

    __table_args__ = (UniqueConstraint("attempt_id", "item_id"),)


class ExamEvent(Base):
    """Something the invigilation saw during an attempt, stamped by the server's clock.

    PII: client IP address.
    """

    __tablename__ = "exam_event"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("exam_attempt.id"), index=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    kind: Mapped[str] = mapped_column(String(24))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    ip: Mapped[str] = mapped_column(String(64), default="")


class ExamPairEvidence(Base):
    """One exam's evidence on a pair of learners who sat it together (one address or unit):
    the exact p-value of the answers one entered after the other handed in, kept only when
    at or below the truncation point of the combination over exams (so a ring that copies
    exam after exam accumulates what no single exam shows, and storage stays small).
    ``copier_id`` is the learner who entered the answers after the other left."""

    __tablename__ = "exam_pair_evidence"

    id: Mapped[IntPK]
    exam_id: Mapped[int] = mapped_column(ForeignKey("exam.id"))
    learner_low: Mapped[int] = mapped_column(ForeignKey("learner.id"))
    learner_high: Mapped[int] = mapped_column(ForeignKey("learner.id"))
    copier_id: Mapped[int] = mapped_column(ForeignKey("learner.id"))
    p_value: Mapped[float] = mapped_column(Float)
    created_at: Mapped[CreatedAt]

    __table_args__ = (
        UniqueConstraint("exam_id", "learner_low", "learner_high"),
        Index("ix_exam_pair_evidence_pair", "learner_low", "learner_high"),
    )
