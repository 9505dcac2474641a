"""Copying after the partner submitted: which answers, and in which order, came after T_s.

The burst test (:mod:`.burst`) asks how many *matches* fall right after the source's
submission, under the server's random item order; it cannot go far, because honest pairs
already match on most of the copier's correct items. This module asks two sharper
questions of the same stretch of the copier's saves, the *window*: the saves of c after
the source's submission T_s (up to ``window_s`` seconds after, unbounded by default),
tested only when c was sitting when s submitted (his first save came before T_s).

**1. The answers in the window (W_win).** The answer test's weighted match count
(:mod:`.omega`), restricted to the items c saved in the window, with the weights of the
alternative "an item in the window was copied with probability ``gamma``". As in the
answer test the *source's* answers are the random part (Q_i = P(s picks c's option |
θ_s)), and everything the weights depend on is conditioned on: c's answers, the set of
items c saved after T_s (c's save times and s's submission time). Under local
independence s's choice on an item says nothing about when c saved it or when s handed
in, so the exact null is again the generalised binomial law of Σ w_i X_i. A burst copier
puts his copied answers, and little else, in the window, so W_win is the answer test
without the dilution of the items he worked himself.

**2. The entry order (O).** Over the *matched* items in the window (c chose s's non-empty
answer), O = the number of pairs of items, within c's strata (his right answers; the
others), that c saved in the same order as s. Under the server's random item order, c's
order within a stratum is a uniform permutation given everything W_win depends on (the
answers and which items are in the window, not their order inside it), so O has the
Mahonian law of a uniform permutation's concordant pairs (one per stratum, convolved):
exact, and independent of W_win under the null. A copier who reads off the source's
sheet enters the answers in the source's order; twelve items in that order have
p = 1/12! ≈ 2e-9.

**Combination.** Per direction Fisher(p_W_win, p_O), which is exact because p_O is
uniform given everything p_W_win depends on. The pair takes the smaller direction × 2.

**Premise and what defeats it.** W_win rests on the answer model like the answer test.
O rests on c's order within a stratum being random, which a content-driven working order
breaks (everyone answering true/false items last, say). A copier who shuffles his entry
order defeats O and leaves W_win; one who spreads the copied answers among his own before
T_s leaves no window at all (the timing test or the answer test is what is left).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
from numpy.typing import NDArray

from proctor.exams.forensics.burst import fisher_pair
from proctor.exams.forensics.data import ExamMatrix

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]
_CHUNK = 3000
MAX_ORDER_ITEMS = 60  # a stratum larger than this is not order-tested (never on a real exam)


@dataclass(frozen=True)
class WindowStats:
    """Per ordered pair (copier → source), arrays of equal length."""

    copier: IntArray
    source: IntArray
    available: BoolArray  # c sat when s submitted and saved at least one answer after
    in_window: IntArray  # c's timed items saved in the window
    matched: IntArray  # of which matching s's non-empty answer
    weighted: FloatArray  # W_win
    p_answers: FloatArray  # exact p of W_win (1 where not available or screened out)
    order_pairs: IntArray  # same-stratum pairs of matched window items (both timed)
    concordant: IntArray  # O
    expected_concordant: FloatArray
    p_order: FloatArray  # exact p of O (1 where fewer than 2 items)
    p_value: FloatArray  # Fisher(p_answers, p_order) in this direction


@cache
def mahonian(n: int) -> FloatArray:
    """The law of the number of inversions (or concordant pairs) of a uniform permutation of n.

    The coefficients of Π_{k=1..n} (1 + q + … + q^{k−1}) / n!, computed as a product of
    uniform laws on {0, …, k−1}; symmetric, so it is also the law of the concordant pairs.
    """
    dist = np.ones(1)
    for k in range(1, n + 1):
        dist = np.convolve(dist, np.full(k, 1.0 / k))
    out: FloatArray = dist
    return out


def concordance_tail(sizes: tuple[int, ...], observed: int) -> float:
    """Exact P(Σ_g O_g ≥ observed), O_g the concordant pairs of independent uniform orders."""
    if observed <= 0:
        return 1.0
    dist = np.ones(1)
    for n in sizes:
        dist = np.convolve(dist, mahonian(n))
    if observed >= len(dist):
        return 0.0
    return float(np.clip(dist[observed:].sum(), 0.0, 1.0))


def window_tests(
    m: ExamMatrix,
    submitted_at: FloatArray,
    p_rev: FloatArray,
    copier: IntArray,
    source: IntArray,
    *,
    window_s: float | None = None,
    gamma: float = 0.5,
    weight_step: float = 0.1,
    screen_z: float = 1.28,
    strata: str = "correct",
) -> WindowStats:
    """Both tests for ordered pairs (row indices into ``m``).

    ``p_rev`` (pairs × items) is P(source picks the copier's option | θ_s) on the items
    both answered (0 elsewhere): the answer model's match probabilities from the source's
    side, as :meth:`AnswerCopyingIndex.match_probabilities` (source, copier) returns them.
    """
    from proctor.exams.forensics.omega import weighted_sf

    if window_s is not None and window_s <= 0:
        raise ValueError("window_s must be positive")
    if not 0 < gamma < 1:
        raise ValueError("gamma must be in (0, 1)")
    copier = np.asarray(copier, dtype=np.int64)
    source = np.asarray(source, dtype=np.int64)
    rows = len(copier)
    t = np.full(m.codes.shape, np.nan) if m.saved_at is None else m.saved_at
    t = np.where(m.presented, t, np.nan)
    tc, ts = t[copier], t[source]
    timed_c = np.isfinite(tc)
    sub = np.asarray(submitted_at, dtype=float)[source][:, None]
    first = np.min(np.where(timed_c, tc, np.inf), axis=1)
    end = sub + (np.inf if window_s is None else window_s)
    with np.errstate(invalid="ignore"):
        in_win = timed_c & (tc > sub) & (tc <= end)
    cc, cs = m.codes[copier], m.codes[source]
    common = p_rev > 0
    win = in_win & common
    match = win & (cc == cs) & (cs > 0)
    available = np.isfinite(sub[:, 0]) & (first < sub[:, 0]) & win.any(1)
    # W_win: the answer test's weights for "a window item was copied with probability gamma"
    q = np.maximum(p_rev, 0.01)
    w = np.log((gamma + (1 - gamma) * q) / ((1 - gamma) * q))
    units = np.where(win & available[:, None], np.rint(w / weight_step).astype(np.int64), 0)
    observed = (units * match).sum(1)
    mean_w = (units * p_rev).sum(1)
    sd_w = np.sqrt(np.maximum((units**2 * p_rev * (1 - p_rev)).sum(1), 1e-12))
    p_ans = np.ones(rows)
    screened = np.nonzero(available & ((observed - mean_w) / sd_w > screen_z))[0]
    for s in range(0, len(screened), 2000):
        r = screened[s : s + 2000]
        p_ans[r] = weighted_sf(np.where(units[r] > 0, p_rev[r], 0.0), units[r], observed[r])
    # O: concordant same-stratum pairs of matched window items against s's save order
    group = (cc == 1) if strata == "correct" else np.zeros_like(timed_c)
    ordered = match & np.isfinite(ts)
    conc = np.zeros(rows, dtype=np.int64)
    n_pairs = np.zeros(rows, dtype=np.int64)
    sizes = np.zeros((rows, 2), dtype=np.int64)
    for s in range(0, rows, _CHUNK):
        sl = slice(s, s + _CHUNK)
        o = ordered[sl]
        width = int(o.sum(1).max()) if o.size else 0
        if width < 2:
            continue
        idx = np.argsort(~o, axis=1, kind="stable")[:, :width]
        live = np.take_along_axis(o, idx, axis=1)
        a = np.take_along_axis(tc[sl], idx, axis=1)
        b = np.take_along_axis(ts[sl], idx, axis=1)
        g = np.take_along_axis(group[sl], idx, axis=1)
        same = live[:, :, None] & live[:, None, :] & (g[:, :, None] == g[:, None, :])
        upper = np.triu(np.ones((width, width), dtype=bool), k=1)[None]
        pairs = same & upper
        with np.errstate(invalid="ignore"):
            agree = (a[:, :, None] - a[:, None, :]) * (b[:, :, None] - b[:, None, :]) > 0
        conc[sl] = (pairs & agree).sum((1, 2))
        n_pairs[sl] = pairs.sum((1, 2))
        for k, gv in enumerate((False, True)):
            sizes[sl, k] = (live & (g == gv)).sum(1)
    p_ord = np.ones(rows)
    for row in np.nonzero(available & (n_pairs > 0) & (2 * conc > n_pairs))[0]:
        sz = tuple(int(x) for x in sizes[row] if x > 1)
        if max(sz, default=0) <= MAX_ORDER_ITEMS:
            p_ord[row] = concordance_tail(sz, int(conc[row]))
    return WindowStats(
        copier=copier,
        source=source,
        available=available,
        in_window=in_win.sum(1).astype(np.int64),
        matched=match.sum(1).astype(np.int64),
        weighted=observed * weight_step,
        p_answers=p_ans,
        order_pairs=n_pairs,
        concordant=conc,
        expected_concordant=n_pairs / 2.0,
        p_order=p_ord,
        p_value=np.where(available, fisher_pair(p_ans, p_ord), 1.0),
    )
