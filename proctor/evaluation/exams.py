"""Evaluate exam forensics on fresh simulated exams against the issue's targets.

Several exams (300 examinees × 40 items) are simulated with ground truth and analysed
exactly as in production (:func:`analyse`). Reported, per seed (:func:`evaluate_exams`)
and over several seeds with 95 % Wilson intervals (:func:`evaluate_exams_seeds`):

* pair-level false-positive rate on honest pairs (every pair not inside one ring), at the
  configured threshold and at 1e-3 / 1e-4 / 1e-5, on exams spread over days and on
  scheduled sittings (everyone starts within 10 minutes: every pair sits concurrently);
* power to detect a copier who copied 20/30/40/50 % of the items (the planted pair's
  p-value below the threshold) per adversary variant (``COPY_MODES``: concurrent copiers,
  and copiers who wait until the source submitted and then enter the answers in the
  source's order or shuffled, at once or at a reading pace), on spread exams, scheduled
  sittings and a harder bank;
* recall for proxy test-takers (three variants), pre-knowledge and rapid guessing; how
  ring copiers flagged for pre-knowledge are classified; the leaked items found;
* per honest group (regular, friends, colleagues of one unit behind one address who share
  a wrong belief on a tenth of the items, strong,
  fast strong, slow, new device, travellers): the share flagged at all and the share
  flagged at medium or high risk, with the kinds; precision at realistic base rates.
"""

from __future__ import annotations

import math
import time
from dataclasses import replace
from typing import Any

import numpy as np

from proctor.exams.forensics.analyse import ForensicReport, analyse_with_pairs
from proctor.exams.forensics.config import ForensicConfig
from proctor.exams.forensics.omega import CopyingResult
from proctor.exams.forensics.repeated import combine, keep_pairs, order_based_p
from proctor.simulate.exams import COPY_MODES, EXAM_ARCHETYPES, HONEST, SimExam, simulate_exam

COPY_FRACTIONS = (0.2, 0.3, 0.4, 0.5)
LEVELS = (1e-3, 1e-4, 1e-5)
TARGETS = {"pair_fpr_max": 0.001, "power_30_min": 0.8, "proxy_recall_min": 0.9}
SITTING_S = 600.0  # a scheduled sitting: everyone starts within 10 minutes
BASE_RATES = (0.01, 0.03)
Z95 = 1.959964

# planted pair -> (combined p, answers-only p, timing-only p, burst-only p,
# Fisher(answers, burst) p, Fisher(window answers, order) p)
Planted = dict[tuple[str, float], list[tuple[float, ...]]]


def wilson(k: int, n: int) -> tuple[float, float]:
    """95 % Wilson score interval of a proportion k / n ((0, 1) when n = 0)."""
    if n <= 0:
        return (0.0, 1.0)
    p = k / n
    den = 1 + Z95**2 / n
    mid = (p + Z95**2 / (2 * n)) / den
    half = Z95 * math.sqrt(p * (1 - p) / n + Z95**2 / (4 * n * n)) / den
    return (round(max(0.0, mid - half), 6), round(min(1.0, mid + half), 6))


def _pairs(ex: SimExam, res: CopyingResult) -> tuple[np.ndarray, np.ndarray, Planted, np.ndarray]:
    """Honest pairs' combined, timing and burst p-values; planted pairs' by mode and share."""
    ring_of = {c: s for c, s, _ in ex.copy_pairs}
    ids = [att.attempt_id for att in ex.attempts]
    group = np.array([ring_of.get(a, a) for a in ids])
    a, b = res.pairs[:, 0], res.pairs[:, 1]
    honest = group[a] != group[b]
    lookup = {(int(x), int(y)): q for q, (x, y) in enumerate(res.pairs)}
    idx = {aid: k for k, aid in enumerate(ids)}
    ones = np.ones(len(res.p_values))
    parts = [
        res.p_values,
        res.p_answers if res.p_answers is not None else res.p_values,
        res.p_timing if res.p_timing is not None else ones,
        res.p_burst if res.p_burst is not None else ones,
        res.p_burst_answers if res.p_burst_answers is not None else ones,
        res.p_window if res.p_window is not None else ones,
    ]
    planted: Planted = {}
    for c, s, share in ex.copy_pairs:
        x, y = sorted((idx[c], idx[s]))
        q = lookup.get((x, y))
        row = tuple(1.0 if q is None else float(p[q]) for p in parts)
        planted.setdefault((ex.copy_modes.get(c, "concurrent"), share), []).append(row)
    burst = np.column_stack([parts[3][honest], parts[4][honest], parts[5][honest]])
    return res.p_values[honest], parts[2][honest], planted, burst


