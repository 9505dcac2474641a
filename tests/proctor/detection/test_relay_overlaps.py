"""The banded running maximum behind R16 and R18 against a brute force: on microseconds
(a day's machine-days) and on ranks (spans too long to band in 63 bits)."""

from __future__ import annotations

import numpy as np
import pytest

from proctor.detection.relay import OVERLAP_TOLERANCE_US, _overlaps


def _brute(gid: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    out = np.zeros(len(gid), dtype=bool)
    for i in range(len(gid)):
        ends = [end[j] for j in range(i) if gid[j] == gid[i]]
        out[i] = bool(ends) and start[i] < max(ends) - OVERLAP_TOLERANCE_US
    return out


@pytest.mark.parametrize(("scale", "length"), [(10**10, 3 * 10**8), (2**62, 2**61)])
def test_overlaps_agree_with_a_brute_force(scale: int, length: int) -> None:
    rng = np.random.default_rng(7)
    found = 0
    for _ in range(100):
        n = int(rng.integers(2, 40))
        gid = np.unique(rng.integers(0, 5, n), return_inverse=True)[1].astype(np.int64)
        start = rng.integers(0, scale, n, dtype=np.int64)
        # sessions shorter than the slack too
        short = rng.random(n) < 0.3
        duration = np.where(
            short,
            rng.integers(0, OVERLAP_TOLERANCE_US, n, dtype=np.int64),
            rng.integers(0, length, n, dtype=np.int64),
        )
        end = start + duration
        order = np.lexsort((start, gid))
        gid, start, end = gid[order], start[order], end[order]
        first = np.ones(n, dtype=bool)
        first[1:] = gid[1:] != gid[:-1]
        expected = _brute(gid, start, end)
        found += int(expected.sum())
        assert (_overlaps(first, gid, start, end) == expected).all()
    assert found > 50  # the draws do overlap
