"""RFC 9457 problem bodies for the JSON API."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from tracker.errors import ServiceError


def problem(
    status: int,
    code: str,
    detail: str,
    *,
    field: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> web.Response:
    """A ``application/problem+json`` response naming what was wrong."""
    body: dict[str, Any] = {
        "type": f"https://proctor.invalid/problems/{code}",
        "title": code,
        "status": status,
        "detail": detail,
    }
    if field is not None:
        body["field"] = field
    body.update(extra)
    return web.Response(
        status=status,
        text=json.dumps(body, ensure_ascii=False, default=str),
        content_type="application/problem+json",
        headers=headers,
    )


def problem_of(exc: ServiceError) -> web.Response:
    """The problem body of a refusal."""
    extra = dict(exc.extra)
    if exc.retry_after is not None:
        extra["retry_after"] = exc.retry_after  # also in the body, for clients that log it
    return problem(exc.status, exc.code, exc.message, field=exc.field, headers=exc.headers, **extra)
