"""The straightforward per-learner feature pass, kept as the reference.

:mod:`proctor.detection.features` computes the same columns with group-bys over all learners
at once; tests compare the two on small tables, and the benchmark times this one on a
subsample as the baseline. Inputs are plain records (see :class:`SessionRecord`).
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.stats import spearmanr

from proctor.kernel.calendar import ACADEMY_TZ
from proctor.kernel.networks import city_of, network_of

TZ = ACADEMY_TZ  # one academy time zone (proctor.kernel.calendar)

REFERENCE_FEATURES: tuple[str, ...] = (
    "sessions",
    "wall_hours",
    "verified_ratio",
    "zero_credit_share",
    "forward_seeks",
    "rate_violations",
    "overlap_share",
    "challenges_issued",
    "challenge_unanswered_share",
    "challenge_latency_p50_s",
    "interactions_per_min",
    "pauses_per_hour",
    "hidden_share",
    "muted_share",
    "night_share",
    "daily_hours_max",
    "back_to_back_share",
    "devices",
    "addresses",
    "cities_max_per_day",
    "device_concurrent_accounts",
    "device_accounts",
    "address_accounts",
    "takeover_share",
    "takeover_hour_shift",
    "course_density_corr",
    "non_browser_share",
)


@dataclass(frozen=True)
class SessionRecord:
    """What the detector knows of one finished session."""

    learner_id: int
    course_id: int
    started: dt.datetime
    ended: dt.datetime
    wall_s: float
    verified_s: float
    device: str
    ip: str
    user_agent: str
    f: dict[str, Any]


def _hour(t: dt.datetime) -> float:
    local = t.astimezone(TZ)
    return local.hour + local.minute / 60


def _circular_mean_hour(hours: Sequence[float]) -> float:
    if not hours:
        return 0.0
    ang = [h / 24 * 2 * math.pi for h in hours]
    return (math.atan2(sum(map(math.sin, ang)), sum(map(math.cos, ang))) / (2 * math.pi) * 24) % 24


# With fewer courses a random order reaches a high correlation too often: R09's 0.9 about
# 0.2 % of the time with 8 courses (ties included, Monte Carlo), 0.01 % with 12. One dev
# population flagged an honest catch-up learner through it at 8.
MIN_ORDER_COURSES = 12


def _spearman(x: Sequence[float], y: Sequence[float]) -> float:
    """Rank correlation with ties averaged: courses of equal credit density carry no order
    (breaking ties by position would invent a perfect correlation)."""
    if len(x) < MIN_ORDER_COURSES or len(set(x)) < 3:
        return 0.0
    rho = spearmanr(x, y).statistic
    return 0.0 if rho is None or math.isnan(rho) else float(rho)


def _device_graph(
    records: Sequence[SessionRecord],
) -> tuple[dict[int, int], dict[int, int], dict[int, int]]:
    """Per learner: most accounts seen on one of their devices at the same time, on one of
    their devices at all, and behind one of their addresses."""
    by_device: dict[str, list[SessionRecord]] = defaultdict(list)
    by_ip: dict[str, set[int]] = defaultdict(set)
    for r in records:
        by_device[r.device].append(r)
        by_ip[network_of(r.ip)].add(r.learner_id)
    concurrent: dict[int, int] = defaultdict(int)
    accounts: dict[int, int] = defaultdict(int)
    for sessions in by_device.values():
        learners = {r.learner_id for r in sessions}
        for lid in learners:
            accounts[lid] = max(accounts[lid], len(learners) - 1)
        if len(learners) < 2:
            continue
        sessions = sorted(sessions, key=lambda r: r.started)
        overlap: dict[int, set[int]] = defaultdict(set)
        active: list[SessionRecord] = []
        for r in sessions:
            active = [a for a in active if a.ended > r.started]
            for a in active:
                if a.learner_id != r.learner_id:
                    overlap[r.learner_id].add(a.learner_id)
                    overlap[a.learner_id].add(r.learner_id)
            active.append(r)
        for lid, others in overlap.items():
            concurrent[lid] = max(concurrent[lid], len(others))
    address: dict[int, int] = defaultdict(int)
    for learners_at in by_ip.values():
        for lid in learners_at:
            address[lid] = max(address[lid], len(learners_at) - 1)
    return concurrent, accounts, address


def compute_reference(
    records: Sequence[SessionRecord], density: dict[int, float]
) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """Learner ids and the feature matrix (columns in :data:`REFERENCE_FEATURES` order)."""
    by_learner: dict[int, list[SessionRecord]] = defaultdict(list)
    for r in records:
        by_learner[r.learner_id].append(r)
    concurrent, dev_accounts, ip_accounts = _device_graph(records)
    ids = sorted(by_learner)
    X = np.zeros((len(ids), len(REFERENCE_FEATURES)))
    for row, lid in enumerate(ids):
        X[row] = _learner_features(
            sorted(by_learner[lid], key=lambda r: r.started),
            density,
            concurrent.get(lid, 0),
            dev_accounts.get(lid, 0),
            ip_accounts.get(lid, 0),
        )
    return np.array(ids, dtype=np.int64), X


def _takeover(rs: list[SessionRecord], verified: float) -> tuple[float, float]:
    """Someone else took the account over: a device first used after the owner had studied
    elsewhere carries nearly all the credit from then on. Returns its share of the credit
    and how many hours of the day its use lies from the owner's earlier habit."""
    first_seen: dict[str, dt.datetime] = {}
    for r in rs:
        first_seen.setdefault(r.device, r.started)
    best, shift = 0.0, 0.0
    for device, t0 in first_seen.items():
        before = [r for r in rs if r.started < t0]
        if sum(r.verified_s for r in before) < 900:
            continue
        after = [r for r in rs if r.started >= t0]
        after_v = sum(r.verified_s for r in after)
        on_device = sum(r.verified_s for r in after if r.device == device)
        # A handful of sessions on a new device is ordinary; a sustained switch is not.
        if after_v <= 0 or on_device / after_v < 0.9 or sum(r.device == device for r in after) < 5:
            continue
        share = on_device / max(1.0, verified)
        if share > best:
            d = abs(
                _circular_mean_hour([_hour(r.started) for r in before])
                - _circular_mean_hour([_hour(r.started) for r in after if r.device == device])
            )
            best, shift = share, min(d, 24 - d)
    return best, shift


