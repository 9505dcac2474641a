"""Pure exam policy: the draw, canonical answers, scoring, and invigilation thresholds.

No I/O and no clock: callers pass the random generator and the server's time.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from models.exams import ItemKind
from proctor.kernel.errors import InvalidInput
from proctor.kernel.settings import Settings

# A save that arrives this long after the deadline is still accepted: it left the page in time
# and was held up by the network (the page stops accepting input at the deadline).
GRACE_S = 5
TRUE_FALSE_OPTIONS = ("T", "F")


@dataclass(frozen=True)
class BankItem:
    """What the draw needs about a bank item."""

    item_id: int
    kind: ItemKind
    option_ids: tuple[str, ...]


def draw(bank: Sequence[BankItem], count: int, rng: random.Random) -> list[dict[str, object]]:
    """Pick ``count`` items and shuffle each one's options (true/false keeps its order)."""
    if count < 1:
        raise InvalidInput("抽题数量必须大于 0", field="item_count")
    if len(bank) < count:
        raise InvalidInput(f"题库只有 {len(bank)} 道题，不足抽取 {count} 道", field="item_count")
    picked = rng.sample(list(bank), count)
    drawn: list[dict[str, object]] = []
    for item in picked:
        order = list(item.option_ids)
        if item.kind is not ItemKind.TRUE_FALSE:
            rng.shuffle(order)
        drawn.append({"item_id": item.item_id, "order": order})
    return drawn


def canonical(kind: ItemKind, chosen: Iterable[str], option_ids: Sequence[str]) -> str:
    """The chosen option ids, checked against the item and sorted; "" is a cleared answer."""
    picked = sorted(set(chosen))
    unknown = [c for c in picked if c not in option_ids]
    if unknown:
        raise InvalidInput(f"选项 {'、'.join(unknown)} 不属于该题", field="choice")
    if kind is not ItemKind.MULTIPLE and len(picked) > 1:
        raise InvalidInput("单选题和判断题只能选择一个选项", field="choice")
    return "".join(picked)


def check_key(kind: ItemKind, key: str, option_ids: Sequence[str]) -> str:
    """An item's answer key in canonical form, refusing keys the item cannot have."""
    if kind is ItemKind.TRUE_FALSE and tuple(option_ids) != TRUE_FALSE_OPTIONS:
        raise InvalidInput("判断题的选项应为 T 和 F", field="options")
    if kind is not ItemKind.TRUE_FALSE and not 2 <= len(option_ids) <= 8:
        raise InvalidInput("选择题应有 2 至 8 个选项", field="options")
    if len(set(option_ids)) != len(option_ids):
        raise InvalidInput("选项编号重复", field="options")
    canon = canonical(kind, list(key), option_ids)
    if not canon:
        raise InvalidInput("缺少正确答案", field="key")
    if kind is ItemKind.MULTIPLE and len(canon) < 2:
        raise InvalidInput("多选题至少有两个正确选项", field="key")
    return canon


@dataclass(frozen=True)
class Score:
    """Items answered correctly, the percentage, and whether it reaches the pass mark."""

    correct: int
    total: int
    percent: int
    passed: bool


def score(keys: Mapping[int, str], answers: Mapping[int, str], pass_mark: int) -> Score:
    """All-or-nothing per item (a multiple choice counts only when exactly right)."""
    correct = sum(1 for item_id, key in keys.items() if answers.get(item_id, "") == key)
    total = len(keys)
    # Integer percent, rounded down: a pass mark is never reached by rounding up.
    percent = correct * 100 // total if total else 0
    return Score(correct, total, percent, percent >= pass_mark)


def remaining_s(deadline: dt.datetime, now: dt.datetime) -> int:
    """Whole seconds left on the server's clock (never negative)."""
    return max(0, int((deadline - now).total_seconds()))


