"""evaluate_exams on a small fresh population: the targets it meets, and its shape."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from proctor.cli import main
from proctor.evaluation.exams import evaluate_exams, wilson
from proctor.simulate.exams import COPY_MODES


def test_evaluate_exams_small_seed_meets_fpr_and_proxy_targets() -> None:
    r = evaluate_exams(5, exams=1, examinees=240, hard_exams=0, sitting_exams=0)
    json.dumps(r, ensure_ascii=False, allow_nan=False)
    assert r["honest_pairs"] > 27000  # 240 × 239 / 2 minus the ring pairs
    assert r["targets"]["pair_fpr"]["met"] and r["pair_fpr"] <= 0.001
    assert r["targets"]["proxy_recall"]["met"] and r["recall"]["proxy"] >= 0.9
    assert r["recall"]["preknowledge"] >= 0.75
    assert r["recall"]["rapid_guessing"] >= 0.75
    # the null is exact: lower thresholds flag fewer honest pairs
    at = r["pair_fpr_at"]
    assert at["1e-05"] <= at["0.0001"] <= at["0.001"] <= 0.002
    assert set(r["power_by_mode"]) == set(COPY_MODES)
    assert set(r["power_by_test"]["window_order"]) == set(COPY_MODES)
    # concurrent rings: the timing test; ordered bursts: the window tests
    assert r["power"]["30%"] >= 0.8 and r["power"]["50%"] >= 0.8
    ordered = r["power_by_mode"]["burst_ordered"]["spread"]
    assert min(v for k, v in ordered.items() if k != "20%") >= 0.8
    groups = r["honest_variants"]
    assert {"friend", "strong", "slow", "regular", "colleague", "fast_strong"} <= set(groups)
    # travellers are flagged (new device and address) but stay below the review bands
    assert groups["traveller"]["proxy"] == groups["traveller"]["n"]
    assert groups["traveller"]["medium_or_high"] == 0
    assert groups["colleague"].get("proxy", 0) == 0
    # a hired proxy's machine that sat for three learners is found; an exam centre's room,
    # where learners of several units sit on PCs new to them, is not
    assert r["recall"]["proxy_hired"] == 1.0
    assert groups["centre"]["proxy"] == groups["centre"]["n"] == 12
    assert groups["centre"]["medium_or_high"] == 0
    # experts who skipped the videos: little study and a high score, flagged but not sent
    # to review without a second reason (a stranger's device or address, a score jump)
    assert groups["self_taught"]["proxy"] >= groups["self_taught"]["n"] // 2
    assert groups["self_taught"]["medium_or_high"] == 0
    assert "power_30" in r["targets"]
    # found at a review band: never more than found at all, every 30 % copier counted once
    for mode in COPY_MODES:
        row = r["power_by_mode"][mode]
        review, planted = row["review_band_30"]
        found = row["hits_30"]["spread"][0] + row["hits_30"]["sitting"][0]
        assert planted == row["hits_30"]["spread"][1] + row["hits_30"]["sitting"][1] > 0
        assert review <= found
    concurrent = r["power_by_mode"]["concurrent"]["review_band_30"]
    assert concurrent[0] >= 0.8 * concurrent[1]  # strong evidence is ranked as such


@pytest.mark.parametrize(
    ("k", "n", "lo", "hi"),
    [(0, 10, 0.0, 0.2775), (5, 10, 0.2366, 0.7634), (10, 10, 0.7225, 1.0), (0, 0, 0.0, 1.0)],
)
def test_wilson_interval(k: int, n: int, lo: float, hi: float) -> None:
    got = wilson(k, n)
    assert got[0] == pytest.approx(lo, abs=1e-4) and got[1] == pytest.approx(hi, abs=1e-4)


REPORT = Path(__file__).with_name("evaluation_7001.json")  # measured, seeds 7001-7003


def test_cli_prints_every_variant_and_group_with_intervals(monkeypatch: pytest.MonkeyPatch) -> None:
    report = json.loads(REPORT.read_text(encoding="utf-8"))
    report["repeated"] = {
        name: {
            "pair_fpr": {"k": 0, "n": 100, "rate": 0.0, "ci95": [0.0, 0.037]},
            "power_30": {
                m: {"k": 1, "n": 3, "rate": 0.333, "ci95": [0.06, 0.79]} for m in COPY_MODES
            },
        }
        for name in ("order_based", "all_tests", "window", "system")
    }
    for v in report["power_30_by_variant"].values():
        v["review_band"] = {"k": 1, "n": 4, "rate": 0.25, "ci95": [0.05, 0.7]}
    seen: list[list[int]] = []

    def fake(seeds: list[int], **kw: object) -> dict[str, object]:
        seen.append(seeds)
        assert kw["repeated"] is True
        return report

    monkeypatch.setattr("proctor.evaluation.exams.evaluate_exams_seeds", fake)
    out = CliRunner().invoke(main, ["evaluate", "--exams", "--seed", "7001", "--repeated"])
    assert out.exit_code == 0, out.output
    assert seen == [[7001, 7002, 7003]]
    for mode in COPY_MODES:
        assert mode in out.output
    for group in report["honest_groups"]:
        assert group in out.output
    assert "95% 区间" in out.output and "未达标" in out.output and "达标" in out.output
    assert "连考 3 场" in out.output and "C09" in out.output and "系统实际效果" in out.output
    assert out.output.count("其中中高风险 0.250（1/4") == len(COPY_MODES)


def test_cli_refuses_zero_runs() -> None:
    out = CliRunner().invoke(main, ["evaluate", "--exams", "--seed", "1", "--runs", "0"])
    assert out.exit_code != 0 and "--runs" in out.output
