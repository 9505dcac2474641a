"""Answer copying: Wollack's ω with an exact null, and identical wrong answers.

For an ordered pair (copier c, source s) and their common items (drawn for both, answered
by s), let X_i = 1 when c chose s's option on item i. Under independence given c's ability,
X_i ~ Bernoulli(P_i), P_i = P(c picks s's option on i | θ_c). Then

* ω = (h − Σ P_i) / sqrt(Σ P_i (1 − P_i)), h = Σ X_i (Wollack 1997);
* the exact upper-tail p-value of h under the generalised (Poisson-) binomial law of
  Σ X_i, by dynamic programming: the normal approximation is poor on 40 items;
* the same exact test restricted to the items the source got wrong (identical wrong
  answers, the strongest evidence: honest examinees rarely share a wrong option);
* the decision statistic: a weighted match count W = Σ w_i X_i. Here the *source's*
  answers are the random part, Q_i = P(s picks c's option | θ_s) – the source worked
  alone, so θ_s is not inflated by copying – and everything about the suspected copier
  (answers and response times) is conditioned on. The weights are the Neyman–Pearson
  log-likelihood ratios of the alternative "item i was copied with probability γ_i",
  w_i = log((γ_i + (1 − γ_i) Q_i) / ((1 − γ_i) Q_i)): an improbable match (a shared
  wrong or rare option) counts more than a likely one (weighted ω, Trout & Gorney
  2025), and γ_i rises where the copier answered much faster than the lognormal model
  expects (copying takes less time than working an item out). Because the weights are
  functions of the conditioned-on data only, the exact null of W is the generalised
  binomial law of Σ w_i X_i on a grid of weights (dynamic programming), whatever the
  relation between the copier's speed and his own correctness.

P(option | θ) is a nominal-response-style estimate that needs no IRT fitting: a Gaussian
kernel (on the Rasch ability scale) average of the option choices of the *other*
examinees, c and s left out, smoothed toward the item's overall option shares.

The directional p-value is the exact p-value of W, computed for pairs that pass a loose
screen (W's normal z above ``screen_z``; 1 otherwise: the screen only shrinks the
rejection region, so the test stays valid and cheap). A pair's p-value is
``min(1, 2·min(p_c→s, p_s→c))`` (both directions, Bonferroni), so the per-pair Type I
error at level α is at most α.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from proctor.exams.forensics.burst import (
    BurstStats,
    burst_after_submit,
    fisher_pair,
    item_after_submit,
)
from proctor.exams.forensics.config import ForensicConfig
from proctor.exams.forensics.data import (
    AttemptRecord,
    ExamMatrix,
    compact_trials,
    poisson_binomial_sf,
    rasch_ability,
)
from proctor.exams.forensics.order import WindowStats, window_tests
from proctor.exams.forensics.response_time import LognormalRT
from proctor.exams.forensics.timing import TimingStats, has_times, item_alignment, timing_alignment

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]
_CHUNK = 20000


@dataclass(frozen=True)
class DirectionalStats:
    """Per ordered pair (copier → source), arrays of equal length."""

    copier: IntArray  # row indices into the matrix
    source: IntArray
    n_common: IntArray
    matches: IntArray
    expected: FloatArray
    variance: FloatArray
    omega: FloatArray
    p_count: FloatArray
    wrong_common: IntArray  # common items the source answered wrongly
    identical_wrong: IntArray
    expected_wrong: FloatArray
    p_wrong: FloatArray
    weighted: FloatArray  # W on the weight grid
    p_value: FloatArray  # exact p-value of W (1 where the screen did not pass)


class AnswerCopyingIndex(BaseEstimator):
    """ω and identical-wrong-answer tests over an :class:`ExamMatrix` (scikit-learn style).

    ``fit`` estimates the abilities and the kernel option model; ``directional`` tests
    ordered pairs; ``score_samples`` returns pair p-values (higher is more normal).
    """

    def __init__(
        self,
        bandwidth: float | None = None,
        smoothing: float = 1.0,
        grid_step: float = 0.05,
        gamma: float = 0.3,
        weight_step: float = 0.1,
        screen_z: float = 1.28,
        min_neighbours: int = 30,
        fast_shift: float = 1.5,
        group_prior: float = 0.0,
    ) -> None:
        self.bandwidth = bandwidth
        self.smoothing = smoothing
        self.grid_step = grid_step
        self.gamma = gamma
        self.weight_step = weight_step
        self.screen_z = screen_z
        self.fast_shift = fast_shift
        self.min_neighbours = min_neighbours
        self.group_prior = group_prior

    def fit(
        self,
        X: ExamMatrix,
        y: Any = None,
        time_z: FloatArray | None = None,
        groups: IntArray | None = None,
    ) -> AnswerCopyingIndex:
        """Abilities (Rasch MAP) and kernel-weighted option counts on an ability grid.

        ``time_z``: the examinees' standardised log response-time residuals (attempts ×
        items, NaN where untimed), from :class:`LognormalRT`; without them every item has
        the prior copy share ``gamma``. ``groups``: each attempt's group (the learner's
        unit; −1 for none): with ``group_prior`` > 0 an option's probability for a member is
        at least its share among the *other* members of his group (shrunk toward the
        ability model with ``group_prior`` pseudo-answers), so a wrong belief colleagues
        learned together is not read as copied. Only ever raising the null probabilities
        keeps every test at least as conservative as without groups.
        """
        m = X
        self.time_z_ = time_z
        n = m.n_attempts
        theta = rasch_ability(m.correct, m.presented)
        sd = float(np.std(theta)) if n > 1 else 1.0
        h = self.bandwidth or float(np.clip(1.06 * max(sd, 0.3) * n ** (-0.2), 0.15, 0.8))
        grid = np.arange(-5.0, 5.0 + self.grid_step / 2, self.grid_step)
        cell = np.clip(np.rint((theta + 5.0) / self.grid_step).astype(np.int64), 0, len(grid) - 1)
        used, row = np.unique(cell, return_inverse=True)
        dist = np.abs(grid[used][:, None] - theta[None, :])  # U × N
        # adaptive width: at the ends of the ability scale keep ``min_neighbours`` in reach,
        # or the few extreme examinees' shared wrong options look improbable (the Type I
        # inflation for low-ability copiers reported for ω)
        k = min(n - 1, self.min_neighbours)
        reach = np.partition(dist, k, axis=1)[:, k] if n > 1 else np.full(len(used), h)
        width = np.maximum(h, reach)[:, None]
        w = np.exp(-0.5 * (dist / width) ** 2)
        offsets = np.concatenate([[0], np.cumsum(m.n_codes)[:-1]]).astype(np.int64)
        onehot = np.zeros((n, int(m.n_codes.sum())))
        a_idx, i_idx = np.nonzero(m.presented)
        onehot[a_idx, offsets[i_idx] + m.codes[a_idx, i_idx]] = 1.0
        counts = onehot.sum(0)
        n_item = m.presented.sum(0).astype(float)
        item_of_col = np.repeat(np.arange(m.n_items), m.n_codes)
        self.prior_ = (counts + 0.5) / (n_item[item_of_col] + 0.5 * m.n_codes[item_of_col])
        self.num_ = w @ onehot  # U × C
        self.den_ = w @ m.presented.astype(float)  # U × I
        self.weights_ = w
        self.row_ = row.astype(np.int64)
        self.self_weight_ = w[self.row_, np.arange(n)]
        self.offsets_ = offsets
        self.groups_ = None
        if groups is not None and self.group_prior > 0:
            g = np.asarray(groups, dtype=np.int64)
            _, dense = np.unique(np.where(g >= 0, g, -1), return_inverse=True)
            dense = np.where(g >= 0, dense, -1)
            n_groups = int(dense.max()) + 1 if (dense >= 0).any() else 0
            members = dense >= 0
            self.group_options_ = np.zeros((n_groups, onehot.shape[1]))
            np.add.at(self.group_options_, dense[members], onehot[members])
            self.group_items_ = np.zeros((n_groups, m.n_items))
            np.add.at(self.group_items_, dense[members], m.presented[members].astype(float))
            self.groups_ = dense
        self.theta_ = theta
        self.bandwidth_ = h
        self.matrix_ = m
        return self

    def _copy_share(self, copier: IntArray) -> FloatArray:
        """Per item, the share γ_i of the alternative: copied answers come fast.

        γ_i = γ f₁(z)/(γ f₁(z) + (1 − γ) f₀(z)), f₀ = N(0, 1) the honest residual density,
        f₁ = N(−fast_shift, 1) the copied one; it only shapes the weights (the null is exact
        whatever they are, because it conditions on the copier's answers and times).
        """
        m = self.matrix_
        g = np.full((len(copier), m.n_items), self.gamma)
        if self.time_z_ is None:
            return g
        z = self.time_z_[copier]
        lr = np.exp(-self.fast_shift * np.nan_to_num(z, nan=0.0) - self.fast_shift**2 / 2)
        post = self.gamma * lr / (self.gamma * lr + 1 - self.gamma)
        return np.clip(np.where(np.isnan(z), self.gamma, post), 0.01, 0.95)

    def match_probabilities(self, copier: IntArray, source: IntArray) -> tuple[FloatArray, Any]:
        """P(copier picks the source's option) per item, and the common-item mask."""
        check_is_fitted(self)
        m = self.matrix_
        xs, xc = m.codes[source], m.codes[copier]
        common = m.presented[copier] & m.presented[source] & (xs > 0)
        k = np.where(common, xs, 0)
        col = self.offsets_[None, :] + k
        r = self.row_[copier]
        w_self = self.self_weight_[copier][:, None]
        w_cs = self.weights_[r, source][:, None]
        num = self.num_[r[:, None], col] - w_self * (xc == k) - w_cs
        den = self.den_[r][:, :] - w_self - w_cs
        lam = self.smoothing
        p = (np.maximum(num, 0.0) + lam * self.prior_[col]) / (np.maximum(den, 0.0) + lam)
        if self.groups_ is not None:
            p = np.maximum(p, self._group_share(copier, source, col, k, p))
        return np.where(common, np.clip(p, 1e-6, 1 - 1e-6), 0.0), common

    def _group_share(
        self, copier: IntArray, source: IntArray, col: IntArray, k: IntArray, p: FloatArray
    ) -> FloatArray:
        """The option's share among the copier's group, both of the pair left out."""
        m = self.matrix_
        assert self.groups_ is not None  # noqa: S101 - only called with groups
        g = self.groups_[copier]
        has = g >= 0
        gi = np.where(has, g, 0)
        picked = self.group_options_[gi[:, None], col]
        seen = self.group_items_[gi].copy()
        own = has[:, None]
        picked = picked - own * (m.codes[copier] == k)
        seen = seen - own * m.presented[copier]
        same = (own[:, 0] & (self.groups_[source] == g))[:, None]
        picked = picked - same * (m.codes[source] == k) * m.presented[source]
        seen = seen - same * m.presented[source]
        lam = self.group_prior
        share = (np.maximum(picked, 0.0) + lam * p) / (np.maximum(seen, 0.0) + lam)
        out: FloatArray = np.where(own, share, 0.0)
        return out

    def directional(self, copier: IntArray, source: IntArray) -> DirectionalStats:
        """All statistics for ordered pairs, in chunks to bound memory."""
        chunk = max(1000, _CHUNK * 40 // max(1, self.matrix_.n_items))
        parts = [
            self._directional(copier[s : s + chunk], source[s : s + chunk])
            for s in range(0, max(1, len(copier)), chunk)
        ]
        fields = DirectionalStats.__dataclass_fields__
        return DirectionalStats(
            **{f: np.concatenate([getattr(p, f) for p in parts]) for f in fields}
        )

    def _directional(self, copier: IntArray, source: IntArray) -> DirectionalStats:
        m = self.matrix_
        p, common = self.match_probabilities(copier, source)
        match = common & (m.codes[copier] == m.codes[source])
        wrong = common & (m.codes[source] != 1)
        h = match.sum(1)
        e = p.sum(1)
        v = (p * (1 - p)).sum(1)
        omega = (h - e) / np.sqrt(np.maximum(v, 1e-12))
        p_count = poisson_binomial_sf(p, h)
        pw = np.where(wrong, p, 0.0)
        iw = (match & wrong).sum(1)
        p_wrong = poisson_binomial_sf(pw, iw)
        # decision statistic: the source's answers are the random part, P(s picks c's option
        # | θ_s), everything about the suspected copier c (answers, times) is conditioned on
        p_rev, common_rev = self.match_probabilities(source, copier)
        match_rev = common_rev & (m.codes[copier] == m.codes[source])
        gamma = self._copy_share(copier)
        w = np.log(
            (gamma + (1 - gamma) * np.maximum(p_rev, 0.01))
            / ((1 - gamma) * np.maximum(p_rev, 0.01))
        )
        units = np.where(common_rev, np.rint(w / self.weight_step).astype(np.int64), 0)
        observed = (units * match_rev).sum(1)
        mean_w = (units * p_rev).sum(1)
        sd_w = np.sqrt(np.maximum((units**2 * p_rev * (1 - p_rev)).sum(1), 1e-12))
        p_w = np.ones(len(copier))
        screened = np.nonzero((observed - mean_w) / sd_w > self.screen_z)[0]
        for start in range(0, len(screened), 2000):
            rows = screened[start : start + 2000]
            p_w[rows] = weighted_sf(p_rev[rows], units[rows], observed[rows])
        return DirectionalStats(
            copier=np.asarray(copier, dtype=np.int64),
            source=np.asarray(source, dtype=np.int64),
            n_common=common.sum(1),
            matches=h,
            expected=e,
            variance=v,
            omega=omega,
            p_count=p_count,
            wrong_common=wrong.sum(1),
            identical_wrong=iw,
            expected_wrong=pw.sum(1),
            p_wrong=p_wrong,
            weighted=observed * self.weight_step,
            p_value=p_w,
        )

    def score_samples(self, pairs: IntArray) -> FloatArray:
        """Pair p-values (both directions, Bonferroni ×2) for rows of index pairs."""
        a, b = pairs[:, 0], pairs[:, 1]
        ab, ba = self.directional(a, b), self.directional(b, a)
        return np.minimum(1.0, 2.0 * np.minimum(ab.p_value, ba.p_value))

    def pair_table(
        self,
        copier: int,
        source: int,
        window_s: float | None = None,
        burst_window_s: float | None = None,
        source_submitted_at: float | None = None,
    ) -> list[dict[str, Any]]:
        """Item-by-item evidence: answers, key, match and P(match) under independence.

        With ``window_s`` (the timing test's window) each row also has both save times
        (epoch seconds, server clock), the lag copier − source and whether the item counted
        in the timing statistic (``in_window``). With ``burst_window_s`` and the source's
        submission time each row also says whether the copier saved the item within that
        window after the source submitted (``after_partner_submit``).
        """
        m = self.matrix_
        c, s = np.array([copier]), np.array([source])
        p, _ = self.match_probabilities(c, s)
        timing = item_alignment(m, copier, source, window_s) if window_s else {}
        after: dict[int, bool] | None = None
        if burst_window_s and source_submitted_at is not None:
            after = item_after_submit(m, copier, source_submitted_at, burst_window_s)
        rows: list[dict[str, Any]] = []
        for i in np.nonzero(m.presented[copier] & m.presented[source])[0]:
            ca, sa = int(m.codes[copier, i]), int(m.codes[source, i])
            extra: dict[str, Any] = {}
            if window_s:
                tc, tsrc, lag, inside = timing[int(i)]
                extra = {
                    "copier_saved_at": None if tc is None else round(tc, 3),
                    "source_saved_at": None if tsrc is None else round(tsrc, 3),
                    "lag_s": None if lag is None else round(lag, 1),
                    "in_window": inside,
                }
            if after is not None:
                extra["after_partner_submit"] = after.get(int(i), False)
            rows.append(
                {
                    "item": m.item_ids[i],
                    "copier_answer": m.labels[i][ca],
                    "source_answer": m.labels[i][sa],
                    "key": m.labels[i][1],
                    "match": bool(ca == sa and sa > 0),
                    "p_match": round(float(p[0, i]), 4) if sa > 0 else None,
                    "copier_seconds": _num(m.seconds[copier, i]),
                    "source_seconds": _num(m.seconds[source, i]),
                    **extra,
                }
            )
        return rows


def weighted_sf(p: FloatArray, units: IntArray, observed: IntArray) -> FloatArray:
    """Exact P(Σ units_i X_i >= observed), X_i ~ Bernoulli(p_i), row by row (integer weights)."""
    if len(p) == 0:
        return np.ones(0)
    p, units = compact_trials(p, units)
    rows, trials = p.shape
    bins = int(units.sum(1).max()) + 1
    dist = np.zeros((rows, bins))
    dist[:, 0] = 1.0
    cols = np.arange(bins)[None, :]
    for i in range(trials):
        src = cols - units[:, i : i + 1]
        shifted = np.take_along_axis(dist, np.clip(src, 0, bins - 1), axis=1) * (src >= 0)
        dist = dist * (1.0 - p[:, i : i + 1]) + shifted * p[:, i : i + 1]
    tail = np.cumsum(dist[:, ::-1], axis=1)[:, ::-1]
    out = tail[np.arange(rows), np.clip(observed, 0, bins - 1)]
    out = np.where(observed >= bins, 0.0, out)
    return np.clip(np.where(observed <= 0, 1.0, out), 0.0, 1.0)


def _num(x: float) -> float | None:
    return None if np.isnan(x) else round(float(x), 1)


@dataclass(frozen=True)
class PairFinding:
    """A flagged pair, oriented by its more significant direction (copier → source)."""

    copier: int  # row indices
    source: int
    p_value: float  # pair p-value (both directions and both statistics corrected)
    omega: float
    matches: int
    expected: float
    n_common: int
    identical_wrong: int
    expected_wrong: float
    wrong_common: int
    p_count: float
    p_wrong: float
    weighted: float
    p_answers: float | None = None  # pair p-value of the answer test (both directions)
    timing_p: float | None = None  # pair p-value of the timing test; None: no timestamps
    aligned: int | None = None  # K in the reported direction
    expected_aligned: float | None = None
    timed_matches: int | None = None  # matched items with both timestamps
    window_s: float | None = None
    burst_p: float | None = None  # pair p-value of the burst test; None: not run
    burst: int | None = None  # K: matched answers saved right after the partner submitted
    expected_burst: float | None = None
    burst_in_window: int | None = None  # the copier's saves in that window
    burst_window_s: float | None = None
    source_submitted_at: float | None = None
    burst_answers_p: float | None = None  # pair p of Fisher(answers, burst) per direction
    window_p: float | None = None  # pair p of Fisher(window answers, entry order); None: not run
    window_items: int | None = None  # the copier's saves after the source submitted
    window_matched: int | None = None  # of which matching the source's answer
    window_answers_p: float | None = None  # the window answer test (this direction)
    order_p: float | None = None  # the entry-order test (this direction)
    order_pairs: int | None = None  # same-stratum pairs of matched window items
    concordant: int | None = None  # of which entered in the source's order
    together_p: float | None = None  # window answers alone, both directions (sat together)
    together_only: bool = False  # flagged only at the wider level of pairs that sat together
    together_level: float | None = None  # that level for this pair (shared in large units)


@dataclass
class CopyingResult:
    """Every tested pair's p-value, the flagged pairs, and the error rate at the threshold."""

    mode: str  # "all_pairs" or "candidates"
    pairs: IntArray  # tested pairs (row indices), shape (P, 2)
    p_values: FloatArray
    candidate_reasons: dict[str, int]
    threshold: float
    type1_error: float  # per-pair Type I error at the threshold (an upper bound)
    expected_false_pairs: float
    findings: list[PairFinding] = field(default_factory=list)
    model: AnswerCopyingIndex | None = None
    p_answers: FloatArray | None = None  # the answer test's pair p-values
    p_timing: FloatArray | None = None  # the timing test's (1 where not available)
    timing_used: bool = False
    window_s: float | None = None
    p_burst: FloatArray | None = None  # the burst test's (1 where not run)
    p_burst_answers: FloatArray | None = None  # Fisher(answers, burst) per direction, × 2
    burst_used: bool = False
    burst_window_s: float | None = None
    p_window: FloatArray | None = None  # Fisher(window answers, entry order), × 2 (1: not run)
    p_order: FloatArray | None = None  # the entry-order test alone, × 2 (1: not run)
    order_used: bool = False
    p_together: FloatArray | None = None  # window answers alone where the pair sat together
    together_alpha: float | None = None  # their level (None: not used)
    together_pairs: int = 0  # pairs that sat together
    together_below: int = 0  # of which below their level: the cohort a C08 is read against
    # per pair that sat together, the row of the one who entered answers after the other
    # handed in (the direction of ``p_together``); kept for the combination over exams
    together_copier: IntArray | None = None


def _burst_weights(model: AnswerCopyingIndex, copier: IntArray, source: IntArray) -> IntArray:
    """−log P(copier picks the source's option) in half-nat units, 0–10 (answers only)."""
    out = np.zeros((len(copier), model.matrix_.n_items), dtype=np.int64)
    for s in range(0, len(copier), _CHUNK):
        p, _ = model.match_probabilities(copier[s : s + _CHUNK], source[s : s + _CHUNK])
        units = np.rint(-np.log(np.clip(p, 1e-6, 1.0)) / 0.5)
        out[s : s + _CHUNK] = np.clip(np.where(p > 0, units, 0), 0, 10).astype(np.int64)
    return out


def _within(t: FloatArray, window: float) -> IntArray:
    """Pairs (a, b), a < b, whose times ``t`` lie within ``window`` of each other."""
    order = np.argsort(t, kind="stable")
    ts = t[order]
    lo = np.searchsorted(ts, ts - window, side="left")
    counts = np.arange(len(order)) - lo
    total = int(counts.sum())
    if total == 0:
        return np.empty((0, 2), dtype=np.int64)
    right = np.repeat(np.arange(len(order)), counts)
    starts = np.cumsum(counts) - counts
    left = np.repeat(lo, counts) + (np.arange(total) - np.repeat(starts, counts))
    a, b = order[left], order[right]
    return np.column_stack([np.minimum(a, b), np.maximum(a, b)]).astype(np.int64)


def _close_count(t_sorted: FloatArray, window: float) -> int:
    lo = np.searchsorted(t_sorted, t_sorted - window, side="left")
    return int((np.arange(len(t_sorted)) - lo).sum())


def _budget_window(t: FloatArray, window: float, budget: int) -> float:
    """The widest window up to ``window`` whose close-submission pairs fit ``budget``."""
    ts = np.sort(t)
    if _close_count(ts, window) <= budget:
        return window
    lo, hi = 0.0, window
    for _ in range(30):  # bisection to well under a second
        mid = (lo + hi) / 2
        if _close_count(ts, mid) <= budget:
            lo = mid
        else:
            hi = mid
    return lo


def candidate_pairs(
    m: ExamMatrix, attempts: Sequence[AttemptRecord], cfg: ForensicConfig
) -> tuple[str, IntArray, dict[str, int]]:
    """All pairs on small exams; on large ones, linked pairs plus a random sample.

    Linked: one address or one unit (every pair of the group), or submitted within
    ``submit_window_s`` of each other. Both can grow with the square of the exam (a
    scheduled sitting of thousands hands in within minutes; a big office behind one
    address), so they are held to ``max_candidate_pairs``: groups take every pair,
    smallest first, up to half of it (a group left out, or over ``all_pairs_max``, keeps
    the pairs that also handed in together, which the window below tests); the window is
    narrowed until its pairs fit what is left, nearest first. The window used is reported
    (``close_window_s``), with the groups left to it (``groups_left_to_window``).
    """
    n = m.n_attempts
    if n <= cfg.all_pairs_max:
        a, b = np.triu_indices(n, k=1)
        return "all_pairs", np.column_stack([a, b]).astype(np.int64), {"all": len(a)}
    t = np.array([att.submitted_at for att in attempts], dtype=float)
    rng = np.random.default_rng(cfg.random_state)
    ra = rng.integers(0, n, size=cfg.random_pairs)
    rb = rng.integers(0, n, size=cfg.random_pairs)
    keep = ra != rb
    found: dict[str, IntArray] = {
        "random": np.column_stack([np.minimum(ra, rb)[keep], np.maximum(ra, rb)[keep]])
    }
    groups: list[tuple[str, IntArray]] = []
    for name, key in (("same_ip", "ip"), ("same_unit", "unit_id")):
        members: dict[object, list[int]] = {}
        for idx, att in enumerate(attempts):
            members.setdefault(getattr(att, key), []).append(idx)
        groups += [(name, np.array(g, dtype=np.int64)) for g in members.values() if len(g) > 1]
    groups.sort(key=lambda g: len(g[1]))
    parts: dict[str, list[IntArray]] = {"same_ip": [], "same_unit": []}
    room = cfg.max_candidate_pairs // 2
    left = 0
    for name, ids in groups:
        size = len(ids) * (len(ids) - 1) // 2
        if len(ids) > cfg.all_pairs_max or size > room:
            left += 1
            continue
        room -= size
        ga, gb = np.triu_indices(len(ids), k=1)
        parts[name].append(np.column_stack([ids[ga], ids[gb]]))
    for name, got in parts.items():
        found[name] = np.concatenate(got) if got else np.empty((0, 2), dtype=np.int64)
    linked = sum(len(v) for v in found.values())
    window = _budget_window(t, cfg.submit_window_s, max(0, cfg.max_candidate_pairs - linked))
    found["close_submission"] = _within(t, window)
    codes = np.unique(np.concatenate([v[:, 0] * n + v[:, 1] for v in found.values()]))
    pairs = np.column_stack([codes // n, codes % n]).astype(np.int64)
    reasons = {k: len(np.unique(v[:, 0] * n + v[:, 1])) for k, v in found.items()}
    reasons["close_window_s"] = int(window)
    reasons["groups_left_to_window"] = left
    return "candidates", pairs, reasons


def detect_copying(
    m: ExamMatrix, attempts: Sequence[AttemptRecord], cfg: ForensicConfig
) -> CopyingResult:
    """Test the candidate pairs and flag those below the configured threshold."""
    if cfg.copy_correction not in ("none", "bonferroni"):
        raise ValueError(f"copy_correction must be 'none' or 'bonferroni': {cfg.copy_correction!r}")
    mode, pairs, reasons = candidate_pairs(m, attempts, cfg)
    time_z = LognormalRT().fit(m).residuals(m) if cfg.copy_use_times else None
    model = AnswerCopyingIndex(
        bandwidth=cfg.bandwidth,
        smoothing=cfg.smoothing,
        gamma=cfg.copy_gamma,
        fast_shift=cfg.copy_fast_shift,
        group_prior=cfg.copy_group_prior,
    ).fit(m, time_z=time_z, groups=_units(attempts))
    a, b = pairs[:, 0], pairs[:, 1]
    ab, ba = model.directional(a, b), model.directional(b, a)
    p_ans = np.minimum(1.0, 2.0 * np.minimum(ab.p_value, ba.p_value))
    enough = (ab.n_common >= cfg.min_common_items) | (ba.n_common >= cfg.min_common_items)
    p_ans = np.where(enough, p_ans, 1.0)
    tab: TimingStats | None = None
    tba: TimingStats | None = None
    p_time = np.ones(len(pairs))
    p_pair = p_ans
    use_times = cfg.copy_use_saved_at and has_times(m)
    if use_times:
        w, k, bound, strata = (
            cfg.timing_window_s,
            cfg.min_common_items,
            cfg.timing_bound,
            cfg.timing_strata,
        )
        tab = timing_alignment(m, a, b, window_s=w, min_items=k, bound=bound, strata=strata)
        tba = timing_alignment(m, b, a, window_s=w, min_items=k, bound=bound, strata=strata)
        timed = tab.available | tba.available
        p_time = np.where(timed, np.minimum(1.0, 2.0 * np.minimum(tab.p_value, tba.p_value)), 1.0)
        # Bonferroni over the two tests where both apply; answers alone elsewhere
        p_pair = np.where(timed, np.minimum(1.0, 2.0 * np.minimum(p_ans, p_time)), p_ans)
    bab: BurstStats | None = None
    bba: BurstStats | None = None
    p_burst = np.ones(len(pairs))
    p_burst_ans = np.ones(len(pairs))
    f_ab = f_ba = np.ones(len(pairs))
    use_burst = use_times and cfg.copy_use_burst
    if use_burst:
        sub = np.array([att.submitted_at for att in attempts], dtype=float)
        w, k, strata = cfg.burst_window_s, cfg.min_common_items, cfg.timing_strata
        if cfg.burst_statistic not in ("count", "weighted"):
            raise ValueError(
                f"burst_statistic must be 'count' or 'weighted': {cfg.burst_statistic!r}"
            )
        wab = wba = None
        if cfg.burst_statistic == "weighted":
            wab = _burst_weights(model, a, b)
            wba = _burst_weights(model, b, a)
        bab = burst_after_submit(m, sub, a, b, window_s=w, min_items=k, strata=strata, weights=wab)
        bba = burst_after_submit(m, sub, b, a, window_s=w, min_items=k, strata=strata, weights=wba)
        p_burst = np.minimum(1.0, 2.0 * np.minimum(bab.p_value, bba.p_value))
        # the burst test conditions on the answers, so per direction it combines with the
        # answer test by Fisher's method; then Bonferroni over the three pair tests
        # (answers, timing, answers+burst) wherever the records carry save times (a fixed
        # factor: it does not depend on whether the burst window holds any save)
        f_ab = np.where(enough, fisher_pair(ab.p_value, bab.p_value), 1.0)
        f_ba = np.where(enough, fisher_pair(ba.p_value, bba.p_value), 1.0)
        p_burst_ans = np.minimum(1.0, 2.0 * np.minimum(f_ab, f_ba))
        best = np.minimum(np.minimum(p_ans, p_time), p_burst_ans)
        p_pair = np.where(timed, np.minimum(1.0, 3.0 * best), p_ans)
    win_ab: WindowStats | None = None
    win_ba: WindowStats | None = None
    p_window = np.ones(len(pairs))
    p_order = np.ones(len(pairs))
    use_order = use_burst and cfg.copy_use_order
    if use_order:
        # the answers and the order of what the copier entered after the source submitted
        win_ab = _window(model, m, attempts, a, b, cfg)
        win_ba = _window(model, m, attempts, b, a, cfg)
        p_window = np.where(
            enough, np.minimum(1.0, 2.0 * np.minimum(win_ab.p_value, win_ba.p_value)), 1.0
        )
        p_order = np.where(
            enough, np.minimum(1.0, 2.0 * np.minimum(win_ab.p_order, win_ba.p_order)), 1.0
        )
        best = np.minimum(np.minimum(p_ans, p_time), np.minimum(p_burst_ans, p_window))
        p_pair = np.where(timed, np.minimum(1.0, 4.0 * best), p_ans)
    together = np.zeros(len(pairs), dtype=bool)
    p_together = np.ones(len(pairs))
    together_copier: IntArray | None = None
    level = np.zeros(len(pairs))
    p_narrow = p_pair  # every pair's p-value at its share of copy_alpha alone
    if use_order and win_ab is not None and win_ba is not None and cfg.together_alpha > 0:
        # Weighted Bonferroni: a pair that sat together (one address or unit, one still
        # answering when the other handed in) gets a larger share of the error budget for
        # the window answers alone, the evidence a shuffling burst copier cannot avoid.
        # Its per-pair error is at most copy_alpha + together_alpha; other pairs' unchanged.
        together = enough & _sat_together(attempts, a, b) & (win_ab.available | win_ba.available)
        p_together = np.where(
            together, np.minimum(1.0, 2.0 * np.minimum(win_ab.p_answers, win_ba.p_answers)), 1.0
        )
        together_copier = np.where(win_ab.p_answers <= win_ba.p_answers, a, b)
        level = together_levels(together, a, b, m.n_attempts, cfg)
        scaled = np.minimum(1.0, p_together * cfg.copy_alpha / np.maximum(level, 1e-300))
        p_pair = np.where(together, np.minimum(p_pair, scaled), p_pair)
    n_tested = int(enough.sum())
    if cfg.copy_correction == "bonferroni":
        threshold = cfg.copy_alpha / max(1, n_tested)
    else:
        threshold = cfg.copy_alpha
    findings: list[PairFinding] = []
    for q in np.nonzero(p_pair < threshold)[0]:
        forward = ab.p_value[q] <= ba.p_value[q]
        t_dir: TimingStats | None = None
        b_dir: BurstStats | None = None
        if tab is not None and tba is not None:
            # orient by the most significant of the directional tests
            best_fwd = min(ab.p_value[q], tab.p_value[q])
            best_bwd = min(ba.p_value[q], tba.p_value[q])
            if bab is not None and bba is not None:
                best_fwd = min(best_fwd, f_ab[q])
                best_bwd = min(best_bwd, f_ba[q])
            if win_ab is not None and win_ba is not None:
                best_fwd = min(best_fwd, win_ab.p_value[q])
                best_bwd = min(best_bwd, win_ba.p_value[q])
            forward = bool(best_fwd <= best_bwd)
            t_dir = tab if forward else tba
            if bab is not None and bba is not None:
                b_dir = bab if forward else bba
        d = ab if forward else ba
        w_dir = (
            (win_ab if forward else win_ba) if win_ab is not None and win_ba is not None else None
        )
        win_q = w_dir is not None and bool(w_dir.available[q])
        timed_q = t_dir is not None and bool(t_dir.available[q])
        burst_q = b_dir is not None and timed_q
        src = int(d.source[q])
        findings.append(
            PairFinding(
                copier=int(d.copier[q]),
                source=int(d.source[q]),
                p_value=float(p_pair[q]),
                omega=float(d.omega[q]),
                matches=int(d.matches[q]),
                expected=float(d.expected[q]),
                n_common=int(d.n_common[q]),
                identical_wrong=int(d.identical_wrong[q]),
                expected_wrong=float(d.expected_wrong[q]),
                wrong_common=int(d.wrong_common[q]),
                p_count=float(d.p_count[q]),
                p_wrong=float(d.p_wrong[q]),
                weighted=float(d.weighted[q]),
                p_answers=float(p_ans[q]),
                timing_p=float(p_time[q]) if timed_q else None,
                aligned=int(t_dir.aligned[q]) if t_dir is not None and timed_q else None,
                expected_aligned=float(t_dir.expected[q])
                if t_dir is not None and timed_q
                else None,
                timed_matches=int(t_dir.n_matched[q]) if t_dir is not None and timed_q else None,
                window_s=cfg.timing_window_s if timed_q else None,
                burst_p=float(p_burst[q]) if burst_q else None,
                burst_answers_p=float(p_burst_ans[q]) if burst_q else None,
                burst=int(b_dir.burst[q]) if b_dir is not None and burst_q else None,
                expected_burst=float(b_dir.expected[q]) if b_dir is not None and burst_q else None,
                burst_in_window=int(b_dir.in_window[q]) if b_dir is not None and burst_q else None,
                burst_window_s=cfg.burst_window_s if burst_q else None,
                source_submitted_at=float(attempts[src].submitted_at) if burst_q else None,
                **(_window_fields(w_dir, int(q), float(p_window[q])) if w_dir and win_q else {}),
                together_p=float(p_together[q]) if together[q] else None,
                together_level=float(level[q]) if together[q] else None,
                together_only=bool(p_narrow[q] >= threshold),
            )
        )
    findings.sort(key=lambda f: f.p_value)
    return CopyingResult(
        mode=mode,
        pairs=pairs,
        p_values=p_pair,
        candidate_reasons=reasons,
        threshold=threshold,
        type1_error=threshold,
        expected_false_pairs=threshold * n_tested,
        findings=findings,
        model=model,
        p_answers=p_ans,
        p_timing=p_time,
        timing_used=use_times,
        window_s=cfg.timing_window_s if use_times else None,
        p_burst=p_burst,
        p_burst_answers=p_burst_ans,
        burst_used=use_burst,
        burst_window_s=cfg.burst_window_s if use_burst else None,
        p_window=p_window,
        p_order=p_order,
        order_used=use_order,
        p_together=p_together,
        together_alpha=cfg.together_alpha if use_order and cfg.together_alpha > 0 else None,
        together_pairs=int(together.sum()),
        together_below=int((together & (p_together < level)).sum()),
        together_copier=together_copier,
    )


def together_levels(
    together: BoolArray, a: IntArray, b: IntArray, n: int, cfg: ForensicConfig
) -> FloatArray:
    """Each pair's wider level: ``together_alpha``, shared out when an examinee sat with
    more than ``together_partners`` others, so that an examinee's budget over all his
    partners stays at most together_alpha × together_partners however large his unit
    (a county bureau of a hundred sitting one exam at one address would otherwise give
    each of them a hundred chances)."""
    partners = np.bincount(a[together], minlength=n) + np.bincount(b[together], minlength=n)
    most = np.maximum(partners[a], partners[b]).astype(float)
    share = np.minimum(1.0, cfg.together_partners / np.maximum(most, 1.0))
    out: FloatArray = np.where(together, cfg.together_alpha * share, 0.0)
    return out


def _units(attempts: Sequence[AttemptRecord]) -> IntArray:
    """Each attempt's unit as the option model's group (−1 where unknown)."""
    return np.array([att.unit_id if att.unit_id else -1 for att in attempts], dtype=np.int64)


def _sat_together(attempts: Sequence[AttemptRecord], a: IntArray, b: IntArray) -> BoolArray:
    """Pairs at one network address or in one unit: where a ring sits."""
    ip = np.array([att.ip for att in attempts], dtype=object)
    unit = np.array([att.unit_id for att in attempts])
    same_ip = (ip[a] == ip[b]) & (ip[a] != "")
    same_unit = (unit[a] == unit[b]) & (unit[a] != 0)  # 0: the learner's unit is unknown
    out: BoolArray = same_ip | same_unit
    return out


def _window(
    model: AnswerCopyingIndex,
    m: ExamMatrix,
    attempts: Sequence[AttemptRecord],
    copier: IntArray,
    source: IntArray,
    cfg: ForensicConfig,
) -> WindowStats:
    """The window tests (:mod:`.order`) for ordered pairs, in chunks to bound memory."""
    sub = np.array([att.submitted_at for att in attempts], dtype=float)
    parts = []
    for s in range(0, max(1, len(copier)), _CHUNK):
        c, src = copier[s : s + _CHUNK], source[s : s + _CHUNK]
        p_rev, _ = model.match_probabilities(src, c)
        parts.append(
            window_tests(
                m,
                sub,
                p_rev,
                c,
                src,
                window_s=cfg.order_window_s,
                gamma=cfg.order_gamma,
                weight_step=model.weight_step,
                screen_z=model.screen_z,
                strata=cfg.timing_strata,
            )
        )
    fields = WindowStats.__dataclass_fields__
    return WindowStats(**{f: np.concatenate([getattr(p, f) for p in parts]) for f in fields})


def _window_fields(w: WindowStats, q: int, pair_p: float) -> dict[str, Any]:
    return {
        "window_p": pair_p,
        "window_items": int(w.in_window[q]),
        "window_matched": int(w.matched[q]),
        "window_answers_p": float(w.p_answers[q]),
        "order_p": float(w.p_order[q]),
        "order_pairs": int(w.order_pairs[q]),
        "concordant": int(w.concordant[q]),
    }
