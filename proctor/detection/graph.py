"""The account graph over all sessions of a period: learners, devices and addresses.

Computed on a few integer columns of the whole period (the rest of the session table can
be streamed), with sorting and group-bys instead of a loop per device or learner.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

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


def accounts_per_key(key: Ints, learner: Ints) -> Ints:
    """For every row, how many accounts used its key (device or address) in the period."""
    keys, _, _ = unique_pairs(key, learner)
    if len(keys) == 0:
        return np.zeros(len(key), dtype=np.int64)
    return np.bincount(keys, minlength=int(key.max()) + 1)[key]


def _shared_rows(key: Ints, learner: Ints) -> Ints:
    """Rows whose key (device or address) was used by two or more accounts."""
    return np.flatnonzero(accounts_per_key(key, learner) >= 2)


HANDOFF_US = 180 * 1_000_000
FEW_ACCOUNTS = 8  # an address this few accounts used is theirs (a household, an operator)
PLACE_SESSIONS = 2  # ... and an account's place only where it studied this many times


def handoffs(
    g: GraphColumns, n: int, key: Ints | None = None, repeats: int = 2
) -> tuple[Floats, Floats]:
    """Accounts run one after another on one device (or ``key``: an address): per learner,
    how many other accounts handed it over to them (or took it from them) ``repeats`` times
    or more, one session ending and the other's starting within three minutes; and the
    share of the learner's sessions that took part in such a hand-over."""
    partners, share = np.zeros(n), np.zeros(n)
    key = g.device if key is None else key
    rows = _shared_rows(key, g.learner)
    if len(rows) < 2:
        return partners, share
    order = rows[np.lexsort((g.start[rows], key[rows]))]
    dev, st, en, who = key[order], g.start[order], g.end[order], g.learner[order]
    gap = st[1:] - en[:-1]
    hand = (dev[1:] == dev[:-1]) & (who[1:] != who[:-1]) & (gap >= 0) & (gap <= HANDOFF_US)
    k = np.flatnonzero(hand)
    if len(k) == 0:
        return partners, share
    a, b = who[k], who[k + 1]
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    pa, pb, row = unique_pairs(lo, hi)
    repeated = np.bincount(row, minlength=len(pa)) >= repeats
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
    if len(g.device) == 0:
        return np.zeros(n)
    on_shared = accounts_per_key(g.device, g.learner) >= accounts
    total = np.bincount(g.learner, weights=g.verified, minlength=n)
    shared = np.bincount(g.learner, weights=np.where(on_shared, g.verified, 0.0), minlength=n)
    return np.asarray(shared / np.maximum(total, 1.0), dtype=float)


def linked_pairs(
    g: GraphColumns,
    n: int,
    big: int = 200,
    few: int = FEW_ACCOUNTS,
    min_sessions: int = PLACE_SESSIONS,
) -> Ints:
    """Pairs of accounts (a < b, as ``a * n + b``) that used two or more of the same
    addresses in the period, or one address that at most ``few`` accounts used. One shared
    address of a unit's NAT is ordinary; an operator's accounts share its rotating
    addresses, and each of those is used by the operator's accounts alone (an operator
    whose every account drew only two of three addresses shares just one with some of the
    others). Addresses of more than ``big`` accounts are left out (a NAT links everyone
    and would cost a quadratic number of pairs).

    An account links through an address only where it studied ``min_sessions`` times or
    more: an address used once is a network passed through (a phone on a carrier's
    address, a hotel), and one such session each chained strangers into groups of dozens
    (an honest couple's home PC then shared a group, and a machine-day, with a stranger
    who once drew the same mobile address as one of them). An operator's accounts and a
    household use their addresses day after day."""
    ips, learners, pair = unique_pairs(g.ip, g.learner)
    if len(ips) == 0:
        return np.zeros(0, dtype=np.int64)
    per_ip = np.bincount(ips)  # every account that used the address, passing or not
    uses = np.bincount(pair, minlength=len(ips))
    keep = (per_ip[ips] <= big) & (uses >= min_sessions)
    ips, learners = ips[keep], learners[keep]
    placed = np.bincount(ips, minlength=len(per_ip))
    keep = placed[ips] >= 2
    ips, learners = ips[keep], learners[keep]
    if len(ips) == 0:
        return np.zeros(0, dtype=np.int64)
    # All pairs of accounts within each address, counted once per address.
    a, b = _pairs_with_repeats(ips, learners)
    keys, counts = np.unique(a * n + b, return_counts=True)
    small = np.repeat(per_ip[ips] <= few, placed[ips] - 1 - _rank_within(ips))
    linked = np.union1d(keys[counts >= 2], np.unique((a * n + b)[small]))
    return np.asarray(linked, dtype=np.int64)


def _rank_within(keys: Ints) -> Ints:
    """Position of each row within its run of equal (sorted) keys."""
    first = np.flatnonzero(np.concatenate([[True], keys[1:] != keys[:-1]]))
    size = np.diff(np.concatenate([first, [len(keys)]]))
    return np.arange(len(keys)) - np.repeat(first, size)


