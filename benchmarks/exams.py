"""Post-exam forensics on one large sitting, with the unit floor of the option model on and
off in the same run (the floor is this stop's addition to every answer test's cost).

Simulates one scheduled sitting (everyone starts within ten minutes, so most pairs in a unit
sat together) and times ``analyse()`` as ``analyse_exam`` runs it, each setting the median of
three runs after a warm-up, interleaved.

    python -m benchmarks.exams                   # 2,000 examinees x 40 items (candidate pairs)
    python -m benchmarks.exams --examinees 300   # every pair (a small exam)

Last line: examinees=N pairs=N floor_on_s=N floor_off_s=N
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import replace

from proctor.exams.forensics.analyse import analyse_with_pairs
from proctor.exams.forensics.config import ForensicConfig
from proctor.simulate.exams import simulate_exam


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--examinees", type=int, default=2000)
    parser.add_argument("--items", type=int, default=40)
    args = parser.parse_args()
    ex = simulate_exam(
        5,
        examinees=args.examinees,
        n_items=args.items,
        rings=max(4, args.examinees // 10),
        colleagues=max(3, args.examinees // 100),
        misconceptions=0.1,
        sitting_s=600.0,
    )
    on = ForensicConfig()
    off = replace(on, copy_group_prior=0.0)
    times: dict[str, list[float]] = {"on": [], "off": []}
    pairs = 0
    for k in range(4):
        for name, cfg in (("on", on), ("off", off)):
            began = time.perf_counter()
            _, res = analyse_with_pairs(ex.items, ex.attempts, ex.histories, cfg)
            if k:  # the first round warms up
                times[name].append(time.perf_counter() - began)
            pairs = len(res.pairs) if res is not None else 0
    on_s, off_s = statistics.median(times["on"]), statistics.median(times["off"])
    print(f"examinees={args.examinees} pairs={pairs} floor_on_s={on_s:.2f} floor_off_s={off_s:.2f}")


if __name__ == "__main__":
    main()
