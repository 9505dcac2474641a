"""exam pair evidence: per exam, the window-answer p-values of pairs that sat together

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04 09:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "exam_pair_evidence",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("exam_id", sa.Integer(), sa.ForeignKey("exam.id"), nullable=False),
        sa.Column("learner_low", sa.Integer(), sa.ForeignKey("learner.id"), nullable=False),
        sa.Column("learner_high", sa.Integer(), sa.ForeignKey("learner.id"), nullable=False),
        sa.Column("copier_id", sa.Integer(), sa.ForeignKey("learner.id"), nullable=False),
        sa.Column("p_value", sa.Float(), nullable=False),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("exam_id", "learner_low", "learner_high"),
    )
    op.create_index(
        "ix_exam_pair_evidence_pair", "exam_pair_evidence", ["learner_low", "learner_high"]
    )


def downgrade() -> None:
    op.drop_index("ix_exam_pair_evidence_pair", table_name="exam_pair_evidence")
    op.drop_table("exam_pair_evidence")
