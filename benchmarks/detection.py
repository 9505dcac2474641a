"""Detection throughput: features, fit and scoring of 100,000 learner-periods.

Synthetic session summaries (8 per learner; a unit's learners share its NAT address) go through the same feature, model and scoring code as `proctor detect`.
Last line: learner_periods_per_s=N
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import time

from proctor.detection.features import SessionRecord, compute
from proctor.detection.rules import DEFAULT_THRESHOLDS
from proctor.detection.scoring import fit, score

T0 = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)


def synthetic(learners: int, per_learner: int, seed: int) -> list[SessionRecord]:
    rng = random.Random(seed)
    out = []
    for lid in range(learners):
        unit = lid // 40
        for k in range(per_learner):
            start = T0 + dt.timedelta(days=rng.randrange(30), hours=rng.uniform(8, 22))
            wall = rng.uniform(600, 2700)
            f = {
                "challenges_issued": rng.randint(0, 5),
                "challenges_correct": 0,
                "challenges_wrong": 0,
                "challenge_latencies_ms": [rng.lognormvariate(7.8, 0.5) for _ in range(2)],
                "interactions": rng.randint(0, 200),
                "codes": {"paused": rng.randint(0, 30)},
                "beats": int(wall / 10),
                "muted_frac": 0.0,
                "seeks_forward": 0,
                "rate_exceeded": 0,
                "overlap_s": 0.0,
            }
            f["challenges_correct"] = f["challenges_issued"]
            out.append(
                SessionRecord(
                    lid,
                    1 + k % 30,
                    start,
                    start + dt.timedelta(seconds=wall),
                    wall,
                    wall * rng.uniform(0.5, 1.0),
                    f"pc-{lid}" if rng.random() < 0.7 else f"office-{unit}",
                    f"10.1.{unit % 250}.1",
                    "Mozilla/5.0 Chrome",
                    f,
                )
            )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--learners", type=int, default=100_000)
    parser.add_argument("--sessions", type=int, default=8)
    args = parser.parse_args()
    records = synthetic(args.learners, args.sessions, 7)
    density = {c: 1.0 / c for c in range(1, 31)}
    t0 = time.perf_counter()
    ids, X = compute(records, density)
    t1 = time.perf_counter()
    detector = fit(
        X, DEFAULT_THRESHOLDS, window=(T0.date(), T0.date() + dt.timedelta(days=29)), random_state=0
    )
    t2 = time.perf_counter()
    decisions = score(detector, ids, X)
    t3 = time.perf_counter()
    flagged = sum(d.flagged for d in decisions)
    total = t3 - t0
    print(
        f"{len(ids)} learner-periods ({len(records)} sessions): features {t1 - t0:.1f} s, fit {t2 - t1:.1f} s, "
        f"score {t3 - t2:.1f} s, total {total:.1f} s, flagged {flagged}"
    )
    print(f"learner_periods_per_s={len(ids) / total:.0f}")


if __name__ == "__main__":
    main()
