"""heartbeat partitions: the raw trace partitioned by month on PostgreSQL

On PostgreSQL the plain ``heartbeat`` table becomes a table partitioned by range of
``received_at``: one partition per UTC month that holds rows, the current month and the
next two (the server creates later ones ahead of time: proctor.study.partitions), and a
default partition for rows of any other month. A partitioned table's unique keys must
contain the partition key, so the primary key becomes ``(id, received_at)`` (one sequence
still numbers every row) and the evidence id is unique together with ``received_at``: as
strong as the id alone, since a redelivered evidence entry carries the receipt time it was
appended with. SQLite keeps one plain table and only swaps the unique key.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 09:00:00
"""

import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MONTHS_AHEAD = 2


def _month(value: dt.date, add: int = 0) -> dt.date:
    index = value.year * 12 + value.month - 1 + add
    return dt.date(index // 12, index % 12 + 1, 1)


def _partition_ddl(month: dt.date) -> str:
    lo, hi = _month(month), _month(month, 1)
    return (
        f"CREATE TABLE heartbeat_y{lo.year:04d}m{lo.month:02d} PARTITION OF heartbeat "
        f"FOR VALUES FROM ('{lo.isoformat()} 00:00:00+00') TO ('{hi.isoformat()} 00:00:00+00')"
    )


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        with op.batch_alter_table("heartbeat", schema=None) as batch_op:
            batch_op.drop_constraint("uq_heartbeat_evidence_id", type_="unique")
            batch_op.create_unique_constraint(
                "uq_heartbeat_evidence_id_received_at", ["evidence_id", "received_at"]
            )
        return
    bind = op.get_bind()
    months = {
        row[0]
        for row in bind.execute(
            sa.text(
                "SELECT DISTINCT date_trunc('month', received_at AT TIME ZONE 'UTC')::date "
                "FROM heartbeat"
            )
        )
    }
    today = dt.datetime.now(dt.UTC).date()
    months |= {_month(today, k) for k in range(MONTHS_AHEAD + 1)}
    for statement in (
        "ALTER TABLE heartbeat RENAME TO heartbeat_unpartitioned",
        "ALTER TABLE heartbeat_unpartitioned RENAME CONSTRAINT pk_heartbeat TO pk_heartbeat_unpartitioned",
        "ALTER TABLE heartbeat_unpartitioned RENAME CONSTRAINT uq_heartbeat_evidence_id "
        "TO uq_heartbeat_unpartitioned_evidence_id",
        "ALTER INDEX ix_heartbeat_session_seq RENAME TO ix_heartbeat_unpartitioned_session_seq",
        # Same columns, types, NOT NULLs and the id default (the existing sequence).
        "CREATE TABLE heartbeat (LIKE heartbeat_unpartitioned INCLUDING DEFAULTS) "
        "PARTITION BY RANGE (received_at)",
        "ALTER TABLE heartbeat ADD CONSTRAINT pk_heartbeat PRIMARY KEY (id, received_at)",
        "ALTER TABLE heartbeat ADD CONSTRAINT uq_heartbeat_evidence_id_received_at "
        "UNIQUE (evidence_id, received_at)",
        "CREATE INDEX ix_heartbeat_session_seq ON heartbeat (session_id, seq)",
        "ALTER SEQUENCE heartbeat_id_seq OWNED BY heartbeat.id",
        "CREATE TABLE heartbeat_default PARTITION OF heartbeat DEFAULT",
        *(_partition_ddl(m) for m in sorted(months)),
        "INSERT INTO heartbeat SELECT * FROM heartbeat_unpartitioned",
        "DROP TABLE heartbeat_unpartitioned",
    ):
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        with op.batch_alter_table("heartbeat", schema=None) as batch_op:
            batch_op.drop_constraint("uq_heartbeat_evidence_id_received_at", type_="unique")
            batch_op.create_unique_constraint("uq_heartbeat_evidence_id", ["evidence_id"])
        return
    for statement in (
        "ALTER TABLE heartbeat RENAME TO heartbeat_partitioned",
        "ALTER TABLE heartbeat_partitioned RENAME CONSTRAINT pk_heartbeat TO pk_heartbeat_partitioned",
        "ALTER TABLE heartbeat_partitioned RENAME CONSTRAINT uq_heartbeat_evidence_id_received_at "
        "TO uq_heartbeat_partitioned_evidence_id_received_at",
        "ALTER INDEX ix_heartbeat_session_seq RENAME TO ix_heartbeat_partitioned_session_seq",
        "CREATE TABLE heartbeat (LIKE heartbeat_partitioned INCLUDING DEFAULTS)",
        "ALTER TABLE heartbeat ADD CONSTRAINT pk_heartbeat PRIMARY KEY (id)",
        "ALTER TABLE heartbeat ADD CONSTRAINT uq_heartbeat_evidence_id UNIQUE (evidence_id)",
        "CREATE INDEX ix_heartbeat_session_seq ON heartbeat (session_id, seq)",
        "ALTER SEQUENCE heartbeat_id_seq OWNED BY heartbeat.id",
        "INSERT INTO heartbeat SELECT * FROM heartbeat_partitioned",
        "DROP TABLE heartbeat_partitioned",
    ):
        op.execute(statement)
