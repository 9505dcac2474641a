"""Per-unit figures: the unit rollup, corrected live to match the ledger exactly.

``proctor reports refresh`` stores each unit's :class:`~proctor.reports.figures.Tally` as of
the rollup's cutoff, with a fingerprint of its learners. Reading a subtree then costs one
grouped scan of the learner table (the fingerprints now) instead of one pass over every
learner's year:

* a unit whose fingerprint differs (a learner joined, left, moved, was promoted or
  deactivated) is recomputed live, learner by learner;
* a learner with ledger entries posted since the cutoff has their rollup-time contribution
  taken away from their unit and their current one added (the same pure
  :func:`~proctor.reports.figures.contribution` built the stored figures);
* when the year's target groups or the settings the figures depend on changed, the unit
  rollup is ignored and every unit is computed live (slow at scale: refresh after such a
  change).
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from models import (
    MONTH_KINDS,
    CreditEntry,
    Learner,
    OrgUnit,
    ReportCutoff,
    month_column,
    report_unit,
)
from proctor.credits.policy import credit_rules
from proctor.kernel.calendar import ACADEMY_TZ
from proctor.kernel.context import Context
from proctor.reports import queries
from proctor.reports.figures import LearnerYear, Tally, contribution
from proctor.reports.progress import month_starts_utc

# Above this many learners with fresh entries, correcting one by one costs more than reading
# their units live.
MAX_TAIL_LEARNERS = 50_000
BATCH = 5000


def settings_key(groups: Sequence[queries.Group], ctx: Context) -> str:
    """What the stored unit figures depend on besides the ledger and the learner table."""
    data = {
        "groups": [
            [g.id, g.org_path, sorted(g.ranks), g.total_cents, g.required_cents, g.priority]
            for g in groups
        ],
        "tolerance": ctx.settings.reports_schedule_tolerance,
        "bonus": ctx.settings.bonus_counts_toward_total,
        # The schedule's formula: stored figures of an older formula are recomputed.
        "schedule": 2,
    }
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


Prints = dict[int, dict[str, list[int]]]


async def fingerprints(s: AsyncSession, path: str, unit_ids: Sequence[int] | None = None) -> Prints:
    """Each unit's learners by rank and active flag: how many, and the sum of their ids."""
    stmt = (
        select(
            Learner.unit_id,
            Learner.rank,
            Learner.active,
            func.count(),
            func.sum(Learner.id),
        )
        .where(Learner.org_path.startswith(path))
        .group_by(Learner.unit_id, Learner.rank, Learner.active)
    )
    if unit_ids is not None:
        stmt = stmt.where(Learner.unit_id.in_(unit_ids))
    out: dict[int, dict[str, list[int]]] = defaultdict(dict)
    for unit_id, rank, active, count, ids in (await s.execute(stmt)).all():
        out[unit_id][f"{rank}|{int(bool(active))}"] = [int(count), int(ids or 0)]
    return dict(out)


def _reader(keys: list[str], bonus_counts: bool) -> Any:
    """A function from a result row (a tuple) to a :class:`LearnerYear`; indices resolved once,
    since a refresh reads every learner through it."""
    at = {k: i for i, k in enumerate(keys)}
    kinds = MONTH_KINDS if bonus_counts else ("req", "ele")
    months = [[at[month_column(k, m)] for k in kinds] for m in range(1, 13)]
    reqs = [at[month_column("req", m)] for m in range(1, 13)]
    g, qt, qr, req, total, posts = (
        at[k] for k in ("group_id", "qt", "qr", "req", "total", "posts")
    )

    def read(row: Any) -> LearnerYear:
        target = row[g] is not None
        return LearnerYear(
            qt=int(row[qt]) if target else None,
            qr=int(row[qr]) if target else None,
            req=int(row[req]),
            total=int(row[total]),
            posts=int(row[posts]),
            cum_total=tuple(sum(int(row[i]) for i in idx) for idx in months),
            cum_req=tuple(int(row[i]) for i in reqs),
        )

    return read


