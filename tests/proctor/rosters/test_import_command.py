"""`proctor rosters import`: a workbook uploaded from the command line as a staff member,
with progress, into the same pending batch the page makes."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select

from models import RosterBatch
from proctor.cli import main
from proctor.kernel.context import Context
from proctor.kernel.settings import Settings
from tests.factories import World
from tests.proctor.rosters.helpers import person, xlsx


@pytest.fixture
def env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROCTOR_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("PROCTOR_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("PROCTOR_SECRET_KEY", settings.secret_key)


async def test_import_as_a_liaison_with_progress(
    ctx: Context, world: World, env: None, tmp_path: Path
) -> None:
    book = tmp_path / "花名册.xlsx"
    book.write_bytes(xlsx([person("陈静", 501), person("刘洋", 502, unit="不存在的单位")]))
    result = await _invoke(["rosters", "import", str(book), "--as", "fr_liaison"])
    assert result.exit_code == 0, result.output
    assert "花名册导入·读取文件：0/3" in result.output
    assert "花名册导入·加密并保存：3/3（100%）" in result.output
    assert "2 行，其中 1 行有误" in result.output
    async with ctx.db() as s:
        (batch,) = (await s.scalars(select(RosterBatch))).all()
    assert (batch.total_rows, batch.error_rows, batch.filename) == (2, 1, "花名册.xlsx")

    refused = await _invoke(["rosters", "import", str(book), "--as", "nobody"])
    assert refused.exit_code == 1 and "账号不存在或已停用：nobody" in refused.output
    learner = await _invoke(["rosters", "import", str(book), "--as", "zhang"])
    assert learner.exit_code == 1 and "无权" in learner.output
    async with ctx.db() as s:
        assert len((await s.scalars(select(RosterBatch))).all()) == 1


async def _invoke(args: list[str]) -> Result:
    # The command runs its own event loop: give it a thread.
    return await asyncio.to_thread(CliRunner().invoke, main, args)
