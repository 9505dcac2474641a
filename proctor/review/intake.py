"""Flags become cases: one open case per learner, category and period, new flags merged in."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models import CaseEvent, CaseState, DetectionFlag, Learner, ReviewCase, utcnow
from proctor.kernel.batches import batches

BAND_RANK = {"high": 3, "medium": 2, "low": 1}
# Each rule declares the misconduct it points at (``detection.rules.Rule.misconduct``, stored
# with the flag's reasons). Flags stored before rules declared it carry only their rule id:
# this table reads those. The case's kind is the strongest of its flags'.
LEGACY_RULE_KINDS = {
    "R08": "proxy",  # someone else's device and hours
    "R07": "proxy",
    "R06": "proxy",
    "R01": "fraud",
    "R02": "fraud",
    "R03": "fraud",
    "R09": "fraud",
    "R04": "bot",
    "R05": "bot",
    "T01": "technical",
}
KIND_ORDER = ("proxy", "fraud", "exam", "bot", "anomaly", "technical")


def priority(risk: float, band: str) -> int:
    """Queue order: band first, then risk; higher is more urgent."""
    return BAND_RANK.get(band, 0) * 1000 + round(max(0.0, min(1.0, risk)) * 999)


def category_of(flag: DetectionFlag) -> str:
    """Technical and data-quality flags are triaged apart from behaviour flags."""
    if flag.kind == "technical" or (
        flag.rules and all(r.get("kind") == "technical" for r in flag.rules)
    ):
        return "technical"
    return "behaviour"


def kind_of(flags: list[DetectionFlag]) -> str:
    """What the merged flags point at, for the queue's type filter."""
    kinds: Counter[str] = Counter()
    for f in flags:
        if f.source == "exam":
            kinds["exam"] += 1
        for r in f.rules:
            kinds[str(r.get("misconduct") or LEGACY_RULE_KINDS.get(str(r.get("id")), ""))] += 1
        if not f.rules:
            kinds["anomaly"] += 1
    for k in KIND_ORDER:
        if kinds[k]:
            return k
    return "anomaly"


@dataclass(frozen=True)
class IntakeResult:
    """What an intake run did."""

    flags: int
    opened: int
    merged: int


async def raise_flags(session: AsyncSession, flags: Sequence[DetectionFlag]) -> IntakeResult:
    """The one way a producer (detection, invigilation, exam forensics, the demo) raises flags:
    stored in the caller's transaction and taken into cases at once, so no flag waits outside
    the queue and every producer's flags merge by the same rules."""
    session.add_all(flags)
    await session.flush()
    return await intake(session)


async def intake(session: AsyncSession) -> IntakeResult:
    """Attach every flag not yet in a case to its learner's open case, opening one if needed.

    A flag joins an open case of the same learner and category whose period overlaps its own;
    the case widens to cover both periods and takes the higher risk and band.
    """
    flags = list(
        (
            await session.scalars(
                select(DetectionFlag)
                .where(DetectionFlag.case_id.is_(None))
                .order_by(DetectionFlag.learner_id, DetectionFlag.period_start, DetectionFlag.id)
            )
        ).all()
    )
    if not flags:
        return IntakeResult(0, 0, 0)
    learner_ids = sorted({f.learner_id for f in flags})
    paths: dict[int, str] = {}
    open_cases: dict[int, list[ReviewCase]] = defaultdict(list)  # by learner
    for batch in batches(learner_ids):
        rows = await session.execute(
            select(Learner.id, Learner.org_path).where(Learner.id.in_(batch))
        )
        paths.update({lid: path for lid, path in rows.all()})
        for c in await session.scalars(
            select(ReviewCase).where(
                ReviewCase.learner_id.in_(batch),
                ReviewCase.state.in_([CaseState.NEW, CaseState.IN_REVIEW]),
            )
        ):
            open_cases[c.learner_id].append(c)
    members: dict[int, list[DetectionFlag]] = {}
    opened = merged = 0
    now = utcnow()
    for flag in flags:
        category = category_of(flag)
        case = next(
            (
                c
                for c in open_cases[flag.learner_id]
                if c.category == category
                and c.period_start <= flag.period_end
                and flag.period_start <= c.period_end
            ),
            None,
        )
        if case is None:
            case = ReviewCase(
                learner_id=flag.learner_id,
                org_path=paths[flag.learner_id],
                year=flag.period_start.year,
                period_start=flag.period_start,
                period_end=flag.period_end,
                category=category,
                kind="anomaly",
                risk=flag.risk,
                band=flag.band,
                priority=priority(flag.risk, flag.band),
                state=CaseState.NEW,
                model_version=flag.model_version,
                thresholds=flag.thresholds,
                updated_at=now,
            )
            session.add(case)
            await session.flush()
            session.add(
                CaseEvent(
                    case_id=case.id,
                    action="open",
                    to_state=CaseState.NEW.value,
                    reason="由自动检测标记生成",
                    model_version=flag.model_version,
                    thresholds=flag.thresholds,
                    detail={"flag_id": flag.id},
                )
            )
            open_cases[flag.learner_id].append(case)
            members[case.id] = []
            opened += 1
        else:
            members.setdefault(case.id, [])
            case.period_start = min(case.period_start, flag.period_start)
            case.period_end = max(case.period_end, flag.period_end)
            if BAND_RANK.get(flag.band, 0) > BAND_RANK.get(case.band, 0):
                case.band = flag.band
            case.risk = max(case.risk, flag.risk)
            case.priority = priority(case.risk, case.band)
            case.model_version = flag.model_version
            case.thresholds = flag.thresholds
            case.updated_at = now
            session.add(
                CaseEvent(
                    case_id=case.id,
                    action="merge_flag",
                    from_state=case.state.value,
                    to_state=case.state.value,
                    reason="新的检测标记并入本案",
                    model_version=flag.model_version,
                    thresholds=flag.thresholds,
                    detail={"flag_id": flag.id},
                )
            )
            merged += 1
        flag.case_id = case.id
        members[case.id].append(flag)
    touched = [c for cases in open_cases.values() for c in cases if c.id in members]
    flags_of: dict[int, list[DetectionFlag]] = defaultdict(list)
    for batch in batches(c.id for c in touched):
        for f in await session.scalars(
            select(DetectionFlag).where(DetectionFlag.case_id.in_(batch))
        ):
            flags_of[f.case_id or 0].append(f)
    for c in touched:
        c.kind = kind_of(flags_of[c.id])
    await session.flush()
    return IntakeResult(len(flags), opened, merged)
