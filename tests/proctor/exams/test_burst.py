"""The burst copying test: exact hypergeometric tail, calibration, a planted copier, evidence."""

from __future__ import annotations

import itertools
import json
from dataclasses import replace

import numpy as np
import pytest

from proctor.exams.forensics.analyse import analyse
from proctor.exams.forensics.burst import burst_after_submit, fisher_pair, subset_sum_tail
from proctor.exams.forensics.config import ForensicConfig
from proctor.exams.forensics.data import AttemptRecord, ItemInfo, build_matrix
from proctor.exams.forensics.omega import detect_copying
from proctor.simulate.exams import SimExam, simulate_exam

QUIET = {"proxies": 0, "preknowledge": 0, "rapid": 0}


def _record(
    aid: int, answers: dict[int, str], saved: dict[int, float], sub: float
) -> AttemptRecord:
    return AttemptRecord(aid, aid, answers, {}, sub, "ip", f"d{aid}", 1, saved)


def test_exact_tail_matches_enumeration_of_orders() -> None:
    # 7 items; the copier's save times fixed, his item order permuted within strata
    items = [ItemInfo(i, 4, "A") for i in range(7)]
    src_ans = {0: "A", 1: "A", 2: "B", 3: "C", 4: "A", 5: "D", 6: "B"}
    cop_ans = {0: "A", 1: "B", 2: "B", 3: "C", 4: "A", 5: "C", 6: "A"}
    times = [100.0, 200.0, 300.0, 1010.0, 1020.0, 1030.0, 5000.0]
    sub = 1000.0
    strata = [cop_ans[i] == "A" for i in range(7)]
    idx = {g: [i for i in range(7) if strata[i] == g] for g in (False, True)}
    counts = []
    for pf in itertools.permutations(idx[False]):
        for pt in itertools.permutations(idx[True]):
            # within a stratum, the stratum's save times go to its items in permuted order
            saved: dict[int, float] = {}
            for g, perm in ((False, pf), (True, pt)):
                slots = sorted(times[i] for i in idx[g])
                for item, t in zip(perm, slots, strict=True):
                    saved[item] = t
            inside = [i for i in range(7) if sub < saved[i] <= sub + 900]
            counts.append(sum(cop_ans[i] == src_ans[i] for i in inside))
    counts_arr = np.array(counts)
    src = _record(1, src_ans, {i: 50.0 * i for i in range(7)}, sub)
    saved0 = {i: times[i] for i in range(7)}
    cop = _record(2, cop_ans, saved0, 6000.0)
    m = build_matrix(items, [src, cop])
    subs = np.array([sub, 6000.0])
    st = burst_after_submit(m, subs, np.array([1]), np.array([0]), window_s=900.0, min_items=5)
    observed = sum(cop_ans[i] == src_ans[i] for i in range(7) if sub < times[i] <= sub + 900)
    assert st.available[0] and st.in_window[0] == 3 and st.burst[0] == observed
    assert st.p_value[0] == pytest.approx(float(np.mean(counts_arr >= observed)), abs=1e-12)
    assert st.expected[0] == pytest.approx(float(counts_arr.mean()), abs=1e-12)
    flat = replace(ForensicConfig(), timing_strata="none")
    st2 = burst_after_submit(
        m, subs, np.array([1]), np.array([0]), 900.0, 5, strata=flat.timing_strata
    )
    assert 0.0 < st2.p_value[0] <= 1.0


def test_subset_sum_tail_matches_enumeration() -> None:
    rng = np.random.default_rng(1)
    for _ in range(30):
        vals = [rng.integers(0, 4, int(rng.integers(1, 6))) for _ in range(2)]
        draws = [int(rng.integers(0, len(v) + 1)) for v in vals]
        sums = [
            [sum(c) for c in itertools.combinations(v.tolist(), n)]
            for v, n in zip(vals, draws, strict=True)
        ]
        tot = np.array([x + y for x in sums[0] for y in sums[1]])
        for obs in range(int(tot.max()) + 2):
            assert subset_sum_tail(vals, draws, obs) == pytest.approx(
                np.mean(tot >= obs), abs=1e-12
            )


