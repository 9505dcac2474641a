"""flag status follows its case: flags of decided cases are closed

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 11:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Until now nothing updated the status, so a database on its second day lists flags whose
# cases were decided long ago; bring it in line with what decisions now keep true.


def upgrade() -> None:
    op.execute(
        "UPDATE detection_flag SET status = 'closed' WHERE case_id IN "
        "(SELECT id FROM review_case WHERE state NOT IN ('new', 'in_review', 'appealed'))"
    )


def downgrade() -> None:
    op.execute("UPDATE detection_flag SET status = 'open' WHERE status = 'closed'")
