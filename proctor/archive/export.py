"""Archive exports HR departments can file: XLSX (formatted) and CSV (UTF-8 with BOM)."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill

from proctor.archive.service import KIND_NAMES, SOURCE_NAMES, Archive

HEADER = ["日期", "课程", "类别", "来源", "学分", "说明"]


def _rows(archive: Archive) -> list[list[object]]:
    return [
        [
            e.posted_at.strftime("%Y-%m-%d"),
            e.course,
            KIND_NAMES[e.kind],
            SOURCE_NAMES[e.source],
            float(e.amount),
            (
                f"冲销：{e.reason}"
                if e.source == "reversal"
                else ("已被冲销" if e.reversed_by else "")
            ),
        ]
        for e in archive.entries
    ]


def _summary(archive: Archive) -> list[list[object]]:
    st = archive.status
    quota = st.quota
    return [
        ["姓名", archive.name],
        ["单位", archive.unit],
        ["职级", archive.rank],
        ["年度", archive.year],
        ["参学对象", archive.group or "非本年度参学对象"],
        ["必修学分", float(st.required)],
        ["选修学分", float(st.elective)],
        ["奖励学分", float(st.bonus)],
        ["年度总学分", float(st.total)],
        ["年度要求（总/必修）", f"{quota.total}/{quota.required}" if quota else "—"],
        ["是否完成", "已完成" if st.met else "未完成"],
    ]


def to_xlsx(archive: Archive) -> bytes:
    """A workbook with a summary sheet and the ledger lines, numbers as numbers."""
    wb = Workbook()
    summary = wb.active
    assert summary is not None  # noqa: S101 - a new workbook always has a sheet
    summary.title = "档案概要"
    for row in _summary(archive):
        summary.append(row)
    for cell in summary["A"]:
        cell.font = Font(bold=True)
    summary.column_dimensions["A"].width = 22
    summary.column_dimensions["B"].width = 36
    lines = wb.create_sheet("学分明细")
    lines.append(HEADER)
    for cell in lines[1]:
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = PatternFill("solid", fgColor="B71C1C")
    for row in _rows(archive):
        lines.append(row)
    for col, width in zip("ABCDEF", (12, 40, 8, 18, 8, 30), strict=True):
        lines.column_dimensions[col].width = width
    for cell in lines["E"][1:]:
        cell.number_format = "0.00"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def to_csv(archive: Archive) -> bytes:
    """The ledger lines as CSV with a BOM, which Excel opens as UTF-8."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    for row in _summary(archive):
        writer.writerow([f"{v:.2f}" if isinstance(v, float) else v for v in row])
    writer.writerow([])
    writer.writerow(HEADER)
    for row in _rows(archive):
        writer.writerow([f"{v:.2f}" if isinstance(v, float | Decimal) else v for v in row])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")
