"""liaison phones encrypted and masked like learners'

Revision ID: 0008
Revises: 0009
Create Date: 2026-12-02 10:00:00.000000

The schema package knows no keys: whoever runs the migration hands it the functions that
protect and reveal a phone (``proctor db upgrade`` passes the PII vault's) through the
Alembic config's attributes. A database with liaisons cannot be migrated without them.
"""

from collections.abc import Callable, Sequence
from typing import Any, cast

import sqlalchemy as sa
from alembic import context, op

revision: str = "0008"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_liaison = sa.table(
    "liaison",
    sa.column("id", sa.Integer()),
    sa.column("phone", sa.String()),
    sa.column("phone_cipher", sa.LargeBinary()),
    sa.column("phone_masked", sa.String()),
)


def _hook(name: str) -> Callable[..., Any]:
    hook = context.config.attributes.get(name)
    if hook is None:
        raise RuntimeError(
            f"liaison phones need the PII key to migrate ({name} not given): "
            "run `proctor db upgrade` with the application's PROCTOR_SECRET_KEY "
            "(or its data folder's key file)"
        )
    return cast(Callable[..., Any], hook)


def upgrade() -> None:
    conn = op.get_bind()
    rows = conn.execute(sa.select(_liaison.c.id, _liaison.c.phone)).all()
    # Refuse before any change: SQLite does not roll DDL back with the failed migration.
    protect = _hook("protect_phone") if rows else None
    with op.batch_alter_table("liaison", schema=None) as batch_op:
        batch_op.add_column(sa.Column("phone_cipher", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("phone_masked", sa.String(length=32), nullable=True))
    if protect is not None:
        for row_id, phone in rows:
            cipher, masked = protect(phone)
            conn.execute(
                _liaison.update()
                .where(_liaison.c.id == row_id)
                .values(phone_cipher=cipher, phone_masked=masked)
            )
    with op.batch_alter_table("liaison", schema=None) as batch_op:
        batch_op.alter_column("phone_cipher", existing_type=sa.LargeBinary(), nullable=False)
        batch_op.alter_column("phone_masked", existing_type=sa.String(length=32), nullable=False)
        batch_op.drop_column("phone")


def downgrade() -> None:
    conn = op.get_bind()
    rows = conn.execute(sa.select(_liaison.c.id, _liaison.c.phone_cipher)).all()
    reveal = _hook("reveal_phone") if rows else None
    with op.batch_alter_table("liaison", schema=None) as batch_op:
        batch_op.add_column(sa.Column("phone", sa.String(length=32), nullable=True))
    if reveal is not None:
        for row_id, cipher in rows:
            conn.execute(
                _liaison.update().where(_liaison.c.id == row_id).values(phone=reveal(cipher))
            )
    with op.batch_alter_table("liaison", schema=None) as batch_op:
        batch_op.alter_column("phone", existing_type=sa.String(length=32), nullable=False)
        batch_op.drop_column("phone_masked")
        batch_op.drop_column("phone_cipher")
