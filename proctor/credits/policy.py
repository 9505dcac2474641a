"""Pure credit policy (Art. 12): class hours, credits per course, quota checks.

Decimal arithmetic only. A class hour (学时) is 45 minutes of lecture time; part hours are
rounded half up (不足或超过1个学时的按四舍五入法则计算), so 22 minutes is 0 class hours and
23 minutes is 1. Required courses earn 1 credit per class hour, electives 0.5; designated
credits (特殊课程指定学分) override the computation.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from models.catalog import CourseKind
from proctor.kernel.settings import Settings

ZERO = Decimal("0")
CENT = Decimal("0.01")


@dataclass(frozen=True)
class CreditRules:
    """The configurable numbers of Art. 12 (defaults are the measures' values)."""

    class_hour_minutes: int = 45
    required_per_hour: Decimal = Decimal("1")
    elective_per_hour: Decimal = Decimal("0.5")
    # Art. 12 defines the yearly total as required + elective and grants exam bonuses on top;
    # academies count the bonus towards the quota in practice, so it is on by default.
    bonus_counts_toward_total: bool = True


DEFAULT_RULES = CreditRules()


def credit_rules(settings: Settings) -> CreditRules:
    """The Art. 12 numbers as configured (the province may change them)."""
    return CreditRules(
        class_hour_minutes=settings.class_hour_minutes,
        required_per_hour=settings.required_credit_per_hour,
        elective_per_hour=settings.elective_credit_per_hour,
        bonus_counts_toward_total=settings.bonus_counts_toward_total,
    )


def class_hours(lecture_seconds: int, rules: CreditRules = DEFAULT_RULES) -> int:
    """Whole class hours for a lecture time, rounded half up."""
    if lecture_seconds < 0:
        raise ValueError("lecture time cannot be negative")
    hours = Decimal(lecture_seconds) / Decimal(rules.class_hour_minutes * 60)
    return int(hours.quantize(Decimal("1"), rounding=ROUND_HALF_UP))


def course_credits(
    kind: CourseKind,
    lecture_seconds: int,
    designated: Decimal | None = None,
    rules: CreditRules = DEFAULT_RULES,
) -> Decimal:
    """Credits a course earns on completion."""
    if designated is not None:
        if designated < 0:
            raise ValueError("designated credits cannot be negative")
        return designated.quantize(CENT)
    rate = rules.required_per_hour if kind is CourseKind.REQUIRED else rules.elective_per_hour
    return (rate * class_hours(lecture_seconds, rules)).quantize(CENT)


@dataclass(frozen=True)
class Quota:
    """A yearly quota: a total and a minimum from required courses."""

    total: Decimal
    required: Decimal


@dataclass(frozen=True)
class QuotaStatus:
    """How a learner's year stands against the quota."""

    total: Decimal
    required: Decimal
    elective: Decimal
    bonus: Decimal
    quota: Quota | None
    total_met: bool
    required_met: bool

    @property
    def met(self) -> bool:
        """Both the total and the required minimum are reached."""
        return self.total_met and self.required_met

    @property
    def remaining_total(self) -> Decimal:
        """Credits still needed for the total (never negative)."""
        return max(ZERO, self.quota.total - self.total) if self.quota else ZERO

    @property
    def remaining_required(self) -> Decimal:
        """Required-course credits still needed (never negative)."""
        return max(ZERO, self.quota.required - self.required) if self.quota else ZERO


def quota_status(
    required: Decimal,
    elective: Decimal,
    bonus: Decimal,
    quota: Quota | None,
    rules: CreditRules = DEFAULT_RULES,
) -> QuotaStatus:
    """Compare a year's credits by kind with its quota.

    The yearly total is required + elective credits plus, by default, exam bonuses
    (see :class:`CreditRules`); the required minimum counts required courses only.
    Without a quota (not in any target group) nothing is due, so both count as met.
    """
    total = required + elective + (bonus if rules.bonus_counts_toward_total else ZERO)
    if quota is None:
        return QuotaStatus(total, required, elective, bonus, None, True, True)
    return QuotaStatus(
        total, required, elective, bonus, quota, total >= quota.total, required >= quota.required
    )
