"""The restore drill of docs/deploy.md, on SQLite: back up a seeded database while the key
is kept apart, restore both into a fresh data folder, and find every learner and every
credit as they were (and the personal data readable only with the kept key)."""

from __future__ import annotations

import asyncio
import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from cryptography.fernet import InvalidToken
from sqlalchemy import func, select

from models import CreditEntry, Learner
from proctor.cli import main
from proctor.demo.seed import seed_demo
from proctor.kernel.context import Context, open_context
from proctor.kernel.security.pii import PiiVault
from proctor.kernel.settings import Settings


def cli(args: list[str], data_dir: Path) -> Result:
    env = {"PROCTOR_DATA_DIR": str(data_dir), "PROCTOR_DATABASE_URL": "", "PROCTOR_SECRET_KEY": ""}
    return CliRunner().invoke(main, args, env=env)


async def state(ctx: Context) -> tuple[int, dict[int, Decimal], list[str]]:
    """Learners, each learner's credit total, and the first learners' identity numbers."""
    async with ctx.db() as s:
        learners = int(await s.scalar(select(func.count()).select_from(Learner)) or 0)
        credits = {
            lid: Decimal(total)
            for lid, total in (
                await s.execute(
                    select(CreditEntry.learner_id, func.sum(CreditEntry.amount)).group_by(
                        CreditEntry.learner_id
                    )
                )
            ).all()
        }
        ciphers = list(await s.scalars(select(Learner.id_cipher).order_by(Learner.id).limit(5)))
    return learners, credits, [ctx.vault.decrypt(c) for c in ciphers]


def settings_for(data_dir: Path) -> Settings:
    # database_url given: the drill is about this folder's file, whatever the environment.
    return Settings(data_dir=data_dir, database_url="", argon2_time_cost=1, argon2_memory_kib=64)


async def test_backup_and_restore_keep_every_learner_and_credit(tmp_path: Path) -> None:
    live, backups, keys, fresh = (tmp_path / d for d in ("live", "backups", "keys", "fresh"))
    assert (await asyncio.to_thread(cli, ["db", "upgrade"], live)).exit_code == 0
    ctx = open_context(settings_for(live))
    try:
        await seed_demo(ctx, learners=60, random_seed=3, videos=False, study_week=False)
        before = await state(ctx)
        # The backup is taken while the application has the database open.
        done = await asyncio.to_thread(cli, ["db", "backup", str(backups / "proctor.db")], live)
    finally:
        await ctx.close()
    assert done.exit_code == 0, done.output
    assert "密钥不在备份中" in done.output
    assert not (backups / "secret.key").exists()
    keys.mkdir()
    shutil.copy(live / "secret.key", keys / "secret.key")  # kept apart, e.g. in a vault
    again = await asyncio.to_thread(cli, ["db", "backup", str(backups / "proctor.db")], live)
    assert again.exit_code == 1 and "不覆盖" in again.output

    # Restore: the database file and the key into a fresh data folder, then upgrade/check.
    fresh.mkdir()
    shutil.copy(backups / "proctor.db", fresh / "proctor.db")
    shutil.copy(keys / "secret.key", fresh / "secret.key")
    for step in (["db", "upgrade"], ["db", "check"]):
        result = await asyncio.to_thread(cli, step, fresh)
        assert result.exit_code == 0, result.output
    restored = open_context(settings_for(fresh))
    try:
        after = await state(restored)
    finally:
        await restored.close()
    assert before[0] == after[0] == 60
    assert before[1] == after[1] and sum(after[1].values()) > 0
    assert before[2] == after[2]

    # Without the kept key the restored personal data stays unreadable.
    url = f"sqlite+aiosqlite:///{fresh / 'proctor.db'}"
    stranger = open_context(settings_for(fresh).model_copy(update={"database_url": url}))
    stranger.vault = PiiVault("another-key-0123456789-abcdefghij")
    try:
        with pytest.raises(InvalidToken):
            await state(stranger)
    finally:
        await stranger.close()


def test_backup_refuses_postgresql(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main,
        ["db", "backup", str(tmp_path / "x.db")],
        env={"PROCTOR_DATABASE_URL": "postgresql+asyncpg://u@h/db"},
    )
    assert result.exit_code == 1 and "pg_dump" in result.output
