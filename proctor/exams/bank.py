"""Authoring: a course's question bank and its exam rules (academy staff only)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from models import Exam, ExamItem, ItemKind
from proctor.catalog.visibility import can_manage, load_visible, viewer_of
from proctor.exams.rules import check_key
from proctor.kernel.authz import Actor
from proctor.kernel.context import Context
from proctor.kernel.errors import Forbidden, InvalidInput


@dataclass(frozen=True)
class ItemInput:
    """A question as submitted, before it is checked."""

    kind: ItemKind
    stem: str
    options: list[dict[str, str]]
    key: str


@dataclass(frozen=True)
class ExamInput:
    """An exam's rules as submitted."""

    title: str
    item_count: int
    time_limit_s: int
    pass_mark: int
    attempts_allowed: int
    bonus_credits: Decimal
    opens_at: dt.datetime
    closes_at: dt.datetime


def parse_item(raw: Any, where: str) -> ItemInput:
    """One bank item from JSON, naming the field that is wrong."""
    if not isinstance(raw, dict):
        raise InvalidInput(f"{where} 应为对象", field=where)
    try:
        kind = ItemKind(str(raw.get("kind")))
    except ValueError:
        raise InvalidInput(
            f"{where}.kind 应为 single、multiple 或 truefalse", field=f"{where}.kind"
        ) from None
    stem = raw.get("stem")
    if not isinstance(stem, str) or not 1 <= len(stem.strip()) <= 2000:
        raise InvalidInput(f"{where}.stem 应为 1 至 2000 字的题干", field=f"{where}.stem")
    if kind is ItemKind.TRUE_FALSE:
        options = [{"id": "T", "text": "正确"}, {"id": "F", "text": "错误"}]
    else:
        opts = raw.get("options")
        if not isinstance(opts, list) or not all(
            isinstance(o, str) and o.strip() and len(o) <= 500 for o in opts
        ):
            raise InvalidInput(f"{where}.options 应为选项文字的列表", field=f"{where}.options")
        options = [{"id": chr(ord("A") + i), "text": o.strip()} for i, o in enumerate(opts)]
    key = raw.get("key")
    if not isinstance(key, str):
        raise InvalidInput(f'{where}.key 应为正确选项，如 "B" 或 "AC"', field=f"{where}.key")
    ids = [o["id"] for o in options]
    try:
        canon = check_key(kind, key.upper().replace(",", ""), ids)
    except InvalidInput as exc:
        raise InvalidInput(f"{where}：{exc.message}", field=f"{where}.key") from None
    return ItemInput(kind, stem.strip(), options, canon)


async def add_items(ctx: Context, actor: Actor, course_id: int, items: list[ItemInput]) -> int:
    """Append checked items to a course's bank; returns the bank's size."""
    async with ctx.db.begin() as s:
        await _managed_course(s, actor, course_id)
        return await insert_items(s, course_id, items)


async def insert_items(s: AsyncSession, course_id: int, items: list[ItemInput]) -> int:
    """Write items into a course's bank (callers check authority)."""
    s.add_all(
        ExamItem(course_id=course_id, kind=i.kind, stem=i.stem, options=i.options, key=i.key)
        for i in items
    )
    await s.flush()
    return await bank_size(s, course_id)


async def bank_size(s: AsyncSession, course_id: int) -> int:
    """Active items in a course's bank."""
    return int(
        await s.scalar(
            select(func.count())
            .select_from(ExamItem)
            .where(ExamItem.course_id == course_id, ExamItem.active.is_(True))
        )
        or 0
    )


def parse_exam(raw: dict[str, Any]) -> ExamInput:
    """An exam's rules from JSON."""

    def integer(name: str, lo: int, hi: int) -> int:
        v = raw.get(name)
        if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
            raise InvalidInput(f"{name} 应为 {lo} 至 {hi} 的整数", field=name)
        return v

    def moment(name: str) -> dt.datetime:
        v = raw.get(name)
        try:
            at = dt.datetime.fromisoformat(str(v))
        except ValueError:
            raise InvalidInput(f"{name} 应为带时区的 ISO 时间", field=name) from None
        if at.tzinfo is None:
            raise InvalidInput(f"{name} 应带时区，如 +08:00", field=name)
        return at

    title = raw.get("title")
    if not isinstance(title, str) or not 1 <= len(title.strip()) <= 200:
        raise InvalidInput("title 应为 1 至 200 字", field="title")
    try:
        bonus = Decimal(str(raw.get("bonus_credits")))
    except InvalidOperation:
        raise InvalidInput("bonus_credits 应为数值", field="bonus_credits") from None
    if (
        not bonus.is_finite()
        or not Decimal(0) <= bonus <= Decimal(10)
        or bonus != bonus.quantize(Decimal("0.01"))
    ):
        raise InvalidInput("bonus_credits 应在 0 至 10 之间，最多两位小数", field="bonus_credits")
    opens, closes = moment("opens_at"), moment("closes_at")
    if closes <= opens:
        raise InvalidInput("closes_at 应晚于 opens_at", field="closes_at")
    return ExamInput(
        title=title.strip(),
        item_count=integer("item_count", 1, 200),
        time_limit_s=integer("time_limit_s", 60, 6 * 3600),
        pass_mark=integer("pass_mark", 1, 100),
        attempts_allowed=integer("attempts_allowed", 1, 10),
        bonus_credits=bonus,
        opens_at=opens,
        closes_at=closes,
    )


async def create_exam(ctx: Context, actor: Actor, course_id: int, spec: ExamInput) -> Exam:
    """Open an exam on a course whose bank can supply the draw."""
    async with ctx.db.begin() as s:
        await _managed_course(s, actor, course_id)
        return await insert_exam(s, course_id, spec)


async def insert_exam(s: AsyncSession, course_id: int, spec: ExamInput) -> Exam:
    """Write an exam (callers check authority); the bank must hold enough items."""
    size = await bank_size(s, course_id)
    if size < spec.item_count:
        raise InvalidInput(
            f"题库只有 {size} 道题，不足每次抽取 {spec.item_count} 道", field="item_count"
        )
    exam = Exam(course_id=course_id, **spec.__dict__)
    s.add(exam)
    await s.flush()
    return exam


async def _managed_course(s: AsyncSession, actor: Actor, course_id: int) -> None:
    course = await load_visible(s, await viewer_of(s, actor), course_id)
    if not can_manage(actor, course):
        raise Forbidden("只有课程的管理部门可以编辑题库和考试")
