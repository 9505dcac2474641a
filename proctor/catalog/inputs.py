"""Pure validation of course payloads and id lists: bad input names its field, touches nothing."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from models import CourseKind
from proctor.kernel.errors import InvalidInput

# No designated credit in the measures comes near this; it stops typos like 200 for 2.00.
MAX_DESIGNATED = Decimal("100")
# A lecture longer than a working day is a unit mistake (minutes sent as seconds x 60).
MAX_LECTURE_SECONDS = 24 * 3600
MAX_LESSONS = 200
CODE_RE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
KIND_NAMES = {CourseKind.REQUIRED: "必修", CourseKind.ELECTIVE: "选修"}


@dataclass(frozen=True)
class LessonInput:
    """One lesson (video) of a course as submitted."""

    title: str
    duration_seconds: int
    video_url: str


def _text(
    data: dict[str, Any], key: str, *, required: bool, max_len: int, field: str | None = None
) -> str:
    field = field or key
    value = data.get(key)
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


def _positive_int(value: Any, field: str, *, maximum: int) -> int:
    if isinstance(value, bool):
        raise InvalidInput(f"字段 {field} 应为正整数（秒）", field=field)
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int):
        raise InvalidInput(f"字段 {field} 应为正整数（秒）", field=field)
    if value <= 0:
        raise InvalidInput(f"字段 {field} 必须大于 0", field=field)
    if value > maximum:
        raise InvalidInput(f"字段 {field} 不能超过 {maximum}", field=field)
    return value


def kind(value: Any, field: str = "kind") -> CourseKind:
    """required / elective."""
    try:
        return CourseKind(value)
    except ValueError as exc:
        raise InvalidInput(
            f"字段 {field} 应为 required（必修）或 elective（选修）", field=field
        ) from exc


def designated_credits(value: Any, field: str = "designated_credits") -> Decimal | None:
    """Designated credits: empty means none; otherwise 0..100 with at most two decimals."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise InvalidInput(f"字段 {field} 应为数字", field=field)
    try:
        # str() first: a JSON float like 0.1 must mean 0.1, not its binary neighbour.
        amount = Decimal(str(value).strip())
    except InvalidOperation as exc:
        raise InvalidInput(f"字段 {field} 应为数字", field=field) from exc
    if not amount.is_finite():
        raise InvalidInput(f"字段 {field} 应为数字", field=field)
    if amount < 0:
        raise InvalidInput(f"字段 {field} 不能为负数", field=field)
    if amount > MAX_DESIGNATED:
        raise InvalidInput(f"字段 {field} 不能超过 {MAX_DESIGNATED}", field=field)
    cents = amount * 100
    if cents != cents.to_integral_value():
        raise InvalidInput(f"字段 {field} 最多保留两位小数", field=field)
    return amount.quantize(Decimal("0.01"))


def lessons(value: Any, field: str = "lessons") -> list[LessonInput]:
    """A non-empty list of lessons, each with a title and a positive duration."""
    if not isinstance(value, list) or not value:
        raise InvalidInput(f"字段 {field} 应为至少包含一个课时视频的列表", field=field)
    if len(value) > MAX_LESSONS:
        raise InvalidInput(f"字段 {field} 最多 {MAX_LESSONS} 个视频", field=field)
    out: list[LessonInput] = []
    for i, item in enumerate(value):
        where = f"{field}[{i}]"
        if not isinstance(item, dict):
            raise InvalidInput(f"{where} 应为对象", field=where)
        out.append(
            LessonInput(
                title=_text(item, "title", required=True, max_len=200, field=f"{where}.title"),
                duration_seconds=_positive_int(
                    item.get("duration_seconds"),
                    f"{where}.duration_seconds",
                    maximum=MAX_LECTURE_SECONDS,
                ),
                video_url=_text(
                    item, "video_url", required=False, max_len=300, field=f"{where}.video_url"
                ),
            )
        )
    return out


def course_fields(
    data: dict[str, Any], *, partial: bool, with_lessons: bool = True
) -> dict[str, Any]:
    """The validated course fields present in a payload (all mandatory ones unless partial;
    a draft written in the pages gets its lessons later: ``with_lessons=False``).

    ``category`` stays a code here; the service resolves it against the database.
    """
    out: dict[str, Any] = {}

    def present(name: str) -> bool:
        return name in data or not partial

    if present("title"):
        out["title"] = _text(data, "title", required=True, max_len=200)
    if present("category"):
        out["category"] = _text(data, "category", required=True, max_len=32)
    if present("kind"):
        if data.get("kind") in (None, ""):
            raise InvalidInput("缺少字段 kind", field="kind")
        out["kind"] = kind(data["kind"])
    if present("lecture_seconds"):
        if data.get("lecture_seconds") in (None, ""):
            raise InvalidInput("缺少字段 lecture_seconds", field="lecture_seconds")
        out["lecture_seconds"] = _positive_int(
            data["lecture_seconds"], "lecture_seconds", maximum=MAX_LECTURE_SECONDS
        )
    if "designated_credits" in data:
        out["designated_credits"] = designated_credits(data["designated_credits"])
    if "lessons" in data or (with_lessons and not partial):
        out["lessons"] = lessons(data.get("lessons"))
    for name, max_len in (("lecturer", 100), ("description", 5000)):
        if name in data:
            out[name] = _text(data, name, required=False, max_len=max_len)
    if "published" in data:
        if not isinstance(data["published"], bool):
            raise InvalidInput("字段 published 应为 true 或 false", field="published")
        out["published"] = data["published"]
    if not partial and data.get("code") not in (None, ""):
        code = data["code"]
        if not isinstance(code, str) or not CODE_RE.match(code.strip()):
            raise InvalidInput("课程编号只能包含字母、数字、- 和 _（最多 32 位）", field="code")
        out["code"] = code.strip()
    if partial and not out:
        raise InvalidInput("没有可修改的字段", field="body")
    return out


def id_list(data: dict[str, Any], field: str, *, max_items: int = 5000) -> list[int]:
    """A list of positive integer ids (order kept, duplicates dropped)."""
    value = data.get(field)
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidInput(f"字段 {field} 应为编号列表", field=field)
    if len(value) > max_items:
        raise InvalidInput(f"字段 {field} 一次最多 {max_items} 个", field=field)
    out: list[int] = []
    for item in value:
        if isinstance(item, str) and item.strip().isdigit():
            item = int(item.strip())
        if isinstance(item, bool) or not isinstance(item, int) or item <= 0:
            raise InvalidInput(f"字段 {field} 含有无效编号：{item!r}", field=field)
        if item not in out:
            out.append(item)
    return out


def name_list(data: dict[str, Any], field: str, *, max_items: int = 5000) -> list[str]:
    """A list of usernames (order kept, duplicates and blanks dropped)."""
    value = data.get(field)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidInput(f"字段 {field} 应为用户名列表", field=field)
    if len(value) > max_items:
        raise InvalidInput(f"字段 {field} 一次最多 {max_items} 个", field=field)
    return list(dict.fromkeys(v.strip() for v in value if v.strip()))
