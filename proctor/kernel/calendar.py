"""The academy's calendar: credit years and periods are China Standard Time days, not UTC."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

ACADEMY_TZ = ZoneInfo("Asia/Shanghai")


def study_year(at: dt.datetime) -> int:
    """The credit year a moment belongs to."""
    return at.astimezone(ACADEMY_TZ).year


def local_day(at: dt.datetime) -> dt.date:
    """The academy day of a moment."""
    return at.astimezone(ACADEMY_TZ).date()


def period_bounds(start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The period [start, end] in academy days as UTC instants."""
    lo = dt.datetime(start.year, start.month, start.day, tzinfo=ACADEMY_TZ)
    hi = dt.datetime(end.year, end.month, end.day, tzinfo=ACADEMY_TZ) + dt.timedelta(days=1)
    return lo.astimezone(dt.UTC), hi.astimezone(dt.UTC)


def local_text(value: dt.datetime | str | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A moment as people at the academy read it: academy local time, never UTC.

    Takes the aware datetimes the database gives and the ISO strings stored in JSON bodies
    (a naive one is UTC, as the server writes them); None is an empty string.
    """
    if value is None or value == "":
        return ""
    at = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
    if at.tzinfo is None:
        at = at.replace(tzinfo=dt.UTC)
    return at.astimezone(ACADEMY_TZ).strftime(fmt)
