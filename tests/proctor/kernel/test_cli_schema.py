"""A command run against a database that was never migrated says what to do, on both
databases, instead of printing a traceback."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from models.db import create_engine
from proctor.cli import main
from tests.conftest import POSTGRES_URL


def _run(args: list[str], url: str, data: Path) -> tuple[int, str]:
    env = {"PROCTOR_DATABASE_URL": url, "PROCTOR_DATA_DIR": str(data)}
    result = CliRunner().invoke(main, args, env=env)
    return result.exit_code, result.output


@pytest.mark.parametrize(
    "args",
    [
        ["exams", "analyse"],
        ["exams", "analyse", "--exam", "4"],
        ["detect", "--start", "2026-01-01", "--end", "2026-01-31"],
    ],
)
def test_an_empty_sqlite_database_is_named_with_the_command_that_fixes_it(
    args: list[str], tmp_path: Path
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
    code, out = _run(args, url, tmp_path)
    assert code == 1, out
    assert "尚未建表或版本较旧" in out and "proctor db upgrade" in out
    assert "Traceback" not in out


async def _database(name: str, create: bool) -> None:
    base = POSTGRES_URL.rsplit("/", 1)[0]
    engine = create_engine(f"{base}/postgres").execution_options(isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            if create:
                await conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        await engine.dispose()


async def test_an_empty_postgres_database_is_named_too(postgres_url: str, tmp_path: Path) -> None:
    name = postgres_url.rsplit("/", 1)[1] + "_never_migrated"
    await _database(name, create=True)
    try:
        url = postgres_url.rsplit("/", 1)[0] + f"/{name}"
        code, out = await asyncio.to_thread(_run, ["exams", "analyse"], url, tmp_path)
    finally:
        await _database(name, create=False)
    assert code == 1, out
    assert "尚未建表或版本较旧" in out and "exam_attempt" in out and "***" in out


def test_a_mistyped_setting_is_named_without_a_traceback(tmp_path: Path) -> None:
    """A PROCTOR_* variable that does not parse printed pydantic's traceback before."""
    env = {"PROCTOR_DATA_DIR": str(tmp_path), "PROCTOR_PORT": "abc"}
    result = CliRunner().invoke(main, ["exams", "analyse"], env=env)
    assert result.exit_code == 1, result.output
    assert "PROCTOR_PORT" in result.output and "'abc'" in result.output
    assert "Traceback" not in result.output
