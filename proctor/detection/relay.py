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
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from proctor.detection.graph import GraphColumns
from proctor.detection.groups import Floats, Ints, distinct, maxima, run_starts, sums, unique_pairs

US = 1_000_000
HOUR_US = 3600 * US
DAY_US = 86_400 * US
RELAY_DAY_HOURS = 12.0  # a machine-day counted by ``relay_days``
RELAY_OWN_HOURS = 2.0  # ... for a learner who played this much of it
RELAY_ACCOUNTS = 3  # ... with as many accounts playing as much (a couple makes two)
OVERLAP_TOLERANCE_US = 60 * US  # clocks and the last beat of a session are not exact


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
    # A running maximum of the ends within each machine-day: shift every machine-day's
    # ends into its own band so that one cumulative maximum serves them all.
    base = start[np.flatnonzero(first)][gid]  # rows are sorted by start within a day
    band = 4 * DAY_US
    rel_end = np.clip(end - base, 0, band - 1)
    running = np.maximum.accumulate(rel_end + gid * band) - gid * band
    overlap = np.zeros(len(order), dtype=bool)
    overlap[1:] = ~first[1:] & (start[1:] - base[1:] < running[:-1] - OVERLAP_TOLERANCE_US)
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
