"""Evaluate exam forensics on fresh simulated exams against the issue's targets.

Several exams (200–400 examinees × 40 items) are simulated with ground truth and analysed
exactly as in production (:func:`analyse`). Reported:

* pair-level false-positive rate on honest pairs (every pair not inside one ring), at the
  configured threshold and at 1e-3 / 1e-4 / 1e-5 (tens of thousands of pairs per exam);
* power to detect a copier who copied 20/30/40/50 % of the items (the planted pair's
  p-value below the threshold), on the default bank and on a harder one;
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
LEVELS = (1e-3, 1e-4, 1e-5)
TARGETS = {"pair_fpr_max": 0.001, "power_30_min": 0.8, "proxy_recall_min": 0.9}


def _pairs(
    ex: SimExam, cfg: ForensicConfig
) -> tuple[np.ndarray, np.ndarray, dict[float, list[float]]]:
    """p-values of honest pairs, and of planted (copier, source) pairs by share copied."""
    m = build_matrix(ex.items, ex.attempts)
    res = detect_copying(m, ex.attempts, replace(cfg, copy_correction="none"))
    ring_of = {c: s for c, s, _ in ex.copy_pairs}
    group = np.array([ring_of.get(a, a) for a in m.attempt_ids])
    a, b = res.pairs[:, 0], res.pairs[:, 1]
    honest = group[a] != group[b]
    lookup = {(int(x), int(y)): q for q, (x, y) in enumerate(res.pairs)}
    idx = {aid: k for k, aid in enumerate(m.attempt_ids)}
    planted: dict[float, list[float]] = {}
    for c, s, share in ex.copy_pairs:
        x, y = sorted((idx[c], idx[s]))
        q = lookup.get((x, y))
        planted.setdefault(share, []).append(float(res.p_values[q]) if q is not None else 1.0)
    return res.p_values[honest], res.p_values[~honest], planted


def evaluate_exams(
    seed: int,
    *,
    exams: int = 4,
    examinees: int = 300,
    n_items: int = 40,
    hard_exams: int = 2,
    config: ForensicConfig | None = None,
) -> dict[str, Any]:
    """Simulate ``exams`` fresh exams from ``seed``, analyse them, and score the results."""
    cfg = config or ForensicConfig()
    started = time.perf_counter()
    honest_p: list[np.ndarray] = []
    planted: dict[float, list[float]] = {f: [] for f in COPY_FRACTIONS}
    recall: dict[str, list[int]] = {k: [0, 0] for k in ("proxy", "preknowledge", "rapid_guessing")}
    flags_by_label: dict[str, dict[str, int]] = {}
    variants: dict[str, dict[str, Any]] = {}
    leaked_found = leaked_true = leaked_false = 0
    for e in range(exams):
        ex = simulate_exam(
            seed * 1000 + e,
            examinees=examinees,
            n_items=n_items,
            rings=max(4, examinees // 20),
            copy_fractions=COPY_FRACTIONS,
            proxies=4,
            preknowledge=4,
            rapid=3,
            exam_id=e,
        )
        hp, _, pl = _pairs(ex, cfg)
        honest_p.append(hp)
        for share, ps in pl.items():
            planted[share].extend(ps)
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

    hard: dict[float, list[float]] = {f: [] for f in COPY_FRACTIONS}
    for e in range(hard_exams):
        ex = simulate_exam(
            seed * 1000 + 500 + e,
            examinees=examinees,
            n_items=n_items,
            rings=max(4, examinees // 20),
            copy_fractions=COPY_FRACTIONS,
            difficulty=0.7,
            exam_id=exams + e,
        )
        for share, ps in _pairs(ex, cfg)[2].items():
            hard[share].extend(ps)

    hp_all = np.concatenate(honest_p) if honest_p else np.ones(0)
    threshold = cfg.copy_alpha

    def power(table: dict[float, list[float]], level: float) -> dict[str, Any]:
        return {
            f"{int(share * 100)}%": round(float(np.mean(np.array(ps) < level)), 3) if ps else None
            for share, ps in table.items()
        }

    fpr = float(np.mean(hp_all < threshold)) if len(hp_all) else 0.0
    power_default = power(planted, threshold)
    proxy_recall = recall["proxy"][0] / max(1, recall["proxy"][1])
    return {
        "seed": seed,
        "exams": exams,
        "examinees": examinees,
        "items": n_items,
        "copy_threshold": threshold,
        "honest_pairs": len(hp_all),
        "pair_fpr": round(fpr, 6),
        "pair_fpr_at": {f"{lv:g}": round(float(np.mean(hp_all < lv)), 6) for lv in LEVELS},
        "honest_pairs_flagged": int((hp_all < threshold).sum()),
        "copiers_per_share": {f"{int(s * 100)}%": len(ps) for s, ps in planted.items()},
        "power": power_default,
        "power_at": {f"{lv:g}": power(planted, lv) for lv in LEVELS},
        "power_hard_exam": power(hard, threshold),
        "power_hard_exam_at_0.001": power(hard, 1e-3),
        "recall": {k: round(v[0] / max(1, v[1]), 3) for k, v in recall.items()},
        "recall_n": {k: v[1] for k, v in recall.items()},
        "compromised_items": {
            "recall": round(leaked_found / max(1, leaked_true), 3),
            "false_items": leaked_false,
        },
        "flags_by_label": flags_by_label,
        "honest_variants": variants,
        "targets": {
            "pair_fpr": {"target": "≤ 0.001", "measured": round(fpr, 6), "met": fpr <= 0.001},
            "power_30": {
                "target": "≥ 0.8",
                "measured": power_default["30%"],
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
