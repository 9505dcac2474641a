"""session finality: expected evidence, pending summaries, indexes for the sweeps

Revision ID: 0009
Revises: 0007
Create Date: 2026-12-03 08:00:00

Sessions ended before this revision without a summary are marked pending, so the sweep
writes their summaries from the raw trace.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("study_session", schema=None) as batch_op:
        batch_op.add_column(sa.Column("expected_evidence", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("summary_pending", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    op.create_index(
        "ix_study_session_open",
        "study_session",
        ["started_at"],
        unique=False,
        postgresql_where=sa.text("ended_at IS NULL"),
        sqlite_where=sa.text("ended_at IS NULL"),
    )
    op.create_index(
        "ix_study_session_summary_pending",
        "study_session",
        ["ended_at"],
        unique=False,
        postgresql_where=sa.text("summary_pending"),
        sqlite_where=sa.text("summary_pending"),
    )
    op.execute(
        "UPDATE study_session SET summary_pending = true WHERE ended_at IS NOT NULL "
        "AND NOT EXISTS (SELECT 1 FROM session_summary WHERE session_id = study_session.id)"
    )


def downgrade() -> None:
    op.drop_index("ix_study_session_summary_pending", table_name="study_session")
    op.drop_index("ix_study_session_open", table_name="study_session")
    with op.batch_alter_table("study_session", schema=None) as batch_op:
        batch_op.drop_column("summary_pending")
        batch_op.drop_column("expected_evidence")
