"""Simulate a population over a period through the real tracker; labels kept apart."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from proctor.kernel.context import Context
from proctor.kernel.progress import Progress, silent
from proctor.simulate import adversary
from proctor.simulate.behaviour import ARCHETYPES, HARD_NEGATIVES, Profile, fraud, honest
from proctor.simulate.driver import Driver
from proctor.simulate.world import SimLearner, SimWorld, build_world, world_from_database
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
    attacks: Sequence[str] = ARCHETYPES,
    honest_groups: Sequence[str] = HARD_NEGATIVES,
) -> SimResult:
    """Play everyone's sessions through the tracker.

    Without ``within`` the world (orgs, learners, catalog) is built in an empty database;
    with an org path, learners of that subtree in an existing database are used (the demo).
    ``attacks`` are the fraud variants dealt out in turn (from a seed-dependent start),
    ``honest_groups`` the hard negatives; the defaults are the nine base archetypes and
    the original hard negatives, :data:`ATTACKS` and :data:`HONEST_GROUPS` add the
    informed attacker's variants and their honest look-alikes.
    """
    rng = random.Random(seed)
    if within is None:
        world = await build_world(ctx, rng, learners=learners)
    else:
        world = await world_from_database(ctx, rng, org_path=within, learners=learners)
    n_fraud = round(len(world.learners) * fraud_share)
    people = list(world.learners)
    rng.shuffle(people)
    fraudsters, honest_people = people[:n_fraud], people[n_fraud:]
    profiles = _honest_profiles(
        rng, world, honest_people, days, day0, honest_groups, hard_negative_share
    )
    profiles += _attackers(rng, world, fraudsters, days, day0, attacks)
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


ATTACKS: tuple[str, ...] = ARCHETYPES + tuple(adversary.EVASIVE)
HONEST_GROUPS: tuple[str, ...] = HARD_NEGATIVES + adversary.HONEST_LOOKALIKES
FARMS = (
    "farm",
    "farm_sequential",
    "farm_fresh_ids",
    "farm_spaced",
    "farm_pair",
    "farm_pair_fixed",
    "farm_rotating",
)


def _honest_profiles(
    rng: random.Random,
    world: SimWorld,
    people: list[SimLearner],
    days: int,
    day0: dt.date,
    groups: Sequence[str],
    share: float,
) -> list[Profile]:
    shared: dict[int, str] = {}
    for learner in people:
        shared.setdefault(learner.unit_id, f"pc-office-{learner.unit_id:06d}")
    profiles: list[Profile] = []
    couples: list[Profile] = []
    cramming: list[Profile] = []
    for i, learner in enumerate(people):
        variant = groups[i % len(groups)] if groups and rng.random() < share else "plain"
        if variant not in adversary.HONEST_LOOKALIKES:
            profiles.append(honest(rng, world, learner, days, day0, variant, shared))
            continue
        base = honest(rng, world, learner, days, day0, "plain", shared)
        if variant == "traveller":
            profiles.append(adversary.traveller(rng, world, base, days, day0))
        elif variant == "new_laptop":
            profiles.append(adversary.new_laptop(rng, base, days, day0))
        elif variant == "new_home":
            profiles.append(adversary.new_laptop(rng, base, days, day0, moved=True))
        elif variant == "phone_at_home":
            profiles.append(adversary.new_laptop(rng, base, days, day0, phone=True))
        elif variant == "two_tab":
            profiles.append(adversary.two_tab(rng, world, base))
        elif variant == "couple_catch_up":
            cramming.append(base)
        else:
            couples.append(base)
    # A couple sharing one home PC lives in one city: pair them within a city (pairing across
    # cities made one partner "study from two cities a day", which no household does).
    by_city: dict[str, list[Profile]] = {}
    for base in couples:
        by_city.setdefault(base.learner.city_prefix, []).append(base)
    for group in by_city.values():
        for a, b in zip(group[::2], group[1::2], strict=False):
            profiles.extend(adversary.household(a, b))
        if len(group) % 2:
            profiles.append(replace(group[-1], variant="household"))
    # A cramming couple is rarer still: the partner is a plain learner of the same city.
    for base in cramming:
        partner = next(
            (
                p
                for p in profiles
                if p.variant == "plain" and p.learner.city_prefix == base.learner.city_prefix
            ),
            None,
        )
        if partner is None:
            profiles.append(replace(base, variant="couple_catch_up"))
            continue
        profiles.remove(partner)
        profiles.extend(adversary.couple_catch_up(rng, world, base, partner, days, day0))
    return profiles


def _attackers(
    rng: random.Random,
    world: SimWorld,
    people: list[SimLearner],
    days: int,
    day0: dt.date,
    attacks: Sequence[str],
) -> list[Profile]:
    profiles: list[Profile] = []
    turn = rng.randrange(len(attacks)) if attacks else 0
    k = 0
    while k < len(people) and attacks:
        variant = attacks[turn % len(attacks)]
        turn += 1
        if variant in FARMS:
            # One operator runs several accounts from one machine.
            if variant == "farm_rotating":
                size = rng.randint(5, 6)
            else:
                pair = variant in ("farm_pair", "farm_pair_fixed")
                size = {"farm": rng.randint(4, 5)}.get(variant, 2 if pair else rng.randint(3, 4))
            if k + size > len(people) and any(v not in FARMS for v in attacks):
                # Too few accounts left for this farm: a farm cut down to one or two accounts
                # is another variant (a proxy, a couple's PC); the rest get the other attacks.
                continue
            group = people[k : k + size]
            k += len(group)
            if variant == "farm_rotating":
                profiles += adversary.farm_rotating(rng, world, group, days, day0)
            elif variant == "farm":
                op = {
                    "device": f"farm-{rng.getrandbits(40):010x}",
                    "ip": f"{rng.choice(world.city_prefixes)}.77.{rng.randint(2, 250)}",
                }
                profiles += [fraud(rng, world, x, days, day0, "farm", op) for x in group]
            else:
                fresh = variant == "farm_fresh_ids"
                # past the hand-over window
                spaced = variant in ("farm_spaced", "farm_pair", "farm_pair_fixed")
                profiles += adversary.farm_sequential(
                    rng,
                    world,
                    group,
                    days,
                    day0,
                    fresh_ids=fresh,
                    variant=variant,
                    gap_s=(240.0, 600.0) if spaced else (20.0, 90.0),
                    addresses=1 if variant == "farm_pair_fixed" else 3,
                )
            continue
        learner = people[k]
        k += 1
        if variant in ARCHETYPES:
            profiles.append(fraud(rng, world, learner, days, day0, variant, {}))
        elif variant in (
            "script_humanlike",
            "script_low_slow",
            "script_round_clock",
            "script_paused",
        ):
            low = variant == "script_low_slow"
            clock = variant == "script_round_clock"
            paused = variant == "script_paused"
            profiles.append(
                adversary.script(
                    rng, world, learner, days, day0, low_slow=low, round_clock=clock, paused=paused
                )
            )
        elif variant in ("proxy_same_hours", "proxy_only", "proxy_local"):
            own = variant != "proxy_only"
            local = variant == "proxy_local"
            profiles.append(
                adversary.proxy_same_hours(
                    rng, world, learner, days, day0, owner_studies=own, local=local
                )
            )
        elif variant == "autoplay_low_slow":
            profiles.append(adversary.autoplay(rng, world, learner, days, day0))
        else:  # mixed_autoplay: an honest learner who lets a bot play in one week
            base = honest(rng, world, learner, days, day0, "plain", {})
            profiles.append(adversary.autoplay(rng, world, learner, days, day0, base))
    return profiles
