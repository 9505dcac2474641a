"""A consistent copy of the embedded SQLite database while it is in use.

PostgreSQL deployments back up with the database's own tools (pg_basebackup with WAL
archiving, or pg_dump; docs/deploy.md). The secret key never goes into a backup: it is
kept apart, and a restore needs both (docs/deploy.md, "Backup and restore").
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from urllib.parse import urlsplit

from proctor.kernel.errors import InvalidInput


def sqlite_path(url: str) -> Path:
    """The file of a ``sqlite+aiosqlite:///path`` URL; refuses other databases."""
    parts = urlsplit(url)
    if not parts.scheme.startswith("sqlite"):
        raise InvalidInput(
            "仅内置 SQLite 数据库可用此命令备份；PostgreSQL 请用 pg_basebackup 或 pg_dump"
        )
    return Path(url.split(":///", 1)[1])


def backup_sqlite(url: str, dest: Path) -> int:
    """Copy the database page by page with SQLite's online backup (writers may go on);
    returns the copy's size in bytes. An existing ``dest`` is refused."""
    source = sqlite_path(url)
    if not source.exists():
        raise InvalidInput(f"数据库文件不存在：{source}")
    if dest.exists():
        raise InvalidInput(f"目标文件已存在，不覆盖：{dest}")
    dest.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(source) as src, sqlite3.connect(dest) as out:
        src.backup(out)
    return dest.stat().st_size
