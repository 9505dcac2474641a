"""Archive exports HR departments can file: XLSX (formatted) and CSV (UTF-8 with BOM).

The workbook has a summary sheet, the completed courses and the ledger lines. The CSV is the
ledger lines only, one table with its header first so it imports cleanly; each row repeats the
learner and year so that files of several learners can be concatenated.
"""

from __future__ import annotations

import csv
import io

from openpyxl import Workbook
from openpyxl.styles import Font

from proctor.archive.service import KIND_NAMES, SOURCE_NAMES, Archive
from proctor.kernel.spreadsheets import Cell, csv_cell, format_sheet, table

LEDGER_HEADER = ["记录号", "日期", "课程", "类别", "来源", "学分", "说明"]
LEDGER_WIDTHS = [8, 12, 40, 8, 20, 10, 48]
COURSE_HEADER = ["完成日期", "课程", "课程分类", "性质", "学分", "状态"]
COURSE_WIDTHS = [12, 40, 20, 8, 10, 12]
CSV_HEADER = ["姓名", "单位", "年度", *LEDGER_HEADER]


def _ledger_rows(archive: Archive) -> list[list[Cell]]:
    return [
        [
            e.id,
            e.date,
            e.course,
            KIND_NAMES[e.kind],
            SOURCE_NAMES[e.source],
            e.amount,
            e.note,
        ]
        for e in archive.entries
    ]


def _course_rows(archive: Archive) -> list[list[Cell]]:
    return [
        [
            c.date,
            c.title,
            c.category,
            KIND_NAMES[c.kind],
            c.credits,
            "已冲销" if c.revoked else None,
        ]
        for c in archive.completions
    ]


def _summary_rows(archive: Archive) -> list[list[Cell]]:
    st = archive.status
    quota = st.quota
    rows: list[list[Cell]] = [
        ["姓名", archive.name],
        ["单位", archive.unit],
        ["职级", archive.rank],
        ["年度", archive.year],
        ["参学对象", archive.group_label],
        ["必修学分", st.required],
        ["选修学分", st.elective],
        ["奖励学分", st.bonus],
        ["年度总学分", st.total],
        ["年度要求总学分", quota.total if quota else None],
        ["其中必修不少于", quota.required if quota else None],
        ["总学分是否达标", "—" if quota is None else ("是" if st.total_met else "否")],
        ["必修学分是否达标", "—" if quota is None else ("是" if st.required_met else "否")],
        ["是否完成年度要求", "—" if quota is None else ("已完成" if st.met else "未完成")],
    ]
    rows.extend(["审核结论", f.text] for f in archive.findings)
    return rows


def to_xlsx(archive: Archive) -> bytes:
    """A workbook: summary, completed courses, ledger lines; numbers and dates typed."""
    wb = Workbook()
    summary = wb.active
    assert summary is not None  # noqa: S101 - a new workbook always has a sheet
    summary.title = "档案概要"
    for row in _summary_rows(archive):
        summary.append(row)
    for cell in summary["A"]:
        cell.font = Font(bold=True)
    summary.column_dimensions["A"].width = 20
    summary.column_dimensions["B"].width = 36
    format_sheet(summary)
    table(wb.create_sheet("已完成课程"), COURSE_HEADER, _course_rows(archive), COURSE_WIDTHS)
    table(wb.create_sheet("学分明细"), LEDGER_HEADER, _ledger_rows(archive), LEDGER_WIDTHS)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def to_csv(archive: Archive) -> bytes:
    """The ledger lines as CSV with a BOM, which Excel opens as UTF-8."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(CSV_HEADER)
    for row in _ledger_rows(archive):
        writer.writerow([csv_cell(v) for v in (archive.name, archive.unit, archive.year, *row)])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")
