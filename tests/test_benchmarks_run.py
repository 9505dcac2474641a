"""The detection benchmark still runs (a smoke run at a tiny size, not timed): it builds
the detector's inputs itself, so a change of their shape must reach it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_detection_benchmark_runs_and_prints_its_figures() -> None:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.detection",
            "--learners",
            "400",
            "--chunk",
            "150",
            "--baseline",
            "50",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    last = out.stdout.strip().splitlines()[-1]
    assert last.startswith("learner_periods_per_s=") and "peak_mb=" in last
