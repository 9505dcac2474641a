"""Rebuild a year's pre-aggregate of the ledger (``proctor reports refresh``).

The rollup stops ``reports_rollup_margin_minutes`` before the clock: ledger postings commit
within a second (the evidence writer's batches), so every entry posted before the cutoff is
committed when the rollup reads it, and the reports read everything after it live. Rebuilding
is one transaction: readers see the old rollup with its old cutoff, or the new one with its.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, func, insert, literal, select

from models import (
    MONTH_KINDS,
    ReportCutoff,
    month_column,
    report_category,
    report_rollup,
    report_unit,
    utcnow,
)
from proctor.kernel.calendar import ACADEMY_TZ
from proctor.kernel.context import Context
from proctor.reports import queries, units
from proctor.reports.figures import Tally
from proctor.reports.progress import month_starts_utc
from proctor.reports.queries import category_tail, tail


async def refresh(ctx: Context, year: int, *, now: dt.datetime | None = None) -> int:
    """Rebuild the year's rollup up to now minus the margin; the number of learners in it."""
    cutoff = (now or utcnow()) - dt.timedelta(minutes=ctx.settings.reports_rollup_margin_minutes)
    t = tail(year, None, month_starts_utc(year, ACADEMY_TZ), until=cutoff)
    names = ["req", "ele", "bon", "posts"] + [
        month_column(k, m) for k in MONTH_KINDS for m in range(1, 13)
    ]
    async with ctx.db.begin() as s:
        if ctx.engine.dialect.name == "postgresql":
            # One snapshot for the rollup, the unit figures and their fingerprints.
            await s.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        await s.execute(delete(report_rollup).where(report_rollup.c.year == year))
        await s.execute(delete(report_category).where(report_category.c.year == year))
        await s.execute(
            insert(report_rollup).from_select(
                ["year", "learner_id", *names],
                select(literal(year), t.c.learner_id, *(t.c[n] for n in names)),
            )
        )
        cats = category_tail(year, "/", None, until=cutoff).subquery()
        await s.execute(
            insert(report_category).from_select(
                ["year", "unit_id", "category_id", "cents"],
                select(literal(year), cats.c.unit_id, cats.c.category_id, cats.c.cents),
            )
        )
        count = int(
            await s.scalar(
                select(func.count()).select_from(report_rollup).where(report_rollup.c.year == year)
            )
            or 0
        )
        await s.execute(delete(report_unit).where(report_unit.c.year == year))
        groups = await queries.groups_of(s, year)
        # The units' figures as of the cutoff: the rollup alone, no tail.
        stats = await units.live_units(s, ctx, year, "/", groups, cutoff, include_tail=False)
        prints = await units.fingerprints(s, "/")
        rows = [
            {
                "year": year,
                "unit_id": unit_id,
                "stats": stats.get(unit_id, Tally()).to_json(),
                "fingerprint": fp,
            }
            for unit_id, fp in prints.items()
        ]
        for i in range(0, len(rows), 1000):
            await s.execute(insert(report_unit), rows[i : i + 1000])
        key = units.settings_key(groups, ctx)
        row = await s.get(ReportCutoff, year)
        if row is None:
            s.add(
                ReportCutoff(year=year, cutoff=cutoff, built_at=utcnow(), learners=count, key=key)
            )
        else:
            row.cutoff, row.built_at, row.learners, row.key = cutoff, utcnow(), count, key
    return count
