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
    "R03.forward_seeks": 2,
    "R04.challenges_issued": 2,
    "R04.unanswered_share": 0.5,
    "R05.wall_hours": 2.0,
    "R05.interactions_per_min": 0.05,
    "R05.pauses_per_hour": 2.0,
    "R06.concurrent_accounts": 1,
    "R07.cities_per_day": 2,
    "R07.days": 3,
    "R08.takeover_share": 0.6,
    "R08.hour_shift": 3.0,
    "R08.new_address_share": 0.8,
    "R08.new_city_share": 0.8,
    "R08.habit_change": 1.4,
    "R08.city_habit_change": 1.2,
    "R08.fixed_place_share": 0.8,
    "R09.density_corr": 0.9,
    "R09.sessions": 6,
    "T01.non_browser_share": 0.5,
    "R10.self_overlap_share": 0.2,
    "R10.overlapping_sessions": 3,
    "R11.unattended_hours": 3.0,
    "R12.handoff_partners": 2,
    "R12.shared_device_credit": 0.8,
    "R13.wall_hours": 6.0,
    "R13.verified_ratio": 0.97,
    "R13.pauses_per_hour": 0.5,
    "R13.hidden_share": 0.01,
    "R14.linked_handoff_partners": 2,
    "R14.linked_handoff_share": 0.6,
    "R14.sessions": 6,
    "R15.away_share": 0.8,
    "R15.days": 4,
    "R15.wall_hours": 3.0,
    "R16.relay_days": 2,
    "R17.verified_24h": 18.0,
    "R18.machine_clients": 4,
    "R19.rotating_handover_days": 2,
}


@dataclass(frozen=True)
class Rule:
    """A rule: what it is called, what kind of evidence it is, and when it fires."""

    id: str
    name: str
    kind: str  # "behaviour" (goes to a disciplinary review) or "technical" (client/data quality)
    explain: str  # format string over the learner's feature values
    fires: Callable[[Callable[[str], NDArray[np.float64]], Thresholds], NDArray[np.bool_]]
    # What a confirmed finding would be (review's case kind): proxy, fraud, bot or technical.
    misconduct: str = "anomaly"


