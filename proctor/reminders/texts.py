"""What each reminder says (Chinese), from plain facts: testable without a database."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from proctor.kernel.calendar import ACADEMY_TZ

KIND_NAMES = {
    "behind": "学习进度落后",
    "batch": "花名册待修改",
    "case_due": "案件临近处理期限",
    "appeal_window": "可提出申诉",
}


@dataclass(frozen=True)
class Text:
    """A reminder's title, body and link (a path inside the product)."""

    title: str
    body: str
    link: str


def _day(moment: dt.datetime) -> str:
    return moment.astimezone(ACADEMY_TZ).strftime("%Y年%m月%d日")


def behind(name: str, year: int, total: Decimal, quota: Decimal | None, month: int) -> Text:
    """A learner short of the linear schedule (Art. 12 quota)."""
    need = f"，年度任务 {quota} 学分" if quota is not None else ""
    return Text(
        f"{name}，您的 {year} 年度在线学习进度落后",
        f"截至 {month} 月，您已获得 {total} 学分{need}。请合理安排时间，按进度完成学习任务。",
        "/learn",
    )


def batch_returned(filename: str, rows: int, batch_id: int) -> Text:
    """An uploader's roster with rows sent back or waiting for fixes."""
    return Text(
        f"花名册“{filename}”有 {rows} 行需要修改",
        "审批人已退回有问题的行（或上传后检查未通过）。请在花名册页面逐行修改后重新提交，无须整表重新上传。",
        f"/admin/rosters/{batch_id}",
    )


def case_due(case_id: int, learner: str, deadline: dt.datetime, appeal: bool) -> Text:
    """A reviewer's case or appeal near its deadline."""
    what = "申诉" if appeal else "案件"
    return Text(
        f"{what} #{case_id}（{learner}）将于 {_day(deadline)} 到期",
        f"请在期限前处理该{what}。",
        f"/review/cases/{case_id}",
    )


def appeal_window(name: str, case_id: int, deadline: dt.datetime) -> Text:
    """A learner who may still appeal a finding (Art. 16: a fair review)."""
    return Text(
        f"{name}，您对审核结论可申诉至 {_day(deadline)}",
        "如对学习情况审核结论有异议，请在期限内在“我的档案”中提出申诉并说明理由。",
        f"/archive/cases/{case_id}",
    )
