"""Disciplinary review: the case queue, a case with its evidence, decisions and appeals."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from aiohttp import web
from pydantic import Field

from models import utcnow
from proctor.kernel.calendar import study_year
from proctor.kernel.errors import ProctorError
from proctor.orgs import tree
from proctor.review import charts, learner_cases
from proctor.review.decisions import (
    MAX_TEXT,
    add_note,
    appeal,
    claim,
    decide,
    decide_appeal,
    release,
)
from proctor.review.detail import load_case
from proctor.review.evidence import gather
from proctor.review.fairness import fairness
from proctor.review.learning import precision_so_far
from proctor.review.queue import BANDS, KIND_NAMES, SORTS, QueueFilter, next_case, queue
from proctor.review.states import APPEAL_OUTCOMES, STATE_NAMES
from proctor.web.endpoint import Form, Routes
from proctor.web.fields import Input, Offset, Output, RecordId, Year, chars
from proctor.web.keys import actor_of, ctx_of
from proctor.web.render import json_response, page

routes = Routes(tag="review")
BAND_NAMES = {"high": "高", "medium": "中", "low": "低"}
# A case older than a century is a typo; the bound keeps date arithmetic in range.
MAX_AGE_DAYS = 36_500
Days = Annotated[int, Field(ge=0, le=MAX_AGE_DAYS)]
Text = Annotated[str, chars(MAX_TEXT)]
Decision = Literal[
    "confirmed_proxy",
    "confirmed_fraud",
    "confirmed_exam_cheating",
    "no_misconduct",
    "insufficient_evidence",
]
Version = Annotated[int, Field(ge=1, le=2**31 - 1, description="compare-and-set: the version read")]


class CasePath(Input):
    case_id: RecordId


class QueueQuery(Input):
    org_id: RecordId | None = Field(None, alias="org", description="org node id (in my authority)")
    band: Literal["high", "medium", "low"] | None = None
    kind: Literal["proxy", "fraud", "exam", "bot", "anomaly", "technical"] | None = None
    category: Literal["behaviour", "technical"] | None = None
    state: Annotated[str, chars(32, description="open (default) | all | a case state")] = "open"
    min_age_days: Days | None = Field(
        None, alias="min_age", description="opened at least N days ago"
    )
    max_age_days: Days | None = Field(
        None, alias="max_age", description="opened at most N days ago"
    )
    sort: Literal["priority", "oldest", "newest", "risk"] = "priority"
    limit: Annotated[int, Field(ge=1, le=500)] = 100
    offset: Offset = 0

    def as_filter(self) -> QueueFilter:
        values = self.model_dump(include=set(QueueQuery.model_fields))
        for name in ("band", "kind", "category"):
            values[name] = values[name] or ""
        return QueueFilter(**values)


class YearQuery(Input):
    year: Year | None = None

    @property
    def the_year(self) -> int:
        return self.year if self.year is not None else study_year(utcnow())


class PageQuery(QueueQuery, YearQuery):
    """The queue page: the queue's filters and the year of its fairness table."""


class NextQuery(Input):
    after: RecordId | None = None


class CasePageQuery(Input):
    session: Annotated[str, chars(64, required=False)] = ""


class Move(Input):
    version: Version | None = None


class Note(Input):
    text: Text


class DecisionIn(Input):
    outcome: Decision
    reason: Text
    version: Version | None = None


class AppealDecisionIn(Input):
    outcome: Literal["appeal_upheld", "appeal_rejected"]
    reason: Text
    version: Version | None = None


class AppealIn(Input):
    statement: Text


class CaseForm(Input):
    action: Literal["claim", "release", "note", "decide", "decide_appeal"]
    version: Version | None = None
    text: Annotated[str, chars(MAX_TEXT, required=False)] = ""
    outcome: Annotated[str, chars(32, required=False)] = ""
    reason: Annotated[str, chars(MAX_TEXT, required=False)] = ""
    then: Annotated[str, chars(8, required=False)] = ""


class AppealForm(Input):
    statement: Annotated[str, chars(MAX_TEXT, required=False)] = ""


class CaseRow(Output):
    id: int
    learner_id: int
    learner_name: str
    unit: str
    period_start: dt.date
    period_end: dt.date
    state: str
    state_name: str
    category: str
    kind: str
    kind_name: str
    band: str
    risk: float
    priority: int
    age_days: int
    assignee: str | None
    version: int


class CasePage(Output):
    total: int
    capped: bool = Field(description="more match than total (counting stops at the cap)")
    items: list[CaseRow]


class CaseDetail(CaseRow):
    """One case: flags with rules and drivers, history, allowed moves."""

    allowed_moves: list[str]
    can_decide: bool
    flags: list[dict[str, Any]]


class State(Output):
    state: str


class Moved(Output):
    state: str
    version: int


