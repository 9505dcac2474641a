"""Liaison phones: encrypted and masked like learners', existing rows migrated."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient
from click.testing import CliRunner
from sqlalchemy import text

from models import Liaison
from models.db import create_engine
from proctor.cli import main
from proctor.kernel import migrate
from proctor.kernel.context import Context
from proctor.kernel.security.pii import PiiVault, mask_phone
from tests.factories import World, login

SECRET = "liaison-migration-secret-0123"
BEFORE = "0009"  # the revision before liaison phones were encrypted
PHONES = ["13874561234", "0731-84512345", "15900001111"]


async def _run(url: str, statement: str, *params: dict[str, object]) -> list[dict[str, object]]:
    """Execute a statement (once per parameter set) in one transaction; its rows."""
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            if params:
                await conn.execute(text(statement), list(params))
                return []
            return [dict(r._mapping) for r in await conn.execute(text(statement))]
    finally:
        await engine.dispose()


def _seed_before(url: str) -> None:
    """Liaisons as the schema before encryption stored them: phones in clear."""
    asyncio.run(
        _run(
            url,
            "INSERT INTO org_unit (id, parent_id, level, name, code, path, created_at) "
            "VALUES (901, NULL, 'province', '测试省', '99', '/901/', CURRENT_TIMESTAMP)",
            {},
        )
    )
    asyncio.run(
        _run(
            url,
            "INSERT INTO liaison (org_id, name, phone, email, created_at) "
            "VALUES (901, :name, :phone, NULL, CURRENT_TIMESTAMP)",
            *({"name": f"联络员{n}", "phone": phone} for n, phone in enumerate(PHONES)),
        )
    )


def test_migration_encrypts_existing_phones(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Phones in clear before; after `proctor db upgrade`: only ciphertext and a masked copy."""
    migrate.downgrade(database_url, BEFORE)  # the liaison table is empty: no key needed
    try:
        _seed_before(database_url)
        # Without the key the migration refuses, before changing anything.
        with pytest.raises(RuntimeError, match="proctor db upgrade"):
            migrate.upgrade(database_url)
        monkeypatch.setenv("PROCTOR_DATABASE_URL", database_url)
        monkeypatch.setenv("PROCTOR_DATA_DIR", str(tmp_path))
        # Nor does the command invent a key the application would not have.
        refused = CliRunner().invoke(main, ["db", "upgrade"])
        assert refused.exit_code != 0 and "PROCTOR_SECRET_KEY" in str(refused.exception)
        assert not (tmp_path / "secret.key").exists()
        monkeypatch.setenv("PROCTOR_SECRET_KEY", SECRET)
        result = CliRunner().invoke(main, ["db", "upgrade"])
        assert result.exit_code == 0, result.output
    finally:
        migrate.upgrade(database_url, secret=SECRET)  # leave the database at head
    rows = asyncio.run(_run(database_url, "SELECT * FROM liaison ORDER BY id"))
    assert "phone" not in rows[0]
    vault = PiiVault(SECRET)
    assert [vault.decrypt(bytes(r["phone_cipher"])) for r in rows] == PHONES  # type: ignore[arg-type]
    assert [r["phone_masked"] for r in rows] == ["138****1234", "073******2345", "159****1111"]
    dump = repr(rows)
    assert not any(phone in dump for phone in PHONES)


def test_downgrade_restores_the_phones(database_url: str) -> None:
    """The way back decrypts, with the same key."""
    migrate.downgrade(database_url, BEFORE)
    try:
        _seed_before(database_url)
        migrate.upgrade(database_url, secret=SECRET)
        migrate.downgrade(database_url, BEFORE, secret=SECRET)
        rows = asyncio.run(_run(database_url, "SELECT phone FROM liaison ORDER BY id"))
        assert [r["phone"] for r in rows] == PHONES
    finally:
        migrate.upgrade(database_url, secret=SECRET)


async def test_staff_see_a_units_liaison_with_the_phone_masked(
    client: TestClient, ctx: Context, world: World
) -> None:
    unit = world.org("芙蓉区财政局")
    async with ctx.db.begin() as s:
        s.add(
            Liaison(
                org_id=unit.id,
                name="刘敏",
                phone_cipher=ctx.vault.encrypt("13912345678"),
                phone_masked=mask_phone("13912345678"),
                email=None,
            )
        )
    resp = await client.get(f"/api/v1/orgs/{unit.id}", headers=await login(client, "fr_admin"))
    assert resp.status == 200
    body = await resp.json()
    assert body["liaisons"] == [{"name": "刘敏", "phone_masked": "139****5678", "email": None}]
    assert "13912345678" not in await resp.text()
    other = await client.get(f"/api/v1/orgs/{unit.id}", headers=await login(client, "ht_admin"))
    assert other.status == 404
