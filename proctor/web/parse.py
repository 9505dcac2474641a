"""Request parsing helpers that turn bad input into field-named errors."""

from __future__ import annotations

import datetime as dt
import json
import math
from typing import Any

from aiohttp import web

from proctor.errors import InvalidInput


async def json_body(request: web.Request) -> dict[str, Any]:
    """The request's JSON object, or a 4xx naming the problem."""
    if not request.can_read_body:
        raise InvalidInput("请求体为空，应为 JSON 对象", field="body")
    try:
        data = json.loads(await request.text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"请求体不是合法的 JSON：{exc}", field="body") from exc
    if not isinstance(data, dict):
        raise InvalidInput("请求体应为 JSON 对象", field="body")
    return data


async def form_or_json(request: web.Request) -> dict[str, Any]:
    """Form fields for pages, a JSON object for the API."""
    if request.content_type == "application/json":
        return await json_body(request)
    form = await request.post()
    return {k: v for k, v in form.items() if isinstance(v, str)}


def text(data: dict[str, Any], field: str, *, required: bool = True, max_len: int = 200) -> str:
    """A string field, stripped."""
    value = data.get(field)
    if value is None or value == "":
        if required:
            raise InvalidInput(f"缺少字段 {field}", field=field)
        return ""
    if not isinstance(value, str):
        raise InvalidInput(f"字段 {field} 应为字符串", field=field)
    value = value.strip()
    if required and not value:
        raise InvalidInput(f"字段 {field} 不能为空", field=field)
    if len(value) > max_len:
        raise InvalidInput(f"字段 {field} 过长（最多 {max_len} 个字符）", field=field)
    return value


def integer(
    data: dict[str, Any] | Any,
    field: str,
    *,
    required: bool = True,
    minimum: int | None = None,
    maximum: int | None = None,
    default: int | None = None,
) -> int | None:
    """An integer field (form strings are accepted and converted)."""
    value = data.get(field)
    if value is None or value == "":
        if required:
            raise InvalidInput(f"缺少字段 {field}", field=field)
        return default
    if isinstance(value, bool):
        raise InvalidInput(f"字段 {field} 应为整数", field=field)
    if isinstance(value, float):
        if not math.isfinite(value) or not value.is_integer():
            raise InvalidInput(f"字段 {field} 应为整数", field=field)
        value = int(value)
    if isinstance(value, str):
        try:
            value = int(value.strip())
        except ValueError as exc:
            raise InvalidInput(f"字段 {field} 应为整数", field=field) from exc
    if not isinstance(value, int):
        raise InvalidInput(f"字段 {field} 应为整数", field=field)
    if minimum is not None and value < minimum:
        raise InvalidInput(f"字段 {field} 不能小于 {minimum}", field=field)
    if maximum is not None and value > maximum:
        raise InvalidInput(f"字段 {field} 不能大于 {maximum}", field=field)
    return value


def required_int(data: dict[str, Any] | Any, field: str, **kw: Any) -> int:
    """An integer field that must be present."""
    value = integer(data, field, required=True, **kw)
    assert value is not None  # noqa: S101 - integer(required=True) never returns None
    return value


def date(data: dict[str, Any], field: str) -> dt.date:
    """An ISO date field (YYYY-MM-DD)."""
    raw = text(data, field, max_len=10)
    try:
        return dt.date.fromisoformat(raw)
    except ValueError as exc:
        raise InvalidInput(f"字段 {field} 应为日期（YYYY-MM-DD）", field=field) from exc


def path_int(request: web.Request, name: str) -> int:
    """An integer path parameter; anything else is a plain 404."""
    try:
        return int(request.match_info[name])
    except ValueError as exc:
        raise web.HTTPNotFound() from exc
