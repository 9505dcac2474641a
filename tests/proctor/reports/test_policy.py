"""Pure report policy, table-driven: bands, the schedule rule, scores, ranking, awards."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from proctor.reports.evaluation import (
    LearnerInput,
    UnitInput,
    Weights,
    learner_candidates,
    learner_eligible,
    parse_weights,
    rank_units,
    score_unit,
)
from proctor.reports.figures import band, ratio
from proctor.reports.progress import elapsed_months, expected_cents, is_behind


@pytest.mark.parametrize(
    ("total", "quota", "expected"),
    [
        (0, 4000, 0),
        (-100, 4000, 0),
        (1, 4000, 1),
        (999, 4000, 1),
        (1000, 4000, 2),
        (1999, 4000, 2),
        (2000, 4000, 3),
        (2999, 4000, 3),
        (3000, 4000, 4),
        (3999, 4000, 4),
        (4000, 4000, 5),
        (0, 0, 5),
    ],
)
def test_band_edges(total: int, quota: int, expected: int) -> None:
    assert band(total, quota) == expected


def test_ratio() -> None:
    assert ratio(2, 3) == Decimal("66.7")
    assert ratio(1, 0) == Decimal("0.0")


@pytest.mark.parametrize(
    ("year", "as_of", "months"),
    [
        (2026, dt.date(2026, 1, 31), 0),
        (2026, dt.date(2026, 10, 15), 9),
        (2026, dt.date(2027, 1, 2), 12),
        (2026, dt.date(2025, 12, 31), 0),
    ],
)
def test_elapsed_months(year: int, as_of: dt.date, months: int) -> None:
    assert elapsed_months(year, as_of) == months


@pytest.mark.parametrize(
    ("total", "required", "months", "tolerance", "behind"),
    [
        # Quota 40 / 24. After 9 months: 30 / 18 expected; with 10 % tolerance 27 / 16.20.
        (2700, 1620, 9, 10, False),
        (2699, 1620, 9, 10, True),
        (2700, 1619, 9, 10, True),
        (3000, 1800, 9, 0, False),
        (2999, 1800, 9, 0, True),
        (0, 0, 0, 10, False),  # January: nothing due yet
        (4000, 2400, 12, 0, False),
        (3999, 2400, 12, 0, True),
    ],
)
def test_behind_schedule(
    total: int, required: int, months: int, tolerance: int, behind: bool
) -> None:
    assert is_behind(total, required, 4000, 2400, months, tolerance) is behind


def test_expected_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="months"):
        expected_cents(4000, 13, 0)
    with pytest.raises(ValueError, match="percentage"):
        expected_cents(4000, 1, 101)


def unit(
    org_id: int, target: int, participated: int, met: int, cents: int, findings: int = 0
) -> UnitInput:
    return UnitInput(
        org_id, f"单位{org_id}", target, participated, met, cents, target * 4000, findings
    )


@pytest.mark.parametrize(
    ("u", "score"),
    [
        (unit(1, 10, 10, 10, 40000), Decimal("100.00")),
        (unit(2, 10, 10, 5, 30000), Decimal("70.00")),  # 30 + 25 + 15
        (unit(3, 10, 0, 0, 0), Decimal("0.00")),
        (unit(4, 10, 10, 10, 40000, findings=1), Decimal("90.00")),  # 1 per 10 = 10 per 100
        (unit(5, 10, 10, 10, 80000), Decimal("100.00")),  # credits share is capped at 1
        (unit(6, 0, 0, 0, 0), Decimal("0.00")),
        (unit(7, 10, 2, 0, 1000, findings=5), Decimal("0.00")),  # never below 0
    ],
)
def test_score(u: UnitInput, score: Decimal) -> None:
    assert score_unit(u, Weights()).score == score


def test_ranking_ties_and_org_award() -> None:
    units = [
        unit(1, 10, 10, 10, 40000),
        unit(2, 10, 10, 10, 40000, findings=1),
        unit(3, 10, 10, 10, 40000),
        unit(4, 10, 10, 5, 30000),
        unit(5, 0, 0, 0, 0),
    ]
    ranked = rank_units(units, Weights(org_award_share=Decimal("0.5")))
    assert [(s.org_id, s.rank) for s in ranked] == [(1, 1), (3, 1), (2, 3), (4, 4), (5, 0)]
    # Two slots (half of four ranked units); unit 2 has a finding, so 1 and 3 get them.
    assert [s.org_id for s in ranked if s.excellent_candidate] == [1, 3]
    strict = rank_units(units, Weights(org_min_score=Decimal("101")))
    assert not any(s.excellent_candidate for s in strict)


def person(
    i: int, total: int, met: bool = True, findings: int = 0, barred: bool = False
) -> LearnerInput:
    return LearnerInput(i, f"学员{i}", "单位", total, total // 2, met, findings, barred)


@pytest.mark.parametrize(
    ("p", "eligible"),
    [
        (person(1, 5000), True),
        (person(2, 5000, met=False), False),
        (person(3, 5000, findings=1), False),
        (person(4, 5000, barred=True), False),
    ],
)
def test_learner_eligibility(p: LearnerInput, eligible: bool) -> None:
    assert learner_eligible(p) is eligible


def test_learner_candidates_top_credits() -> None:
    people = [person(1, 4000), person(2, 6000, findings=1), person(3, 5000), person(4, 5000)]
    top = learner_candidates(people, Weights(learner_award_count=2))
    assert [p.learner_id for p in top] == [3, 4]


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ('{"nope": 1}', "unknown"),
        ('{"completion": -1}', "negative"),
        ('{"completion": true}', "number"),
        ("[1]", "object"),
    ],
)
def test_bad_weights_refused(raw: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        parse_weights(raw)


def test_weights_parse() -> None:
    w = parse_weights('{"completion": 0.6, "learner_award_count": 3}')
    assert w.completion == Decimal("0.6") and w.learner_award_count == 3
    assert parse_weights("") == Weights()
