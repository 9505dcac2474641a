"""Pure schedule policy: how far along the year a learner should be, and who is behind.

The schedule is linear by whole months: by the end of month *m* a learner is expected to
have *m*/12 of the quota (total and required minimum). A learner is behind when either is
short of that by more than the tolerance (``PROCTOR_REPORTS_SCHEDULE_TOLERANCE``, percent),
so a liaison in October sees who cannot finish at their current pace and can remind them.
Integer hundredths throughout: no rounding at the edge.
"""

from __future__ import annotations

import datetime as dt


def elapsed_months(year: int, as_of: dt.date) -> int:
    """Whole months of ``year`` completed before ``as_of`` (0 in January, 12 after the year)."""
    if as_of.year < year:
        return 0
    if as_of.year > year:
        return 12
    return as_of.month - 1


def year_closed(year: int, as_of: dt.date) -> bool:
    """The year is over: its reports speak of 未完成 (not met), not of 进度落后 (behind)."""
    return elapsed_months(year, as_of) == 12


def expected_cents(quota_cents: int, months: int, tolerance_pct: int) -> int:
    """Credits (hundredths) a learner must have after ``months`` not to count as behind."""
    if not 0 <= months <= 12:
        raise ValueError("months must be within 0..12")
    if not 0 <= tolerance_pct <= 100:
        raise ValueError("tolerance must be a percentage")
    if months == 12:
        # The year is over: the tolerance was for pacing, and short of the quota now simply
        # means the year's requirement was not met (未完成), never "behind schedule".
        return quota_cents
    # Floor: a learner exactly on the (tolerated) line is on schedule.
    return quota_cents * months * (100 - tolerance_pct) // 1200


def is_behind(
    total_cents: int,
    required_cents: int,
    quota_total_cents: int,
    quota_required_cents: int,
    months: int,
    tolerance_pct: int,
) -> bool:
    """Short of the linear schedule on the total or on the required minimum."""
    return total_cents < expected_cents(
        quota_total_cents, months, tolerance_pct
    ) or required_cents < expected_cents(quota_required_cents, months, tolerance_pct)


def month_starts_utc(year: int, tz: dt.tzinfo) -> list[dt.datetime]:
    """The academy-time starts of months 2..12 of ``year``, in UTC (the month boundaries)."""
    return [dt.datetime(year, m, 1, tzinfo=tz).astimezone(dt.UTC) for m in range(2, 13)]