def test_weighted_burst_null_is_calibrated_in_a_scheduled_sitting() -> None:
    ex = simulate_exam(4, examinees=160, rings=0, sitting_s=600.0, defer=0.4, **QUIET)
    m = build_matrix(ex.items, ex.attempts)
    res = detect_copying(m, ex.attempts, ForensicConfig(burst_statistic="weighted"))
    assert res.p_burst is not None and res.p_burst_answers is not None
    assert (res.p_burst < 1.0).sum() > 100
    for alpha in (0.05, 0.01, 0.001):
        assert (res.p_burst < alpha).mean() <= alpha
        assert (res.p_burst_answers < alpha).mean() <= alpha
    with pytest.raises(ValueError, match="burst_statistic"):
        detect_copying(m, ex.attempts, ForensicConfig(burst_statistic="nope"))


def test_fisher_pair_is_valid_on_independent_uniforms() -> None:
    rng = np.random.default_rng(0)
    u = rng.random((2, 200_000))
    f = fisher_pair(u[0], u[1])
    for alpha in (0.1, 0.01, 0.001):
        # exact: P(f < alpha) = alpha; allow 4 Monte Carlo standard errors
        assert abs((f < alpha).mean() - alpha) <= 4 * np.sqrt(alpha / len(f))
    assert fisher_pair(np.array([1e-4]), np.array([1.0]))[0] > 1e-4  # no free lunch


def _burst_pair_p(ex: SimExam, window_s: float = 900.0) -> tuple[np.ndarray, np.ndarray]:
    m = build_matrix(ex.items, ex.attempts)
    sub = np.array([a.submitted_at for a in ex.attempts])
    a, b = np.triu_indices(m.n_attempts, 1)
    ab = burst_after_submit(m, sub, a, b, window_s=window_s)
    ba = burst_after_submit(m, sub, b, a, window_s=window_s)
    tested = (ab.available & (ab.burst > 0)) | (ba.available & (ba.burst > 0))
    return np.minimum(1.0, 2 * np.minimum(ab.p_value, ba.p_value)), tested


@pytest.mark.parametrize("defer", [0.1, 0.4])
def test_burst_null_is_calibrated_on_honest_pairs_in_a_scheduled_sitting(defer: float) -> None:
    # everyone starts within 10 minutes and finishes close together; friends sit side by
    # side; defer=0.4 leaves many answers (mostly wrong ones) to be saved at the end
    ex = simulate_exam(4, examinees=200, rings=0, sitting_s=600.0, defer=defer, **QUIET)
    p, tested = _burst_pair_p(ex)
    assert tested.sum() > 5000  # pairs with matched saves after the partner submitted
    for alpha in (0.05, 0.01, 0.001):
        assert (p < alpha).mean() <= alpha


def test_burst_null_on_friends_who_sit_and_submit_together() -> None:
    # honest friends: same unit and address, starting within 2 minutes of each other
    ex = simulate_exam(5, examinees=240, rings=0, friends=80, sitting_s=300.0, **QUIET)
    p, tested = _burst_pair_p(ex)
    rows = [k for k, a in enumerate(ex.attempts) if ex.variants.get(a.attempt_id) == "friend"]
    n = len(ex.attempts)
    a, b = np.triu_indices(n, 1)
    q = {(int(x), int(y)): i for i, (x, y) in enumerate(zip(a, b, strict=True))}
    pairs = [q[(x, y)] for x, y in zip(rows[::2], rows[1::2], strict=True)]
    assert len(pairs) == 80
    fp = p[pairs]
    assert tested[pairs].sum() >= 40  # most friends finish within 15 minutes of each other
    assert (fp < 0.05).sum() <= 10  # 4 expected; binomial 99.9 % quantile about 11
    assert (fp < 1e-3).sum() == 0
    for alpha in (0.05, 0.01):
        assert (p < alpha).mean() <= alpha


