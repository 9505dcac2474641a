"""Disciplinary review (Art. 16): cases built from flags, their audit trail, and consequences.

A flag is not misconduct: only a reviewer's decision on a case is. Nothing here is deleted;
every state change appends a ``case_event``.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import JSON, Date, Float, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, BigIntPK, CreatedAt, IntPK, UTCDateTime, str_enum


class CaseState(enum.StrEnum):
    """Where a case stands. Stored by value, never translated in the database."""

    NEW = "new"
    IN_REVIEW = "in_review"
    CONFIRMED_PROXY = "confirmed_proxy"  # 请人代学 confirmed
    CONFIRMED_FRAUD = "confirmed_fraud"  # 弄虚作假骗取学分 confirmed
    # 考试作弊 confirmed; stored as VARCHAR(32) without a CHECK, so no migration is needed.
    CONFIRMED_EXAM_CHEATING = "confirmed_exam_cheating"
    NO_MISCONDUCT = "no_misconduct"
    INSUFFICIENT_EVIDENCE = "insufficient_evidence"
    APPEALED = "appealed"
    APPEAL_UPHELD = "appeal_upheld"  # the learner was right: the finding is lifted
    APPEAL_REJECTED = "appeal_rejected"  # the finding stands


class Finding(enum.StrEnum):
    """A standing conclusion against a learner, kept on the case while it stands."""

    PROXY_STUDY = "proxy_study"
    CREDIT_FRAUD = "credit_fraud"
    EXAM_CHEATING = "exam_cheating"  # voids the flagged attempts while it stands


class ReviewCase(Base):
    """One learner's flags for a period, merged, awaiting or carrying a human decision.

    ``finding`` is the conclusion standing now (set by a confirming decision, cleared by an
    upheld appeal), so reports and the archive need not replay the event log. ``version``
    makes every state change a compare-and-set: of two reviewers deciding at once, one wins.
    """

    __tablename__ = "review_case"

    id: Mapped[IntPK]
    learner_id: Mapped[int] = mapped_column(ForeignKey("learner.id"))
    # Denormalised from the learner so that scope filters are one indexed prefix match.
    org_path: Mapped[str] = mapped_column(String(255), index=True)
    year: Mapped[int]
    period_start: Mapped[dt.date] = mapped_column(Date)
    period_end: Mapped[dt.date] = mapped_column(Date)
    # behaviour (proxy study, bots, fraud) or technical (data quality): triaged apart.
    category: Mapped[str] = mapped_column(String(12))
    # What the flags point at: proxy / bot / fraud / exam / technical (free label for the queue).
    kind: Mapped[str] = mapped_column(String(24))
    risk: Mapped[float] = mapped_column(Float)
    band: Mapped[str] = mapped_column(String(8))
    priority: Mapped[int]
    state: Mapped[CaseState] = mapped_column(str_enum(CaseState), default=CaseState.NEW)
    finding: Mapped[Finding | None] = mapped_column(str_enum(Finding))
    version: Mapped[int] = mapped_column(default=1)
    model_version: Mapped[str] = mapped_column(String(80), default="")
    thresholds: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    decision_reason: Mapped[str] = mapped_column(Text, default="")
    appeal_deadline: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    appeal_statement: Mapped[str] = mapped_column(Text, default="")
    appealed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    appeal_decided_by: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    appeal_decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    appeal_reason: Mapped[str] = mapped_column(Text, default="")
    opened_at: Mapped[CreatedAt]
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        Index("ix_review_case_learner_year", "learner_id", "year"),
        Index("ix_review_case_state_priority", "state", "priority"),
    )


class CaseEvent(Base):
    """One step in a case's life: who, when, from which state to which, why, under which model."""

    __tablename__ = "case_event"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("review_case.id"), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    action: Mapped[str] = mapped_column(String(32))
    from_state: Mapped[str | None] = mapped_column(String(32))
    to_state: Mapped[str | None] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text, default="")
    model_version: Mapped[str] = mapped_column(String(80), default="")
    thresholds: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    at: Mapped[CreatedAt]


class ExcellenceBar(Base):
    """A learner may not be rated excellent for a year, nor receive the excellent-learner award
    (Art. 16, 请人代学). Lifted, not deleted, when an appeal is upheld."""

    __tablename__ = "excellence_bar"

    id: Mapped[IntPK]
    learner_id: Mapped[int] = mapped_column(ForeignKey("learner.id"))
    year: Mapped[int]
    case_id: Mapped[int] = mapped_column(ForeignKey("review_case.id"))
    reason: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[CreatedAt]
    lifted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_excellence_bar_learner_year", "learner_id", "year"),)


class Notification(Base):
    """A message to a learner (a case decided, an appeal answered)."""

    __tablename__ = "notification"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    learner_id: Mapped[int] = mapped_column(ForeignKey("learner.id"), index=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("review_case.id"))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    link: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[CreatedAt]
    read_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
