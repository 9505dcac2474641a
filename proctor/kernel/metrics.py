"""Prometheus metrics of the application beyond the tracker's (``tracker/metrics.py``), and
their text exposition.

Two kinds of values: what happens in a process (requests, jobs, flags, database connections
in use) is counted where it happens; what the whole deployment holds (open study sessions,
evidence not yet in SQL) is measured by the process answering the scrape, at scrape time.
With several workers prometheus-client runs in multiprocess mode (``PROMETHEUS_MULTIPROC_DIR``,
set by ``proctor serve --workers N``) and the scraped worker sums every worker's files.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

REQUESTS = Counter(
    "proctor_http_requests",
    "HTTP requests answered, by route, method and status",
    ["route", "method", "status"],
)
REQUEST_SECONDS = Histogram(
    "proctor_http_request_duration_seconds",
    "Time from a request's arrival to its answer, by route and method",
    ["route", "method"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
DB_IN_USE = Gauge(
    "proctor_db_pool_connections_in_use",
    "Database connections checked out of the pool (summed over live workers)",
    multiprocess_mode="livesum",
)
JOB_RUNS = Counter(
    "proctor_job_runs", "Scheduled job runs, by job and outcome (ok, failed)", ["job", "outcome"]
)
JOB_SECONDS = Histogram(
    "proctor_job_duration_seconds",
    "Duration of scheduled job runs, by job",
    ["job"],
    buckets=(0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0),
)
FLAGS_RAISED = Counter(
    "proctor_flags_raised", "Flags stored for review, by source (detection, exams)", ["source"]
)


def multiprocess_dir() -> str | None:
    """The shared metrics folder when running as one of several workers."""
    return os.environ.get(MULTIPROC_ENV) or None


def instrument_pool(engine: AsyncEngine) -> None:
    """Count the engine's connections in use (pool checkout and checkin events)."""
    pool = engine.sync_engine.pool

    def checkout(*_: Any) -> None:
        DB_IN_USE.inc()

    def checkin(*_: Any) -> None:
        DB_IN_USE.dec()

    event.listen(pool, "checkout", checkout)
    event.listen(pool, "checkin", checkin)


def exposition(snapshot: dict[str, tuple[str, float]]) -> bytes:
    """The text exposition: this process's (or every worker's) metrics, then the
    deployment-wide gauges measured for this scrape (name -> (help, value))."""
    folder = multiprocess_dir()
    if folder:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=folder)
    else:
        registry = REGISTRY
    now = CollectorRegistry()
    # Metric families, not Gauge objects: in multiprocess mode a Gauge would leave a file.
    now.register(_Snapshot(snapshot))
    return generate_latest(registry) + generate_latest(now)


class _Snapshot(Collector):
    def __init__(self, values: dict[str, tuple[str, float]]) -> None:
        self.values = values

    def collect(self) -> Iterator[Metric]:
        for name, (text, value) in self.values.items():
            yield GaugeMetricFamily(name, text, value=value)


def worker_exited(pid: int) -> None:
    """Drop a dead worker's live gauges (multiprocess mode; called by the supervisor)."""
    if multiprocess_dir():
        multiprocess.mark_process_dead(pid)
