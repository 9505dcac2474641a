"""Accounts taking turns on one machine for a long day, however they hand over.

The hand-over features (:mod:`.graph`) look for one account starting within three minutes
of another's end. An operator who has read that waits four minutes between lessons, or
runs one account all morning and the other all afternoon, and a farm of two accounts has
a single partner each, as a couple at a home PC has. What the operator cannot change
without giving up throughput is the machine's day: one machine (one device id, or one
group of accounts linked by addresses and devices) that plays lessons for several
accounts strictly one after another, never two at once, for more hours in a day than a
household or a shared office PC is used for study.

Computed as group-bys over (machine, local day): the sessions of a machine-day sorted by
start, a running maximum of their ends tells whether any session began before an earlier
one had ended (two people at once, or a unit's address), and the machine-day counts only
if it had two accounts or more and no such overlap.

And the address a device plays from at each change of account (``rotating_handover_days``):
a household's PC keeps its broadband's address whoever studies, an office PC the unit's;
an operator that rotates its addresses changes it between back-to-back lessons.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from proctor.detection.graph import GraphColumns
from proctor.detection.groups import Floats, Ints, distinct, maxima, run_starts, sums, unique_pairs

US = 1_000_000
HOUR_US = 3600 * US
DAY_US = 86_400 * US
RELAY_DAY_HOURS = 12.0  # a machine-day counted by ``relay_days``
RELAY_OWN_HOURS = 2.0  # ... for a learner who played this much of it
RELAY_ACCOUNTS = 3  # ... with as many accounts playing as much (a couple makes two)
CLIENT_HOURS = 6.0  # a machine's client: this many verified hours of the period on it
CLIENT_SHARE = 0.8  # ... and this share of all of the client's verified time
OVERLAP_TOLERANCE_US = 60 * US  # clocks and the last beat of a session are not exact
HANDOVER_GAP_US = 15 * 60 * US  # back to back: the next lesson within a quarter of an hour
ROTATING_HANDOVERS = 4  # ... this many a day, the address changing with the account

Bools = NDArray[np.bool_]


@dataclass(frozen=True)
class Relay:
    """Per learner: the longest machine-day and the counted days."""

    most: Floats
    days: Floats


def relay_machine_days(
    g: GraphColumns,
    day: Ints,
    key: Ints,
    n: int,
    min_hours: float = RELAY_DAY_HOURS,
    own_hours: float = RELAY_OWN_HOURS,
    accounts: int = RELAY_ACCOUNTS,
) -> Relay:
    """Per learner: the most hours one machine (``key``; -1 for none) played lessons on a
    day it served two or more accounts one after another and never two at once; and on
    how many days such a machine ran ``min_hours`` or more with ``own_hours`` or more of
    them the learner's and as much for each of ``accounts`` - 1 other accounts (a chain of
    colleagues linked through one small address, each studying an hour, or a long day of
    one learner on a PC another used for a lesson, is not an operator's day, and a couple
    cramming on their home PC all day makes two accounts)."""
    most, days = np.zeros(n), np.zeros(n)
    rows = np.flatnonzero(key >= 0)
    if len(rows) < 2:
        return Relay(most, days)
    order = rows[np.lexsort((g.start[rows], day[rows], key[rows]))]
    k, d = key[order], day[order]
    start, end, who = g.start[order], g.end[order], g.learner[order]
    first = run_starts(k, d)
    gid = np.cumsum(first) - 1
    groups = int(gid[-1]) + 1
    overlap = _overlaps(first, gid, start, end)
    overlapped = np.bincount(gid, weights=overlap, minlength=groups) > 0
    served = distinct(gid, who, groups)
    played = (end - start) / HOUR_US
    hours = sums(gid, played, groups)
    hours = np.where((served >= 2) & ~overlapped, hours, 0.0)
    pg, pl, pair = unique_pairs(gid, who)  # each machine-day once per account in it
    mine = sums(pair, played, len(pg))
    most = maxima(pl, hours[pg], n)
    # Enough of its accounts each played a real part of the day, the learner among them.
    players = np.bincount(pg, weights=mine >= own_hours, minlength=groups)
    long_day = (hours[pg] >= min_hours) & (mine >= own_hours) & (players[pg] >= accounts)
    group_day = d[np.flatnonzero(first)]
    days = distinct(pl[long_day], group_day[pg[long_day]], n)
    return Relay(most, days)


def _overlaps(first: Bools, gid: Ints, start: Ints, end: Ints) -> Bools:
    """Rows sorted by (group, start), ``first`` marking each group's first row: True where
    a row starts before an earlier row of its group has ended (less a minute of slack).
    A running maximum of the ends within each group: every group is shifted into a band
    of its own so that one cumulative maximum serves them all; on microseconds when the
    bands fit in 63 bits (a day's groups always do), else on ranks (a long period)."""
    out = np.zeros(len(gid), dtype=bool)
    if len(gid) < 2:
        return out
    groups = int(gid[-1]) + 1
    base = start[np.flatnonzero(first)][gid]
    span = int((end - base).max()) + 1
    if span * (groups + 1) < 2**62:
        # a group's values lie in [g·span − slack, (g + 1)·span − slack): never below the
        # group before it
        rel_start, rel_end = start - base, end - base - OVERLAP_TOLERANCE_US
        band = span
    else:
        both = np.concatenate([start, end - OVERLAP_TOLERANCE_US])
        rank = np.asarray(np.unique(both, return_inverse=True)[1], dtype=np.int64).ravel()
        rel_start, rel_end = rank[: len(gid)], rank[len(gid) :]
        band = len(rank) + 1
    running = np.maximum.accumulate(rel_end + gid * band) - gid * band
    out[1:] = ~first[1:] & (rel_start[1:] < running[:-1])
    return out


def machine_clients(
    g: GraphColumns,
    key: Ints,
    unit: Ints,
    n: int,
    min_hours: float = CLIENT_HOURS,
    min_share: float = CLIENT_SHARE,
) -> Floats:
    """Per learner: how many accounts one machine (``key``; -1 for none) earned most of the
    period's credit for, one at a time, when the learner is one of them and they belong to
    two units or more (``unit`` per learner, -1 unknown); 0 otherwise.

    A client of a machine has ``min_hours`` verified hours or more on it and ``min_share``
    or more of all their verified time. A farm that keeps to two accounts a day (as a couple
    at a home PC does) and moves on to the next clients once it has earned their quota
    passes every per-day rule, but its machine ends the period as nearly the only place
    several people from different units ever studied. A unit's shared office PC serves one
    unit; colleagues behind one address study at the same time now and then; a household's
    PC serves two. Each account's own overlapping sessions (a second tab) are merged first:
    only two *accounts* at once mean two people."""
    out = np.zeros(n)
    rows = np.flatnonzero((key >= 0) & (g.verified > 0))
    if len(rows) < 2:
        return out
    own = sums(g.learner, g.verified, n)
    pk, pl, pair = unique_pairs(key[rows], g.learner[rows])
    on = sums(pair, g.verified[rows], len(pk))
    client = (on >= min_hours * 3600) & (on >= min_share * np.maximum(own[pl], 1.0))
    rows = rows[client[pair]]
    if len(rows) < 2:
        return out
    # Each client's sessions on the machine merged into intervals of their own.
    order = rows[np.lexsort((g.start[rows], g.learner[rows], key[rows]))]
    k, who, start, end = key[order], g.learner[order], g.start[order], g.end[order]
    first = run_starts(k, who)
    merged_into = _overlaps(first, np.cumsum(first) - 1, start, end)
    new = ~merged_into
    interval = np.cumsum(new) - 1
    ik, iw, i_start = k[new], who[new], start[new]
    i_end = maxima(interval, end.astype(float), int(interval[-1]) + 1).astype(np.int64)
    # Two clients' intervals overlapping on one machine: two people at once, not one machine.
    by_start = np.lexsort((i_start, ik))
    ik, iw, i_start, i_end = ik[by_start], iw[by_start], i_start[by_start], i_end[by_start]
    mfirst = run_starts(ik)
    mid = np.cumsum(mfirst) - 1
    machines = int(mid[-1]) + 1
    overlapped = np.bincount(
        mid, weights=_overlaps(mfirst, mid, i_start, i_end), minlength=machines
    )
    mk, ml, _ = unique_pairs(mid, iw)
    clients = np.bincount(mk, minlength=machines).astype(float)
    units = unit[ml]
    known = units >= 0
    unit_count = np.zeros(machines)
    if known.any():
        unit_count = distinct(mk[known], units[known], machines)
    ok = (overlapped == 0) & (unit_count >= 2)
    return maxima(ml, np.where(ok[mk], clients[mk], 0.0), n)


def rotating_handover_days(
    g: GraphColumns,
    day: Ints,
    city: Ints,
    few: Bools,
    n: int,
    gap_us: int = HANDOVER_GAP_US,
    per_day: int = ROTATING_HANDOVERS,
) -> Floats:
    """Per learner: on how many days one device passed from one account to another, the
    next lesson starting within ``gap_us`` of the last one's end, from another network
    address in the same network region (``city``) ``per_day`` times or more, the learner
    taking part (``few``: both addresses used by few accounts, so not a unit's NAT or a
    carrier's gateway). Addresses are IPv4 addresses and IPv6 /64s
    (:func:`proctor.kernel.networks.network_of`); a change of region, IPv4 to IPv6
    included (a dual-stack home alternates), is not counted: a change of place is R07's.

    A household's PC stays on its broadband address whoever studies; an office PC on the
    unit's. An operator who rotates its addresses (so that no address serves many accounts)
    changes the address between back-to-back lessons of its accounts, which a place does
    not do in minutes."""
    out = np.zeros(n)
    if len(g.device) < 2:
        return out
    order = np.lexsort((g.start, g.device))
    dev, start, end = g.device[order], g.start[order], g.end[order]
    who, ip, d, small = g.learner[order], g.ip[order], day[order], few[order]
    region = city[order]
    gap = start[1:] - end[:-1]
    hand = (
        (dev[1:] == dev[:-1])
        & (who[1:] != who[:-1])
        & (gap >= -OVERLAP_TOLERANCE_US)
        & (gap <= gap_us)
        & (ip[1:] != ip[:-1])
        & (region[1:] == region[:-1])
        & small[1:]
        & small[:-1]
    )
    k = np.flatnonzero(hand)
    if len(k) == 0:
        return out
    learners = np.concatenate([who[k], who[k + 1]])
    days = np.concatenate([d[k + 1], d[k + 1]])
    ld, _, pair = unique_pairs(learners, days)
    counts = np.bincount(pair, minlength=len(ld))
    busy = counts >= per_day
    return np.bincount(ld[busy], minlength=n).astype(float)
