"""One entry point: :func:`analyse` runs every exam forensic and returns reviewable flags.

Each :class:`ExamFlag` is evidence for a human reviewer, never a verdict: it carries the
statistic's p-value and the Type I error at the threshold that fired (where the method has
a null distribution), reasons in Simplified Chinese with their values and thresholds, and a
JSON-serialisable evidence object from which the review page can draw its table or chart.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

import numpy as np

from proctor.exams.forensics.config import ForensicConfig
from proctor.exams.forensics.data import (
    AttemptRecord,
    ExamMatrix,
    ItemInfo,
    StudyHistory,
    build_matrix,
)
from proctor.exams.forensics.machines import EarlierSitting, shared_machines
from proctor.exams.forensics.omega import CopyingResult, PairFinding, detect_copying
from proctor.exams.forensics.proxy import check_proxy
from proctor.exams.forensics.response_time import TimeFindings, analyse_times

__all__ = [
    "ExamFlag",
    "FlagKind",
    "ForensicConfig",
    "ForensicReport",
    "analyse",
    "repeated_flag",
    "risk_from_p",
    "with_repeated",
]

FlagKind = Literal["copying", "preknowledge", "rapid_guessing", "proxy", "repeated_copying"]
RAPID_GUESSING_RISK = 0.3  # disengagement: worth a look, not misconduct by itself
SOURCE_RISK_FACTOR = 0.8  # the source of a copied pair may not have known


@dataclass(frozen=True)
class ExamFlag:
    """A finding about one attempt, for human review."""

    attempt_id: int
    learner_id: int
    kind: FlagKind
    risk: float  # 0..1
    band: str  # "high" | "medium" | "low"
    p_value: float | None
    type1_error: float | None  # the false-flag probability at the threshold that fired
    reasons: list[dict[str, Any]]
    evidence: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-serialisable form."""
        return asdict(self)


