"""Pure yearly evaluation policy (Art. 15): unit scores, ranking, award candidates.

Score of a unit, 0..100, over its target learners (Art. 5)::

    100 × (w_participation × participation + w_completion × completion
           + w_credits × min(1, average credits / average quota))
    − findings_penalty × confirmed findings per 100 target learners        (floored at 0)

Excellent-organisation candidates (优秀组织奖): units with at least ``org_min_learners``
target learners, a score of at least ``org_min_score`` and no confirmed finding, best first,
at most ``org_award_share`` of the evaluated units (at least one when any qualifies).

Excellent-learner candidates (优秀学员奖): target learners who met the quota, have no
confirmed finding in the year and are not barred from an excellent rating (Art. 16), by total
credits, then required credits, then id; at most ``learner_award_count``.

Every number is configurable (``PROCTOR_REPORTS_EVALUATION``, a JSON object of these fields).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, fields, replace
from decimal import ROUND_HALF_UP, Decimal
from typing import Any


@dataclass(frozen=True)
class Weights:
    """The documented, configurable numbers of the evaluation."""

    participation: Decimal = Decimal("0.3")
    completion: Decimal = Decimal("0.5")
    credits: Decimal = Decimal("0.2")
    findings_penalty: Decimal = Decimal("1")
    org_min_score: Decimal = Decimal("80")
    org_min_learners: int = 1
    org_award_share: Decimal = Decimal("0.2")
    learner_award_count: int = 10

    def as_dict(self) -> dict[str, Any]:
        """JSON shape (decimals as strings once rendered)."""
        return asdict(self)


def parse_weights(raw: str) -> Weights:
    """Weights from the settings' JSON object; unknown keys or bad values are refused."""
    if not raw.strip():
        return Weights()
    data = json.loads(raw)
    if not isinstance(data, dict):
        raise ValueError("evaluation weights must be a JSON object")
    known = {f.name: f.type for f in fields(Weights)}
    changes: dict[str, Any] = {}
    for key, value in data.items():
        if key not in known:
            raise ValueError(f"unknown evaluation weight {key!r}")
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise ValueError(f"evaluation weight {key!r} must be a number")
        number = Decimal(str(value))
        if number < 0:
            raise ValueError(f"evaluation weight {key!r} cannot be negative")
        changes[key] = int(number) if key in ("org_min_learners", "learner_award_count") else number
    return replace(Weights(), **changes)


@dataclass(frozen=True)
class UnitInput:
    """What the evaluation needs of a unit."""

    org_id: int
    name: str
    target: int
    participated: int
    met: int
    cents: int
    quota_cents: int
    findings: int


@dataclass(frozen=True)
class UnitScore:
    """A unit's evaluation line."""

    org_id: int
    name: str
    target: int
    participation: Decimal  # percent
    completion: Decimal  # percent
    average: Decimal  # credits per target learner
    findings: int
    score: Decimal
    rank: int = 0
    excellent_candidate: bool = False

    def as_dict(self) -> dict[str, Any]:
        """JSON shape."""
        return asdict(self)


def _pct(part: int, whole: int) -> Decimal:
    return Decimal(part) / whole if whole else Decimal(0)


def score_unit(u: UnitInput, w: Weights) -> UnitScore:
    """One unit's score under the weights."""
    participation = _pct(u.participated, u.target)
    completion = _pct(u.met, u.target)
    credit_share = min(Decimal(1), _pct(u.cents, u.quota_cents)) if u.quota_cents else Decimal(0)
    findings_per_100 = _pct(u.findings * 100, u.target)
    raw = Decimal(100) * (
        w.participation * participation + w.completion * completion + w.credits * credit_share
    ) - (w.findings_penalty * findings_per_100)
    return UnitScore(
        org_id=u.org_id,
        name=u.name,
        target=u.target,
        participation=(participation * 100).quantize(Decimal("0.1"), ROUND_HALF_UP),
        completion=(completion * 100).quantize(Decimal("0.1"), ROUND_HALF_UP),
        average=(Decimal(u.cents) / 100 / u.target).quantize(Decimal("0.01"), ROUND_HALF_UP)
        if u.target
        else Decimal("0.00"),
        findings=u.findings,
        score=max(Decimal(0), raw).quantize(Decimal("0.01"), ROUND_HALF_UP),
    )


def rank_units(units: list[UnitInput], w: Weights) -> list[UnitScore]:
    """Scores, ranked (ties share a rank; by name for a stable order), award candidates marked.

    Units without target learners are listed last, unranked: nothing was due from them.
    """
    scored = [score_unit(u, w) for u in units]
    due = sorted((s for s in scored if s.target), key=lambda s: (-s.score, s.name, s.org_id))
    rest = sorted((s for s in scored if not s.target), key=lambda s: (s.name, s.org_id))
    ranked: list[UnitScore] = []
    for i, s in enumerate(due):
        rank = ranked[-1].rank if ranked and ranked[-1].score == s.score else i + 1
        ranked.append(replace(s, rank=rank))
    slots = max(1, math.floor(w.org_award_share * len(ranked))) if ranked else 0
    out = []
    for s in ranked:
        eligible = s.target >= w.org_min_learners and s.score >= w.org_min_score and s.findings == 0
        if eligible and slots > 0:
            slots -= 1
            s = replace(s, excellent_candidate=True)
        out.append(s)
    return out + rest


@dataclass(frozen=True)
class LearnerInput:
    """What the learner award needs of a target learner."""

    learner_id: int
    name: str
    unit: str
    total_cents: int
    required_cents: int
    met: bool
    findings: int
    barred: bool


def learner_eligible(learner: LearnerInput) -> bool:
    """Quota met, no confirmed finding this year, not barred from an excellent rating."""
    return learner.met and learner.findings == 0 and not learner.barred


def learner_candidates(learners: list[LearnerInput], w: Weights) -> list[LearnerInput]:
    """The eligible learners with the most credits, at most ``learner_award_count``."""
    eligible = [x for x in learners if learner_eligible(x)]
    eligible.sort(key=lambda x: (-x.total_cents, -x.required_cents, x.learner_id))
    return eligible[: w.learner_award_count]
