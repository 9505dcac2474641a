"""Reviewers' decisions as feedback: training labels for the detector, precision per rule and band."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import asdict, dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models import CaseState, DetectionFlag, ReviewCase
from proctor.kernel.authz import Actor
from proctor.kernel.context import Context
from proctor.review.states import label_of


@dataclass(frozen=True)
class Label:
    """One decided learner-period of study: 1 misconduct confirmed, 0 dismissed."""

    learner_id: int
    period_start: dt.date
    period_end: dt.date
    label: int


async def study_labels(session: AsyncSession) -> list[Label]:
    """Labels from decided behaviour cases built on study flags (exam flags train nothing here)."""
    decided = [s for s in CaseState if label_of(s) is not None]
    rows = (
        await session.execute(
            select(ReviewCase)
            .where(ReviewCase.state.in_(decided), ReviewCase.category == "behaviour")
            .where(
                ReviewCase.id.in_(
                    select(DetectionFlag.case_id).where(DetectionFlag.source == "study")
                )
            )
            .order_by(ReviewCase.id)
        )
    ).scalars()
    out = []
    for case in rows:
        label = label_of(case.state)
        assert label is not None  # noqa: S101 - filtered above
        out.append(Label(case.learner_id, case.period_start, case.period_end, label))
    return out


@dataclass(frozen=True)
class Precision:
    """How often a rule's or a band's flags were confirmed by a person, so far."""

    key: str
    name: str
    decided: int
    confirmed: int

    @property
    def precision(self) -> float | None:
        """Confirmed share of decided cases; None before any decision."""
        return self.confirmed / self.decided if self.decided else None

    def as_dict(self) -> dict[str, object]:
        """JSON shape."""
        return {**asdict(self), "precision": self.precision}


BAND_NAMES = {"high": "高风险", "medium": "中风险", "low": "低风险"}


async def precision_so_far(ctx: Context, actor: Actor) -> dict[str, list[Precision]]:
    """Per rule and per band: decided cases in the actor's authority and how many were confirmed."""
    decided = [s for s in CaseState if label_of(s) is not None]
    async with ctx.db() as s:
        rows = (
            await s.execute(
                select(ReviewCase.id, ReviewCase.state, ReviewCase.band, DetectionFlag.rules)
                .join(DetectionFlag, DetectionFlag.case_id == ReviewCase.id)
                .where(actor.in_scope(ReviewCase.org_path), ReviewCase.state.in_(decided))
            )
        ).all()
    rule_cases: dict[str, dict[int, int]] = defaultdict(dict)
    rule_names: dict[str, str] = {}
    band_cases: dict[str, dict[int, int]] = defaultdict(dict)
    for case_id, state, band, rules in rows:
        label = label_of(state)
        assert label is not None  # noqa: S101 - filtered above
        band_cases[band][case_id] = label
        for r in rules or []:
            rule_cases[str(r.get("id"))][case_id] = label
            rule_names[str(r.get("id"))] = str(r.get("name", ""))
        if not rules:
            rule_cases["model"][case_id] = label
            rule_names["model"] = "仅异常模型（未触发规则）"

    def summarise(groups: dict[str, dict[int, int]], names: dict[str, str]) -> list[Precision]:
        return [
            Precision(k, names.get(k, k), len(v), sum(v.values()))
            for k, v in sorted(groups.items())
        ]

    return {
        "rules": summarise(rule_cases, rule_names),
        "bands": summarise(band_cases, BAND_NAMES),
    }
