"""Management reports: dashboard pages with charts, the JSON API and XLSX exports."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import quote

from aiohttp import web

from models import utcnow
from proctor.errors import InvalidInput
from proctor.reports import charts, export, service, yearly
from proctor.reports.figures import BANDS, distribution, summary
from proctor.reports.service import LEVEL_NAMES, NodeReport
from proctor.study.completion import study_year
from proctor.web import parse
from proctor.web.keys import actor_of, ctx_of
from proctor.web.openapi import BOOL, DECIMAL, INT, STR, obj, op, query
from proctor.web.render import json_response, page

routes = web.RouteTableDef()

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
EXPORT_ROWS = 100_000
FILTERS = ("all", "behind", "candidates")


def _year(request: web.Request) -> int:
    default = study_year(utcnow())
    year = parse.integer(
        dict(request.query), "year", required=False, minimum=2000, maximum=2100, default=default
    )
    return default if year is None else year


def _org(data: dict[str, Any]) -> int | None:
    return parse.integer(data, "org", required=False, minimum=1)


def _as_of(request: web.Request) -> dt.date | None:
    if not request.query.get("as_of"):
        return None
    return parse.date(dict(request.query), "as_of")


def _paging(request: web.Request) -> tuple[int, int]:
    q = dict(request.query)
    limit = parse.integer(q, "limit", required=False, minimum=1, maximum=1000, default=200)
    offset = parse.integer(q, "offset", required=False, minimum=0, default=0)
    return limit or 200, offset or 0


def _filter(request: web.Request) -> str:
    value = request.query.get("filter", "all")
    if value not in FILTERS:
        raise InvalidInput("filter 应为 all、behind 或 candidates", field="filter")
    return value


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


async def _lines(
    request: web.Request, which: str, *, limit: int = 200, offset: int = 0
) -> tuple[service.Node, int, list[service.LearnerLine]]:
    return await service.learner_lines(
        ctx_of(request),
        actor_of(request),
        _org(dict(request.query)),
        _year(request),
        only_behind=which == "behind",
        only_candidates=which == "candidates",
        as_of=_as_of(request),
        limit=limit,
        offset=offset,
    )


# JSON API -------------------------------------------------------------------------------


@routes.get("/api/v1/reports/summary")
async def summary_api(request: web.Request) -> web.Response:
    report = await service.node_report(
        ctx_of(request), actor_of(request), _org(dict(request.query)), _year(request)
    )
    return json_response(report.as_dict())


@routes.get("/api/v1/reports/learners")
async def learners_api(request: web.Request) -> web.Response:
    limit, offset = _paging(request)
    node, total, lines = await _lines(request, _filter(request), limit=limit, offset=offset)
    return json_response(
        {
            "org": node.as_dict(),
            "year": _year(request),
            "total": total,
            "items": [x.as_dict() for x in lines],
        }
    )


@routes.get("/api/v1/reports/progress")
async def progress_api(request: web.Request) -> web.Response:
    curve = await service.progress(
        ctx_of(request),
        actor_of(request),
        _org(dict(request.query)),
        _year(request),
        _as_of(request),
    )
    return json_response(curve.as_dict())


@routes.get("/api/v1/reports/evaluation")
async def evaluation_api(request: web.Request) -> web.Response:
    body = await yearly.evaluation(
        ctx_of(request), actor_of(request), _org(dict(request.query)), _year(request)
    )
    return json_response(body)


@routes.post("/api/v1/reports/evaluation/freeze")
async def freeze_api(request: web.Request) -> web.Response:
    data = await parse.form_or_json(request)
    year = parse.required_int(data, "year", minimum=2000, maximum=2100)
    body = await yearly.freeze(ctx_of(request), actor_of(request), _org(data), year)
    if request.content_type != "application/json":
        raise web.HTTPSeeOther(f"/reports/evaluation?org={body['org']['id']}&year={year}")
    return json_response(body)


# Exports --------------------------------------------------------------------------------


@routes.get("/api/v1/reports/summary.xlsx")
async def summary_xlsx(request: web.Request) -> web.Response:
    ctx, actor, year = ctx_of(request), actor_of(request), _year(request)
    report = await service.node_report(ctx, actor, _org(dict(request.query)), year)
    _, _, lines = await service.learner_lines(
        ctx, actor, report.node.id, year, limit=EXPORT_ROWS, as_of=_as_of(request)
    )
    return _file(
        export.unit_report(report, lines),
        f"学习情况统计-{report.node.name}-{year}.xlsx",
        f"report-{report.node.id}-{year}.xlsx",
    )


@routes.get("/api/v1/reports/behind.xlsx")
async def behind_xlsx(request: web.Request) -> web.Response:
    node, _, lines = await _lines(request, "behind", limit=EXPORT_ROWS)
    year = _year(request)
    return _file(
        export.learner_list("进度落后学员", lines),
        f"进度落后学员-{node.name}-{year}.xlsx",
        f"behind-{node.id}-{year}.xlsx",
    )


@routes.get("/api/v1/reports/candidates.xlsx")
async def candidates_xlsx(request: web.Request) -> web.Response:
    body = await yearly.evaluation(
        ctx_of(request), actor_of(request), _org(dict(request.query)), _year(request)
    )
    data = export.candidates(body)
    name = body["org"]["name"]
    return _file(
        data,
        f"评优候选-{name}-{body['year']}.xlsx",
        f"candidates-{body['org']['id']}-{body['year']}.xlsx",
    )


@routes.get("/api/v1/reports/evaluation.xlsx")
async def evaluation_xlsx(request: web.Request) -> web.Response:
    body = await yearly.evaluation(
        ctx_of(request), actor_of(request), _org(dict(request.query)), _year(request)
    )
    return _file(
        export.evaluation(body),
        f"年度考核-{body['org']['name']}-{body['year']}.xlsx",
        f"evaluation-{body['org']['id']}-{body['year']}.xlsx",
    )


# Pages ----------------------------------------------------------------------------------


def _dashboard_charts(report: NodeReport) -> dict[str, Any]:
    children = [(n, summary(t)) for n, t in report.children]
    ranking = sorted(children, key=lambda nf: -nf[1]["completion_rate"])
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


@routes.get("/reports")
async def dashboard_page(request: web.Request) -> web.Response:
    ctx, actor, year = ctx_of(request), actor_of(request), _year(request)
    report, curve = await service.dashboard(ctx, actor, _org(dict(request.query)), year)
    learners: list[service.LearnerLine] = []
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


@routes.get("/reports/behind")
async def behind_page(request: web.Request) -> web.Response:
    limit, offset = _paging(request)
    node, total, lines = await _lines(request, "behind", limit=limit, offset=offset)
    return page(
        request,
        "reports/behind.html",
        {
            "node": node,
            "year": _year(request),
            "lines": lines,
            "total": total,
            "offset": offset,
            "limit": limit,
        },
    )


@routes.get("/reports/evaluation")
async def evaluation_page(request: web.Request) -> web.Response:
    year = _year(request)
    body = await yearly.evaluation(
        ctx_of(request), actor_of(request), _org(dict(request.query)), year
    )
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


# OpenAPI --------------------------------------------------------------------------------

_ORG = query("org", INT, "org node (default: my own); outside my authority: 404")
_YEAR = query("year", INT, "credit year (default: the current year, China time)")
_AS_OF = query("as_of", STR, "date the schedule is judged at (default: today), YYYY-MM-DD")
_PCT: dict[str, Any] = {"type": "string", "description": "percent, one decimal"}
_NODE = obj(id=INT, name=STR, level=STR)
_FIGURES = obj(
    target_learners=INT,
    other_learners=INT,
    participated=INT,
    participation_rate=_PCT,
    quota_met=INT,
    total_met=INT,
    required_met=INT,
    completion_rate=_PCT,
    credits_total=DECIMAL,
    credits_required=DECIMAL,
    credits_average=DECIMAL,
    other_participated=INT,
    other_credits_total=DECIMAL,
    other_credits_average=DECIMAL,
    confirmed_findings=INT,
    learners_with_findings=INT,
    open_cases=INT,
)
_NULL_DEC: dict[str, Any] = {"oneOf": [DECIMAL, {"type": "null"}]}
_LEARNER = obj(
    learner_id=INT,
    name=STR,
    unit=STR,
    rank=STR,
    target_group={"type": ["string", "null"]},
    required=DECIMAL,
    elective=DECIMAL,
    bonus=DECIMAL,
    total=DECIMAL,
    quota_total=_NULL_DEC,
    quota_required=_NULL_DEC,
    quota_met={"type": ["boolean", "null"]},
    behind=BOOL,
    findings=INT,
    open_cases=INT,
    barred=BOOL,
)
_SUMMARY = obj(
    org=_NODE,
    year=INT,
    trail={"type": "array", "items": _NODE},
    target_groups={
        "type": "array",
        "description": "the year's target groups (Art. 5) that cover the node or part of it",
        "items": obj(
            name=STR,
            ranks={"type": "array", "items": STR, "description": "empty: every rank"},
            total=DECIMAL,
            required=DECIMAL,
        ),
    },
    figures=_FIGURES,
    distribution={"type": "array", "items": obj(band=STR, learners=INT)},
    categories={"type": "array", "items": obj(category=STR, credits=DECIMAL)},
    children={"type": "array", "items": obj(org=_NODE, figures=_FIGURES)},
    own_learners={"oneOf": [_FIGURES, {"type": "null"}]},
)
_PROGRESS = obj(
    org=_NODE,
    year=INT,
    months_elapsed=INT,
    target_learners=INT,
    quota_average=DECIMAL,
    behind_schedule=INT,
    months={
        "type": "array",
        "items": obj(
            month=INT,
            average=DECIMAL,
            completed_rate=_PCT,
            previous_average=DECIMAL,
            previous_completed_rate=_PCT,
            schedule=DECIMAL,
        ),
    },
)
_EVALUATION: dict[str, Any] = {
    "type": "object",
    "description": "weights, unit scores and ranking, award candidates; frozen at year close",
    "properties": {
        "org": _NODE,
        "year": INT,
        "frozen": BOOL,
        "frozen_at": {"type": ["string", "null"]},
        "weights": {"type": "object"},
        "units": {"type": "array", "items": {"type": "object"}},
        "excellent_units": {"type": "array", "items": {"type": "object"}},
        "excellent_learners": {"type": "array", "items": _LEARNER},
    },
    "required": ["org", "year", "frozen", "units", "excellent_learners"],
}


def _xlsx_op(summary_: str, params: list[dict[str, Any]]) -> dict[str, Any]:
    operation = op(summary_, tag="reports", params=params)
    operation["responses"]["200"]["content"] = {
        XLSX: {"schema": {"type": "string", "format": "binary"}}
    }
    return operation


OPENAPI: dict[str, dict[str, Any]] = {
    "/api/v1/reports/summary": {
        "get": op(
            "Figures of an org node for a year, with its children (drill-down)",
            tag="reports",
            params=[_ORG, _YEAR],
            response=_SUMMARY,
        )
    },
    "/api/v1/reports/learners": {
        "get": op(
            "Learners of a node with their year: all, behind schedule, or award candidates",
            tag="reports",
            params=[
                _ORG,
                _YEAR,
                _AS_OF,
                query("filter", STR, "all | behind | candidates"),
                query("limit", INT, "1..1000, default 200"),
                query("offset", INT, "default 0"),
            ],
            response=obj(
                org=_NODE, year=INT, total=INT, items={"type": "array", "items": _LEARNER}
            ),
        )
    },
    "/api/v1/reports/progress": {
        "get": op(
            "Completion curve by month against last year and the schedule",
            tag="reports",
            params=[_ORG, _YEAR, _AS_OF],
            response=_PROGRESS,
        )
    },
    "/api/v1/reports/evaluation": {
        "get": op(
            "Yearly evaluation of the units under a node (frozen snapshot once frozen)",
            tag="reports",
            params=[_ORG, _YEAR],
            response=_EVALUATION,
        )
    },
    "/api/v1/reports/evaluation/freeze": {
        "post": op(
            "Freeze a closed year's evaluation of a node (organisation administrators)",
            tag="reports",
            body=obj(year=INT, org=INT),
            response=_EVALUATION,
            errors=(400, 401, 403, 404, 409, 422),
        )
    },
    "/api/v1/reports/summary.xlsx": {
        "get": _xlsx_op("A node's report as XLSX (figures, children, learners)", [_ORG, _YEAR])
    },
    "/api/v1/reports/behind.xlsx": {
        "get": _xlsx_op("Learners behind schedule as XLSX", [_ORG, _YEAR, _AS_OF])
    },
    "/api/v1/reports/candidates.xlsx": {
        "get": _xlsx_op("Award candidates (organisations and learners) as XLSX", [_ORG, _YEAR])
    },
    "/api/v1/reports/evaluation.xlsx": {
        "get": _xlsx_op("The yearly evaluation as XLSX", [_ORG, _YEAR])
    },
}
