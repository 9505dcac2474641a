"""Detection throughput: features, fit and scoring of 100,000 learner-periods.

Synthetic session summaries (8 per learner; a unit's learners share its NAT address and
an office PC; 14 cities, each the home of its units' learners, 5 % of sessions elsewhere)
go through the same feature builder (in chunks of whole learners, as `proctor detect`
streams them from SQL), model and scoring code as `proctor detect`.
The old per-learner feature pass (:mod:`proctor.detection.reference`) runs on a subsample
as the baseline, after the peak memory of the vectorised run has been read.
Last line: learner_periods_per_s=N peak_mb=M
"""

from __future__ import annotations

import argparse
import datetime as dt
import resource
import time

import numpy as np

from proctor.detection.features import FeatureBuilder
from proctor.detection.reference import SessionRecord, compute_reference
from proctor.detection.region import Regions
from proctor.detection.rules import DEFAULT_THRESHOLDS
from proctor.detection.scoring import fit, score
from proctor.detection.table import US, SessionTable

T0 = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
T0_US = int(T0.timestamp()) * US
COURSES = 30
CITIES = 14


def city_of_learner(lid: np.ndarray) -> np.ndarray:
    """The city-level organisation of a learner (units of 40, 25 units a city)."""
    return np.asarray((lid // 40 // 25) % CITIES, dtype=np.int64)


def synthetic(first: int, learners: int, per_learner: int, seed: int) -> SessionTable:
    """Sessions of learners ``first`` .. ``first + learners - 1`` as columns."""
    rng = np.random.default_rng(seed + first)
    n = learners * per_learner
    lid = np.repeat(np.arange(first, first + learners, dtype=np.int64), per_learner)
    unit = lid // 40
    start = (
        T0_US
        + rng.integers(0, 30, n) * 86_400 * US
        + (rng.uniform(8, 22, n) * 3600 * US).astype(np.int64)
    )
    wall = rng.uniform(600, 2700, n)
    issued = rng.integers(0, 6, n).astype(float)
    office = rng.random(n) >= 0.85
    # Devices: a learner's own PC (code = learner id) or an office PC four colleagues share.
    device = np.where(office, 10_000_000 + lid // 4, lid)
    return SessionTable(
        learner=lid,
        course=1 + np.tile(np.arange(per_learner), learners) % COURSES,
        start=start,
        end=start + (wall * US).astype(np.int64),
        wall=wall,
        verified=wall * rng.uniform(0.5, 1.0, n),
        device=device.astype(np.int64),
        ip=(unit % 250).astype(np.int64),
        city=np.where(
            rng.random(n) < 0.05, rng.integers(0, CITIES, n), city_of_learner(lid)
        ).astype(np.int64),
        v6=np.zeros(n, dtype=bool),
        non_browser=np.zeros(n, dtype=bool),
        mobile=np.zeros(n, dtype=bool),
        issued=issued,
        answered=issued,
        interactions=rng.integers(0, 201, n).astype(float),
        paused=rng.integers(0, 31, n).astype(float),
        hidden=np.zeros(n),
        beats=(wall / 10).astype(np.int64).astype(float),
        muted_frac=np.zeros(n),
        seeks_forward=np.zeros(n),
        seeks_back=np.zeros(n),
        rate_exceeded=np.zeros(n),
        overlap_s=np.zeros(n),
        beat_gap_sd=np.zeros(n),
        lat_offsets=np.arange(0, 2 * n + 1, 2, dtype=np.int64),
        latencies=rng.lognormal(7.8, 0.5, 2 * n),
    )


def as_records(t: SessionTable) -> list[SessionRecord]:
    """The same sessions as the old per-learner pass takes them."""
    out = []
    for k in range(len(t)):
        lo, hi = t.lat_offsets[k], t.lat_offsets[k + 1]
        start = T0 + dt.timedelta(microseconds=int(t.start[k] - T0_US))
        out.append(
            SessionRecord(
                int(t.learner[k]),
                int(t.course[k]),
                start,
                start + dt.timedelta(microseconds=int(t.end[k] - t.start[k])),
                float(t.wall[k]),
                float(t.verified[k]),
                f"pc-{t.device[k]}",
                f"10.1.{t.ip[k]}.1",
                "Mozilla/5.0 Chrome",
                {
                    "challenges_issued": int(t.issued[k]),
                    "challenges_correct": int(t.answered[k]),
                    "challenges_wrong": 0,
                    "challenge_latencies_ms": t.latencies[lo:hi].tolist(),
                    "interactions": int(t.interactions[k]),
                    "codes": {"paused": int(t.paused[k])},
                    "beats": int(t.beats[k]),
                    "muted_frac": 0.0,
                    "seeks_forward": 0,
                    "rate_exceeded": 0,
                    "overlap_s": 0.0,
                },
            )
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--learners", type=int, default=100_000)
    parser.add_argument("--sessions", type=int, default=8)
    parser.add_argument("--chunk", type=int, default=20_000, help="learners per chunk")
    parser.add_argument("--baseline", type=int, default=5_000, help="learners (0: skip)")
    args = parser.parse_args()
    density = {c: 1.0 / c for c in range(1, COURSES + 1)}
    window = (T0.date(), T0.date() + dt.timedelta(days=29))
    t0 = time.perf_counter()
    c0 = time.process_time()
    ids = np.arange(args.learners, dtype=np.int64)
    builder = FeatureBuilder(density, Regions(ids, city_of_learner(ids), ids // 40))
    sessions = 0
    for first in range(0, args.learners, args.chunk):
        table = synthetic(first, min(args.chunk, args.learners - first), args.sessions, 7)
        sessions += len(table)
        builder.add(table)
    ids, X = builder.finish()
    t1 = time.perf_counter()
    detector = fit(X, DEFAULT_THRESHOLDS, window=window, random_state=0)
    t2 = time.perf_counter()
    decisions = score(detector, ids, X)
    t3 = time.perf_counter()
    cpu = time.process_time() - c0
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    flagged = sum(d.flagged for d in decisions)
    total = t3 - t0
    print(
        f"{len(ids)} learner-periods ({sessions} sessions, chunks of {args.chunk} learners): "
        f"features {t1 - t0:.1f} s (synthetic generation included), fit {t2 - t1:.1f} s, "
        f"score {t3 - t2:.1f} s, total {total:.1f} s wall, {cpu:.1f} s CPU (the machine is shared: "
        f"wall time includes waiting for a core), flagged {flagged}, peak {peak_mb:.0f} MB"
    )
    if args.baseline:
        sub = synthetic(0, args.baseline, args.sessions, 7)
        records = as_records(sub)
        b0 = time.perf_counter()
        compute_reference(records, density)
        old = time.perf_counter() - b0
        b1 = time.perf_counter()
        small = FeatureBuilder(density)
        small.add(sub)
        small.finish()
        new = time.perf_counter() - b1
        print(
            f"baseline on {args.baseline} learner-periods: per-learner features {old:.1f} s "
            f"({args.baseline / old:.0f} learner-periods/s), vectorised {new:.2f} s "
            f"({args.baseline / new:.0f} learner-periods/s)"
        )
    print(
        f"learner_periods_per_s={len(ids) / total:.0f} peak_mb={peak_mb:.0f} "
        f"wall_s={total:.1f} cpu_s={cpu:.1f}"
    )


if __name__ == "__main__":
    main()
