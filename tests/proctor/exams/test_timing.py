"""The timing-alignment copying test: exact randomisation tail, calibration, power, evidence."""

from __future__ import annotations

import itertools
import json
from dataclasses import replace

import numpy as np
import pytest

from proctor.exams.forensics.analyse import analyse
from proctor.exams.forensics.config import ForensicConfig
from proctor.exams.forensics.data import AttemptRecord, ItemInfo, build_matrix
from proctor.exams.forensics.omega import detect_copying
from proctor.exams.forensics.timing import permutation_tail, timing_alignment
from proctor.simulate.exams import SimExam, simulate_exam

QUIET = {"proxies": 0, "preknowledge": 0, "rapid": 0}


def _brute_tail(lo: np.ndarray, hi: np.ndarray, n: int, k: int) -> float:
    hits = [
        sum(int(lo[i] <= perm[i] <= hi[i]) for i in range(len(lo)))
        for perm in itertools.permutations(range(n))
    ]
    return float(np.mean(np.array(hits) >= k))


def test_permutation_tail_matches_enumeration() -> None:
    rng = np.random.default_rng(3)
    for _ in range(40):
        n = int(rng.integers(2, 7))
        rows = int(rng.integers(1, n + 1))
        lo = np.sort(rng.integers(0, n, rows))
        hi = np.minimum(np.maximum.accumulate(lo + rng.integers(0, 3, rows)), n - 1)
        for k in range(rows + 2):
            got = permutation_tail(lo, hi, n, k)
            assert got == pytest.approx(_brute_tail(lo, hi, n, k), abs=1e-12)


def _pair_p(ex: SimExam, cfg: ForensicConfig) -> tuple[np.ndarray, np.ndarray]:
    m = build_matrix(ex.items, ex.attempts)
    a, b = np.triu_indices(m.n_attempts, 1)
    ab = timing_alignment(m, a, b, cfg.timing_window_s, cfg.min_common_items, cfg.timing_bound)
    ba = timing_alignment(m, b, a, cfg.timing_window_s, cfg.min_common_items, cfg.timing_bound)
    tested = ab.available & ((ab.aligned > 0) | (ba.aligned > 0))
    return np.minimum(1.0, 2 * np.minimum(ab.p_value, ba.p_value)), tested


def test_timing_null_is_calibrated_on_honest_pairs_in_a_scheduled_sitting() -> None:
    # everyone starts within 10 minutes: every pair sits concurrently, hard items deferred
    ex = simulate_exam(4, examinees=200, rings=0, sitting_s=600.0, **QUIET)
    for bound in ("exact", "sequential", "independent"):
        p, tested = _pair_p(ex, replace(ForensicConfig(), timing_bound=bound))
        assert tested.sum() > 5000  # concurrent pairs with aligned items: the null is exercised
        for alpha in (0.05, 0.01, 0.001):
            assert (p < alpha).mean() <= alpha


def test_concurrent_copier_is_found_by_timing_when_answers_miss_it() -> None:
    ex = simulate_exam(6, examinees=150, rings=6, copy_fractions=(0.3,), burst_share=0.5, **QUIET)
    m = build_matrix(ex.items, ex.attempts)
    res = detect_copying(m, ex.attempts, ForensicConfig())
    assert res.timing_used and res.p_answers is not None and res.p_timing is not None
    idx = {aid: k for k, aid in enumerate(m.attempt_ids)}
    lookup = {(int(x), int(y)): q for q, (x, y) in enumerate(res.pairs)}
    rescued = 0
    for c, s, _ in ex.copy_pairs:
        q = lookup[tuple(sorted((idx[c], idx[s])))]
        if ex.copy_modes[c] == "concurrent":
            assert res.p_values[q] < 1e-4
            rescued += int(res.p_answers[q] >= 5e-5)
        else:  # the burst copier enters answers long after the source: no alignment
            assert res.p_timing[q] > 1e-3
    assert rescued >= 2  # concurrent copiers the answers alone would have missed
    oriented = {(m.attempt_ids[f.copier], m.attempt_ids[f.source]) for f in res.findings}
    for c, s, _ in ex.copy_pairs:
        if ex.copy_modes[c] == "concurrent":
            assert (c, s) in oriented


def _strip(ex: SimExam) -> list[AttemptRecord]:
    return [replace(a, saved_at={}) for a in ex.attempts]


def test_records_without_saved_at_behave_as_before() -> None:
    ex = simulate_exam(9, examinees=120, rings=3, copy_fractions=(0.6,), **QUIET)
    bare = _strip(ex)
    m = build_matrix(ex.items, bare)
    assert m.saved_at is not None and np.isnan(m.saved_at).all()
    res = detect_copying(m, bare, ForensicConfig())
    off = detect_copying(
        build_matrix(ex.items, ex.attempts),
        ex.attempts,
        ForensicConfig(copy_use_saved_at=False),
    )
    assert not res.timing_used and res.p_answers is not None
    np.testing.assert_array_equal(res.p_values, res.p_answers)
    np.testing.assert_array_equal(res.p_values, off.p_values)
    assert all(f.timing_p is None for f in res.findings)
    # the old positional constructor still works
    old = AttemptRecord(1, 1, {1: "A"}, {1: 3.0}, 0.0, "ip", "dev", 1)
    assert dict(old.saved_at) == {}


def test_partial_timestamps_count_only_timed_items() -> None:
    items = [ItemInfo(i, 4, "A") for i in range(1, 13)]
    t0 = 1_000.0
    ans = {i: "B" for i in range(1, 13)}
    src = AttemptRecord(1, 1, ans, {}, 0.0, "a", "d1", 1, {i: t0 + 60 * i for i in range(1, 13)})
    times = {i: t0 + 60 * i + 10 for i in range(1, 13) if i % 2}  # half the items timed
    cop = AttemptRecord(2, 2, ans, {}, 0.0, "a", "d2", 1, times)
    m = build_matrix(items, [src, cop])
    st = timing_alignment(m, np.array([1]), np.array([0]), window_s=30.0, min_items=5)
    assert st.available[0] and st.n_matched[0] == 6 and st.copier_times[0] == 6
    assert st.aligned[0] == 6
    # each window holds exactly one of the copier's 6 times: the exact tail is 1/6!
    assert st.p_value[0] == pytest.approx(1.0 / 720.0)
    short = timing_alignment(m, np.array([1]), np.array([0]), window_s=30.0, min_items=7)
    assert not short.available[0] and short.p_value[0] == 1.0


def test_analyse_evidence_has_the_timing_keys() -> None:
    ex = simulate_exam(21, examinees=120, rings=3, copy_fractions=(0.5,), **QUIET)
    report = analyse(ex.items, ex.attempts, ex.histories)
    json.dumps(report.to_dict(), ensure_ascii=False, allow_nan=False)
    assert report.copying["timing"]["used"] and report.copying["timing"]["window_s"] == 120.0
    flags = report.flags_of("copying")
    assert flags
    with_timing = [f for f in flags if f.evidence["timing_p"] is not None]
    assert with_timing
    for f in with_timing:
        ev = f.evidence
        assert {"timing_p", "aligned", "window_s", "p_answers", "expected_aligned"} <= set(ev)
        assert any(r["id"] == "C05" for r in f.reasons)
        c05 = next(r for r in f.reasons if r["id"] == "C05")
        assert "秒内" in c05["text"] and c05["value"] == ev["aligned"]
        rows = ev["items"]
        assert {"copier_saved_at", "source_saved_at", "lag_s", "in_window"} <= set(rows[0])
        if ev["role"] == "copier":
            assert sum(r["in_window"] for r in rows) == ev["aligned"]
