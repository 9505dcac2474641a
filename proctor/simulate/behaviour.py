"""Who studies how: honest variants (with hard negatives) and fraud archetypes, as session plans.

Each learner gets a profile; a profile turns into a list of :class:`Plan` (one per player
session) with start times, device, address and how the client behaves. Labels live in
the profile and never reach the tracker or the detector.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field

from proctor.kernel.calendar import ACADEMY_TZ
from proctor.simulate.world import SimCourse, SimLearner, SimWorld

TZ = ACADEMY_TZ
HONEST = "honest"
ARCHETYPES = (
    "forged_progress",
    "paced_script",
    "parallel_courses",
    "high_rate",
    "autoplay_bot",
    "farm",
    "human_proxy",
    "account_sharing",
    "credit_targeting",
)
HARD_NEGATIVES = (
    "shared_office_pc",
    "unit_nat",
    "night_shift",
    "catch_up",
    "slow_responder",
    "fast_responder",
)


@dataclass(frozen=True)
class Client:
    """How the client behaves during one session."""

    mode: str = "player"  # player | script | forged
    rate: float = 1.0
    pause_p: float = 0.03  # per beat: a pause starts
    hide_p: float = 0.02  # per beat: the tab is hidden for a while
    interactions: float = 0.4  # mean per beat
    answer: str = "human"  # human | bot | never
    latency_median_s: float = 2.5
    latency_sigma: float = 0.5
    poll_s: float = 1.0
    miss_p: float = 0.03
    muted: bool = False
    seek_back_p: float = 0.01
    jitter_s: float = 0.4
    skew_ms: int = 0


@dataclass(frozen=True)
class Plan:
    """One player session to run."""

    learner_id: int
    course: SimCourse
    lesson_index: int
    start_ms: int
    device: str
    ip: str
    user_agent: str
    client: Client
    watch_s: int  # content to watch before ending (the lesson's end at most)
    concurrent: bool = False  # may run while another session of the learner is open
    device_in_use_ok: bool = False  # may run while another account uses the device (a farm)
    machine: str = ""  # the physical machine when the device id is faked (else the device)


@dataclass
class Profile:
    """A simulated person (or operator) behind an account; ``label`` is ground truth."""

    learner: SimLearner
    label: str
    variant: str
    plans: list[Plan] = field(default_factory=list)


UA_DESKTOP = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"
# A touch screen reports taps, not the pointer moves between them: the same person's input
# count on a phone is a fraction of theirs at a mouse.
TOUCH_INPUT = 0.35
UA_MOBILE = "Mozilla/5.0 (Linux; Android 14; V2309A) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0 Mobile Safari/537.36"
UA_HEADLESS = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0 Safari/537.36"


def at(day0: dt.date, day: int, hour: float) -> int:
    """Server milliseconds for a local (China) time on a simulated day."""
    base = dt.datetime(day0.year, day0.month, day0.day, tzinfo=TZ) + dt.timedelta(
        days=day, hours=hour
    )
    return int(base.timestamp() * 1000)


def _device(rng: random.Random, kind: str) -> str:
    return f"{kind}-{rng.getrandbits(48):012x}"


def _home_ip(rng: random.Random, prefix: str) -> str:
    return f"{prefix}.{rng.randint(100, 250)}.{rng.randint(2, 250)}"


def _lessons_in_order(
    rng: random.Random, world: SimWorld, *, by_density: bool = False
) -> list[tuple[SimCourse, int]]:
    courses = list(world.courses)
    if by_density:
        courses.sort(key=lambda c: -c.density)
    else:
        rng.shuffle(courses)
    return [(c, i) for c in courses for i in range(len(c.lessons))]


def _human_hours(rng: random.Random, variant: str) -> list[tuple[float, float]]:
    if variant == "night_shift":
        return [(0.5, 5.5), (13.0, 16.0)]
    pattern = rng.choice(["office", "evening", "lunch", "mixed"])
    return {
        "office": [(9.0, 11.5), (14.5, 17.0)],
        "evening": [(19.5, 22.5)],
        "lunch": [(12.0, 13.5)],
        "mixed": [(9.5, 11.5), (20.0, 22.0)],
    }[pattern]


def honest(
    rng: random.Random,
    world: SimWorld,
    learner: SimLearner,
    days: int,
    day0: dt.date,
    variant: str,
    shared_devices: dict[int, str],
) -> Profile:
    """An honest learner; ``variant`` may be a hard negative a naive detector would flag."""
    profile = Profile(learner, HONEST, variant)
    office = shared_devices.get(learner.unit_id) if variant == "shared_office_pc" else None
    office = office or _device(rng, "pc")
    home = _device(rng, "home")
    phone = _device(rng, "mobile")
    home_ip = _home_ip(rng, learner.city_prefix)
    latency = {"slow_responder": (7.0, 0.6), "fast_responder": (1.1, 0.35)}.get(
        variant, (rng.uniform(1.8, 3.5), 0.5)
    )
    client = Client(
        interactions=rng.choice([0.05, 0.2, 0.5, 1.0]),
        latency_median_s=latency[0],
        latency_sigma=latency[1],
        pause_p=rng.uniform(0.01, 0.05),
        hide_p=rng.uniform(0.0, 0.04),
        muted=rng.random() < 0.15,
    )
    windows = _human_hours(rng, variant)
    queue = _lessons_in_order(rng, world)
    study_days = [d for d in range(days) if rng.random() < (0.35 if variant != "catch_up" else 0.1)]
    if variant == "catch_up":
        study_days += list(range(max(0, days - 4), days))
    for day in sorted(set(study_days)):
        sessions = (
            rng.randint(1, 3) if variant != "catch_up" or day < days - 4 else rng.randint(5, 8)
        )
        hour = rng.uniform(*windows[0])
        for _ in range(sessions):
            if not queue:
                break
            course, li = queue.pop(0)
            where = rng.random()
            if variant == "unit_nat" or (where < 0.6 and hour < 18):
                device, ip, ua = office, learner.unit_ip, UA_DESKTOP
            elif where < 0.85:
                device, ip, ua = home, home_ip, UA_DESKTOP
            else:
                device, ip, ua = phone, f"{learner.city_prefix}.9.{rng.randint(2, 250)}", UA_MOBILE
            secs = course.lessons[li].seconds
            profile.plans.append(
                Plan(learner.id, course, li, at(day0, day, hour), device, ip, ua, client, secs)
            )
            hour += secs / 3600 + rng.uniform(0.1, 1.5)
            if hour > 23.5:
                break
            if hour > windows[-1][1] + 1 and rng.random() < 0.5:
                break
    return profile


def fraud(
    rng: random.Random,
    world: SimWorld,
    learner: SimLearner,
    days: int,
    day0: dt.date,
    archetype: str,
    operator: dict[str, str],
) -> Profile:
    """A fraud archetype with its parameters drawn at random (so variants differ)."""
    profile = Profile(learner, archetype, archetype)
    device = _device(rng, "pc")
    ip = _home_ip(rng, learner.city_prefix)
    queue = _lessons_in_order(rng, world, by_density=archetype in ("credit_targeting", "farm"))
    if archetype == "forged_progress":
        client = Client(mode="forged", answer="never", interactions=0)
        for n, (course, li) in enumerate(queue[: rng.randint(6, 14)]):
            day = rng.randrange(days)
            profile.plans.append(
                Plan(
                    learner.id,
                    course,
                    li,
                    at(day0, day, 21 + n * 0.01),
                    device,
                    ip,
                    "python-requests/2.32",
                    client,
                    course.lessons[li].seconds,
                )
            )
        return profile
    if archetype == "paced_script":
        client = Client(
            mode="script",
            rate=rng.choice([1.0, 1.0, 2.0]),
            answer="never",
            interactions=0,
            jitter_s=rng.choice([0.0, 0.05]),
            skew_ms=-rng.randint(0, 30_000),
        )
        t_day = rng.uniform(8, 20)
        for n, (course, li) in enumerate(queue[:10]):
            day = n // 3
            profile.plans.append(
                Plan(
                    learner.id,
                    course,
                    li,
                    at(day0, day % days, t_day + (n % 3) * 0.9),
                    device,
                    ip,
                    "aiohttp/3.9",
                    client,
                    course.lessons[li].seconds,
                )
            )
        return profile
    if archetype == "parallel_courses":
        width = rng.randint(2, 5)
        client = Client(interactions=rng.choice([0.0, 0.1]), answer=rng.choice(["human", "bot"]))
        for day in range(0, days, 2):
            for k in range(width):
                if not queue:
                    break
                course, li = queue.pop(0)
                profile.plans.append(
                    Plan(
                        learner.id,
                        course,
                        li,
                        at(day0, day, 20 + k * 0.0014),
                        device,
                        ip,
                        UA_DESKTOP,
                        client,
                        course.lessons[li].seconds,
                        concurrent=True,
                    )
                )
        return profile
    if archetype == "high_rate":
        client = Client(rate=rng.choice([1.5, 2.0, 4.0, 16.0]), interactions=0.1, muted=True)
    elif archetype in ("autoplay_bot", "farm"):
        client = Client(
            interactions=0.0,
            answer="bot",
            poll_s=rng.choice([1.0, 3.0]),
            muted=True,
            pause_p=0.0,
            hide_p=0.0,
            jitter_s=0.05,
        )
        if archetype == "farm":
            device, ip = operator["device"], operator["ip"]
    elif archetype == "human_proxy":
        return _human_proxy(rng, world, learner, days, day0, queue)
    elif archetype == "account_sharing":
        return _sharing(rng, world, learner, days, day0, queue)
    else:  # credit_targeting: human-like pacing, courses in order of credit density, no slack
        client = Client(interactions=0.3, latency_median_s=2.5, pause_p=0.01, hide_p=0.0)
    farm = archetype == "farm"
    ua = UA_HEADLESS if archetype in ("autoplay_bot", "farm") and rng.random() < 0.5 else UA_DESKTOP
    hour = 4.5 if archetype == "autoplay_bot" else rng.uniform(8, 20)
    for day in range(days):
        h = hour + (
            rng.random() * 0.02 if archetype in ("autoplay_bot", "farm") else rng.uniform(0, 3)
        )
        cap = (
            rng.uniform(2.5, 4.0)
            if archetype in ("autoplay_bot", "farm")
            else rng.uniform(0.5, 1.5)
        )
        spent = 0.0
        while queue and spent < cap:
            course, li = queue.pop(0)
            secs = course.lessons[li].seconds
            profile.plans.append(
                Plan(
                    learner.id,
                    course,
                    li,
                    at(day0, day, h),
                    device,
                    ip,
                    ua,
                    client,
                    secs,
                    device_in_use_ok=farm,
                )
            )
            gap = 12 / 3600 if archetype in ("autoplay_bot", "farm") else rng.uniform(0.05, 0.5)
            h += secs / 3600 / max(1.0, client.rate if client.rate <= 1 else 1.0) + gap
            spent += secs / 3600
        if archetype == "credit_targeting" and rng.random() < 0.5:
            continue
    return profile


def _human_proxy(
    rng: random.Random,
    world: SimWorld,
    learner: SimLearner,
    days: int,
    day0: dt.date,
    queue: list[tuple[SimCourse, int]],
) -> Profile:
    """The owner studies a little in their own way; then someone else on a new device, other hours."""
    profile = Profile(learner, "human_proxy", "human_proxy")
    own_device, own_ip = _device(rng, "pc"), learner.unit_ip
    own = Client(interactions=0.5)
    for day in range(0, max(2, days // 3)):
        if (rng.random() < 0.8 or day < 2) and queue:
            course, li = queue.pop(0)
            profile.plans.append(
                Plan(
                    learner.id,
                    course,
                    li,
                    at(day0, day, rng.uniform(9, 11)),
                    own_device,
                    own_ip,
                    UA_DESKTOP,
                    own,
                    course.lessons[li].seconds,
                )
            )
    proxy_device = _device(rng, "pc")
    proxy_ip = _home_ip(rng, rng.choice(world.city_prefixes))
    proxy = Client(interactions=rng.choice([0.2, 0.8]), latency_median_s=rng.uniform(1.5, 3.0))
    for day in range(max(2, days // 3), days):
        h = rng.uniform(20.5, 23.0) if rng.random() < 0.8 else rng.uniform(6.0, 7.5)
        for _ in range(rng.randint(2, 4)):
            if not queue:
                break
            course, li = queue.pop(0)
            profile.plans.append(
                Plan(
                    learner.id,
                    course,
                    li,
                    at(day0, day, h),
                    proxy_device,
                    proxy_ip,
                    UA_DESKTOP,
                    proxy,
                    course.lessons[li].seconds,
                )
            )
            h += course.lessons[li].seconds / 3600 + 0.05
    return profile


def _sharing(
    rng: random.Random,
    world: SimWorld,
    learner: SimLearner,
    days: int,
    day0: dt.date,
    queue: list[tuple[SimCourse, int]],
) -> Profile:
    """One account used by people in two cities, often on the same day."""
    profile = Profile(learner, "account_sharing", "account_sharing")
    other = rng.choice([p for p in world.city_prefixes if p != learner.city_prefix])
    places = [(_device(rng, "pc"), learner.unit_ip), (_device(rng, "pc"), _home_ip(rng, other))]
    client = Client(interactions=0.4)
    for day in range(days):
        if rng.random() < 0.5:
            continue
        for k, (device, ip) in enumerate(places):
            if not queue:
                break
            course, li = queue.pop(0)
            hour = rng.uniform(9, 11) if k == 0 else rng.uniform(14, 17)
            profile.plans.append(
                Plan(
                    learner.id,
                    course,
                    li,
                    at(day0, day, hour),
                    device,
                    ip,
                    UA_DESKTOP,
                    client,
                    course.lessons[li].seconds,
                )
            )
    return profile
