"""Simulate a population over a period through the real tracker; labels kept apart."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field

from proctor.kernel.context import Context
from proctor.kernel.progress import Progress, silent
from proctor.simulate.behaviour import ARCHETYPES, HARD_NEGATIVES, Profile, fraud, honest
from proctor.simulate.driver import Driver
from proctor.simulate.world import build_world, world_from_database
from proctor.study.runtime import make_tracker
from tracker.hotstate.memory import MemoryStore


@dataclass
class SimResult:
    """Ground truth of a run (never shown to the detector) and its volume."""

    labels: dict[int, str] = field(default_factory=dict)
    variants: dict[int, str] = field(default_factory=dict)
    sessions: int = 0
    beats: int = 0
    day0: dt.date = dt.date(2026, 3, 2)
    days: int = 0


async def simulate(
    ctx: Context,
    *,
    seed: int,
    learners: int = 300,
    days: int = 14,
    fraud_share: float = 0.2,
    hard_negative_share: float = 0.4,
    day0: dt.date = dt.date(2026, 3, 2),
    within: str | None = None,
    progress: Progress = silent,
) -> SimResult:
    """Play everyone's sessions through the tracker.

    Without ``within`` the world (orgs, learners, catalog) is built in an empty database;
    with an org path, learners of that subtree in an existing database are used (the demo).
    """
    rng = random.Random(seed)
    if within is None:
        world = await build_world(ctx, rng, learners=learners)
    else:
        world = await world_from_database(ctx, rng, org_path=within, learners=learners)
    n_fraud = int(learners * fraud_share)
    people = list(world.learners)
    rng.shuffle(people)
    fraudsters, honest_people = people[:n_fraud], people[n_fraud:]
    shared: dict[int, str] = {}
    for learner in honest_people:
        shared.setdefault(learner.unit_id, f"pc-office-{learner.unit_id:06d}")
    profiles: list[Profile] = []
    for i, learner in enumerate(honest_people):
        variant = (
            HARD_NEGATIVES[i % len(HARD_NEGATIVES)]
            if rng.random() < hard_negative_share
            else "plain"
        )
        profiles.append(honest(rng, world, learner, days, day0, variant, shared))
    operators: list[dict[str, str]] = []
    for i, learner in enumerate(fraudsters):
        archetype = ARCHETYPES[i % len(ARCHETYPES)]
        if archetype == "farm":
            # One operator runs about five accounts from one machine and address.
            if not operators or operators[-1]["n"] == "5":
                operators.append(
                    {
                        "device": f"farm-{rng.getrandbits(40):010x}",
                        "ip": f"{rng.choice(world.city_prefixes)}.77.{rng.randint(2, 250)}",
                        "n": "0",
                    }
                )
            operators[-1]["n"] = str(int(operators[-1]["n"]) + 1)
            profiles.append(fraud(rng, world, learner, days, day0, archetype, operators[-1]))
        else:
            profiles.append(fraud(rng, world, learner, days, day0, archetype, {}))
    tracker = make_tracker(ctx, MemoryStore(expire_ms=ctx.settings.session_expire_s * 1000))
    tracker.eager_flush = False
    driver = Driver(tracker, random.Random(seed + 1))
    result = SimResult(day0=day0, days=days)
    for profile in profiles:
        result.labels[profile.learner.id] = profile.label
        result.variants[profile.learner.id] = profile.variant
        for plan in profile.plans:
            driver.add(plan)
            result.sessions += 1
    await driver.run(progress)
    result.beats = driver.beats
    return result
