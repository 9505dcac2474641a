"""Management reports: dashboard pages with charts, the JSON API and XLSX exports."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal
from urllib.parse import quote

from aiohttp import web
from pydantic import Field

from models import utcnow
from proctor.kernel.calendar import ACADEMY_TZ, study_year
from proctor.reports import charts, export, service, yearly
from proctor.reports.figures import BANDS, distribution, summary
from proctor.reports.progress import year_closed
from proctor.reports.service import LEVEL_NAMES, NodeReport
from proctor.web.endpoint import Binary, Form, Routes
from proctor.web.fields import Day, DecimalText, Input, Offset, Output, RecordId, Year
from proctor.web.keys import actor_of, ctx_of
from proctor.web.render import json_response, page

routes = Routes(tag="reports")

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
EXPORT_ROWS = 100_000


class NodeQuery(Input):
    org: RecordId | None = Field(
        None, description="org node (default: my own); outside my authority: 404"
    )
    year: Year | None = Field(
        None, description="credit year (default: the current year, China time)"
    )

    @property
    def the_year(self) -> int:
        return self.year if self.year is not None else study_year(utcnow())


class ScheduleQuery(NodeQuery):
    as_of: Day | None = Field(None, description="date the schedule is judged at (default: today)")


class LinesQuery(ScheduleQuery):
    filter: Literal["all", "behind", "candidates"] = "all"
    limit: int = Field(200, ge=1, le=1000)
    offset: Offset = 0


class Freeze(Input):
    year: Year
    org: RecordId | None = None


class Node(Output):
    id: int
    name: str
    level: str


class Figures(Output):
    target_learners: int
    other_learners: int
    participated: int
    participation_rate: str = Field(description="percent, one decimal")
    quota_met: int
    total_met: int
    required_met: int
    completion_rate: str = Field(description="percent, one decimal")
    credits_total: DecimalText
    credits_required: DecimalText
    credits_average: DecimalText
    other_participated: int
    other_credits_total: DecimalText
    other_credits_average: DecimalText
    confirmed_findings: int
    learners_with_findings: int
    open_cases: int


class Line(Output):
    learner_id: int
    name: str
    unit: str
    rank: str
    target_group: str | None
    required: DecimalText
    elective: DecimalText
    bonus: DecimalText
    total: DecimalText
    quota_total: DecimalText | None
    quota_required: DecimalText | None
    quota_met: bool | None
    behind: bool
    findings: int
    open_cases: int
    barred: bool


class TargetGroup(Output):
    name: str
    ranks: list[str] = Field(description="empty: every rank")
    total: DecimalText
    required: DecimalText


class Band(Output):
    band: str
    learners: int


class CategoryCredits(Output):
    category: str
    credits: DecimalText


class ChildFigures(Output):
    org: Node
    figures: Figures


class Summary(Output):
    org: Node
    year: int
    trail: list[Node]
    target_groups: list[TargetGroup] = Field(
        description="the year's target groups (Art. 5) that cover the node or part of it"
    )
    figures: Figures
    distribution: list[Band]
    categories: list[CategoryCredits]
    children: list[ChildFigures]
    own_learners: Figures | None


class Lines(Output):
    org: Node
    year: int
    total: int
    items: list[Line]


class Month(Output):
    month: int
    average: DecimalText
    completed_rate: str
    previous_average: DecimalText
    previous_completed_rate: str
    schedule: DecimalText


class Progress(Output):
    org: Node
    year: int
    months_elapsed: int
    target_learners: int
    quota_average: DecimalText
    behind_schedule: int
    year_closed: bool = Field(description="the year is over: behind_schedule counts 未完成")
    months: list[Month]


class Evaluation(Output):
    """Weights, unit scores and ranking, award candidates; frozen at year close."""

    org: Node
    year: int
    frozen: bool
    frozen_at: str | None = None
    weights: dict[str, Any] = Field(default_factory=dict)
    units: list[dict[str, Any]]
    excellent_units: list[dict[str, Any]] = Field(default_factory=list)
    excellent_learners: list[Line]


def _file(data: bytes, name: str, fallback: str) -> web.Response:
    return web.Response(
        body=data,
        content_type=XLSX,
        headers={
            "Content-Disposition": (
                f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name)}"
            )
        },
    )


def _closed(query: ScheduleQuery) -> bool:
    return year_closed(query.the_year, query.as_of or dt.datetime.now(ACADEMY_TZ).date())


def _behind_title(query: ScheduleQuery) -> str:
    """进度落后 while the year runs; once it is over, the same list is who did not meet it."""
    return "未完成年度要求学员" if _closed(query) else "进度落后学员"


async def _lines(
    request: web.Request, query: ScheduleQuery, which: str, *, limit: int = 200, offset: int = 0
) -> tuple[service.Node, int, list[service.LearnerLine]]:
    return await service.learner_lines(
        ctx_of(request),
        actor_of(request),
        query.org,
        query.the_year,
        only_behind=which == "behind",
        only_candidates=which == "candidates",
        as_of=query.as_of,
        limit=limit,
        offset=offset,
    )


# JSON API -------------------------------------------------------------------------------


@routes.get(
    "/api/v1/reports/summary",
    summary="Figures of an org node for a year, with its children (drill-down)",
    query=NodeQuery,
    response=Summary,
)
async def summary_api(request: web.Request, query: NodeQuery) -> web.Response:
    report = await service.node_report(
        ctx_of(request), actor_of(request), query.org, query.the_year
    )
    return json_response(report.as_dict())


@routes.get(
    "/api/v1/reports/learners",
    summary="Learners of a node with their year: all, behind schedule, or award candidates",
    query=LinesQuery,
    response=Lines,
)
async def learners_api(request: web.Request, query: LinesQuery) -> web.Response:
    node, total, lines = await _lines(
        request, query, query.filter, limit=query.limit, offset=query.offset
    )
    return json_response(
        {
            "org": node.as_dict(),
            "year": query.the_year,
            "total": total,
            "items": [x.as_dict() for x in lines],
        }
    )


@routes.get(
    "/api/v1/reports/progress",
    summary="Completion curve by month against last year and the schedule",
    query=ScheduleQuery,
    response=Progress,
)
async def progress_api(request: web.Request, query: ScheduleQuery) -> web.Response:
    curve = await service.progress(
        ctx_of(request), actor_of(request), query.org, query.the_year, query.as_of
    )
    return json_response(curve.as_dict())


@routes.get(
    "/api/v1/reports/evaluation",
    summary="Yearly evaluation of the units under a node (frozen snapshot once frozen)",
    query=NodeQuery,
    response=Evaluation,
)
async def evaluation_api(request: web.Request, query: NodeQuery) -> web.Response:
    body = await yearly.evaluation(ctx_of(request), actor_of(request), query.org, query.the_year)
    return json_response(body)


@routes.post(
    "/api/v1/reports/evaluation/freeze",
    summary="Freeze a closed year's evaluation of a node (organisation administrators)",
    body=Freeze,
    response=Evaluation,
    errors=(404, 409),
)
async def freeze_api(request: web.Request, body: Freeze) -> web.Response:
    frozen = await yearly.freeze(ctx_of(request), actor_of(request), body.org, body.year)
    return json_response(frozen)


# Exports --------------------------------------------------------------------------------


@routes.get(
    "/api/v1/reports/summary.xlsx",
    summary="A node's report as XLSX (figures, children, learners)",
    query=ScheduleQuery,
    response=Binary(XLSX),
)
async def summary_xlsx(request: web.Request, query: ScheduleQuery) -> web.Response:
    ctx, actor, year = ctx_of(request), actor_of(request), query.the_year
    report = await service.node_report(ctx, actor, query.org, year)
    _, _, lines = await service.learner_lines(
        ctx, actor, report.node.id, year, limit=EXPORT_ROWS, as_of=query.as_of
    )
    return _file(
        export.unit_report(report, lines, closed=_closed(query)),
        f"学习情况统计-{report.node.name}-{year}.xlsx",
        f"report-{report.node.id}-{year}.xlsx",
    )


@routes.get(
    "/api/v1/reports/behind.xlsx",
    summary="Learners behind schedule as XLSX",
    query=ScheduleQuery,
    response=Binary(XLSX),
)
async def behind_xlsx(request: web.Request, query: ScheduleQuery) -> web.Response:
    node, _, lines = await _lines(request, query, "behind", limit=EXPORT_ROWS)
    year = query.the_year
    title = _behind_title(query)
    return _file(
        export.learner_list(title, lines, closed=_closed(query)),
        f"{title}-{node.name}-{year}.xlsx",
        f"behind-{node.id}-{year}.xlsx",
    )


@routes.get(
    "/api/v1/reports/candidates.xlsx",
    summary="Award candidates (organisations and learners) as XLSX",
    query=NodeQuery,
    response=Binary(XLSX),
)
async def candidates_xlsx(request: web.Request, query: NodeQuery) -> web.Response:
    body = await yearly.evaluation(ctx_of(request), actor_of(request), query.org, query.the_year)
    data = export.candidates(body)
    name = body["org"]["name"]
    return _file(
        data,
        f"评优候选-{name}-{body['year']}.xlsx",
        f"candidates-{body['org']['id']}-{body['year']}.xlsx",
    )


@routes.get(
    "/api/v1/reports/evaluation.xlsx",
    summary="The yearly evaluation as XLSX",
    query=NodeQuery,
    response=Binary(XLSX),
)
async def evaluation_xlsx(request: web.Request, query: NodeQuery) -> web.Response:
    body = await yearly.evaluation(ctx_of(request), actor_of(request), query.org, query.the_year)
    return _file(
        export.evaluation(body),
        f"年度考核-{body['org']['name']}-{body['year']}.xlsx",
        f"evaluation-{body['org']['id']}-{body['year']}.xlsx",
    )


# Pages ----------------------------------------------------------------------------------


def _dashboard_charts(report: NodeReport) -> dict[str, Any]:
    children = [(n, summary(t)) for n, t in report.children]
    # A unit without target learners has no completion rate to rank (0 of 0 is not 0 %).
    ranking = sorted(
        (nf for nf in children if nf[1]["target_learners"]),
        key=lambda nf: -nf[1]["completion_rate"],
    )
    return {
        "distribution": charts.bars(
            [
                (d["band"], float(d["learners"]), f"{d['band']}：{d['learners']} 人")
                for d in distribution(report.tally)
            ],
            "参学对象学分分布",
            "distribution",
            unit=" 人",
        ),
        "ranking": charts.bars(
            [
                (n.name, float(f["completion_rate"]), f"{n.name} 完成率 {f['completion_rate']}%")
                for n, f in ranking
            ],
            "下级单位完成率排名",
            "ranking",
            unit="%",
        ),
        "categories": charts.bars(
            [(name, float(c), f"{name} {c} 学分") for name, c in report.categories],
            "课程分类学分构成",
            "categories",
        ),
    }


@routes.get("/reports", query=NodeQuery)
async def dashboard_page(request: web.Request, query: NodeQuery) -> web.Response:
    ctx, actor, year = ctx_of(request), actor_of(request), query.the_year
    report, curve = await service.dashboard(ctx, actor, query.org, year)
    learners: list[service.LearnerLine] = Field(default_factory=list)
    total = 0
    if not report.children:
        _, total, learners = await service.learner_lines(ctx, actor, report.node.id, year)
    return page(
        request,
        "reports/dashboard.html",
        {
            "r": report,
            "f": summary(report.tally),
            "children": [(n, summary(t)) for n, t in report.children],
            "own": None if report.own is None else summary(report.own),
            "learners": learners,
            "learner_total": total,
            "charts": _dashboard_charts(report),
            "curve": charts.completion_curve(
                curve.average,
                curve.previous_average,
                curve.schedule,
                curve.quota_average,
                curve.months_elapsed,
                year,
            ),
            "progress": curve,
            "levels": LEVEL_NAMES,
            "years": list(range(study_year(utcnow()), study_year(utcnow()) - 4, -1)),
            "bands": BANDS,
        },
    )


@routes.get("/reports/behind", query=LinesQuery)
async def behind_page(request: web.Request, query: LinesQuery) -> web.Response:
    node, total, lines = await _lines(
        request, query, "behind", limit=query.limit, offset=query.offset
    )
    return page(
        request,
        "reports/behind.html",
        {
            "title": _behind_title(query),
            "node": node,
            "year": query.the_year,
            "lines": lines,
            "total": total,
            "offset": query.offset,
            "limit": query.limit,
        },
    )


@routes.get("/reports/evaluation", query=NodeQuery)
async def evaluation_page(request: web.Request, query: NodeQuery) -> web.Response:
    year = query.the_year
    body = await yearly.evaluation(ctx_of(request), actor_of(request), query.org, year)
    ranked = [u for u in body["units"] if u["rank"]]
    chart = charts.bars(
        [(u["name"], float(u["score"]), f"{u['name']} 得分 {u['score']}") for u in ranked[:20]],
        "单位考核得分排名",
        "scores",
    )
    return page(
        request,
        "reports/evaluation.html",
        {"e": body, "year": year, "chart": chart, "closed": year < study_year(utcnow())},
    )


@routes.post("/reports/evaluation/freeze", form=Freeze)
async def freeze_form(request: web.Request, form: Form[Freeze]) -> web.Response:
    fields = form.valid()
    frozen = await yearly.freeze(ctx_of(request), actor_of(request), fields.org, fields.year)
    raise web.HTTPSeeOther(f"/reports/evaluation?org={frozen['org']['id']}&year={fields.year}")
