"""Validation errors of request models as the problem a user reads: the first error, its field
named the way the API spells it (``lessons[1].title``) and a Chinese sentence."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from proctor.kernel.errors import InvalidInput

M = TypeVar("M", bound=BaseModel)

# Pydantic's error type -> the sentence after the field's name.
MESSAGES: dict[str, str] = {
    "missing": "缺少字段 {field}",
    "int_type": "字段 {field} 应为整数",
    "int_parsing": "字段 {field} 应为整数",
    "int_from_float": "字段 {field} 应为整数",
    "int_parsing_size": "字段 {field} 超出范围",
    "float_type": "字段 {field} 应为数值",
    "float_parsing": "字段 {field} 应为数值",
    "finite_number": "字段 {field} 超出范围（应为有限数值）",
    "decimal_type": "字段 {field} 应为数值",
    "decimal_parsing": "字段 {field} 应为数值",
    "greater_than_equal": "字段 {field} 不能小于 {ge}",
    "greater_than": "字段 {field} 必须大于 {gt}",
    "less_than_equal": "字段 {field} 不能大于 {le}",
    "less_than": "字段 {field} 必须小于 {lt}",
    "string_type": "字段 {field} 应为字符串",
    "string_unicode": "字段 {field} 不是合法的文字",
    "string_too_short": "字段 {field} 不能为空",
    "string_too_long": "字段 {field} 过长（最多 {max_length} 个字符）",
    "string_pattern_mismatch": "字段 {field} 含有不允许的字符或格式不正确",
    "bool_type": "字段 {field} 应为 true 或 false",
    "bool_parsing": "字段 {field} 应为 true 或 false",
    "literal_error": "字段 {field} 应为 {expected}，收到 {input}",
    "enum": "字段 {field} 应为 {expected}，收到 {input}",
    "date_type": "字段 {field} 应为日期（YYYY-MM-DD）",
    "date_parsing": "字段 {field} 应为日期（YYYY-MM-DD）",
    "date_from_datetime_parsing": "字段 {field} 应为日期（YYYY-MM-DD）",
    "date_from_datetime_inexact": "字段 {field} 应为日期（YYYY-MM-DD）",
    "datetime_type": "字段 {field} 应为带时区的 ISO 时间",
    "datetime_parsing": "字段 {field} 应为带时区的 ISO 时间",
    "datetime_from_date_parsing": "字段 {field} 应为带时区的 ISO 时间",
    "timezone_aware": "字段 {field} 应带时区，如 +08:00",
    "list_type": "字段 {field} 应为列表",
    "too_short": "字段 {field} 至少 {min_length} 项",
    "too_long": "字段 {field} 一次最多 {max_length} 项",
    "model_type": "{field} 应为对象",
    "model_attributes_type": "{field} 应为对象",
    "dict_type": "{field} 应为对象",
}


def field_name(loc: tuple[int | str, ...]) -> str:
    """``("lessons", 1, "title")`` -> ``lessons[1].title``; the whole body is ``body``."""
    name = ""
    for part in loc:
        if isinstance(part, int):
            name += f"[{part}]"
        else:
            name += f".{part}" if name else part
    return name or "body"


def message(error: ErrorDetails) -> str:
    """The Chinese sentence for one validation error."""
    field = field_name(error["loc"])
    ctx: dict[str, Any] = dict(error.get("ctx") or {})
    if error["type"] in ("value_error", "assertion_error") and "error" in ctx:
        return f"字段 {field}：{ctx['error']}"
    template = MESSAGES.get(error["type"], "字段 {field} 不合法")
    ctx.setdefault("expected", "允许的取值之一")
    shown = str(error.get("input", ""))
    try:
        return template.format(field=field, **ctx | {"input": shown[:40]})
    except (KeyError, IndexError):
        return MESSAGES["missing"] if error["type"] == "missing" else f"字段 {field} 不合法"


def problem_of(exc: ValidationError) -> InvalidInput:
    """The first error of a failed validation as the 422 naming its field."""
    first = exc.errors(include_url=False)[0]
    return InvalidInput(message(first), field=field_name(first["loc"]))


def validate(model: type[M], data: Mapping[str, Any] | Any) -> M:
    """An instance of model from plain data, or the 422 naming the first bad field."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise problem_of(exc) from None
