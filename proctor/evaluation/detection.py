"""Evaluate detection on simulated populations it was not tuned on, over several seeds.

Every seed simulates a fresh population through the real tracker: honest learners (a share
of them look-alikes of fraud: shared PCs, unit NAT, night shifts, catch-up, travel, a new
laptop, a couple's home PC, a two-tab habit) and attackers at a realistic base rate, dealt
the base archetypes and the variants of an attacker who read docs/detection.md. The
detector is fitted on the population it scores, as `proctor detect` does, without
reviewers' decisions (a fresh deployment has none): rules and the anomaly score decide.
Rates are pooled over seeds with Wilson 95 % intervals; per-seed counts are kept.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import math
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from sklearn.metrics import average_precision_score

from proctor.detection.features import features_for_period
from proctor.detection.rules import load_thresholds
from proctor.detection.scoring import Decision, fit, score
from proctor.kernel import migrate
from proctor.kernel.context import open_context
from proctor.kernel.settings import Settings
from proctor.simulate.adversary import NO_GAIN
from proctor.simulate.behaviour import HONEST
from proctor.simulate.run import ATTACKS, HONEST_GROUPS, SimResult, simulate

FAR_PAST = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
FAR_FUTURE = dt.datetime(2100, 1, 1, tzinfo=dt.UTC)
DEFAULT_SEEDS = (7101, 7102, 7103)  # unseen when chosen; figures since use fresh --seeds


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval for k successes out of n (0..1; (0, 1) when n is 0)."""
    if n == 0:
        return 0.0, 1.0
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return round(max(0.0, centre - half), 4), round(min(1.0, centre + half), 4)


def _rate(k: int, n: int) -> dict[str, Any]:
    lo, hi = wilson(k, n)
    return {"k": k, "n": n, "rate": round(k / n, 4) if n else None, "ci95": [lo, hi]}


def _fresh_database(folder: Path) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    db = folder / "sim.db"
    db.unlink(missing_ok=True)
    url = f"sqlite+aiosqlite:///{db}"
    migrate.upgrade(url)
    return url


async def _population(
    base: Settings, folder: Path, seed: int, learners: int, days: int, fraud_share: float
) -> tuple[SimResult, Any, Any]:
    # Alembic runs its own event loop: give it a thread, with the file work.
    url = await asyncio.to_thread(_fresh_database, folder)
    ctx = open_context(
        base.model_copy(update={"database_url": url, "data_dir": folder, "redis_url": ""})
    )
    try:
        result = await simulate(
            ctx,
            seed=seed,
            learners=learners,
            days=days,
            fraud_share=fraud_share,
            attacks=ATTACKS,
            honest_groups=HONEST_GROUPS,
        )
        async with ctx.db() as s:
            ids, X = await features_for_period(s, FAR_PAST, FAR_FUTURE)
    finally:
        await ctx.close()
    return result, ids, X


def _false_positive(variant: str, d: Decision | None) -> bool:
    """An honest learner flagged; for a two-tab habit only a behaviour flag counts (its
    technical R10 flag is the habit observed, which earns nothing)."""
    if d is None or not d.flagged:
        return False
    return d.kind == "behaviour" if variant in NO_GAIN else True


def _one_seed(
    base: Settings, workdir: Path, seed: int, learners: int, days: int, fraud_share: float
) -> dict[str, Any]:
    """Simulate, fit and score one population; what happened to every learner."""
    sim, ids, X = asyncio.run(
        _population(base, workdir / f"seed-{seed}", seed, learners, days, fraud_share)
    )
    window = (sim.day0, sim.day0 + dt.timedelta(days=days - 1))
    detector = fit(
        X,
        load_thresholds(base.detection_thresholds),
        window=window,
        target_fpr=base.detection_target_fpr,
        random_state=seed,
    )
    decisions = {d.learner_id: d for d in score(detector, ids, X)}
    people = []
    for lid, label in sim.labels.items():
        d = decisions.get(lid)  # no finished session: cannot be flagged, counts as missed
        people.append(
            {
                "learner_id": lid,
                "variant": sim.variants[lid],
                "attacker": label != HONEST,
                "flagged": bool(d and d.flagged),
                "false_positive": label == HONEST and _false_positive(sim.variants[lid], d),
                "band": d.band if d else "none",
                "rules": [r["id"] for r in d.rules] if d else [],
                "risk": d.risk if d else 0.0,
            }
        )
    return {"seed": seed, "people": people, "beats": sim.beats}