def _power(table: Planted, mode: str, level: float, which: int = 0) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for share in COPY_FRACTIONS:
        ps = [r[which] for r in table.get((mode, share), [])]
        out[f"{int(share * 100)}%"] = round(float(np.mean(np.array(ps) < level)), 3) if ps else None
    return out


def _hits(table: Planted, mode: str, share: float, level: float) -> list[int]:
    """[detected, planted] for one variant and share."""
    ps = [r[0] for r in table.get((mode, share), [])]
    return [int(sum(p < level for p in ps)), len(ps)]


def _merge(into: Planted, more: Planted) -> None:
    for key, rows in more.items():
        into.setdefault(key, []).extend(rows)


# Colleagues who learned together believe the same wrong option on a tenth of the items.
MISCONCEPTIONS = 0.1
# Strong examinees who studied little of the course: exams are open to anyone (article 12),
# so "little study, high score" alone is what an honest expert shows too.
SELF_TAUGHT = 10
# Proxies for learners who studied, one at a time and hired (a machine serving three), and
# the honest look-alike of a hired proxy's machine: an exam centre of twelve on six PCs.
PROXY_VARIANTS = {"studied": "proxy_studied", "hired": "proxy_hired"}
HIRED = 1
CENTRES = 1


def _population(seed: int, e: int, examinees: int, n_items: int, **kw: Any) -> SimExam:
    rings = max(4, examinees // 10)
    return simulate_exam(
        seed,
        examinees=examinees,
        n_items=n_items,
        rings=rings,
        copy_fractions=COPY_FRACTIONS,
        exam_id=e,
        copy_modes=COPY_MODES,
        colleagues=3,
        colleague_size=6,
        misconceptions=MISCONCEPTIONS,
        fast_strong=10,
        proxies_studied=2,
        self_taught=SELF_TAUGHT,
        hired=HIRED,
        centres=CENTRES,
        past_exams=2,
        **kw,
    )


def _run(ex: SimExam, cfg: ForensicConfig) -> tuple[ForensicReport, CopyingResult]:
    report, res = analyse_with_pairs(
        ex.items, ex.attempts, ex.histories, replace(cfg, copy_correction="none")
    )
    if res is None:  # pragma: no cover - every simulated exam has hundreds of attempts
        raise RuntimeError("copying was not tested")
    return report, res


def evaluate_exams(
    seed: int,
    *,
    exams: int = 4,
    examinees: int = 300,
    n_items: int = 40,
    hard_exams: int = 2,
    sitting_exams: int = 2,
    config: ForensicConfig | None = None,
) -> dict[str, Any]:
    """Simulate fresh exams from ``seed``, analyse them, and score the results.

    ``exams`` spread their attempts over three days (an open exam window); the
    ``sitting_exams`` are scheduled sittings where everyone starts within 10 minutes (every
    pair sits concurrently, rings included), for FPR and power; ``hard_exams`` use a harder
    bank, for power. The copiers cycle through ``COPY_MODES`` within every copied share.
    """
    cfg = config or ForensicConfig()
    started = time.perf_counter()
    honest_p: list[np.ndarray] = []
    honest_burst: list[np.ndarray] = []
    planted: Planted = {}
    recall: dict[str, list[int]] = {
        k: [0, 0]
        for k in ("proxy", "preknowledge", "rapid_guessing", "proxy_studied", "proxy_hired")
    }
    flags_by_label: dict[str, dict[str, int]] = {}
    variants: dict[str, dict[str, Any]] = {}
    copiers = {"n": 0, "copying": 0, "preknowledge": 0, "preknowledge_as_copying": 0}
    prek_class = {"flagged": 0, "classified_preknowledge": 0}
    leaked_found = leaked_true = leaked_false = 0
    sitting_p: list[np.ndarray] = []
    sitting_time_p: list[np.ndarray] = []
    sitting_burst_p: list[np.ndarray] = []
    sitting: Planted = {}
    hard: Planted = {}
    review_30: dict[str, list[int]] = {}  # mode -> [found at medium or high, planted]
    runs: list[tuple[str, int, int, dict[str, Any]]] = [
        ("spread", e, seed * 1000 + e, {}) for e in range(exams)
    ]
    runs += [
        ("sitting", exams + hard_exams + e, seed * 1000 + 300 + e, {"sitting_s": SITTING_S})
        for e in range(sitting_exams)
    ]
    runs += [
        ("hard", exams + e, seed * 1000 + 500 + e, {"difficulty": 0.7}) for e in range(hard_exams)
    ]
    for kind, exam_id, rs, extra in runs:
        ex = _population(rs, exam_id, examinees, n_items, **extra)
        report, res = _run(ex, cfg)
        hp, ht, pl, hb = _pairs(ex, res)
        if kind == "hard":
            _merge(hard, pl)
            continue
        if kind == "sitting":
            sitting_p.append(hp)
            sitting_time_p.append(ht)
            sitting_burst_p.append(hb)
            _merge(sitting, pl)
        else:
            honest_p.append(hp)
            honest_burst.append(hb)
            _merge(planted, pl)
        # a planted 30 % copier found at a review band (medium or high) with his source
        review = {
            (f.attempt_id, f.evidence["partner_attempt_id"])
            for f in report.flags_of("copying")
            if f.evidence["role"] == "copier" and f.band != "low"
        }
        for c, s, share in ex.copy_pairs:
            if share == 0.3:
                tally = review_30.setdefault(ex.copy_modes.get(c, "concurrent"), [0, 0])
                tally[0] += int((c, s) in review)
                tally[1] += 1
        kinds_of: dict[int, set[str]] = {}
        bands_of: dict[int, set[str]] = {}
        for f in report.flags:
            kinds_of.setdefault(f.attempt_id, set()).add(f.kind)
            if f.band != "low":
                bands_of.setdefault(f.attempt_id, set()).add(f.kind)
            if f.kind == "preknowledge" and ex.labels[f.attempt_id] == "copier":
                copiers["preknowledge"] += 1
                copiers["preknowledge_as_copying"] += int(
                    f.evidence.get("classification") == "copying"
                )
            if f.kind == "preknowledge" and ex.labels[f.attempt_id] == "preknowledge":
                prek_class["flagged"] += 1
                prek_class["classified_preknowledge"] += int(
                    f.evidence.get("classification") == "preknowledge"
                )
        for aid, label in ex.labels.items():
            kinds = kinds_of.get(aid, set())
            key = PROXY_VARIANTS.get(ex.variants.get(aid, ""), label)
            if key in recall:
                # a proxy counts as found when flagged for review (medium or high)
                hit = "proxy" in bands_of.get(aid, set()) if label == "proxy" else label in kinds
                recall[key][0] += int(hit)
                recall[key][1] += 1
            if label == "copier":
                copiers["n"] += 1
                copiers["copying"] += int("copying" in kinds)
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

    hp_all = np.concatenate(honest_p) if honest_p else np.ones(0)
    sp_all = np.concatenate(sitting_p) if sitting_p else np.ones(0)
    st_all = np.concatenate(sitting_time_p) if sitting_time_p else np.ones(0)
    sb_all = np.concatenate(sitting_burst_p) if sitting_burst_p else np.ones((0, 3))
    hb_all = np.concatenate(honest_burst) if honest_burst else np.ones((0, 3))
    threshold = cfg.copy_alpha
    div = 2 + int(cfg.copy_use_burst) + int(cfg.copy_use_burst and cfg.copy_use_order)

    def rate(p: np.ndarray, level: float) -> float:
        return round(float(np.mean(p < level)), 6) if len(p) else 0.0

    fpr = rate(hp_all, threshold)
    fpr_sitting = rate(sp_all, threshold)
    power_default = _power(planted, "concurrent", threshold)
    proxy_recall = recall["proxy"][0] / max(1, recall["proxy"][1])
    counts = {
        mode: {f"{int(sh * 100)}%": len(planted.get((mode, sh), [])) for sh in COPY_FRACTIONS}
        for mode in COPY_MODES
    }
    per_mode = {
        mode: {
            "spread": _power(planted, mode, threshold),
            "sitting": _power(sitting, mode, threshold),
            "hard": _power(hard, mode, threshold),
            "hits_30": {
                "spread": _hits(planted, mode, 0.3, threshold),
                "sitting": _hits(sitting, mode, 0.3, threshold),
                "hard": _hits(hard, mode, 0.3, threshold),
            },
            "review_band_30": review_30.get(mode, [0, 0]),
        }
        for mode in COPY_MODES
    }
    fam = {
        name: {mode: _power(planted, mode, threshold / div, which=w) for mode in COPY_MODES}
        for name, w in (
            ("answers", 1),
            ("timing", 2),
            ("burst", 3),
            ("answers_burst", 4),
            ("window_order", 5),
        )
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
        "order": {"used": cfg.copy_use_saved_at and cfg.copy_use_burst and cfg.copy_use_order},
        "honest_pairs": len(hp_all),
        "pair_fpr": fpr,
        "pair_fpr_at": {f"{lv:g}": rate(hp_all, lv) for lv in LEVELS},
        "honest_pairs_flagged": int((hp_all < threshold).sum()),
        "copiers_per_share": counts,
        "power": power_default,
        "power_burst": _power(planted, "burst", threshold),
        "power_by_mode": per_mode,
        "power_at": {f"{lv:g}": _power(planted, "concurrent", lv) for lv in LEVELS},
        "power_burst_at": {f"{lv:g}": _power(planted, "burst", lv) for lv in LEVELS},
        "power_by_test": fam,
        "burst_fpr_at": {f"{lv:g}": rate(hb_all[:, 0], lv) for lv in (1e-2, *LEVELS)},
        "burst_answers_fpr_at": {f"{lv:g}": rate(hb_all[:, 1], lv) for lv in (1e-2, *LEVELS)},
        "window_order_fpr_at": {f"{lv:g}": rate(hb_all[:, 2], lv) for lv in (1e-2, *LEVELS)},
        "burst_pairs_tested": int((hb_all[:, 0] < 1.0).sum()),
        "sitting": {
            "exams": sitting_exams,
            "start_within_s": SITTING_S,
            "honest_pairs": len(sp_all),
            "honest_pairs_flagged": int((sp_all < threshold).sum()),
            "pair_fpr": fpr_sitting,
            "pair_fpr_at": {f"{lv:g}": rate(sp_all, lv) for lv in LEVELS},
            "timing_fpr_at": {f"{lv:g}": rate(st_all, lv) for lv in (1e-2, *LEVELS)},
            "timing_pairs_tested": int((st_all < 1.0).sum()),
            "burst_fpr_at": {f"{lv:g}": rate(sb_all[:, 0], lv) for lv in (1e-2, *LEVELS)},
            "burst_answers_fpr_at": {f"{lv:g}": rate(sb_all[:, 1], lv) for lv in (1e-2, *LEVELS)},
            "window_order_fpr_at": {f"{lv:g}": rate(sb_all[:, 2], lv) for lv in (1e-2, *LEVELS)},
            "burst_pairs_tested": int((sb_all[:, 0] < 1.0).sum()),
            "power": _power(sitting, "concurrent", threshold),
            "power_burst": _power(sitting, "burst", threshold),
        },
        "power_hard_exam": _power(hard, "concurrent", threshold),
        "power_hard_exam_burst": _power(hard, "burst", threshold),
        "power_hard_exam_at_0.001": _power(hard, "concurrent", 1e-3),
        "recall": {k: round(v[0] / max(1, v[1]), 3) for k, v in recall.items()},
        "recall_hits": recall,
        "recall_n": {k: v[1] for k, v in recall.items()},
        "copiers": copiers,
        "preknowledge_classification": prek_class,
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


def evaluate_repeated(
    seed: int,
    *,
    sittings: int = 3,
    examinees: int = 300,
    n_items: int = 40,
    config: ForensicConfig | None = None,
) -> dict[str, Any]:
    """One population sits ``sittings`` exams (fresh banks, orders and answers; the same
    learners and rings, each copier keeping his mode); each pair's evidence is combined
    over the exams by the truncated product (:mod:`proctor.exams.forensics.repeated`),
    over the order-based tests only, over the full pair p-value, and over the window answers
    of pairs that sat together (C09, as ``analyse_exam`` does). Returns the planted pairs
    found at the threshold per mode (30 % copied) and the honest pairs flagged, for each,
    and for the system as deployed (``system``: some exam's own flag, or C09)."""
    cfg = config or ForensicConfig()
    kept: dict[str, list[Any]] = {"order_based": [], "all_tests": [], "window": []}
    # the window answers of pairs that sat together are what analyse_exam keeps and combines
    # (C09) at their own level; the other two are the earlier studies, at copy_alpha
    level = {
        "order_based": cfg.copy_alpha,
        "all_tests": cfg.copy_alpha,
        "window": cfg.repeated_alpha,
    }
    ex: SimExam | None = None
    single: set[tuple[int, int]] = set()  # learner pairs some exam flagged on its own
    for k in range(sittings):
        ex = _population(seed, 0, examinees, n_items, sitting=k)
        _, res = _run(ex, cfg)
        lids = [a.learner_id for a in ex.attempts]
        for q in np.nonzero(res.p_values < cfg.copy_alpha)[0]:
            x, y = lids[int(res.pairs[q, 0])], lids[int(res.pairs[q, 1])]
            single.add((min(x, y), max(x, y)))
        ones = np.ones(len(res.p_values))
        order_p = order_based_p(
            res.p_timing if res.p_timing is not None else ones,
            res.p_burst if res.p_burst is not None else ones,
            res.p_order if res.p_order is not None else ones,
        )
        kept["order_based"].append(keep_pairs(lids, res.pairs, order_p))
        kept["all_tests"].append(keep_pairs(lids, res.pairs, res.p_values))
        together = res.p_together if res.p_together is not None else ones
        kept["window"].append(keep_pairs(lids, res.pairs, together, cfg.repeated_tau))
    if ex is None:
        raise ValueError("at least one sitting")
    lid = {a.attempt_id: a.learner_id for a in ex.attempts}
    source = {lid[c]: lid[s] for c, s, _ in ex.copy_pairs}
    group = {x: source.get(x, x) for x in lid.values()}
    sizes: dict[int, int] = {}
    for g in group.values():
        sizes[g] = sizes.get(g, 0) + 1
    n = len(lid)
    honest_pairs = n * (n - 1) // 2 - sum(z * (z - 1) // 2 for z in sizes.values())
    out: dict[str, Any] = {"seed": seed, "sittings": sittings, "honest_pairs": honest_pairs}
    for name, exams in kept.items():
        # as analyse_exam does for C09: at least two exams with evidence
        found = {
            r.learners: r.p_value for r in combine(exams) if name != "window" or len(r.kept) >= 2
        }
        flagged = sum(1 for (a, b), p in found.items() if group[a] != group[b] and p < level[name])
        hits: dict[str, list[int]] = {mode: [0, 0] for mode in COPY_MODES}
        for c, s, share in ex.copy_pairs:
            if share != 0.3:
                continue
            a, b = sorted((lid[c], lid[s]))
            row = hits[ex.copy_modes[c]]
            row[0] += int(found.get((a, b), 1.0) < level[name])
            row[1] += 1
        out[name] = {"honest_flagged": flagged, "hits_30": hits}
    # what the deployed system finds in a ring that copies exam after exam: a flag in some
    # exam on its own, or C09 over them (the window combination at its level)
    window = {r.learners: r.p_value for r in combine(kept["window"]) if len(r.kept) >= 2}
    system: dict[str, list[int]] = {mode: [0, 0] for mode in COPY_MODES}
    for c, s, share in ex.copy_pairs:
        if share != 0.3:
            continue
        key = (min(lid[c], lid[s]), max(lid[c], lid[s]))
        row = system[ex.copy_modes[c]]
        row[0] += int(key in single or window.get(key, 1.0) < cfg.repeated_alpha)
        row[1] += 1
    honest = {k for k in single if group[k[0]] != group[k[1]]}
    honest |= {
        k for k, p in window.items() if p < cfg.repeated_alpha and group[k[0]] != group[k[1]]
    }
    out["system"] = {"honest_flagged": len(honest), "hits_30": system}
    return out


def _interval(k: int, n: int) -> dict[str, Any]:
    lo, hi = wilson(k, n)
    return {"k": k, "n": n, "rate": round(k / n, 6) if n else None, "ci95": [lo, hi]}


def evaluate_exams_seeds(
    seeds: list[int],
    *,
    config: ForensicConfig | None = None,
    repeated: bool = False,
    **kw: Any,
) -> dict[str, Any]:
    """:func:`evaluate_exams` over several seeds, pooled with 95 % Wilson intervals.

    Per adversary variant: power at 30 % copied on spread exams and scheduled sittings
    (pooled, and per seed), and the same copiers counted only when their flag is at a
    review band (medium or high; ``review_band``). Per honest group: the share flagged at
    medium or high risk. Pair FPR pooled over every honest pair, with its interval.
    Precision of a medium-or-high flag at realistic base rates of misconduct (1 % and 3 %).
    """
    if len(seeds) < 1:
        raise ValueError("at least one seed")
    cfg = config or ForensicConfig()
    runs = [evaluate_exams(s, config=cfg, **kw) for s in seeds]
    power: dict[str, Any] = {}
    for mode in COPY_MODES:
        k = n = 0
        per_seed = []
        for r in runs:
            hits = r["power_by_mode"][mode]["hits_30"]
            hk = hits["spread"][0] + hits["sitting"][0]
            hn = hits["spread"][1] + hits["sitting"][1]
            k, n = k + hk, n + hn
            per_seed.append(round(hk / hn, 3) if hn else None)
        rk = sum(r["power_by_mode"][mode]["review_band_30"][0] for r in runs)
        rn = sum(r["power_by_mode"][mode]["review_band_30"][1] for r in runs)
        # the same copiers, counted only when their flag is at a review band
        power[mode] = {**_interval(k, n), "per_seed": per_seed, "review_band": _interval(rk, rn)}
    groups: dict[str, Any] = {}
    names = sorted({v for r in runs for v in r["honest_variants"]})
    for name in names:
        rows = [r["honest_variants"].get(name, {"n": 0, "medium_or_high": 0}) for r in runs]
        k = sum(int(x["medium_or_high"]) for x in rows)
        n = sum(int(x["n"]) for x in rows)
        flagged = sum(int(x.get("flagged", 0)) for x in rows)
        kinds = {
            kind: sum(int(x.get(kind, 0)) for x in rows)
            for kind in ("copying", "proxy", "preknowledge", "rapid_guessing")
        }
        groups[name] = {
            **_interval(k, n),
            "flagged_any": flagged,
            "kinds": kinds,
            "per_seed": [round(x["medium_or_high"] / x["n"], 3) if x["n"] else None for x in rows],
        }
    honest_pairs = sum(r["honest_pairs"] + r["sitting"]["honest_pairs"] for r in runs)
    flagged_pairs = sum(
        r["honest_pairs_flagged"] + r["sitting"]["honest_pairs_flagged"] for r in runs
    )
    recall = {}
    for key in ("proxy", "proxy_studied", "proxy_hired", "preknowledge", "rapid_guessing"):
        k = sum(r["recall_hits"][key][0] for r in runs)
        n = sum(r["recall_hits"][key][1] for r in runs)
        recall[key] = _interval(k, n)
    honest_n = sum(g["n"] for g in groups.values())
    honest_k = sum(g["k"] for g in groups.values())
    fpr_person = honest_k / max(1, honest_n)
    cheat_k = sum(v["k"] for v in recall.values())
    cheat_n = sum(v["n"] for v in recall.values())
    rec_person = cheat_k / max(1, cheat_n)
    precision = {
        f"{b:g}": round(rec_person * b / max(1e-12, rec_person * b + fpr_person * (1 - b)), 3)
        for b in BASE_RATES
    }
    pair_fpr = _interval(flagged_pairs, honest_pairs)
    rep_out: dict[str, Any] | None = None
    if repeated:
        reps = [evaluate_repeated(s, config=cfg) for s in seeds]
        rep_out = {"runs": reps}
        for name in ("order_based", "all_tests", "window", "system"):
            hp = sum(r["honest_pairs"] for r in reps)
            hf = sum(r[name]["honest_flagged"] for r in reps)
            rep_out[name] = {
                "pair_fpr": _interval(hf, hp),
                "power_30": {
                    mode: _interval(
                        sum(r[name]["hits_30"][mode][0] for r in reps),
                        sum(r[name]["hits_30"][mode][1] for r in reps),
                    )
                    for mode in COPY_MODES
                },
            }
    burst_modes = [m for m in COPY_MODES if m != "concurrent"]
    return {
        "seeds": seeds,
        "threshold": cfg.copy_alpha,
        "pair_fpr": pair_fpr,
        "pair_fpr_per_seed": [
            {"spread": r["pair_fpr"], "sitting": r["sitting"]["pair_fpr"]} for r in runs
        ],
        "power_30_by_variant": power,
        "honest_groups": groups,
        "recall": recall,
        "copiers": {
            k: sum(r["copiers"][k] for r in runs)
            for k in ("n", "copying", "preknowledge", "preknowledge_as_copying")
        },
        "preknowledge_classification": {
            k: sum(r["preknowledge_classification"][k] for r in runs)
            for k in ("flagged", "classified_preknowledge")
        },
        "precision_at_base_rate": {
            "flag": "medium or high, any kind (proxy, pre-knowledge, rapid guessing planted)",
            "recall": round(rec_person, 3),
            "honest_fpr": round(fpr_person, 5),
            **precision,
        },
        "targets": {
            "pair_fpr": {
                "target": "≤ 0.001",
                "measured": pair_fpr,
                "met": pair_fpr["ci95"][1] <= 1e-3,
            },
            "power_30_concurrent": {
                "target": "≥ 0.8",
                "measured": power["concurrent"]["rate"],
                "met": (power["concurrent"]["rate"] or 0.0) >= 0.8,
            },
            "power_30_burst": {
                "target": "≥ 0.8 for every burst variant",
                "measured": {m: power[m]["rate"] for m in burst_modes},
                "met": all((power[m]["rate"] or 0.0) >= 0.8 for m in burst_modes),
            },
            "honest_groups_fpr": {
                "target": "≤ 0.01 medium or high per group",
                "measured": {g: v["rate"] for g, v in groups.items()},
                "met": all((v["rate"] or 0.0) <= 0.01 for v in groups.values()),
            },
        },
        "repeated": rep_out,
        "runs": runs,
    }
