"""Evaluate exam forensics on fresh simulated exams against the issue's targets.

Several exams (200–400 examinees × 40 items) are simulated with ground truth and analysed
exactly as in production (:func:`analyse`). Reported:

* pair-level false-positive rate on honest pairs (every pair not inside one ring), at the
  configured threshold and at 1e-3 / 1e-4 / 1e-5 (tens of thousands of pairs per exam),
  on exams spread over days and on scheduled sittings (everyone starts within 10
  minutes: every pair sits concurrently, the hard case for the timing test's null);
* power to detect a copier who copied 20/30/40/50 % of the items (the planted pair's
  p-value below the threshold), separately for concurrent rings (the copier enters each
  answer shortly after the source) and adversarial burst rings (he waits until the source
  has submitted), with the answer-only and timing-only parts, on the default bank and on a
  harder one;
* recall for proxy test-takers, pre-knowledge and rapid guessing; the leaked items found;
* false flags per honest look-alike variant (friends, strong, slow, new device, travellers).
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

import numpy as np

from proctor.exams.forensics.analyse import analyse
from proctor.exams.forensics.config import ForensicConfig
from proctor.exams.forensics.data import build_matrix
from proctor.exams.forensics.omega import detect_copying
from proctor.simulate.exams import EXAM_ARCHETYPES, HONEST, SimExam, simulate_exam

COPY_FRACTIONS = (0.2, 0.3, 0.4, 0.5)
MODES = ("concurrent", "burst")
LEVELS = (1e-3, 1e-4, 1e-5)
TARGETS = {"pair_fpr_max": 0.001, "power_30_min": 0.8, "proxy_recall_min": 0.9}
SITTING_S = 600.0  # a scheduled sitting: everyone starts within 10 minutes

# planted pair -> (combined p, answers-only p, timing-only p, burst-only p,
# Fisher(answers, burst) p)
Planted = dict[tuple[str, float], list[tuple[float, float, float, float, float]]]


def _pairs(ex: SimExam, cfg: ForensicConfig) -> tuple[np.ndarray, np.ndarray, Planted, np.ndarray]:
    """Honest pairs' combined, timing and burst p-values; planted pairs' by mode and share."""
    m = build_matrix(ex.items, ex.attempts)
    res = detect_copying(m, ex.attempts, replace(cfg, copy_correction="none"))
    ring_of = {c: s for c, s, _ in ex.copy_pairs}
    group = np.array([ring_of.get(a, a) for a in m.attempt_ids])
    a, b = res.pairs[:, 0], res.pairs[:, 1]
    honest = group[a] != group[b]
    lookup = {(int(x), int(y)): q for q, (x, y) in enumerate(res.pairs)}
    idx = {aid: k for k, aid in enumerate(m.attempt_ids)}
    p_ans = res.p_answers if res.p_answers is not None else res.p_values
    p_time = res.p_timing if res.p_timing is not None else np.ones(len(res.p_values))
    p_burst = res.p_burst if res.p_burst is not None else np.ones(len(res.p_values))
    p_ba = res.p_burst_answers
    p_burst_ans = p_ba if p_ba is not None else np.ones(len(res.p_values))
    planted: Planted = {}
    for c, s, share in ex.copy_pairs:
        x, y = sorted((idx[c], idx[s]))
        q = lookup.get((x, y))
        row = (1.0, 1.0, 1.0, 1.0, 1.0)
        if q is not None:
            row = (
                float(res.p_values[q]),
                float(p_ans[q]),
                float(p_time[q]),
                float(p_burst[q]),
                float(p_burst_ans[q]),
            )
        planted.setdefault((ex.copy_modes.get(c, "concurrent"), share), []).append(row)
    burst = np.column_stack([p_burst[honest], p_burst_ans[honest]])
    return res.p_values[honest], p_time[honest], planted, burst


def _power(table: Planted, mode: str, level: float, which: int = 0) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for share in COPY_FRACTIONS:
        ps = [r[which] for r in table.get((mode, share), [])]
        out[f"{int(share * 100)}%"] = round(float(np.mean(np.array(ps) < level)), 3) if ps else None
    return out


def _merge(into: Planted, more: Planted) -> None:
    for key, rows in more.items():
        into.setdefault(key, []).extend(rows)


def evaluate_exams(
    seed: int,
    *,
    exams: int = 4,
    examinees: int = 300,
    n_items: int = 40,
    hard_exams: int = 2,
    sitting_exams: int = 2,
    burst_share: float = 0.5,
    config: ForensicConfig | None = None,
) -> dict[str, Any]:
    """Simulate ``exams`` fresh exams from ``seed``, analyse them, and score the results.

    ``exams`` spread their attempts over three days (as an open exam window); the
    ``sitting_exams`` are scheduled sittings where everyone starts within 10 minutes, the
    hard case for the timing test's null (every pair sits concurrently). Half the copiers
    (``burst_share``) are adversarial burst copiers; power is reported per variant.
    """
    cfg = config or ForensicConfig()
    started = time.perf_counter()
    honest_p: list[np.ndarray] = []
    honest_burst: list[np.ndarray] = []
    planted: Planted = {}
    recall: dict[str, list[int]] = {k: [0, 0] for k in ("proxy", "preknowledge", "rapid_guessing")}
    flags_by_label: dict[str, dict[str, int]] = {}
    variants: dict[str, dict[str, Any]] = {}
    leaked_found = leaked_true = leaked_false = 0
    rings = max(4, examinees // 10)
    for e in range(exams):
        ex = simulate_exam(
            seed * 1000 + e,
            examinees=examinees,
            n_items=n_items,
            rings=rings,
            copy_fractions=COPY_FRACTIONS,
            proxies=4,
            preknowledge=4,
            rapid=3,
            exam_id=e,
            burst_share=burst_share,
        )
        hp, _, pl, hb = _pairs(ex, cfg)
        honest_p.append(hp)
        honest_burst.append(hb)
        _merge(planted, pl)
        report = analyse(ex.items, ex.attempts, ex.histories, cfg)
        kinds_of: dict[int, set[str]] = {}
        bands_of: dict[int, set[str]] = {}
        for f in report.flags:
            kinds_of.setdefault(f.attempt_id, set()).add(f.kind)
            if f.band != "low":
                bands_of.setdefault(f.attempt_id, set()).add(f.kind)
        for aid, label in ex.labels.items():
            kinds = kinds_of.get(aid, set())
            if label in recall:
                recall[label][0] += int(label in kinds)
                recall[label][1] += 1
            row = flags_by_label.setdefault(label, {"n": 0})
            row["n"] += 1
            for k in kinds:
                row[k] = row.get(k, 0) + 1
            if label == HONEST:
                v = variants.setdefault(
                    ex.variants[aid], {"n": 0, "flagged": 0, "medium_or_high": 0}
                )
                v["n"] += 1
                v["flagged"] += int(bool(kinds))
                v["medium_or_high"] += int(bool(bands_of.get(aid)))
                for k in kinds:
                    v[k] = v.get(k, 0) + 1
        found = {d["item"] for d in report.preknowledge["compromised_items"]}
        leaked_found += len(found & ex.compromised)
        leaked_false += len(found - ex.compromised)
        leaked_true += len(ex.compromised)

    sitting_p: list[np.ndarray] = []
    sitting_time_p: list[np.ndarray] = []
    sitting_burst_p: list[np.ndarray] = []
    sitting: Planted = {}
    for e in range(sitting_exams):
        ex = simulate_exam(
            seed * 1000 + 300 + e,
            examinees=examinees,
            n_items=n_items,
            rings=rings,
            copy_fractions=COPY_FRACTIONS,
            exam_id=exams + hard_exams + e,
            burst_share=burst_share,
            sitting_s=SITTING_S,
        )
        hp, ht, pl, hb = _pairs(ex, cfg)
        sitting_p.append(hp)
        sitting_time_p.append(ht)
        sitting_burst_p.append(hb)
        _merge(sitting, pl)

    hard: Planted = {}
    for e in range(hard_exams):
        ex = simulate_exam(
            seed * 1000 + 500 + e,
            examinees=examinees,
            n_items=n_items,
            rings=rings,
            copy_fractions=COPY_FRACTIONS,
            difficulty=0.7,
            exam_id=exams + e,
            burst_share=burst_share,
        )
        _merge(hard, _pairs(ex, cfg)[2])

    hp_all = np.concatenate(honest_p) if honest_p else np.ones(0)
    sp_all = np.concatenate(sitting_p) if sitting_p else np.ones(0)
    st_all = np.concatenate(sitting_time_p) if sitting_time_p else np.ones(0)
    sb_all = np.concatenate(sitting_burst_p) if sitting_burst_p else np.ones((0, 2))
    hb_all = np.concatenate(honest_burst) if honest_burst else np.ones((0, 2))
    threshold = cfg.copy_alpha
    div = 3 if cfg.copy_use_saved_at and cfg.copy_use_burst else 2  # each test's share

    def rate(p: np.ndarray, level: float) -> float:
        return round(float(np.mean(p < level)), 6) if len(p) else 0.0

    fpr = rate(hp_all, threshold)
    fpr_sitting = rate(sp_all, threshold)
    power_default = _power(planted, "concurrent", threshold)
    proxy_recall = recall["proxy"][0] / max(1, recall["proxy"][1])
    counts = {
        mode: {f"{int(sh * 100)}%": len(planted.get((mode, sh), [])) for sh in COPY_FRACTIONS}
        for mode in MODES
    }
    return {
        "seed": seed,
        "exams": exams,
        "examinees": examinees,
        "items": n_items,
        "copy_threshold": threshold,
        "timing": {
            "used": cfg.copy_use_saved_at,
            "window_s": cfg.timing_window_s,
            "bound": cfg.timing_bound,
        },
        "burst": {
            "used": cfg.copy_use_saved_at and cfg.copy_use_burst,
            "window_s": cfg.burst_window_s,
            "strata": cfg.timing_strata,
        },
        "honest_pairs": len(hp_all),
        "pair_fpr": fpr,
        "pair_fpr_at": {f"{lv:g}": rate(hp_all, lv) for lv in LEVELS},
        "honest_pairs_flagged": int((hp_all < threshold).sum()),
        "copiers_per_share": counts,
        "power": power_default,
        "power_burst": _power(planted, "burst", threshold),
        "power_at": {f"{lv:g}": _power(planted, "concurrent", lv) for lv in LEVELS},
        "power_burst_at": {f"{lv:g}": _power(planted, "burst", lv) for lv in LEVELS},
        "power_answers_only": {
            mode: _power(planted, mode, threshold / div, which=1) for mode in MODES
        },
        "power_timing_only": {
            mode: _power(planted, mode, threshold / div, which=2) for mode in MODES
        },
        "power_burst_only": {
            mode: _power(planted, mode, threshold / div, which=3) for mode in MODES
        },
        "power_burst_answers": {
            mode: _power(planted, mode, threshold / div, which=4) for mode in MODES
        },
        "burst_fpr_at": {f"{lv:g}": rate(hb_all[:, 0], lv) for lv in (1e-2, *LEVELS)},
        "burst_answers_fpr_at": {f"{lv:g}": rate(hb_all[:, 1], lv) for lv in (1e-2, *LEVELS)},
        "burst_pairs_tested": int((hb_all[:, 0] < 1.0).sum()),
        "sitting": {
            "exams": sitting_exams,
            "start_within_s": SITTING_S,
            "honest_pairs": len(sp_all),
            "pair_fpr": fpr_sitting,
            "pair_fpr_at": {f"{lv:g}": rate(sp_all, lv) for lv in LEVELS},
            "timing_fpr_at": {f"{lv:g}": rate(st_all, lv) for lv in (1e-2, *LEVELS)},
            "timing_pairs_tested": int((st_all < 1.0).sum()),
            "burst_fpr_at": {f"{lv:g}": rate(sb_all[:, 0], lv) for lv in (1e-2, *LEVELS)},
            "burst_answers_fpr_at": {f"{lv:g}": rate(sb_all[:, 1], lv) for lv in (1e-2, *LEVELS)},
            "burst_pairs_tested": int((sb_all[:, 0] < 1.0).sum()),
            "power": _power(sitting, "concurrent", threshold),
            "power_burst": _power(sitting, "burst", threshold),
        },
        "power_hard_exam": _power(hard, "concurrent", threshold),
        "power_hard_exam_burst": _power(hard, "burst", threshold),
        "power_hard_exam_at_0.001": _power(hard, "concurrent", 1e-3),
        "recall": {k: round(v[0] / max(1, v[1]), 3) for k, v in recall.items()},
        "recall_n": {k: v[1] for k, v in recall.items()},
        "compromised_items": {
            "recall": round(leaked_found / max(1, leaked_true), 3),
            "false_items": leaked_false,
        },
        "flags_by_label": flags_by_label,
        "honest_variants": variants,
        "targets": {
            "pair_fpr": {
                "target": "≤ 0.001",
                "measured": fpr,
                "measured_sitting": fpr_sitting,
                "met": fpr <= 0.001 and fpr_sitting <= 0.001,
            },
            "power_30": {
                "target": "≥ 0.8 (concurrent rings)",
                "measured": power_default["30%"],
                "measured_burst": _power(planted, "burst", threshold)["30%"],
                "met": (power_default["30%"] or 0.0) >= 0.8,
            },
            "proxy_recall": {
                "target": "≥ 0.9",
                "measured": round(proxy_recall, 3),
                "met": proxy_recall >= 0.9,
            },
        },
        "archetypes": list(EXAM_ARCHETYPES),
        "seconds": round(time.perf_counter() - started, 1),
    }
