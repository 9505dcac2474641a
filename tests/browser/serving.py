"""The real app on a copy of the migrated SQLite template, served on a local port."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestServer

from proctor.kernel.context import Context
from proctor.kernel.settings import Settings
from proctor.web.app import create_app


def browser_settings(
    tmp_path: Path, sqlite_template: Path, name: str, **overrides: Any
) -> Settings:
    """Settings for a browser test: its own database file, cheap password hashing."""
    db = tmp_path / f"{name}.db"
    shutil.copy(sqlite_template, db)
    return Settings(
        database_url=f"sqlite+aiosqlite:///{db}",
        data_dir=tmp_path / "data",
        secret_key="browser-test-secret-0123456789",
        argon2_time_cost=1,
        argon2_memory_kib=64,
        **overrides,
    )


@asynccontextmanager
async def running(ctx: Context) -> AsyncIterator[str]:
    """Serve the app over ``ctx``; yield its base URL; close server and context after."""
    server = TestServer(create_app(ctx=ctx), host="127.0.0.1")
    await server.start_server()
    try:
        yield str(server.make_url("/")).rstrip("/")
    finally:
        await server.close()
        await ctx.close()