class Done(Output):
    ok: bool


class Fairness(Output):
    year: int
    groups: list[dict[str, Any]]


class MyCases(Output):
    items: list[dict[str, Any]]


# ---------------------------------------------------------------- API


@routes.get(
    "/api/v1/cases",
    summary="Review cases of learners in my authority: filter by org, band, kind, category, "
    "state and age; sort by priority, age or risk",
    query=QueueQuery,
    response=CasePage,
)
async def queue_api(request: web.Request, query: QueueQuery) -> web.Response:
    rows, total = await queue(ctx_of(request), actor_of(request), query.as_filter())
    return json_response(
        {"total": total.value, "capped": total.capped, "items": [r.as_dict() for r in rows]}
    )


@routes.get(
    "/api/v1/cases/{case_id}",
    summary="One case: flags with rules and drivers, history, allowed moves",
    path=CasePath,
    response=CaseDetail,
)
async def case_api(request: web.Request, path: CasePath) -> web.Response:
    detail = await load_case(ctx_of(request), actor_of(request), path.case_id)
    return json_response(detail.as_dict())


@routes.post(
    "/api/v1/cases/{case_id}/claim",
    summary="Take a new case into review (optional version for compare-and-set)",
    path=CasePath,
    body=Move,
    body_required=False,
    response=State,
    errors=(409,),
)
async def claim_api(request: web.Request, path: CasePath, body: Move) -> web.Response:
    state = await claim(ctx_of(request), actor_of(request), path.case_id, body.version)
    return json_response({"state": state.value})


@routes.post(
    "/api/v1/cases/{case_id}/release",
    summary="Put a case under review back in the queue",
    path=CasePath,
    body=Move,
    body_required=False,
    response=State,
    errors=(409,),
)
async def release_api(request: web.Request, path: CasePath, body: Move) -> web.Response:
    await release(ctx_of(request), actor_of(request), path.case_id, body.version)
    return json_response({"state": "new"})


@routes.post(
    "/api/v1/cases/{case_id}/notes",
    summary="Add a reviewer's note to the case history",
    path=CasePath,
    body=Note,
    response=Done,
    status=201,
    errors=(409,),
)
async def note_api(request: web.Request, path: CasePath, body: Note) -> web.Response:
    await add_note(ctx_of(request), actor_of(request), path.case_id, body.text)
    return json_response({"ok": True}, status=201)


@routes.post(
    "/api/v1/cases/{case_id}/decision",
    summary="Decide a case (reason required); consequences and the learner's notice follow. "
    "409 when someone else moved the case first",
    path=CasePath,
    body=DecisionIn,
    response=Moved,
    errors=(409,),
)
async def decide_api(request: web.Request, path: CasePath, body: DecisionIn) -> web.Response:
    result = await decide(
        ctx_of(request), actor_of(request), path.case_id, body.outcome, body.reason, body.version
    )
    return json_response(result)


@routes.post(
    "/api/v1/cases/{case_id}/appeal-decision",
    summary="Decide a learner's appeal (a reviewer other than the first decider)",
    path=CasePath,
    body=AppealDecisionIn,
    response=Moved,
    errors=(409,),
)
async def decide_appeal_api(
    request: web.Request, path: CasePath, body: AppealDecisionIn
) -> web.Response:
    result = await decide_appeal(
        ctx_of(request), actor_of(request), path.case_id, body.outcome, body.reason, body.version
    )
    return json_response(result)


@routes.get(
    "/api/v1/review/precision",
    summary="Each rule's and band's precision so far: decided cases and how many were confirmed",
)
async def precision_api(request: web.Request) -> web.Response:
    table = await precision_so_far(ctx_of(request), actor_of(request))
    return json_response({k: [p.as_dict() for p in v] for k, v in table.items()})


@routes.get(
    "/api/v1/review/fairness",
    summary="Flag and confirmation rates by gender, age band and rank in my authority, for a year",
    query=YearQuery,
    response=Fairness,
)
async def fairness_api(request: web.Request, query: YearQuery) -> web.Response:
    table = await fairness(ctx_of(request), actor_of(request), query.the_year)
    return json_response({"year": query.the_year, "groups": [g.as_dict() for g in table]})


@routes.get(
    "/api/v1/me/cases", summary="My decided cases, their reasons and decisions", response=MyCases
)
async def my_cases_api(request: web.Request) -> web.Response:
    cases = await learner_cases.my_cases(ctx_of(request), actor_of(request))
    return json_response({"items": [c.as_dict() for c in cases]})


@routes.post(
    "/api/v1/me/cases/{case_id}/appeal",
    summary="Appeal a finding against me within the appeal period",
    path=CasePath,
    body=AppealIn,
    response=Moved,
    errors=(409,),
)
async def appeal_api(request: web.Request, path: CasePath, body: AppealIn) -> web.Response:
    result = await appeal(ctx_of(request), actor_of(request), path.case_id, body.statement)
    return json_response(result)


