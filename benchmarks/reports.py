"""Report speed at scale: the province dashboard, a city drill-down and a unit export.

Seeds an org tree (14 cities, 8 counties each, 25 units each: 2,800 units), learners spread
over the units with five ranks, two target groups, a year of ledger entries (0 to 11 per
learner, a third with a course and its category, about 1 % reversed) plus the previous year,
and review cases; then builds the rollups (``proctor reports refresh``) and posts a live tail
of fresh entries after the cutoff, so the timed reads combine both as in production.

Timed, each the median of three runs after a warm-up, through the same service calls as the
pages: the province dashboard (figures with children, categories, progress curve with the
previous year and the behind-schedule count), a city's dashboard, and a unit's XLSX export.
The baseline, measured in the same run, is one full scan of the learner table
(``SELECT count(*), sum(length(org_path)) FROM learner``), so a noisy machine shows in both.

    python -m benchmarks.reports                       # PostgreSQL, 1,000,000 learners
    python -m benchmarks.reports --sqlite --learners 20000

PostgreSQL URL: ``PROCTOR_BENCH_POSTGRES_URL`` (default the local ``bench_reports``); its
public schema is dropped and recreated.
Last line: province_dashboard_ms=N city_ms=N unit_export_ms=N
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select, text

YEAR = 2026
AS_OF = dt.date(YEAR, 10, 15)
CITIES, COUNTIES, UNITS = 14, 8, 25
RANKS = ("县处级正职", "县处级副职", "乡科级正职", "乡科级副职", "科员")
PG_URL = os.environ.get(
    "PROCTOR_BENCH_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/bench_reports"
)


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


async def build_tree(ctx: Any) -> tuple[int, int, int]:
    """Org tree, courses, target groups; (province id, first city id, first unit id)."""
    from models import Course, CourseKind, OrgLevel, TargetGroup
    from proctor.orgs.service import add_org

    async with ctx.db.begin() as s:
        hn = await add_org(s, None, OrgLevel.PROVINCE, "湖南省", "43")
        first_city = first_unit = None
        for c in range(CITIES):
            city = await add_org(s, hn, OrgLevel.CITY, f"市{c:02d}", f"43{c:02d}")
            first_city = first_city or city
            for k in range(COUNTIES):
                county = await add_org(
                    s, city, OrgLevel.COUNTY, f"县{c:02d}{k}", f"43{c:02d}{k:02d}"
                )
                for u in range(UNITS):
                    unit = await add_org(
                        s,
                        county,
                        OrgLevel.UNIT,
                        f"单位{c:02d}{k}{u:02d}",
                        f"43{c:02d}{k:02d}{u:03d}",
                    )
                    first_unit = first_unit or unit
        for i in range(40):
            s.add(
                Course(
                    code=f"B{i:03d}",
                    title=f"课程{i}",
                    category_id=1 + i % 8,
                    kind=CourseKind.REQUIRED if i % 2 == 0 else CourseKind.ELECTIVE,
                    lecture_seconds=2700 * (1 + i % 4),
                    owner_org_id=hn.id,
                    owner_path=hn.path,
                )
            )
        for year in (YEAR - 1, YEAR):
            s.add(
                TargetGroup(
                    year=year,
                    name="县处级",
                    org_id=hn.id,
                    org_path=hn.path,
                    ranks=list(RANKS[:2]),
                    total_credits=Decimal(40),
                    required_credits=Decimal(24),
                )
            )
            s.add(
                TargetGroup(
                    year=year,
                    name="首市副科及以上",
                    org_id=first_city.id,  # type: ignore[union-attr]
                    org_path=first_city.path,  # type: ignore[union-attr]
                    ranks=list(RANKS[:4]),
                    total_credits=Decimal(40),
                    required_credits=Decimal(24),
                )
            )
        await s.flush()
        return hn.id, first_city.id, first_unit.id  # type: ignore[union-attr]


PG_SEED = [
    "CREATE TEMP TABLE bu AS SELECT (row_number() OVER (ORDER BY id)) - 1 AS rn, id, path "
    "FROM org_unit WHERE level = 'unit'",
    """INSERT INTO learner (name, id_hash, id_cipher, id_masked, birth_date, gender, phone_cipher,
        phone_masked, unit_id, org_path, rank, position, active, created_at)
    SELECT '学员' || g, 'h' || g, '\\x00'::bytea, '430102********0000', date '1970-01-01' + (g % 9000),
        CASE WHEN g % 2 = 0 THEN 'M' ELSE 'F' END, '\\x00'::bytea, '138****0000', bu.id, bu.path,
        (ARRAY['县处级正职','县处级副职','乡科级正职','乡科级副职','科员'])[1 + g % 5], '', true, now()
    FROM generate_series(1, :n) g JOIN bu ON bu.rn = g % :units""",
    # A year of entries: 0..11 per learner, 2..8 credits, posted from January to October.
    """INSERT INTO credit_entry (learner_id, year, course_id, kind, amount, source, evidence,
        reason, idempotency_key, posted_at)
    SELECT l.id, y.year, CASE WHEN (l.id + k) % 3 = 0 THEN 1 + (l.id + k) % 40 END,
        CASE WHEN (l.id * 7 + k) % 9 < 5 THEN 'required' WHEN (l.id * 7 + k) % 9 < 8 THEN 'elective'
             ELSE 'bonus' END,
        100 * (2 + (l.id * 13 + k * 7) % 7), 'legacy', '{}', '', 'b:' || y.year || ':' || l.id || ':' || k,
        make_timestamptz(y.year, 1, 5, 2, 0, 0, 'UTC') + ((l.id * 31 + k * 29) % 290) * interval '1 day'
    FROM learner l CROSS JOIN (VALUES (CAST(:y0 AS integer)), (CAST(:y1 AS integer))) AS y(year) CROSS JOIN generate_series(1, 11) k
    WHERE k <= (l.id + y.year) % 12""",
    """INSERT INTO credit_entry (learner_id, year, course_id, kind, amount, source, evidence,
        reverses_id, reason, idempotency_key, posted_at)
    SELECT learner_id, year, course_id, kind, -amount, 'reversal', '{}', id, '基准冲销',
        'reversal:' || id, posted_at + interval '20 days'
    FROM credit_entry WHERE id % 97 = 0""",
    """INSERT INTO review_case (learner_id, org_path, year, period_start, period_end, category, kind,
        risk, band, priority, state, finding, version, model_version, thresholds, decision_reason,
        appeal_statement, appeal_reason, opened_at, updated_at)
    SELECT id, org_path, :y1, date '2026-03-02', date '2026-03-08', 'behaviour', 'proxy', 0.9, 'high',
        3900, CASE WHEN id % 1000 = 0 THEN 'confirmed_proxy' ELSE 'new' END,
        CASE WHEN id % 1000 = 0 THEN 'proxy_study' END, 1, 'bench', '{}', '', '', '', now(), now()
    FROM learner WHERE id % 500 = 0""",
]


async def seed_postgres(ctx: Any, n: int) -> None:
    async with ctx.engine.begin() as conn:
        units = (
            await conn.execute(text("SELECT count(*) FROM org_unit WHERE level = 'unit'"))
        ).scalar_one()
        for sql in PG_SEED:
            t0 = time.perf_counter()
            await conn.execute(text(sql), {"n": n, "units": units, "y0": YEAR - 1, "y1": YEAR})
            log(f"  {sql.split()[0]} {sql.split()[2]}: {time.perf_counter() - t0:.1f} s")
    async with ctx.engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text("VACUUM ANALYZE"))


async def seed_sqlite(ctx: Any, n: int) -> None:
    """The same data as the PostgreSQL seed, generated in Python."""
    from models import CreditEntry, Learner, OrgLevel, OrgUnit, ReviewCase, utcnow

    async with ctx.db.begin() as s:
        units = (
            await s.execute(
                select(OrgUnit.id, OrgUnit.path)
                .where(OrgUnit.level == OrgLevel.UNIT)
                .order_by(OrgUnit.id)
            )
        ).all()
        now = utcnow()
        rows = []
        for g in range(1, n + 1):
            uid, path = units[g % len(units)]
            rows.append(
                {
                    "name": f"学员{g}",
                    "id_hash": f"h{g}",
                    "id_cipher": b"\0",
                    "id_masked": "430102********0000",
                    "birth_date": dt.date(1970, 1, 1) + dt.timedelta(days=g % 9000),
                    "gender": "M" if g % 2 == 0 else "F",
                    "phone_cipher": b"\0",
                    "phone_masked": "138****0000",
                    "unit_id": uid,
                    "org_path": path,
                    "rank": RANKS[g % 5],
                    "position": "",
                    "active": True,
                    "created_at": now,
                }
            )
        await s.execute(insert(Learner), rows)
        entries = []
        for lid in range(1, n + 1):
            for year in (YEAR - 1, YEAR):
                for k in range(1, 12):
                    if k > (lid + year) % 12:
                        break
                    m = (lid * 7 + k) % 9
                    entries.append(
                        {
                            "learner_id": lid,
                            "year": year,
                            "course_id": 1 + (lid + k) % 40 if (lid + k) % 3 == 0 else None,
                            "kind": "required" if m < 5 else "elective" if m < 8 else "bonus",
                            "amount": Decimal(2 + (lid * 13 + k * 7) % 7),
                            "source": "legacy",
                            "evidence": {},
                            "reason": "",
                            "idempotency_key": f"b:{year}:{lid}:{k}",
                            "posted_at": dt.datetime(year, 1, 5, 2, tzinfo=dt.UTC)
                            + dt.timedelta(days=(lid * 31 + k * 29) % 290),
                        }
                    )
        await s.execute(insert(CreditEntry), entries)
        victims = (await s.execute(select(CreditEntry).where(CreditEntry.id % 97 == 0))).scalars()
        await s.execute(
            insert(CreditEntry),
            [
                {
                    "learner_id": e.learner_id,
                    "year": e.year,
                    "course_id": e.course_id,
                    "kind": e.kind,
                    "amount": -e.amount,
                    "source": "reversal",
                    "evidence": {},
                    "reverses_id": e.id,
                    "reason": "基准冲销",
                    "idempotency_key": f"reversal:{e.id}",
                    "posted_at": e.posted_at + dt.timedelta(days=20),
                }
                for e in victims
            ],
        )
        learners = (
            await s.execute(select(Learner.id, Learner.org_path).where(Learner.id % 500 == 0))
        ).all()
        for lid, path in learners:
            s.add(
                ReviewCase(
                    learner_id=lid,
                    org_path=path,
                    year=YEAR,
                    period_start=dt.date(YEAR, 3, 2),
                    period_end=dt.date(YEAR, 3, 8),
                    category="behaviour",
                    kind="proxy",
                    risk=0.9,
                    band="high",
                    priority=3900,
                    state="confirmed_proxy" if lid % 1000 == 0 else "new",
                    finding="proxy_study" if lid % 1000 == 0 else None,
                    updated_at=now,
                )
            )


async def live_tail(ctx: Any, n: int) -> None:
    """Entries posted after the rollup's cutoff: the reports must read them live."""
    from models import CreditEntry, CreditKind, CreditSource

    async with ctx.db.begin() as s:
        await s.execute(
            insert(CreditEntry),
            [
                {
                    "learner_id": lid,
                    "year": YEAR,
                    "course_id": None,
                    "kind": CreditKind.ELECTIVE,
                    "amount": Decimal("1.5"),
                    "source": CreditSource.LEGACY,
                    "evidence": {},
                    "reason": "",
                    "idempotency_key": f"tail:{lid}",
                }
                for lid in range(1, n + 1, max(1, n // 2000))
            ],
        )


async def timed(fn: Callable[[], Awaitable[Any]], runs: int = 3) -> float:
    """Median milliseconds of ``runs`` calls after one warm-up."""
    await fn()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        await fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


async def run(url: str, n: int, sqlite: bool) -> None:
    from models import Account, Role
    from proctor.kernel import migrate
    from proctor.kernel.authz import Actor
    from proctor.kernel.context import open_context
    from proctor.kernel.settings import Settings
    from proctor.reports import export, rollup, service

    if not sqlite:
        from models.db import create_engine

        engine = create_engine(url)
        async with engine.begin() as conn:
            await conn.execute(text("DROP SCHEMA public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
        await engine.dispose()
    await asyncio.to_thread(migrate.upgrade, url)
    tmp = Path(tempfile.mkdtemp(prefix="bench-reports-"))
    ctx = open_context(
        Settings(database_url=url, data_dir=tmp, secret_key="bench-secret-0123456789")  # noqa: S106 - throwaway
    )
    try:
        t0 = time.perf_counter()
        province, city, unit = await build_tree(ctx)
        await (seed_sqlite(ctx, n) if sqlite else seed_postgres(ctx, n))
        async with ctx.db() as s:
            entries = (await s.execute(text("SELECT count(*) FROM credit_entry"))).scalar_one()
        log(f"seeded {n} learners, {entries} ledger entries in {time.perf_counter() - t0:.0f} s")
        t0 = time.perf_counter()
        for year in (YEAR - 1, YEAR):
            await rollup.refresh(ctx, year)
        log(f"rollups built in {time.perf_counter() - t0:.1f} s")
        await live_tail(ctx, n)
        async with ctx.db.begin() as s:
            account = Account(
                username="bench",
                display_name="基准",
                password_hash="x",  # noqa: S106 - never signs in
                role=Role.ACADEMY_ADMIN,
                org_id=province,
                must_change_password=False,
            )
            s.add(account)
            await s.flush()
            actor = Actor(account.id, "bench", "基准", Role.ACADEMY_ADMIN, province, "/1/")

        async def dashboard(org: int) -> None:
            # What /reports serves: figures, children, categories, the curve of both years.
            await service.dashboard(ctx, actor, org, YEAR, AS_OF)

        async def unit_export() -> None:
            report = await service.node_report(ctx, actor, unit, YEAR)
            _, _, lines = await service.learner_lines(
                ctx, actor, unit, YEAR, as_of=AS_OF, limit=100_000
            )
            export.unit_report(report, lines)

        async def baseline() -> None:
            async with ctx.db() as s:
                await s.execute(text("SELECT count(*), sum(length(org_path)) FROM learner"))

        base = await timed(baseline)
        prov = await timed(lambda: dashboard(province))
        cty = await timed(lambda: dashboard(city))
        exp = await timed(unit_export)
        engine = "sqlite" if sqlite else "postgresql"
        print(
            f"{engine}: {n} learners, {entries} ledger entries; baseline (learner table scan) "
            f"{base:.0f} ms; province dashboard {prov / base:.1f}x baseline"
        )
        print(f"baseline_ms={base:.0f}")
        print(f"province_dashboard_ms={prov:.0f} city_ms={cty:.0f} unit_export_ms={exp:.0f}")
    finally:
        await ctx.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--learners", type=int, default=None)
    parser.add_argument("--sqlite", action="store_true", help="a smaller run on a SQLite file")
    args = parser.parse_args()
    if args.sqlite:
        n = args.learners or 20_000
        url = f"sqlite+aiosqlite:///{Path(tempfile.mkdtemp(prefix='bench-sqlite-')) / 'bench.db'}"
    else:
        n = args.learners or 1_000_000
        url = PG_URL
    asyncio.run(run(url, n, args.sqlite))


if __name__ == "__main__":
    main()
