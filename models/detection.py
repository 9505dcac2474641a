"""Detection flags: a learner-period the detector wants a person to review (not a finding)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Date, Float, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, CreatedAt, IntPK


class DetectionFlag(Base):
    """Why the detector flagged a learner for a period; the review workflow turns it into a case."""

    __tablename__ = "detection_flag"

    id: Mapped[IntPK]
    learner_id: Mapped[int] = mapped_column(ForeignKey("learner.id"))
    period_start: Mapped[dt.date] = mapped_column(Date)
    period_end: Mapped[dt.date] = mapped_column(Date)
    risk: Mapped[float] = mapped_column(Float)
    band: Mapped[str] = mapped_column(String(8))
    kind: Mapped[str] = mapped_column(String(12))
    rules: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    drivers: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    model_version: Mapped[str] = mapped_column(String(80))
    thresholds: Mapped[dict[str, float]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="open")
    # Where the flag came from: "study" (the detection batch) or "exam" (exam forensics and
    # invigilation). Exam flags name the attempt and carry their own evidence (item tables,
    # response times, p-values) in ``evidence``.
    source: Mapped[str] = mapped_column(String(16), default="study")
    attempt_id: Mapped[int | None]
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # The review case this flag was merged into (null until the review intake runs).
    case_id: Mapped[int | None] = mapped_column(ForeignKey("review_case.id"), index=True)
    created_at: Mapped[CreatedAt]

    __table_args__ = (
        Index("ix_detection_flag_learner_period", "learner_id", "period_start"),
        # The flags page pages through open flags riskiest first, tens of thousands of them.
        Index("ix_detection_flag_status_risk", "status", "risk", "id"),
    )
