"""Reports for an org node and year, within the actor's authority (Art. 14).

A node outside the actor's subtree is 404, as everywhere else. Every figure comes from the
ledger (through :mod:`proctor.reports.queries`) and the review cases; nothing is cached
between requests except the rollup, which the live tail completes.
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import case, distinct, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from models import (
    CaseState,
    CourseCategory,
    ExcellenceBar,
    OrgUnit,
    ReviewCase,
    Role,
    report_category,
)
from proctor.credits.policy import credit_rules
from proctor.kernel.authz import Actor
from proctor.kernel.calendar import ACADEMY_TZ
from proctor.kernel.context import Context
from proctor.kernel.errors import InvalidInput
from proctor.orgs.service import get_in_scope
from proctor.reports import figures, queries, units
from proctor.reports.figures import Tally
from proctor.reports.progress import elapsed_months

# Who reads reports: liaisons (their unit, Art. 9), organisation and academy administrators.
REPORT_ROLES = frozenset({Role.LIAISON, Role.ORG_ADMIN, Role.ACADEMY_ADMIN})
OPEN_STATES = (CaseState.NEW, CaseState.IN_REVIEW, CaseState.APPEALED)
LEVEL_NAMES = {"province": "省", "city": "市州", "county": "县市区", "unit": "单位"}
NO_CATEGORY = "历史导入（无课程）"


@dataclass(frozen=True)
class Node:
    """An org node as reports show it."""

    id: int
    name: str
    level: str
    path: str

    def as_dict(self) -> dict[str, Any]:
        """JSON shape."""
        return {"id": self.id, "name": self.name, "level": self.level}


def _node(org: OrgUnit) -> Node:
    return Node(org.id, org.name, org.level.value, org.path)


@dataclass
class NodeReport:
    """A node's figures for a year, its children's, and the breakdowns."""

    node: Node
    year: int
    trail: list[Node]
    tally: Tally
    children: list[tuple[Node, Tally]]
    categories: list[tuple[str, Decimal]]
    groups: list[dict[str, Any]]
    rollup_cutoff: dt.datetime | None = None
    own: Tally | None = None  # learners attached to the node itself

    def as_dict(self) -> dict[str, Any]:
        """JSON shape."""
        return {
            "org": self.node.as_dict(),
            "year": self.year,
            "trail": [n.as_dict() for n in self.trail],
            "target_groups": self.groups,
            "figures": figures.summary(self.tally),
            "distribution": figures.distribution(self.tally),
            "categories": [{"category": n, "credits": c} for n, c in self.categories],
            "children": [
                {"org": n.as_dict(), "figures": figures.summary(t)} for n, t in self.children
            ],
            "own_learners": None if self.own is None else figures.summary(self.own),
        }


@dataclass
class Scope:
    """What every report query of a node needs, loaded once."""

    node: OrgUnit
    year: int
    groups: list[queries.Group]
    cutoff: dt.datetime | None
    orgs: dict[int, OrgUnit] = field(default_factory=dict)


def check_year(year: int) -> int:
    """A credit year the reports accept."""
    if not 2000 <= year <= 2100:
        raise InvalidInput("年度应在 2000 到 2100 之间", field="year")
    return year


async def open_scope(
    s: AsyncSession, actor: Actor, org_id: int | None, year: int, *, tree: bool = True
) -> Scope:
    """The node (404 outside the actor's subtree), the year's groups and rollup cutoff."""
    actor.require(REPORT_ROLES, "查看统计报表")
    node = await get_in_scope(s, actor, org_id if org_id is not None else actor.org_id)
    scope = Scope(
        node=node,
        year=check_year(year),
        groups=await queries.groups_of(s, year),
        cutoff=await queries.cutoff_of(s, year),
    )
    if tree:
        rows = await s.scalars(select(OrgUnit).where(OrgUnit.path.startswith(node.path)))
        scope.orgs = {o.id: o for o in rows}
    return scope


def _path_id(path: str) -> int:
    return int(path.strip("/").rsplit("/", 1)[-1])


def _child_of(scope: Scope, org_id: int) -> int | None:
    """The node's direct child holding ``org_id`` (None: the node itself)."""
    org = scope.orgs.get(org_id)
    if org is None or org.id == scope.node.id:
        return None
    rest = org.path[len(scope.node.path) :].strip("/").split("/")
    return int(rest[0])


async def unit_tallies(
    s: AsyncSession, scope: Scope, ctx: Context, prints: units.Prints | None = None
) -> dict[int, Tally]:
    """Tallies per org node learners are attached to, cases included."""
    out = await units.unit_figures(s, ctx, scope.year, scope.node.path, scope.groups, prints=prints)
    cases = await s.execute(
        select(
            ReviewCase.org_path,
            func.sum(case((ReviewCase.finding.is_not(None), 1), else_=0)),
            func.count(distinct(case((ReviewCase.finding.is_not(None), ReviewCase.learner_id)))),
            func.sum(case((ReviewCase.state.in_(OPEN_STATES), 1), else_=0)),
        )
        .where(ReviewCase.year == scope.year, ReviewCase.org_path.startswith(scope.node.path))
        .group_by(ReviewCase.org_path)
    )
    for path, found, learners, open_ in cases.all():
        t = out.setdefault(_path_id(path), Tally())
        t.findings += int(found or 0)
        t.findings_learners += int(learners or 0)
        t.open_cases += int(open_ or 0)
    return out


async def _categories(s: AsyncSession, scope: Scope) -> list[tuple[str, Decimal]]:
    cents: dict[int, int] = {}
    live = queries.category_tail(scope.year, scope.node.path, scope.cutoff)
    for row in (await s.execute(live)).all():
        cat, amount = row[1], row[2]
        cents[int(cat)] = cents.get(int(cat), 0) + int(amount or 0)
    if scope.cutoff is not None:
        rolled = (
            select(report_category.c.category_id, func.sum(report_category.c.cents))
            .join(OrgUnit, OrgUnit.id == report_category.c.unit_id)
            .where(report_category.c.year == scope.year, OrgUnit.path.startswith(scope.node.path))
            .group_by(report_category.c.category_id)
        )
        for cat, amount in (await s.execute(rolled)).all():
            cents[int(cat)] = cents.get(int(cat), 0) + int(amount or 0)
    names = dict((await s.execute(select(CourseCategory.id, CourseCategory.name))).all())
    order = dict((await s.execute(select(CourseCategory.id, CourseCategory.ordinal))).all())
    return [
        (names.get(cat, NO_CATEGORY) if cat else NO_CATEGORY, figures.credits(c))
        for cat, c in sorted(cents.items(), key=lambda kv: (kv[0] == 0, order.get(kv[0], 0)))
        if c != 0
    ]


async def _trail(s: AsyncSession, actor: Actor, node: OrgUnit) -> list[Node]:
    """The node's ancestors the actor may open, then the node (the drill-down breadcrumb)."""
    ids = [int(x) for x in node.path.strip("/").split("/")]
    rows = {o.id: o for o in await s.scalars(select(OrgUnit).where(OrgUnit.id.in_(ids)))}
    return [_node(rows[i]) for i in ids if i in rows and actor.covers(rows[i].path)]


async def repeatable(s: AsyncSession, ctx: Context) -> None:
    """One snapshot for the whole read: a refresh committing half-way cannot mix two rollups."""
    if ctx.engine.dialect.name == "postgresql":
        await s.connection(execution_options={"isolation_level": "REPEATABLE READ"})


async def _node_report(
    s: AsyncSession, ctx: Context, actor: Actor, scope: Scope, per_unit: dict[int, Tally]
) -> NodeReport:
    kids = {o.id: Tally() for o in scope.orgs.values() if o.parent_id == scope.node.id}
    own = Tally()
    for org_id_, t in per_unit.items():
        child = _child_of(scope, org_id_)
        (own if child is None else kids.setdefault(child, Tally())).add(t)
    children = sorted(
        ((_node(scope.orgs[k]), t) for k, t in kids.items() if k in scope.orgs),
        key=lambda nt: scope.orgs[nt[0].id].code,
    )
    has_own = own.target + own.other > 0
    return NodeReport(
        node=_node(scope.node),
        year=scope.year,
        trail=await _trail(s, actor, scope.node),
        tally=figures.total(per_unit.values()),
        children=children,
        categories=await _categories(s, scope),
        groups=[
            {
                "name": g.name,
                "ranks": list(g.ranks),
                "total": figures.credits(g.total_cents),
                "required": figures.credits(g.required_cents),
            }
            for g in scope.groups
            # Groups covering the node, or covering part of it.
            if scope.node.path.startswith(g.org_path) or g.org_path.startswith(scope.node.path)
        ],
        rollup_cutoff=scope.cutoff,
        own=own if has_own and children else None,
    )


async def node_report(ctx: Context, actor: Actor, org_id: int | None, year: int) -> NodeReport:
    """The figures of a node and its direct children for a year."""
    async with ctx.db() as s:
        await repeatable(s, ctx)
        scope = await open_scope(s, actor, org_id, year)
        return await _node_report(s, ctx, actor, scope, await unit_tallies(s, scope, ctx))


async def dashboard(
    ctx: Context, actor: Actor, org_id: int | None, year: int, as_of: dt.date | None = None
) -> tuple[NodeReport, Curve]:
    """A node's report and its progress curve in one snapshot, reading the learners once."""
    async with ctx.db() as s:
        await repeatable(s, ctx)
        scope = await open_scope(s, actor, org_id, year)
        prints = await units.fingerprints(s, scope.node.path)
        per_unit = await unit_tallies(s, scope, ctx, prints)
        report = await _node_report(s, ctx, actor, scope, per_unit)
        last = await _year_tally(s, ctx, scope.node, year - 1, prints)
    return report, _curve(report.node, year, as_of, report.tally, last)


@dataclass(frozen=True)
class LearnerLine:
    """One learner's year, as the drill-down's last level lists it."""

    learner_id: int
    name: str
    unit: str
    rank: str
    target_group: str | None
    required: Decimal
    elective: Decimal
    bonus: Decimal
    total: Decimal
    quota_total: Decimal | None
    quota_required: Decimal | None
    quota_met: bool | None
    behind: bool
    findings: int
    open_cases: int
    barred: bool

    def as_dict(self) -> dict[str, Any]:
        """JSON shape."""
        return dict(self.__dict__)


async def learner_lines(
    ctx: Context,
    actor: Actor,
    org_id: int | None,
    year: int,
    *,
    only_behind: bool = False,
    only_candidates: bool = False,
    as_of: dt.date | None = None,
    limit: int = 200,
    offset: int = 0,
) -> tuple[Node, int, list[LearnerLine]]:
    """Learners of a node (paged): all, those behind schedule, or award candidates."""
    from proctor.reports.progress import is_behind

    tolerance = ctx.settings.reports_schedule_tolerance
    months = elapsed_months(year, as_of or dt.datetime.now(ACADEMY_TZ).date())
    async with ctx.db() as s:
        scope = await open_scope(s, actor, org_id, year, tree=False)
        lf = queries.learner_figures(
            scope.year, scope.node.path, scope.groups, scope.cutoff, credit_rules(ctx.settings)
        )
        c = lf.c
        found = (
            select(func.count())
            .where(
                ReviewCase.learner_id == c.learner_id,
                ReviewCase.year == year,
                ReviewCase.finding.is_not(None),
            )
            .scalar_subquery()
        )
        open_ = (
            select(func.count())
            .where(
                ReviewCase.learner_id == c.learner_id,
                ReviewCase.year == year,
                ReviewCase.state.in_(OPEN_STATES),
            )
            .scalar_subquery()
        )
        barred = exists().where(
            ExcellenceBar.learner_id == c.learner_id,
            ExcellenceBar.year == year,
            ExcellenceBar.lifted_at.is_(None),
        )
        stmt = (
            select(*c, found.label("findings"), open_.label("open_cases"), barred.label("barred"))
            .join(OrgUnit, OrgUnit.id == c.unit_id)
            .add_columns(OrgUnit.name.label("unit"))
        )
        if only_behind:
            stmt = stmt.where(queries.behind_filter(lf, scope.groups, months, tolerance))
            order: list[Any] = [c.total, c.req, c.learner_id]
        elif only_candidates:
            stmt = stmt.where(
                c.group_id.is_not(None),
                c.total >= c.qt,
                c.req >= c.qr,
                found == 0,
                ~barred,
            )
            order = [c.total.desc(), c.req.desc(), c.learner_id]
        else:
            order = [OrgUnit.code, c.learner_id]
        count = int(await s.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
        rows = (await s.execute(stmt.order_by(*order).limit(limit).offset(offset))).mappings()
        names = {g.id: g.name for g in scope.groups}
        lines = []
        for r in rows:
            target = r["group_id"] is not None
            lines.append(
                LearnerLine(
                    learner_id=r["learner_id"],
                    name=r["name"],
                    unit=r["unit"],
                    rank=r["rank"],
                    target_group=names.get(r["group_id"]) if target else None,
                    required=figures.credits(int(r["req"])),
                    elective=figures.credits(int(r["ele"])),
                    bonus=figures.credits(int(r["bon"])),
                    total=figures.credits(int(r["total"])),
                    quota_total=figures.credits(int(r["qt"])) if target else None,
                    quota_required=figures.credits(int(r["qr"])) if target else None,
                    quota_met=(int(r["total"]) >= int(r["qt"]) and int(r["req"]) >= int(r["qr"]))
                    if target
                    else None,
                    behind=target
                    and is_behind(
                        int(r["total"]),
                        int(r["req"]),
                        int(r["qt"]),
                        int(r["qr"]),
                        months,
                        tolerance,
                    ),
                    findings=int(r["findings"]),
                    open_cases=int(r["open_cases"]),
                    barred=bool(r["barred"]),
                )
            )
        return _node(scope.node), count, lines


@dataclass(frozen=True)
class Curve:
    """Cumulative progress of a node's target learners by month, this year and the last."""

    node: Node
    year: int
    months_elapsed: int
    target: int
    previous_target: int
    quota_average: Decimal
    average: list[Decimal]  # cumulative credits per target learner, month by month
    completed: list[Decimal]  # percent of target learners who met the quota by month end
    previous_average: list[Decimal]
    previous_completed: list[Decimal]
    schedule: list[Decimal]  # the linear schedule: quota average × m / 12
    behind: int  # behind schedule; once the year is over, short of the quota (未完成)

    @property
    def closed(self) -> bool:
        """The year is over (pages say 未完成, not 进度落后)."""
        return self.months_elapsed == 12

    def as_dict(self) -> dict[str, Any]:
        """JSON shape."""
        return {
            "org": self.node.as_dict(),
            "year": self.year,
            "months_elapsed": self.months_elapsed,
            "target_learners": self.target,
            "quota_average": self.quota_average,
            "behind_schedule": self.behind,
            "year_closed": self.closed,
            "months": [
                {
                    "month": m + 1,
                    "average": self.average[m],
                    "completed_rate": self.completed[m],
                    "previous_average": self.previous_average[m],
                    "previous_completed_rate": self.previous_completed[m],
                    "schedule": self.schedule[m],
                }
                for m in range(12)
            ],
        }


async def _year_tally(
    s: AsyncSession, ctx: Context, node: OrgUnit, year: int, prints: units.Prints | None = None
) -> Tally:
    groups = await queries.groups_of(s, year)
    per_unit = await units.unit_figures(s, ctx, year, node.path, groups, prints=prints)
    return figures.total(per_unit.values())


def _curve(node: Node, year: int, as_of: dt.date | None, now: Tally, last: Tally) -> Curve:
    months = elapsed_months(year, as_of or dt.datetime.now(ACADEMY_TZ).date())
    n, pn = now.target, last.target
    done, pdone = (
        list(itertools.accumulate(now.met_month)),
        list(itertools.accumulate(last.met_month)),
    )
    qavg = figures.average(now.quota_cents, n)
    return Curve(
        node=node,
        year=year,
        months_elapsed=months,
        target=n,
        previous_target=pn,
        quota_average=qavg,
        average=[figures.average(v, n) for v in now.curve_cents],
        completed=[figures.ratio(v, n) for v in done],
        previous_average=[figures.average(v, pn) for v in last.curve_cents],
        previous_completed=[figures.ratio(v, pn) for v in pdone],
        schedule=[(qavg * m / 12).quantize(Decimal("0.01")) for m in range(1, 13)],
        behind=now.behind[months],
    )


async def progress(
    ctx: Context, actor: Actor, org_id: int | None, year: int, as_of: dt.date | None = None
) -> Curve:
    """The completion curve of a node against the previous year and the schedule."""
    async with ctx.db() as s:
        await repeatable(s, ctx)
        scope = await open_scope(s, actor, org_id, year, tree=False)
        prints = await units.fingerprints(s, scope.node.path)
        now = await _year_tally(s, ctx, scope.node, year, prints)
        last = await _year_tally(s, ctx, scope.node, year - 1, prints)
    return _curve(_node(scope.node), year, as_of, now, last)
