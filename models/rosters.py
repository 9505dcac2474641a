"""Roster upload batches (Art. 10): validated rows waiting for an administrator's approval."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import JSON, ForeignKey, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, CreatedAt, IntPK, UTCDateTime, str_enum


class BatchStatus(enum.StrEnum):
    """Life of a roster batch: nothing is created before approval.

    A batch whose valid rows were approved and the rest sent back is ``returned`` until the
    uploader fixes those rows (back to ``pending``) or withdraws them.
    """

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    RETURNED = "returned"
    WITHDRAWN = "withdrawn"


class RosterBatch(Base):
    """One uploaded roster file and its review.

    PII: ``credentials_cipher`` holds the issued initial passwords (encrypted) until the
    uploader downloads them once; it is then erased.
    """

    __tablename__ = "roster_batch"

    id: Mapped[IntPK]
    org_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    org_path: Mapped[str] = mapped_column(String(255), index=True)
    uploaded_by: Mapped[int] = mapped_column(ForeignKey("account.id"))
    filename: Mapped[str] = mapped_column(String(255))
    file_sha256: Mapped[str] = mapped_column(String(64))
    status: Mapped[BatchStatus] = mapped_column(str_enum(BatchStatus))
    total_rows: Mapped[int]
    error_rows: Mapped[int]
    created_at: Mapped[CreatedAt]
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    decision_note: Mapped[str] = mapped_column(String(500), default="")
    credentials_cipher: Mapped[bytes | None] = mapped_column(LargeBinary)
    credentials_downloaded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class RosterRow(Base):
    """One row of an uploaded roster with its validation outcome.

    PII: name, identity number and phone (stored encrypted, hashed and masked like
    :class:`models.people.Learner`).
    """

    __tablename__ = "roster_row"

    id: Mapped[IntPK]
    batch_id: Mapped[int] = mapped_column(ForeignKey("roster_batch.id"), index=True)
    row_no: Mapped[int]
    name: Mapped[str] = mapped_column(String(50))
    id_hash: Mapped[str | None] = mapped_column(String(64))
    id_cipher: Mapped[bytes | None] = mapped_column(LargeBinary)
    id_masked: Mapped[str] = mapped_column(String(32))
    unit_name: Mapped[str] = mapped_column(String(100))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"))
    rank: Mapped[str] = mapped_column(String(40))
    position: Mapped[str] = mapped_column(String(60), default="")
    phone_cipher: Mapped[bytes | None] = mapped_column(LargeBinary)
    phone_masked: Mapped[str] = mapped_column(String(32))
    ok: Mapped[bool]
    errors: Mapped[list[str]] = mapped_column(JSON, default=list)
    learner_id: Mapped[int | None] = mapped_column(ForeignKey("learner.id"))

    __table_args__ = (UniqueConstraint("batch_id", "row_no"),)
