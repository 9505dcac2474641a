"""Flags page and review queue at province volumes: tens of thousands of open flags and cases.

Seeds an org tree (14 cities, 6 counties each, 10 units each: 840 units), learners over the
units, open detection flags and review cases spread over them; then times, through the same
service calls as the pages (each the median of five runs after a warm-up): the province's
first page of flags with its bounded count, a deep page (offset 5,000), a county's first page,
and the province's first page of the review queue.

    python -m benchmarks.flags                          # PostgreSQL, 60,000 flags
    python -m benchmarks.flags --sqlite --flags 20000

PostgreSQL URL: ``PROCTOR_BENCH_POSTGRES_URL`` (default the local ``bench_flags``); its public
schema is dropped and recreated.
Last line: flags_first_ms=N flags_deep_ms=N flags_county_ms=N queue_first_ms=N
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import random
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from sqlalchemy import insert, text

CITIES, COUNTIES, UNITS = 14, 6, 10
PG_URL = os.environ.get(
    "PROCTOR_BENCH_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/bench_flags"
)


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


async def seed(ctx: Any, learners: int, flags: int) -> tuple[Any, Any]:
    """Tree, learners, flags and cases; (province, first county)."""
    from models import DetectionFlag, Learner, OrgLevel, ReviewCase
    from proctor.orgs.service import add_org

    rng = random.Random(7)
    async with ctx.db.begin() as s:
        hn = await add_org(s, None, OrgLevel.PROVINCE, "湖南省", "43")
        units, county0 = [], None
        for c in range(CITIES):
            city = await add_org(s, hn, OrgLevel.CITY, f"市{c}", f"43{c:02d}")
            for k in range(COUNTIES):
                county = await add_org(s, city, OrgLevel.COUNTY, f"县{c}-{k}", f"43{c:02d}{k:02d}")
                county0 = county0 or county
                for u in range(UNITS):
                    units.append(
                        await add_org(
                            s, county, OrgLevel.UNIT, f"单位{c}-{k}-{u}", f"43{c:02d}{k:02d}{u:03d}"
                        )
                    )
    people = []
    for i in range(learners):
        unit = units[i % len(units)]
        people.append(
            {
                "name": f"学员{i}",
                "id_hash": f"h{i:08d}",
                "id_cipher": b"x",
                "id_masked": "4301**********0000",
                "birth_date": dt.date(1980, 1, 1),
                "gender": "M",
                "phone_cipher": b"x",
                "phone_masked": "138****0000",
                "unit_id": unit.id,
                "org_path": unit.path,
                "rank": "科员",
                "position": "",
                "active": True,
            }
        )
    async with ctx.db.begin() as s:
        for start in range(0, len(people), 5000):
            await s.execute(insert(Learner), people[start : start + 5000])
    now = dt.datetime.now(dt.UTC)
    flag_rows, case_rows = [], []
    for n in range(flags):
        learner_id = rng.randint(1, learners)
        unit = units[(learner_id - 1) % len(units)]
        risk = rng.random()
        flag_rows.append(
            {
                "learner_id": learner_id,
                "period_start": dt.date(2026, 3, 1),
                "period_end": dt.date(2026, 3, 7),
                "risk": risk,
                "band": "high" if risk > 0.9 else "medium" if risk > 0.6 else "low",
                "kind": "proxy",
                "rules": [],
                "drivers": [],
                "model_version": "bench",
                "thresholds": {},
                "status": "open",
                "source": "study",
                "evidence": {},
                "created_at": now,
            }
        )
        if n % 3 == 0:
            case_rows.append(
                {
                    "learner_id": learner_id,
                    "org_path": unit.path,
                    "year": 2026,
                    "period_start": dt.date(2026, 3, 1),
                    "period_end": dt.date(2026, 3, 7),
                    "category": "behaviour",
                    "kind": "proxy",
                    "risk": risk,
                    "band": "high" if risk > 0.9 else "medium",
                    "priority": int(risk * 100),
                    "state": "new",
                    "version": 1,
                    "model_version": "bench",
                    "thresholds": {},
                    "decision_reason": "",
                    "appeal_statement": "",
                    "appeal_reason": "",
                    "opened_at": now - dt.timedelta(days=rng.randint(0, 60)),
                    "updated_at": now,
                }
            )
    async with ctx.db.begin() as s:
        for start in range(0, len(flag_rows), 5000):
            await s.execute(insert(DetectionFlag), flag_rows[start : start + 5000])
        for start in range(0, len(case_rows), 5000):
            await s.execute(insert(ReviewCase), case_rows[start : start + 5000])
    async with ctx.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            await conn.execute(text("ANALYZE"))
    return hn, county0


async def timed(call: Callable[[], Awaitable[Any]], runs: int = 5) -> float:
    await call()
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        await call()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


async def run(url: str, learners: int, flags: int, data: Path) -> None:
    from models import Role
    from proctor.detection.listing import flag_page
    from proctor.kernel import migrate
    from proctor.kernel.authz import Actor
    from proctor.kernel.context import open_context
    from proctor.kernel.settings import Settings
    from proctor.review.queue import QueueFilter, queue

    if url.startswith("postgresql"):
        from models.db import create_engine

        engine = create_engine(url)
        async with engine.begin() as conn:
            await conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
        await engine.dispose()
    await asyncio.to_thread(migrate.upgrade, url)
    ctx = open_context(
        Settings(database_url=url, data_dir=data, secret_key="bench-secret-0123456789")  # noqa: S106 - a throwaway database
    )
    try:
        log(f"seeding {learners} learners, {flags} flags, {flags // 3} cases")
        hn, county = await seed(ctx, learners, flags)
        academy = Actor(1, "bench", "bench", Role.ACADEMY_ADMIN, hn.id, hn.path)
        first = await timed(lambda: flag_page(ctx, academy, limit=50))
        deep = await timed(lambda: flag_page(ctx, academy, offset=5000, limit=50))
        near = await timed(lambda: flag_page(ctx, academy, org_path=county.path, limit=50))
        cases = await timed(lambda: queue(ctx, academy, QueueFilter(limit=50)))
        total, _ = await flag_page(ctx, academy, limit=1)
        log(f"open flags counted: {total.text}")
        print(
            f"flags_first_ms={first:.0f} flags_deep_ms={deep:.0f} "
            f"flags_county_ms={near:.0f} queue_first_ms={cases:.0f}"
        )
    finally:
        await ctx.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sqlite", action="store_true")
    parser.add_argument("--learners", type=int, default=60_000)
    parser.add_argument("--flags", type=int, default=60_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/bench.db" if args.sqlite else PG_URL
        asyncio.run(run(url, args.learners, args.flags, Path(tmp)))


if __name__ == "__main__":
    main()
