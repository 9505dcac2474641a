"""Spreadsheets: reading an uploaded workbook safely, and writing tables HR can file.

Reading refuses macros and zip bombs and never evaluates a formula; writing gives typed
cells (credits to two decimals, dates as dates) and keeps text that looks like a formula
text, in XLSX and in CSV (where a leading quote stops Excel from evaluating it).
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from collections.abc import Iterator, Sequence
from decimal import Decimal
from typing import Any

import openpyxl
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import InvalidFileException
from openpyxl.worksheet.worksheet import Worksheet

from proctor.kernel.errors import InvalidInput

# A zipped sheet may inflate far beyond the upload limit; refuse obvious zip bombs up front.
MAX_UNZIPPED_BYTES = 300 * 1024 * 1024
NOT_XLSX = "文件不是有效的 Excel 工作簿（.xlsx），请检查文件是否损坏"
# What a damaged or foreign zip makes openpyxl raise (XML errors are SyntaxErrors).
_BROKEN_XLSX = (zipfile.BadZipFile, KeyError, ValueError, TypeError, SyntaxError, OSError, EOFError)

CREDIT_FORMAT = "0.00"
DATE_FORMAT = "yyyy-mm-dd"
HEADER_FONT = Font(bold=True, color="FFFFFF")
HEADER_FILL = PatternFill("solid", fgColor="B71C1C")

Cell = str | int | Decimal | dt.date | None


class Formula(str):
    """A formula cell's text, kept apart so that a reader can say so (never evaluated)."""

    __slots__ = ()


def xlsx_rows(data: bytes) -> Iterator[tuple[int, list[Any]]]:
    """Numbered rows of an uploaded workbook's first sheet, refusing macros and zip bombs."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
    except zipfile.BadZipFile as exc:
        raise InvalidInput(NOT_XLSX, field="file") from exc
    if any(i.filename.lower().endswith("vbaproject.bin") for i in infos):
        raise InvalidInput(
            "不接受含宏的 Excel 文件，请删除宏并另存为 .xlsx（Excel 工作簿）后上传", field="file"
        )
    if sum(i.file_size for i in infos) > MAX_UNZIPPED_BYTES:
        raise InvalidInput("Excel 文件解压后过大，请删除无关的工作表和格式后重新上传", field="file")
    try:
        # read_only streams the sheet; data_only=False keeps formulas as formulas (never run).
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except (InvalidFileException, *_BROKEN_XLSX) as exc:
        raise InvalidInput(NOT_XLSX, field="file") from exc
    return _sheet_rows(book)


def _sheet_rows(book: Any) -> Iterator[tuple[int, list[Any]]]:
    try:
        if not book.worksheets:
            return
        sheet = book.worksheets[0]
        # Some generators write a wrong <dimension>; without this, read_only would trust it.
        sheet.reset_dimensions()
        for row_no, cells in enumerate(sheet.iter_rows(), start=1):
            yield row_no, [_cell_value(c) for c in cells]
    except _BROKEN_XLSX as exc:
        raise InvalidInput(NOT_XLSX, field="file") from exc
    finally:
        book.close()


def _cell_value(cell: Any) -> Any:
    value = cell.value
    if getattr(cell, "data_type", None) == "f":
        return Formula(str(value))
    return value


def format_sheet(sheet: Worksheet) -> None:
    """Credits to two decimals, dates as dates, and text that looks like a formula kept text."""
    for row in sheet.iter_rows():
        for cell in row:
            if isinstance(cell.value, Decimal):
                cell.number_format = CREDIT_FORMAT
            elif isinstance(cell.value, dt.date):
                cell.number_format = DATE_FORMAT
            elif cell.data_type == "f":
                # openpyxl turns any string starting with "=" into a formula; titles and
                # names are data, never something Excel should evaluate.
                cell.data_type = "s"


def table(
    sheet: Worksheet, header: list[str], rows: Sequence[Sequence[Cell]], widths: list[int]
) -> None:
    """A header row in the academy's colours, the rows, column widths, typed cells."""
    sheet.append(header)
    for cell in sheet[1]:
        cell.font = HEADER_FONT
        cell.fill = HEADER_FILL
    for row in rows:
        sheet.append(list(row))
    for i, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(i)].width = width
    sheet.freeze_panes = "A2"
    format_sheet(sheet)


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, dt.date):
        return value.isoformat()
    text = str(value)
    # A leading quote stops Excel evaluating a title or name as a formula (CSV injection).
    return "'" + text if text.startswith(FORMULA_START) else text
