"""Management reports (Art. 14, 15): the ledger's pre-aggregate and frozen yearly evaluations.

``report_rollup`` holds, per learner and credit year, the ledger's sums up to a cutoff, and
``report_category`` the same per unit and course category, ``report_unit`` each unit's
figures. Reports add the entries posted
since the cutoff (the "tail", read from ``credit_entry`` through its (year, posted_at) index),
so a rollup never has to be fresh for the figures to match the ledger. Both tables are
rebuilt by ``proctor reports refresh``; nothing else writes them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Column, ForeignKey, Index, Integer, String, Table, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, CreatedAt, IntPK, UTCDateTime
from models.credits import CreditEntry
from models.people import Learner

MONTHS = range(1, 13)
# Cumulative sums by kind at the end of each month (``req_m03``: required credits posted by
# the end of March), so the progress curve reads the rollup instead of the ledger.
MONTH_KINDS = ("req", "ele", "bon")


def month_column(kind: str, month: int) -> str:
    """Name of a per-month rollup column (``req_m01`` ...)."""
    return f"{kind}_m{month:02d}"


report_rollup = Table(
    "report_rollup",
    Base.metadata,
    Column("year", Integer, primary_key=True),
    Column("learner_id", Integer, ForeignKey("learner.id"), primary_key=True),
    # Integer hundredths of a credit, as credit_entry.amount stores them.
    Column("req", Integer, nullable=False),
    Column("ele", Integer, nullable=False),
    Column("bon", Integer, nullable=False),
    # Entries other than reversals: the learner studied (or was credited) this year.
    Column("posts", Integer, nullable=False),
    *(
        Column(month_column(kind, m), Integer, nullable=False, server_default="0")
        for kind in MONTH_KINDS
        for m in MONTHS
    ),
)

report_category = Table(
    "report_category",
    Base.metadata,
    Column("year", Integer, primary_key=True),
    Column("unit_id", Integer, ForeignKey("org_unit.id"), primary_key=True),
    # 0: entries without a course (imported history).
    Column("category_id", Integer, primary_key=True),
    Column("cents", Integer, nullable=False),
)


report_unit = Table(
    "report_unit",
    Base.metadata,
    Column("year", Integer, primary_key=True),
    Column("unit_id", Integer, ForeignKey("org_unit.id"), primary_key=True),
    # The unit's figures as of the cutoff (proctor.reports.figures.Tally.to_json).
    Column("stats", JSON, nullable=False),
    # Its learners by rank and active flag ({"科员|1": [count, sum of ids]}): a unit whose
    # learners changed since (joined, left, moved, promoted) no longer matches and is read live.
    Column("fingerprint", JSON, nullable=False),
)


class ReportCutoff(Base):
    """Up to which moment a year's rollup holds the ledger; later entries are read live."""

    __tablename__ = "report_cutoff"

    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    cutoff: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    built_at: Mapped[CreatedAt]
    learners: Mapped[int] = mapped_column(default=0)
    # Hash of what the unit rollup depends on besides the ledger and the learners (the year's
    # target groups, the schedule tolerance, whether bonus credits count): another value means
    # the unit rollup is ignored until rebuilt.
    key: Mapped[str] = mapped_column(String(64), default="")


class EvaluationSnapshot(Base):
    """A yearly evaluation (Art. 15) of the units under one org node, frozen at year close.

    ``body`` is the evaluation exactly as shown (weights, unit scores and ranking, award
    candidates), so later ledger changes or reversals do not rewrite history.
    """

    __tablename__ = "evaluation_snapshot"

    id: Mapped[IntPK]
    year: Mapped[int]
    org_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    org_path: Mapped[str] = mapped_column(String(255), index=True)
    frozen_by: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    frozen_at: Mapped[CreatedAt]
    body: Mapped[dict[str, Any]] = mapped_column(JSON)

    __table_args__ = (UniqueConstraint("year", "org_id"),)


# The tail of a year's ledger since the rollup's cutoff is one range scan of this index.
Index("ix_credit_entry_year_posted", CreditEntry.year, CreditEntry.posted_at)
# A subtree's unit fingerprints are read from this index alone (no visit to the wide learner
# rows): prefix on the path, then everything the fingerprint groups and sums.
Index(
    "ix_learner_report_units",
    Learner.org_path,
    Learner.unit_id,
    Learner.rank,
    Learner.active,
    Learner.id,
)
