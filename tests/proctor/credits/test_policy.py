"""Credit policy at its boundaries (Art. 12), table-driven, no I/O."""

from __future__ import annotations

from decimal import Decimal

import pytest

from models.catalog import CourseKind
from proctor.credits.policy import CreditRules, Quota, class_hours, course_credits, quota_status

REQ, ELE = CourseKind.REQUIRED, CourseKind.ELECTIVE


@pytest.mark.parametrize(
    ("seconds", "hours"),
    [
        (0, 0),
        (22 * 60, 0),  # 0.489 h rounds down
        (22 * 60 + 29, 0),  # 22.48 min: still under half an hour
        (22 * 60 + 30, 1),  # exactly half a class hour rounds up
        (23 * 60, 1),
        (45 * 60, 1),
        (67 * 60 + 29, 1),
        (int(67.5 * 60), 2),  # 1.5 h rounds half up
        (90 * 60, 2),
        (112 * 60 + 30, 3),  # 2.5 h
    ],
)
def test_class_hours_round_half_up(seconds: int, hours: int) -> None:
    """Part class hours are rounded half up, never banker's rounding."""
    assert class_hours(seconds) == hours


@pytest.mark.parametrize(
    ("kind", "seconds", "designated", "credits"),
    [
        (REQ, 22 * 60, None, "0.00"),
        (REQ, 23 * 60, None, "1.00"),
        (ELE, 23 * 60, None, "0.50"),
        (REQ, int(67.5 * 60), None, "2.00"),
        (ELE, int(67.5 * 60), None, "1.00"),
        (ELE, 3 * 45 * 60, None, "1.50"),
        (REQ, 0, None, "0.00"),
        (REQ, 45 * 60, Decimal("5"), "5.00"),  # designated overrides
        (ELE, 10 * 60, Decimal("0.5"), "0.50"),
        (REQ, 45 * 60, Decimal("0"), "0.00"),
    ],
)
def test_course_credits(
    kind: CourseKind, seconds: int, designated: Decimal | None, credits: str
) -> None:
    """Required 1 credit, elective 0.5 per class hour; designated credits override."""
    result = course_credits(kind, seconds, designated)
    assert result == Decimal(credits)
    assert isinstance(result, Decimal)


def test_rules_are_configurable() -> None:
    """A province may change the class hour or the rates."""
    rules = CreditRules(class_hour_minutes=40, required_per_hour=Decimal("1.5"))
    assert course_credits(REQ, 60 * 60, rules=rules) == Decimal("3.00")  # 1.5 h -> 2 h


@pytest.mark.parametrize(
    ("required", "elective", "bonus", "met", "total_met", "required_met"),
    [
        ("24", "16", "0", True, True, True),
        ("23", "17", "0", False, True, False),  # 40 in total but 23 required: not met
        ("30", "9.5", "0", False, False, True),
        ("24", "14", "2", True, True, True),  # exam bonus counts toward the total
        ("40", "0", "0", True, True, True),
        ("0", "0", "0", False, False, False),
    ],
)
def test_quota(
    required: str, elective: str, bonus: str, met: bool, total_met: bool, required_met: bool
) -> None:
    """Pilot quota: 40 credits, at least 24 from required courses."""
    status = quota_status(
        Decimal(required), Decimal(elective), Decimal(bonus), Quota(Decimal(40), Decimal(24))
    )
    assert (status.met, status.total_met, status.required_met) == (met, total_met, required_met)


def test_bonus_can_be_excluded_from_total() -> None:
    """With bonus_counts_toward_total off, only required + elective count (Art. 12 literal)."""
    rules = CreditRules(bonus_counts_toward_total=False)
    status = quota_status(
        Decimal(24), Decimal(14), Decimal(2), Quota(Decimal(40), Decimal(24)), rules
    )
    assert status.total == Decimal(38)
    assert not status.met


def test_remaining_and_no_quota() -> None:
    """Remaining credits never go negative; learners outside any target group owe nothing."""
    status = quota_status(Decimal(20), Decimal(5), Decimal(0), Quota(Decimal(40), Decimal(24)))
    assert status.remaining_total == Decimal(15)
    assert status.remaining_required == Decimal(4)
    free = quota_status(Decimal(0), Decimal(0), Decimal(0), None)
    assert free.met
    assert free.remaining_total == 0


def test_negative_inputs_refused() -> None:
    """Negative lecture time or designated credits are data errors, not zero credit."""
    with pytest.raises(ValueError, match="negative"):
        class_hours(-1)
    with pytest.raises(ValueError, match="negative"):
        course_credits(REQ, 60, Decimal("-1"))
