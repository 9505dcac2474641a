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
