"""Report workbooks HR departments can file: Chinese headers, numbers as numbers.

The house style of :mod:`proctor.archive.export`: a red bold header row, frozen, column
widths set, credits with two decimals, percentages as numbers with one decimal.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from openpyxl.worksheet.worksheet import Worksheet

from proctor.kernel.spreadsheets import Cell, format_sheet, table
from proctor.reports.figures import distribution, summary
from proctor.reports.service import LearnerLine, NodeReport

PERCENT_FORMAT = "0.0"
FIGURE_HEADER = [
    "机构",
    "参学对象人数",
    "参学人数",
    "参学率(%)",
    "完成年度要求人数",
    "完成率(%)",
    "总学分达标人数",
    "必修学分达标人数",
    "学分合计",
    "人均学分",
    "非参学对象人数",
    "非参学对象学分合计",
    "查实问题数",
    "待办案件数",
]
FIGURE_WIDTHS = [24, 12, 10, 10, 16, 10, 14, 16, 12, 10, 14, 18, 10, 10]
LEARNER_HEADER = [
    "姓名",
    "单位",
    "职级",
    "参学对象",
    "必修学分",
    "选修学分",
    "奖励学分",
    "年度总学分",
    "要求总学分",
    "要求必修学分",
    "是否完成",
    "进度落后",
    "查实问题数",
    "待办案件数",
]
LEARNER_WIDTHS = [12, 24, 12, 16, 10, 10, 10, 12, 12, 12, 10, 10, 12, 12]


def _percent_columns(sheet: Worksheet, columns: Sequence[int]) -> None:
    for row in sheet.iter_rows(min_row=2):
        for i in columns:
            row[i].number_format = PERCENT_FORMAT


def _figure_row(name: str, f: dict[str, Any]) -> list[Cell]:
    # Without target learners a rate is 0 of 0: a dash, not 0.0 %.
    some = bool(f["target_learners"])
    return [
        name,
        f["target_learners"],
        f["participated"],
        f["participation_rate"] if some else "—",
        f["quota_met"],
        f["completion_rate"] if some else "—",
        f["total_met"],
        f["required_met"],
        f["credits_total"],
        f["credits_average"],
        f["other_learners"],
        f["other_credits_total"],
        f["confirmed_findings"],
        f["open_cases"],
    ]


def _learner_row(x: LearnerLine) -> list[Cell]:
    return [
        x.name,
        x.unit,
        x.rank,
        x.target_group or "非本年度参学对象",
        x.required,
        x.elective,
        x.bonus,
        x.total,
        x.quota_total,
        x.quota_required,
        None if x.quota_met is None else ("是" if x.quota_met else "否"),
        "是" if x.behind else "否",
        x.findings,
        x.open_cases,
    ]


def _save(wb: Workbook) -> bytes:
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _first(wb: Workbook, title: str) -> Worksheet:
    sheet = wb.active
    assert sheet is not None  # noqa: S101 - a new workbook always has a sheet
    sheet.title = title
    return sheet


def _learner_header(closed: bool) -> list[str]:
    """Once the year is over the "behind" column says who did not meet the requirement."""
    return [("未完成年度要求" if closed and h == "进度落后" else h) for h in LEARNER_HEADER]


def unit_report(report: NodeReport, learners: list[LearnerLine], *, closed: bool = False) -> bytes:
    """A node's figures (its line, then its children), distribution, categories, learners."""
    wb = Workbook()
    rows = [_figure_row(f"{report.node.name}（合计）", summary(report.tally))]
    rows += [_figure_row(n.name, summary(t)) for n, t in report.children]
    if report.own is not None:
        rows.append(_figure_row(f"{report.node.name}本级", summary(report.own)))
    sheet = _first(wb, f"{report.year}年度统计")
    table(sheet, FIGURE_HEADER, rows, FIGURE_WIDTHS)
    _percent_columns(sheet, (3, 5))
    table(
        wb.create_sheet("学分分布"),
        ["占年度要求比例", "人数"],
        [[d["band"], d["learners"]] for d in distribution(report.tally)],
        [20, 10],
    )
    table(
        wb.create_sheet("课程分类学分"),
        ["课程分类", "学分"],
        [[name, amount] for name, amount in report.categories],
        [30, 12],
    )
    table(
        wb.create_sheet("学员明细"),
        _learner_header(closed),
        [_learner_row(x) for x in learners],
        LEARNER_WIDTHS,
    )
    return _save(wb)


