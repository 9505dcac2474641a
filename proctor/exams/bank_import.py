"""A question bank from an Excel sheet, checked row by row and taken all or none.

Columns (the header row may be anywhere in the first rows): 题型, 题干, 选项A … 选项H, 答案.
题型 is 单选/多选/判断; 答案 is the option letters ("B", "AC") or, for 判断, 正确/错误.
"""

from __future__ import annotations

import io
import re
from typing import Any

import openpyxl

from models import ItemKind
from proctor.exams.bank import ItemInput, parse_item
from proctor.kernel.errors import InvalidInput
from proctor.kernel.spreadsheets import xlsx_rows

KINDS = {
    "单选": ItemKind.SINGLE,
    "单选题": ItemKind.SINGLE,
    "多选": ItemKind.MULTIPLE,
    "多选题": ItemKind.MULTIPLE,
    "判断": ItemKind.TRUE_FALSE,
    "判断题": ItemKind.TRUE_FALSE,
}
TRUE_WORDS = {"正确", "对", "是", "√", "T", "TRUE"}
FALSE_WORDS = {"错误", "错", "否", "×", "F", "FALSE"}
OPTION_COLUMNS = [f"选项{c}" for c in "ABCDEFGH"]
HEADERS = ["题型", "题干", *OPTION_COLUMNS[:4], "答案"]
MAX_ITEMS = 500


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def read_bank(data: bytes) -> list[ItemInput]:
    """Every question of the sheet, or one error listing every bad row (nothing is taken)."""
    rows = list(xlsx_rows(data))
    header_at = next(
        (i for i, (_, cells) in enumerate(rows[:10]) if "题干" in [_text(c) for c in cells]),
        None,
    )
    if header_at is None:
        raise InvalidInput("未找到表头：第一行应为 题型、题干、选项A…、答案", field="file")
    header = [_text(c) for c in rows[header_at][1]]
    col = {name: header.index(name) for name in header if name}
    missing = [h for h in ("题型", "题干", "答案") if h not in col]
    if missing:
        raise InvalidInput(f"缺少列：{'、'.join(missing)}", field="file")
    items: list[ItemInput] = []
    errors: list[dict[str, Any]] = []
    for row_no, cells in rows[header_at + 1 :]:

        def cell(name: str, cells: list[Any] = cells) -> str:
            k = col.get(name)
            return _text(cells[k]) if k is not None and k < len(cells) else ""

        if not any(_text(c) for c in cells):
            continue
        kind = KINDS.get(cell("题型"))
        answer = cell("答案").upper()
        try:
            if kind is None:
                raise InvalidInput("题型应为 单选、多选 或 判断")
            raw: dict[str, Any] = {"kind": kind.value, "stem": cell("题干")}
            if kind is ItemKind.TRUE_FALSE:
                if answer in TRUE_WORDS:
                    raw["key"] = "T"
                elif answer in FALSE_WORDS:
                    raw["key"] = "F"
                else:
                    raise InvalidInput("判断题答案应为 正确 或 错误")
            else:
                options = [cell(c) for c in OPTION_COLUMNS]
                while options and not options[-1]:
                    options.pop()
                if "" in options:
                    raise InvalidInput("选项之间不能有空列")
                raw["options"] = options
                raw["key"] = re.sub(r"[\s,，、]", "", answer)
            items.append(parse_item(raw, "题目"))
        except InvalidInput as exc:
            errors.append({"row": row_no, "message": exc.message.removeprefix("题目：")})
    if errors:
        shown = "；".join(f"第 {e['row']} 行：{e['message']}" for e in errors[:5])
        more = f"（共 {len(errors)} 行有误）" if len(errors) > 5 else ""
        raise InvalidInput(f"题库有误，未导入任何题目。{shown}{more}", field="file", rows=errors)
    if not items:
        raise InvalidInput("表格中没有题目", field="file")
    if len(items) > MAX_ITEMS:
        raise InvalidInput(f"一次最多导入 {MAX_ITEMS} 道题", field="file")
    return items


def template_xlsx() -> bytes:
    """A blank bank with its header and one example of each kind."""
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None  # noqa: S101 - a new workbook always has a sheet
    sheet.title = "题库"
    sheet.append(HEADERS)
    sheet.append(
        [
            "单选",
            "网络学院以多少分钟的课程讲授时间为 1 学时？",
            "30 分钟",
            "40 分钟",
            "45 分钟",
            "60 分钟",
            "C",
        ]
    )
    sheet.append(
        [
            "多选",
            "下列行为中，被明令禁止的有（  ）。",
            "请人代学",
            "弄虚作假骗取学分",
            "自主选学",
            "参加专题培训班",
            "AB",
        ]
    )
    sheet.append(["判断", "每名学员只能使用一个本人实名的学习账号。", "", "", "", "", "正确"])
    for letter, width in zip("ABCDEFG", [8, 48, 18, 18, 18, 18, 8], strict=True):
        sheet.column_dimensions[letter].width = width
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