def evaluate(
    base: Settings,
    workdir: Path,
    *,
    seeds: Sequence[int] = DEFAULT_SEEDS,
    learners: int = 240,
    days: int = 14,
    fraud_share: float = 0.03,
    jobs: int = 1,
) -> dict[str, Any]:
    """Per attack variant recall, per honest group FPR, precision at the base rate, pooled
    over seeds (each simulated in its own process when ``jobs`` > 1)."""
    args = [(base, workdir, s, learners, days, fraud_share) for s in seeds]
    if jobs > 1 and len(seeds) > 1:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            runs = list(pool.map(_one_seed, *zip(*args, strict=True)))
    else:
        runs = [_one_seed(*a) for a in args]
    attack_hits: dict[str, list[int]] = {}
    honest_hits: dict[str, list[int]] = {}
    habit_hits: dict[str, list[int]] = {}
    per_seed: list[dict[str, Any]] = []
    flags_of_honest: list[dict[str, Any]] = []
    # Which evidence caught each variant: what an attacker who defeats one rule still meets.
    caught_by: dict[str, dict[str, int]] = {}
    for run in runs:
        seed_row: dict[str, Any] = {"seed": run["seed"], "variants": {}, "honest_groups": {}}
        for p in run["people"]:
            v = p["variant"]
            if p["attacker"]:
                hits, seen, counted = attack_hits, seed_row["variants"], p["flagged"]
                if p["flagged"]:
                    tally = caught_by.setdefault(v, {})
                    for rule in p["rules"] or ["anomaly"]:
                        tally[rule] = tally.get(rule, 0) + 1
            else:
                hits, seen, counted = honest_hits, seed_row["honest_groups"], p["false_positive"]
                if v in NO_GAIN:
                    habit = habit_hits.setdefault(v, [0, 0])
                    habit[0] += int(p["flagged"])
                    habit[1] += 1
                if counted:
                    flags_of_honest.append(
                        {
                            "seed": run["seed"],
                            "learner_id": p["learner_id"],
                            "group": v,
                            "band": p["band"],
                            "rules": p["rules"],
                        }
                    )
            for table in (hits, seen):
                row = table.setdefault(v, [0, 0])
                row[0] += int(counted)
                row[1] += 1
        y = [int(p["attacker"]) for p in run["people"]]
        seed_row["pr_auc"] = (
            round(float(average_precision_score(y, [p["risk"] for p in run["people"]])), 4)
            if any(y)
            else None
        )
        seed_row["beats_simulated"] = run["beats"]
        per_seed.append(seed_row)
    tp = sum(v[0] for v in attack_hits.values())
    fp = sum(v[0] for v in honest_hits.values())
    return {
        "seeds": list(seeds),
        "learners": learners,
        "days": days,
        "fraud_share": fraud_share,
        "variants": {k: _rate(*v) for k, v in sorted(attack_hits.items())},
        "honest_groups": {k: _rate(*v) for k, v in sorted(honest_hits.items())},
        "honest_fpr": _rate(fp, sum(v[1] for v in honest_hits.values())),
        "habits_flagged": {k: _rate(*v) for k, v in sorted(habit_hits.items())},
        "precision": _rate(tp, tp + fp),
        "recall": _rate(tp, sum(v[1] for v in attack_hits.values())),
        "per_seed": per_seed,
        "honest_flags": flags_of_honest,
        "caught_by": {k: dict(sorted(v.items())) for k, v in sorted(caught_by.items())},
    }
