"""Hard-evidence rules: each has an id, thresholds from configuration and a Chinese explanation.

Rules read only the named feature columns, so they are pure and table-testable; thresholds
live in :data:`DEFAULT_THRESHOLDS` and can be overridden by configuration (JSON).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from proctor.detection.features import FEATURES

Thresholds = dict[str, float]
DEFAULT_THRESHOLDS: Thresholds = {
    "R01.overlap_share": 0.05,
    "R02.rate_violations": 5,
    "R03.zero_credit_share": 0.5,
    "R03.sessions": 2,
    "R04.challenges_issued": 2,
    "R04.unanswered_share": 0.5,
    "R05.wall_hours": 2.0,
    "R05.interactions_per_min": 0.05,
    "R05.pauses_per_hour": 2.0,
    "R06.concurrent_accounts": 1,
    "R07.cities_per_day": 2,
    "R08.takeover_share": 0.6,
    "R08.hour_shift": 3.0,
    "R09.density_corr": 0.9,
    "R09.sessions": 6,
    "T01.non_browser_share": 0.5,
}


@dataclass(frozen=True)
class Rule:
    """A rule: what it is called, what kind of evidence it is, and when it fires."""

    id: str
    name: str
    kind: str  # "behaviour" (goes to a disciplinary review) or "technical" (client/data quality)
    explain: str  # format string over the learner's feature values
    fires: Callable[[Callable[[str], NDArray[np.float64]], Thresholds], NDArray[np.bool_]]


RULES: tuple[Rule, ...] = (
    Rule(
        "R01",
        "并行多开学习",
        "behaviour",
        "{overlap_share:.0%} 的学习时间与本人另一学习会话同时进行（同一时间只能计一路学时）",
        lambda f, t: f("overlap_share") >= t["R01.overlap_share"],
    ),
    Rule(
        "R02",
        "倍速播放",
        "behaviour",
        "播放进度 {rate_violations:.0f} 次快于允许的倍速（按服务器时间核验）",
        lambda f, t: f("rate_violations") >= t["R02.rate_violations"],
    ),
    Rule(
        "R03",
        "伪造学习进度",
        "behaviour",
        "{zero_credit_share:.0%} 的学习会话进度跳变而无实际观看时长（{forward_seeks:.0f} 次快进/跳转）",
        lambda f, t: (
            (f("zero_credit_share") >= t["R03.zero_credit_share"])
            & (f("sessions") >= t["R03.sessions"])
        ),
    ),
    Rule(
        "R04",
        "确认提示长期不作答",
        "behaviour",
        "{challenges_issued:.0f} 次随机确认提示中 {challenge_unanswered_share:.0%} 未作答，进度却持续上报",
        lambda f, t: (
            (f("challenges_issued") >= t["R04.challenges_issued"])
            & (f("challenge_unanswered_share") >= t["R04.unanswered_share"])
        ),
    ),
    Rule(
        "R05",
        "长时间无人操作",
        "behaviour",
        "{wall_hours:.1f} 小时学习中几乎无鼠标键盘操作（每分钟 {interactions_per_min:.2f} 次）且从不暂停",
        lambda f, t: (
            (f("wall_hours") >= t["R05.wall_hours"])
            & (f("interactions_per_min") < t["R05.interactions_per_min"])
            & (f("pauses_per_hour") < t["R05.pauses_per_hour"])
        ),
    ),
    Rule(
        "R06",
        "同一设备多账号同时学习",
        "behaviour",
        "所用设备上另有 {device_concurrent_accounts:.0f} 个账号在同一时间学习",
        lambda f, t: f("device_concurrent_accounts") >= t["R06.concurrent_accounts"],
    ),
    Rule(
        "R07",
        "同日异地学习",
        "behaviour",
        "同一天内从 {cities_max_per_day:.0f} 个不同地区的网络登录学习",
        lambda f, t: f("cities_max_per_day") >= t["R07.cities_per_day"],
    ),
    Rule(
        "R08",
        "疑似他人代学",
        "behaviour",
        "{takeover_share:.0%} 的学时来自本人此前从未使用的设备，学习时段与本人习惯相差约 {takeover_hour_shift:.0f} 小时",
        lambda f, t: (
            (f("takeover_share") >= t["R08.takeover_share"])
            & (f("takeover_hour_shift") >= t["R08.hour_shift"])
        ),
    ),
    Rule(
        "R09",
        "按学分效率批量刷课",
        "behaviour",
        "选课顺序与课程“学分/时长”高度一致（相关系数 {course_density_corr:.2f}）",
        lambda f, t: (
            (f("course_density_corr") >= t["R09.density_corr"])
            & (f("sessions") >= t["R09.sessions"])
        ),
    ),
    Rule(
        "T01",
        "非浏览器或无界面浏览器客户端",
        "technical",
        "{non_browser_share:.0%} 的会话来自脚本或无界面浏览器（客户端标识，可伪造，仅作参考）",
        lambda f, t: f("non_browser_share") >= t["T01.non_browser_share"],
    ),
)


def load_thresholds(override_json: str = "") -> Thresholds:
    """Defaults, overridden by a JSON object of the same keys (unknown keys are an error)."""
    thresholds = dict(DEFAULT_THRESHOLDS)
    if override_json:
        override = json.loads(override_json)
        unknown = set(override) - set(thresholds)
        if unknown:
            raise ValueError(f"unknown detection thresholds: {sorted(unknown)}")
        thresholds.update({k: float(v) for k, v in override.items()})
    return thresholds


def evaluate(X: NDArray[np.float64], thresholds: Thresholds) -> NDArray[np.bool_]:
    """A boolean matrix: learners × rules (in :data:`RULES` order)."""

    def col(name: str) -> NDArray[np.float64]:
        return X[:, FEATURES.index(name)]

    if len(X) == 0:
        return np.zeros((0, len(RULES)), dtype=bool)
    return np.column_stack([rule.fires(col, thresholds) for rule in RULES])


def explain(rule: Rule, values: dict[str, float]) -> str:
    """The rule's Chinese explanation with the learner's values filled in."""
    return rule.explain.format(**values)
