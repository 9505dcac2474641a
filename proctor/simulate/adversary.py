"""Attackers who read docs/detection.md, and honest people who look like them.

Each attack variant removes the tell a published rule depends on (no concurrency on one
device, browser user agent, challenges answered with human latencies, courses in catalog
order, a proxy at the owner's hours, a little every day instead of a lot at once, cheating
only in some weeks). Honest look-alikes grow the innocent explanations the same way:
travel, a new laptop, a couple sharing a home PC, a habit of two tabs. Labels stay here.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import replace

from proctor.simulate.behaviour import (
    UA_DESKTOP,
    UA_MOBILE,
    Client,
    Plan,
    Profile,
    _device,
    _home_ip,
    _lessons_in_order,
    at,
)
from proctor.simulate.world import SimCourse, SimLearner, SimWorld

# Variants that gain the attacker credit they did not earn, and the families they belong to.
EVASIVE = {
    "farm_sequential": "farm",  # accounts one after another on one machine, rotating addresses
    "farm_fresh_ids": "farm",  # the same, with a fresh device id per account
    # 3-4 accounts, lessons 4-10 min apart: past the three-minute hand-over window
    "farm_spaced": "farm",
    # two accounts (one partner each, as a couple has), lessons 4-10 min apart: no hand-over
    "farm_pair": "farm",
    # the same from one fixed address (past R19): what a server sees of a couple's home PC
    "farm_pair_fixed": "farm",
    # two accounts a day, each until its yearly quota is earned, then the next client
    "farm_rotating": "farm",
    "script_humanlike": "paced_script",  # answers challenges like a person, catalog order
    "script_low_slow": "paced_script",  # the same, an hour or so a day
    # the same, reporting a hidden tab now and then (past R13), round the clock for two days
    "script_round_clock": "paced_script",
    # humanlike, pausing about once an hour and hiding 1.5 % of its beats (past R13's
    # thresholds, at under 2 % of its credit), under R17's 18 hours a day
    "script_paused": "paced_script",
    "proxy_same_hours": "human_proxy",  # new device in another city, at the owner's hours
    "proxy_only": "human_proxy",  # the same, for an owner who never studies: no change point
    # a proxy in the owner's own city (a relative, a colleague, a local service) on a new
    # device from their own home network, at the owner's hours: past R08's hour shift and R15
    "proxy_local": "human_proxy",
    "autoplay_low_slow": "autoplay_bot",  # one unattended lesson a day
    "mixed_autoplay": "autoplay_bot",  # honest most weeks, unattended nights in one
}
HONEST_LOOKALIKES = (
    "traveller",
    "new_laptop",
    "new_home",
    "phone_at_home",
    "household",
    "two_tab",
    "couple_catch_up",
)
# A habit that earns nothing (the tracker credits one stream): reported, not "fraud".
NO_GAIN = ("two_tab",)

HUMANLIKE = Client(
    interactions=0.3, latency_median_s=2.4, latency_sigma=0.5, pause_p=0.0, hide_p=0.0
)


def _plan(
    learner: SimLearner,
    item: tuple[SimCourse, int],
    start_ms: int,
    device: str,
    ip: str,
    client: Client,
) -> Plan:
    course, li = item
    secs = course.lessons[li].seconds
    return Plan(learner.id, course, li, start_ms, device, ip, UA_DESKTOP, client, secs)


def farm_sequential(
    rng: random.Random,
    world: SimWorld,
    accounts: list[SimLearner],
    days: int,
    day0: dt.date,
    *,
    fresh_ids: bool = False,
    variant: str = "",
    gap_s: tuple[float, float] = (20.0, 90.0),
    addresses: int = 3,
) -> list[Profile]:
    """One operator, one machine, a few rotating addresses: the accounts take turns, one
    lesson each, from morning to late evening, ``gap_s`` seconds between lessons; a browser
    driven by a script answers challenges with human latencies and jiggles the mouse.
    Nothing runs concurrently. ``addresses``: how many the operator rotates through."""
    variant = variant or ("farm_fresh_ids" if fresh_ids else "farm_sequential")
    prefix = rng.choice(world.city_prefixes)
    ips = [f"{prefix}.{rng.randint(100, 250)}.{rng.randint(2, 250)}" for _ in range(addresses)]
    machine = _device(rng, "pc")
    ids = {a.id: (_device(rng, "pc") if fresh_ids else machine) for a in accounts}
    client = replace(HUMANLIKE, interactions=0.15, latency_median_s=rng.uniform(1.8, 3.0))
    profiles = {a.id: Profile(a, "farm", variant) for a in accounts}
    queues = {a.id: _lessons_in_order(rng, world) for a in accounts}
    for day in range(days):
        if rng.random() < 0.15:
            continue  # a day off
        hour = rng.uniform(7.5, 9.0)
        turn = 0
        while hour < 23.0:
            a = accounts[turn % len(accounts)]
            turn += 1
            if not queues[a.id]:
                if all(not q for q in queues.values()):
                    break
                continue
            item = queues[a.id].pop(0)
            ip = ips[(day + turn) % len(ips)]
            # The machine is busy until the lesson ends; the driver waits for it if late.
            plan = _plan(a, item, at(day0, day, hour), ids[a.id], ip, client)
            profiles[a.id].plans.append(replace(plan, machine=machine))
            hour += item[0].lessons[item[1]].seconds / 3600 + rng.uniform(*gap_s) / 3600
    return list(profiles.values())


# About a year's quota of lecture (40 class hours of 45 minutes is 30 hours), as a paid
# operator delivers it: a client's account needs no more.
QUOTA_HOURS = (27.0, 32.0)


def farm_rotating(
    rng: random.Random,
    world: SimWorld,
    accounts: list[SimLearner],
    days: int,
    day0: dt.date,
) -> list[Profile]:
    """One operator's machine earning clients their yearly quota and moving on: two
    accounts a day take turns (4-10 minutes between lessons, past the hand-over window), as
    a couple at a home PC does, each until a year's lecture (or the catalog) is in; the next
    client starts on the next morning, so no day has three accounts. One device, a few
    rotating addresses, challenges answered by a script with human latencies."""
    prefix = rng.choice(world.city_prefixes)
    ips = [f"{prefix}.{rng.randint(100, 250)}.{rng.randint(2, 250)}" for _ in range(3)]
    machine = _device(rng, "pc")
    client = replace(HUMANLIKE, interactions=0.15, latency_median_s=rng.uniform(1.8, 3.0))
    profiles = {a.id: Profile(a, "farm", "farm_rotating") for a in accounts}
    queues = {a.id: _lessons_in_order(rng, world) for a in accounts}
    owed = {a.id: rng.uniform(*QUOTA_HOURS) for a in accounts}
    waiting = list(accounts)
    for day in range(days):
        if rng.random() < 0.15:
            continue  # a day off
        today = [a for a in waiting if owed[a.id] > 0 and queues[a.id]][:2]
        hour = rng.uniform(7.5, 9.0)
        turn = 0
        while hour < 23.0 and today:
            a = today[turn % len(today)]
            turn += 1
            item = queues[a.id].pop(0)
            ip = ips[(day + turn) % len(ips)]
            plan = _plan(a, item, at(day0, day, hour), machine, ip, client)
            profiles[a.id].plans.append(replace(plan, machine=machine))
            secs = item[0].lessons[item[1]].seconds
            owed[a.id] -= secs / 3600
            hour += secs / 3600 + rng.uniform(240.0, 600.0) / 3600
            today = [x for x in today if owed[x.id] > 0 and queues[x.id]]
        waiting = [a for a in waiting if owed[a.id] > 0 and queues[a.id]]
    return list(profiles.values())


def script(
    rng: random.Random,
    world: SimWorld,
    learner: SimLearner,
    days: int,
    day0: dt.date,
    *,
    low_slow: bool,
    round_clock: bool = False,
    paused: bool = False,
) -> Profile:
    """A script with a browser's name that paces beats with a person's jitter, answers
    every challenge after a human-looking delay and takes courses in catalog order; it never
    pauses or hides (every paused minute would cost it credit). ``round_clock``: it reports a
    hidden tab now and then (past R13's 1 %, for as much of its credit) and plays round the
    clock for its last two days. ``paused``: it pays R13's price, a one-beat pause about
    once an hour and a hidden tab on 1.5 % of its beats, and plays 10-14 h a day."""
    variant = (
        "script_round_clock"
        if round_clock
        else "script_low_slow"
        if low_slow
        else "script_paused"
        if paused
        else "script_humanlike"
    )
    profile = Profile(learner, "paced_script", variant)
    client = Client(
        mode="script",
        answer="human",
        interactions=0.3,
        latency_median_s=rng.uniform(1.8, 3.5),
        jitter_s=0.4,
        # about one pause an hour at a beat every 10 s: past R13's 0.5 an hour
        pause_p=1.0 / 360 if paused else 0.0,
        # round the clock it reports a hidden tab on one beat in fifty: past R13's 1 %,
        # for 2 % of its credit
        hide_p=0.02 if round_clock else 0.015 if paused else 0.0,
    )
    device, ip = _device(rng, "pc"), _home_ip(rng, learner.city_prefix)
    queue = [
        (c, i) for c in sorted(world.courses, key=lambda c: c.id) for i in range(len(c.lessons))
    ]
    if round_clock:
        hour = rng.uniform(0, 24)
        first = max(0, days - 3)
        while queue and hour < 48:
            item = queue.pop(0)
            profile.plans.append(_plan(learner, item, at(day0, first, hour), device, ip, client))
            hour += item[0].lessons[item[1]].seconds / 3600 + rng.uniform(15, 60) / 3600
        return profile
    run_days = range(days) if low_slow else range(days - rng.randint(2, 3), days)
    for day in run_days:
        hour = rng.uniform(8, 10) if not low_slow else rng.uniform(8, 21)
        budget = rng.uniform(0.8, 1.5) if low_slow else rng.uniform(10, 14)
        spent = 0.0
        while queue and spent < budget:
            item = queue.pop(0)
            secs = item[0].lessons[item[1]].seconds
            profile.plans.append(_plan(learner, item, at(day0, day, hour), device, ip, client))
            hour += secs / 3600 + rng.uniform(15, 60) / 3600
            spent += secs / 3600
    return profile


def proxy_same_hours(
    rng: random.Random,
    world: SimWorld,
    learner: SimLearner,
    days: int,
    day0: dt.date,
    *,
    owner_studies: bool = True,
    local: bool = False,
) -> Profile:
    """The owner studies a little at their habitual hours; in the last days a paid proxy in
    another city (``local``: in the owner's city, from the proxy's own home network), on a
    new device, does a burst at those same hours. Without ``owner_studies`` the owner never
    studies: the proxy's device, address and hours are all the account ever shows."""
    variant = "proxy_local" if local else "proxy_same_hours" if owner_studies else "proxy_only"
    profile = Profile(learner, "human_proxy", variant)
    queue = _lessons_in_order(rng, world)
    own, home_ip = _device(rng, "pc"), _home_ip(rng, learner.city_prefix)
    habit = rng.uniform(9, 11) if rng.random() < 0.5 else rng.uniform(19.5, 21)
    person = Client(interactions=0.5)
    switch = days - rng.randint(4, 6)
    for day in range(switch):
        if owner_studies and rng.random() < 0.45 and queue:
            ip = learner.unit_ip if habit < 12 else home_ip
            profile.plans.append(
                _plan(
                    learner, queue.pop(0), at(day0, day, habit + rng.uniform(0, 1)), own, ip, person
                )
            )
    other = (
        learner.city_prefix
        if local
        else rng.choice([p for p in world.city_prefixes if p != learner.city_prefix])
    )
    proxy_device, proxy_ip = _device(rng, "pc"), _home_ip(rng, other)
    while proxy_ip == home_ip:
        proxy_ip = _home_ip(rng, other)
    proxy = Client(interactions=rng.choice([0.2, 0.8]), latency_median_s=rng.uniform(1.5, 3.0))
    for day in range(switch, days):
        hour = habit + rng.uniform(-0.5, 0.5)
        for _ in range(rng.randint(3, 5)):
            if not queue:
                break
            item = queue.pop(0)
            profile.plans.append(
                _plan(learner, item, at(day0, day, hour), proxy_device, proxy_ip, proxy)
            )
            hour += item[0].lessons[item[1]].seconds / 3600 + 0.05
    return profile


def autoplay(
    rng: random.Random,
    world: SimWorld,
    learner: SimLearner,
    days: int,
    day0: dt.date,
    base: Profile | None = None,
) -> Profile:
    """Unattended playback with auto-answered prompts, but little of it: one lesson a day at
    varying daytime hours (low and slow), or (with ``base``, an honest profile) unattended
    nights during one week of otherwise honest study."""
    bot = Client(
        interactions=0.0,
        answer="bot",
        poll_s=rng.choice([1.0, 3.0]),
        muted=True,
        pause_p=0.0,
        hide_p=0.0,
    )
    if base is None:
        profile = Profile(learner, "autoplay_bot", "autoplay_low_slow")
        device, ip = _device(rng, "pc"), _home_ip(rng, learner.city_prefix)
        queue = _lessons_in_order(rng, world)
        for day in range(days):
            if queue and rng.random() < 0.85:
                profile.plans.append(
                    _plan(learner, queue.pop(0), at(day0, day, rng.uniform(9, 21)), device, ip, bot)
                )
        return profile
    profile = Profile(learner, "autoplay_bot", "mixed_autoplay", list(base.plans))
    taken = {(p.course.id, p.lesson_index) for p in base.plans}
    queue = [x for x in _lessons_in_order(rng, world) if (x[0].id, x[1]) not in taken]
    home = next((p for p in base.plans if p.device.startswith("home-")), None)
    device = home.device if home else _device(rng, "home")
    ip = home.ip if home else _home_ip(rng, learner.city_prefix)
    week = rng.randrange(max(1, days - 6))
    for day in range(week, min(days, week + 7)):
        hour = rng.uniform(0.5, 2.0)
        for _ in range(rng.randint(1, 3)):
            if not queue:
                break
            item = queue.pop(0)
            profile.plans.append(_plan(learner, item, at(day0, day, hour), device, ip, bot))
            hour += item[0].lessons[item[1]].seconds / 3600 + 0.01
    return profile


def traveller(
    rng: random.Random, world: SimWorld, base: Profile, days: int, day0: dt.date
) -> Profile:
    """Three days in another city with one's own laptop and the hotel's network; the first
    of them starts at home."""
    learner = base.learner
    other = rng.choice([p for p in world.city_prefixes if p != learner.city_prefix])
    hotel = _home_ip(rng, other)
    laptop = next(
        (p.device for p in base.plans if p.device.startswith("home-")), _device(rng, "home")
    )
    first = rng.randrange(max(1, days - 3))
    leave_ms = at(day0, first, 15.0)
    back_ms = at(day0, first + 3, 0.0)
    plans = [
        replace(p, device=laptop, ip=hotel) if leave_ms <= p.start_ms < back_ms else p
        for p in base.plans
    ]
    return Profile(learner, base.label, "traveller", plans)


def new_laptop(
    rng: random.Random,
    base: Profile,
    days: int,
    day0: dt.date,
    *,
    moved: bool = False,
    phone: bool = False,
) -> Profile:
    """Halfway through, a new laptop at home, used in the evenings from then on (``moved``:
    at a new home in the same city, on its new broadband: a new device on a new network of
    one fixed place, the same person's habits; ``phone``: moved, and studying on a new phone
    over the new home's Wi-Fi, whose touch screen counts fewer inputs)."""
    moved = moved or phone
    home_ip = next((p.ip for p in base.plans if p.device.startswith("home-")), base.learner.unit_ip)
    if moved:
        old = {p.ip for p in base.plans}
        while home_ip in old:
            home_ip = _home_ip(rng, base.learner.city_prefix)
    laptop = _device(rng, "mobile" if phone else "home")
    ua = UA_MOBILE if phone else UA_DESKTOP
    switch = at(day0, days // 2, 0.0)
    plans = []
    for p in base.plans:
        if p.start_ms < switch:
            plans.append(p)
            continue
        day_ms = p.start_ms - (p.start_ms - at(day0, 0, 0.0)) % 86_400_000
        evening = day_ms + int(rng.uniform(19.5, 21.5) * 3_600_000)
        plans.append(
            replace(p, device=laptop, ip=home_ip, user_agent=ua, start_ms=max(p.start_ms, evening))
        )
    variant = "phone_at_home" if phone else "new_home" if moved else "new_laptop"
    return Profile(base.learner, base.label, variant, plans)


def household(a: Profile, b: Profile) -> tuple[Profile, Profile]:
    """Two honest learners (a couple) who share one home PC and its network in the evenings:
    one often starts as the other finishes."""
    home = next((p for p in a.plans if p.device.startswith("home-")), None)
    if home is None:
        return replace(a, variant="household"), replace(b, variant="household")
    plans = [
        replace(p, device=home.device, ip=home.ip) if p.device.startswith("home-") else p
        for p in b.plans
    ]
    return replace(a, variant="household"), Profile(b.learner, b.label, "household", plans)


def couple_catch_up(
    rng: random.Random, world: SimWorld, a: Profile, b: Profile, days: int, day0: dt.date
) -> tuple[Profile, Profile]:
    """A couple sharing one home PC (as :func:`household`) who also catch up on two days
    near the end of the period: on each, one studies three to four and a half hours from the
    morning (as much as a learner catching up alone does in a day) and the other takes the PC
    a few minutes after, as long again; the day's ordinary study is replaced."""
    a, b = household(a, b)
    home = next((p for p in a.plans if p.device.startswith("home-")), None)
    device = home.device if home else _device(rng, "home")
    ip = home.ip if home else _home_ip(rng, a.learner.city_prefix)
    cram = sorted(rng.sample(range(max(0, days - 5), days), min(2, days)))
    # A catch-up day replaces that day's ordinary study, as for a learner catching up alone.
    starts = {at(day0, d, 0.0) for d in cram}
    plans: dict[int, list[Plan]] = {
        p.learner.id: [
            x
            for x in p.plans
            if x.start_ms - (x.start_ms - at(day0, 0, 0.0)) % 86_400_000 not in starts
        ]
        for p in (a, b)
    }
    # Each keeps their own habits (input rate, pauses, answer latency) on the shared PC.
    habits = {p.learner.id: next((x.client for x in p.plans), Client()) for p in (a, b)}
    for day in cram:
        hour = rng.uniform(8.5, 10.0)
        for person in (a, b) if rng.random() < 0.5 else (b, a):
            queue = _lessons_in_order(rng, world)
            budget = rng.uniform(3.0, 4.5)
            spent = 0.0
            while spent < budget and queue:
                item = queue.pop()
                secs = item[0].lessons[item[1]].seconds
                client = habits[person.learner.id]
                plans[person.learner.id].append(
                    _plan(person.learner, item, at(day0, day, hour), device, ip, client)
                )
                hour += secs / 3600 + rng.uniform(30, 300) / 3600
                spent += secs / 3600
            hour += rng.uniform(1, 10) / 60
    return (
        Profile(a.learner, a.label, "couple_catch_up", plans[a.learner.id]),
        Profile(b.learner, b.label, "couple_catch_up", plans[b.learner.id]),
    )


def two_tab(rng: random.Random, world: SimWorld, base: Profile) -> Profile:
    """Habitually opens a second lesson in another tab and leaves it hidden; the tracker
    credits only the visible one."""
    hidden = Client(hide_p=1.0, interactions=0.0, pause_p=0.0)
    extra = []
    lessons = [(c, i) for c in world.courses for i in range(len(c.lessons))]
    for p in base.plans:
        if rng.random() < 0.7:
            course, li = rng.choice(lessons)
            extra.append(
                Plan(
                    p.learner_id,
                    course,
                    li,
                    p.start_ms + 5_000,
                    p.device,
                    p.ip,
                    p.user_agent,
                    hidden,
                    min(course.lessons[li].seconds, p.watch_s),
                    concurrent=True,
                )
            )
    return Profile(base.learner, base.label, "two_tab", base.plans + extra)
