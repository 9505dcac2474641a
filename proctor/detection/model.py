"""The anomaly score and the supervised layer, as scikit-learn estimators.

* :class:`AnomalyDetector`: log-scaled, robust-standardised features into an
  IsolationForest; ``threshold_`` is the score below which a learner is flagged, chosen
  so that a fraction ``target_fpr`` of the (mostly honest) training cohort is flagged.
* :class:`ReviewedClassifier`: logistic regression on reviewers' decisions (confirmed
  vs. dismissed); it only fits once both classes have enough examples.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray
from sklearn.base import BaseEstimator, ClassifierMixin, OutlierMixin
from sklearn.ensemble import IsolationForest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, RobustScaler
from sklearn.utils.validation import check_array, check_is_fitted


def _signed_log(X: NDArray[np.float64]) -> NDArray[np.float64]:
    # Counts and durations are heavy-tailed; a signed log keeps their order and tames the tail.
    return np.sign(X) * np.log1p(np.abs(X))


class AnomalyDetector(OutlierMixin, BaseEstimator):
    """Isolation-forest anomaly score over learner-period features, calibrated to a target FPR."""

    def __init__(
        self,
        n_estimators: int = 200,
        max_samples: int | str = "auto",
        target_fpr: float = 0.005,
        random_state: int | None = None,
    ) -> None:
        self.n_estimators = n_estimators
        self.max_samples = max_samples
        self.target_fpr = target_fpr
        self.random_state = random_state

    def fit(self, X: Any, y: Any = None) -> AnomalyDetector:
        """Fit on a cohort's feature matrix; ``y`` is ignored (unsupervised)."""
        X = check_array(X)
        self.pipeline_: Pipeline = make_pipeline(
            FunctionTransformer(_signed_log),
            RobustScaler(quantile_range=(10.0, 90.0)),
            IsolationForest(
                n_estimators=self.n_estimators,
                max_samples=self.max_samples,
                random_state=self.random_state,
            ),
        )
        self.pipeline_.fit(X)
        self.n_features_in_ = X.shape[1]
        self.train_scores_ = np.sort(self.pipeline_.score_samples(X))
        self.threshold_ = float(np.quantile(self.train_scores_, self.target_fpr))
        return self

    def score_samples(self, X: Any) -> NDArray[np.float64]:
        """Higher is more normal (scikit-learn's convention)."""
        check_is_fitted(self)
        return np.asarray(self.pipeline_.score_samples(check_array(X)), dtype=float)

    def decision_function(self, X: Any) -> NDArray[np.float64]:
        """Negative below the calibrated threshold."""
        return self.score_samples(X) - self.threshold_

    def predict(self, X: Any) -> NDArray[np.int64]:
        """-1 for flagged outliers, 1 for inliers."""
        return np.where(self.decision_function(X) < 0, -1, 1)

    def anomaly_percentile(self, X: Any) -> NDArray[np.float64]:
        """Share of the training cohort that looks more normal than each row (0..1)."""
        return self.percentile_of(self.score_samples(X))

    def percentile_of(self, scores: NDArray[np.float64]) -> NDArray[np.float64]:
        """:meth:`anomaly_percentile` for scores already computed (scoring is the cost)."""
        check_is_fitted(self)
        more_normal = len(self.train_scores_) - np.searchsorted(
            self.train_scores_, scores, side="left"
        )
        return np.asarray(more_normal, dtype=float) / len(self.train_scores_)


class ReviewedClassifier(ClassifierMixin, BaseEstimator):
    """Learns from reviewers' decisions (1 = misconduct confirmed, 0 = dismissed)."""

    def __init__(
        self, C: float = 1.0, min_per_class: int = 5, random_state: int | None = None
    ) -> None:
        self.C = C
        self.min_per_class = min_per_class
        self.random_state = random_state

    def fit(self, X: Any, y: Any) -> ReviewedClassifier:
        """Fit when both classes have ``min_per_class`` examples; otherwise stay inactive."""
        X = check_array(X, ensure_min_samples=0)
        y = np.asarray(y, dtype=int)
        self.classes_ = np.array([0, 1])
        self.n_features_in_ = X.shape[1]
        counts = np.bincount(y, minlength=2)
        self.active_ = bool(counts.min() >= self.min_per_class)
        if self.active_:
            self.pipeline_: Pipeline = make_pipeline(
                FunctionTransformer(_signed_log),
                RobustScaler(quantile_range=(10.0, 90.0)),
                LogisticRegression(
                    C=self.C, class_weight="balanced", max_iter=2000, random_state=self.random_state
                ),
            )
            self.pipeline_.fit(X, y)
        return self

    def predict_proba(self, X: Any) -> NDArray[np.float64]:
        """Probability of misconduct; 0 for everyone while inactive."""
        check_is_fitted(self, "active_")
        X = check_array(X)
        if not self.active_:
            return np.column_stack([np.ones(len(X)), np.zeros(len(X))])
        return np.asarray(self.pipeline_.predict_proba(X), dtype=float)

    def predict(self, X: Any) -> NDArray[np.int64]:
        """1 where misconduct is more likely than not."""
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(np.int64)
