"""The detection batch job: features for a period, fit or load the model, store flags."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import update

from models import DetectionFlag
from proctor.detection import artifact
from proctor.detection.features import FEATURES, TZ, features_for_period
from proctor.detection.rules import load_thresholds
from proctor.detection.scoring import Decision, Detector, fit, score
from proctor.kernel.context import Context
from proctor.kernel.progress import Progress, silent
from proctor.kernel.races import hold_lock
from proctor.review.intake import IntakeResult, raise_flags
from proctor.review.learning import Label, study_labels


@dataclass(frozen=True)
class DetectResult:
    """What a detection run did."""

    learners: int
    flagged: int
    model_version: str
    decisions: list[Decision]
    cases_opened: int = 0
    cases_merged: int = 0
    labels: int = 0


def period_bounds(start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The period [start, end] in academy days as UTC instants."""
    lo = dt.datetime(start.year, start.month, start.day, tzinfo=TZ)
    hi = dt.datetime(end.year, end.month, end.day, tzinfo=TZ) + dt.timedelta(days=1)
    return lo.astimezone(dt.UTC), hi.astimezone(dt.UTC)


async def reviewed_examples(ctx: Context) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """Reviewers' decisions so far as training data: each decided learner-period's features
    (recomputed over that case's period, against that period's cohort) and its label."""
    async with ctx.db() as s:
        labels = await study_labels(s)
        by_period: dict[tuple[dt.date, dt.date], list[Label]] = {}
        for label in labels:
            by_period.setdefault((label.period_start, label.period_end), []).append(label)
        rows: list[NDArray[np.float64]] = []
        ys: list[int] = []
        for (start, end), group in by_period.items():
            lo, hi = period_bounds(start, end)
            ids, X = await features_for_period(s, lo, hi)
            index = {int(i): n for n, i in enumerate(ids)}
            for label in group:
                if label.learner_id in index:
                    rows.append(X[index[label.learner_id]])
                    ys.append(label.label)
    if not rows:
        return np.zeros((0, len(FEATURES))), np.zeros(0, dtype=np.int64)
    return np.vstack(rows), np.asarray(ys, dtype=np.int64)


async def run_detect(
    ctx: Context,
    start: dt.date,
    end: dt.date,
    *,
    retrain: bool = True,
    store: bool = True,
    random_state: int = 0,
    target_fpr: float | None = None,
    progress: Progress = silent,
) -> DetectResult:
    """Score every learner who studied in the period and store the flags."""
    steps = ("读取学习会话", "计算特征", "拟合模型", "评分并保存标记")
    step = 0

    def advance() -> None:
        nonlocal step
        step += 1
        progress(f"异常检测·{steps[min(step, len(steps) - 1)]}", step, len(steps))

    progress(f"异常检测·{steps[0]}", 0, len(steps))
    lo, hi = period_bounds(start, end)
    async with ctx.db() as s:
        ids, X = await features_for_period(s, lo, hi)
    advance()
    folder = ctx.settings.data_dir / "models"
    detector: Detector | None = None if retrain else artifact.load_current(folder)
    if len(ids) == 0:
        # Nobody finished a session in the period (a holiday week, a new deployment): no
        # cohort to fit on or score, and the period's earlier flags stay as they were.
        progress(f"异常检测·{steps[-1]}", len(steps), len(steps))
        return DetectResult(0, 0, "", [])
    advance()
    labels_used = 0
    if detector is None:
        reviewed_X, reviewed_y = await reviewed_examples(ctx)
        labels_used = len(reviewed_y)
        detector = fit(
            X,
            load_thresholds(ctx.settings.detection_thresholds),
            window=(start, end),
            reviewed_X=reviewed_X,
            reviewed_y=reviewed_y,
            target_fpr=target_fpr or ctx.settings.detection_target_fpr,
            random_state=random_state,
        )
        artifact.save(detector, folder)
    advance()
    decisions = score(detector, ids, X)
    flagged = [d for d in decisions if d.flagged]
    taken = IntakeResult(0, 0, 0)
    if store:
        flags = [
            DetectionFlag(
                learner_id=d.learner_id,
                period_start=start,
                period_end=end,
                risk=d.risk,
                band=d.band,
                kind=d.kind,
                rules=d.rules,
                drivers=d.drivers,
                model_version=detector.version,
                thresholds=detector.thresholds,
            )
            for d in flagged
        ]
        async with ctx.db.begin() as s:
            # Two runs over one period at once (the schedule and an operator) take turns
            # here, or each would supersede only the flags before both and list everyone twice.
            await hold_lock(s, f"detect:{start}:{end}")
            # A rerun over the same period replaces what the last run said of it: the older
            # flags stay in their cases' history but leave the open list, so a learner is
            # not listed once per run (nor kept there by a run the new one contradicts).
            await s.execute(
                update(DetectionFlag)
                .where(
                    DetectionFlag.source == "study",
                    DetectionFlag.status == "open",
                    DetectionFlag.period_start == start,
                    DetectionFlag.period_end == end,
                )
                .values(status="superseded")
            )
            if flags:
                taken = await raise_flags(s, flags)
    progress(f"异常检测·{steps[-1]}", len(steps), len(steps))
    return DetectResult(
        len(decisions),
        len(flagged),
        detector.version,
        decisions,
        cases_opened=taken.opened,
        cases_merged=taken.merged,
        labels=labels_used,
    )


@dataclass(frozen=True)
class FlagView:
    """A flag as reviewers see it in the list."""

    id: int
    learner_id: int
    learner_name: str
    unit: str
    period: str
    risk: float
    band: str
    kind: str
    rules: list[dict[str, Any]]
    drivers: list[dict[str, Any]]
    model_version: str
    source: str = "study"  # study detection or exam forensics

    def as_dict(self) -> dict[str, Any]:
        """JSON shape."""
        return dict(self.__dict__)
