"""The resources every service call needs, opened once per process."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from functools import cached_property

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from models.db import create_engine, make_sessionmaker
from proctor.kernel.security.passwords import Passwords
from proctor.kernel.security.pii import PiiVault, load_or_create_secret
from proctor.kernel.security.windows import MemoryWindows, RedisWindows, Windows
from proctor.kernel.settings import Settings
from tracker.hotstate.redis import connect


@dataclass
class Context:
    """Settings plus the open database, PII vault, password hasher and shared counters."""

    settings: Settings
    engine: AsyncEngine
    db: async_sessionmaker[AsyncSession]
    vault: PiiVault
    passwords: Passwords
    secret: str  # root secret: PII keys and study-session tokens derive from it
    # Sliding-window counters shared by every process (Redis when configured): the
    # sign-in guards count failures in them (proctor/accounts/throttle.py).
    windows: Windows

    @cached_property
    def dummy_hash(self) -> str:
        """A hash of nothing, verified against on unknown usernames to equalise timing."""
        return self.passwords.hash(secrets.token_hex(8))

    async def close(self) -> None:
        """Release the counters' and the database's connections."""
        try:
            await self.windows.close()
        finally:
            await self.engine.dispose()


def open_context(settings: Settings) -> Context:
    """Open the resources described by the settings (no I/O until first use)."""
    if not settings.database_url:
        settings.ensure_data_dir()
    engine = create_engine(settings.effective_database_url)
    secret = load_or_create_secret(settings.secret_key, settings.data_dir)
    return Context(
        settings=settings,
        engine=engine,
        db=make_sessionmaker(engine),
        secret=secret,
        vault=PiiVault(secret),
        passwords=Passwords(settings.argon2_time_cost, settings.argon2_memory_kib),
        windows=_windows(settings),
    )


def _windows(settings: Settings) -> Windows:
    """Throttle counters where the hot state is: Redis when configured, else this process."""
    if settings.redis_url:
        client = connect(settings.redis_url, cluster=settings.redis_cluster)
        return RedisWindows(client, prefix=f"{settings.redis_prefix}login:")
    return MemoryWindows()
