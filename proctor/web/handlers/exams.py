"""Exams: the learner's list, the exam page, its API, and bank and exam authoring."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from aiohttp import web
from pydantic import AwareDatetime, Field

from models import utcnow
from proctor.exams import attempts, bank, bank_import, overview, views
from proctor.exams.rules import EVENT_NAMES
from proctor.kernel.errors import Conflict, Forbidden, InvalidInput, NotFound
from proctor.web.endpoint import Binary, Form, Routes
from proctor.web.fields import Credits, Input, Output, RecordId, Seconds, chars
from proctor.web.handlers.rosters import XLSX, upload_of, xlsx_response
from proctor.web.keys import actor_of, ctx_of
from proctor.web.render import json_response, page
from tracker.protocol import MAX_BODY_BYTES
from tracker.web.handlers import client_ip

routes = Routes(tag="exams")
DEVICE_HEADER = "X-Device"
ATTEMPT = "/api/v1/exams/attempts/{attempt_id}"
PageEvent = Literal[
    "hidden", "visible", "blur", "focus", "fullscreen_exit", "copy", "paste", "cut", "menu"
]


class ExamPath(Input):
    exam_id: RecordId


class CoursePath(Input):
    course_id: RecordId


class AttemptPath(Input):
    attempt_id: RecordId


class ItemPath(AttemptPath):
    item_id: RecordId


class AttemptStart(Input):
    device: Annotated[str, chars(128, required=False)] = ""


class AnswerIn(Input):
    choice: Annotated[
        list[Annotated[str, Field(max_length=2)]],
        Field(max_length=26, description='option ids, such as ["A"]; empty clears the answer'),
    ]
    seconds: Seconds = 0


class PageEventIn(Input):
    kind: PageEvent
    item_id: RecordId | None = None
    client_ms: Annotated[float, Field(ge=0, le=1e14)] | None = None


class Beat(Input):
    events: Annotated[list[PageEventIn], Field(max_length=attempts.MAX_EVENTS_PER_REPORT)] = Field(
        default_factory=list
    )


class ItemIn(Input):
    kind: Literal["single", "multiple", "truefalse"]
    stem: Annotated[str, chars(2000)]
    options: Annotated[list[Annotated[str, chars(500)]], Field(max_length=26)] = Field(
        default_factory=list
    )
    key: Annotated[str, chars(26, description='the right options, such as "B" or "AC"')]


class NewItems(Input):
    items: Annotated[list[ItemIn], Field(min_length=1, max_length=500)]


class NewExam(Input):
    title: Annotated[str, chars(200)]
    item_count: Annotated[int, Field(ge=1, le=200)]
    time_limit_s: Annotated[int, Field(ge=60, le=6 * 3600)]
    pass_mark: Annotated[int, Field(ge=1, le=100)]
    attempts_allowed: Annotated[int, Field(ge=1, le=10)]
    bonus_credits: Credits
    opens_at: AwareDatetime
    closes_at: AwareDatetime


class ExamForm(Input):
    title: Annotated[str, chars(200)]
    item_count: Annotated[int, Field(ge=1, le=200)]
    time_limit_min: Annotated[int, Field(ge=1, le=6 * 60)]
    pass_mark: Annotated[int, Field(ge=1, le=100)]
    attempts_allowed: Annotated[int, Field(ge=1, le=10)]
    bonus_credits: Annotated[str, chars(10)]
    opens_at: Annotated[str, chars(40)]
    closes_at: Annotated[str, chars(40)]


class ExamCard(Output):
    exam_id: int
    title: str
    course_id: int
    course_title: str
    opens_at: dt.datetime
    closes_at: dt.datetime
    status: Literal["upcoming", "open", "closed"]
    item_count: int
    time_limit_s: int
    pass_mark: int
    attempts_allowed: int
    attempts_used: int
    bonus_credits: Annotated[str, Field(description="exact decimal")]
    best_score: int | None
    passed: bool
    open_attempt_id: int | None


class ExamCards(Output):
    items: list[ExamCard]


class Option(Output):
    id: str
    label: str
    text: str


class ShownItem(Output):
    n: int
    item_id: int
    kind: str
    stem: str
    options: list[Option]
    chosen: list[str]


class Attempt(Output):
    attempt_id: int
    exam_id: int
    title: str
    state: str
    remaining_s: int
    deadline: dt.datetime
    beat_interval_s: int
    items: list[ShownItem]
    answered: int
    score: int | None
    passed: bool | None


class Saved(Output):
    item_id: int
    choice: list[str]
    answered: int
    remaining_s: int


class BeatReply(Output):
    state: str
    remaining_s: int
    recorded: int


class Added(Output):
    added: int
    bank_size: int


class ExamCreated(Output):
    exam_id: int
    title: str


class ExamRow(Output):
    exam_id: int
    title: str
    course_id: int
    course_title: str
    opens_at: dt.datetime
    closes_at: dt.datetime
    status: str
    analysed_at: dt.datetime | None
    examinees: int
    finished: int
    passed: int
    pass_rate: float | None
    mean_score: float | None
    flags: int


class ExamRows(Output):
    items: list[ExamRow]


class ExamRun(Output):
    exam_id: int
    title: str
    attempts: int
    pairs_tested: int
    flags: int
    cases_opened: int


def _device(request: web.Request) -> str:
    return request.headers.get(DEVICE_HEADER, "")[:128]


def _card(c: views.ExamCard) -> dict[str, Any]:
    e = c.exam
    return {
        "exam_id": e.id,
        "title": e.title,
        "course_id": c.course.id,
        "course_title": c.course.title,
        "opens_at": e.opens_at,
        "closes_at": e.closes_at,
        "status": c.status,
        "item_count": e.item_count,
        "time_limit_s": e.time_limit_s,
        "pass_mark": e.pass_mark,
        "attempts_allowed": e.attempts_allowed,
        "attempts_used": c.attempts_used,
        "bonus_credits": e.bonus_credits,
        "best_score": c.best_score,
        "passed": c.passed,
        "open_attempt_id": c.open_attempt_id,
    }


@routes.get(
    "/api/v1/exams",
    summary="Exams the learner may take, with their attempts, best score and status",
    response=ExamCards,
)
async def list_api(request: web.Request) -> web.Response:
    cards = await views.exams_for_learner(ctx_of(request), actor_of(request), utcnow())
    return json_response({"items": [_card(c) for c in cards]})


@routes.post(
    "/api/v1/exams/{exam_id}/attempts",
    summary="Start an attempt (or resume the open one); the server draws items and keeps the clock",
    path=ExamPath,
    body=AttemptStart,
    body_required=False,
    max_body=MAX_BODY_BYTES,
    response=Attempt,
    status=201,
    also=(200,),  # the open attempt resumed
    errors=(409,),
)
async def start_api(request: web.Request, path: ExamPath, body: AttemptStart) -> web.Response:
    attempt = await attempts.start(
        ctx_of(request),
        actor_of(request),
        path.exam_id,
        ip=client_ip(request),
        device=body.device,
        user_agent=request.headers.get("User-Agent", ""),
        now=utcnow(),
    )
    return json_response(attempt.as_json(), status=201 if attempt.created else 200)


@routes.get(
    ATTEMPT,
    summary="The attempt as the learner sees it: items without the key, saved answers, time left",
    path=AttemptPath,
    response=Attempt,
)
async def attempt_api(request: web.Request, path: AttemptPath) -> web.Response:
    attempt = await attempts.view(
        ctx_of(request),
        actor_of(request),
        path.attempt_id,
        ip=client_ip(request),
        device=_device(request),
        now=utcnow(),
    )
    return json_response(attempt.as_json())


@routes.put(
    ATTEMPT + "/answers/{item_id}",
    summary="Save, change or clear the answer to one item (option ids, not display letters)",
    path=ItemPath,
    body=AnswerIn,
    max_body=MAX_BODY_BYTES,
    response=Saved,
    errors=(409,),
)
async def answer_api(request: web.Request, path: ItemPath, body: AnswerIn) -> web.Response:
    saved = await attempts.save_answer(
        ctx_of(request),
        actor_of(request),
        path.attempt_id,
        path.item_id,
        body.choice,
        body.seconds,
        now=utcnow(),
    )
    return json_response(saved)


@routes.post(
    ATTEMPT + "/beats",
    summary="Invigilation beat: page events since the last beat; replies with server time left",
    path=AttemptPath,
    body=Beat,
    max_body=MAX_BODY_BYTES,
    response=BeatReply,
    errors=(409,),
)
async def beat_api(request: web.Request, path: AttemptPath, body: Beat) -> web.Response:
    # Only small, known detail fields are kept: the page is not trusted with free text.
    events: list[tuple[str, dict[str, Any]]] = [
        (e.kind, e.model_dump(exclude={"kind"}, exclude_none=True)) for e in body.events
    ]
    reply = await attempts.report(
        ctx_of(request),
        actor_of(request),
        path.attempt_id,
        events,
        ip=client_ip(request),
        device=_device(request),
        now=utcnow(),
    )
    return json_response(reply)


@routes.post(
    ATTEMPT + "/submit",
    summary="Hand in: scored on the server; a pass posts the bonus credits once per course and year",
    path=AttemptPath,
    response=Attempt,
    errors=(409,),
)
async def submit_api(request: web.Request, path: AttemptPath) -> web.Response:
    attempt = await attempts.submit(
        ctx_of(request), actor_of(request), path.attempt_id, now=utcnow()
    )
    return json_response(attempt.as_json())


@routes.post(
    "/api/v1/courses/{course_id}/exam-items",
    summary="Add questions to a course's bank (course managers)",
    path=CoursePath,
    body=NewItems,
    response=Added,
    status=201,
)
async def items_api(request: web.Request, path: CoursePath, body: NewItems) -> web.Response:
    items = [bank.parse_item(r.model_dump(), f"items[{i}]") for i, r in enumerate(body.items)]
    size = await bank.add_items(ctx_of(request), actor_of(request), path.course_id, items)
    return json_response({"added": len(items), "bank_size": size}, status=201)


@routes.post(
    "/api/v1/courses/{course_id}/exam-items.xlsx",
    summary="Import questions from an Excel sheet (题型, 题干, 选项A…, 答案), all or none",
    path=CoursePath,
    upload="file",
    response=Added,
    status=201,
)
async def items_xlsx_api(request: web.Request, path: CoursePath) -> web.Response:
    upload = await upload_of(request, "题库", "Excel .xlsx")
    items = bank_import.read_bank(upload.data)
    size = await bank.add_items(ctx_of(request), actor_of(request), path.course_id, items)
    return json_response({"added": len(items), "bank_size": size}, status=201)


@routes.get(
    "/api/v1/exam-items/template.xlsx",
    summary="The question bank template (XLSX)",
    response=Binary(XLSX),
)
async def template_api(request: web.Request) -> web.Response:
    return xlsx_response(bank_import.template_xlsx(), "题库模板.xlsx", "exam-bank-template.xlsx")


@routes.post(
    "/api/v1/courses/{course_id}/exams",
    summary="Open an exam on a course (course managers)",
    path=CoursePath,
    body=NewExam,
    response=ExamCreated,
    status=201,
)
async def create_api(request: web.Request, path: CoursePath, body: NewExam) -> web.Response:
    spec = bank.parse_exam(body.model_dump(mode="json"))
    exam = await bank.create_exam(ctx_of(request), actor_of(request), path.course_id, spec)
    return json_response({"exam_id": exam.id, "title": exam.title}, status=201)


@routes.get(
    "/api/v1/admin/exams",
    summary="Exams with their sitting counted over the caller's own learners (staff)",
    response=ExamRows,
)
async def overview_api(request: web.Request) -> web.Response:
    rows = await overview.overview(ctx_of(request), actor_of(request), utcnow())
    return json_response({"items": [r.as_dict() for r in rows]})


@routes.post(
    "/api/v1/admin/exams/{exam_id}/analysis",
    summary="Run post-exam forensics on a closed exam now (course managers; once per window)",
    path=ExamPath,
    response=ExamRun,
    status=201,
    errors=(409,),
)
async def analyse_api(request: web.Request, path: ExamPath) -> web.Response:
    run = await overview.analyse_now(ctx_of(request), actor_of(request), path.exam_id, utcnow())
    return json_response(run.__dict__, status=201)


# ---------------------------------------------------------------- pages


async def _overview_page(
    request: web.Request, *, done: Any = None, notice: str = "", error: str = "", status: int = 200
) -> web.Response:
    ctx, actor = ctx_of(request), actor_of(request)
    rows = await overview.overview(ctx, actor, utcnow())
    banks = await overview.managed_courses(ctx, actor)
    return page(
        request,
        "exams/overview.html",
        {"rows": rows, "banks": banks, "done": done, "notice": notice, "error": error},
        status=status,
    )


@routes.get("/admin/exams")
async def overview_page(request: web.Request) -> web.Response:
    return await _overview_page(request)


@routes.post("/admin/exams/courses/{course_id}/bank", path=CoursePath)
async def bank_form(request: web.Request, path: CoursePath) -> web.Response:
    try:
        upload = await upload_of(request, "题库", "Excel .xlsx")
        items = bank_import.read_bank(upload.data)
        size = await bank.add_items(ctx_of(request), actor_of(request), path.course_id, items)
    except (InvalidInput, Forbidden, NotFound) as exc:
        return await _overview_page(request, error=exc.message, status=exc.status)
    return await _overview_page(request, notice=f"已导入 {len(items)} 道题，题库现有 {size} 道题。")


@routes.post("/admin/exams/courses/{course_id}/exams", path=CoursePath, form=ExamForm)
async def exam_form(request: web.Request, path: CoursePath, form: Form[ExamForm]) -> web.Response:
    try:
        fields = form.valid()
        raw = fields.model_dump(exclude={"time_limit_min"}) | {
            "time_limit_s": fields.time_limit_min * 60,
            "opens_at": _local_moment(fields.opens_at),
            "closes_at": _local_moment(fields.closes_at),
        }
        exam = await bank.create_exam(
            ctx_of(request), actor_of(request), path.course_id, bank.parse_exam(raw)
        )
    except (InvalidInput, Forbidden, NotFound) as exc:
        return await _overview_page(request, error=exc.message, status=exc.status)
    return await _overview_page(request, notice=f"已发布考试《{exam.title}》。")


def _local_moment(value: str) -> str:
    """A datetime-local form value is academy (Beijing) time."""
    return f"{value}:00+08:00" if len(value) == 16 else value


@routes.post("/admin/exams/{exam_id}/analysis", path=ExamPath)
async def analyse_form(request: web.Request, path: ExamPath) -> web.Response:
    ctx, actor = ctx_of(request), actor_of(request)
    try:
        done = await overview.analyse_now(ctx, actor, path.exam_id, utcnow())
    except (Conflict, Forbidden, NotFound) as exc:
        return await _overview_page(request, error=exc.message, status=exc.status)
    return await _overview_page(request, done=done)


@routes.get("/exams")
async def list_page(request: web.Request) -> web.Response:
    cards = await views.exams_for_learner(ctx_of(request), actor_of(request), utcnow())
    return page(request, "exams/list.html", {"cards": cards})


@routes.get("/exams/attempts/{attempt_id}", path=AttemptPath)
async def attempt_page(request: web.Request, path: AttemptPath) -> web.Response:
    attempt = await attempts.view(
        ctx_of(request),
        actor_of(request),
        path.attempt_id,
        ip=client_ip(request),
        device="",
        now=utcnow(),
        opened=True,
    )
    return page(request, "exams/attempt.html", {"a": attempt, "event_names": EVENT_NAMES})
