"""Pure session summary for the detector, computed from a session's raw trace.

The summary is derived from the same durable evidence reviewers can inspect, never from
the client's own accounting, so a feature value can always be traced back to beats.
"""

from __future__ import annotations

import itertools
import statistics
from collections import Counter
from collections.abc import Sequence
from typing import Any


def _frac(beats: Sequence[dict[str, Any]], flag: str, total_ms: int) -> float:
    if total_ms <= 0:
        return 0.0
    return float(sum(b["el"] for b in beats if b[flag])) / total_ms


def summarise(
    beats: Sequence[dict[str, Any]],
    events: Sequence[dict[str, Any]],
    started_ms: int,
    ended_ms: int,
) -> dict[str, Any]:
    """Features of one session: attention fractions, rates, seeks, challenges, overlaps.

    ``beats`` are evidence entries of kind "beat" in arrival order (accepted or not);
    ``events`` are the session's other evidence entries.
    """
    accepted = [b for b in beats if b["ok"]]
    weighted = [b for b in accepted if b["el"] > 0]
    total_el = sum(b["el"] for b in weighted)
    wall_ms = max(0, ended_ms - started_ms)
    codes: Counter[str] = Counter()
    for b in beats:
        codes.update(c for c in b["codes"].split(",") if c)
    implied = [
        (cur["p"] - prev["p"]) / cur["el"]
        for prev, cur in itertools.pairwise(accepted)
        if cur["el"] > 0 and not cur["pa"]
    ]
    gaps = [b["el"] / 1000 for b in accepted[1:]]
    skews = [b["ct"] - b["t"] for b in beats if b.get("ct") is not None]
    latencies = [e["detail"]["latency_ms"] for e in events if e["kind"] == "challenge_answered"]
    outcomes = [e["detail"]["correct"] for e in events if e["kind"] == "challenge_answered"]
    issued = sum(1 for e in events if e["kind"] == "challenge_issued")
    visible_flips = sum(1 for prev, cur in itertools.pairwise(beats) if prev["vi"] != cur["vi"])
    return {
        "wall_s": wall_ms / 1000,
        "verified_s": sum(b["cr"] for b in beats) / 1000,
        "new_coverage_s": sum(b["nc"] for b in beats) / 1000,
        "beats": len(beats),
        "rejected_beats": len(beats) - len(accepted),
        "visible_frac": _frac(weighted, "vi", total_el),
        "focused_frac": _frac(weighted, "fo", total_el),
        "muted_frac": _frac(weighted, "mu", total_el),
        "paused_frac": _frac(weighted, "pa", total_el),
        "rate_p50": statistics.median([b["r"] for b in beats]) if beats else 0.0,
        "rate_max": max((b["r"] for b in beats), default=0.0),
        "implied_rate_p50": statistics.median(implied) if implied else 0.0,
        "implied_rate_max": max(implied, default=0.0),
        "seeks_forward": codes["seek_forward"],
        "seeks_back": codes["seek_back"],
        "rate_exceeded": codes["rate_exceeded"],
        "interactions": sum(b["i"] for b in beats),
        "interactions_per_min": sum(b["i"] for b in beats) / max(wall_ms / 60_000, 1 / 60),
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
        "overlap_s": sum(b["el"] for b in beats if "concurrent_session" in b["codes"]) / 1000,
        "codes": dict(codes),
    }
