"""Shared fixtures: every data-layer test runs on SQLite and on PostgreSQL.

PostgreSQL is taken from PROCTOR_TEST_POSTGRES_URL (default: the local server). When it does
not answer, its half of the suite is skipped, unless PROCTOR_TEST_REQUIRE_SERVICES=1 (CI),
in which case that is a failure.
"""

from __future__ import annotations

import asyncio
import gc
import os
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import text

from models.db import create_engine
from proctor.kernel import migrate
from proctor.kernel.context import Context, open_context
from proctor.kernel.settings import Settings
from proctor.web.app import create_app

pytest_plugins = ["tests.factories"]

BASE_POSTGRES_URL = os.environ.get(
    "PROCTOR_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
# Tests run in parallel processes (pytest-xdist); every test empties the tables it used, so
# each process gets a database of its own, created next to the given one.
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
POSTGRES_URL = f"{BASE_POSTGRES_URL}_{WORKER}" if WORKER else BASE_POSTGRES_URL
REQUIRE_SERVICES = os.environ.get("PROCTOR_TEST_REQUIRE_SERVICES") == "1"
GC_EACH = os.environ.get("PROCTOR_TEST_GC_EACH") == "1"
# Reference data the migrations insert; never truncated between tests.
KEEP_TABLES = {"course_category", "alembic_version"}


async def _postgres_reachable() -> str | None:
    engine = create_engine(POSTGRES_URL)
    try:
        await _create_worker_database()
        async with engine.connect() as conn:
            await conn.execute(text("select 1"))
        return None
    except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"
        return f"{type(exc).__name__}: {exc}"
    finally:
        await engine.dispose()


async def _create_worker_database() -> None:
    if POSTGRES_URL == BASE_POSTGRES_URL:
        return
    name = POSTGRES_URL.rsplit("/", 1)[1]
    engine = create_engine(BASE_POSTGRES_URL).execution_options(isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            exists = await conn.scalar(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
            )
            if not exists:
                await conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        await engine.dispose()


async def _reset_postgres_schema() -> None:
    engine = create_engine(POSTGRES_URL)
    async with engine.begin() as conn:
        await conn.execute(text("DROP SCHEMA public CASCADE"))
        await conn.execute(text("CREATE SCHEMA public"))
    await engine.dispose()


def _product_env() -> dict[str, str]:
    return {
        k: v
        for k, v in os.environ.items()
        if k.startswith("PROCTOR_") and not k.startswith(TEST_ENV)
    }


TEST_ENV = "PROCTOR_TEST_"


@pytest.fixture(autouse=True)
def _product_env_kept() -> Iterator[None]:
    """Every test starts from the process's own ``PROCTOR_*`` settings. A test that left one
    behind (``CliRunner``'s ``env`` is process-wide, so two invocations interleaved in
    threads can restore each other's values) pointed a later test's ``Settings`` at another
    database. With PROCTOR_TEST_STRICT_ENV=1 the leaking test fails instead."""
    before = _product_env()
    yield
    after = _product_env()
    if after == before:
        return
    for key in after.keys() - before.keys():
        del os.environ[key]
    os.environ.update(before)
    if os.environ.get("PROCTOR_TEST_STRICT_ENV") == "1":
        pytest.fail(f"the test left PROCTOR_* settings changed: {sorted(after.items())}")


def _name_sqlite_threads() -> None:
    """Put the test that opened an aiosqlite connection into its worker thread's name: an
    exception of that thread is reported in whichever test is running when it happens (see
    the filter for it in pyproject.toml), and the name is then the only trace of its source."""
    original = aiosqlite.core.Connection.__init__

    def named(self: aiosqlite.core.Connection, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        test = os.environ.get("PYTEST_CURRENT_TEST", "no test").rsplit(" ", 1)[0]
        self._thread.name = f"{self._thread.name} opened in {test}"

    aiosqlite.core.Connection.__init__ = named  # type: ignore[method-assign]


_name_sqlite_threads()


@pytest.fixture(autouse=True)
def _collect_after_each() -> Iterator[None]:
    """With PROCTOR_TEST_GC_EACH=1 garbage is collected after every test, so that a
    connection a test dropped unclosed warns in that test's teardown instead of in whichever
    later test the collector happens to run (how the sources of finaliser warnings are found)."""
    yield
    if GC_EACH:
        gc.collect()


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """The test PostgreSQL database, migrated once from scratch."""
    problem = asyncio.run(_postgres_reachable())
    if problem is not None:
        if REQUIRE_SERVICES:
            pytest.fail(f"PostgreSQL is required but not reachable at {POSTGRES_URL}: {problem}")
        pytest.skip(f"PostgreSQL not reachable: {problem}")
    asyncio.run(_reset_postgres_schema())
    migrate.upgrade(POSTGRES_URL)
    return POSTGRES_URL


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated once; each test gets a copy."""
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    migrate.upgrade(f"sqlite+aiosqlite:///{path}")
    return path


async def _truncate_postgres(url: str) -> None:
    engine = create_engine(url)
    async with engine.begin() as conn:
        tables = (
            await conn.execute(text("select tablename from pg_tables where schemaname = 'public'"))
        ).scalars()
        names = [t for t in tables if t not in KEEP_TABLES]
        if names:
            await conn.execute(text(f"TRUNCATE {', '.join(names)} RESTART IDENTITY CASCADE"))
    await engine.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A clean, migrated database of each kind."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "test.db"
        shutil.copy(template, path)
        yield f"sqlite+aiosqlite:///{path}"
    else:
        url: str = request.getfixturevalue("postgres_url")
        asyncio.run(_truncate_postgres(url))
        yield url


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """Settings for a test: its own database and data folder, cheap password hashing."""
    return Settings(
        database_url=database_url,
        data_dir=tmp_path / "data",
        secret_key="test-secret-key-0123456789",
        argon2_time_cost=1,
        argon2_memory_kib=64,
    )


@pytest.fixture
async def ctx(settings: Settings) -> AsyncIterator[Context]:
    """Open resources for a test."""
    context = open_context(settings)
    yield context
    await context.close()


@pytest.fixture
async def client(ctx: Context, aiohttp_client: object) -> TestClient:
    """An HTTP client against the real app."""
    return await aiohttp_client(create_app(ctx=ctx))  # type: ignore[operator,no-any-return]


def pytest_make_parametrize_id(config: pytest.Config, val: object, argname: str) -> str | None:
    """Test ids for file contents by position, not by their bytes or size: generated files
    carry their creation time (zip entries, workbook properties, so even their compressed
    size varies), and the test processes, which collect at different moments, must agree on
    every test's id. pytest numbers ids that come out the same."""
    if isinstance(val, bytes | bytearray):
        return argname
    return None