async def learner_years(
    s: AsyncSession,
    ctx: Context,
    year: int,
    path: str,
    groups: Sequence[queries.Group],
    cutoff: Any,
    **filters: Any,
) -> AsyncIterator[tuple[int, int, LearnerYear]]:
    """(unit id, learner id, year) of the subtree's active learners, streamed."""
    lf = queries.learner_figures(
        year,
        path,
        groups,
        cutoff,
        credit_rules(ctx.settings),
        bounds=month_starts_utc(year, ACADEMY_TZ),
        **filters,
    )
    read = _reader(list(lf.c.keys()), ctx.settings.bonus_counts_toward_total)
    unit_at, learner_at = list(lf.c.keys()).index("unit_id"), list(lf.c.keys()).index("learner_id")
    result = await s.stream(select(lf).execution_options(yield_per=BATCH))
    async for part in result.partitions():
        for row in part:
            yield row[unit_at], row[learner_at], read(row)


async def live_units(
    s: AsyncSession,
    ctx: Context,
    year: int,
    path: str,
    groups: Sequence[queries.Group],
    cutoff: Any,
    **filters: Any,
) -> dict[int, Tally]:
    """Unit figures computed learner by learner (rollup plus tail)."""
    tol = ctx.settings.reports_schedule_tolerance
    out: dict[int, Tally] = {}
    async for unit_id, _, state in learner_years(s, ctx, year, path, groups, cutoff, **filters):
        out.setdefault(unit_id, Tally()).add(contribution(state, tol))
    return out


async def unit_figures(
    s: AsyncSession,
    ctx: Context,
    year: int,
    path: str,
    groups: Sequence[queries.Group],
    *,
    prints: Prints | None = None,
) -> dict[int, Tally]:
    """Figures of every unit (with learners) of the subtree, exact to the ledger now.

    ``prints``: the subtree's fingerprints when the caller already read them (one scan of
    the learners serves both years of a dashboard).
    """
    cut = await s.get(ReportCutoff, year)
    if cut is None or cut.key != settings_key(groups, ctx):
        return await live_units(s, ctx, year, path, groups, cut.cutoff if cut else None)
    rows = await s.execute(
        select(report_unit.c.unit_id, report_unit.c.stats, report_unit.c.fingerprint)
        .join(OrgUnit, OrgUnit.id == report_unit.c.unit_id)
        .where(report_unit.c.year == year, OrgUnit.path.startswith(path))
    )
    stored = {u: (stats, fp) for u, stats, fp in rows.all()}
    now = prints if prints is not None else await fingerprints(s, path)
    dirty = sorted(
        u for u in set(stored) | set(now) if u not in stored or stored[u][1] != now.get(u)
    )
    out = {u: Tally.from_json(stats) for u, (stats, _) in stored.items() if u not in dirty}
    if dirty:
        out.update(await live_units(s, ctx, year, path, groups, cut.cutoff, unit_ids=dirty))
    fresh = (
        await s.scalars(
            select(CreditEntry.learner_id)
            .where(CreditEntry.year == year, CreditEntry.posted_at >= cut.cutoff)
            .distinct()
        )
    ).all()
    if len(fresh) > MAX_TAIL_LEARNERS:
        return await live_units(s, ctx, year, path, groups, cut.cutoff)
    tol = ctx.settings.reports_schedule_tolerance
    for i in range(0, len(fresh), BATCH):
        ids = fresh[i : i + BATCH]
        for include_tail, sign in ((False, -1), (True, 1)):
            async for unit_id, _, state in learner_years(
                s, ctx, year, path, groups, cut.cutoff, learner_ids=ids, include_tail=include_tail
            ):
                if unit_id not in dirty:
                    out.setdefault(unit_id, Tally()).add(contribution(state, tol), sign)
    return out
