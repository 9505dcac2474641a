"""The XLSX files proctor hands out: the blank roster template and the initial-credentials sheet."""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from typing import Any

import openpyxl
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill

from proctor.learners.ranks import RANKS

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
TEMPLATE_HEADERS = ("姓名", "身份证号", "单位", "职务/职级", "手机号")
CREDENTIAL_HEADERS = ("姓名", "单位", "用户名", "初始密码")
_HEADER_FONT = Font(bold=True, color="FFFFFF")
_HEADER_FILL = PatternFill("solid", fgColor="B71C1C")
_TEXT = "@"  # Excel's "text" number format: keeps identity numbers and phones intact


def _cell(sheet: Any, value: str, *, header: bool = False) -> WriteOnlyCell:
    cell = WriteOnlyCell(sheet, value=value)
    # Whatever a name or unit says, it is text: never let a leading "=" become a formula.
    cell.data_type = "s"
    cell.number_format = _TEXT
    if header:
        cell.font = _HEADER_FONT
        cell.fill = _HEADER_FILL
        cell.alignment = Alignment(horizontal="center")
    return cell


def _sheet(
    book: Any,
    title: str,
    headers: Sequence[str],
    widths: Sequence[int],
    rows: Iterable[Sequence[str]],
) -> None:
    sheet = book.create_sheet(title)
    for letter, width in zip("ABCDEFGH", widths, strict=False):
        sheet.column_dimensions[letter].width = width
    sheet.freeze_panes = "A2"
    sheet.append([_cell(sheet, h, header=True) for h in headers])
    for row in rows:
        sheet.append([_cell(sheet, v) for v in row])


def _save(book: Any) -> bytes:
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def credentials_xlsx(entries: Sequence[dict[str, str]]) -> bytes:
    """姓名, 单位, 用户名, 初始密码 for each new account, in roster order."""
    book = openpyxl.Workbook(write_only=True)
    _sheet(
        book,
        "初始账号",
        CREDENTIAL_HEADERS,
        (14, 28, 20, 16),
        ((e["name"], e["unit"], e["username"], e["password"]) for e in entries),
    )
    return _save(book)


def template_xlsx() -> bytes:
    """A blank roster with the expected header (text-formatted columns) and instructions."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "花名册"
    sheet.append(list(TEMPLATE_HEADERS))
    for index, width in enumerate((12, 22, 28, 26, 16), start=1):
        letter = sheet.cell(row=1, column=index).column_letter
        sheet.column_dimensions[letter].width = width
        # Text-formatted columns: Excel then keeps typed identity numbers as text instead of
        # turning them into numbers (and dropping their last digits). No empty cells are
        # written, so that rows appended by a script start right under the header.
        sheet.column_dimensions[letter].number_format = _TEXT
        header = sheet.cell(row=1, column=index)
        header.font = _HEADER_FONT
        header.fill = _HEADER_FILL
        header.alignment = Alignment(horizontal="center")
    sheet.freeze_panes = "A2"
    help_sheet = book.create_sheet("填写说明")
    for line in (
        ("列", "说明"),
        ("姓名", "与身份证一致的姓名"),
        ("身份证号", "18 位居民身份证号（末位可为 X）；请保持本列为“文本”格式"),
        ("单位", "单位全称，或单位代码（同名单位必须填写代码）"),
        ("职务/职级", "如“办公室主任/乡科级正职”，也可分成“职务”“职级”两列；职级可写简称如“副处”"),
        ("手机号", "11 位手机号"),
        ("可用职级", "、".join(RANKS)),
        ("提示", "第一张工作表为花名册；每人一行，不要合并单元格，不要使用公式"),
    ):
        help_sheet.append(list(line))
    help_sheet.column_dimensions["A"].width = 12
    help_sheet.column_dimensions["B"].width = 90
    help_sheet["A1"].font = Font(bold=True)
    help_sheet["B1"].font = Font(bold=True)
    return _save(book)
