"""Disciplinary review: the case queue, a case with its evidence, decisions and appeals."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from models import utcnow
from proctor.errors import InvalidInput, ProctorError
from proctor.review import charts, learner_cases
from proctor.review.evidence import gather
from proctor.review.fairness import fairness
from proctor.review.learning import precision_so_far
from proctor.review.service import (
    BANDS,
    KIND_NAMES,
    SORTS,
    QueueFilter,
    add_note,
    appeal,
    claim,
    decide,
    decide_appeal,
    load_case,
    next_case,
    queue,
    release,
)
from proctor.review.states import APPEAL_OUTCOMES, DECISIONS, STATE_NAMES
from proctor.study.completion import study_year
from proctor.web import parse
from proctor.web.keys import actor_of, ctx_of
from proctor.web.openapi import INT, STR, obj, op, path_id, query
from proctor.web.render import json_response, page

routes = web.RouteTableDef()
BAND_NAMES = {"high": "高", "medium": "中", "low": "低"}


def _filter(q: dict[str, Any]) -> QueueFilter:
    return QueueFilter(
        org_id=parse.integer(q, "org", required=False, minimum=1),
        band=parse.text(q, "band", required=False, max_len=8),
        kind=parse.text(q, "kind", required=False, max_len=16),
        category=parse.text(q, "category", required=False, max_len=16),
        state=parse.text(q, "state", required=False, max_len=32) or "open",
        min_age_days=parse.integer(q, "min_age", required=False, minimum=0),
        max_age_days=parse.integer(q, "max_age", required=False, minimum=0),
        sort=parse.text(q, "sort", required=False, max_len=16) or "priority",
        limit=parse.integer(q, "limit", required=False, minimum=1, maximum=500, default=100) or 100,
        offset=parse.integer(q, "offset", required=False, minimum=0, default=0) or 0,
    )


def _case_id(request: web.Request) -> int:
    return parse.path_int(request, "case_id")


def _version(data: dict[str, Any]) -> int | None:
    return parse.integer(data, "version", required=False, minimum=1)


# ---------------------------------------------------------------- API


@routes.get("/api/v1/cases")
async def queue_api(request: web.Request) -> web.Response:
    rows, total = await queue(ctx_of(request), actor_of(request), _filter(dict(request.query)))
    return json_response({"total": total, "items": [r.as_dict() for r in rows]})


@routes.get("/api/v1/cases/{case_id}")
async def case_api(request: web.Request) -> web.Response:
    detail = await load_case(ctx_of(request), actor_of(request), _case_id(request))
    return json_response(detail.as_dict())


@routes.post("/api/v1/cases/{case_id}/claim")
async def claim_api(request: web.Request) -> web.Response:
    data = await parse.json_body(request) if request.can_read_body else {}
    state = await claim(ctx_of(request), actor_of(request), _case_id(request), _version(data))
    return json_response({"state": state.value})


@routes.post("/api/v1/cases/{case_id}/release")
async def release_api(request: web.Request) -> web.Response:
    data = await parse.json_body(request) if request.can_read_body else {}
    await release(ctx_of(request), actor_of(request), _case_id(request), _version(data))
    return json_response({"state": "new"})


@routes.post("/api/v1/cases/{case_id}/notes")
async def note_api(request: web.Request) -> web.Response:
    data = await parse.json_body(request)
    await add_note(
        ctx_of(request),
        actor_of(request),
        _case_id(request),
        parse.text(data, "text", max_len=2000),
    )
    return json_response({"ok": True}, status=201)


@routes.post("/api/v1/cases/{case_id}/decision")
async def decide_api(request: web.Request) -> web.Response:
    data = await parse.json_body(request)
    result = await decide(
        ctx_of(request),
        actor_of(request),
        _case_id(request),
        parse.text(data, "outcome", max_len=32),
        parse.text(data, "reason", max_len=2000),
        _version(data),
    )
    return json_response(result)


@routes.post("/api/v1/cases/{case_id}/appeal-decision")
async def decide_appeal_api(request: web.Request) -> web.Response:
    data = await parse.json_body(request)
    result = await decide_appeal(
        ctx_of(request),
        actor_of(request),
        _case_id(request),
        parse.text(data, "outcome", max_len=32),
        parse.text(data, "reason", max_len=2000),
        _version(data),
    )
    return json_response(result)


@routes.get("/api/v1/review/precision")
async def precision_api(request: web.Request) -> web.Response:
    table = await precision_so_far(ctx_of(request), actor_of(request))
    return json_response({k: [p.as_dict() for p in v] for k, v in table.items()})


def _year(q: dict[str, Any]) -> int:
    return parse.integer(q, "year", required=False, minimum=2000, maximum=2100) or study_year(
        utcnow()
    )


@routes.get("/api/v1/review/fairness")
async def fairness_api(request: web.Request) -> web.Response:
    year = _year(dict(request.query))
    table = await fairness(ctx_of(request), actor_of(request), year)
    return json_response({"year": year, "groups": [g.as_dict() for g in table]})


@routes.get("/api/v1/me/cases")
async def my_cases_api(request: web.Request) -> web.Response:
    cases = await learner_cases.my_cases(ctx_of(request), actor_of(request))
    return json_response({"items": [c.as_dict() for c in cases]})


@routes.post("/api/v1/me/cases/{case_id}/appeal")
async def appeal_api(request: web.Request) -> web.Response:
    data = await parse.json_body(request)
    result = await appeal(
        ctx_of(request),
        actor_of(request),
        _case_id(request),
        parse.text(data, "statement", max_len=2000),
    )
    return json_response(result)


# ---------------------------------------------------------------- pages


@routes.get("/review")
async def queue_page(request: web.Request) -> web.Response:
    ctx, actor = ctx_of(request), actor_of(request)
    q = dict(request.query)
    f = _filter(q)
    rows, total = await queue(ctx, actor, f)
    table = await precision_so_far(ctx, actor)
    groups = await fairness(ctx, actor, _year(q))
    return page(
        request,
        "review/queue.html",
        {
            "rows": rows,
            "total": total,
            "f": f,
            "q": q,
            "bands": BANDS,
            "band_names": BAND_NAMES,
            "kind_names": KIND_NAMES,
            "state_names": STATE_NAMES,
            "sorts": SORTS,
            "precision": table,
            "fairness": groups,
        },
    )


@routes.get("/review/next")
async def next_page(request: web.Request) -> web.Response:
    after = parse.integer(dict(request.query), "after", required=False, minimum=1)
    nxt = await next_case(ctx_of(request), actor_of(request), after)
    raise web.HTTPSeeOther(f"/review/cases/{nxt}" if nxt else "/review?done=1")


async def _case_page(
    request: web.Request, case_id: int, *, error: str | None = None, status: int = 200
) -> web.Response:
    ctx, actor = ctx_of(request), actor_of(request)
    detail = await load_case(ctx, actor, case_id)
    wanted = parse.text(dict(request.query), "session", required=False, max_len=64) or None
    async with ctx.db() as s:
        ev = await gather(s, actor, detail.case, wanted)
    pictures = {
        "daily": charts.daily_bars(ev.days),
        "heat": charts.heat_map(ev.heat),
        "trace": charts.trace_chart(ev.trace) if ev.trace else None,
        "lanes": charts.lanes_chart(ev.lanes),
        "graph": charts.link_graph(
            detail.row.learner_name, [d.device for d in ev.devices], ev.linked
        ),
    }
    return page(
        request,
        "review/case.html",
        {
            "d": detail,
            "c": detail.case,
            "r": detail.row,
            "ev": ev,
            "pics": pictures,
            "band_names": BAND_NAMES,
            "state_names": STATE_NAMES,
            "decisions": [s for s in STATE_NAMES if s in DECISIONS],
            "appeal_outcomes": [s for s in STATE_NAMES if s in APPEAL_OUTCOMES],
            "error": error,
        },
        status=status,
    )


@routes.get("/review/cases/{case_id}")
async def case_page(request: web.Request) -> web.Response:
    return await _case_page(request, _case_id(request))


@routes.post("/review/cases/{case_id}")
async def case_form(request: web.Request) -> web.Response:
    """One form endpoint for every move on the case page, chosen by the ``action`` field."""
    case_id = _case_id(request)
    ctx, actor = ctx_of(request), actor_of(request)
    form = await parse.form_or_json(request)
    action = form.get("action", "")
    try:
        version = _version(form)
        if action == "claim":
            await claim(ctx, actor, case_id, version)
        elif action == "release":
            await release(ctx, actor, case_id, version)
        elif action == "note":
            await add_note(ctx, actor, case_id, form.get("text", ""))
        elif action == "decide":
            await decide(
                ctx, actor, case_id, form.get("outcome", ""), form.get("reason", ""), version
            )
            if form.get("then") == "next":
                raise web.HTTPSeeOther(f"/review/next?after={case_id}")
        elif action == "decide_appeal":
            await decide_appeal(
                ctx, actor, case_id, form.get("outcome", ""), form.get("reason", ""), version
            )
        else:
            raise InvalidInput("未知操作", field="action")
    except ProctorError as exc:
        return await _case_page(request, case_id, error=exc.message, status=exc.status)
    raise web.HTTPSeeOther(f"/review/cases/{case_id}")


@routes.get("/archive/cases/{case_id}")
async def my_case_page(request: web.Request) -> web.Response:
    case = await learner_cases.my_case(ctx_of(request), actor_of(request), _case_id(request))
    return page(request, "review/my_case.html", {"k": case, "error": None})


@routes.post("/archive/cases/{case_id}")
async def my_case_appeal(request: web.Request) -> web.Response:
    case_id = _case_id(request)
    ctx, actor = ctx_of(request), actor_of(request)
    form = await parse.form_or_json(request)
    try:
        await appeal(ctx, actor, case_id, form.get("statement", ""))
    except ProctorError as exc:
        case = await learner_cases.my_case(ctx, actor, case_id)
        return page(
            request, "review/my_case.html", {"k": case, "error": exc.message}, status=exc.status
        )
    raise web.HTTPSeeOther(f"/archive/cases/{case_id}")


CASE_ROW = obj(
    id=INT,
    learner_id=INT,
    learner_name=STR,
    unit=STR,
    state=STR,
    state_name=STR,
    category=STR,
    kind=STR,
    band=STR,
    risk={"type": "number"},
    priority=INT,
    age_days=INT,
    version=INT,
)
MOVE = obj(version=INT)
DECISION = {
    "type": "object",
    "properties": {
        "outcome": {
            "type": "string",
            "enum": [
                "confirmed_proxy",
                "confirmed_fraud",
                "no_misconduct",
                "insufficient_evidence",
            ],
        },
        "reason": STR,
        "version": INT,
    },
    "required": ["outcome", "reason"],
}
APPEAL_DECISION = {
    "type": "object",
    "properties": {
        "outcome": {"type": "string", "enum": ["appeal_upheld", "appeal_rejected"]},
        "reason": STR,
        "version": INT,
    },
    "required": ["outcome", "reason"],
}
ERRORS = (400, 401, 403, 404, 409, 422)

OPENAPI: dict[str, dict[str, Any]] = {
    "/api/v1/cases": {
        "get": op(
            "Review cases of learners in my authority: filter by org, band, kind, category, "
            "state and age; sort by priority, age or risk",
            tag="review",
            params=[
                query("org", INT, "org node id (within my authority)"),
                query("band", STR, "high | medium | low"),
                query("kind", STR, "proxy | fraud | exam | bot | anomaly | technical"),
                query("category", STR, "behaviour | technical"),
                query("state", STR, "open (default) | all | a case state"),
                query("min_age", INT, "opened at least this many days ago"),
                query("max_age", INT, "opened at most this many days ago"),
                query("sort", STR, "priority | oldest | newest | risk"),
                query("limit", INT),
                query("offset", INT),
            ],
            response=obj(total=INT, items={"type": "array", "items": CASE_ROW}),
        )
    },
    "/api/v1/cases/{case_id}": {
        "get": op(
            "One case: flags with rules and drivers, history, allowed moves",
            tag="review",
            params=[path_id("case_id")],
        )
    },
    "/api/v1/cases/{case_id}/claim": {
        "post": op(
            "Take a new case into review (optional version for compare-and-set)",
            tag="review",
            params=[path_id("case_id")],
            body=MOVE,
            errors=ERRORS,
        )
    },
    "/api/v1/cases/{case_id}/release": {
        "post": op(
            "Put a case under review back in the queue",
            tag="review",
            params=[path_id("case_id")],
            body=MOVE,
            errors=ERRORS,
        )
    },
    "/api/v1/cases/{case_id}/notes": {
        "post": op(
            "Add a reviewer's note to the case history",
            tag="review",
            params=[path_id("case_id")],
            body=obj(text=STR),
            errors=ERRORS,
        )
    },
    "/api/v1/cases/{case_id}/decision": {
        "post": op(
            "Decide a case (reason required); consequences and the learner's notice follow. "
            "409 when someone else moved the case first",
            tag="review",
            params=[path_id("case_id")],
            body=DECISION,
            errors=ERRORS,
        )
    },
    "/api/v1/cases/{case_id}/appeal-decision": {
        "post": op(
            "Decide a learner's appeal (a reviewer other than the first decider)",
            tag="review",
            params=[path_id("case_id")],
            body=APPEAL_DECISION,
            errors=ERRORS,
        )
    },
    "/api/v1/review/precision": {
        "get": op(
            "Each rule's and band's precision so far: decided cases and how many were confirmed",
            tag="review",
        )
    },
    "/api/v1/review/fairness": {
        "get": op(
            "Flag and confirmation rates by gender, age band and rank in my authority, for a year",
            tag="review",
            params=[query("year", INT)],
        )
    },
    "/api/v1/me/cases": {"get": op("My decided cases, their reasons and decisions", tag="review")},
    "/api/v1/me/cases/{case_id}/appeal": {
        "post": op(
            "Appeal a finding against me within the appeal period",
            tag="review",
            params=[path_id("case_id")],
            body=obj(statement=STR),
            errors=ERRORS,
        )
    },
}
