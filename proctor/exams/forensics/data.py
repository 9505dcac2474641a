"""The plain-data interface of exam forensics, fed by the service layer from the database.

Answers are *canonical*: option identities independent of the display shuffle ("B"; a
multiple-choice answer is its sorted option ids, "AC"; true/false is "T"/"F"; "" is an
omitted item), so two examinees who chose the same option match wherever it was shown.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray


@dataclass(frozen=True)
class ItemInfo:
    """An item of the bank."""

    item_id: int
    n_options: int  # options of the item (2 for true/false)
    key: str  # canonical correct answer: "B", "AC" (multiple choice, sorted), "T"

    @property
    def chance(self) -> float:
        """Probability of a blind guess being right (a multi-letter key: any non-empty subset)."""
        if len(self.key) > 1:
            return 1.0 / float(2**self.n_options - 1)
        return 1.0 / max(1, self.n_options)


@dataclass(frozen=True)
class AttemptRecord:
    """One submitted exam attempt."""

    attempt_id: int
    learner_id: int
    answers: Mapping[int, str]  # item_id -> canonical answer ("" = omitted); drawn items only
    seconds: Mapping[int, float]  # item_id -> time on item, seconds
    submitted_at: float  # epoch seconds
    ip: str
    device: str
    unit_id: int
    # item_id -> epoch seconds of the item's final save (server clock); empty when unknown
    saved_at: Mapping[int, float] = field(default_factory=dict)


@dataclass(frozen=True)
class StudyHistory:
    """What the learner's own verified study looked like (devices, addresses, hours)."""

    learner_id: int
    devices: frozenset[str]
    ips: frozenset[str]
    verified_hours: float  # verified study time in the course / year
    # (correct, items) of the learner's own earlier exams, oldest first; empty when none
    past_scores: tuple[tuple[int, int], ...] = ()
    # the learner's speed τ (log-time, relative to each exam's cohort) in earlier exams
    past_speeds: tuple[float, ...] = ()
    # study-side flags (medium or high band) on the learner in the weeks before the exam
    study_flags: int = 0
    # the exam's course lecture time in hours: on a short course a whole study is short
    course_hours: float | None = None


@dataclass(frozen=True)
class ExamMatrix:
    """Attempts × items arrays built once and shared by the statistics.

    ``codes[a, i]`` is the answer's category on item ``i`` (``-1`` when the item was not
    drawn for the attempt); category ``0`` of every item is the omission "", category 1 is
    the key, and the other answers seen follow. ``seconds`` is NaN where not drawn.
    """

    item_ids: tuple[int, ...]
    attempt_ids: tuple[int, ...]
    codes: NDArray[np.int64]
    key_codes: NDArray[np.int64]  # always 1; kept explicit for readability
    n_codes: NDArray[np.int64]  # categories per item
    labels: tuple[tuple[str, ...], ...]  # per item: category -> canonical answer
    correct: NDArray[np.float64]  # 1/0, NaN where not drawn
    seconds: NDArray[np.float64]
    presented: NDArray[np.bool_]
    chance: NDArray[np.float64]  # per item
    # epoch seconds of each answer's final save (server clock), NaN where unknown/not drawn
    saved_at: NDArray[np.float64] | None = None

    @property
    def n_attempts(self) -> int:
        return len(self.attempt_ids)

    @property
    def n_items(self) -> int:
        return len(self.item_ids)


