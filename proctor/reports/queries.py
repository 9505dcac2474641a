"""SQL of the reports: per-learner sums (rollup plus the ledger's tail) and their aggregates.

A learner's credits for a year are the rollup's sums (entries posted before the year's
cutoff) plus the entries posted since, read live from ``credit_entry``; with no rollup the
tail is the whole year. Sums are integer hundredths of signed amounts, so a reversal
cancels its entry exactly as :func:`proctor.credits.ledger.balances` nets it.

Target groups are resolved in SQL with the rule of :func:`proctor.credits.quota.most_specific`:
the year's groups ordered by depth, priority and id become one ``CASE``, the first match wins.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    and_,
    case,
    cast,
    func,
    literal,
    null,
    or_,
    select,
    type_coerce,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.selectable import Subquery

from models import (
    MONTH_KINDS,
    Course,
    CreditEntry,
    CreditKind,
    CreditSource,
    Learner,
    ReportCutoff,
    TargetGroup,
    month_column,
    report_rollup,
)
from proctor.credits.policy import CreditRules
from proctor.credits.quota import depth
from proctor.kernel.calendar import ACADEMY_TZ

KIND_OF = {"req": CreditKind.REQUIRED, "ele": CreditKind.ELECTIVE, "bon": CreditKind.BONUS}
CENTS = type_coerce(CreditEntry.amount, Integer)


@dataclass(frozen=True)
class Group:
    """A target group as the reports need it."""

    id: int
    name: str
    org_path: str
    ranks: tuple[str, ...]
    total_cents: int
    required_cents: int
    depth: int
    priority: int


async def groups_of(session: AsyncSession, year: int) -> list[Group]:
    """The year's target groups, most specific first (the order of resolution)."""
    rows = (await session.scalars(select(TargetGroup).where(TargetGroup.year == year))).all()
    groups = [
        Group(
            id=g.id,
            name=g.name,
            org_path=g.org_path,
            ranks=tuple(g.ranks or ()),
            total_cents=int(g.total_credits * 100),
            required_cents=int(g.required_credits * 100),
            depth=depth(g.org_path),
            priority=g.priority,
        )
        for g in rows
    ]
    return sorted(groups, key=lambda g: (-g.depth, -g.priority, g.id))


def _matches(g: Group, learner: type[Learner] = Learner) -> ColumnElement[bool]:
    cond = learner.org_path.startswith(g.org_path)
    return and_(cond, learner.rank.in_(g.ranks)) if g.ranks else cond


def group_case(groups: Sequence[Group], value: str) -> ColumnElement[Any]:
    """A learner's group id / quota total / quota required (cents), NULL outside every group."""
    if not groups:
        # Typed: an untyped NULL in a subquery is text to PostgreSQL.
        return cast(null(), Integer)
    return case(*((_matches(g), literal(getattr(g, value))) for g in groups), else_=null())


async def cutoff_of(session: AsyncSession, year: int) -> dt.datetime | None:
    """Up to when the rollup holds the year's ledger (None: no rollup, read it all live)."""
    row = await session.get(ReportCutoff, year)
    return None if row is None else row.cutoff


def _by_end_of(month: int, bounds: Sequence[dt.datetime]) -> ColumnElement[bool]:
    # Cumulative: entries posted before the year (history imports) count from January,
    # entries posted after it (late imports, reversals) in December.
    return CreditEntry.posted_at < bounds[month - 1] if month < 12 else literal(True)


def tail(
    year: int,
    cutoff: dt.datetime | None,
    bounds: Sequence[dt.datetime] | None,
    *,
    until: dt.datetime | None = None,
) -> Subquery:
    """Per-learner sums of the entries posted since the cutoff (or all, without rollup)."""
    cols: list[ColumnElement[int]] = [
        func.sum(case((CreditEntry.kind == KIND_OF[k], CENTS), else_=0)).label(k)
        for k in MONTH_KINDS
    ]
    cols.append(
        func.sum(case((CreditEntry.source != CreditSource.REVERSAL, 1), else_=0)).label("posts")
    )
    if bounds is not None:
        for k in MONTH_KINDS:
            for m in range(1, 13):
                cols.append(
                    func.sum(
                        case(
                            (and_(CreditEntry.kind == KIND_OF[k], _by_end_of(m, bounds)), CENTS),
                            else_=0,
                        )
                    ).label(month_column(k, m))
                )
    stmt = select(CreditEntry.learner_id, *cols).where(CreditEntry.year == year)
    if cutoff is not None:
        stmt = stmt.where(CreditEntry.posted_at >= cutoff)
    if until is not None:
        stmt = stmt.where(CreditEntry.posted_at < until)
    return stmt.group_by(CreditEntry.learner_id).subquery("tail")


