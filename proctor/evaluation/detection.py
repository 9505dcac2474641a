"""Evaluate detection on simulated populations the model was not tuned on.

A training population (another seed) is simulated, detected, and its flagged learners
"reviewed" with their ground truth, as reviewers would; the detector is fitted on it. A
fresh population (the given seed) is then simulated through the real tracker and scored.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import average_precision_score

from proctor.detection.features import features_for_period
from proctor.detection.rules import load_thresholds
from proctor.detection.scoring import fit, score
from proctor.kernel import migrate
from proctor.kernel.context import Context, open_context
from proctor.kernel.settings import Settings
from proctor.simulate.behaviour import ARCHETYPES, HONEST
from proctor.simulate.run import SimResult, simulate

FAR_PAST = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
FAR_FUTURE = dt.datetime(2100, 1, 1, tzinfo=dt.UTC)


def _fresh_database(folder: Path) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    db = folder / "sim.db"
    db.unlink(missing_ok=True)
    url = f"sqlite+aiosqlite:///{db}"
    migrate.upgrade(url)
    return url


async def _population(
    base: Settings, folder: Path, seed: int, learners: int, days: int
) -> tuple[Context, SimResult]:
    # Alembic runs its own event loop: give it a thread, with the file work.
    url = await asyncio.to_thread(_fresh_database, folder)
    ctx = open_context(
        base.model_copy(update={"database_url": url, "data_dir": folder, "redis_url": ""})
    )
    result = await simulate(ctx, seed=seed, learners=learners, days=days)
    return ctx, result


async def _features(ctx: Context) -> tuple[Any, Any]:
    async with ctx.db() as s:
        return await features_for_period(s, FAR_PAST, FAR_FUTURE)


async def evaluate(
    base: Settings, workdir: Path, *, seed: int, learners: int = 300, days: int = 14
) -> dict[str, Any]:
    """Train on another seed, test on ``seed``; report FPR, per-archetype recall/precision, PR-AUC."""
    thresholds = load_thresholds(base.detection_thresholds)
    train_ctx, train = await _population(base, workdir / "train", seed + 7919, learners, days)
    try:
        ids, X = await _features(train_ctx)
    finally:
        await train_ctx.close()
    window = (train.day0, train.day0 + dt.timedelta(days=days - 1))
    first = fit(
        X, thresholds, window=window, target_fpr=base.detection_target_fpr, random_state=seed
    )
    # Reviewers decide the training population's flags: those decisions train the supervised layer.
    flagged = np.array([d.flagged for d in score(first, ids, X)])
    y = np.array([int(train.labels[int(i)] != HONEST) for i in ids])
    detector = fit(
        X,
        thresholds,
        window=window,
        reviewed_X=X[flagged],
        reviewed_y=y[flagged],
        target_fpr=base.detection_target_fpr,
        random_state=seed,
    )

    test_ctx, test = await _population(base, workdir / "test", seed, learners, days)
    try:
        ids, X = await _features(test_ctx)
    finally:
        await test_ctx.close()
    decisions = {d.learner_id: d for d in score(detector, ids, X)}
    # A learner who never produced a finished session cannot be flagged: count them as missed.
    truth = test.labels
    honest_ids = [lid for lid, lab in truth.items() if lab == HONEST]
    honest_flagged = [lid for lid in honest_ids if lid in decisions and decisions[lid].flagged]
    archetypes: dict[str, dict[str, float]] = {}
    for name in ARCHETYPES:
        members = [lid for lid, lab in truth.items() if lab == name]
        hit = [lid for lid in members if lid in decisions and decisions[lid].flagged]
        precision = len(hit) / (len(hit) + len(honest_flagged)) if hit else 0.0
        archetypes[name] = {
            "recall": round(len(hit) / max(1, len(members)), 4),
            "precision": round(precision, 4),
            "n": len(members),
        }
    y_true = [int(truth[lid] != HONEST) for lid in truth]
    risk = [decisions[lid].risk if lid in decisions else 0.0 for lid in truth]
    variants: dict[str, dict[str, float]] = {}
    for lid in honest_ids:
        v = variants.setdefault(test.variants[lid], {"n": 0, "flagged": 0})
        v["n"] += 1
        v["flagged"] += int(lid in honest_flagged)
    return {
        "seed": seed,
        "learners": learners,
        "days": days,
        "honest_fpr": round(len(honest_flagged) / max(1, len(honest_ids)), 4),
        "pr_auc": round(float(average_precision_score(y_true, risk)), 4),
        "archetypes": archetypes,
        "honest_variants": variants,
        "honest_flags": [
            {
                "variant": test.variants[lid],
                "band": decisions[lid].band,
                "rules": [r["id"] for r in decisions[lid].rules],
            }
            for lid in honest_flagged
        ],
        "model_version": detector.version,
        "supervised_active": bool(detector.reviewed.active_),
        "beats_simulated": test.beats,
    }
