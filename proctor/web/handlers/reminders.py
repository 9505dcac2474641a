"""To-do lists and reminders: what waits for each staff member, their in-app reminders, a
liaison's reminder to the learners behind schedule, and the record of reminders sent."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from aiohttp import web
from pydantic import Field

from models import utcnow
from proctor.reminders import log, sending, todo
from proctor.reminders.texts import KIND_NAMES
from proctor.web.endpoint import Form, Routes
from proctor.web.fields import Input, Offset, Output, Page, RecordId, chars
from proctor.web.keys import actor_of, ctx_of
from proctor.web.render import json_response, page

routes = Routes(tag="reminders")
Kind = Literal["behind", "batch", "case_due", "appeal_window"]
PER_PAGE = 50


class ReminderPath(Input):
    reminder_id: RecordId


class SentQuery(Input):
    kind: Kind | None = None
    offset: Offset = 0
    limit: Annotated[int, Field(ge=1, le=200)] = PER_PAGE


class SentPageQuery(Input):
    kind: Kind | None = None
    page: Page = 1
    sent: Annotated[int, Field(ge=0, le=10_000_000)] | None = None
    already: Annotated[int, Field(ge=0, le=10_000_000)] | None = None


class BackForm(Input):
    next: Annotated[str, chars(2000, required=False)] = ""


class Item(Output):
    key: str
    count: int
    label: str
    link: str
    hint: str


class TodoOut(Output):
    items: list[Item]
    unread_reminders: int


class Reminder(Output):
    id: int
    kind: Kind
    title: str
    body: str
    link: str
    created_at: dt.datetime
    read: bool


class Reminders(Output):
    items: list[Reminder]


class Sent(Output):
    sent: int = Field(description="reminders sent now")
    already: int = Field(description="learners already reminded this month, not sent again")


class SentItem(Output):
    id: int
    kind: Kind
    kind_name: str
    to: str
    title: str
    created_at: dt.datetime
    sent_by: str | None = Field(description="null: sent by the schedule")
    deliveries: dict[str, str] = Field(description="channel: delivered | failed | skipped")


class SentPage(Output):
    total: int
    capped: bool
    items: list[SentItem]


class Done(Output):
    ok: bool


def _local(target: str, default: str) -> str:
    return target if target.startswith("/") and not target.startswith("//") else default


@routes.get(
    "/api/v1/todo",
    summary="What waits for me (staff): counts and links, as on my home page",
    response=TodoOut,
)
async def todo_api(request: web.Request) -> web.Response:
    actor = actor_of(request)
    if not actor.is_staff:
        return json_response({"items": [], "unread_reminders": 0})
    found = await todo.todo(ctx_of(request), actor)
    return json_response(found.as_dict())


@routes.get("/api/v1/reminders", summary="My reminders, unread first", response=Reminders)
async def mine_api(request: web.Request) -> web.Response:
    rows = await todo.my_reminders(ctx_of(request), actor_of(request))
    return json_response({"items": [r.as_dict() for r in rows]})


@routes.post(
    "/api/v1/reminders/{reminder_id}/read",
    summary="Mark one of my reminders read",
    path=ReminderPath,
    response=Done,
)
async def read_api(request: web.Request, path: ReminderPath) -> web.Response:
    await todo.mark_read(ctx_of(request), actor_of(request), path.reminder_id)
    return json_response({"ok": True})


@routes.post(
    "/api/v1/reminders/behind",
    summary="Remind the learners of my authority who are behind schedule (each at most once a "
    "month, whoever asks)",
    response=Sent,
)
async def behind_api(request: web.Request) -> web.Response:
    sent, already = await sending.remind_behind(ctx_of(request), actor_of(request), utcnow())
    return json_response({"sent": sent, "already": already})


@routes.get(
    "/api/v1/reminders/sent",
    summary="Reminders sent to accounts of my authority: who, what, when, each channel's outcome",
    query=SentQuery,
    response=SentPage,
)
async def sent_api(request: web.Request, query: SentQuery) -> web.Response:
    total, rows = await log.sent(
        ctx_of(request),
        actor_of(request),
        kind=query.kind or "",
        offset=query.offset,
        limit=query.limit,
    )
    return json_response(
        {"total": total.value, "capped": total.capped, "items": [r.as_dict() for r in rows]}
    )


@routes.get("/admin/reminders", query=SentPageQuery)
async def sent_page(request: web.Request, query: SentPageQuery) -> web.Response:
    total, rows = await log.sent(
        ctx_of(request),
        actor_of(request),
        kind=query.kind or "",
        offset=(query.page - 1) * PER_PAGE,
        limit=PER_PAGE,
    )
    return page(
        request,
        "reminders/sent.html",
        {
            "rows": rows,
            "total": total,
            "f": query,
            "pages": total.pages(PER_PAGE),
            "kinds": KIND_NAMES,
        },
    )


@routes.post("/admin/reminders/behind")
async def behind_form(request: web.Request) -> web.Response:
    sent, already = await sending.remind_behind(ctx_of(request), actor_of(request), utcnow())
    raise web.HTTPSeeOther(f"/admin/reminders?kind=behind&sent={sent}&already={already}")


@routes.post("/reminders/{reminder_id}/read", path=ReminderPath, form=BackForm)
async def read_form(request: web.Request, path: ReminderPath, form: Form[BackForm]) -> web.Response:
    await todo.mark_read(ctx_of(request), actor_of(request), path.reminder_id)
    raise web.HTTPSeeOther(_local(form.get("next"), "/"))