def linked_groups(g: GraphColumns, n: int, *, devices: bool = True) -> tuple[Ints, Ints]:
    """Linked account pairs (two shared addresses, one small address, or, with ``devices``,
    a shared device; as ``a * n + b``) and each learner's connected group of linked
    accounts (-1 if none)."""
    linked = linked_pairs(g, n)
    if devices:
        dev_keys, dev_learners, _ = unique_pairs(g.device, g.learner)
        per_dev = np.bincount(dev_keys) if len(dev_keys) else np.zeros(0, dtype=np.int64)
        shared = (per_dev[dev_keys] >= 2) & (per_dev[dev_keys] <= 200)
        dev_pairs = _pairs_of_groups(dev_keys[shared], dev_learners[shared], n)
        linked = np.union1d(linked, dev_pairs)
    linked = linked.astype(np.int64)
    component = np.full(n, -1, dtype=np.int64)
    if len(linked) == 0:
        return linked, component
    graph = coo_matrix((np.ones(len(linked)), (linked // n, linked % n)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    involved = np.zeros(n, dtype=bool)
    involved[linked // n] = True
    involved[linked % n] = True
    component[involved] = labels[involved]
    return linked, component


def linked_handoffs(
    g: GraphColumns,
    n: int,
    repeats: int = 3,
    within_us: int = HANDOFF_US,
    groups: tuple[Ints, Ints] | None = None,
) -> tuple[Floats, Floats]:
    """Accounts taking turns wherever they are (fresh device ids, rotating addresses): per
    learner, how many accounts linked to them (two shared addresses, or a shared device)
    started a session within three minutes of the learner's ending, or the reverse,
    ``repeats`` times or more; and the share of the learner's sessions in such hand-overs."""
    partners, share = np.zeros(n), np.zeros(n)
    linked, component = linked_groups(g, n) if groups is None else groups
    if len(linked) == 0:
        return partners, share
    # Only sessions of linked accounts can hand over to each other: search each connected
    # group of linked accounts on its own, so the window never spans the whole population.
    rows = np.flatnonzero(component[g.learner] >= 0)
    comp = component[g.learner[rows]].astype(np.int64)
    ends_unique, end_rank = np.unique(g.end[rows], return_inverse=True)
    span = len(ends_unique) + 1
    key = comp * span + end_rank.ravel()
    by_key = np.argsort(key, kind="stable")
    sorted_key = key[by_key]
    starts = g.start[rows]
    lo = np.searchsorted(
        sorted_key,
        comp * span + np.searchsorted(ends_unique, starts - within_us, side="left"),
        side="left",
    )
    hi = np.searchsorted(
        sorted_key, comp * span + np.searchsorted(ends_unique, starts, side="right"), side="left"
    )
    width = hi - lo
    i = np.repeat(rows, width)
    within = np.arange(int(width.sum())) - np.repeat(np.cumsum(width) - width, width)
    j = rows[by_key[np.repeat(lo, width) + within]]
    a, b = g.learner[j], g.learner[i]
    keep = a != b
    i, j, a, b = i[keep], j[keep], a[keep], b[keep]
    key = np.minimum(a, b) * n + np.maximum(a, b)
    is_linked = np.isin(key, linked)
    i, j, key = i[is_linked], j[is_linked], key[is_linked]
    if len(key) == 0:
        return partners, share
    pair, counts = np.unique(key, return_counts=True)
    repeated = pair[counts >= repeats]
    partners = np.bincount(np.concatenate([repeated // n, repeated % n]), minlength=n).astype(float)
    hand = np.isin(key, repeated)
    involved = np.unique(np.concatenate([i[hand], j[hand]]))
    sessions = np.bincount(g.learner, minlength=n).astype(float)
    share = np.bincount(g.learner[involved], minlength=n) / np.maximum(sessions, 1)
    return partners, share


def _pairs_with_repeats(keys: Ints, learners: Ints) -> tuple[Ints, Ints]:
    """Every pair of learners (a < b) within each key (rows sorted by key, distinct
    learners per key), once per key."""
    pos = _rank_within(keys)
    size = np.bincount(np.cumsum(pos == 0) - 1)
    later = np.repeat(size, size) - pos - 1  # partners after each row within its key
    i = np.repeat(np.arange(len(keys)), later)
    j = i + 1 + (np.arange(len(i)) - np.repeat(np.cumsum(later) - later, later))
    return np.minimum(learners[i], learners[j]), np.maximum(learners[i], learners[j])


def _pairs_of_groups(keys: Ints, learners: Ints, n: int) -> Ints:
    """All account pairs (``a * n + b``, a < b) within each key (rows sorted by key)."""
    if len(keys) == 0:
        return np.zeros(0, dtype=np.int64)
    a, b = _pairs_with_repeats(keys, learners)
    return np.unique(a * n + b)