def learner_list(title: str, learners: list[LearnerLine], *, closed: bool = False) -> bytes:
    """Learners behind schedule (after the year: short of it), or award candidates."""
    wb = Workbook()
    table(
        _first(wb, title),
        _learner_header(closed),
        [_learner_row(x) for x in learners],
        LEARNER_WIDTHS,
    )
    return _save(wb)


def _num(value: Any) -> Decimal:
    return Decimal(str(value))


def evaluation(body: dict[str, Any]) -> bytes:
    """The yearly evaluation: scoring rules, unit ranking, both award candidate lists."""
    wb = Workbook()
    units = [
        [
            u["rank"] or None,
            u["name"],
            u["target"],
            _num(u["participation"]),
            _num(u["completion"]),
            _num(u["average"]),
            u["findings"],
            _num(u["score"]),
            "是" if u["excellent_candidate"] else None,
        ]
        for u in body["units"]
    ]
    sheet = _first(wb, "单位考核排名")
    table(
        sheet,
        [
            "名次",
            "单位",
            "参学对象人数",
            "参学率(%)",
            "完成率(%)",
            "人均学分",
            "查实问题数",
            "得分",
            "优秀组织奖候选",
        ],
        units,
        [8, 28, 12, 10, 10, 10, 12, 10, 14],
    )
    _percent_columns(sheet, (3, 4))
    learners = [
        [
            i,
            x["name"],
            x["unit"],
            x["rank"],
            _num(x["required"]),
            _num(x["total"]),
        ]
        for i, x in enumerate(body["excellent_learners"], start=1)
    ]
    table(
        wb.create_sheet("优秀学员奖候选"),
        ["序号", "姓名", "单位", "职级", "必修学分", "年度总学分"],
        learners,
        [8, 12, 28, 12, 10, 12],
    )
    w = body["weights"]
    rules = _first_rows(w, body)
    info = wb.create_sheet("评分办法")
    for row in rules:
        info.append(row)
    info.column_dimensions["A"].width = 36
    info.column_dimensions["B"].width = 30
    format_sheet(info)
    return _save(wb)


def candidates(body: dict[str, Any]) -> bytes:
    """Award candidates only: excellent organisations and excellent learners (Art. 15)."""
    wb = Workbook()
    table(
        _first(wb, "优秀组织奖候选"),
        ["名次", "单位", "参学对象人数", "完成率(%)", "人均学分", "得分"],
        [
            [
                u["rank"],
                u["name"],
                u["target"],
                _num(u["completion"]),
                _num(u["average"]),
                _num(u["score"]),
            ]
            for u in body["excellent_units"]
        ],
        [8, 28, 12, 10, 10, 10],
    )
    table(
        wb.create_sheet("优秀学员奖候选"),
        ["序号", "姓名", "单位", "职级", "必修学分", "年度总学分"],
        [
            [i, x["name"], x["unit"], x["rank"], _num(x["required"]), _num(x["total"])]
            for i, x in enumerate(body["excellent_learners"], start=1)
        ],
        [8, 12, 28, 12, 10, 12],
    )
    return _save(wb)


WEIGHT_NAMES = {
    "participation": "参学率权重",
    "completion": "完成率权重",
    "credits": "人均学分（占要求比例）权重",
    "findings_penalty": "每百名参学对象查实问题扣分",
    "org_min_score": "优秀组织奖最低得分",
    "org_min_learners": "优秀组织奖最少参学对象人数",
    "org_award_share": "优秀组织奖候选比例上限",
    "learner_award_count": "优秀学员奖候选人数上限",
}


def _first_rows(w: dict[str, Any], body: dict[str, Any]) -> list[list[Cell]]:
    state = f"已冻结（{body['frozen_at'][:10]}）" if body.get("frozen") else "未冻结（实时计算）"
    rows: list[list[Cell]] = [
        ["机构", body["org"]["name"]],
        ["年度", body["year"]],
        ["状态", state],
        [
            "得分 = 100 ×（参学率 × 权重 + 完成率 × 权重 + min(1, 人均学分 / 人均要求) × 权重）− 每百人查实问题数 × 扣分",
            None,
        ],
    ]
    rows += [[WEIGHT_NAMES.get(k, k), _num(v)] for k, v in w.items()]
    return rows
