"""Long id lists in batches for IN queries.

Every value of an IN list is one bound parameter, and both SQLite (32,766) and asyncpg
(32,767) refuse a statement with more: an exam sat by a province, or a sweep over its
learners, holds more ids than that.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")

IN_BATCH = 5000  # far under both limits, and few round trips


def batches(values: Iterable[T], size: int | None = None) -> Iterator[list[T]]:
    """``values`` in consecutive lists of at most ``size`` (``IN_BATCH`` when not given)."""
    items = list(values)
    step = size or IN_BATCH
    for start in range(0, len(items), step):
        yield items[start : start + step]
