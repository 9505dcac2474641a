"""Pure session summary for the detector, computed from a session's raw trace.

The summary is derived from the same durable evidence reviewers can inspect, never from
the client's own accounting, so a feature value can always be traced back to beats.
"""

from __future__ import annotations

import itertools
import statistics
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

from tracker.evidence import BeatRecord, EventRecord


def _frac(beats: Sequence[BeatRecord], flag: Callable[[BeatRecord], bool], total_ms: int) -> float:
    if total_ms <= 0:
        return 0.0
    return float(sum(b.elapsed_ms for b in beats if flag(b))) / total_ms


def summarise(
    beats: Sequence[BeatRecord],
    events: Sequence[EventRecord],
    started_ms: int,
    ended_ms: int,
) -> dict[str, Any]:
    """Features of one session: attention fractions, rates, seeks, challenges, overlaps.

    ``beats`` are the session's beat records in arrival order (accepted or not);
    ``events`` are its other records.
    """
    accepted = [b for b in beats if b.accepted]
    weighted = [b for b in accepted if b.elapsed_ms > 0]
    total_el = sum(b.elapsed_ms for b in weighted)
    wall_ms = max(0, ended_ms - started_ms)
    codes: Counter[str] = Counter()
    for b in beats:
        codes.update(c for c in b.codes.split(",") if c)
    implied = [
        (cur.beat.position_ms - prev.beat.position_ms) / cur.elapsed_ms
        for prev, cur in itertools.pairwise(accepted)
        if cur.elapsed_ms > 0 and not cur.beat.paused
    ]
    gaps = [b.elapsed_ms / 1000 for b in accepted[1:]]
    skews = [
        b.beat.client_time_ms - b.received_ms for b in beats if b.beat.client_time_ms is not None
    ]
    answered = [e for e in events if e.kind == "challenge_answered"]
    latencies = [e.detail["latency_ms"] for e in answered]
    outcomes = [e.detail["correct"] for e in answered]
    issued = sum(1 for e in events if e.kind == "challenge_issued")
    visible_flips = sum(
        1 for prev, cur in itertools.pairwise(beats) if prev.beat.visible != cur.beat.visible
    )
    interactions = sum(b.beat.interactions for b in beats)
    return {
        "wall_s": wall_ms / 1000,
        "verified_s": sum(b.credited_ms for b in beats) / 1000,
        "new_coverage_s": sum(b.new_coverage_ms for b in beats) / 1000,
        "beats": len(beats),
        "rejected_beats": len(beats) - len(accepted),
        "visible_frac": _frac(weighted, lambda b: b.beat.visible, total_el),
        "focused_frac": _frac(weighted, lambda b: b.beat.focused, total_el),
        "muted_frac": _frac(weighted, lambda b: b.beat.muted, total_el),
        "paused_frac": _frac(weighted, lambda b: b.beat.paused, total_el),
        "rate_p50": statistics.median([b.beat.rate for b in beats]) if beats else 0.0,
        "rate_max": max((b.beat.rate for b in beats), default=0.0),
        "implied_rate_p50": statistics.median(implied) if implied else 0.0,
        "implied_rate_max": max(implied, default=0.0),
        "seeks_forward": codes["seek_forward"],
        "seeks_back": codes["seek_back"],
        "rate_exceeded": codes["rate_exceeded"],
        "interactions": interactions,
        "interactions_per_min": interactions / max(wall_ms / 60_000, 1 / 60),
        "beat_gap_mean_s": statistics.fmean(gaps) if gaps else 0.0,
        "beat_gap_sd_s": statistics.pstdev(gaps) if len(gaps) > 1 else 0.0,
        "client_skew_ms_p50": statistics.median(skews) if skews else None,
        "client_skew_ms_spread": (max(skews) - min(skews)) if skews else None,
        "visibility_changes": visible_flips,
        "challenges_issued": issued,
        "challenges_correct": sum(1 for o in outcomes if o),
        "challenges_wrong": sum(1 for o in outcomes if not o),
        "challenge_latencies_ms": latencies,
        "challenge_latency_ms_p50": statistics.median(latencies) if latencies else None,
        "overlap_s": sum(b.elapsed_ms for b in beats if "concurrent_session" in b.codes) / 1000,
        "codes": dict(codes),
    }
