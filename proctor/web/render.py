"""Page rendering and JSON responses."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import jinja2
from aiohttp import web

from models import Role
from proctor.exams import charts as exam_charts
from proctor.kernel.calendar import local_text
from proctor.kernel.jsonable import to_jsonable
from proctor.web.csrf import csrf_token
from proctor.web.keys import ACTOR

ROLE_NAMES = {
    Role.LEARNER: "学员",
    Role.LIAISON: "联络员",
    Role.ORG_ADMIN: "组织管理员",
    Role.REVIEWER: "审核员",
    Role.ACADEMY_ADMIN: "学院管理员",
}


def json_response(data: Any, status: int = 200) -> web.Response:
    """A JSON response that keeps Chinese readable and decimals exact."""
    return web.Response(
        text=json.dumps(data, ensure_ascii=False, default=to_jsonable),
        status=status,
        content_type="application/json",
    )


TEMPLATES = web.AppKey("templates", jinja2.Environment)


def make_environment() -> jinja2.Environment:
    """Jinja environment over the package's templates, autoescaping HTML."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("proctor.web", "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
        enable_async=False,
    )
    env.filters["local"] = local_time
    env.filters["exam_pictures"] = exam_charts.pictures
    env.filters["exam_events"] = exam_charts.event_rows
    env.filters["rate"] = rate
    return env


def rate(percent: object, whole: int) -> str:
    """A percentage with its sign, or "—" when there is nothing to divide (0 of 0 is not 0 %)."""
    return f"{percent}%" if whole else "—"


def local_time(value: dt.datetime | str | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A server timestamp as academy local time, the way every page shows times."""
    return local_text(value, fmt)


def page(
    request: web.Request, template: str, context: dict[str, Any], *, status: int = 200
) -> web.Response:
    """Render a page with the signed-in actor available to the layout."""
    env = request.config_dict[TEMPLATES]
    html = env.get_template(template).render(
        actor=request.get(ACTOR),
        role_names=ROLE_NAMES,
        Role=Role,
        request=request,
        csrf_token=csrf_token(request),
        **context,
    )
    return web.Response(text=html, status=status, content_type="text/html")