def build_matrix(items: Sequence[ItemInfo], attempts: Sequence[AttemptRecord]) -> ExamMatrix:
    """Code the attempts' answers per item (items not in ``items`` are ignored)."""
    item_ids = tuple(it.item_id for it in items)
    col = {iid: j for j, iid in enumerate(item_ids)}
    cats: list[dict[str, int]] = [{"": 0, it.key: 1} for it in items]
    n, m = len(attempts), len(items)
    codes = np.full((n, m), -1, dtype=np.int64)
    seconds = np.full((n, m), np.nan)
    saved_at = np.full((n, m), np.nan)
    for a, att in enumerate(attempts):
        for iid, ans in att.answers.items():
            j = col.get(iid)
            if j is None:
                continue
            c = cats[j].setdefault(ans, len(cats[j]))
            codes[a, j] = c
            t = att.seconds.get(iid)
            if t is not None and t > 0:
                seconds[a, j] = float(t)
            ts = att.saved_at.get(iid)
            if ts is not None and np.isfinite(ts):
                saved_at[a, j] = float(ts)
    presented = codes >= 0
    correct = np.where(presented, (codes == 1).astype(float), np.nan)
    labels = tuple(tuple(sorted(c, key=c.__getitem__)) for c in cats)
    return ExamMatrix(
        item_ids=item_ids,
        attempt_ids=tuple(att.attempt_id for att in attempts),
        codes=codes,
        key_codes=np.ones(m, dtype=np.int64),
        n_codes=np.array([len(c) for c in cats], dtype=np.int64),
        labels=labels,
        correct=correct,
        seconds=seconds,
        presented=presented,
        chance=np.array([it.chance for it in items]),
        saved_at=saved_at,
    )


def rasch_ability(
    correct: NDArray[np.float64], presented: NDArray[np.bool_], iterations: int = 30
) -> NDArray[np.float64]:
    """Rasch abilities by joint MAP (N(0,1) prior on ability, N(0,2²) on difficulty).

    Examinees see different subsets of the bank, so the proportion correct is not
    comparable across them; a Rasch estimate is, and costs a few vectorised Newton steps.
    """
    x = np.where(presented, np.nan_to_num(correct), 0.0)
    m = presented.astype(float)
    theta = np.zeros(x.shape[0])
    p_item = (x.sum(0) + 0.5) / (m.sum(0) + 1.0)
    b = -np.log(p_item / (1 - p_item))
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-(theta[:, None] - b[None, :])))
        r = m * (x - p)
        w = m * p * (1 - p)
        theta = theta + (r.sum(1) - theta) / (w.sum(1) + 1.0)
        p = 1.0 / (1.0 + np.exp(-(theta[:, None] - b[None, :])))
        r = m * (x - p)
        w = m * p * (1 - p)
        b = b - (r.sum(0) - b / 4.0) / (w.sum(0) + 0.25)
        theta = np.clip(theta, -5, 5)
        b = np.clip(b, -6, 6)
    return theta


def poisson_binomial_sf(p: NDArray[np.float64], observed: NDArray[np.int64]) -> NDArray[np.float64]:
    """Exact P(X >= observed) for X = Σ Bernoulli(p[q, i]), row by row (dynamic programming).

    ``p`` is rows × trials (use 0 for trials that do not count); vectorised over rows.
    """
    (p,) = compact_trials(p)
    rows, trials = p.shape
    dist = np.zeros((rows, trials + 1))
    dist[:, 0] = 1.0
    for i in range(trials):
        pi = p[:, i : i + 1]
        shifted = np.zeros_like(dist)
        shifted[:, 1:] = dist[:, :-1]
        dist = dist * (1.0 - pi) + shifted * pi
    tail = np.cumsum(dist[:, ::-1], axis=1)[:, ::-1]  # tail[:, k] = P(X >= k)
    k = np.clip(observed, 0, trials + 1)
    out = np.zeros(rows)
    inside = k <= trials
    out[inside] = tail[np.nonzero(inside)[0], k[inside]]
    return np.clip(np.where(k <= 0, 1.0, out), 0.0, 1.0)


def compact_trials(p: NDArray[np.float64], *others: NDArray[Any]) -> tuple[NDArray[Any], ...]:
    """Move each row's zero-probability trials to the end and drop the all-zero tail.

    The order of independent trials does not change their sum's law, and an examinee pair
    shares only the items drawn for both: on a large bank most columns are zeros.
    """
    nonzero = p > 0
    keep = int(nonzero.sum(1).max()) if p.size else 0
    if keep == p.shape[1]:
        return (p, *others)
    order = np.argsort(~nonzero, axis=1, kind="stable")[:, :keep]
    return tuple(np.take_along_axis(a, order, axis=1) for a in (p, *others))