# ---------------------------------------------------------------- pages


@routes.get("/review", query=PageQuery)
async def queue_page(request: web.Request, query: PageQuery) -> web.Response:
    ctx, actor = ctx_of(request), actor_of(request)
    f = query.as_filter()
    rows, total = await queue(ctx, actor, f)
    org = None
    if f.org_id is not None:
        org, _ = await tree.picked(ctx, actor, f.org_id)
    table = await precision_so_far(ctx, actor)
    groups = await fairness(ctx, actor, query.the_year)
    return page(
        request,
        "review/queue.html",
        {
            "rows": rows,
            "total": total,
            "f": f,
            "q": dict(request.query),
            "bands": BANDS,
            "band_names": BAND_NAMES,
            "kind_names": KIND_NAMES,
            "state_names": STATE_NAMES,
            "sorts": SORTS,
            "precision": table,
            "fairness": groups,
            "org": org,
            "pages": total.pages(f.limit),
            "page_no": f.offset // f.limit + 1,
            "prev_url": _offset_url(request, f.offset - f.limit) if f.offset > 0 else None,
            "next_url": _offset_url(request, f.offset + f.limit)
            if f.offset + f.limit < total.value or total.capped
            else None,
        },
    )


def _offset_url(request: web.Request, offset: int) -> str:
    """This page's URL with its filters, at another offset."""
    return str(request.rel_url.update_query(offset=max(0, offset)))


@routes.get("/review/next", query=NextQuery)
async def next_page(request: web.Request, query: NextQuery) -> web.Response:
    nxt = await next_case(ctx_of(request), actor_of(request), query.after)
    raise web.HTTPSeeOther(f"/review/cases/{nxt}" if nxt else "/review?done=1")


async def _case_page(
    request: web.Request,
    case_id: int,
    session: str = "",
    *,
    error: str | None = None,
    status: int = 200,
) -> web.Response:
    ctx, actor = ctx_of(request), actor_of(request)
    detail = await load_case(ctx, actor, case_id)
    async with ctx.db() as s:
        ev = await gather(s, actor, detail.case, session or None)
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
            "decisions": detail.decisions,
            "partners": ev.partners,
            "appeal_outcomes": [s for s in STATE_NAMES if s in APPEAL_OUTCOMES],
            "error": error,
        },
        status=status,
    )


@routes.get("/review/cases/{case_id}", path=CasePath, query=CasePageQuery)
async def case_page(request: web.Request, path: CasePath, query: CasePageQuery) -> web.Response:
    return await _case_page(request, path.case_id, query.session)


@routes.post("/review/cases/{case_id}", path=CasePath, form=CaseForm)
async def case_form(request: web.Request, path: CasePath, form: Form[CaseForm]) -> web.Response:
    """One form endpoint for every move on the case page, chosen by the ``action`` field."""
    case_id = path.case_id
    ctx, actor = ctx_of(request), actor_of(request)
    try:
        move = form.valid()
        if move.action == "claim":
            await claim(ctx, actor, case_id, move.version)
        elif move.action == "release":
            await release(ctx, actor, case_id, move.version)
        elif move.action == "note":
            await add_note(ctx, actor, case_id, move.text)
        elif move.action == "decide":
            await decide(ctx, actor, case_id, move.outcome, move.reason, move.version)
            if move.then == "next":
                raise web.HTTPSeeOther(f"/review/next?after={case_id}")
        else:
            await decide_appeal(ctx, actor, case_id, move.outcome, move.reason, move.version)
    except ProctorError as exc:
        return await _case_page(request, case_id, error=exc.message, status=exc.status)
    raise web.HTTPSeeOther(f"/review/cases/{case_id}")


@routes.get("/archive/cases/{case_id}", path=CasePath)
async def my_case_page(request: web.Request, path: CasePath) -> web.Response:
    case = await learner_cases.my_case(ctx_of(request), actor_of(request), path.case_id)
    return page(request, "review/my_case.html", {"k": case, "error": None})


@routes.post("/archive/cases/{case_id}", path=CasePath, form=AppealForm)
async def my_case_appeal(
    request: web.Request, path: CasePath, form: Form[AppealForm]
) -> web.Response:
    ctx, actor = ctx_of(request), actor_of(request)
    try:
        await appeal(ctx, actor, path.case_id, form.valid().statement)
    except ProctorError as exc:
        case = await learner_cases.my_case(ctx, actor, path.case_id)
        return page(
            request, "review/my_case.html", {"k": case, "error": exc.message}, status=exc.status
        )
    raise web.HTTPSeeOther(f"/archive/cases/{path.case_id}")
