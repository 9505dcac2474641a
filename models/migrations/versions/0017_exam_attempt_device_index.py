"""exam attempt device index: the earlier sittings on a machine, for the proxy rule (P08)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-04 16:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_exam_attempt_device", "exam_attempt", ["device"])


def downgrade() -> None:
    op.drop_index("ix_exam_attempt_device", table_name="exam_attempt")
