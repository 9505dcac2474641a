"""The request layer's pure parts: field names and messages of validation errors, and the
checks a route declaration gets at import time."""

from __future__ import annotations

from typing import Annotated, Any

import pytest
from aiohttp import web
from pydantic import Field

from proctor.kernel.errors import InvalidInput
from proctor.web.endpoint import Routes
from proctor.web.fields import Day, IdList, Input, RecordId, Words, chars
from proctor.web.validation import field_name, validate


@pytest.mark.parametrize(
    ("loc", "name"),
    [
        ((), "body"),
        (("title",), "title"),
        (("lessons", 1, "title"), "lessons[1].title"),
        (("items", 7, "key"), "items[7].key"),
        (("course_ids", 0), "course_ids[0]"),
    ],
)
def test_field_names(loc: tuple[int | str, ...], name: str) -> None:
    assert field_name(loc) == name


class Sample(Input):
    name: Annotated[str, chars(5)]
    count: Annotated[int, Field(ge=1, le=10)] = 1
    ids: IdList = Field(default_factory=list)
    words: Annotated[IdList, Words] = Field(default_factory=list)
    day: Day | None = None
    owner: RecordId | None = None


@pytest.mark.parametrize(
    ("data", "field", "words"),
    [
        ({}, "name", "缺少字段 name"),
        ({"name": "   "}, "name", "不能为空"),
        ({"name": "abcdef"}, "name", "最多 5 个字符"),
        ({"name": "a\x00b"}, "name", "不允许的字符"),
        ({"name": 5}, "name", "应为字符串"),
        ({"name": "a", "count": "1e20"}, "count", "应为整数"),
        ({"name": "a", "count": 10**30}, "count", "不能大于 10"),
        ({"name": "a", "count": float("inf")}, "count", "有限数值"),
        ({"name": "a", "count": 0}, "count", "不能小于 1"),
        ({"name": "a", "ids": [1, 0]}, "ids[1]", "不能小于 1"),
        ({"name": "a", "ids": "1,2"}, "ids", "应为列表"),
        ({"name": "a", "day": "2025-13-01"}, "day", "日期"),
        ({"name": "a", "day": "9999-12-31"}, "day", "2000 年至 2100 年"),
        ({"name": "a", "owner": 2**31}, "owner", "不能大于 2147483647"),
    ],
)
def test_bad_fields_are_named_in_chinese(data: dict[str, Any], field: str, words: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        validate(Sample, data)
    assert caught.value.field == field
    assert words in caught.value.message


def test_lists_keep_order_drop_repeats_and_split_form_text() -> None:
    sample = validate(Sample, {"name": " ab ", "ids": [3, 1, 3], "words": "4, 5；4 6"})
    assert (sample.name, sample.ids, sample.words) == ("ab", [3, 1], [4, 5, 6])


def test_a_handler_must_take_what_its_route_declares() -> None:
    routes = Routes(tag="t")

    class Path(Input):
        item_id: RecordId

    async def takes_nothing(request: web.Request) -> web.Response:
        return web.Response()

    with pytest.raises(TypeError, match="declares"):
        routes.get("/api/v1/items/{item_id}", path=Path)(takes_nothing)
