"""Burst copying: did c enter s's answers right after s had submitted?

A copier who waits until the source has submitted and then enters the copied answers in
one go leaves no per-item alignment (:mod:`.timing`), but the copied answers all land in
a short stretch right after the source's submission (``AttemptRecord.submitted_at``, the
server's clock). For an ordered pair (copier c, source s), with T_s the source's
submission time and W the window (``burst_window_s``, 15 minutes by default):

    K = #{c's items i : c chose s's non-empty answer and T_s < t_c(i) ≤ T_s + W}.

**Null (randomisation, exact).** Conditioned on: both examinees' answers, s's submission
time, and the *set* of c's save times. Under independence c's working order is the
server's uniform random permutation, unrelated to s, so the items that occupy the n of
c's save times falling in the window are a uniform random n-subset of c's timed items.
K, the number of matched items among them, is then hypergeometric (N = c's timed items,
M = the matched ones, n draws): an exact law, no model of the copier needed.

**Strata** (``strata="correct"``, the default, as in :mod:`.timing`). Examinees leave the
items they find hard for the end, so c's late saves are enriched for his wrong answers.
The permutation is taken separately within c's correct items and within the others
(his answers are conditioned on), and K's law is the convolution of the two
hypergeometric laws. The null then needs the order to be random only within a stratum.

**Premise and limits.** The null treats c's items as exchangeable over his save times.
It is broken by a working order that follows the content in another way than through
his own correctness (for example, all true/false items last, when those are the items
two examinees tend to agree on), and, mildly, by item durations: the items that fit in a
window of fixed length lean towards the quicker ones. The evaluation measures it on
honest pairs spread over days and on scheduled sittings where everyone finishes within
minutes of each other, with deferral of hard items to the end. A pair with fewer than
``min_items`` commonly answered timed items, or with none of c's saves in the window, is
not tested (``available`` False, p = 1).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.special import gammaln

from proctor.exams.forensics.data import ExamMatrix
from proctor.exams.forensics.timing import STRATA

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]
_CHUNK = 4000
WEIGHTED_SCREEN = 0.1  # the weighted tail is computed where the count's p is below this


@dataclass(frozen=True)
class BurstStats:
    """Per ordered pair (copier → source), arrays of equal length."""

    copier: IntArray
    source: IntArray
    available: BoolArray  # enough common timed items and at least one save in the window
    in_window: IntArray  # n: c's timed items saved in (T_s, T_s + W]
    copier_times: IntArray  # N: c's timed items
    matched: IntArray  # M: c's timed items matching s's non-empty answer
    burst: IntArray  # K: matched items saved in the window
    expected: FloatArray  # E[K] under the null
    p_value: FloatArray  # exact P(K' ≥ K) under the null (1 where not available)


def burst_after_submit(
    m: ExamMatrix,
    submitted_at: FloatArray,
    copier: IntArray,
    source: IntArray,
    window_s: float = 900.0,
    min_items: int = 10,
    strata: str = "correct",
    weights: IntArray | None = None,
) -> BurstStats:
    """The burst test for ordered pairs (row indices into ``m``), vectorised in chunks.

    ``submitted_at`` holds every attempt's submission time (epoch seconds, server clock),
    in the rows' order. ``weights`` (pairs × items, non-negative integers, functions of the
    answers only) turn the count into S = Σ weights over the matched items in the window;
    its exact law under the same null is a subset-sum count (:func:`subset_sum_tail`),
    computed where the count's own p-value is below ``WEIGHTED_SCREEN`` (elsewhere p = 1:
    the screen only shrinks the rejection region). ``burst`` stays the count K.
    """
    if strata not in STRATA:
        raise ValueError(f"strata must be one of {STRATA}: {strata!r}")
    if window_s <= 0:
        raise ValueError("window_s must be positive")
    copier = np.asarray(copier, dtype=np.int64)
    source = np.asarray(source, dtype=np.int64)
    sub = np.asarray(submitted_at, dtype=float)
    parts = [
        _chunk(
            m,
            sub,
            copier[s : s + _CHUNK],
            source[s : s + _CHUNK],
            window_s,
            min_items,
            strata,
            None if weights is None else weights[s : s + _CHUNK],
        )
        for s in range(0, max(1, len(copier)), _CHUNK)
    ]
    fields = BurstStats.__dataclass_fields__
    return BurstStats(**{f: np.concatenate([getattr(p, f) for p in parts]) for f in fields})


def fisher_pair(p1: FloatArray, p2: FloatArray) -> FloatArray:
    """Fisher's combination of two p-values: P(U1·U2 ≤ q) = q(1 − ln q), q = p1·p2.

    Valid when p2 is (super-)uniform *given* whatever p1 depends on. The burst test
    conditions on both examinees' answers, so its p-value is valid given the answer test's.
    """
    q: FloatArray = np.clip(np.asarray(p1, dtype=float) * np.asarray(p2, dtype=float), 1e-300, 1.0)
    out: FloatArray = np.minimum(1.0, q * (1.0 - np.log(q)))
    return out


def _log_comb(n: FloatArray, k: FloatArray) -> FloatArray:
    ok = (k >= 0) & (k <= n)
    out = gammaln(n + 1) - gammaln(np.clip(k, 0, None) + 1) - gammaln(np.clip(n - k, 0, None) + 1)
    return np.where(ok, out, -np.inf)


def hypergeom_pmf(total: IntArray, good: IntArray, draws: IntArray, width: int) -> FloatArray:
    """Rows × (width + 1): P(k good among ``draws`` drawn without replacement from ``total``)."""
    k = np.arange(width + 1, dtype=float)[None, :]
    nn, mm, dd = (np.asarray(x, dtype=float)[:, None] for x in (total, good, draws))
    logp = _log_comb(mm, k) + _log_comb(nn - mm, dd - k) - _log_comb(nn, dd)
    with np.errstate(invalid="ignore"):
        return np.where(np.isfinite(logp), np.exp(logp), 0.0)


def _chunk(
    m: ExamMatrix,
    sub: FloatArray,
    copier: IntArray,
    source: IntArray,
    window_s: float,
    min_items: int,
    strata: str,
    weights: IntArray | None = None,
) -> BurstStats:
    rows = len(copier)
    if m.saved_at is None:
        t = np.full(m.codes.shape, np.nan)
    else:
        t = np.where(m.presented, m.saved_at, np.nan)
    tc = t[copier]
    timed_c = np.isfinite(tc)
    cc, cs = m.codes[copier], m.codes[source]
    common = timed_c & m.presented[source]
    t_s = sub[source][:, None]
    with np.errstate(invalid="ignore"):
        in_win = timed_c & (tc > t_s) & (tc <= t_s + window_s)
    match = timed_c & (cc == cs) & (cs > 0)
    n_in = in_win.sum(1).astype(np.int64)
    available = (common.sum(1) >= min_items) & (n_in > 0) & np.isfinite(sub[source])
    k = (match & in_win).sum(1).astype(np.int64)
    group = (cc == 1) if strata == "correct" else np.zeros_like(timed_c)
    width = int(n_in.max()) if rows else 0
    dist = np.zeros((rows, 2 * width + 1))
    dist[:, 0] = 1.0
    expected = np.zeros(rows)
    for g in (False, True):
        mine = timed_c & (group == g)
        total = mine.sum(1)
        good = (mine & match).sum(1)
        draws = (mine & in_win).sum(1)
        expected += np.where(total > 0, draws * good / np.maximum(total, 1), 0.0)
        pmf = hypergeom_pmf(total, good, draws, width)
        new = np.zeros_like(dist)
        for j in range(width + 1):
            new[:, j:] += dist[:, : dist.shape[1] - j] * pmf[:, j : j + 1]
        dist = new
    tail = np.cumsum(dist[:, ::-1], axis=1)[:, ::-1]
    p = tail[np.arange(rows), np.clip(k, 0, dist.shape[1] - 1)] if rows else np.ones(0)
    p = np.where(available & (k > 0), np.clip(p, 0.0, 1.0), 1.0)
    if weights is not None:
        count_p = p
        p = np.ones(rows)
        vals = np.where(match, np.asarray(weights, dtype=np.int64), 0)
        for r in np.nonzero(count_p < WEIGHTED_SCREEN)[0]:
            strata_vals, draws_g = [], []
            for g in (False, True):
                mine = timed_c[r] & (group[r] == g)
                strata_vals.append(vals[r][mine])
                draws_g.append(int((mine & in_win[r]).sum()))
            observed = int(vals[r][in_win[r]].sum())
            p[r] = subset_sum_tail(strata_vals, draws_g, observed)
    return BurstStats(
        copier=copier,
        source=source,
        available=available,
        in_window=n_in,
        copier_times=timed_c.sum(1).astype(np.int64),
        matched=match.sum(1).astype(np.int64),
        burst=k,
        expected=expected,
        p_value=p,
    )


def subset_sum_tail(values: list[IntArray], draws: list[int], observed: int) -> float:
    """Exact P(Σ_g sum of a uniform draws[g]-subset of values[g] ≥ observed).

    Counts the subsets of each size by their sum (a 0/1 knapsack in floats: the counts stay
    below C(40, 20) ≈ 1.4e11, exact in float64), normalises by C(N_g, n_g) and convolves
    over the strata.
    """
    dist = np.ones(1)
    for vals, n in zip(values, draws, strict=True):
        vals = np.asarray(vals, dtype=np.int64)
        bins = int(vals.sum()) + 1
        dp = np.zeros((n + 1, bins))
        dp[0, 0] = 1.0
        for v in vals:
            if n == 0:
                break
            new = dp.copy()
            if v == 0:
                new[1:, :] += dp[:-1, :]
            else:
                new[1:, v:] += dp[:-1, : bins - v]
            dp = new
        law = dp[n] / max(dp[n].sum(), 1.0)
        dist = np.convolve(dist, law)
    if observed <= 0:
        return 1.0
    if observed >= len(dist):
        return 0.0
    return float(np.clip(dist[observed:].sum(), 0.0, 1.0))


def item_after_submit(
    m: ExamMatrix, copier: int, source_submitted_at: float, window_s: float
) -> dict[int, bool]:
    """Per item (column index) drawn for the copier: saved within the window after T_s."""
    out: dict[int, bool] = {}
    if m.saved_at is None:
        return out
    for i in np.nonzero(m.presented[copier])[0]:
        x = float(m.saved_at[copier, i])
        out[int(i)] = bool(
            np.isfinite(x) and source_submitted_at < x <= source_submitted_at + window_s
        )
    return out
