"""Reading an uploaded roster file (XLSX or CSV) into raw rows; no validation of values.

File-level problems (wrong format, macros, unknown encoding, missing columns, no rows, too many
rows) raise before anything is stored; cell-level problems travel with the row as notes so that
the per-row report can show them next to the value checks.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import Enum
from typing import Any

from proctor.kernel.errors import InvalidInput, TooLarge
from proctor.kernel.spreadsheets import NOT_XLSX, Formula, xlsx_rows
from proctor.learners.ranks import RANKS, normalise_rank

# The header may sit under a title line or two ("XX单位干部花名册").
HEADER_SEARCH_ROWS = 10
# Excel keeps formatting on thousands of empty rows; stop scanning after this many in a row.
MAX_BLANK_RUN = 5000
REQUIRED_HEADERS = "姓名、身份证号、单位、职务/职级、手机号"


class Col(Enum):
    """The columns proctor reads; any other column (序号, 性别, 备注 ...) is ignored."""

    NAME = "姓名"
    ID = "身份证号"
    UNIT = "单位"
    POSITION = "职务"
    RANK = "职级"
    POSITION_RANK = "职务/职级"
    PHONE = "手机号"


_ALIASES: dict[str, Col] = {
    "姓名": Col.NAME,
    "身份证号": Col.ID,
    "身份证号码": Col.ID,
    "公民身份号码": Col.ID,
    "身份证": Col.ID,
    "证件号码": Col.ID,
    "单位": Col.UNIT,
    "单位名称": Col.UNIT,
    "工作单位": Col.UNIT,
    "所在单位": Col.UNIT,
    "单位代码": Col.UNIT,
    "单位名称或代码": Col.UNIT,
    "职务": Col.POSITION,
    "职级": Col.RANK,
    "职务/职级": Col.POSITION_RANK,
    "职务职级": Col.POSITION_RANK,
    "职务、职级": Col.POSITION_RANK,
    "职务及职级": Col.POSITION_RANK,
    "职务和职级": Col.POSITION_RANK,
    "手机号": Col.PHONE,
    "手机号码": Col.PHONE,
    "手机": Col.PHONE,
    "移动电话": Col.PHONE,
    "联系电话": Col.PHONE,
}
_NOTE_RE = re.compile(r"\(.*?\)")  # "手机号（必填）" -> "手机号"
_SPLIT_RE = re.compile(r"[/\\、,;|()\s\-]+")
_SCIENTIFIC_RE = re.compile(r"^\d(\.\d+)?E\+?\d+$", re.IGNORECASE)
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ue000-\uf8ff]")
# Identity numbers typed into a number cell keep only 15 significant digits.
NUMBER_CELL_HINT = "身份证号被 Excel 当作数字保存，后几位已丢失（显示为科学计数法或末尾变成 0）；请将该列设置为“文本”格式后重新录入"


@dataclass(frozen=True)
class RawRow:
    """One data row as typed, with cell-level problems found while reading it."""

    row_no: int  # as the spreadsheet numbers it, so the uploader can find it
    name: str
    id_number: str
    unit: str
    position: str
    rank: str
    phone: str
    notes: tuple[str, ...] = ()
    # The identity number came from a number cell; if it fails the checks, say why.
    id_from_number: bool = False


def read_roster(data: bytes, filename: str, *, max_rows: int) -> list[RawRow]:
    """The data rows of an uploaded roster, or InvalidInput / TooLarge naming the problem."""
    if not data.strip():
        raise InvalidInput("上传的文件是空文件", field="file")
    lower = filename.lower()
    if lower.endswith((".xlsm", ".xltm", ".xlam")):
        raise InvalidInput("不接受含宏的 Excel 文件（.xlsm），请另存为 .xlsx 后上传", field="file")
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise InvalidInput(
            "不支持旧版 Excel（.xls）或加密的工作簿，请在 Excel 中另存为 .xlsx（不设密码）后上传",
            field="file",
        )
    if data.startswith(b"PK\x03\x04"):
        rows = xlsx_rows(data)
    elif lower.endswith((".xlsx", ".xls")):
        raise InvalidInput(NOT_XLSX, field="file")
    else:
        rows = _csv_rows(data)
    return _table_rows(rows, max_rows=max_rows)


# ---------------------------------------------------------------- file formats


def _csv_rows(data: bytes) -> Iterator[tuple[int, list[Any]]]:
    text = _decode(data)
    first_line = text.split("\n", 1)[0]
    delimiter = max(",\t;", key=first_line.count) if first_line else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        for row_no, cells in enumerate(reader, start=1):
            yield row_no, list(cells)
    except csv.Error as exc:
        raise InvalidInput(f"CSV 文件格式有误：{exc}", field="file") from exc


def _decode(data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InvalidInput(
            "不支持 UTF-16 编码的文本文件（Excel 的“Unicode 文本”），请另存为“CSV UTF-8（逗号分隔）”或 .xlsx 后上传",
            field="file",
        )
    text: str | None = None
    # GB18030 is the superset of GBK that also covers rare characters in names.
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    # Binary files and UTF-16 without a byte-order mark can still "decode"; control characters
    # and GBK's private-use area do not occur in a real roster.
    if text is None or _CONTROL_RE.search(text):
        raise InvalidInput(
            "无法识别文件：既不是 Excel 工作簿（.xlsx），也不是 UTF-8 或 GBK 编码的 CSV 文件；请在 Excel 中另存为 .xlsx 或“CSV UTF-8（逗号分隔）”后上传",
            field="file",
        )
    return text


# ---------------------------------------------------------------- header and rows


def header_key(value: Any) -> str:
    """A header cell reduced to what identifies the column."""
    text = unicodedata.normalize("NFKC", "" if value is None else str(value))
    text = _NOTE_RE.sub("", text)
    return re.sub(r"[\s*]+", "", text)


def _find_header(rows: Iterator[tuple[int, list[Any]]]) -> tuple[int, dict[Col, int]]:
    first: tuple[int, list[Any]] | None = None
    seen = 0
    for row_no, cells in rows:
        if all(_blank(c) for c in cells):
            continue
        seen += 1
        first = first or (row_no, cells)
        columns = _columns(row_no, cells)
        if Col.NAME in columns and Col.ID in columns:
            return row_no, _require_columns(columns)
        if seen >= HEADER_SEARCH_ROWS:
            break
    if first is None:
        raise InvalidInput("文件中没有任何内容", field="file")
    return first[0], _require_columns(_columns(*first))


def _columns(row_no: int, cells: list[Any]) -> dict[Col, int]:
    columns: dict[Col, int] = {}
    for index, cell in enumerate(cells):
        col = _ALIASES.get(header_key(cell))
        if col is None:
            continue
        if col in columns:
            raise InvalidInput(
                f"表头第 {row_no} 行有两列都是“{col.value}”，请删除多余的一列", field="file"
            )
        columns[col] = index
    return columns


def _require_columns(columns: dict[Col, int]) -> dict[Col, int]:
    missing = [c.value for c in (Col.NAME, Col.ID, Col.UNIT) if c not in columns]
    if not {Col.POSITION_RANK, Col.RANK, Col.POSITION} & columns.keys():
        missing.append(Col.POSITION_RANK.value)
    if Col.PHONE not in columns:
        missing.append(Col.PHONE.value)
    if missing:
        raise InvalidInput(
            f"花名册缺少必需的列：{'、'.join(missing)}。表头应为：{REQUIRED_HEADERS}（可下载模板对照）",
            field="file",
            missing=missing,
        )
    return columns


def _table_rows(rows: Iterator[tuple[int, list[Any]]], *, max_rows: int) -> list[RawRow]:
    header_row, columns = _find_header(rows)
    out: list[RawRow] = []
    blank_run = 0
    for row_no, cells in rows:
        if all(_blank(c) for c in cells):
            blank_run += 1
            if blank_run > MAX_BLANK_RUN:
                break
            continue
        blank_run = 0
        if len(out) >= max_rows:
            raise TooLarge(
                f"花名册超过 {max_rows} 行的上限，请拆分成多个文件分批上传", field="file"
            )
        out.append(_row(row_no, cells, columns))
    if not out:
        raise InvalidInput(f"花名册只有表头（第 {header_row} 行），没有学员数据行", field="file")
    return out


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _row(row_no: int, cells: list[Any], columns: dict[Col, int]) -> RawRow:
    notes: list[str] = []

    def cell(col: Col) -> Any:
        index = columns.get(col)
        if index is None or index >= len(cells):
            return None
        value = cells[index]
        if isinstance(value, Formula):
            notes.append(
                f"“{col.value}”是公式，系统不计算公式：请复制该列并“选择性粘贴为数值”后重新上传"
            )
            return None
        return value

    id_cell = cell(Col.ID)
    id_number = _id_text(id_cell, notes)
    rank_raw = _text(cell(Col.RANK)) if Col.RANK in columns else ""
    combined = _text(cell(Col.POSITION_RANK))
    position = _text(cell(Col.POSITION))
    if Col.RANK in columns:
        position = position or split_position_rank(combined)[0]
    else:
        # One column for both ("局长/正处"), or a lone 职务 column that carries the rank too.
        position, rank_raw = split_position_rank(combined or position)
    return RawRow(
        row_no=row_no,
        name=_text(cell(Col.NAME)),
        id_number=id_number,
        unit=_text(cell(Col.UNIT)),
        position=position,
        rank=rank_raw,
        phone=_number_text(cell(Col.PHONE)),
        notes=tuple(notes),
        id_from_number=isinstance(id_cell, int) and not isinstance(id_cell, bool),
    )


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return " ".join(unicodedata.normalize("NFKC", str(value)).split())


def _number_text(value: Any) -> str:
    return _text(value).replace(" ", "").lstrip("'")


def _id_text(value: Any, notes: list[str]) -> str:
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if abs(value) >= 1e15 or not value.is_integer():
            # Excel keeps 15 significant digits: an 18-digit number has already lost its tail.
            notes.append(NUMBER_CELL_HINT)
            return ""
        return str(int(value))
    text = _number_text(value)
    if _SCIENTIFIC_RE.match(text):
        notes.append(NUMBER_CELL_HINT)
        return ""
    return text


def split_position_rank(value: str) -> tuple[str, str]:
    """(position, rank text) from a combined "职务/职级" cell such as "办公室主任（副科）".

    The rank is the last part that :func:`normalise_rank` recognises (ranks conventionally
    follow the position); failing that, a full rank name written inside the text. When no part
    is recognised, the whole cell comes back as the rank text so that the report can quote it.
    """
    text = " ".join(unicodedata.normalize("NFKC", value).split())
    if not text:
        return "", ""
    parts = [p for p in _SPLIT_RE.split(text) if p]
    for index in range(len(parts) - 1, -1, -1):
        if normalise_rank(parts[index]) is not None:
            rest = parts[:index] + parts[index + 1 :]
            return "/".join(rest), parts[index]
    compact = text.replace(" ", "")
    for rank in RANKS:
        if rank in compact and compact != rank:
            return _join(p for p in compact.split(rank) if p), rank
    return "", text


def _join(parts: Iterable[str]) -> str:
    return "/".join(p.strip("/、,，") for p in parts if p.strip("/、,，"))