def window_status(opens: dt.datetime, closes: dt.datetime, now: dt.datetime) -> str:
    """ "upcoming", "open" or "closed": an exam window is open from its opening up to, not
    including, its closing moment."""
    if now < opens:
        return "upcoming"
    return "closed" if now >= closes else "open"


def key_shown(closes: dt.datetime, now: dt.datetime) -> bool:
    """Learners see the key with their answers only once the exam window has closed: while
    it is open someone may still be sitting, and a key passed on would be a key leaked."""
    return now >= closes


def accepts_answers(deadline: dt.datetime, now: dt.datetime) -> bool:
    """Saves are accepted until the deadline plus the network grace."""
    return now <= deadline + dt.timedelta(seconds=GRACE_S)


# ---------------------------------------------------------------- invigilation

# Events the exam page may report; everything else is refused so the timeline stays clean.
PAGE_EVENTS = frozenset(
    {"hidden", "visible", "blur", "focus", "fullscreen_exit", "copy", "paste", "cut", "menu"}
)
# Events the server itself records.


@dataclass(frozen=True)
class Limits:
    """How many of each event an attempt may show before a person should look (not a fail)."""

    focus_losses: int = 5  # hidden + blur
    fullscreen_exits: int = 3
    clipboard: int = 3  # copy + paste + cut
    address_changes: int = 1  # ip_change + device_change
    concurrent: int = 1  # study sessions or other attempts during the attempt


def invigilation_limits(settings: Settings) -> Limits:
    """The configured thresholds (PROCTOR_EXAM_MAX_*)."""
    return Limits(
        focus_losses=settings.exam_max_focus_losses,
        fullscreen_exits=settings.exam_max_fullscreen_exits,
        clipboard=settings.exam_max_clipboard,
        address_changes=settings.exam_max_address_changes,
        concurrent=settings.exam_max_concurrent,
    )


@dataclass(frozen=True)
class Reason:
    """One invigilation threshold an attempt crossed."""

    id: str
    name: str
    value: int
    threshold: int
    text: str

    def as_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "name": self.name,
            "kind": "behaviour",
            "value": self.value,
            "threshold": self.threshold,
            "text": self.text,
        }


def invigilation_reasons(kinds: Iterable[str], limits: Limits) -> list[Reason]:
    """Thresholds crossed by an attempt's events; each becomes a reason on an exam flag."""
    n = Counter(kinds)
    checks = [
        ("E11", "频繁离开考试页面", n["hidden"] + n["blur"], limits.focus_losses, "次离开页面"),
        ("E12", "多次退出全屏", n["fullscreen_exit"], limits.fullscreen_exits, "次退出全屏"),
        (
            "E13",
            "考试中复制粘贴",
            n["copy"] + n["paste"] + n["cut"],
            limits.clipboard,
            "次复制粘贴",
        ),
        (
            "E14",
            "考试中更换网络地址或设备",
            n["ip_change"] + n["device_change"],
            limits.address_changes,
            "次更换地址或设备",
        ),
        (
            "E15",
            "考试期间同时学习或答另一场考试",
            n["concurrent_study"] + n["concurrent_attempt"],
            limits.concurrent,
            "次并发",
        ),
    ]
    return [
        Reason(rid, name, value, limit, f"{value} {unit}（阈值 {limit}）")
        for rid, name, value, limit, unit in checks
        if value >= limit
    ]


# How each event reads on the learner's result page and in the reviewer's timeline.
EVENT_NAMES = {
    "start": "开始考试",
    "resume": "打开或刷新考试页面",
    "hidden": "离开考试页面",
    "visible": "回到考试页面",
    "blur": "考试窗口失去焦点",
    "focus": "考试窗口恢复焦点",
    "fullscreen_exit": "退出全屏",
    "copy": "复制",
    "paste": "粘贴",
    "cut": "剪切",
    "menu": "打开右键菜单",
    "ip_change": "网络地址变化",
    "device_change": "设备变化",
    "concurrent_study": "考试期间同时在学习课程",
    "concurrent_attempt": "同时在作答另一场考试",
}
