"""Group-by helpers over numpy columns (sums, maxima, distinct counts, medians per group)."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

Ints = NDArray[np.int64]
Floats = NDArray[np.float64]


def sums(group: Ints, values: NDArray[np.generic], n: int) -> Floats:
    """Sum of ``values`` per group (added in row order, like a sequential Python sum)."""
    return np.asarray(
        np.bincount(group, weights=np.asarray(values, dtype=float), minlength=n), dtype=float
    )


def maxima(group: Ints, values: Floats, n: int, initial: float = 0.0) -> Floats:
    """Largest value per group (``initial`` for groups without rows)."""
    out = np.full(n, initial, dtype=float)
    np.maximum.at(out, group, values)
    return out


def unique_pairs(a: Ints, b: Ints) -> tuple[Ints, Ints, Ints]:
    """The distinct (a, b) of non-negative integer columns, sorted by (a, b), and for every
    row the index of its pair. One integer key per pair: a 1-d sort is far faster than
    ``np.unique(axis=1)``."""
    if len(a) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    span = int(b.max()) + 1
    keys, inverse = np.unique(a * span + b, return_inverse=True)
    return keys // span, keys % span, np.asarray(inverse, dtype=np.int64).ravel()


def distinct(group: Ints, values: Ints, n: int) -> Floats:
    """Number of distinct values per group."""
    pa, _, _ = unique_pairs(group, values)
    return np.bincount(pa, minlength=n).astype(float)


def medians(group: Ints, values: Floats, n: int) -> tuple[Floats, Ints]:
    """Median per group (NaN where empty) and the count per group."""
    counts = np.bincount(group, minlength=n)
    out = np.full(n, np.nan)
    if len(values) == 0:
        return out, counts
    order = np.lexsort((values, group))
    v = values[order]
    first = np.concatenate([[0], np.cumsum(counts)[:-1]])
    has = counts > 0
    lo = first[has] + (counts[has] - 1) // 2
    hi = first[has] + counts[has] // 2
    out[has] = (v[lo] + v[hi]) / 2
    return out, counts


def run_starts(*keys: NDArray[np.generic]) -> NDArray[np.bool_]:
    """True where a row starts a run of equal keys (rows already sorted by the keys)."""
    n = len(keys[0])
    if n == 0:
        return np.zeros(0, dtype=bool)
    new = np.zeros(n, dtype=bool)
    new[0] = True
    for k in keys:
        new[1:] |= k[1:] != k[:-1]
    return new


def run_first(starts: NDArray[np.bool_]) -> Ints:
    """For every row, the index of the first row of its run."""
    idx = np.where(starts, np.arange(len(starts)), 0)
    return np.maximum.accumulate(idx) if len(idx) else idx.astype(np.int64)