RULES: tuple[Rule, ...] = (
    Rule(
        "R01",
        "并行多开学习",
        "behaviour",
        "{overlap_share:.0%} 的学习时间与本人另一学习会话同时进行（同一时间只能计一路学时）",
        lambda f, t: f("overlap_share") >= t["R01.overlap_share"],
        misconduct="fraud",
    ),
    Rule(
        "R02",
        "倍速播放",
        "behaviour",
        "播放进度 {rate_violations:.0f} 次快于允许的倍速（按服务器时间核验）",
        lambda f, t: f("rate_violations") >= t["R02.rate_violations"],
        misconduct="fraud",
    ),
    Rule(
        "R03",
        "伪造学习进度",
        "behaviour",
        "{zero_credit_share:.0%} 的学习会话进度跳变而无实际观看时长（{forward_seeks:.0f} 次快进/跳转）",
        lambda f, t: (
            (f("zero_credit_share") >= t["R03.zero_credit_share"])
            & (f("sessions") >= t["R03.sessions"])
            # Zero credit alone is also a hidden tab; a forgery jumps the position.
            & (f("forward_seeks") >= t["R03.forward_seeks"])
        ),
        misconduct="fraud",
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
        misconduct="bot",
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
        misconduct="bot",
    ),
    Rule(
        "R06",
        "同一设备多账号同时学习",
        "behaviour",
        "所用设备上另有 {device_concurrent_accounts:.0f} 个账号在同一时间学习",
        lambda f, t: f("device_concurrent_accounts") >= t["R06.concurrent_accounts"],
        misconduct="proxy",
    ),
    Rule(
        "R07",
        "同日异地学习",
        "behaviour",
        "有 {multi_city_days:.0f} 天在同一天内从不同地区的网络登录学习（最多 {cities_max_per_day:.0f} 个地区；"
        "同批学员中位数 {cohort_multi_city_days:.0f} 天；出差、手机网络偶有一两天属正常）",
        lambda f, t: (
            (f("cities_max_per_day") >= t["R07.cities_per_day"])
            & (f("multi_city_days") >= t["R07.days"])
        ),
        misconduct="proxy",
    ),
    Rule(
        "R08",
        "疑似他人代学",
        "behaviour",
        "{takeover_share:.0%} 的学时来自本人此前从未使用的设备，其中 {takeover_new_address_share:.0%} 来自本人从未用过的网络、"
        "{takeover_new_city_share:.0%} 来自本人从未到过的地区、{takeover_place_share:.0%} 来自同一个固定网络地址，"
        "学习时段与本人习惯相差约 {takeover_hour_shift:.0f} 小时，"
        "操作频率或签到应答速度与本人此前相差 {takeover_behaviour_change:.1f} 倍"
        "（本人换用新电脑、搬家后换了宽带，操作习惯通常不变；请核实设备与地点）",
        # A new laptop at home is ordinary, in the evenings too: in the learner's own city
        # the new device, network and hours must come with another person's habits (input
        # rate, challenge answer latency). A trip with a new laptop is ordinary too: from a
        # city the learner never studied in, the habits must still differ, if less (an
        # honest traveller's stayed within 1.05 of their own; proxies' 1.37 or more). A proxy
        # in the learner's own city at the learner's hours brings the network of one fixed
        # place (their home) and their habits: that place stands in for the hours (a phone on
        # a carrier's pool of addresses has no one main address; someone who moved house
        # keeps their own habits, but may pause more at home, and touch the mouse more: on
        # fresh seeds one mover passed 1.3, so both network branches ask 1.4).
        lambda f, t: (
            (f("takeover_share") >= t["R08.takeover_share"])
            & (
                (
                    (f("takeover_new_address_share") >= t["R08.new_address_share"])
                    & (
                        (f("takeover_hour_shift") >= t["R08.hour_shift"])
                        | (f("takeover_place_share") >= t["R08.fixed_place_share"])
                    )
                    & (f("takeover_behaviour_change") >= t["R08.habit_change"])
                )
                | (
                    (f("takeover_new_city_share") >= t["R08.new_city_share"])
                    & (f("takeover_behaviour_change") >= t["R08.city_habit_change"])
                )
            )
        ),
        misconduct="proxy",
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
        misconduct="fraud",
    ),
    Rule(
        "T01",
        "非浏览器或无界面浏览器客户端",
        "technical",
        "{non_browser_share:.0%} 的会话来自脚本或无界面浏览器（客户端标识，可伪造，仅作参考）",
        lambda f, t: f("non_browser_share") >= t["T01.non_browser_share"],
        misconduct="technical",
    ),
    Rule(
        "R10",
        "习惯性同时打开多个课程",
        "technical",
        "{overlapping_sessions:.0f} 个学习会话与本人另一会话同时打开，占在线时长 {self_overlap_share:.0%}"
        "（同批学员中位数 {cohort_self_overlap_share:.0%}；按服务器时间，隐藏的页面也算；系统只计一路学时，未多得学时）",
        lambda f, t: (
            (f("self_overlap_share") >= t["R10.self_overlap_share"])
            & (f("overlapping_sessions") >= t["R10.overlapping_sessions"])
        ),
        misconduct="technical",
    ),
    Rule(
        "R11",
        "多次整节课无人操作",
        "behaviour",
        "{unattended_hours:.1f} 小时的学习会话（每节 15 分钟以上）全程没有任何鼠标键盘操作、也从未暂停"
        "（同批学员中位数 {cohort_unattended_hours:.1f} 小时）",
        lambda f, t: f("unattended_hours") >= t["R11.unattended_hours"],
        misconduct="bot",
    ),
    Rule(
        "R12",
        "多账号在同一设备上轮流学习",
        "behaviour",
        "与 {handoff_partners:.0f} 个其他账号在同一设备上多次“一个下线、另一个三分钟内上线”，"
        "{handoff_share:.0%} 的会话属于这种交接；{shared_device_credit:.0%} 的学时在三个以上账号共用的设备上"
        "（同批学员中位数 {cohort_shared_device_credit:.0%}；办公室共用电脑的同事一般也在自己的设备上学习）",
        lambda f, t: (
            (f("handoff_partners") >= t["R12.handoff_partners"])
            & (f("shared_device_credit") >= t["R12.shared_device_credit"])
        ),
        misconduct="proxy",
    ),
    Rule(
        "R13",
        "长时间不间断的机器式学习",
        "behaviour",
        "{wall_hours:.1f} 小时在线中 {verified_ratio:.0%} 被核验为有效学时，每小时暂停 {pauses_per_hour:.1f} 次、"
        "页面不可见比例 {hidden_share:.1%}（同批学员中位数：有效比例 {cohort_verified_ratio:.0%}，"
        "每小时暂停 {cohort_pauses_per_hour:.1f} 次）",
        lambda f, t: (
            (f("wall_hours") >= t["R13.wall_hours"])
            & (f("verified_ratio") >= t["R13.verified_ratio"])
            & (f("pauses_per_hour") < t["R13.pauses_per_hour"])
            & (f("hidden_share") < t["R13.hidden_share"])
        ),
        misconduct="bot",
    ),
    Rule(
        "R14",
        "多个关联账号轮流接力学习",
        "behaviour",
        "{linked_handoff_share:.0%} 的会话在另一账号下线后三分钟内开始（或本人下线后另一账号随即开始），"
        "与 {linked_handoff_partners:.0f} 个共用两个以上网络地址或同一设备的账号各接力三次以上"
        "（同批学员中位数 {cohort_linked_handoff_share:.0%}；家人共用电脑通常只有一个接力对象）",
        lambda f, t: (
            (f("linked_handoff_partners") >= t["R14.linked_handoff_partners"])
            & (f("linked_handoff_share") >= t["R14.linked_handoff_share"])
            & (f("sessions") >= t["R14.sessions"])
        ),
        misconduct="proxy",
    ),
    Rule(
        "R15",
        "学时几乎全部在本单位所在地以外取得",
        "behaviour",
        "{away_region_share:.0%} 的学时来自外地网络（本市同事很少使用、为其他市单位人员常用；按组织机构划分），涉及 {away_region_days:.0f} 天"
        "（同批学员中位数 {cohort_away_region_share:.0%}；出差通常只占几天，外派、挂职须核实）",
        # A proxy from another city whose owner never studied leaves no earlier device or
        # habit for R08; the org tree still says where the learner works.
        lambda f, t: (
            (f("away_region_share") >= t["R15.away_share"])
            & (f("away_region_days") >= t["R15.days"])
            & (f("wall_hours") >= t["R15.wall_hours"])
        ),
        misconduct="proxy",
    ),
    Rule(
        "R16",
        "同一台机器为三个以上账号轮流整天播放课程",
        "behaviour",
        "有 {relay_days:.0f} 天，本人所用的同一台机器（同一设备，或共用少数网络地址的关联账号）"
        "为三个以上账号一个接一个播放课程、从不同时，全天合计 12 小时以上、每个账号各 2 小时以上"
        "（最长一天 {relay_hours_max:.1f} 小时；同批学员中位数 {cohort_relay_hours_max:.1f} 小时；"
        "间隔多久都算，不看三分钟内交接）",
        # Hand-overs can be spaced past any window and split into blocks; a machine that
        # plays for three or more accounts all day, one at a time, is one operator's
        # throughput. Two accounts are left out: a couple cramming on their home PC fills
        # the day as a two-account farm does (measured; see docs/detection.md).
        lambda f, t: f("relay_days") >= t["R16.relay_days"],
        misconduct="proxy",
    ),
    Rule(
        "R17",
        "一天之内核验学时超出常人所能",
        "behaviour",
        "任意连续 24 小时内最多取得 {verified_24h_max:.1f} 小时核验学时（阈值 18 小时；"
        "同批学员中位数 {cohort_verified_24h_max:.1f} 小时）：一个人要睡觉、吃饭，"
        "年底集中补学一天也难以专注学习这么久",
        # Server time only: pauses, hidden time and input (R13) are what the client reports,
        # and a script can report them as a person would; it cannot report away the hours it
        # ran. Evading it means playing under 18 h a day, a quarter less than a machine can.
        lambda f, t: f("verified_24h_max") >= t["R17.verified_24h"],
        misconduct="bot",
    ),
    Rule(
        "R18",
        "同一台机器包揽多个不同单位账号的学时",
        "behaviour",
        "本期本人八成以上的学时来自同一台机器（同一设备，或共用少数网络地址的关联账号），"
        "这台机器还为其他账号包揽了大部分学时：共 {machine_clients:.0f} 个账号（阈值 4 个，"
        "来自不同单位，每个账号在这台机器上 6 小时以上），从不同时播放"
        "（同批学员中位数 {cohort_machine_clients:.0f} 个；一家人共用电脑通常只有两个账号）",
        # A farm that plays two accounts a day and moves on to the next clients once their
        # quota is earned passes every per-day rule; its machine still ends the period as
        # almost the only place several people of different units studied. Evading it means
        # a machine per three clients a period, or clients who also study elsewhere.
        lambda f, t: f("machine_clients") >= t["R18.machine_clients"],
        misconduct="proxy",
    ),
    Rule(
        "R19",
        "同一设备换账号时网络地址随之更换",
        "behaviour",
        "有 {rotating_handover_days:.0f} 天（阈值 2 天）同一台设备在不同账号之间先后播放课程"
        "（前一节结束后 15 分钟内开始下一节），且每天至少 4 次换账号时网络地址也随之更换"
        "（同批学员中位数 {cohort_rotating_handover_days:.0f} 天；家中或办公室的电脑"
        "换人学习时地址不变）。需核实：家中一人连 VPN、另一人不连，或小单位办公室出口线路"
        "轮换时，轮流使用同一台电脑的家人或同事也会如此",
        # A place keeps its address for hours; an operator rotating its addresses (so that no
        # address serves many accounts) changes it between back-to-back lessons of its
        # accounts. Evading it means keeping one address per machine: a farm of two accounts
        # then looks like a couple at a home PC, a larger one meets R16 or R18.
        lambda f, t: f("rotating_handover_days") >= t["R19.rotating_handover_days"],
        misconduct="proxy",
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


def explain(rule: Rule, values: dict[str, float], cohort: dict[str, float] | None = None) -> str:
    """The rule's Chinese explanation with the learner's values (and the cohort's medians,
    ``cohort_<feature>``) filled in."""
    medians = cohort or {name: 0.0 for name in values}
    return rule.explain.format(**values, **{f"cohort_{k}": v for k, v in medians.items()})
