"""Response times: van der Linden's lognormal model, pre-knowledge and rapid guessing.

Model: log t_ij = β_i − τ_j + ε_ij, ε_ij ~ N(0, 1/α_i²) – β_i the item's time intensity,
τ_j the examinee's speed, α_i the item's time discrimination. The estimates alternate
closed-form robust steps (medians and MADs, so a leaked subset answered very fast or a
handful of rapid guessers do not drag the item parameters):

    τ_j = median_i(β_i − y_ij);  β_i = median_j(y_ij + τ_j);  1/α_i = 1.4826·MAD_j(residual)

with Σ τ_j = 0 for identification. The standardised residual is z_ij = α_i(y_ij − (β_i − τ_j)).

* Person fit (Sinharay 2018): L_T = Σ_i z_ij², compared with χ²(n_j − 1).
* Pre-knowledge: the count k_j of items answered correctly with z_ij < −``fast_z``. Under
  the model P(z < −1.96) = 0.025 whatever the answer, so k_j is at most Binomial(n_j,
  0.025) and its upper tail is an exact (conservative) p-value.
* Rapid guessing (Wise & Ma, NT10): t_ij below min(10 % of the item's median time, 10 s),
  with accuracy on those responses not above chance. The p-value is the exact
  generalised-binomial tail of the rapid count, P_ij = Φ(α_i(log thr_i − β_i + τ_j)).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import stats
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from proctor.exams.forensics.config import ForensicConfig
from proctor.exams.forensics.data import ExamMatrix, poisson_binomial_sf

FloatArray = NDArray[np.float64]
_MAD = 1.4826


def _nanmedian(x: FloatArray, axis: int) -> FloatArray:
    out = np.full(x.shape[1 - axis], np.nan)
    ok = (~np.isnan(x)).any(axis=axis)
    if ok.any():
        sub = x[:, ok] if axis == 0 else x[ok, :]
        out[ok] = np.nanmedian(sub, axis=axis)
    return out


class LognormalRT(BaseEstimator):
    """The lognormal response-time model as a scikit-learn style estimator.

    ``fit(X)`` estimates β, α (items) and τ (the fitted examinees) from an
    :class:`ExamMatrix`; ``speed``/``residuals`` work on any matrix over the same items;
    ``score_samples`` is the L_T person-fit p-value (higher is more normal).
    """

    def __init__(self, max_iter: int = 15, min_alpha: float = 0.5, max_alpha: float = 10.0):
        self.max_iter = max_iter
        self.min_alpha = min_alpha
        self.max_alpha = max_alpha

    def fit(self, X: ExamMatrix, y: Any = None) -> LognormalRT:
        """Alternate the closed-form robust estimates of τ, β and α."""
        logt = np.log(X.seconds)
        beta = _nanmedian(logt, axis=0)
        beta = np.where(np.isnan(beta), np.nanmedian(logt) if np.isfinite(logt).any() else 0, beta)
        alpha = np.ones(X.n_items)
        tau = np.zeros(X.n_attempts)
        for _ in range(self.max_iter):
            tau = np.nan_to_num(_nanmedian(beta[None, :] - logt, axis=1))
            tau = tau - tau.mean()
            beta = _nanmedian(logt + tau[:, None], axis=0)
            beta = np.where(np.isnan(beta), 0.0, beta)
            resid = logt - (beta[None, :] - tau[:, None])
            mad = _nanmedian(np.abs(resid), axis=0) * _MAD
            alpha = np.clip(
                1.0 / np.where(np.isnan(mad) | (mad <= 0), 1.0, mad), self.min_alpha, self.max_alpha
            )
        self.beta_ = beta
        self.alpha_ = alpha
        self.tau_ = tau
        self.median_seconds_ = _nanmedian(X.seconds, axis=0)
        self.n_items_ = X.n_items
        return self

    def speed(self, X: ExamMatrix) -> FloatArray:
        """Each examinee's speed τ given the item parameters (robust: a median)."""
        check_is_fitted(self)
        return np.nan_to_num(_nanmedian(self.beta_[None, :] - np.log(X.seconds), axis=1))

    def residuals(self, X: ExamMatrix) -> FloatArray:
        """Standardised log-time residuals z_ij (NaN where the item was not timed)."""
        tau = self.speed(X)
        return self.alpha_[None, :] * (np.log(X.seconds) - (self.beta_[None, :] - tau[:, None]))

    def expected_seconds(self, X: ExamMatrix) -> FloatArray:
        """exp(β_i − τ_j): the model's typical time for each examinee on each item."""
        tau = self.speed(X)
        return np.exp(self.beta_[None, :] - tau[:, None])

    def person_fit(self, X: ExamMatrix) -> tuple[FloatArray, FloatArray, FloatArray]:
        """(L_T, degrees of freedom, p-value) per examinee.

        Here τ_j is the maximum-likelihood (α²-weighted mean) speed, under which L_T is
        exactly χ²(n_j − 1) given the item parameters (Sinharay 2018).
        """
        logt = np.log(X.seconds)
        w = np.where(np.isnan(logt), 0.0, self.alpha_[None, :] ** 2)
        d = np.nan_to_num(self.beta_[None, :] - logt)
        tau = (w * d).sum(1) / np.maximum(w.sum(1), 1e-12)
        z = self.alpha_[None, :] * (logt - (self.beta_[None, :] - tau[:, None]))
        n = (~np.isnan(z)).sum(1)
        lt = np.nansum(z**2, axis=1)
        df = np.maximum(n - 1, 1)
        return lt, df.astype(float), np.asarray(stats.chi2.sf(lt, df), dtype=float)

    def score_samples(self, X: ExamMatrix) -> FloatArray:
        """The L_T person-fit p-value (scikit-learn convention: higher is more normal)."""
        return self.person_fit(X)[2]


