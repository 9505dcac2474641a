"""Credit ledger (append-only), course completions, and yearly quotas by target group."""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, BigIntPK, CreatedAt, Credits, IntPK, str_enum


class CreditKind(enum.StrEnum):
    """Which part of the yearly total an entry counts towards (Art. 12)."""

    REQUIRED = "required"
    ELECTIVE = "elective"
    BONUS = "bonus"


class CreditSource(enum.StrEnum):
    """Where a credit came from; every entry cites its evidence."""

    ATTENTION = "attention"  # course completed through verified attention time
    DESIGNATED = "designated"  # completed course whose credits are designated (特殊课程)
    EXAM = "exam"  # bonus for passing an online exam
    LEGACY = "legacy"  # imported from the academy's previous system, with its record id
    REVERSAL = "reversal"  # cancels an earlier entry; cites the decision


class TargetGroup(Base):
    """Who must study in a year and how much (Art. 5, 12): quotas are data, not code.

    A learner belongs to the most specific matching group: the deepest org node whose
    subtree holds the learner and whose rank list contains the learner's rank (an empty
    list matches every rank); ties are broken by ``priority``.
    """

    __tablename__ = "target_group"

    id: Mapped[IntPK]
    year: Mapped[int] = mapped_column(index=True)
    name: Mapped[str] = mapped_column(String(100))
    org_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    org_path: Mapped[str] = mapped_column(String(255))
    ranks: Mapped[list[str]] = mapped_column(JSON, default=list)
    total_credits: Mapped[Decimal] = mapped_column(Credits())
    required_credits: Mapped[Decimal] = mapped_column(Credits())
    priority: Mapped[int] = mapped_column(default=0)

    __table_args__ = (UniqueConstraint("year", "name"),)


class CreditEntry(Base):
    """One line of the append-only credit ledger (Art. 13).

    Nothing is updated in place: a revocation is a new entry with a negative amount,
    ``reverses_id`` pointing at the entry it cancels, a reason and the deciding case.
    ``idempotency_key`` makes posting exactly-once under retries.
    """

    __tablename__ = "credit_entry"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    learner_id: Mapped[int] = mapped_column(ForeignKey("learner.id"))
    year: Mapped[int]
    course_id: Mapped[int | None] = mapped_column(ForeignKey("course.id"))
    kind: Mapped[CreditKind] = mapped_column(str_enum(CreditKind))
    amount: Mapped[Decimal] = mapped_column(Credits())
    source: Mapped[CreditSource] = mapped_column(str_enum(CreditSource))
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    reverses_id: Mapped[int | None] = mapped_column(ForeignKey("credit_entry.id"), unique=True)
    reason: Mapped[str] = mapped_column(String(500), default="")
    case_id: Mapped[int | None]
    posted_by: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    idempotency_key: Mapped[str | None] = mapped_column(String(120), unique=True)
    posted_at: Mapped[CreatedAt]

    __table_args__ = (Index("ix_credit_entry_learner_year", "learner_id", "year"),)


class CourseCompletion(Base):
    """A course a learner completed; credits for it are posted once, ever."""

    __tablename__ = "course_completion"

    id: Mapped[IntPK]
    learner_id: Mapped[int] = mapped_column(ForeignKey("learner.id"))
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id"))
    year: Mapped[int]
    completed_at: Mapped[dt.datetime]
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    __table_args__ = (
        UniqueConstraint("learner_id", "course_id"),
        Index("ix_course_completion_learner_year", "learner_id", "year"),
    )
