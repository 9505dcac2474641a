"""Per learner-period features from session summaries and the account graph (numpy, named).

All learners at once: the session table (:mod:`proctor.detection.table`) is sorted by
learner and start, and every feature is a group-by over its columns; there is no Python loop
per learner. A :class:`FeatureBuilder` takes the table in chunks of whole learners and keeps
only the account graph's columns for the whole period, so memory stays bounded by the chunk.
:mod:`proctor.detection.reference` holds the straightforward per-learner version the tests
compare against.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models import Course, Learner
from proctor.credits.policy import DEFAULT_RULES, course_credits
from proctor.detection.graph import (
    FEW_ACCOUNTS,
    GraphColumns,
    accounts_per_key,
    accounts_sharing,
    concurrent_accounts,
    handoffs,
    linked_groups,
    linked_handoffs,
    shared_device_credit,
)
from proctor.detection.groups import (
    Floats,
    Ints,
    distinct,
    maxima,
    medians,
    run_first,
    run_starts,
    sums,
    unique_pairs,
)
from proctor.detection.reference import MIN_ORDER_COURSES, REFERENCE_FEATURES, SessionRecord
from proctor.detection.region import Regions, away_from_region
from proctor.detection.relay import machine_clients, relay_machine_days, rotating_handover_days
from proctor.detection.table import US, Encoders, SessionTable, from_rows, stream_tables
from proctor.kernel.calendar import ACADEMY_TZ
from proctor.kernel.networks import city_of

__all__ = ["FEATURES", "TZ", "FeatureBuilder", "SessionRecord", "city_of", "compute"]

TZ = ACADEMY_TZ  # one academy time zone (proctor.kernel.calendar)
# China has kept UTC+8 without daylight saving since 1991: local clock = UTC + 8 h.
LOCAL_OFFSET_US = 8 * 3600 * US
DAY_US = 86_400 * US

# The reference pass's features first, in its order (the tests compare them column by column).
FEATURES: tuple[str, ...] = (
    *REFERENCE_FEATURES,
    # Signals an informed attacker cannot cheaply change (issue 14).
    "self_overlap_share",
    "overlapping_sessions",
    "unattended_hours",
    "multi_city_days",
    "takeover_new_address_share",
    "takeover_new_city_share",
    "takeover_behaviour_change",
    "latency_p10_s",
    "answers",
    "beat_gap_sd_s",
    "handoff_partners",
    "handoff_share",
    "shared_device_credit",
    "linked_handoff_partners",
    "linked_handoff_share",
    "away_region_share",
    "away_region_days",
    "relay_hours_max",
    "relay_days",
    "machine_clients",
    "verified_24h_max",
    "rotating_handover_days",
    "takeover_place_share",
)


async def course_density(session: AsyncSession) -> dict[int, float]:
    """Credits per lecture minute of every course (what credit-targeting scripts sort by)."""
    out = {}
    for c in (await session.scalars(select(Course))).all():
        credits = course_credits(c.kind, c.lecture_seconds, c.designated_credits, DEFAULT_RULES)
        out[c.id] = float(credits) / max(1.0, c.lecture_seconds / 60)
    return out


def _verified_24h_max(t: SessionTable, g: Ints, n: int) -> Floats:
    """Per learner, the most verified hours in any 24 hours (the sessions starting within
    24 h of one of his session starts; rows sorted by learner, then start). Server time:
    no client can report it away, and a person sleeps."""
    if len(g) == 0:
        return np.zeros(n)
    span = int(t.start.max() - t.start.min()) + 2 * DAY_US
    # one increasing time line: each learner's sessions on a stretch of their own
    line = (t.start - t.start.min()) + g.astype(np.int64) * span
    end = np.searchsorted(line, line + DAY_US, side="left")
    total = np.concatenate([[0.0], np.cumsum(t.verified)])
    window = (total[end] - total[np.arange(len(g))]) / 3600
    return maxima(g, window, n)


class FeatureBuilder:
    """Features chunk by chunk (each chunk holds whole learners), the graph at the end."""

    def __init__(self, density: dict[int, float], regions: Regions | None = None) -> None:
        self._regions = regions or Regions.empty()
        keys = np.array(sorted(density), dtype=np.int64)
        self._density_keys = keys
        self._density_values = np.array([density[int(k)] for k in keys], dtype=float)
        self._ids: list[Ints] = []
        self._rows: list[Floats] = []
        self._graph: list[tuple[Ints, Ints, Ints, Ints, Ints, Floats]] = []
        self._places: list[tuple[Ints, Ints]] = []  # (city, local day) of every session
        self._learners = 0

    def add(self, t: SessionTable) -> None:
        """Compute the per-learner features of one chunk."""
        if len(t) == 0:
            return
        order = np.lexsort((t.start, t.learner))  # stable: ties keep their given order
        t = t.take(order)
        ids, X, group = self._per_learner(t)
        self._ids.append(ids)
        self._rows.append(X)
        self._graph.append((group + self._learners, t.device, t.ip, t.start, t.end, t.verified))
        self._places.append((t.city, (t.start + LOCAL_OFFSET_US) // DAY_US))
        self._learners += len(ids)

    def finish(self) -> tuple[Ints, Floats]:
        """Learner ids (ascending) and the feature matrix (columns in :data:`FEATURES` order)."""
        if not self._ids:
            return np.zeros(0, dtype=np.int64), np.zeros((0, len(FEATURES)))
        ids = np.concatenate(self._ids)
        X = np.vstack(self._rows)
        cols = [np.concatenate([g[k] for g in self._graph]) for k in range(6)]
        graph = GraphColumns(*cols)
        n = len(ids)

        def put(name: str, values: Floats) -> None:
            X[:, FEATURES.index(name)] = values

        put("device_concurrent_accounts", concurrent_accounts(graph, n))
        put("device_accounts", accounts_sharing(graph.learner, graph.device, n))
        put("address_accounts", accounts_sharing(graph.learner, graph.ip, n))
        partners, share = handoffs(graph, n)
        put("handoff_partners", partners)
        put("handoff_share", share)
        put("shared_device_credit", shared_device_credit(graph, n))
        # The same between linked accounts wherever they are: device ids and addresses
        # can be rotated, the turn-taking of one operator cannot.
        groups = linked_groups(graph, n)
        partners, share = linked_handoffs(graph, n, groups=groups)
        put("linked_handoff_partners", partners)
        put("linked_handoff_share", share)
        city, day = (np.concatenate([p[k] for p in self._places]) for k in range(2))
        # One machine taking turns all day: by device id, or (device ids rotated) by the
        # accounts linked through addresses, counting only sessions from addresses few
        # accounts use (an operator's; a household's), not an office's shared PC or NAT.
        by_device = relay_machine_days(graph, day, graph.device, n)
        _, by_address = linked_groups(graph, n, devices=False)
        few = accounts_per_key(graph.ip, graph.learner) <= FEW_ACCOUNTS
        group_key = np.where(few, by_address[graph.learner], -1)
        by_group = relay_machine_days(graph, day, group_key, n)
        put("relay_hours_max", np.maximum(by_device.most, by_group.most))
        put("relay_days", np.maximum(by_device.days, by_group.days))
        # Over the whole period: the machine as nearly the only place several people of
        # different units studied (a farm moving on to new clients two at a time).
        unit = self._regions.unit_of(ids)
        put(
            "machine_clients",
            np.maximum(
                machine_clients(graph, graph.device, unit, n),
                machine_clients(graph, group_key, unit, n),
            ),
        )
        # The address changing with the account between back-to-back lessons on one device:
        # an operator's rotating addresses, where a household's PC keeps its broadband's.
        put("rotating_handover_days", rotating_handover_days(graph, day, city, few, n))
        share, days = away_from_region(
            graph.learner, city, graph.verified, day, self._regions.of(ids), n
        )
        put("away_region_share", share)
        put("away_region_days", days)
        # Chunks arrive in learner order from SQL; sort anyway so any order of chunks works.
        order = np.argsort(ids, kind="stable")
        return ids[order], X[order]

    def _density(self, course: Ints) -> Floats:
        keys = self._density_keys
        if len(keys) == 0:
            return np.zeros(len(course))
        pos = np.clip(np.searchsorted(keys, course), 0, len(keys) - 1)
        return np.where(keys[pos] == course, self._density_values[pos], 0.0)

    def _per_learner(self, t: SessionTable) -> tuple[Ints, Floats, Ints]:
        new_learner = run_starts(t.learner)
        g = np.cumsum(new_learner) - 1
        ids = t.learner[new_learner]
        n = len(ids)
        counts = np.bincount(g, minlength=n).astype(float)
        first = np.flatnonzero(new_learner)
        X = np.zeros((n, len(FEATURES)))

        def put(name: str, values: NDArray[np.generic]) -> None:
            X[:, FEATURES.index(name)] = values

        wall = sums(g, t.wall, n)
        wall[wall == 0] = 1.0
        hours = wall / 3600
        verified = sums(g, t.verified, n)
        issued = sums(g, t.issued, n)
        answered = sums(g, t.answered, n)
        beats = sums(g, t.beats, n)
        beats[beats == 0] = 1.0
        put("sessions", counts)
        put("wall_hours", hours)
        put("verified_ratio", verified / wall)
        put("zero_credit_share", sums(g, t.verified < 0.05 * np.maximum(t.wall, 1), n) / counts)
        put("forward_seeks", sums(g, t.seeks_forward, n))
        put("rate_violations", sums(g, t.rate_exceeded, n))
        put("overlap_share", sums(g, t.overlap_s, n) / wall)
        put("challenges_issued", issued)
        put(
            "challenge_unanswered_share",
            np.where(issued > 0, (issued - answered) / np.where(issued > 0, issued, 1), 0.0),
        )
        lat_counts = np.diff(t.lat_offsets)
        lat_group = np.repeat(g, lat_counts)
        median, n_lat = medians(lat_group, t.latencies, n)
        put("challenge_latency_p50_s", np.where(n_lat > 0, np.nan_to_num(median) / 1000, 0.0))
        put("interactions_per_min", sums(g, t.interactions, n) / (wall / 60))
        put("pauses_per_hour", sums(g, t.paused, n) / np.maximum(hours, 0.1))
        put("hidden_share", sums(g, t.hidden, n) / beats)
        put("muted_share", sums(g, t.muted_frac * t.wall, n) / wall)
        local = t.start + LOCAL_OFFSET_US
        hour = ((local // US) % 86_400 // 60) / 60
        night = (hour < 6) | (hour >= 23.5)
        put("night_share", sums(g, np.where(night, t.wall, 0.0), n) / wall)
        day = local // DAY_US
        day_learner, _, day_code = unique_pairs(g, day - day.min())
        per_day = sums(day_code, t.wall / 3600, len(day_learner))
        put("daily_hours_max", maxima(day_learner, per_day, n))
        # Per address family: a dual-stack home alternates between an IPv4 and an IPv6
        # network in one evening, which is one place, not two cities.
        cities = np.maximum(
            distinct(day_code[~t.v6], t.city[~t.v6], len(day_learner)),
            distinct(day_code[t.v6], t.city[t.v6], len(day_learner)),
        )
        put("cities_max_per_day", maxima(day_learner, cities, n))
        put("multi_city_days", sums(day_learner, cities >= 2, n))
        same = ~new_learner[1:]
        gap = (t.start[1:] - t.end[:-1])[same]
        b2b = sums(g[1:][same], (gap >= 0) & (gap <= 60 * US), n)
        put("back_to_back_share", b2b / np.maximum(1, counts - 1))
        put("devices", distinct(g, t.device, n))
        put("addresses", distinct(g, t.ip, n))
        share, shift, new_ip, new_city, change, place = _takeover(t, g, n, first, verified, hour)
        put("takeover_share", share)
        put("takeover_place_share", place)
        put("takeover_hour_shift", shift)
        put("takeover_new_address_share", new_ip)
        put("takeover_new_city_share", new_city)
        put("takeover_behaviour_change", change)
        put("self_overlap_share", _self_overlap(t, g, n) / wall)
        put("overlapping_sessions", sums(g, _self_overlap_rows(t, g) > 60, n))
        # Only sessions that earned credit: a hidden second tab plays without input too,
        # but the tracker credits none of it.
        unattended = (
            (t.interactions == 0) & (t.paused == 0) & (t.wall >= 900) & (t.verified >= 0.5 * t.wall)
        )
        put("unattended_hours", sums(g, np.where(unattended, t.wall / 3600, 0.0), n))
        p10, answers = _low_quantile(lat_group, t.latencies, n)
        put("latency_p10_s", np.where(answers >= 5, p10 / 1000, 0.0))
        put("answers", answers.astype(float))
        # Server-observed spread of beat intervals: browser timers and networks jitter,
        # a bare script's sleep loop does not (supporting evidence for the anomaly score).
        put("beat_gap_sd_s", sums(g, t.beat_gap_sd * t.wall, n) / wall)
        put("course_density_corr", self._course_order(t, g, n))
        put("non_browser_share", sums(g, t.non_browser, n) / counts)
        put("verified_24h_max", _verified_24h_max(t, g, n))
        return ids, X, g

    def _course_order(self, t: SessionTable, g: Ints, n: int) -> Floats:
        """Rank correlation between the order courses were first taken and their credit
        density (ties averaged; fewer than ``MIN_ORDER_COURSES`` courses or 3 densities: 0)."""
        # First session of each (learner, course), in start order within the learner.
        key_order = np.lexsort((np.arange(len(g)), t.course, g))
        is_first = np.zeros(len(g), dtype=bool)
        is_first[key_order[run_starts(g[key_order], t.course[key_order])]] = True
        rows = np.flatnonzero(is_first)  # already in (learner, start) order
        cg = g[rows]
        x = -self._density(t.course[rows])
        k = np.bincount(cg, minlength=n)
        pos = np.arange(len(rows)) - np.repeat(np.cumsum(k) - k, k)  # order taken, 0-based
        # Average ranks of x within each learner (ties share their mean rank).
        o = np.lexsort((x, cg))
        xs, gs = x[o], cg[o]
        tie_new = run_starts(gs, xs)
        tie_id = np.cumsum(tie_new) - 1
        tie_len = np.bincount(tie_id)
        place = np.arange(len(o)) - np.repeat(np.cumsum(k) - k, k)
        tie_first_place = place[tie_new]
        avg = tie_first_place[tie_id] + (tie_len[tie_id] - 1) / 2
        rank_x = np.empty(len(o))
        rank_x[o] = avg
        distinct_x = np.bincount(gs[tie_new], minlength=n)
        ok = (k >= MIN_ORDER_COURSES) & (distinct_x >= 3)
        kk = np.maximum(k, 1).astype(float)
        mx = sums(cg, rank_x, n) / kk
        my = sums(cg, pos, n) / kk
        dx = rank_x - mx[cg]
        dy = pos - my[cg]
        cov = sums(cg, dx * dy, n)
        vx = sums(cg, dx * dx, n)
        vy = sums(cg, dy * dy, n)
        den = np.sqrt(vx * vy)
        rho = np.where(ok & (den > 0), cov / np.where(den > 0, den, 1), 0.0)
        return rho


def _self_overlap_rows(t: SessionTable, g: Ints) -> Floats:
    """Seconds each session ran while an earlier session of the same learner was still open
    (server times: a hidden second tab counts, though it earns nothing)."""
    if len(g) == 0:
        return np.zeros(0)
    # Running latest end within each learner, exactly: integer ranks of the end times,
    # offset per learner so one running maximum over the chunk never crosses learners.
    ends, rank = np.unique(t.end, return_inverse=True)
    span = len(ends) + 1
    running = ends[np.maximum.accumulate(g * span + rank.ravel()) - g * span]
    first = run_starts(g)
    prev = np.concatenate([t.start[:1], running[:-1]])
    prev[first] = t.start[first]  # nothing earlier: no overlap
    overlap_us = np.minimum(t.end, prev) - t.start
    return np.asarray(np.clip(overlap_us, 0, None) / US, dtype=float)


def _self_overlap(t: SessionTable, g: Ints, n: int) -> Floats:
    return sums(g, _self_overlap_rows(t, g), n)


def _low_quantile(group: Ints, values: Floats, n: int, q: float = 0.1) -> tuple[Floats, Ints]:
    """The ``q`` quantile (lower) of values per group, and the count per group."""
    counts = np.bincount(group, minlength=n)
    out = np.zeros(n)
    if len(values) == 0:
        return out, counts
    v = values[np.lexsort((values, group))]
    first = np.concatenate([[0], np.cumsum(counts)[:-1]])
    has = counts > 0
    out[has] = v[first[has] + np.floor(q * (counts[has] - 1)).astype(np.int64)]
    return out, counts


def _circular_mean(sin: Floats, cos: Floats) -> Floats:
    return (np.arctan2(sin, cos) / (2 * np.pi) * 24) % 24


def _takeover(
    t: SessionTable, g: Ints, n: int, first: Ints, verified: Floats, hour: Floats
) -> tuple[Floats, Floats, Floats, Floats, Floats, Floats]:
    """Someone else took the account over: a device first used after the owner had studied
    elsewhere (15 verified minutes) carries at least 90 % of the credit from then on, over
    five sessions or more. Its share of the credit, how many hours of the day its use lies
    from the owner's earlier habit, the shares of its credit from new addresses and cities,
    how much the person's habits changed with it (:func:`_habit_change`), and the share of
    its credit from its one main address (a fixed place, where a phone on a carrier's pool
    of addresses has none)."""
    rows = len(g)
    idx = np.arange(rows)
    # (learner, device) pairs; the first row of each is where the device was first seen.
    o = np.lexsort((idx, t.device, g))
    pair_new = run_starts(g[o], t.device[o])
    pair_id = np.empty(rows, dtype=np.int64)
    pair_id[o] = np.cumsum(pair_new) - 1
    pairs = int(pair_new.sum())
    i0 = o[pair_new]  # first row of each pair (rows are in start order within a learner)
    pg = g[i0]
    # Sessions "before" the device are those started strictly earlier than its first use.
    tie_first = run_first(run_starts(g, t.start))
    cum_v = np.concatenate([[0.0], np.cumsum(t.verified)])
    before_end = tie_first[i0]
    before_v = cum_v[before_end] - cum_v[first[pg]]
    after_v = verified[pg] - before_v
    on_v = sums(pair_id, t.verified, pairs)
    on_n = np.bincount(pair_id, minlength=pairs)
    with np.errstate(divide="ignore", invalid="ignore"):
        valid = (before_v >= 900) & (after_v > 0) & (on_v / after_v >= 0.9) & (on_n >= 5)
    share = on_v / np.maximum(1.0, verified[pg])
    best = np.zeros(n)
    shift = np.zeros(n)
    new_ip = np.zeros(n)
    new_city = np.zeros(n)
    change = np.zeros(n)
    place = np.zeros(n)
    cand = np.flatnonzero(valid & (share > 0))
    if len(cand) == 0:
        return best, shift, new_ip, new_city, change, place
    # The largest share per learner; among equal shares the device seen first.
    pick = cand[np.lexsort((i0[cand], -share[cand], pg[cand]))]
    pick = pick[run_starts(pg[pick])]
    ang = hour / 24 * 2 * np.pi
    cum_s = np.concatenate([[0.0], np.cumsum(np.sin(ang))])
    cum_c = np.concatenate([[0.0], np.cumsum(np.cos(ang))])
    lo, hi = first[pg[pick]], before_end[pick]
    before_mean = _circular_mean(cum_s[hi] - cum_s[lo], cum_c[hi] - cum_c[lo])
    dev_s = sums(pair_id, np.sin(ang), pairs)[pick]
    dev_c = sums(pair_id, np.cos(ang), pairs)[pick]
    d = np.abs(before_mean - _circular_mean(dev_s, dev_c))
    best[pg[pick]] = share[pick]
    shift[pg[pick]] = np.minimum(d, 24 - d)
    # Of the device's credit, how much came from addresses (and cities) the learner had
    # never used before the device appeared: a proxy brings their own network along.
    t0 = t.start[i0][pair_id]
    for values, out in ((t.ip, new_ip), (t.city, new_city)):
        _, _, key_row = unique_pairs(g, values)
        first_row = np.full(int(key_row.max()) + 1, rows, dtype=np.int64)
        np.minimum.at(first_row, key_row, idx)
        fresh = t.start[first_row[key_row]] >= t0
        fresh_v = sums(pair_id, np.where(fresh, t.verified, 0.0), pairs)[pick]
        out[pg[pick]] = fresh_v / np.maximum(on_v[pick], 1.0)
    change[pg[pick]] = _habit_change(t, pair_id, pairs, pick, lo, hi)
    at_pair, _, at_row = unique_pairs(pair_id, t.ip)
    main = maxima(at_pair, sums(at_row, t.verified, len(at_pair)), pairs)[pick]
    place[pg[pick]] = main / np.maximum(on_v[pick], 1.0)
    return best, shift, new_ip, new_city, change, place


def _habit_change(
    t: SessionTable, pair_id: Ints, pairs: int, pick: Ints, lo: Ints, hi: Ints
) -> Floats:
    """The factor (>= 1) by which the person's input rate or challenge answer latency on the
    new device differs from the owner's before it, at the near end of its 95 % interval:
    rows ``lo:hi`` (learner-sorted) are the sessions before, ``pair_id == pick`` those on
    the device.

    A new laptop changes where and when, not who: the same person moves the mouse and answers
    challenges at their own pace on it. A proxy brings their own habits, which they do not
    know they would have to copy (neither figure is shown to anyone but reviewers). The
    interval keeps a quiet learner's few inputs, or a handful of answers, from reading as
    another person. Input rates are compared only between clients of one kind: a touch
    screen counts taps where a mouse counts every move, so a learner who moved from the
    office PC to their phone changes the count, not the person (the answer latency is
    compared either way)."""
    lat_n = np.diff(t.lat_offsets).astype(float)
    log_lat = np.log(np.maximum(t.latencies, 1.0))
    cum_log = np.concatenate([[0.0], np.cumsum(log_lat)])
    cum_sq = np.concatenate([[0.0], np.cumsum(log_lat**2)])
    lat_sum = cum_log[t.lat_offsets[1:]] - cum_log[t.lat_offsets[:-1]]
    lat_sq = cum_sq[t.lat_offsets[1:]] - cum_sq[t.lat_offsets[:-1]]

    def before_and_on(values: Floats) -> tuple[Floats, Floats]:
        cum = np.concatenate([[0.0], np.cumsum(values)])
        return cum[hi] - cum[lo], sums(pair_id, values, pairs)[pick]

    minutes_b, minutes_d = before_and_on(t.wall / 60)
    # Input rates of one kind of client: the device's own kind (most of its minutes), and
    # the owner's minutes and inputs before it on that kind only.
    mobile_b, mobile_d = before_and_on(np.where(t.mobile, t.wall / 60, 0.0))
    phone = 2 * mobile_d >= minutes_d
    minutes_b = np.where(phone, mobile_b, minutes_b - mobile_b)

    def owner_side(values: Floats) -> tuple[Floats, Floats]:
        # before: the device's kind only; on the device: all of it (a device is one kind)
        total_b, on_d = before_and_on(values)
        mobile_part, _ = before_and_on(np.where(t.mobile, values, 0.0))
        return np.where(phone, mobile_part, total_b - mobile_part), on_d

    acts_b, acts_d = owner_side(t.interactions)
    # Sessions differ in more than Poisson noise (a lesson with many pauses has many
    # inputs): the dispersion of the per-session counts around each side's rate widens the
    # interval (quasi-Poisson), so the same person's two devices do not read as two people.
    per_min = t.interactions**2 / np.maximum(t.wall / 60, 1.0)
    sq_rate_b, sq_rate_d = owner_side(per_min)
    k_b, k_d = owner_side((t.wall >= 0).astype(float))
    lat_b, lat_d = before_and_on(lat_sum)
    sq_b, sq_d = before_and_on(lat_sq)
    n_b, n_d = before_and_on(lat_n)
    with np.errstate(divide="ignore", invalid="ignore"):
        # Inputs are counts: the log rate ratio's standard error is sqrt(1/a + 1/b) (half an
        # input of prior on each side keeps a learner who never touches the mouse finite).
        a_b, a_d = acts_b + 0.5, acts_d + 0.5
        r_b, r_d = a_b / np.maximum(minutes_b, 1.0), a_d / np.maximum(minutes_d, 1.0)
        # Pearson's statistic per side: sum (x - r m)^2 / (r m) = sum(x^2 / m) / r - sum(x)
        chi = (sq_rate_b / r_b - acts_b) + (sq_rate_d / r_d - acts_d)
        dispersion = np.maximum(1.0, chi / np.maximum(k_b + k_d - 2, 1.0))
        log_rate = np.abs(np.log(r_d / r_b))
        rate = np.maximum(0.0, log_rate - 1.96 * np.sqrt(dispersion * (1 / a_b + 1 / a_d)))
        rate = np.where((minutes_b >= 30) & (minutes_d >= 30), rate, 0.0)
        nb, nd = np.maximum(n_b, 1.0), np.maximum(n_d, 1.0)
        mean_b, mean_d = lat_b / nb, lat_d / nd
        pooled = (sq_b - nb * mean_b**2 + sq_d - nd * mean_d**2) / np.maximum(nb + nd - 2, 1.0)
        se = np.sqrt(np.maximum(pooled, 0.0) * (1 / nb + 1 / nd))
        lat = np.maximum(0.0, np.abs(mean_d - mean_b) - 1.96 * se)
        lat = np.where((n_b >= 5) & (n_d >= 5), lat, 0.0)
    change: Floats = np.round(np.exp(np.maximum(rate, lat)), 3).astype(np.float64)
    return change


def compute(
    records: Sequence[SessionRecord], density: dict[int, float], regions: Regions | None = None
) -> tuple[Ints, Floats]:
    """Learner ids and the feature matrix for plain records (tests, small batches)."""
    builder = FeatureBuilder(density, regions)
    rows = (
        (
            r.learner_id,
            r.course_id,
            r.started,
            r.ended,
            r.wall_s,
            r.verified_s,
            r.device,
            r.ip,
            r.user_agent,
            r.f,
        )
        for r in records
    )
    builder.add(from_rows(rows, Encoders.new()))
    return builder.finish()


async def learner_regions(session: AsyncSession) -> Regions:
    """Every learner's city-level organisation, from the org tree's materialised paths."""
    rows = (await session.execute(select(Learner.id, Learner.org_path))).all()
    return Regions.from_paths([(int(i), str(p)) for i, p in rows])


async def features_for_period(
    session: AsyncSession, start: dt.datetime, end: dt.datetime, *, chunk: int = 200_000
) -> tuple[Ints, Floats]:
    """Features of every learner who studied in [start, end), read and computed in chunks."""
    builder = FeatureBuilder(await course_density(session), await learner_regions(session))
    async for table in stream_tables(session, start, end, Encoders.new(), chunk=chunk):
        builder.add(table)
    return builder.finish()
