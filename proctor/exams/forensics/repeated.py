"""The same pair across repeated exams: one exam's weak evidence, again and again.

A copier who waits until the source has submitted and shuffles his entry order leaves,
in one exam, only a mild excess of matches among what he entered after the source left
(:mod:`.burst`). A ring sits the same course's exams over and over, though, and each
exam draws a fresh random item order for every attempt. The *order-based* tests – timing
alignment (:mod:`.timing`), the burst count (:mod:`.burst`) and the entry order
(:mod:`.order`) – are exact randomisation tests over those orders, so for one pair of
learners their p-values are independent from one exam to the next under the null, and
can be combined.

Per exam the pair's order-based p-value is ``min(1, 3 × min(p_timing, p_burst,
p_order))`` (each already corrected for the two directions). Only the pairs below
``tau`` need to be kept per exam: the **truncated product** W = Π_{p_i ≤ tau} p_i over
the K exams both sat has an exact law for independent uniforms (Zaykin et al. 2002),
which :func:`truncated_product_p` computes; p-values above tau (and pairs never stored)
simply contribute nothing, so storage stays small and the combined test stays exact.

The order-based nulls rest only on the server's random order, but a copier who shuffles
his entry order leaves them nothing. What ``analyse_exam`` keeps and combines (C09) is
therefore the window answers of pairs that sat together (:func:`window_evidence`,
:func:`repeated_p`): an answer test, whose null is a model of independent answers given
ability. Two colleagues who learned from the same teacher can share misconceptions in
every exam, and combining over exams would amplify that misfit; the unit floor of the
option model (``copy_group_prior``) is what keeps it in check, and the simulator's
colleagues who share beliefs are what it is measured against.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

DEFAULT_TAU = 0.05


def truncated_product_p(kept: Sequence[float], exams: int, tau: float = DEFAULT_TAU) -> float:
    """Exact P(W ≤ w) for W = Π_{i ≤ K : U_i ≤ tau} U_i (1 when none), U_i iid uniform.

    ``kept`` are the observed p-values at or below ``tau``; ``exams`` is K, the number of
    exams the pair sat together (the others were above tau).
    """
    if not 0 < tau <= 1:
        raise ValueError("tau must be in (0, 1]")
    ps = [p for p in kept if p <= tau]
    if len(ps) > exams:
        raise ValueError("more kept p-values than exams")
    if not ps:
        return 1.0
    w = math.prod(max(p, 1e-300) for p in ps)
    total = 0.0
    for k in range(1, exams + 1):
        weight = math.comb(exams, k) * (1 - tau) ** (exams - k)
        if w <= tau**k:
            # P(product of k uniforms on (0, tau] ≤ w) × tau^k
            x = k * math.log(tau) - math.log(w)
            total += weight * w * sum(x**s / math.factorial(s) for s in range(k))
        else:
            total += weight * tau**k
    return float(min(1.0, max(0.0, total)))


def order_based_p(
    p_timing: NDArray[np.float64], p_burst: NDArray[np.float64], p_order: NDArray[np.float64]
) -> NDArray[np.float64]:
    """One exam's order-based pair p-value: Bonferroni over the three randomisation tests."""
    out: NDArray[np.float64] = np.minimum(
        1.0, 3.0 * np.minimum(np.minimum(p_timing, p_burst), p_order)
    )
    return out


@dataclass(frozen=True)
class ExamPairs:
    """What one exam leaves for the combination: who sat it, and the pairs below tau."""

    learners: frozenset[int]
    kept: Mapping[tuple[int, int], float]  # (lower learner id, higher) -> order-based p ≤ tau


@dataclass(frozen=True)
class RepeatedPair:
    """A learner pair's combined evidence over the exams both sat."""

    learners: tuple[int, int]
    exams: int  # exams both sat
    kept: tuple[float, ...]  # their per-exam p-values at or below tau
    p_value: float


def keep_pairs(
    learner_ids: Sequence[int],
    pairs: NDArray[np.int64],
    p: NDArray[np.float64],
    tau: float = DEFAULT_TAU,
) -> ExamPairs:
    """The :class:`ExamPairs` of one exam from its tested pairs (row indices) and p-values."""
    kept: dict[tuple[int, int], float] = {}
    for q in np.nonzero(p <= tau)[0]:
        a, b = learner_ids[int(pairs[q, 0])], learner_ids[int(pairs[q, 1])]
        kept[(min(a, b), max(a, b))] = float(p[q])
    return ExamPairs(learners=frozenset(learner_ids), kept=kept)


def combine(
    exams: Iterable[ExamPairs], tau: float = DEFAULT_TAU, min_exams: int = 2
) -> list[RepeatedPair]:
    """Every pair kept in some exam, with its truncated-product p over the exams both sat.

    Pairs that sat fewer than ``min_exams`` exams together are left out (one exam is what
    the single-exam tests already judge). Sorted by p-value.
    """
    exams = list(exams)
    seen: dict[tuple[int, int], list[float]] = {}
    for ex in exams:
        for key, p in ex.kept.items():
            seen.setdefault(key, []).append(p)
    out = []
    for (a, b), ps in seen.items():
        k = sum(1 for ex in exams if a in ex.learners and b in ex.learners)
        if k < min_exams:
            continue
        out.append(RepeatedPair((a, b), k, tuple(ps), truncated_product_p(ps, k, tau)))
    out.sort(key=lambda r: r.p_value)
    return out


@dataclass(frozen=True)
class WindowEvidence:
    """One exam's kept window-answer evidence on a pair that sat together (learner ids)."""

    learners: tuple[int, int]  # (lower id, higher)
    copier: int  # who entered the answers after the other handed in
    p_value: float


def window_evidence(
    learner_ids: Sequence[int],
    pairs: NDArray[np.int64],
    p_together: NDArray[np.float64] | None,
    copier_rows: NDArray[np.int64] | None,
    tau: float = DEFAULT_TAU,
) -> list[WindowEvidence]:
    """The pairs of one exam that sat together with a window p-value at or below ``tau``.

    Only the window answers (C08's test) are kept: a copier who shuffles his entry order
    leaves the order-based tests nothing, and his window answers are the evidence that
    recurs. Their null rests on the answer model, which the unit floor of the option model
    (``copy_group_prior``) keeps from reading a unit's shared beliefs as copying; that is
    what makes combining them over exams defensible.
    """
    if p_together is None or copier_rows is None:
        return []
    out = []
    for q in np.nonzero(p_together <= tau)[0]:
        a, b = learner_ids[int(pairs[q, 0])], learner_ids[int(pairs[q, 1])]
        out.append(
            WindowEvidence(
                (min(a, b), max(a, b)), learner_ids[int(copier_rows[q])], float(p_together[q])
            )
        )
    return out


def repeated_p(
    kept: Sequence[float], exams_both: int, tau: float = DEFAULT_TAU, min_kept: int = 2
) -> float | None:
    """The truncated-product p over the exams both learners sat, or None when fewer than
    ``min_kept`` of them left evidence (one exam is what the single-exam tests judge).

    ``exams_both`` counts every exam both sat in the period, kept or not; counting exams
    where they did not sit together too only makes the p-value larger (conservative)."""
    ps = [p for p in kept if p <= tau]
    if len(ps) < min_kept:
        return None
    return truncated_product_p(ps, max(exams_both, len(ps)), tau)
