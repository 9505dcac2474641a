"""Answer copying from the server's timestamps: does c enter s's answer right after s?

The server saves every answer with its own clock (``AttemptRecord.saved_at``) and shows
each attempt's items in a fresh random order. An examinee who works alone therefore
reaches a given item at a moment unrelated to anyone else's; a copier in an
answer-sharing ring who sits at the same time enters a copied answer shortly *after* the
source has entered it (Examinator compares answers and their entry times; Copying@Scale
uses the delay between the source's and the harvester's answer).

For an ordered pair (copier c, source s), over the items both answered with a timestamp
and on which c chose s's (non-empty) answer — the *matched* items —

    K = #{matched i : 0 < t_c(i) − t_s(i) ≤ window}.

**Null (randomisation).** Everything but the assignment of c's save times to c's items is
conditioned on: both examinees' answers, s's save times, and the *set* of c's save times.
Under independence, c's item order is a uniform random permutation drawn by the server,
unrelated to s, so the item occupying each of c's save times is uniformly random. For
matched item i the window (t_s(i), t_s(i) + window] holds c_i of c's n_c save times, so
P(item i lands in its window) = c_i / n_c.

**Strata** (``strata="correct"``, the default). Examinees do not always work in the order
shown: many leave the items they find hard for the end, so the final saves of hard items
cluster late for everyone, and two examinees who finish together would align on them. The
permutation is therefore taken separately within c's items answered correctly and within
the others (his own answers are conditioned on): the null only needs the order to be
random *within* each stratum, which holds when deferring depends on how the item went for
him. ``strata="none"`` permutes over all his items.

**Exact tail** (``bound="exact"``, the default). The indicators are dependent (times are
drawn without replacement), so a Poisson-binomial with p_i = c_i / n_c is only close.
Within a stratum, with the matched items in the order of s's saves, every window is an
interval of c's sorted save times with non-decreasing ends, and the exact law of K is
an inclusion–exclusion over rook placements on those windows (:func:`permutation_pmf`,
exact integers), convolved over the two strata. It is computed where the approximation
is below ``EXACT_SCREEN``; elsewhere the reported p-value is the *sequential bound*:
reveal the live matched items (c_i > 0) in the order of s's saves; given the earlier ones
the j-th of a stratum of size n_g lands in its window with probability at most
c_i / (n_g − j), so K is stochastically smaller than independent Bernoulli variables with
those probabilities and their exact Poisson-binomial tail is a valid p-value
(``bound="sequential"`` uses it everywhere). The exact tail is never larger than the bound,
so every reported p-value is valid. ``bound="independent"`` uses c_i / n_g (close, not
guaranteed).

The premise is the server's random order, not a model of examinees: an examinee whose
working order follows the items' content in another way than through his own correctness
(all the true/false items first, say) breaks it in proportion to how strongly. The
evaluation's simulator lets examinees defer items (four times likelier when they get them
wrong), and measures the test on scheduled sittings where every pair sits concurrently.
Items without a timestamp do not count; a pair with fewer than ``min_items`` commonly
timed items is not tested (``available`` is False).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from math import comb, factorial

import numpy as np
from numpy.typing import NDArray

from proctor.exams.forensics.data import ExamMatrix, poisson_binomial_sf

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]
BOUNDS = ("exact", "sequential", "independent")
STRATA = ("correct", "none")
_CHUNK = 4000
EXACT_SCREEN = 1e-3  # compute the exact tail where the independent approximation is below
MAX_ACTIVE = 10  # the exact programme's state is a subset of the rows one save time can serve


@dataclass(frozen=True)
class TimingStats:
    """Per ordered pair (copier → source), arrays of equal length."""

    copier: IntArray
    source: IntArray
    available: BoolArray  # both timed on at least ``min_items`` common items
    n_matched: IntArray  # matched items with both timestamps (the trials)
    copier_times: IntArray  # n_c: the copier's timed items
    aligned: IntArray  # K
    expected: FloatArray  # Σ p_i under the null (the bound's)
    p_value: FloatArray  # exact upper tail of K (1 where not available)


def has_times(m: ExamMatrix) -> bool:
    """Whether any attempt carries save timestamps."""
    return m.saved_at is not None and bool(np.isfinite(m.saved_at).any())


def timing_alignment(
    m: ExamMatrix,
    copier: IntArray,
    source: IntArray,
    window_s: float = 120.0,
    min_items: int = 10,
    bound: str = "exact",
    strata: str = "correct",
) -> TimingStats:
    """The alignment test for ordered pairs (row indices into ``m``), vectorised in chunks.

    ``strata="correct"`` permutes the copier's save times separately among the items he
    answered correctly and among the others (see the module text); "none" over all items.
    """
    if bound not in BOUNDS:
        raise ValueError(f"bound must be one of {BOUNDS}: {bound!r}")
    if strata not in STRATA:
        raise ValueError(f"strata must be one of {STRATA}: {strata!r}")
    if window_s <= 0:
        raise ValueError("window_s must be positive")
    copier = np.asarray(copier, dtype=np.int64)
    source = np.asarray(source, dtype=np.int64)
    parts = [
        _chunk(
            m, copier[s : s + _CHUNK], source[s : s + _CHUNK], window_s, min_items, bound, strata
        )
        for s in range(0, max(1, len(copier)), _CHUNK)
    ]
    fields = TimingStats.__dataclass_fields__
    return TimingStats(**{f: np.concatenate([getattr(p, f) for p in parts]) for f in fields})


def _times(m: ExamMatrix) -> FloatArray:
    if m.saved_at is None:
        return np.full(m.codes.shape, np.nan)
    return np.where(m.presented, m.saved_at, np.nan)


def _chunk(
    m: ExamMatrix,
    copier: IntArray,
    source: IntArray,
    window_s: float,
    min_items: int,
    bound: str,
    strata: str,
) -> TimingStats:
    rows = len(copier)
    t = _times(m)
    tc, ts = t[copier], t[source]
    timed_c, timed_s = np.isfinite(tc), np.isfinite(ts)
    n_c = timed_c.sum(1).astype(np.int64)
    available = (timed_c & timed_s).sum(1) >= min_items
    cc, cs = m.codes[copier], m.codes[source]
    match = timed_c & timed_s & (cc == cs) & (cs > 0) & available[:, None]
    n_match = match.sum(1).astype(np.int64)
    width = int(n_match.max()) if rows else 0
    if width == 0:
        zeros = np.zeros(rows, dtype=np.int64)
        return TimingStats(
            copier=copier,
            source=source,
            available=available,
            n_matched=n_match,
            copier_times=n_c,
            aligned=zeros,
            expected=np.zeros(rows),
            p_value=np.ones(rows),
        )
    # stratum of each of the copier's items: his own answer right or not (conditioned on)
    group = (cc == 1) if strata == "correct" else np.zeros_like(timed_c)
    # the matched items in the order of the source's saves (padding: +inf at the end)
    key = np.where(match, ts, np.inf)
    order = np.argsort(key, axis=1, kind="stable")[:, :width]
    s_t = np.take_along_axis(key, order, axis=1)  # rows × width
    c_t = np.take_along_axis(np.where(match, tc, np.nan), order, axis=1)
    g_t = np.take_along_axis(group, order, axis=1)
    valid_col = np.isfinite(s_t)
    lag = c_t - s_t
    hit = valid_col & (lag > 0) & (lag <= window_s)
    k = hit.sum(1).astype(np.int64)
    c_in = np.zeros(s_t.shape, dtype=np.int64)  # c_i: c's times of i's stratum in i's window
    n_g = np.zeros(s_t.shape, dtype=np.int64)  # size of i's stratum
    before = np.zeros(s_t.shape, dtype=np.int64)  # earlier live items of i's stratum
    sorted_times: list[FloatArray] = []
    sizes: list[IntArray] = []
    for g in (False, True):
        mine = timed_c & (group == g)
        size = mine.sum(1).astype(np.int64)
        ct = np.sort(np.where(mine, tc, np.inf), axis=1)[:, : max(1, int(size.max()))]
        ct = np.where(np.isfinite(ct), ct, np.nan)
        lo = s_t[:, :, None]
        inside = ((ct[:, None, :] > lo) & (ct[:, None, :] <= lo + window_s)).sum(2)
        col = g_t == g
        c_in = np.where(col, inside, c_in)
        n_g = np.where(col, size[:, None], n_g)
        live_g = valid_col & col & (inside > 0)
        before = np.where(col, np.cumsum(live_g, axis=1) - live_g, before)
        sorted_times.append(ct)
        sizes.append(size)
    live = valid_col & (c_in > 0)
    denom = n_g.astype(float)
    if bound != "independent":  # the sequential bound; "exact" improves on it below
        denom = denom - before
    p = np.where(live, np.minimum(1.0, c_in / np.maximum(denom, 1.0)), 0.0)
    p_value = np.ones(rows)
    test = np.nonzero(available & (k > 0))[0]
    if len(test):
        p_value[test] = poisson_binomial_sf(p[test], k[test])
    if bound == "exact" and len(test):
        # the independent approximation screens; the exact tail replaces the (always
        # larger) sequential bound where it is small, so every reported p stays valid
        q_ind = np.where(live, c_in / np.maximum(n_g, 1), 0.0)
        approx = poisson_binomial_sf(q_ind[test], k[test])
        for r in test[approx < EXACT_SCREEN]:
            pmfs = []
            for gi, g in enumerate((False, True)):
                cols = np.nonzero(live[r] & (g_t[r] == g))[0]
                times = sorted_times[gi][r, : sizes[gi][r]]
                lo_idx = np.searchsorted(times, s_t[r, cols], side="right")
                hi_idx = np.searchsorted(times, s_t[r, cols] + window_s, side="right")
                pmfs.append(permutation_pmf(lo_idx, hi_idx - 1, int(sizes[gi][r])))
            if any(f is None for f in pmfs):
                continue
            dist = [Fraction(1)]
            for f in pmfs:
                dist = _convolve(dist, f or [Fraction(1)])
            p_value[r] = min(p_value[r], float(sum(dist[int(k[r]) :], Fraction(0))))
    return TimingStats(
        copier=copier,
        source=source,
        available=available,
        n_matched=n_match,
        copier_times=n_c,
        aligned=k,
        expected=p.sum(1),
        p_value=p_value,
    )


def _convolve(a: list[Fraction], b: list[Fraction]) -> list[Fraction]:
    out = [Fraction(0)] * (len(a) + len(b) - 1)
    for i, x in enumerate(a):
        for j, y in enumerate(b):
            out[i + j] += x * y
    return out


def permutation_tail(lo: IntArray, hi: IntArray, n: int, k: int) -> float | None:
    """Exact P(K ≥ k) for K = #{rows i : π(i) ∈ [lo_i, hi_i]}, π a uniform permutation.

    See :func:`permutation_pmf`; ``None`` when a column serves more than ``MAX_ACTIVE`` rows.
    """
    if k <= 0:
        return 1.0
    pmf = permutation_pmf(lo, hi, n)
    if pmf is None:
        return None
    return float(sum(pmf[k:], Fraction(0)))


def permutation_pmf(lo: IntArray, hi: IntArray, n: int) -> list[Fraction] | None:
    """Exact law of K = #{rows i : π(i) ∈ [lo_i, hi_i]}, π a uniform permutation of n.

    The rows are some of ``n`` items (the others unconstrained), ``lo``/``hi`` inclusive
    column indices, both non-decreasing (windows of one width, rows in time order). By
    inclusion–exclusion over rook placements, P(K = k) = Σ_{j≥k} (−1)^{j−k} C(j, k)
    r_j (n−j)!/n!, with r_j the ways to place j non-attacking rooks in the windows (a
    column sweep whose state is the set of still-open rows already holding a rook), in exact
    integer arithmetic. ``None`` when a column serves more than ``MAX_ACTIVE`` rows.
    """
    rows = len(lo)
    if rows == 0:
        return [Fraction(1)]
    states: dict[tuple[int, int], int] = {(0, 0): 1}  # (mask of open rows with a rook, j)
    first = 0
    for x in range(n):
        while first < rows and hi[first] < x:
            first += 1
        active = [i for i in range(first, rows) if lo[i] <= x <= hi[i]]
        if len(active) > MAX_ACTIVE:
            return None
        nxt: dict[tuple[int, int], int] = {}
        for (mask, j), ways in states.items():
            nxt[(mask, j)] = nxt.get((mask, j), 0) + ways
            for i in active:
                if not mask >> i & 1:
                    key = (mask | 1 << i, j + 1)
                    nxt[key] = nxt.get(key, 0) + ways
        closing = sum(1 << i for i in range(first, rows) if hi[i] == x)
        states = {}
        for (mask, j), ways in nxt.items():
            key = (mask & ~closing, j)
            states[key] = states.get(key, 0) + ways
    rook = [0] * (rows + 1)
    for (_, j), ways in states.items():
        rook[j] += ways
    total = factorial(n)
    pmf = []
    for k in range(rows + 1):
        acc = 0
        for j in range(k, rows + 1):
            term = comb(j, k) * rook[j] * factorial(n - j)
            acc += term if (j - k) % 2 == 0 else -term
        pmf.append(Fraction(acc, total))
    return pmf


def item_alignment(
    m: ExamMatrix, copier: int, source: int, window_s: float
) -> dict[int, tuple[float | None, float | None, float | None, bool]]:
    """Per common item (column index): copier's and source's save times, lag, in window.

    ``in_window`` is True only for a matched item (same non-empty answer) whose copier save
    came 0 < lag ≤ ``window_s`` seconds after the source's.
    """
    t = _times(m)
    out: dict[int, tuple[float | None, float | None, float | None, bool]] = {}
    for i in np.nonzero(m.presented[copier] & m.presented[source])[0]:
        a, b = float(t[copier, i]), float(t[source, i])
        lag = a - b if np.isfinite(a) and np.isfinite(b) else None
        same = m.codes[copier, i] == m.codes[source, i] and m.codes[source, i] > 0
        out[int(i)] = (
            a if np.isfinite(a) else None,
            b if np.isfinite(b) else None,
            lag,
            bool(same and lag is not None and 0 < lag <= window_s),
        )
    return out
