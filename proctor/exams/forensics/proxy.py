"""Proxy test-taker (someone else sat the exam): a pure rule over the learner's own history.

* P01 – the attempt's device AND network address never appear in the learner's own study
  history (evaluated only when the learner has a history with devices or addresses);
* P02 – the learner studied almost nothing verified of the course (below
  :func:`unstudied_below`: ``proxy_min_hours``, or ``proxy_min_share`` of the course's
  lecture time on a shorter course) yet scored high (at least ``proxy_high_score`` correct);
* P03 – the score is far above the learner's own earlier exams: the binomial tail of the
  correct count at the learner's past rate is below ``proxy_jump_alpha`` and the score is
  at least ``proxy_jump_min`` above that rate (different exams differ in difficulty, so
  this is a screen, not an exact test);
* P04 – study-side detection raised medium or high flags on the learner in the weeks
  before the exam (shared devices or addresses, someone else studying for him);
* P05 – the attempt's speed (τ of the lognormal model, relative to the cohort) is unlike
  the learner's own earlier exams: more than ``proxy_speed_z`` SDs of his past speeds
  (at least ``SPEED_SD_FLOOR``) away from their mean;
* P06 – with P01 and without P02: the learner studied almost nothing verified of the
  course (the same bound as P02), whatever the score;
* P07 – with P02 and without P01: the attempt's device never appears in the learner's
  study though the address does (a proxy at the learner's office on a machine of his own);
* P08 – with P01: the same device, or a small network, sat this exam (or earlier ones)
  for other learners of other organisations, new to every one of them (:mod:`.machines`:
  a proxy for hire).

Every reason weighs the same and none is enough alone: a new device at a new address is
what an honest traveller shows, and little study with a high score is what an expert who
skipped the videos shows (exams are open to anyone, article 12). One reason is the low
band, two the medium, three the high. P03–P08 only corroborate: they are evaluated, and
reported, when P01 or P02 fired (P08 with P01). Risk is the sum of the weights, capped at
0.95. A rule has no null distribution: its false-flag rate on honest look-alikes (new laptops,
travellers, colleagues behind one address, strong examinees, experts who studied little)
is measured in :mod:`proctor.evaluation.exams`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from scipy import stats

from proctor.exams.forensics.config import ForensicConfig
from proctor.exams.forensics.data import AttemptRecord, StudyHistory
from proctor.exams.forensics.machines import SharedMachine

RISK_REASON = 0.3  # each of P01-P08: one reason is low, two medium, three high
RISK_CAP = 0.95
SPEED_SD_FLOOR = 0.15  # a person's speed varies about this much from exam to exam


@dataclass(frozen=True)
class ProxyResult:
    """Whether the rule fired, why, and what a reviewer needs to see."""

    flagged: bool
    risk: float
    reasons: list[dict[str, Any]] = field(default_factory=list)
    evidence: dict[str, Any] = field(default_factory=dict)


def score_jump_p(past: tuple[tuple[int, int], ...], correct: int, items: int) -> float | None:
    """P(X ≥ correct), X ~ Binomial(items, the learner's past rate); None without a past."""
    done = sum(n for _, n in past)
    if done <= 0 or items <= 0:
        return None
    rate = (sum(c for c, _ in past) + 1.0) / (done + 2.0)
    return float(stats.binom.sf(correct - 1, items, rate))


def speed_change_z(past: tuple[float, ...], speed: float | None) -> float | None:
    """(speed − mean of past speeds) / max(their SD, floor); None without both."""
    if speed is None or not past or not math.isfinite(speed):
        return None
    mean = sum(past) / len(past)
    sd = math.sqrt(sum((x - mean) ** 2 for x in past) / max(1, len(past) - 1))
    return (speed - mean) / max(sd, SPEED_SD_FLOOR)


def unstudied_below(cfg: ForensicConfig, history: StudyHistory | None) -> float:
    """Verified hours of the course under which the learner studied "almost nothing":
    ``proxy_min_hours``, or ``proxy_min_share`` of a course's lecture time when that is
    less (whoever studied a 45-minute course whole has 0.75 h, and did study it)."""
    if history is None or history.course_hours is None:
        return cfg.proxy_min_hours
    return min(cfg.proxy_min_hours, cfg.proxy_min_share * max(0.0, history.course_hours))


def _studied_text(hours: float, below: float, history: StudyHistory | None) -> str:
    course = history.course_hours if history is not None else None
    of_course = f"，课程讲授时长 {course * 60:.0f} 分钟" if course is not None else ""
    return (
        f"本人在本课程的核验学时仅 {hours * 60:.0f} 分钟（低于 {below * 60:.0f} 分钟{of_course}）"
    )


def _where(machine: SharedMachine) -> str:
    if machine.earlier_learners:
        return f"本场及此前考试（其中 {machine.earlier_learners} 名只见于此前考试）"
    return "本场考试"


def check_proxy(
    attempt: AttemptRecord,
    history: StudyHistory | None,
    score: float,
    cfg: ForensicConfig | None = None,
    *,
    items: int | None = None,
    speed: float | None = None,
    machine: SharedMachine | None = None,
) -> ProxyResult:
    """Apply P01–P08 to one attempt; ``score`` is its proportion correct (0..1).

    ``items`` is the number of items scored (for P03; without it P03 is not evaluated),
    ``speed`` the attempt's τ under the lognormal model (for P05), ``machine`` the group
    of learners who sat this exam on the attempt's machine (for P08).
    """
    cfg = cfg or ForensicConfig()
    reasons: list[dict[str, Any]] = []
    devices = sorted(history.devices) if history else []
    ips = sorted(history.ips) if history else []
    if history is None:
        hours = 0.0 if cfg.missing_history_is_zero_hours else None
    else:
        hours = history.verified_hours
    below = unstudied_below(cfg, history)
    has_context = bool(devices or ips)
    new_device = attempt.device not in devices
    new_ip = attempt.ip not in ips
    if has_context and new_device and new_ip:
        reasons.append(
            {
                "id": "P01",
                "text": f"考试所用设备（{attempt.device}）与网络地址（{attempt.ip}）均从未出现在本人的学习记录中"
                f"（本人学习时用过 {len(devices)} 台设备、{len(ips)} 个网络地址）；"
                "出差换用新电脑也会如此，单独出现时不作为中高风险",
                "value": 0,
                "threshold": 1,
            }
        )
    studied = "" if hours is None else _studied_text(hours, below, history)
    if hours is not None and hours < below and score >= cfg.proxy_high_score:
        reasons.append(
            {
                "id": "P02",
                "text": f"{studied}，考试正确率却达 {score:.0%}（不低于 {cfg.proxy_high_score:.0%}）；"
                "熟悉内容、未看视频直接考试也会如此，单独出现时不作为中高风险",
                "value": round(hours, 2),
                "threshold": round(below, 3),
            }
        )
    ids = {r["id"] for r in reasons}
    if ids == {"P01"} and hours is not None and hours < below:
        reasons.append(
            {
                "id": "P06",
                "text": f"{studied}，又在陌生设备和网络地址上考试",
                "value": round(hours, 2),
                "threshold": round(below, 3),
            }
        )
    if ids == {"P02"} and devices and new_device:
        reasons.append(
            {
                "id": "P07",
                "text": f"考试所用设备（{attempt.device}）从未出现在本人的学习记录中"
                f"（本人学习时用过 {len(devices)} 台设备），网络地址 {attempt.ip} 则在学习中用过："
                "可能有人在本人常用的网络上用另一台电脑作答，换用新电脑也会如此",
                "value": 0,
                "threshold": 1,
            }
        )
    if machine is not None and "P01" in ids:
        reasons.append(
            {
                "id": "P08",
                "text": f"{_where(machine)}共有 {machine.learners} 名考生（来自 {machine.units} 个单位）"
                f"在同一台设备或同一小型网络上作答（{machine.devices} 台设备、{machine.addresses} 个网络地址，"
                f"每个地址每场至多 {machine.address_devices} 台设备），这些设备和网络对他们每个人都是陌生的："
                "疑似同一人为多人代考；考点机房设备多，不在此列",
                "value": machine.learners,
                "threshold": cfg.proxy_machine_min_learners,
            }
        )
    jump_p = None
    speed_z = None
    if reasons and history is not None:
        past = history.past_scores
        if items:
            correct = round(score * items)
            jump_p = score_jump_p(past, correct, items)
            done = sum(n for _, n in past)
            rate = sum(c for c, _ in past) / done if done else None
            if (
                jump_p is not None
                and rate is not None
                and jump_p < cfg.proxy_jump_alpha
                and score - rate >= cfg.proxy_jump_min
            ):
                reasons.append(
                    {
                        "id": "P03",
                        "text": f"本次正确率 {score:.0%}，本人此前 {len(past)} 次考试合计正确率 {rate:.0%}，"
                        f"按本人以往水平达到本次成绩的概率约 {jump_p:.1e}（阈值 {cfg.proxy_jump_alpha:.0e}）",
                        "value": round(score - rate, 4),
                        "threshold": cfg.proxy_jump_min,
                    }
                )
        if history.study_flags > 0:
            reasons.append(
                {
                    "id": "P04",
                    "text": f"考试前数周学习检测对本人有 {history.study_flags} 条中高风险标记"
                    "（如共用设备或网络地址、疑似他人代学）",
                    "value": history.study_flags,
                    "threshold": 1,
                }
            )
        speed_z = speed_change_z(history.past_speeds, speed)
        if speed_z is not None and abs(speed_z) > cfg.proxy_speed_z:
            reasons.append(
                {
                    "id": "P05",
                    "text": f"本次作答速度与本人以往 {len(history.past_speeds)} 次考试明显不同"
                    f"（偏离 {speed_z:+.1f} 个标准差，阈值 ±{cfg.proxy_speed_z:g}）",
                    "value": round(speed_z, 2),
                    "threshold": cfg.proxy_speed_z,
                }
            )
    risk = round(min(RISK_CAP, RISK_REASON * len(reasons)), 4)
    evidence = {
        "devices_seen": devices,
        "ips_seen": ips,
        "device_used": attempt.device,
        "ip_used": attempt.ip,
        "device_seen_before": not new_device,
        "ip_seen_before": not new_ip,
        "verified_hours": None if hours is None else round(hours, 2),
        "unstudied_below_hours": round(below, 3),
        "course_hours": None if history is None else history.course_hours,
        "has_history": history is not None,
        "score": round(score, 4),
        "past_exams": len(history.past_scores) if history else 0,
        "score_jump_p": jump_p,
        "speed": None if speed is None else round(speed, 4),
        "speed_change_z": None if speed_z is None else round(speed_z, 2),
        "study_flags": history.study_flags if history else 0,
        "machine_learners": machine.learners if machine is not None else 0,
        # the other attempts the machine sat, for the reviewer to read together
        "machine_attempts": [a for a in machine.attempts if a != attempt.attempt_id]
        if machine is not None
        else [],
        "machine_earlier": [{"exam_id": e, "attempt_id": a} for e, a in machine.earlier_attempts]
        if machine is not None
        else [],
    }
    return ProxyResult(flagged=bool(reasons), risk=risk, reasons=reasons, evidence=evidence)
