"""Alembic environment: async engine, URL from PROCTOR_DATABASE_URL or the caller's config."""

from __future__ import annotations

import asyncio
import os

from alembic import context
from sqlalchemy.engine import Connection

import models
from models.attendance import HEARTBEAT_PARTITION_NAME
from models.db import create_engine

config = context.config
target_metadata = models.Base.metadata


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url") or os.environ.get("PROCTOR_DATABASE_URL")
    if not url:
        # Same embedded default as proctor's settings: a SQLite file in the data folder.
        data_dir = os.environ.get("PROCTOR_DATA_DIR", "proctor-data")
        os.makedirs(data_dir, exist_ok=True)
        url = f"sqlite+aiosqlite:///{data_dir}/proctor.db"
    return url


def _include_name(name: str | None, type_: str, _parents: object) -> bool:
    # The heartbeat table's partitions (PostgreSQL) are reflected as tables of their own; they
    # are the migration's and the server's business, not the models'.
    return not (type_ == "table" and name and HEARTBEAT_PARTITION_NAME.match(name))


def _configure(connection: Connection) -> None:
    if connection.dialect.name == "sqlite":
        # Batch migrations rebuild a table by copy-and-rename; with foreign keys enforced,
        # dropping a referenced table (org_unit, say) fails. The pragma takes effect only
        # outside a transaction, which the SQLite driver opens lazily at the first write.
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_name=_include_name,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_async() -> None:
    engine = create_engine(_url())
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_configure)
            await connection.commit()
    finally:
        # Also when a migration fails: no connection may outlive the run.
        await engine.dispose()


if context.is_offline_mode():
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
    else:
        asyncio.run(_run_async())
