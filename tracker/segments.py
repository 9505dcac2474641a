"""Unions of verified content segments, in integer milliseconds.

A learner's coverage of a lesson is a sorted tuple of disjoint half-open intervals;
rewatching a covered part adds nothing.
"""

from __future__ import annotations

Segment = tuple[int, int]
Segments = tuple[Segment, ...]


def add(segments: Segments, segment: Segment) -> tuple[Segments, int]:
    """Merge one segment into a union; return the new union and the milliseconds it added."""
    start, end = segment
    if end <= start:
        return segments, 0
    before = covered(segments)
    merged: list[Segment] = []
    placed = False
    for s, e in segments:
        if e < start:
            merged.append((s, e))
        elif s > end:
            if not placed:
                merged.append((start, end))
                placed = True
            merged.append((s, e))
        else:
            start, end = min(s, start), max(e, end)
    if not placed:
        merged.append((start, end))
    merged.sort()
    result = tuple(merged)
    return result, covered(result) - before


def covered(segments: Segments) -> int:
    """Total milliseconds covered."""
    return sum(e - s for s, e in segments)


def encode(segments: Segments) -> str:
    """Compact text form for the hot state and the database: "0-10000,25000-40000"."""
    return ",".join(f"{s}-{e}" for s, e in segments)


def decode(text: str) -> Segments:
    """Inverse of :func:`encode`; an empty string is no coverage."""
    if not text:
        return ()
    out = []
    for part in text.split(","):
        s, e = part.split("-")
        out.append((int(s), int(e)))
    return tuple(out)


def resume_point(segments: Segments, duration_ms: int) -> int:
    """Where a returning learner resumes: the start of the first uncovered part (the player
    seeks there, and the course page and "继续学习" name the same second)."""
    pos = 0
    for s, e in segments:
        if s > pos:
            break
        pos = max(pos, e)
    return min(pos, duration_ms)
