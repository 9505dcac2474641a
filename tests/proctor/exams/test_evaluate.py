"""evaluate_exams on a small fresh population: the targets it meets, and its shape."""

from __future__ import annotations

import json

from proctor.evaluation.exams import evaluate_exams


def test_evaluate_exams_small_seed_meets_fpr_and_proxy_targets() -> None:
    r = evaluate_exams(5, exams=1, examinees=200, hard_exams=0, sitting_exams=0)
    json.dumps(r, ensure_ascii=False, allow_nan=False)
    assert r["honest_pairs"] > 19000  # 200 × 199 / 2 minus the ring pairs
    assert r["targets"]["pair_fpr"]["met"] and r["pair_fpr"] <= 0.001
    assert r["targets"]["proxy_recall"]["met"] and r["recall"]["proxy"] >= 0.9
    assert r["recall"]["preknowledge"] >= 0.75
    assert r["recall"]["rapid_guessing"] >= 0.75
    # the null is exact: lower thresholds flag fewer honest pairs
    at = r["pair_fpr_at"]
    assert at["1e-05"] <= at["0.0001"] <= at["0.001"] <= 0.002
    assert set(r["power"]) == set(r["power_burst"]) == {"20%", "30%", "40%", "50%"}
    # concurrent rings: the timing test finds copiers of 30 % and more
    assert r["power"]["30%"] >= 0.8 and r["power"]["50%"] >= 0.8
    assert r["timing"]["used"] and set(r["power_timing_only"]) == {"concurrent", "burst"}
    assert {"friend", "strong", "slow", "regular"} <= set(r["honest_variants"])
    assert "power_30" in r["targets"]