def on_roll_in(year: int) -> ColumnElement[bool]:
    """Learners a year's report counts: those who joined before the year ended, and those
    with credits on record for it (imported history of someone added later). A learner
    added in 2026 with nothing for 2025 is not a 2025 learner who failed to study."""
    year_end = dt.datetime(year + 1, 1, 1, tzinfo=ACADEMY_TZ).astimezone(dt.UTC)
    on_record = (
        select(CreditEntry.id)
        .where(CreditEntry.learner_id == Learner.id, CreditEntry.year == year)
        .exists()
    )
    return or_(Learner.created_at < year_end, on_record)


def learner_figures(
    year: int,
    path: str,
    groups: Sequence[Group],
    cutoff: dt.datetime | None,
    rules: CreditRules,
    *,
    bounds: Sequence[dt.datetime] | None = None,
    include_tail: bool = True,
    unit_ids: Sequence[int] | None = None,
    learner_ids: Sequence[int] | None = None,
) -> Subquery:
    """One row per active learner of the subtree: unit, group and quota, credits by kind,
    total, postings (and with ``bounds``, credits by the end of each month).

    ``include_tail=False`` gives the rollup alone (what the unit rollup was built from).
    """
    t = tail(year, cutoff, bounds)
    r = report_rollup.c

    def both(name: str) -> ColumnElement[int]:
        live = func.coalesce(getattr(t.c, name), 0)
        if cutoff is None:
            return live
        rolled = func.coalesce(getattr(r, name), 0)
        return rolled + live if include_tail else rolled

    req, ele, bon = both("req"), both("ele"), both("bon")
    total = req + ele + bon if rules.bonus_counts_toward_total else req + ele
    cols: list[ColumnElement[Any]] = [
        Learner.id.label("learner_id"),
        Learner.name.label("name"),
        Learner.unit_id.label("unit_id"),
        Learner.org_path.label("org_path"),
        Learner.rank.label("rank"),
        group_case(groups, "id").label("group_id"),
        group_case(groups, "total_cents").label("qt"),
        group_case(groups, "required_cents").label("qr"),
        req.label("req"),
        ele.label("ele"),
        bon.label("bon"),
        total.label("total"),
        both("posts").label("posts"),
    ]
    if bounds is not None:
        for k in MONTH_KINDS:
            for m in range(1, 13):
                cols.append(both(month_column(k, m)).label(month_column(k, m)))
    stmt = select(*cols).select_from(Learner)
    if cutoff is not None:
        stmt = stmt.outerjoin(report_rollup, and_(r.learner_id == Learner.id, r.year == year))
    if include_tail or cutoff is None:
        stmt = stmt.outerjoin(t, t.c.learner_id == Learner.id)
    stmt = stmt.where(Learner.active.is_(True), Learner.org_path.startswith(path), on_roll_in(year))
    if unit_ids is not None:
        stmt = stmt.where(Learner.unit_id.in_(unit_ids))
    if learner_ids is not None:
        stmt = stmt.where(Learner.id.in_(learner_ids))
    return stmt.subquery("lf")


def behind_filter(
    lf: Subquery, groups: Sequence[Group], months: int, tolerance_pct: int
) -> ColumnElement[bool]:
    """Target learners short of the linear schedule (see :mod:`proctor.reports.progress`)."""
    from proctor.reports.progress import expected_cents

    c = lf.c
    conds = [
        and_(
            c.group_id == g.id,
            or_(
                c.total < expected_cents(g.total_cents, months, tolerance_pct),
                c.req < expected_cents(g.required_cents, months, tolerance_pct),
            ),
        )
        for g in groups
    ]
    return or_(*conds) if conds else literal(False)


def category_tail(
    year: int, path: str, cutoff: dt.datetime | None, *, until: dt.datetime | None = None
) -> Select[int, int, int]:
    """Credits by unit and course category (0: no course) of the subtree's active learners
    posted since the cutoff (all of the year without one; before ``until`` when given)."""
    category = func.coalesce(Course.category_id, 0)
    stmt = (
        select(Learner.unit_id, category.label("category_id"), func.sum(CENTS).label("cents"))
        .select_from(CreditEntry)
        .join(Learner, Learner.id == CreditEntry.learner_id)
        .outerjoin(Course, Course.id == CreditEntry.course_id)
        .where(
            CreditEntry.year == year,
            Learner.active.is_(True),
            Learner.org_path.startswith(path),
        )
    )
    if cutoff is not None:
        stmt = stmt.where(CreditEntry.posted_at >= cutoff)
    if until is not None:
        stmt = stmt.where(CreditEntry.posted_at < until)
    return stmt.group_by(Learner.unit_id, category)
