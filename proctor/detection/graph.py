"""The account graph over all sessions of a period: learners, devices and addresses.

Computed on a few integer columns of the whole period (the rest of the session table can
be streamed), with sorting and group-bys instead of a loop per device or learner.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from proctor.detection.groups import Floats, Ints, distinct, maxima, unique_pairs


@dataclass
class GraphColumns:
    """What the graph needs of each session."""

    learner: Ints  # dense learner index (row of the feature matrix)
    device: Ints
    ip: Ints
    start: Ints  # microseconds
    end: Ints
    verified: Floats


def accounts_sharing(learner: Ints, key: Ints, n: int) -> Floats:
    """Per learner: the most other accounts seen on one of their devices (or addresses)."""
    keys, learners, _ = unique_pairs(key, learner)
    if len(keys) == 0:
        return np.zeros(n)
    per_key = np.bincount(keys)
    return maxima(learners, (per_key[keys] - 1).astype(float), n)


def _pairs_within(group: Ints, start: Ints, window: int, block: int) -> list[tuple[Ints, Ints]]:
    """Rows sorted by (group, start): every (i, j) with j < i in the same group and
    start[j] >= start[i] - window, generated in blocks of about ``block`` pairs."""
    _, rank = np.unique(start, return_inverse=True)
    starts_sorted = np.unique(start)
    span = len(starts_sorted) + 1
    key = group * span + rank.ravel()
    lo_rank = np.searchsorted(starts_sorted, start - window, side="left")
    lo = np.searchsorted(key, group * span + lo_rank, side="left")
    width = np.arange(len(start)) - lo
    ends = np.cumsum(width)
    cuts = np.searchsorted(ends, np.arange(block, int(ends[-1]) + block, block), side="right")
    out = []
    a = 0
    for b in [*np.unique(np.minimum(cuts, len(start))).tolist(), len(start)]:
        if b <= a:
            continue
        w = width[a:b]
        i = np.repeat(np.arange(a, b), w)
        within = np.arange(int(w.sum())) - np.repeat(np.cumsum(w) - w, w)
        out.append((i, lo[i] + within))
        a = b
    return out


def concurrent_accounts(g: GraphColumns, n: int, block: int = 2_000_000) -> Floats:
    """Per learner: the most other accounts whose sessions overlapped one of the learner's
    on one device (a session already open when the other started there)."""
    out = np.zeros(n)
    rows = _shared_rows(g.device, g.learner)
    if len(rows) == 0:
        return out
    order = rows[np.lexsort((g.start[rows], g.device[rows]))]
    dev, st, en, who = g.device[order], g.start[order], g.end[order], g.learner[order]
    longest = int((en - st).max())
    found = []
    for i, j in _pairs_within(dev, st, longest, block):
        keep = (en[j] > st[i]) & (who[j] != who[i])
        i, j = i[keep], j[keep]
        found.append(
            np.stack(
                [
                    np.concatenate([dev[i], dev[j]]),
                    np.concatenate([who[i], who[j]]),
                    np.concatenate([who[j], who[i]]),
                ]
            )
        )
    d, a, b = np.concatenate(found, axis=1)
    if len(d) == 0:
        return out
    # How many distinct others per (device, learner); the most over the learner's devices.
    _, learner_of, pair_row = unique_pairs(d, a)
    return maxima(learner_of, distinct(pair_row, b, len(learner_of)), n)


def _shared_rows(key: Ints, learner: Ints) -> Ints:
    """Rows whose key (device or address) was used by two or more accounts."""
    keys, _, _ = unique_pairs(key, learner)
    if len(keys) == 0:
        return np.zeros(0, dtype=np.int64)
    per_key = np.bincount(keys)
    return np.flatnonzero(per_key[key] >= 2)


HANDOFF_US = 180 * 1_000_000


def handoffs(g: GraphColumns, n: int) -> tuple[Floats, Floats]:
    """Accounts run one after another on one device: per learner, how many other accounts
    handed the device over to them (or took it from them) twice or more, one session ending
    and the other's starting within three minutes; and the share of the learner's sessions
    that took part in such a hand-over."""
    partners, share = np.zeros(n), np.zeros(n)
    rows = _shared_rows(g.device, g.learner)
    if len(rows) < 2:
        return partners, share
    order = rows[np.lexsort((g.start[rows], g.device[rows]))]
    dev, st, en, who = g.device[order], g.start[order], g.end[order], g.learner[order]
    gap = st[1:] - en[:-1]
    hand = (dev[1:] == dev[:-1]) & (who[1:] != who[:-1]) & (gap >= 0) & (gap <= HANDOFF_US)
    k = np.flatnonzero(hand)
    if len(k) == 0:
        return partners, share
    a, b = who[k], who[k + 1]
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    pa, pb, row = unique_pairs(lo, hi)
    repeated = np.bincount(row, minlength=len(pa)) >= 2
    partners = np.bincount(np.concatenate([pa[repeated], pb[repeated]]), minlength=n).astype(float)
    involved = np.zeros(len(order), dtype=bool)
    involved[k] = True
    involved[k + 1] = True
    sessions = np.bincount(g.learner, minlength=n).astype(float)
    share = np.bincount(who[involved], minlength=n) / np.maximum(sessions, 1)
    return partners, share


def shared_device_credit(g: GraphColumns, n: int, accounts: int = 3) -> Floats:
    """Per learner: share of their verified time on devices used by ``accounts`` or more
    accounts in the period (a farm's accounts exist only on its machine)."""
    keys, _, _ = unique_pairs(g.device, g.learner)
    if len(keys) == 0:
        return np.zeros(n)
    per_device = np.bincount(keys)
    on_shared = per_device[g.device] >= accounts
    total = np.bincount(g.learner, weights=g.verified, minlength=n)
    shared = np.bincount(g.learner, weights=np.where(on_shared, g.verified, 0.0), minlength=n)
    return np.asarray(shared / np.maximum(total, 1.0), dtype=float)
