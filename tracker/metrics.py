"""The tracker's Prometheus metrics (exposed by the embedding app at ``/metrics``).

Defined once per process at import. Under ``proctor serve --workers N`` the supervisor sets
``PROMETHEUS_MULTIPROC_DIR`` before the workers start, so prometheus-client keeps each
value in a file the scraping worker sums over (docs/operations.md, "Metrics"). Children
with fixed labels are bound here, so the beat path does no label lookup.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram, disable_created_metrics

# No "_created" series (a timestamp per counter and histogram): nobody graphs them.
disable_created_metrics()

# Seconds; a beat is answered in about a millisecond when the machine is idle.
FAST_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)

BEATS_ACCEPTED = Counter(
    "proctor_beats_accepted", "Heartbeats answered 200 (retries of an answered beat included)"
)
BEATS_REFUSED = Counter("proctor_beats_refused", "Heartbeats refused, by problem code", ["code"])
VERIFICATION = Histogram(
    "proctor_beat_verification_seconds",
    "Time the tracker took to decide a beat: hot-state load, verify, atomic commit",
    buckets=FAST_BUCKETS,
)
HOTSTATE_RTT = Histogram(
    "proctor_hotstate_roundtrip_seconds",
    "Round trips to the hot state: the compare-and-set commit of a beat, answer or end",
    ["op"],
    buckets=FAST_BUCKETS,
)
HOTSTATE_COMMIT = HOTSTATE_RTT.labels("commit")
CHALLENGES_ISSUED = Counter("proctor_challenges_issued", "Presence challenges issued")
CHALLENGES_ANSWERED = Counter(
    "proctor_challenges_answered", "Presence challenge answers, by correctness", ["correct"]
)
ANSWERED_RIGHT = CHALLENGES_ANSWERED.labels("true")
ANSWERED_WRONG = CHALLENGES_ANSWERED.labels("false")
WRITER_LAG = Histogram(
    "proctor_evidence_writer_lag_seconds",
    "Age of the oldest entry of each batch the evidence writer stored in SQL",
    buckets=(0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0),
)
EVIDENCE_WRITTEN = Counter("proctor_evidence_written", "Evidence entries stored in SQL")
