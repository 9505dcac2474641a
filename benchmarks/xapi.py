"""xAPI export speed: building statements from the raw trace, and delivering them to an LRS.

Simulates a population through the real tracker (``proctor simulate``), then times the
scan that replays every registration's trace and enqueues the statements
(``enqueue_since``), and the delivery of the whole outbox to a Ralph LRS on loopback (its
file-system backend, as in the tests; it re-reads its whole file on every write to check
ids, so its figure falls as the file grows and says little about a production LRS).

    python -m benchmarks.xapi                          # SQLite, 100 learners, 5 days
    python -m benchmarks.xapi --postgres --learners 300

PostgreSQL URL: ``PROCTOR_BENCH_POSTGRES_URL`` (default the local ``bench_xapi``); its
public schema is dropped and recreated.
Last line: sessions=N statements=N export_stmt_per_s=N deliver_stmt_per_s=N
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from sqlalchemy import text

PG_URL = os.environ.get(
    "PROCTOR_BENCH_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/bench_xapi"
)
LAUNCHER = Path(__file__).resolve().parent.parent / "tests" / "proctor" / "xapi" / "ralph_server.py"


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def start_ralph(home: Path) -> tuple[subprocess.Popen[bytes], str, str]:
    """Ralph's LRS on a free loopback port; (process, endpoint, secret)."""
    import bcrypt

    secret = secrets.token_urlsafe(16)
    hashed = bcrypt.hashpw(secret.encode(), bcrypt.gensalt(rounds=4)).decode()
    (home / "auth.json").write_text(
        json.dumps(
            [
                {
                    "username": "proctor",
                    "hash": hashed,
                    "scopes": ["all"],
                    "agent": {"mbox": "mailto:bench@example.org"},
                }
            ]
        )
    )
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {
        **os.environ,
        "RALPH_APP_DIR": str(home),
        "RALPH_AUTH_FILE": str(home / "auth.json"),
        "RALPH_RUNSERVER_BACKEND": "fs",
        "RALPH_BACKENDS__LRS__FS__DEFAULT_DIRECTORY_PATH": str(home),
        "LOG_LEVEL": "warning",
    }
    out = (home / "ralph.log").open("wb")
    proc = subprocess.Popen(  # noqa: S603 - our own interpreter, fixed arguments
        [sys.executable, str(LAUNCHER), str(port)],
        cwd=home,
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/__heartbeat__", timeout=5).close()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("Ralph did not start") from None
            time.sleep(0.2)
    return proc, f"http://127.0.0.1:{port}/xAPI", secret


async def run(url: str, data_dir: Path, learners: int, days: int) -> str:
    from proctor.kernel.context import open_context
    from proctor.kernel.settings import Settings
    from proctor.simulate.run import simulate
    from proctor.xapi.delivery import send_due
    from proctor.xapi.export import enqueue_since

    settings = Settings(
        database_url=url,
        data_dir=data_dir,
        secret_key="bench-secret-0123456789",  # noqa: S106 - a throwaway database
        xapi_homepage="https://academy.example.org",
        xapi_endpoint="http://127.0.0.1:9/xAPI",
    )
    ctx = open_context(settings)
    try:
        t = time.perf_counter()
        sim = await simulate(ctx, seed=7, learners=learners, days=days)
        log(
            f"simulated {sim.sessions} sessions, {sim.beats} beats in {time.perf_counter() - t:.1f} s"
        )
        t = time.perf_counter()
        done = await enqueue_since(ctx, dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
        export_s = time.perf_counter() - t
        log(
            f"export: {done.sessions} sessions, {done.attempts} attempts, {done.statements} statements "
            f"in {export_s:.2f} s ({done.statements / export_s:.0f} statements/s)"
        )
        with tempfile.TemporaryDirectory(prefix="bench-ralph-") as home:
            proc, endpoint, secret = start_ralph(Path(home))
            try:
                ctx.settings = ctx.settings.model_copy(
                    update={"xapi_endpoint": endpoint, "xapi_key": "proctor", "xapi_secret": secret}
                )
                t = time.perf_counter()
                sent = await send_due(ctx, 10_000_000)
                deliver_s = time.perf_counter() - t
            finally:
                proc.terminate()
                proc.wait(10)
        log(
            f"delivered {sent} statements to Ralph (fs) in {deliver_s:.2f} s ({sent / deliver_s:.0f}/s)"
        )
        if sent != done.statements:
            raise SystemExit(f"delivered {sent} of {done.statements}")
        return (
            f"sessions={done.sessions} statements={done.statements} "
            f"export_stmt_per_s={done.statements / export_s:.0f} "
            f"deliver_stmt_per_s={sent / deliver_s:.0f}"
        )
    finally:
        await ctx.close()


async def reset_postgres(url: str) -> None:
    from models.db import create_engine

    engine = create_engine(url.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
    name = url.rsplit("/", 1)[1]
    async with engine.connect() as conn:
        exists = await conn.scalar(
            text("select 1 from pg_database where datname = :n"), {"n": name}
        )
        if not exists:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
    await engine.dispose()
    engine = create_engine(url)
    async with engine.begin() as conn:
        await conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        await conn.execute(text("CREATE SCHEMA public"))
    await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--learners", type=int, default=100)
    parser.add_argument("--days", type=int, default=5)
    args = parser.parse_args()
    from proctor.kernel import migrate

    with tempfile.TemporaryDirectory(prefix="bench-xapi-") as tmp:
        if args.postgres:
            asyncio.run(reset_postgres(PG_URL))
            url = PG_URL
        else:
            url = f"sqlite+aiosqlite:///{tmp}/bench.db"
        migrate.upgrade(url)
        print(asyncio.run(run(url, Path(tmp), args.learners, args.days)))


if __name__ == "__main__":
    main()
