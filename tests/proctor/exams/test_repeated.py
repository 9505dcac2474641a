"""Combining one pair's order-based evidence over repeated exams (truncated product)."""

from __future__ import annotations

import numpy as np
import pytest

from proctor.exams.forensics.repeated import (
    ExamPairs,
    combine,
    keep_pairs,
    order_based_p,
    repeated_p,
    truncated_product_p,
    window_evidence,
)


@pytest.mark.parametrize(
    ("kept", "exams", "tau"),
    [([0.01], 1, 0.05), ([0.01, 0.02], 3, 0.05), ([0.001, 0.03, 0.04], 3, 0.05), ([0.2], 2, 1.0)],
)
def test_truncated_product_matches_monte_carlo(kept: list[float], exams: int, tau: float) -> None:
    rng = np.random.default_rng(0)
    u = rng.random((400_000, exams))
    w = np.where(u <= tau, u, 1.0).prod(1)
    hit = (u <= tau).any(1)
    observed = float(np.prod(kept))
    expect = float(np.mean(hit & (w <= observed)))
    assert truncated_product_p(kept, exams, tau) == pytest.approx(expect, rel=0.05, abs=2e-4)


@pytest.mark.parametrize(
    ("kept", "exams", "expect"),
    [([], 3, 1.0), ([0.05], 1, 0.05), ([1e-3], 1, 1e-3)],
)
def test_truncated_product_edges(kept: list[float], exams: int, expect: float) -> None:
    assert truncated_product_p(kept, exams) == pytest.approx(expect)


def test_truncated_product_refuses_bad_input() -> None:
    with pytest.raises(ValueError, match="more kept"):
        truncated_product_p([0.01, 0.01], 1)
    with pytest.raises(ValueError, match="tau"):
        truncated_product_p([0.01], 1, tau=0.0)


def test_uniform_p_values_stay_calibrated_over_exams() -> None:
    rng = np.random.default_rng(1)
    ps = np.array([truncated_product_p(list(rng.random(3)), 3) for _ in range(20_000)])
    for alpha in (0.05, 0.01, 0.001):
        assert (ps < alpha).mean() <= alpha * 1.2 + 5e-4


def test_combine_counts_only_exams_both_sat() -> None:
    learners = [10, 11, 12]
    pairs = np.array([[0, 1], [0, 2], [1, 2]])
    one = keep_pairs(learners, pairs, np.array([0.001, 0.5, 0.04]))
    two = keep_pairs(learners, pairs, np.array([0.002, 0.9, 1.0]))
    three = ExamPairs(frozenset({10, 12}), {})  # 11 did not sit the third exam
    out = {r.learners: r for r in combine([one, two, three])}
    assert set(out) == {(10, 11), (11, 12)}
    assert out[(10, 11)].exams == 2 and out[(10, 11)].kept == (0.001, 0.002)
    assert out[(10, 11)].p_value == pytest.approx(truncated_product_p([0.001, 0.002], 2))
    assert out[(11, 12)].p_value > out[(10, 11)].p_value
    # a pair seen in one exam only is the single-exam tests' business
    assert combine([one]) == []


def test_order_based_p_is_bonferroni_over_three_tests() -> None:
    got = order_based_p(np.array([0.1, 1.0]), np.array([0.01, 0.5]), np.array([1.0, 0.2]))
    np.testing.assert_allclose(got, [0.03, 0.6])


@pytest.mark.parametrize(
    ("kept", "exams_both", "expect"),
    [
        ([0.003], 3, None),  # one exam's evidence is what the single-exam tests judge
        ([0.003, 0.2], 3, None),  # above tau: not evidence
        ([0.003, 0.002], 2, truncated_product_p([0.003, 0.002], 2)),
        ([0.003, 0.002, 0.002], 3, truncated_product_p([0.003, 0.002, 0.002], 3)),
        # more exams sat (without evidence) only weaken the combination
        ([0.003, 0.002], 6, truncated_product_p([0.003, 0.002], 6)),
        ([0.003, 0.002], 1, truncated_product_p([0.003, 0.002], 2)),  # never fewer than kept
    ],
)
def test_repeated_p_over_the_exams_both_sat(
    kept: list[float], exams_both: int, expect: float | None
) -> None:
    got = repeated_p(kept, exams_both)
    assert got == expect
    if len(kept) == 2 and expect is not None and exams_both == 6:
        assert got > truncated_product_p(kept, 2)


def test_three_weak_exams_are_strong_evidence_and_uniform_ones_are_not() -> None:
    # a shuffled copier's window answers, exam after exam at p ≈ 2-4e-3
    assert (repeated_p([0.0036, 0.0020, 0.0021], 3) or 1.0) < 1e-4
    # honest pairs: uniform p-values over three exams, the level holds
    rng = np.random.default_rng(5)
    u = rng.random((200_000, 3))
    ps = [repeated_p([p for p in row if p <= 0.05], 3) for row in u]
    rate = np.mean([p is not None and p < 1e-3 for p in ps])
    assert rate <= 1.2e-3


def test_window_evidence_keeps_pairs_below_tau_with_who_entered_after() -> None:
    learners = [11, 12, 13, 14]
    pairs = np.array([[0, 1], [2, 3], [0, 3]])
    p = np.array([0.01, 0.2, 0.05])
    copier = np.array([1, 2, 0])
    kept = window_evidence(learners, pairs, p, copier)
    assert [(w.learners, w.copier, w.p_value) for w in kept] == [
        ((11, 12), 12, 0.01),
        ((11, 14), 11, 0.05),
    ]
    assert window_evidence(learners, pairs, None, None) == []