def _learner_features(
    rs: list[SessionRecord],
    density: dict[int, float],
    concurrent: int,
    dev_accounts: int,
    ip_accounts: int,
) -> list[float]:
    wall = sum(r.wall_s for r in rs) or 1.0
    hours = wall / 3600
    verified = sum(r.verified_s for r in rs)
    issued = sum(r.f.get("challenges_issued", 0) for r in rs)
    answered = sum(r.f.get("challenges_correct", 0) + r.f.get("challenges_wrong", 0) for r in rs)
    latencies = [x for r in rs for x in r.f.get("challenge_latencies_ms", [])]
    interactions = sum(r.f.get("interactions", 0) for r in rs)
    pauses = sum(r.f.get("codes", {}).get("paused", 0) for r in rs)
    hidden = sum(r.f.get("codes", {}).get("hidden", 0) for r in rs)
    beats = sum(r.f.get("beats", 0) for r in rs) or 1
    muted = sum(r.f.get("muted_frac", 0.0) * r.wall_s for r in rs) / wall
    night = sum(r.wall_s for r in rs if _hour(r.started) < 6 or _hour(r.started) >= 23.5) / wall
    per_day: dict[dt.date, float] = defaultdict(float)
    cities_day: dict[tuple[dt.date, bool], set[str]] = defaultdict(set)
    for r in rs:
        day = r.started.astimezone(TZ).date()
        per_day[day] += r.wall_s / 3600
        cities_day[day, ":" in network_of(r.ip)].add(city_of(r.ip))
    gaps = [(b.started - a.ended).total_seconds() for a, b in itertools.pairwise(rs)]
    back_to_back = sum(1 for g in gaps if 0 <= g <= 60) / max(1, len(gaps))
    takeover, shift = _takeover(rs, verified)
    firsts: dict[int, dt.datetime] = {}
    for r in rs:
        firsts.setdefault(r.course_id, r.started)
    order = sorted(firsts, key=lambda c: firsts[c])
    corr = _spearman([-density.get(c, 0.0) for c in order], list(range(len(order))))
    return [
        len(rs),
        hours,
        verified / wall,
        sum(1 for r in rs if r.verified_s < 0.05 * max(r.wall_s, 1)) / len(rs),
        sum(r.f.get("seeks_forward", 0) for r in rs),
        sum(r.f.get("rate_exceeded", 0) for r in rs),
        sum(r.f.get("overlap_s", 0.0) for r in rs) / wall,
        issued,
        (issued - answered) / issued if issued else 0.0,
        float(np.median(latencies)) / 1000 if latencies else 0.0,
        interactions / (wall / 60),
        pauses / max(hours, 0.1),
        hidden / beats,
        muted,
        night,
        max(per_day.values()),
        back_to_back,
        len({r.device for r in rs}),
        len({network_of(r.ip) for r in rs}),
        max(len(c) for c in cities_day.values()),
        concurrent,
        dev_accounts,
        ip_accounts,
        takeover,
        shift,
        corr,
        sum(1 for r in rs if "Mozilla" not in r.user_agent or "Headless" in r.user_agent) / len(rs),
    ]
