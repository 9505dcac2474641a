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

Drawing items' times *without replacement* makes the indicators dependent, and for
disjoint windows positively so (up to n^k / n(n−1)…(n−k+1)). The default bound removes
that: reveal the matched items with c_i > 0 in the order of s's save times (fixed by the
conditioned data); given the earlier ones, the j-th (from 0) lands in its window with
probability at most c_i / (n_c − j). A sum of indicators whose conditional probabilities
are bounded so is stochastically smaller than the sum of independent Bernoulli variables
with those bounds, so the exact Poisson-binomial tail of K under p_i = min(1, c_i/(n_c − j))
is a valid (conservative) p-value: ``bound="sequential"``. ``bound="independent"`` uses
p_i = c_i / n_c (closer, not guaranteed).

The premise is the server's random order, not a model of examinees: an examinee whose
working order follows the items' content (all the true/false items first, hard ones
deferred to the end) breaks it in proportion to how strongly, and the evaluation's
simulator includes such deferrals. Items without a timestamp do not count; a pair with
fewer than ``min_items`` commonly timed items is not tested (``available`` is False).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from proctor.exams.forensics.data import ExamMatrix, poisson_binomial_sf

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]
BOUNDS = ("sequential", "independent")
_CHUNK = 4000


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
    bound: str = "sequential",
) -> TimingStats:
    """The alignment test for ordered pairs (row indices into ``m``), vectorised in chunks."""
    if bound not in BOUNDS:
        raise ValueError(f"bound must be one of {BOUNDS}: {bound!r}")
    if window_s <= 0:
        raise ValueError("window_s must be positive")
    copier = np.asarray(copier, dtype=np.int64)
    source = np.asarray(source, dtype=np.int64)
    parts = [
        _chunk(m, copier[s : s + _CHUNK], source[s : s + _CHUNK], window_s, min_items, bound)
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
    # the matched items in the order of the source's saves (padding: +inf at the end)
    key = np.where(match, ts, np.inf)
    order = np.argsort(key, axis=1, kind="stable")[:, :width]
    s_t = np.take_along_axis(key, order, axis=1)  # rows × width
    c_t = np.take_along_axis(np.where(match, tc, np.nan), order, axis=1)
    valid_col = np.isfinite(s_t)
    # the copier's save times, sorted (padding: NaN compares False)
    c_all = np.sort(np.where(timed_c, tc, np.inf), axis=1)[:, : max(1, int(n_c.max()))]
    c_all = np.where(np.isfinite(c_all), c_all, np.nan)
    lo = s_t[:, :, None]
    inside = (c_all[:, None, :] > lo) & (c_all[:, None, :] <= lo + window_s)
    c_in = inside.sum(2).astype(np.int64)  # c_i: copier's save times in item i's window
    lag = c_t - s_t
    hit = valid_col & (lag > 0) & (lag <= window_s)
    k = hit.sum(1).astype(np.int64)
    live = valid_col & (c_in > 0)
    denom = n_c[:, None].astype(float)
    if bound == "sequential":
        before = np.cumsum(live, axis=1) - live
        denom = denom - before
    p = np.where(live, np.minimum(1.0, c_in / np.maximum(denom, 1.0)), 0.0)
    p_value = np.ones(rows)
    test = np.nonzero(available & (k > 0))[0]
    if len(test):
        p_value[test] = poisson_binomial_sf(p[test], k[test])
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
