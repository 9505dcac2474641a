"""Evidence records: what the tracker appends with every state change, typed.

One record type per kind, shared by the service that writes them, the stores that carry
them, the writer that stores them in SQL and the summary that reads them. On the wire (a
Redis stream entry, a spill-file line) a record is compact JSON with short keys: a stream
holds every beat of the last flush interval, and key names are most of an entry's size.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any

from tracker.verify import Beat


@dataclass(frozen=True, slots=True)
class BeatRecord:
    """A beat as received and the server's verdict on it (refused beats too)."""

    sid: str
    learner_id: int
    lesson_id: int
    course_id: int
    seq: int
    received_ms: int
    beat: Beat
    ip: str
    accepted: bool
    elapsed_ms: int = 0
    credited_ms: int = 0
    new_coverage_ms: int = 0
    codes: str = ""
    # The learner's coverage of the lesson after this beat (encoded segments).
    coverage: str = ""
    completed: bool = False
    id: str = ""


@dataclass(frozen=True, slots=True)
class EventRecord:
    """Something in a session besides a beat (a challenge issued or answered)."""

    sid: str
    at_ms: int
    kind: str
    detail: dict[str, Any] = field(default_factory=dict)
    id: str = ""


@dataclass(frozen=True, slots=True)
class EndRecord:
    """A session's end, with how many records the session committed before it."""

    sid: str
    at_ms: int
    reason: str
    learner_id: int
    lesson_id: int
    course_id: int
    expected: int | None = None
    id: str = ""


Evidence = BeatRecord | EventRecord | EndRecord


def with_id(record: Evidence, evidence_id: str) -> Evidence:
    """The record with its durable id (a record that has one keeps it)."""
    return record if record.id else replace(record, id=evidence_id)


def to_wire(record: Evidence) -> dict[str, Any]:
    """The compact form (short keys)."""
    if isinstance(record, BeatRecord):
        b = record.beat
        return {
            "k": "beat",
            "id": record.id,
            "sid": record.sid,
            "l": record.learner_id,
            "n": record.lesson_id,
            "c": record.course_id,
            "q": record.seq,
            "t": record.received_ms,
            "ct": b.client_time_ms,
            "p": b.position_ms,
            "r": b.rate,
            "pa": b.paused,
            "vi": b.visible,
            "fo": b.focused,
            "mu": b.muted,
            "vo": b.volume,
            "i": b.interactions,
            "ip": record.ip,
            "ok": record.accepted,
            "el": record.elapsed_ms,
            "cr": record.credited_ms,
            "nc": record.new_coverage_ms,
            "codes": record.codes,
            "cov": record.coverage,
            "done": record.completed,
        }
    if isinstance(record, EventRecord):
        return {
            "k": "event",
            "id": record.id,
            "sid": record.sid,
            "t": record.at_ms,
            "kind": record.kind,
            "detail": record.detail,
        }
    return {
        "k": "end",
        "id": record.id,
        "sid": record.sid,
        "t": record.at_ms,
        "reason": record.reason,
        "l": record.learner_id,
        "n": record.lesson_id,
        "c": record.course_id,
        "x": record.expected,
    }


def from_wire(e: dict[str, Any], fallback_id: str = "") -> Evidence:
    """A record from its compact form (entries written before ids existed use their
    delivery handle, a Redis stream entry id, as ``fallback_id``)."""
    evidence_id = str(e.get("id") or fallback_id)
    if e["k"] == "beat":
        return BeatRecord(
            id=evidence_id,
            sid=e["sid"],
            learner_id=e["l"],
            lesson_id=e["n"],
            course_id=e["c"],
            seq=e["q"],
            received_ms=e["t"],
            beat=Beat(
                seq=e["q"],
                position_ms=e["p"],
                rate=e["r"],
                paused=e["pa"],
                visible=e["vi"],
                focused=e["fo"],
                muted=e["mu"],
                volume=e["vo"],
                interactions=e["i"],
                client_time_ms=e.get("ct"),
            ),
            ip=e.get("ip", ""),
            accepted=e["ok"],
            elapsed_ms=e["el"],
            credited_ms=e["cr"],
            new_coverage_ms=e["nc"],
            codes=e["codes"],
            coverage=e.get("cov", ""),
            completed=bool(e.get("done")),
        )
    if e["k"] == "event":
        return EventRecord(
            id=evidence_id, sid=e["sid"], at_ms=e["t"], kind=e["kind"], detail=e["detail"]
        )
    return EndRecord(
        id=evidence_id,
        sid=e["sid"],
        at_ms=e["t"],
        reason=e.get("reason") or "ended",
        learner_id=e["l"],
        lesson_id=e["n"],
        course_id=e["c"],
        expected=e.get("x"),
    )


def dumps(record: Evidence) -> str:
    """One line of compact JSON."""
    return json.dumps(to_wire(record), separators=(",", ":"), ensure_ascii=False)


def loads(raw: str, fallback_id: str = "") -> Evidence:
    """Inverse of :func:`dumps`."""
    return from_wire(json.loads(raw), fallback_id)