def test_planted_burst_copier_is_found_by_the_burst_test() -> None:
    ex = simulate_exam(6, examinees=150, rings=6, copy_fractions=(0.5,), burst_share=1.0, **QUIET)
    m = build_matrix(ex.items, ex.attempts)
    res = detect_copying(m, ex.attempts, ForensicConfig())
    assert res.burst_used and res.p_burst is not None and res.p_timing is not None
    idx = {aid: k for k, aid in enumerate(m.attempt_ids)}
    lookup = {(int(x), int(y)): q for q, (x, y) in enumerate(res.pairs)}
    bursts = [(c, s) for c, s, _ in ex.copy_pairs if ex.copy_modes[c] == "burst"]
    assert len(bursts) >= 6
    qs = [lookup[tuple(sorted((idx[c], idx[s])))] for c, s in bursts]
    assert res.p_burst_answers is not None
    # the burst count alone is weak (matches are common); it always points the right way
    assert np.median(res.p_burst[qs]) < 0.05
    # combined with the answers (Fisher) it beats the answers alone on most burst copiers
    better = res.p_burst_answers[qs] < res.p_answers[qs]
    assert better.mean() >= 0.5
    assert max(res.p_timing[lookup[tuple(sorted((idx[c], idx[s])))]] for c, s in bursts) > 1e-3
    oriented = {(m.attempt_ids[f.copier], m.attempt_ids[f.source]) for f in res.findings}
    found = [f for f in res.findings if f.burst_answers_p is not None and f.burst_p is not None]
    found = [f for f in found if f.burst_p < 0.01]
    assert found
    for f in found:
        assert (m.attempt_ids[f.copier], m.attempt_ids[f.source]) in oriented
        assert f.burst is not None and f.expected_burst is not None
        assert f.burst > f.expected_burst


def test_records_without_saved_at_are_unchanged_by_the_burst_test() -> None:
    ex = simulate_exam(9, examinees=120, rings=3, copy_fractions=(0.6,), burst_share=1.0, **QUIET)
    bare = [replace(a, saved_at={}) for a in ex.attempts]
    m = build_matrix(ex.items, bare)
    on = detect_copying(m, bare, ForensicConfig())
    off = detect_copying(m, bare, ForensicConfig(copy_use_burst=False, copy_use_saved_at=False))
    assert not on.burst_used and on.p_answers is not None
    np.testing.assert_array_equal(on.p_values, on.p_answers)
    np.testing.assert_array_equal(on.p_values, off.p_values)
    assert all(f.burst_p is None for f in on.findings)
    # with save times but the burst test off: the two-test combination as before
    full = build_matrix(ex.items, ex.attempts)
    two = detect_copying(full, ex.attempts, ForensicConfig(copy_use_burst=False))
    assert not two.burst_used and two.p_answers is not None and two.p_timing is not None
    expect = np.minimum(1.0, 2 * np.minimum(two.p_answers, two.p_timing))
    timed = two.p_timing < 1.0
    np.testing.assert_allclose(two.p_values[timed], expect[timed])


def test_analyse_evidence_has_the_burst_keys() -> None:
    ex = simulate_exam(21, examinees=120, rings=4, copy_fractions=(0.5,), burst_share=1.0, **QUIET)
    report = analyse(ex.items, ex.attempts, ex.histories)
    json.dumps(report.to_dict(), ensure_ascii=False, allow_nan=False)
    assert report.copying["burst"]["used"] and report.copying["burst"]["window_s"] == 900.0
    assert report.copying["timing"]["combination"].startswith("4 ×")
    flags = report.flags_of("copying")
    assert flags
    keys = {
        "role",
        "partner_learner_id",
        "n_common",
        "matches",
        "expected_matches",
        "omega",
        "identical_wrong",
        "expected_identical_wrong",
        "timing_p",
        "aligned",
        "expected_aligned",
        "window_s",
        "burst_p",
        "burst_answers_p",
        "burst",
        "expected_burst",
        "burst_in_window",
        "burst_window_s",
        "source_submitted_at",
    }
    row_keys = {
        "copier_answer",
        "source_answer",
        "key",
        "match",
        "p_match",
        "lag_s",
        "in_window",
        "after_partner_submit",
    }
    with_burst = [f for f in flags if f.evidence["burst_p"] is not None]
    assert with_burst
    for f in with_burst:
        ev = f.evidence
        assert keys <= set(ev)
        assert row_keys <= set(ev["items"][0])
        c06 = next(r for r in f.reasons if r["id"] == "C06")
        assert "分钟内" in c06["text"] and c06["value"] == ev["burst"]
        if ev["role"] == "copier":
            rows = ev["items"]
            assert sum(r["match"] and r["after_partner_submit"] for r in rows) == ev["burst"]
