"""Proxy test-taker (someone else sat the exam): a pure rule over the learner's own history.

* P01 – the attempt's device AND network address never appear in the learner's own study
  history (evaluated only when the learner has a history with devices or addresses);
* P02 – the learner studied almost nothing verified (below ``proxy_min_hours``) yet scored
  high (at least ``proxy_high_score`` of the items correct).

Either reason flags the attempt for human review; both together are high risk. A rule has
no null distribution: its false-flag rate on honest look-alikes (new laptops, travellers,
strong examinees) is measured in :mod:`proctor.evaluation.exams`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from proctor.exams.forensics.config import ForensicConfig
from proctor.exams.forensics.data import AttemptRecord, StudyHistory

RISK_NEW_CONTEXT = 0.55
RISK_UNSTUDIED_HIGH_SCORE = 0.6
RISK_BOTH = 0.9


@dataclass(frozen=True)
class ProxyResult:
    """Whether the rule fired, why, and what a reviewer needs to see."""

    flagged: bool
    risk: float
    reasons: list[dict[str, Any]] = field(default_factory=list)
    evidence: dict[str, Any] = field(default_factory=dict)


def check_proxy(
    attempt: AttemptRecord,
    history: StudyHistory | None,
    score: float,
    cfg: ForensicConfig | None = None,
) -> ProxyResult:
    """Apply P01 and P02 to one attempt; ``score`` is its proportion correct (0..1)."""
    cfg = cfg or ForensicConfig()
    reasons: list[dict[str, Any]] = []
    devices = sorted(history.devices) if history else []
    ips = sorted(history.ips) if history else []
    if history is None:
        hours = 0.0 if cfg.missing_history_is_zero_hours else None
    else:
        hours = history.verified_hours
    has_context = bool(devices or ips)
    new_device = attempt.device not in devices
    new_ip = attempt.ip not in ips
    if has_context and new_device and new_ip:
        reasons.append(
            {
                "id": "P01",
                "text": f"考试所用设备（{attempt.device}）与网络地址（{attempt.ip}）均从未出现在本人的学习记录中"
                f"（本人学习时用过 {len(devices)} 台设备、{len(ips)} 个网络地址）",
                "value": 0,
                "threshold": 1,
            }
        )
    if hours is not None and hours < cfg.proxy_min_hours and score >= cfg.proxy_high_score:
        reasons.append(
            {
                "id": "P02",
                "text": f"本人核验学时仅 {hours:.1f} 小时（低于 {cfg.proxy_min_hours:g} 小时），"
                f"考试正确率却达 {score:.0%}（不低于 {cfg.proxy_high_score:.0%}）",
                "value": round(hours, 2),
                "threshold": cfg.proxy_min_hours,
            }
        )
    ids = {r["id"] for r in reasons}
    if ids == {"P01", "P02"}:
        risk = RISK_BOTH
    elif ids == {"P01"}:
        risk = RISK_NEW_CONTEXT
    elif ids == {"P02"}:
        risk = RISK_UNSTUDIED_HIGH_SCORE
    else:
        risk = 0.0
    evidence = {
        "devices_seen": devices,
        "ips_seen": ips,
        "device_used": attempt.device,
        "ip_used": attempt.ip,
        "device_seen_before": not new_device,
        "ip_seen_before": not new_ip,
        "verified_hours": None if hours is None else round(hours, 2),
        "has_history": history is not None,
        "score": round(score, 4),
    }
    return ProxyResult(flagged=bool(reasons), risk=risk, reasons=reasons, evidence=evidence)
