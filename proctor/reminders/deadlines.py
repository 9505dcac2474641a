"""Pure deadline policy of review work: when a case or an appeal is due, and when "soon".

A case should be decided within ``decide_days`` of opening and an appeal answered within
``answer_days`` of being lodged (settings; the measures set no number, the academy does);
a deadline within ``lead_days`` (or past) counts as near, for the to-do pages and reminders.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from models import CaseState


@dataclass(frozen=True)
class ReviewDays:
    """The configured numbers."""

    decide_days: int = 30
    answer_days: int = 15
    lead_days: int = 3


def due_at(
    state: CaseState,
    opened_at: dt.datetime,
    appealed_at: dt.datetime | None,
    days: ReviewDays,
) -> dt.datetime | None:
    """When the reviewer's next step is due; None when nothing waits for a reviewer."""
    if state in (CaseState.NEW, CaseState.IN_REVIEW):
        return opened_at + dt.timedelta(days=days.decide_days)
    if state is CaseState.APPEALED and appealed_at is not None:
        return appealed_at + dt.timedelta(days=days.answer_days)
    return None


def is_near(deadline: dt.datetime | None, now: dt.datetime, lead_days: int) -> bool:
    """Due within the lead time, or already overdue."""
    return deadline is not None and deadline <= now + dt.timedelta(days=lead_days)


def opened_before(now: dt.datetime, days: int, lead_days: int) -> dt.datetime:
    """Cases opened before this moment have a ``days`` deadline that is near (SQL filter)."""
    return now - dt.timedelta(days=days - lead_days)