@dataclass(frozen=True)
class TimeFindings:
    """Per-attempt response-time statistics (arrays over the matrix's attempts)."""

    model: LognormalRT
    z: FloatArray
    expected: FloatArray
    lt: FloatArray
    lt_df: FloatArray
    lt_p: FloatArray
    n_timed: NDArray[np.int64]
    fast_correct: NDArray[np.int64]
    fast_correct_mask: NDArray[np.bool_]
    p_fast: FloatArray  # null probability of one fast response: Φ(−fast_z)
    preknowledge_p: FloatArray  # the examinee's p: 2 × min(count test, leaked-set test)
    preknowledge: NDArray[np.bool_]
    count_p: FloatArray  # the count test alone
    leak_p: FloatArray  # the leaked-set test alone (1 where it did not run)
    leak_items: list[list[int]]  # per attempt: the suspected leaked items (column indices)
    leak_fast_correct: NDArray[np.int64]  # of those, answered correctly faster than expected
    rapid_threshold: FloatArray  # per item, seconds
    rapid_mask: NDArray[np.bool_]
    n_rapid: NDArray[np.int64]
    rapid_correct: NDArray[np.int64]
    rapid_chance: FloatArray  # expected correct among rapid responses by chance
    rapid_accuracy_p: FloatArray  # P(≥ rapid_correct | chance)
    rapid_p: FloatArray
    rapid: NDArray[np.bool_]
    compromised: list[dict[str, Any]]


def leaked_set_test(
    z: FloatArray,
    correct: NDArray[np.bool_],
    fast_correct: NDArray[np.bool_],
    screened: NDArray[np.bool_],
    cfg: ForensicConfig,
) -> tuple[FloatArray, list[list[int]], NDArray[np.int64]]:
    """Pre-knowledge as the leak others reveal: one-sided rank test of the examinee's own
    residuals on the items *other* screened examinees answered fast and right, against his
    residuals on the rest.

    A leak is a fixed set of items, so those who hold it share it. For examinee j the set
    S_j comes only from the others (items at least ``leak_set_min`` of the other screened
    examinees answered correctly and fast, and at least ``leak_set_share`` of those who
    were shown it); under the model j's residuals are exchangeable over his items whatever
    S_j is, so the Mann-Whitney U test of "faster on S_j than on the rest" is exact. It sees
    an examinee who knew the leaked items but answered several of them only somewhat fast
    (residuals around −1.5), which the count of residuals below −1.96 misses.

    Returns per attempt the p-value (1 where S_j or the rest has fewer than two of his
    timed items), S_j as column indices, and the items of S_j he answered correctly
    faster than expected (z < 0).
    """
    n_att = z.shape[0]
    p = np.ones(n_att)
    sets: list[list[int]] = [[] for _ in range(n_att)]
    k = np.zeros(n_att, dtype=np.int64)
    flagged = np.nonzero(screened)[0]
    if len(flagged) < cfg.leak_set_min:  # nobody else can reveal a set
        return p, sets, k
    timed = ~np.isnan(z)
    count = fast_correct[flagged].sum(0)
    seen = timed[flagged].sum(0)
    for j in range(n_att):
        mine = screened[j]
        c = count - (fast_correct[j] if mine else 0)
        n = seen - (timed[j] if mine else 0)
        in_set = (c >= cfg.leak_set_min) & (c >= cfg.leak_set_share * np.maximum(n, 1))
        s_j = in_set & timed[j]
        rest = timed[j] & ~in_set
        if s_j.sum() < 2 or rest.sum() < 2:
            continue
        p[j] = float(
            stats.mannwhitneyu(z[j, s_j], z[j, rest], alternative="less", method="exact").pvalue
        )
        sets[j] = [int(i) for i in np.nonzero(s_j)[0]]
        k[j] = int((s_j & correct[j] & (np.nan_to_num(z[j]) < 0)).sum())
    return p, sets, k


