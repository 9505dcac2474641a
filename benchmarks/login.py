"""Sign-in answer times: does the time tell a locked account from a wrong password?

Serves the real app on loopback (SQLite, production argon2 cost: time 3, 64 MiB) and signs
in over HTTP, interleaving four kinds of attempt so that machine noise hits all alike:
a wrong password on an unlocked account, any password on a locked account, an unknown
username, and a correct password (for reference). The address budget is raised so that
the attempts measure the account paths, not the 429.

    python -m benchmarks.login [--rounds 25]

Last line: wrong_ms=N locked_ms=N unknown_ms=N ok_ms=N locked_minus_wrong_ms=N
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import statistics
import tempfile
import time
from pathlib import Path

import aiohttp
from aiohttp.test_utils import TestServer

PASSWORD = "Bench-Passw0rd"  # noqa: S105 - a benchmark account


async def run(rounds: int) -> None:
    from models import Account, OrgLevel, Role, utcnow
    from proctor.kernel import migrate
    from proctor.kernel.context import open_context
    from proctor.kernel.settings import Settings
    from proctor.orgs.service import add_org
    from proctor.web.app import create_app

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'login.db'}"
        await asyncio.to_thread(migrate.upgrade, url)
        settings = Settings(
            database_url=url,
            data_dir=Path(tmp),
            secret_key="benchmark-secret-0123456789",  # noqa: S106 - throwaway database
            login_address_max_failures=100_000,
        )
        ctx = open_context(settings)
        stored = ctx.passwords.hash(PASSWORD)
        async with ctx.db.begin() as s:
            org = await add_org(s, None, OrgLevel.PROVINCE, "湖南省", "43")
            for n in range(rounds + 1):
                s.add(
                    Account(
                        username=f"user{n}",
                        display_name=f"学员{n}",
                        password_hash=stored,
                        role=Role.LEARNER,
                        org_id=org.id,
                        must_change_password=False,
                        locked_until=utcnow() + dt.timedelta(days=1) if n == rounds else None,
                    )
                )
        server = TestServer(create_app(ctx=ctx), host="127.0.0.1")
        await server.start_server()
        times: dict[str, list[float]] = {"wrong": [], "locked": [], "unknown": [], "ok": []}
        try:
            async with aiohttp.ClientSession() as http:

                async def attempt(kind: str, username: str, password: str, expect: int) -> None:
                    started = time.perf_counter()
                    async with http.post(
                        server.make_url("/api/v1/login"),
                        json={"username": username, "password": password},
                    ) as resp:
                        await resp.read()
                        assert resp.status == expect, (kind, resp.status)
                    times[kind].append((time.perf_counter() - started) * 1000)

                await attempt("ok", "user0", PASSWORD, 200)  # warm-up
                times["ok"].clear()
                for n in range(rounds):
                    # One wrong password per account: none of them reaches the lockout.
                    await attempt("wrong", f"user{n}", "not-the-password", 401)
                    await attempt("locked", f"user{rounds}", PASSWORD, 401)
                    await attempt("unknown", f"nobody{n}", PASSWORD, 401)
                    await attempt("ok", f"user{n}", PASSWORD, 200)
        finally:
            await server.close()
            await ctx.close()
    med = {k: statistics.median(v) for k, v in times.items()}
    for kind, values in times.items():
        print(
            f"{kind:8s} median {med[kind]:6.1f} ms  min {min(values):6.1f}  max {max(values):6.1f}"
        )
    print(
        f"wrong_ms={med['wrong']:.0f} locked_ms={med['locked']:.0f} "
        f"unknown_ms={med['unknown']:.0f} ok_ms={med['ok']:.0f} "
        f"locked_minus_wrong_ms={med['locked'] - med['wrong']:.1f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=25)
    asyncio.run(run(parser.parse_args().rounds))


if __name__ == "__main__":
    main()