@dataclass(frozen=True)
class ForensicReport:
    """Every flag of the exam, plus how the tests were run and their error rates."""

    n_attempts: int
    n_items: int
    flags: list[ExamFlag]
    copying: dict[str, Any]  # mode, pairs tested, threshold, type1_error, flagged pairs
    preknowledge: dict[str, Any]  # threshold, type1_error, compromised items
    rapid_guessing: dict[str, Any]
    proxy: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    # attempt id -> speed τ against this exam's cohort (the log-time model); empty when the
    # model did not run (fewer than three attempts)
    speeds: dict[int, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-serialisable form."""
        return asdict(self)

    def flags_of(self, kind: FlagKind) -> list[ExamFlag]:
        """The flags of one kind."""
        return [f for f in self.flags if f.kind == kind]


def risk_from_p(p: float, threshold: float) -> float:
    """0.5 at the threshold, rising by 0.25 per three decades below it, capped at 1."""
    if p >= threshold:
        return 0.0
    decades = math.log10(threshold / max(p, 1e-300))
    return round(min(1.0, 0.5 + decades / 12.0), 4)


def together_risk(p: float, threshold: float, level: float) -> float:
    """The risk of a pair flagged only at the wider level of pairs that sat together.

    The wider level decides that the pair is shown, not how strong its evidence is: read on
    the same scale as every copying flag (:func:`risk_from_p` against the threshold), a
    window p-value between the threshold and the pair's wider ``level`` is weaker
    evidence, so it stays in the low band (0.25 at the level, 0.49 at the threshold).
    """
    if p < threshold or level <= threshold:
        return risk_from_p(p, threshold)
    span = math.log10(level / threshold)
    share = math.log10(level / max(p, 1e-300)) / span
    return round(0.25 + 0.24 * max(0.0, min(1.0, share)), 4)


def _c03_text(f: PairFinding, res: CopyingResult, cfg: ForensicConfig) -> str:
    """C03: each test's p-value, their combination against the threshold, the error bound."""
    below = f"低于判定阈值 {res.threshold:.0e}"
    if f.timing_p is None:
        return f"加权一致性统计的精确 p 值为 {f.p_value:.1e}，{below}（诚实考生对被误判的概率不超过 {res.type1_error:.0e}）"
    tests = f"加权一致性检验 p = {_pa(f):.1e}、作答时间检验 p = {f.timing_p:.1e}"
    if f.burst_p is None:
        text = f"{tests}，两项合并（Bonferroni）后 p 值为 {f.p_value:.1e}，{below}"
    elif not res.order_used:
        text = (
            f"{tests}、交卷后集中填入检验 p = {f.burst_p:.1e}（与一致性检验合并 p = "
            f"{f.burst_answers_p or 1.0:.1e}），三项合并（Bonferroni）后 p 值为 {f.p_value:.1e}，{below}"
        )
    else:
        four = (
            f"{tests}、交卷后集中填入检验与一致性合并 p = {f.burst_answers_p or 1.0:.1e}、"
            f"对方交卷后所填答案及填入顺序检验 p = {f.window_p or 1.0:.1e}，四项合并（Bonferroni）后"
        )
        if f.together_only:
            bound = res.threshold * (1 + (f.together_level or 0.0) / cfg.copy_alpha)
            return (
                f"{four}未低于判定阈值 {res.threshold:.0e}；两人同场同地，按下方 C08 标记"
                f"（风险按该项证据本身的强弱评定）（同场同地的诚实考生对被误判的概率不超过 {bound:.0e}）"
            )
        text = f"{four} p 值为 {f.p_value:.1e}，{below}"
    return f"{text}（诚实考生对被误判的概率不超过 {res.type1_error:.0e}）"


@dataclass(frozen=True)
class EarlierExam:
    """One exam's kept window evidence on the pair, as the combination over exams reads it."""

    exam_id: int
    title: str
    p_value: float
    copier_is_self: bool  # this learner entered the answers after the partner handed in


def repeated_reason(
    exams: list[EarlierExam],
    exams_both: int,
    p_value: float,
    cfg: ForensicConfig,
    *,
    flagged_here: bool = False,
) -> dict[str, Any]:
    """C09 in Chinese: the exams with evidence, who entered after whom, the combination."""
    ps = "、".join(f"#{e.exam_id} p = {e.p_value:.1e}" for e in exams)
    mine = sum(e.copier_is_self for e in exams)
    here = "本场已单独达到判定阈值；" if flagged_here else "本场单独看未达到判定阈值；"
    return {
        "id": "C09",
        "text": f"与对方在 {exams_both} 场共同参加的考试中，有 {len(exams)} 场同场同地作答"
        f"（同一网络地址或同一单位），且一方交卷后另一方所填答案与之一致（{ps}；其中 {mine} 场"
        f"为本人在对方交卷后填入）。{here}按截断乘积合并（每场 p ≤ {cfg.repeated_tau:g} 才计入，"
        f"{exams_both} 场都计数）p = {p_value:.1e}，低于多场合并的判定水平 "
        f"{cfg.repeated_alpha:.0e}。请调阅各场答卷核对",
        "value": p_value,
        "threshold": cfg.repeated_alpha,
    }


def _exam_rows(exams: list[EarlierExam]) -> list[dict[str, Any]]:
    return [
        {
            "exam_id": e.exam_id,
            "title": e.title,
            "p_value": e.p_value,
            "copier_is_self": e.copier_is_self,
        }
        for e in exams
    ]


def repeated_flag(
    *,
    attempt_id: int,
    learner_id: int,
    partner_learner_id: int,
    exams: list[EarlierExam],
    exams_both: int,
    p_value: float,
    cfg: ForensicConfig,
) -> ExamFlag:
    """The flag of a pair whose window answers, weak in this exam, recur exam after exam.

    ``exams`` are the exams that kept evidence (this one included); ``exams_both`` every exam
    both sat in the period. Risk on the scale of every copying flag against its own level;
    reviewers read it with each exam's answer sheets, which is why the exams are listed.
    """
    risk = risk_from_p(p_value, cfg.repeated_alpha)
    return ExamFlag(
        attempt_id=attempt_id,
        learner_id=learner_id,
        kind="repeated_copying",
        risk=risk,
        band=cfg.band(risk),
        p_value=p_value,
        type1_error=cfg.repeated_alpha,
        reasons=[repeated_reason(exams, exams_both, p_value, cfg)],
        evidence={
            "partner_learner_id": partner_learner_id,
            "exams_both": exams_both,
            "exams": _exam_rows(exams),
            "tau": cfg.repeated_tau,
        },
    )


def with_repeated(
    flag: ExamFlag, exams: list[EarlierExam], exams_both: int, p_value: float, cfg: ForensicConfig
) -> ExamFlag:
    """This exam's copying flag of a pair that also recurs over exams: C09 joins its reasons,
    the exams its evidence, and its risk is at least what the combination alone would give
    (a flag shown only at the sat-together level is low band; recurring, it is not)."""
    risk = max(flag.risk, risk_from_p(p_value, cfg.repeated_alpha))
    return replace(
        flag,
        risk=risk,
        band=cfg.band(risk),
        reasons=[
            *flag.reasons,
            repeated_reason(exams, exams_both, p_value, cfg, flagged_here=True),
        ],
        evidence={
            **flag.evidence,
            "repeated": {"exams_both": exams_both, "exams": _exam_rows(exams), "p_value": p_value},
        },
    )


def _r(x: float, nd: int = 4) -> float:
    return round(float(x), nd)


def _pa(f: PairFinding) -> float:
    """The answer test's pair p-value (the pair p-value when no timing test ran)."""
    return f.p_answers if f.p_answers is not None else f.p_value


def analyse(
    items: Sequence[ItemInfo],
    attempts: Sequence[AttemptRecord],
    histories: Mapping[int, StudyHistory] | Sequence[StudyHistory],
    config: ForensicConfig | None = None,
) -> ForensicReport:
    """Run copying, response-time and proxy forensics on one exam's attempts."""
    return analyse_with_pairs(items, attempts, histories, config)[0]


def analyse_with_pairs(
    items: Sequence[ItemInfo],
    attempts: Sequence[AttemptRecord],
    histories: Mapping[int, StudyHistory] | Sequence[StudyHistory],
    config: ForensicConfig | None = None,
    earlier: Sequence[EarlierSitting] = (),
) -> tuple[ForensicReport, CopyingResult | None]:
    """:func:`analyse`, also returning every tested pair's p-values (for evaluation);
    ``earlier`` sittings on the machines of this exam's strangers link P08 across exams."""
    cfg = config or ForensicConfig()
    if not isinstance(histories, Mapping):
        histories = {h.learner_id: h for h in histories}
    notes: list[str] = []
    m = build_matrix(items, attempts)
    flags: list[ExamFlag] = []
    copy_section: dict[str, Any] = {"mode": "skipped", "pairs_tested": 0, "pairs": []}
    copying: CopyingResult | None = None
    if m.n_attempts >= 3 and m.n_items > 0:
        copying = detect_copying(m, attempts, cfg)
        flags += _copying_flags(m, attempts, copying, cfg)
        copy_section = _copy_section(m, copying, cfg)
        if copying.mode == "candidates":
            window = copying.candidate_reasons.get("close_window_s", cfg.submit_window_s)
            narrowed = (
                f"（考生太多，为控制计算量由 {cfg.submit_window_s:g} 秒收窄到 {window:g} 秒）"
                if window < cfg.submit_window_s
                else ""
            )
            notes.append(
                f"考生 {m.n_attempts} 人，超过全量两两比对上限 {cfg.all_pairs_max} 人："
                f"仅比对同一网络地址、同一单位、提交时间相差 {window:g} 秒以内{narrowed}的考生对，"
                "另加随机抽样"
            )
    else:
        notes.append("考生不足 3 人，未做抄袭检测")
    times = analyse_times(m, cfg) if m.n_attempts >= 3 else None
    if times is not None:
        flags += _time_flags(m, attempts, times, cfg)
    else:
        notes.append("考生不足 3 人，未做作答时间分析")
    score = np.nanmean(np.where(m.presented, m.correct, np.nan), axis=1)
    score = np.nan_to_num(score)
    n_scored = m.presented.sum(1)
    speeds = times.model.speed(m) if times is not None else None
    machines = shared_machines(
        attempts,
        histories,
        min_learners=cfg.proxy_machine_min_learners,
        max_devices=cfg.proxy_machine_max_devices,
        earlier=earlier,
    )
    for k, att in enumerate(attempts):
        res = check_proxy(
            att,
            histories.get(att.learner_id),
            float(score[k]),
            cfg,
            items=int(n_scored[k]),
            speed=None if speeds is None else float(speeds[k]),
            machine=machines.get(k),
        )
        if res.flagged:
            flags.append(
                ExamFlag(
                    attempt_id=att.attempt_id,
                    learner_id=att.learner_id,
                    kind="proxy",
                    risk=res.risk,
                    band=cfg.band(res.risk),
                    p_value=None,
                    type1_error=None,
                    reasons=res.reasons,
                    evidence=res.evidence,
                )
            )
    explained = _classify(flags, cfg)
    if explained:
        notes.append(
            f"{len(explained)} 名考生的“疑似事先知道答案”标记可由抄袭解释：其快速答对的题目"
            "多数与抄袭对象的答案相同，已归为抄袭"
        )
    flags.sort(key=lambda f: (-f.risk, f.attempt_id, f.kind))
    report = ForensicReport(
        n_attempts=m.n_attempts,
        n_items=m.n_items,
        flags=flags,
        copying=copy_section,
        preknowledge={
            "fast_z": cfg.fast_z,
            "alpha": cfg.preknowledge_alpha,
            "type1_error": cfg.preknowledge_alpha,
            "min_items": cfg.preknowledge_min_items,
            "compromised_items": times.compromised if times else [],
            "explained_by_copying": sorted(explained),
        },
        rapid_guessing={
            "threshold_rule": f"min({cfg.rapid_fraction:g} × item median time, {cfg.rapid_cap_s:g} s)",
            "min_items": cfg.rapid_min_items,
            "min_share": cfg.rapid_min_share,
            "chance_alpha": cfg.rapid_chance_alpha,
        },
        proxy={
            "min_hours": cfg.proxy_min_hours,
            "min_share_of_course": cfg.proxy_min_share,
            "high_score": cfg.proxy_high_score,
            "type1_error": None,
        },
        notes=notes,
        speeds={}
        if speeds is None
        else {
            att.attempt_id: round(float(speeds[k]), 4)
            for k, att in enumerate(attempts)
            if np.isfinite(speeds[k])
        },
    )
    return report, copying


def _classify(flags: list[ExamFlag], cfg: ForensicConfig) -> list[int]:
    """Tell copying from pre-knowledge where the evidence allows; in place.

    An answer-sharing ring's copiers answer the copied items fast and correctly, which is
    also what the pre-knowledge test looks for. When an attempt flagged for pre-knowledge
    is also the copier of a flagged pair, and at least half of its fast correct items carry
    the partner's answer, the copying explains them: the pre-knowledge flag says so (reason
    K04, ``classification`` "copying") and drops below the copying flag's risk. Every other
    flag's ``classification`` is its kind. Returns the attempts reclassified.
    """
    copier_of: dict[int, ExamFlag] = {}
    for f in flags:
        f.evidence["classification"] = f.kind
        if f.kind == "copying" and f.evidence.get("role") == "copier":
            copier_of[f.attempt_id] = f
    out: list[int] = []
    for i, f in enumerate(flags):
        cf = copier_of.get(f.attempt_id)
        if f.kind != "preknowledge" or cf is None:
            continue
        fast = {r["item"] for r in f.evidence.get("items", []) if r.get("fast_correct")}
        matched = {r["item"] for r in cf.evidence.get("items", []) if r.get("match")}
        share = len(fast & matched) / len(fast) if fast else 0.0
        if share < 0.5:
            continue
        partner = cf.evidence.get("partner_learner_id")
        risk = round(min(f.risk, max(0.0, cf.risk - 0.05)), 4)
        reason = {
            "id": "K04",
            "text": f"快速答对的 {len(fast)} 道题中 {len(fast & matched)} 道与考生（学员 {partner}）"
            "的答案相同，且已因抄袭被标记：更可能是抄袭而非事先知道题目",
            "value": round(share, 3),
            "threshold": 0.5,
        }
        evidence = {**f.evidence, "classification": "copying", "copying_partner": partner}
        flags[i] = replace(
            f,
            risk=risk,
            band=_band_of(cfg.band(risk), f.band, cf),
            reasons=[*f.reasons, reason],
            evidence=evidence,
        )
        cf.evidence["explains_preknowledge"] = True
        out.append(f.attempt_id)
    return out


def _band_of(new: str, old: str, copying: ExamFlag) -> str:
    """The band of a lowered risk: never above the old band or the copying flag's."""
    order = ("low", "medium", "high")
    return min(new, old, copying.band, key=order.index)


def _copy_section(m: ExamMatrix, res: CopyingResult, cfg: ForensicConfig) -> dict[str, Any]:
    tested = int((res.p_values < 1.0).sum()) if len(res.p_values) else 0
    return {
        "mode": res.mode,
        "pairs_tested": len(res.pairs),
        "pairs_with_evidence": tested,
        "candidate_reasons": res.candidate_reasons,
        "alpha": cfg.copy_alpha,
        "correction": cfg.copy_correction,
        "threshold": res.threshold,
        "type1_error": res.type1_error,
        "expected_false_pairs": _r(res.expected_false_pairs, 3),
        "pairs": [
            {
                "copier_attempt_id": m.attempt_ids[f.copier],
                "source_attempt_id": m.attempt_ids[f.source],
                "p_value": f.p_value,
                "omega": _r(f.omega, 3),
                "matches": f.matches,
                "n_common": f.n_common,
                "identical_wrong": f.identical_wrong,
                "p_answers": _pa(f),
                "timing_p": f.timing_p,
                "aligned": f.aligned,
                "burst_p": f.burst_p,
                "burst_answers_p": f.burst_answers_p,
                "burst": f.burst,
                "window_p": f.window_p,
                "concordant": f.concordant,
                "together_p": f.together_p,
            }
            for f in res.findings
        ],
        "timing": {
            "used": res.timing_used,
            "window_s": res.window_s,
            "bound": cfg.timing_bound if res.timing_used else None,
            "combination": (
                None
                if not res.timing_used
                else "4 × min(p_answers, p_timing, p_answers+burst, p_window+order)"
                if res.order_used
                else "3 × min(p_answers, p_timing, p_answers+burst)"
                if res.burst_used
                else "2 × min(p_answers, p_timing)"
            ),
        },
        "order": {
            "used": res.order_used,
            "window_s": cfg.order_window_s if res.order_used else None,
            "gamma": cfg.order_gamma if res.order_used else None,
        },
        "burst": {
            "used": res.burst_used,
            "window_s": res.burst_window_s,
            "strata": cfg.timing_strata if res.burst_used else None,
        },
        "together": {
            "used": res.together_alpha is not None,
            "alpha": res.together_alpha,
            "partners": cfg.together_partners,
            "pairs": res.together_pairs,
            "below_level": res.together_below,
        },
    }


def _copying_flags(
    m: ExamMatrix, attempts: Sequence[AttemptRecord], res: CopyingResult, cfg: ForensicConfig
) -> list[ExamFlag]:
    by_row: dict[int, list[tuple[PairFinding, str]]] = {}
    for f in res.findings:
        by_row.setdefault(f.copier, []).append((f, "copier"))
        by_row.setdefault(f.source, []).append((f, "source"))
    out: list[ExamFlag] = []
    model = res.model
    if model is None:
        return out
    for row, found in by_row.items():
        found.sort(key=lambda x: x[0].p_value)
        f, role = found[0]
        partner = f.source if role == "copier" else f.copier
        att, other = attempts[row], attempts[partner]
        risk = risk_from_p(f.p_value, res.threshold)
        if f.together_only and f.together_p is not None and f.together_level:
            risk = together_risk(f.together_p, res.threshold, f.together_level)
        if role == "source":
            risk = round(risk * SOURCE_RISK_FACTOR, 4)
        reasons = [
            {
                "id": "C01",
                "text": f"与考生（学员 {other.learner_id}）共同作答的 {f.n_common} 题中选项一致 {f.matches} 题，"
                f"按本人能力独立作答预期约 {f.expected:.1f} 题（ω = {f.omega:.2f}）",
                "value": f.matches,
                "threshold": _r(f.expected, 2),
            },
            {
                "id": "C02",
                "text": f"对方答错的 {f.wrong_common} 题中有 {f.identical_wrong} 题选了同一个错误选项，"
                f"独立作答预期约 {f.expected_wrong:.2f} 题",
                "value": f.identical_wrong,
                "threshold": _r(f.expected_wrong, 2),
            },
            {
                "id": "C03",
                "text": _c03_text(f, res, cfg),
                "value": f.p_value,
                "threshold": res.threshold,
            },
        ]
        if f.timing_p is not None and f.aligned is not None:
            who = (
                f"对方作答后 {f.window_s:g} 秒内本人填入相同答案"
                if role == "copier"
                else f"本人作答后 {f.window_s:g} 秒内对方填入相同答案"
            )
            reasons.append(
                {
                    "id": "C05",
                    "text": f"{who}的题目有 {f.aligned} 道，按随机作答顺序预期约 "
                    f"{f.expected_aligned or 0.0:.1f} 道（p = {f.timing_p:.1e}）",
                    "value": f.aligned,
                    "threshold": _r(f.expected_aligned or 0.0, 2),
                }
            )
        if f.burst_p is not None and f.burst is not None and f.burst_window_s is not None:
            minutes = f"{f.burst_window_s / 60:g}"
            who = (
                f"对方交卷后 {minutes} 分钟内本人集中填入与对方相同的答案"
                if role == "copier"
                else f"本人交卷后 {minutes} 分钟内对方集中填入与本人相同的答案"
            )
            reasons.append(
                {
                    "id": "C06",
                    "text": f"{who} {f.burst} 道（该时段共填入 {f.burst_in_window or 0} 道），"
                    f"按随机作答顺序预期约 {f.expected_burst or 0.0:.1f} 道（p = {f.burst_p:.1e}）",
                    "value": f.burst,
                    "threshold": _r(f.expected_burst or 0.0, 2),
                }
            )
        if f.window_p is not None and f.window_items is not None:
            who = "对方交卷后本人" if role == "copier" else "本人交卷后对方"
            reasons.append(
                {
                    "id": "C07",
                    "text": f"{who}填入 {f.window_items} 道题，其中 {f.window_matched or 0} 道与"
                    f"{'对方' if role == 'copier' else '本人'}答案相同（仅看这些题的一致性 p = "
                    f"{f.window_answers_p or 1.0:.1e}）；相同答案中同类题两两比较，填入顺序与"
                    f"{'对方' if role == 'copier' else '本人'}作答顺序一致的有 {f.concordant or 0} 对"
                    f"（共 {f.order_pairs or 0} 对，随机顺序预期约 {(f.order_pairs or 0) / 2:.1f} 对，"
                    f"p = {f.order_p or 1.0:.1e}）",
                    "value": f.concordant,
                    "threshold": _r((f.order_pairs or 0) / 2, 1),
                }
            )
        if f.together_p is not None and f.together_level and f.together_p < f.together_level:
            reasons.append(
                {
                    "id": "C08",
                    "text": f"两人在同一网络地址或同一单位同场作答；仅看"
                    f"{'对方交卷后本人' if role == 'copier' else '本人交卷后对方'}所填的 "
                    f"{f.window_items or 0} 道题，与{'对方' if role == 'copier' else '本人'}"
                    f"答案的一致性 p = {f.together_p:.1e}（两个方向合并），低于同场同地考生对适用的"
                    f"判定水平 {f.together_level:.1e}；本场同场同地的 {res.together_pairs} 对考生中"
                    f"共 {res.together_below} 对低于各自的水平",
                    "value": f.together_p,
                    "threshold": f.together_level,
                }
            )
        if role == "source":
            reasons.append(
                {
                    "id": "C04",
                    "text": "按作答方向判断本人更可能是被抄袭的一方（可能不知情），请结合其他证据审核",
                    "value": None,
                    "threshold": None,
                }
            )
        evidence = {
            "role": role,
            "partner_attempt_id": other.attempt_id,
            "partner_learner_id": other.learner_id,
            "copier_attempt_id": m.attempt_ids[f.copier],
            "source_attempt_id": m.attempt_ids[f.source],
            "n_common": f.n_common,
            "matches": f.matches,
            "expected_matches": _r(f.expected),
            "omega": _r(f.omega),
            "p_matches": f.p_count,
            "wrong_common": f.wrong_common,
            "identical_wrong": f.identical_wrong,
            "expected_identical_wrong": _r(f.expected_wrong),
            "p_identical_wrong": f.p_wrong,
            "weighted_matches": _r(f.weighted),
            "p_answers": _pa(f),
            "timing_p": f.timing_p,
            "aligned": f.aligned,
            "expected_aligned": None if f.expected_aligned is None else _r(f.expected_aligned),
            "timed_matches": f.timed_matches,
            "window_s": f.window_s,
            "burst_p": f.burst_p,
            "burst_answers_p": f.burst_answers_p,
            "burst": f.burst,
            "expected_burst": None if f.expected_burst is None else _r(f.expected_burst),
            "burst_in_window": f.burst_in_window,
            "burst_window_s": f.burst_window_s,
            "source_submitted_at": f.source_submitted_at,
            "window_p": f.window_p,
            "window_items": f.window_items,
            "window_matched": f.window_matched,
            "window_answers_p": f.window_answers_p,
            "order_p": f.order_p,
            "order_pairs": f.order_pairs,
            "concordant": f.concordant,
            "together_p": f.together_p,
            "together_only": f.together_only,
            "together_level": f.together_level,
            "p_value": f.p_value,
            "same_ip": att.ip == other.ip,
            "same_unit": att.unit_id == other.unit_id,
            "submitted_apart_s": _r(abs(att.submitted_at - other.submitted_at), 1),
            "other_partners": [
                {
                    "attempt_id": attempts[g.source if r == "copier" else g.copier].attempt_id,
                    "learner_id": attempts[g.source if r == "copier" else g.copier].learner_id,
                    "role": r,
                    "p_value": g.p_value,
                }
                for g, r in found[1:]
            ],
            "items": model.pair_table(
                f.copier,
                f.source,
                window_s=cfg.timing_window_s,
                burst_window_s=f.burst_window_s,
                source_submitted_at=f.source_submitted_at,
            ),
        }
        out.append(
            ExamFlag(
                attempt_id=att.attempt_id,
                learner_id=att.learner_id,
                kind="copying",
                risk=risk,
                band=cfg.band(risk),
                p_value=f.p_value,
                type1_error=res.type1_error,
                reasons=reasons,
                evidence=evidence,
            )
        )
    return out


def _time_rows(m: ExamMatrix, t: TimeFindings, k: int) -> list[dict[str, Any]]:
    rows = []
    for i in np.nonzero(m.presented[k])[0]:
        sec = m.seconds[k, i]
        rows.append(
            {
                "item": m.item_ids[i],
                "seconds": None if np.isnan(sec) else _r(sec, 1),
                "expected_seconds": _r(t.expected[k, i], 1),
                "z": None if np.isnan(t.z[k, i]) else _r(t.z[k, i], 2),
                "correct": bool(m.correct[k, i] == 1),
                "fast_correct": bool(t.fast_correct_mask[k, i]),
                "rapid": bool(t.rapid_mask[k, i]),
                "rapid_threshold_s": _r(t.rapid_threshold[i], 1),
            }
        )
    return rows


def _time_flags(
    m: ExamMatrix, attempts: Sequence[AttemptRecord], t: TimeFindings, cfg: ForensicConfig
) -> list[ExamFlag]:
    out: list[ExamFlag] = []
    for k, att in enumerate(attempts):
        if not (t.preknowledge[k] or t.rapid[k]):
            continue
        base = {
            "speed_tau": _r(float(t.model.speed(_row(m, k))[0])),
            "person_fit_lt": _r(t.lt[k], 2),
            "person_fit_df": int(t.lt_df[k]),
            "person_fit_p": float(t.lt_p[k]),
            "items": _time_rows(m, t, k),
        }
        if t.preknowledge[k]:
            p = float(t.preknowledge_p[k])
            risk = risk_from_p(p, cfg.preknowledge_alpha)
            expected = t.n_timed[k] * t.p_fast[k]
            leak = [m.item_ids[i] for i in t.leak_items[k]]
            leak_reason = (
                [
                    {
                        "id": "K05",
                        "text": f"其他疑似事先知道答案的考生普遍快速答对的 {len(leak)} 道题（疑似泄露题），"
                        f"本人在这些题上的用时明显短于在其余题上的用时（秩和检验 p = {t.leak_p[k]:.1e}），"
                        f"其中 {t.leak_fast_correct[k]} 道答对且快于本人应有用时",
                        "value": float(t.leak_p[k]),
                        "threshold": cfg.preknowledge_alpha / 2,
                    }
                ]
                if leak
                else []
            )
            out.append(
                ExamFlag(
                    attempt_id=att.attempt_id,
                    learner_id=att.learner_id,
                    kind="preknowledge",
                    risk=risk,
                    band=cfg.band(risk),
                    p_value=p,
                    type1_error=cfg.preknowledge_alpha,
                    reasons=[
                        {
                            "id": "K01",
                            "text": f"{t.fast_correct[k]} 道题答对且用时远短于本人应有用时"
                            f"（标准化残差低于 −{cfg.fast_z:g}），按模型仅应约 {expected:.1f} 题",
                            "value": int(t.fast_correct[k]),
                            "threshold": cfg.preknowledge_min_items,
                        },
                        {
                            "id": "K02",
                            "text": f"快答题数的二项检验 p = {t.count_p[k]:.1e}"
                            + (f"，疑似泄露题检验 p = {t.leak_p[k]:.1e}" if leak else "")
                            + f"；两项检验合并（取小者乘 2）p = {p:.1e}，低于阈值 "
                            f"{cfg.preknowledge_alpha:.0e}；疑似事先知道部分题目的答案",
                            "value": p,
                            "threshold": cfg.preknowledge_alpha,
                        },
                        *leak_reason,
                        {
                            "id": "K03",
                            "text": f"作答时间个人拟合统计量 L_T = {t.lt[k]:.1f}（自由度 {int(t.lt_df[k])}，"
                            f"p = {t.lt_p[k]:.1e}）",
                            "value": _r(t.lt[k], 2),
                            "threshold": None,
                        },
                    ],
                    evidence={
                        **base,
                        "fast_correct": int(t.fast_correct[k]),
                        "expected_fast": _r(expected),
                        "items_timed": int(t.n_timed[k]),
                        "count_p": float(t.count_p[k]),
                        "leak_p": float(t.leak_p[k]),
                        "leak_items": leak,
                        "leak_fast_correct": int(t.leak_fast_correct[k]),
                    },
                )
            )
        if t.rapid[k]:
            out.append(
                ExamFlag(
                    attempt_id=att.attempt_id,
                    learner_id=att.learner_id,
                    kind="rapid_guessing",
                    risk=RAPID_GUESSING_RISK,
                    band=cfg.band(RAPID_GUESSING_RISK),
                    p_value=float(t.rapid_p[k]),
                    type1_error=None,
                    reasons=[
                        {
                            "id": "G01",
                            "text": f"{t.n_rapid[k]} 道题（占 {t.n_rapid[k] / max(1, t.n_timed[k]):.0%}）"
                            f"用时低于快速作答阈值（题目中位用时的 {cfg.rapid_fraction:.0%}，最多 {cfg.rapid_cap_s:g} 秒）",
                            "value": int(t.n_rapid[k]),
                            "threshold": cfg.rapid_min_items,
                        },
                        {
                            "id": "G02",
                            "text": f"这些题答对 {t.rapid_correct[k]} 题，随机猜测预期约 {t.rapid_chance[k]:.1f} 题，"
                            "正确率与猜测相当：疑似未认真作答",
                            "value": int(t.rapid_correct[k]),
                            "threshold": _r(t.rapid_chance[k], 2),
                        },
                    ],
                    evidence={
                        **base,
                        "rapid": int(t.n_rapid[k]),
                        "rapid_correct": int(t.rapid_correct[k]),
                        "rapid_expected_correct": _r(t.rapid_chance[k]),
                        "p_rapid_count": float(t.rapid_p[k]),
                    },
                )
            )
    return out


def _row(m: ExamMatrix, k: int) -> ExamMatrix:
    return ExamMatrix(
        item_ids=m.item_ids,
        attempt_ids=(m.attempt_ids[k],),
        codes=m.codes[k : k + 1],
        key_codes=m.key_codes,
        n_codes=m.n_codes,
        labels=m.labels,
        correct=m.correct[k : k + 1],
        seconds=m.seconds[k : k + 1],
        presented=m.presented[k : k + 1],
        chance=m.chance,
    )