def analyse_times(m: ExamMatrix, cfg: ForensicConfig) -> TimeFindings:
    """Fit the model on the exam and apply the pre-knowledge and rapid-guessing tests."""
    model = LognormalRT().fit(m)
    z = model.residuals(m)
    timed = ~np.isnan(z)
    n_timed = timed.sum(1)
    correct = np.nan_to_num(m.correct) > 0
    fast = timed & (np.nan_to_num(z, nan=0.0) < -cfg.fast_z)
    fc = fast & correct
    k = fc.sum(1)
    p_fast = float(stats.norm.cdf(-cfg.fast_z))
    pk_p = np.asarray(stats.binom.sf(k - 1, n_timed, p_fast), dtype=float)
    pk_p = np.where(k > 0, pk_p, 1.0)
    screened = (pk_p < cfg.preknowledge_alpha) & (k >= cfg.preknowledge_min_items)
    leak_p, leak_items, leak_k = leaked_set_test(z, correct, fc, screened, cfg)
    # Bonferroni over the two tests: the examinee's level stays preknowledge_alpha
    half = cfg.preknowledge_alpha / 2
    # the set test also asks for more fast right answers than the model expects (a mild
    # gate on the count test): an intersection, so it only makes the flag rarer
    pk = ((pk_p < half) & (k >= cfg.preknowledge_min_items)) | (
        (leak_p < half) & (leak_k >= cfg.leak_min_items) & (pk_p < cfg.leak_count_gate)
    )
    combined_p = np.minimum(1.0, 2 * np.minimum(pk_p, leak_p))

    thr = np.minimum(cfg.rapid_fraction * np.nan_to_num(model.median_seconds_), cfg.rapid_cap_s)
    rapid_mask = timed & (np.nan_to_num(m.seconds, nan=np.inf) < thr[None, :])
    n_rapid = rapid_mask.sum(1)
    rc = (rapid_mask & correct).sum(1)
    chance_sum = (rapid_mask * m.chance[None, :]).sum(1)
    mean_chance = np.where(n_rapid > 0, chance_sum / np.maximum(n_rapid, 1), 0.0)
    acc_p = np.where(
        n_rapid > 0, np.asarray(stats.binom.sf(rc - 1, n_rapid, mean_chance), dtype=float), 1.0
    )
    # speed from the responses above the threshold: a burst of rapid guesses must not
    # make the examinee look fast and so explain itself away
    tau = np.nan_to_num(
        _nanmedian(np.where(rapid_mask, np.nan, model.beta_[None, :] - np.log(m.seconds)), 1)
    )
    with np.errstate(divide="ignore"):
        p_rapid_item = stats.norm.cdf(
            model.alpha_[None, :] * (np.log(thr)[None, :] - model.beta_[None, :] + tau[:, None])
        )
    p_rapid_item = np.where(timed, p_rapid_item, 0.0)
    rapid_p = poisson_binomial_sf(p_rapid_item, n_rapid.astype(np.int64))
    share = n_rapid / np.maximum(n_timed, 1)
    rapid = (
        (n_rapid >= cfg.rapid_min_items)
        & (share >= cfg.rapid_min_share)
        & (acc_p >= cfg.rapid_chance_alpha)
    )

    compromised: list[dict[str, Any]] = []
    flagged = np.nonzero(pk)[0]
    if len(flagged):
        among = fc[flagged].sum(0)
        seen = m.presented[flagged].sum(0)
        everyone = fc.sum(0)
        n_item = timed.sum(0)
        item_p = stats.binom.sf(everyone - 1, n_item, p_fast)
        for i in np.nonzero(
            (among >= cfg.compromised_min_count)
            & (among >= cfg.compromised_min_share * np.maximum(seen, 1))
        )[0]:
            compromised.append(
                {
                    "item": m.item_ids[i],
                    "flagged_fast_correct": int(among[i]),
                    "flagged_presented": int(seen[i]),
                    "all_fast_correct": int(everyone[i]),
                    "all_timed": int(n_item[i]),
                    "p_value": float(item_p[i]),
                }
            )
        compromised.sort(key=lambda d: d["p_value"])
    return TimeFindings(
        model=model,
        z=z,
        expected=model.expected_seconds(m),
        lt=(lt := model.person_fit(m))[0],
        lt_df=lt[1],
        lt_p=lt[2],
        n_timed=n_timed.astype(np.int64),
        fast_correct=k.astype(np.int64),
        fast_correct_mask=fc,
        p_fast=np.full(m.n_attempts, p_fast),
        preknowledge_p=combined_p,
        preknowledge=pk,
        count_p=pk_p,
        leak_p=leak_p,
        leak_items=leak_items,
        leak_fast_correct=leak_k,
        rapid_threshold=thr,
        rapid_mask=rapid_mask,
        n_rapid=n_rapid.astype(np.int64),
        rapid_correct=rc.astype(np.int64),
        rapid_chance=chance_sum,
        rapid_accuracy_p=acc_p,
        rapid_p=rapid_p,
        rapid=rapid,
        compromised=compromised,
    )
