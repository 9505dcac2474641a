"""Exams: the learner's list, the exam page, its API, and bank and exam authoring."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from models import utcnow
from proctor.errors import Conflict, Forbidden, InvalidInput, NotFound
from proctor.exams import bank, bank_import, overview, service
from proctor.exams.rules import EVENT_NAMES
from proctor.web import parse
from proctor.web.handlers.rosters import read_upload, xlsx_response
from proctor.web.keys import actor_of, ctx_of
from proctor.web.openapi import DECIMAL, INT, STR, obj, op, path_id
from proctor.web.render import json_response, page
from tracker.web.handlers import client_ip, read_body, tracked

routes = web.RouteTableDef()
DEVICE_HEADER = "X-Device"
ATTEMPT = "/api/v1/exams/attempts/{attempt_id}"


def _device(request: web.Request) -> str:
    return request.headers.get(DEVICE_HEADER, "")[:128]


def _attempt_id(request: web.Request) -> int:
    return parse.path_int(request, "attempt_id")


def _card(c: service.ExamCard) -> dict[str, Any]:
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


@routes.get("/api/v1/exams")
async def list_api(request: web.Request) -> web.Response:
    cards = await service.exams_for_learner(ctx_of(request), actor_of(request), utcnow())
    return json_response({"items": [_card(c) for c in cards]})


@routes.post("/api/v1/exams/{exam_id}/attempts")
@tracked
async def start_api(request: web.Request) -> web.Response:
    data = await read_body(request) if request.can_read_body else {}
    device = data.get("device", "")
    if not isinstance(device, str) or len(device) > 128:
        raise InvalidInput("字段 device 应为不超过 128 个字符的字符串", field="device")
    attempt = await service.start(
        ctx_of(request),
        actor_of(request),
        parse.path_int(request, "exam_id"),
        ip=client_ip(request),
        device=device,
        user_agent=request.headers.get("User-Agent", ""),
        now=utcnow(),
    )
    return json_response(attempt.as_json(), status=201 if attempt.created else 200)


@routes.get(ATTEMPT)
async def attempt_api(request: web.Request) -> web.Response:
    attempt = await service.view(
        ctx_of(request),
        actor_of(request),
        _attempt_id(request),
        ip=client_ip(request),
        device=_device(request),
        now=utcnow(),
    )
    return json_response(attempt.as_json())


@routes.put(ATTEMPT + "/answers/{item_id}")
@tracked
async def answer_api(request: web.Request) -> web.Response:
    data = await read_body(request)
    chosen = data.get("choice")
    if not isinstance(chosen, list) or not all(isinstance(c, str) and len(c) <= 2 for c in chosen):
        raise InvalidInput('字段 choice 应为选项编号的列表，如 ["A"]', field="choice")
    seconds = data.get("seconds", 0)
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not 0 <= seconds < 1e6:
        raise InvalidInput("字段 seconds 应为非负数", field="seconds")
    saved = await service.save_answer(
        ctx_of(request),
        actor_of(request),
        _attempt_id(request),
        parse.path_int(request, "item_id"),
        chosen,
        float(seconds),
        now=utcnow(),
    )
    return json_response(saved)


@routes.post(ATTEMPT + "/beats")
@tracked
async def beat_api(request: web.Request) -> web.Response:
    data = await read_body(request)
    raw = data.get("events", [])
    if not isinstance(raw, list):
        raise InvalidInput("字段 events 应为列表", field="events")
    events: list[tuple[str, dict[str, Any]]] = []
    for e in raw:
        if not isinstance(e, dict) or not isinstance(e.get("kind"), str):
            raise InvalidInput("每个事件应为含 kind 的对象", field="events")
        # Only small, known detail fields are kept: the page is not trusted with free text.
        detail = {k: e[k] for k in ("item_id", "client_ms") if isinstance(e.get(k), int | float)}
        events.append((e["kind"], detail))
    reply = await service.report(
        ctx_of(request),
        actor_of(request),
        _attempt_id(request),
        events,
        ip=client_ip(request),
        device=_device(request),
        now=utcnow(),
    )
    return json_response(reply)


@routes.post(ATTEMPT + "/submit")
async def submit_api(request: web.Request) -> web.Response:
    attempt = await service.submit(
        ctx_of(request), actor_of(request), _attempt_id(request), now=utcnow()
    )
    return json_response(attempt.as_json())


@routes.post("/api/v1/courses/{course_id}/exam-items")
async def items_api(request: web.Request) -> web.Response:
    data = await parse.json_body(request)
    raw = data.get("items")
    if not isinstance(raw, list) or not 1 <= len(raw) <= 500:
        raise InvalidInput("字段 items 应为 1 至 500 道题的列表", field="items")
    items = [bank.parse_item(r, f"items[{i}]") for i, r in enumerate(raw)]
    size = await bank.add_items(
        ctx_of(request), actor_of(request), parse.path_int(request, "course_id"), items
    )
    return json_response({"added": len(items), "bank_size": size}, status=201)


@routes.post("/api/v1/courses/{course_id}/exam-items.xlsx")
async def items_xlsx_api(request: web.Request) -> web.Response:
    _, data = await read_upload(request, "题库", "Excel .xlsx")
    items = bank_import.read_bank(data)
    size = await bank.add_items(
        ctx_of(request), actor_of(request), parse.path_int(request, "course_id"), items
    )
    return json_response({"added": len(items), "bank_size": size}, status=201)


@routes.get("/api/v1/exam-items/template.xlsx")
async def template_api(request: web.Request) -> web.Response:
    return xlsx_response(bank_import.template_xlsx(), "题库模板.xlsx", "exam-bank-template.xlsx")


@routes.post("/api/v1/courses/{course_id}/exams")
async def create_api(request: web.Request) -> web.Response:
    spec = bank.parse_exam(await parse.json_body(request))
    exam = await bank.create_exam(
        ctx_of(request), actor_of(request), parse.path_int(request, "course_id"), spec
    )
    return json_response({"exam_id": exam.id, "title": exam.title}, status=201)


@routes.get("/api/v1/admin/exams")
async def overview_api(request: web.Request) -> web.Response:
    rows = await overview.overview(ctx_of(request), actor_of(request), utcnow())
    return json_response({"items": [r.as_dict() for r in rows]})


@routes.post("/api/v1/admin/exams/{exam_id}/analysis")
async def analyse_api(request: web.Request) -> web.Response:
    run = await overview.analyse_now(
        ctx_of(request), actor_of(request), parse.path_int(request, "exam_id"), utcnow()
    )
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


@routes.post("/admin/exams/courses/{course_id}/bank")
async def bank_form(request: web.Request) -> web.Response:
    try:
        _, data = await read_upload(request, "题库", "Excel .xlsx")
        items = bank_import.read_bank(data)
        size = await bank.add_items(
            ctx_of(request), actor_of(request), parse.path_int(request, "course_id"), items
        )
    except (InvalidInput, Forbidden, NotFound) as exc:
        return await _overview_page(request, error=exc.message, status=exc.status)
    return await _overview_page(request, notice=f"已导入 {len(items)} 道题，题库现有 {size} 道题。")


@routes.post("/admin/exams/courses/{course_id}/exams")
async def exam_form(request: web.Request) -> web.Response:
    form = await parse.form_or_json(request)
    try:
        raw = {
            "title": form.get("title", ""),
            "item_count": parse.integer(form, "item_count", minimum=1),
            "time_limit_s": (parse.required_int(form, "time_limit_min", minimum=1)) * 60,
            "pass_mark": parse.integer(form, "pass_mark"),
            "attempts_allowed": parse.integer(form, "attempts_allowed"),
            "bonus_credits": form.get("bonus_credits", ""),
            "opens_at": _local_moment(form.get("opens_at", "")),
            "closes_at": _local_moment(form.get("closes_at", "")),
        }
        exam = await bank.create_exam(
            ctx_of(request),
            actor_of(request),
            parse.path_int(request, "course_id"),
            bank.parse_exam(raw),
        )
    except (InvalidInput, Forbidden, NotFound) as exc:
        return await _overview_page(request, error=exc.message, status=exc.status)
    return await _overview_page(request, notice=f"已发布考试《{exam.title}》。")


def _local_moment(value: str) -> str:
    """A datetime-local form value is academy (Beijing) time."""
    return f"{value}:00+08:00" if len(value) == 16 else value


@routes.post("/admin/exams/{exam_id}/analysis")
async def analyse_form(request: web.Request) -> web.Response:
    ctx, actor = ctx_of(request), actor_of(request)
    try:
        done = await overview.analyse_now(ctx, actor, parse.path_int(request, "exam_id"), utcnow())
    except (Conflict, Forbidden, NotFound) as exc:
        return await _overview_page(request, error=exc.message, status=exc.status)
    return await _overview_page(request, done=done)


@routes.get("/exams")
async def list_page(request: web.Request) -> web.Response:
    cards = await service.exams_for_learner(ctx_of(request), actor_of(request), utcnow())
    return page(request, "exams/list.html", {"cards": cards})


@routes.get("/exams/attempts/{attempt_id}")
async def attempt_page(request: web.Request) -> web.Response:
    attempt = await service.view(
        ctx_of(request),
        actor_of(request),
        _attempt_id(request),
        ip=client_ip(request),
        device="",
        now=utcnow(),
        opened=True,
    )
    return page(request, "exams/attempt.html", {"a": attempt, "event_names": EVENT_NAMES})


ATTEMPT_SCHEMA = obj(
    attempt_id=INT,
    exam_id=INT,
    title=STR,
    state=STR,
    remaining_s=INT,
    deadline=STR,
    beat_interval_s=INT,
    items={"type": "array", "items": {"type": "object"}},
    answered=INT,
    score={"type": ["integer", "null"]},
    passed={"type": ["boolean", "null"]},
)
LEARNER_ERRORS = (400, 401, 403, 404, 409, 413, 422)

OPENAPI: dict[str, dict[str, Any]] = {
    "/api/v1/admin/exams": {
        "get": op(
            "Exams with their sitting counted over the caller's own learners (staff)",
            tag="exams",
            response=obj(items={"type": "array", "items": {"type": "object"}}),
            errors=(401, 403),
        )
    },
    "/api/v1/admin/exams/{exam_id}/analysis": {
        "post": op(
            "Run post-exam forensics on a closed exam now (course managers; once per window)",
            tag="exams",
            params=[path_id("exam_id")],
            response=obj(
                exam_id=INT, title=STR, attempts=INT, pairs_tested=INT, flags=INT, cases_opened=INT
            ),
            errors=(401, 403, 404, 409),
        )
    },
    "/api/v1/exams": {
        "get": op(
            "Exams the learner may take, with their attempts, best score and status",
            tag="exams",
            response=obj(items={"type": "array", "items": {"type": "object"}}),
            errors=(401, 403),
        )
    },
    "/api/v1/exams/{exam_id}/attempts": {
        "post": op(
            "Start an attempt (or resume the open one); the server draws items and keeps the clock",
            tag="exams",
            params=[path_id("exam_id")],
            body=obj(device=STR),
            response=ATTEMPT_SCHEMA,
            errors=LEARNER_ERRORS,
        )
    },
    ATTEMPT: {
        "get": op(
            "The attempt as the learner sees it: items without the key, saved answers, time left",
            tag="exams",
            params=[path_id("attempt_id")],
            response=ATTEMPT_SCHEMA,
            errors=(401, 403, 404),
        )
    },
    ATTEMPT + "/answers/{item_id}": {
        "put": op(
            "Save, change or clear the answer to one item (option ids, not display letters)",
            tag="exams",
            params=[path_id("attempt_id"), path_id("item_id")],
            body=obj(choice={"type": "array", "items": STR}, seconds={"type": "number"}),
            response=obj(
                item_id=INT, choice={"type": "array", "items": STR}, answered=INT, remaining_s=INT
            ),
            errors=LEARNER_ERRORS,
        )
    },
    ATTEMPT + "/beats": {
        "post": op(
            "Invigilation beat: page events since the last beat; replies with server time left",
            tag="exams",
            params=[path_id("attempt_id")],
            body=obj(
                events={
                    "type": "array",
                    "items": obj(kind=STR),
                    "description": "kinds: hidden, visible, blur, focus, fullscreen_exit, "
                    "copy, paste, cut, menu",
                }
            ),
            response=obj(state=STR, remaining_s=INT, recorded=INT),
            errors=LEARNER_ERRORS,
        )
    },
    ATTEMPT + "/submit": {
        "post": op(
            "Hand in: scored on the server; a pass posts the bonus credits once per course and year",
            tag="exams",
            params=[path_id("attempt_id")],
            response=ATTEMPT_SCHEMA,
            errors=(401, 403, 404),
        )
    },
    "/api/v1/courses/{course_id}/exam-items": {
        "post": op(
            "Add questions to a course's bank (course managers)",
            tag="exams",
            params=[path_id("course_id")],
            body=obj(
                items={
                    "type": "array",
                    "items": obj(
                        kind=STR, stem=STR, options={"type": "array", "items": STR}, key=STR
                    ),
                }
            ),
            response=obj(added=INT, bank_size=INT),
        )
    },
    "/api/v1/courses/{course_id}/exam-items.xlsx": {
        "post": op(
            "Import questions from an Excel sheet (题型, 题干, 选项A…, 答案), all or none",
            tag="exams",
            params=[path_id("course_id")],
            body={
                "type": "object",
                "properties": {"file": {"type": "string", "format": "binary"}},
                "required": ["file"],
            },
            content_type="multipart/form-data",
            response=obj(added=INT, bank_size=INT),
            errors=(400, 401, 403, 404, 413, 422),
        )
    },
    "/api/v1/exam-items/template.xlsx": {
        "get": op("The question bank template (XLSX)", tag="exams", errors=(401,))
    },
    "/api/v1/courses/{course_id}/exams": {
        "post": op(
            "Open an exam on a course (course managers)",
            tag="exams",
            params=[path_id("course_id")],
            body=obj(
                title=STR,
                item_count=INT,
                time_limit_s=INT,
                pass_mark=INT,
                attempts_allowed=INT,
                bonus_credits=DECIMAL,
                opens_at=STR,
                closes_at=STR,
            ),
            response=obj(exam_id=INT, title=STR),
        )
    },
}
