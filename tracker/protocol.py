"""Wire format of heartbeats: parse and check every field, naming the one that is wrong."""

from __future__ import annotations

import json
import math
import re
from typing import Any

from tracker.service import TrackerError
from tracker.verify import Beat

MAX_BODY_BYTES = 4096
MAX_POSITION_S = 24 * 3600
MAX_RATE = 16.0
# No message of ours nests deeper than a few levels; the limit is checked before decoding, so a
# body of thousands of brackets is refused instead of exhausting the decoder's recursion.
MAX_DEPTH = 32
# A string token, closed or not (an unclosed one runs to the end, so the scan stays linear).
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*+"?')
_NOT_BRACKET = bytes(c for c in range(256) if c not in b"[]{}")
_OPENING = frozenset(b"[{")


def _invalid(field: str, message: str) -> TrackerError:
    return TrackerError("invalid", 422, message, field=field)


class MalformedJson(ValueError):
    """A body that is not a JSON document we accept; the message says why, in Chinese."""


def nesting_depth(raw: bytes, limit: int) -> int:
    """How deeply arrays and objects nest (outside strings), counting no further than limit + 1."""
    depth = peak = 0
    for byte in _STRING.sub(b"", raw).translate(None, _NOT_BRACKET):
        depth = depth + 1 if byte in _OPENING else depth - 1
        if depth > peak:
            peak = depth
            if peak > limit:
                break
    return peak


def load_json(raw: bytes, *, max_depth: int = MAX_DEPTH) -> Any:
    """Decode a JSON body: NaN and Infinity are refused, and so is nesting beyond max_depth.

    A number too large for a float decodes as infinity, for the field's own check to refuse by
    name; no caller accepts a non-finite number.
    """
    if nesting_depth(raw, max_depth) > max_depth:
        raise MalformedJson(f"请求体嵌套过深（最多 {max_depth} 层）")
    try:
        return json.loads(raw, parse_constant=_reject_constant)
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise MalformedJson(f"请求体不是合法的 JSON：{exc}") from exc


def parse_body(raw: bytes) -> dict[str, Any]:
    """A JSON object from a request body, or a 4xx naming the problem."""
    if len(raw) > MAX_BODY_BYTES:
        raise TrackerError("too_large", 413, f"请求体过大（最多 {MAX_BODY_BYTES} 字节）")
    if not raw:
        raise TrackerError("bad_request", 400, "请求体为空，应为 JSON 对象", field="body")
    try:
        data = load_json(raw)
    except MalformedJson as exc:
        raise TrackerError("bad_request", 400, str(exc), field="body") from exc
    if not isinstance(data, dict):
        raise TrackerError("bad_request", 400, "请求体应为 JSON 对象", field="body")
    return data


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} 不是合法的数值")


def _number(
    data: dict[str, Any], field: str, lo: float, hi: float, *, required: bool = True
) -> float | None:
    value = data.get(field)
    if value is None:
        if required:
            raise _invalid(field, f"缺少字段 {field}")
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _invalid(field, f"字段 {field} 应为数值")
    if not math.isfinite(value) or value < lo or value > hi:
        raise _invalid(field, f"字段 {field} 超出范围（{lo} 至 {hi}）")
    return float(value)


def _integer(data: dict[str, Any], field: str, lo: int, hi: int) -> int:
    value = data.get(field)
    if value is None:
        raise _invalid(field, f"缺少字段 {field}")
    if isinstance(value, bool) or not isinstance(value, int):
        raise _invalid(field, f"字段 {field} 应为整数")
    if value < lo or value > hi:
        raise _invalid(field, f"字段 {field} 超出范围（{lo} 至 {hi}）")
    return value


def _flag(data: dict[str, Any], field: str) -> bool:
    value = data.get(field)
    if not isinstance(value, bool):
        raise _invalid(field, f"字段 {field} 应为 true 或 false")
    return value


def parse_beat(data: dict[str, Any]) -> Beat:
    """A heartbeat: seq, position (s), rate, paused, visible, focused, muted, volume,
    interactions since the last beat, and the client's clock (recorded, never trusted)."""
    position = _number(data, "position", 0, MAX_POSITION_S)
    client_time = _number(data, "client_time", 0, 1e14, required=False)
    return Beat(
        seq=_integer(data, "seq", 1, 2**31 - 1),
        position_ms=round((position or 0.0) * 1000),
        rate=_number(data, "rate", 0.0625, MAX_RATE) or 1.0,
        paused=_flag(data, "paused"),
        visible=_flag(data, "visible"),
        focused=_flag(data, "focused"),
        muted=_flag(data, "muted"),
        volume=_number(data, "volume", 0, 1) or 0.0,
        interactions=_integer(data, "interactions", 0, 100_000),
        client_time_ms=int(client_time) if client_time is not None else None,
    )


def parse_start(data: dict[str, Any]) -> tuple[int, str]:
    """Session start: the lesson and the device fingerprint the player computed."""
    lesson_id = _integer(data, "lesson_id", 1, 2**31 - 1)
    device = data.get("device", "")
    if not isinstance(device, str) or len(device) > 128:
        raise _invalid("device", "字段 device 应为不超过 128 个字符的字符串")
    return lesson_id, device


def parse_answer(data: dict[str, Any]) -> tuple[str, str]:
    """A challenge answer."""
    cid = data.get("challenge_id")
    answer = data.get("answer")
    if not isinstance(cid, str) or not 1 <= len(cid) <= 32:
        raise _invalid("challenge_id", "字段 challenge_id 应为字符串")
    if not isinstance(answer, str) or len(answer) > 32:
        raise _invalid("answer", "字段 answer 应为字符串")
    return cid, answer
