"""xAPI outbox: statements for the learning record store, and the indexes its scan reads

Revision ID: 0011
Revises: 0008
Create Date: 2026-12-03 09:00:00

The export finds study sessions summarised and exam attempts scored since its watermark:
session_summary.ended_at and exam_attempt.finished_at get an index for that range.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base

revision: str = "0011"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "xapi_outbox",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("statement_id", sa.String(length=36), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("source_ref", sa.String(length=64), nullable=False),
        sa.Column("occurred_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("statement", sa.JSON(), nullable=False),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("last_error", sa.String(length=300), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_xapi_outbox")),
        sa.UniqueConstraint("statement_id", name=op.f("uq_xapi_outbox_statement_id")),
    )
    op.create_index(
        op.f("ix_xapi_outbox_occurred_at"), "xapi_outbox", ["occurred_at"], unique=False
    )
    op.create_index("ix_xapi_outbox_source", "xapi_outbox", ["source", "source_ref"], unique=False)
    op.create_index(
        "ix_xapi_outbox_due",
        "xapi_outbox",
        ["next_attempt_at"],
        unique=False,
        postgresql_where=sa.text("sent_at IS NULL"),
        sqlite_where=sa.text("sent_at IS NULL"),
    )
    op.create_index(
        op.f("ix_session_summary_ended_at"), "session_summary", ["ended_at"], unique=False
    )
    op.create_index(
        op.f("ix_exam_attempt_finished_at"), "exam_attempt", ["finished_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_exam_attempt_finished_at"), table_name="exam_attempt")
    op.drop_index(op.f("ix_session_summary_ended_at"), table_name="session_summary")
    op.drop_index("ix_xapi_outbox_due", table_name="xapi_outbox")
    op.drop_index("ix_xapi_outbox_source", table_name="xapi_outbox")
    op.drop_index(op.f("ix_xapi_outbox_occurred_at"), table_name="xapi_outbox")
    op.drop_table("xapi_outbox")
