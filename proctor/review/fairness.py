"""Fairness monitoring: how often each group of learners is flagged and confirmed.

A detector that flags older cadres or one gender more often than others, without the
confirmations to match, costs those learners reviews they did not deserve. Reviewers and
administrators see the rates side by side (ratios only, no individual is shown).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import asdict, dataclass

from sqlalchemy import select

from models import Learner, ReviewCase, SessionSummary
from proctor.kernel.authz import Actor
from proctor.kernel.calendar import period_bounds
from proctor.kernel.context import Context
from proctor.review.queue import VIEW_ROLES
from proctor.review.states import label_of

GENDER = {"M": "男", "F": "女"}


def age_band(birth: dt.date, year: int) -> str:
    """Age at the end of the year, in the bands HR reports use."""
    age = year - birth.year
    if age < 35:
        return "35岁以下"
    if age < 45:
        return "35-44岁"
    if age < 55:
        return "45-54岁"
    return "55岁及以上"


@dataclass(frozen=True)
class GroupRate:
    """One group's study, flags and outcomes."""

    dimension: str
    group: str
    active: int  # learners who studied in the year
    flagged: int  # of them, learners with a case
    confirmed: int  # learners with a confirmed finding
    dismissed: int  # learners whose case was dismissed

    @property
    def flag_rate(self) -> float | None:
        """Share of active learners flagged."""
        return self.flagged / self.active if self.active else None

    @property
    def confirm_rate(self) -> float | None:
        """Share of decided flagged learners confirmed: low means the flags hit this group unfairly."""
        decided = self.confirmed + self.dismissed
        return self.confirmed / decided if decided else None

    def as_dict(self) -> dict[str, object]:
        """JSON shape."""
        return {**asdict(self), "flag_rate": self.flag_rate, "confirm_rate": self.confirm_rate}


def rates(
    learners: dict[int, tuple[str, dt.date, str]],
    active: set[int],
    outcomes: dict[int, list[int | None]],
    year: int,
) -> list[GroupRate]:
    """Group rates from plain data: learner attributes, who studied, case labels per learner."""
    keys = {
        "性别": lambda a: GENDER.get(a[0], a[0]),
        "年龄": lambda a: age_band(a[1], year),
        "职级": lambda a: a[2],
    }
    out = []
    for dimension, key in keys.items():
        counts: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
        for lid in active:
            c = counts[key(learners[lid])]
            c[0] += 1
            labels = outcomes.get(lid)
            if labels is not None:
                c[1] += 1
                c[2] += 1 in labels
                c[3] += 1 not in labels and 0 in labels
        for group in sorted(counts):
            a, f, conf, dis = counts[group]
            out.append(GroupRate(dimension, group, a, f, conf, dis))
    return out


async def fairness(ctx: Context, actor: Actor, year: int) -> list[GroupRate]:
    """Flag and confirmation rates by gender, age band and rank, for learners in authority."""
    actor.require(VIEW_ROLES, "查看公平性监测")
    lo, _ = period_bounds(dt.date(year, 1, 1), dt.date(year, 1, 1))
    _, hi = period_bounds(dt.date(year, 12, 31), dt.date(year, 12, 31))
    async with ctx.db() as s:
        active_rows = (
            await s.execute(
                select(Learner.id, Learner.gender, Learner.birth_date, Learner.rank).where(
                    actor.in_scope(Learner.org_path),
                    Learner.id.in_(
                        select(SessionSummary.learner_id).where(
                            SessionSummary.started_at >= lo, SessionSummary.started_at < hi
                        )
                    ),
                )
            )
        ).all()
        case_rows = (
            await s.execute(
                select(ReviewCase.learner_id, ReviewCase.state).where(
                    actor.in_scope(ReviewCase.org_path), ReviewCase.year == year
                )
            )
        ).all()
    learners = {lid: (g, b, r) for lid, g, b, r in active_rows}
    outcomes: dict[int, list[int | None]] = defaultdict(list)
    for lid, state in case_rows:
        if lid in learners:
            outcomes[lid].append(label_of(state))
    return rates(learners, set(learners), outcomes, year)
