"""Session summaries as columns (numpy), read from SQL in chunks of whole learners.

Feature extraction works on these columns with group-bys instead of a Python loop per
learner; a chunk always holds all sessions of its learners, so per-learner features can be
computed chunk by chunk and only the few columns the account graph needs are kept whole.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models import SessionSummary
from proctor.kernel.networks import city_of, network_of

US = 1_000_000  # microseconds per second: times are integers so gaps are exact


def non_browser(user_agent: str) -> bool:
    """A scripting library or a headless browser by its own (forgeable) client name."""
    return "Mozilla" not in user_agent or "Headless" in user_agent


MOBILE_MARKS = ("Mobile", "Android", "iPhone", "iPad")


def mobile_client(user_agent: str) -> bool:
    """A phone or tablet by its client name: a touch screen, whose input events (taps, no
    pointer moves between them) are counted on another scale than a mouse's."""
    return any(mark in user_agent for mark in MOBILE_MARKS)


class Codes:
    """Small integer codes for strings (devices, addresses, cities), stable across chunks."""

    def __init__(self) -> None:
        self.index: dict[str, int] = {}

    def __call__(self, value: str) -> int:
        code = self.index.get(value)
        if code is None:
            code = self.index[value] = len(self.index)
        return code


@dataclass
class Encoders:
    """The code books shared by every chunk of one run."""

    device: Codes
    ip: Codes
    city: Codes

    @classmethod
    def new(cls) -> Encoders:
        """Empty code books."""
        return cls(Codes(), Codes(), Codes())


@dataclass
class SessionTable:
    """One row per finished session; times in integer microseconds since the epoch (UTC).

    ``lat_offsets`` (length rows + 1) delimits each session's challenge answer latencies
    (milliseconds) in ``latencies``.
    """

    learner: NDArray[np.int64]
    course: NDArray[np.int64]
    start: NDArray[np.int64]
    end: NDArray[np.int64]
    wall: NDArray[np.float64]
    verified: NDArray[np.float64]
    device: NDArray[np.int64]
    ip: NDArray[np.int64]
    city: NDArray[np.int64]
    v6: NDArray[np.bool_]  # an IPv6 network: its regions are not comparable with IPv4's
    non_browser: NDArray[np.bool_]
    mobile: NDArray[np.bool_]  # a touch screen's client (its input counts differ in kind)
    issued: NDArray[np.float64]
    answered: NDArray[np.float64]
    interactions: NDArray[np.float64]
    paused: NDArray[np.float64]
    hidden: NDArray[np.float64]
    beats: NDArray[np.float64]
    muted_frac: NDArray[np.float64]
    seeks_forward: NDArray[np.float64]
    seeks_back: NDArray[np.float64]
    rate_exceeded: NDArray[np.float64]
    overlap_s: NDArray[np.float64]
    beat_gap_sd: NDArray[np.float64]
    lat_offsets: NDArray[np.int64]
    latencies: NDArray[np.float64]

    def __len__(self) -> int:
        return len(self.learner)

    def take(self, rows: NDArray[np.int64]) -> SessionTable:
        """The given rows (in that order), latencies carried along."""
        counts = np.diff(self.lat_offsets)[rows]
        starts = self.lat_offsets[:-1][rows]
        offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        # Positions of every latency of the taken rows, without a loop per row.
        within = np.arange(offsets[-1]) - np.repeat(offsets[:-1], counts)
        lat = self.latencies[np.repeat(starts, counts) + within]
        cols = {
            f.name: getattr(self, f.name)[rows]
            for f in fields(self)
            if f.name not in ("lat_offsets", "latencies")
        }
        return SessionTable(**cols, lat_offsets=offsets, latencies=lat)


def empty_table() -> SessionTable:
    """A table without rows."""
    return from_rows([], Encoders.new())


def from_rows(rows: Iterable[Sequence[Any]], enc: Encoders) -> SessionTable:
    """Rows of (learner, course, started, ended, wall_s, verified_s, device, ip, user_agent,
    features) into columns."""
    cols: dict[str, list[Any]] = {f.name: [] for f in fields(SessionTable)}
    lat: list[float] = []
    offsets = [0]
    for learner, course, started, ended, wall, verified, device, ip, ua, f in rows:
        codes = f.get("codes", {})
        cols["learner"].append(learner)
        cols["course"].append(course)
        cols["start"].append(_us(started))
        cols["end"].append(_us(ended))
        cols["wall"].append(wall)
        cols["verified"].append(verified)
        cols["device"].append(enc.device(device))
        network = network_of(ip)
        cols["ip"].append(enc.ip(network))
        cols["city"].append(enc.city(city_of(ip)))
        cols["v6"].append(":" in network)
        cols["non_browser"].append(non_browser(ua))
        cols["mobile"].append(mobile_client(ua))
        cols["issued"].append(f.get("challenges_issued", 0))
        cols["answered"].append(f.get("challenges_correct", 0) + f.get("challenges_wrong", 0))
        cols["interactions"].append(f.get("interactions", 0))
        cols["paused"].append(codes.get("paused", 0))
        cols["hidden"].append(codes.get("hidden", 0))
        cols["beats"].append(f.get("beats", 0))
        cols["muted_frac"].append(f.get("muted_frac", 0.0))
        cols["seeks_forward"].append(f.get("seeks_forward", 0))
        cols["seeks_back"].append(f.get("seeks_back", 0))
        cols["rate_exceeded"].append(f.get("rate_exceeded", 0))
        cols["overlap_s"].append(f.get("overlap_s", 0.0))
        cols["beat_gap_sd"].append(f.get("beat_gap_sd_s", 0.0) or 0.0)
        lat.extend(f.get("challenge_latencies_ms", []))
        offsets.append(len(lat))
    ints = {"learner", "course", "start", "end", "device", "ip", "city"}
    out: dict[str, Any] = {}
    for name, values in cols.items():
        if name in ("lat_offsets", "latencies"):
            continue
        dtype: Any = (
            np.int64
            if name in ints
            else (bool if name in ("non_browser", "mobile", "v6") else float)
        )
        out[name] = np.asarray(values, dtype=dtype)
    return SessionTable(
        **out,
        lat_offsets=np.asarray(offsets, dtype=np.int64),
        latencies=np.asarray(lat, dtype=float),
    )


def _us(t: dt.datetime) -> int:
    # Exact integer microseconds, as datetime arithmetic would give.
    delta = t - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    return (delta.days * 86_400 + delta.seconds) * US + delta.microseconds


async def stream_tables(
    session: AsyncSession,
    start: dt.datetime,
    end: dt.datetime,
    enc: Encoders,
    *,
    chunk: int = 200_000,
) -> AsyncIterator[SessionTable]:
    """Summaries of sessions started in [start, end), ``chunk`` sessions at a time (about;
    a learner is never split between two chunks)."""
    stmt = (
        select(
            SessionSummary.learner_id,
            SessionSummary.course_id,
            SessionSummary.started_at,
            SessionSummary.ended_at,
            SessionSummary.wall_s,
            SessionSummary.verified_s,
            SessionSummary.device,
            SessionSummary.ip,
            SessionSummary.user_agent,
            SessionSummary.features,
        )
        .where(SessionSummary.started_at >= start, SessionSummary.started_at < end)
        .order_by(SessionSummary.learner_id, SessionSummary.started_at)
        .execution_options(yield_per=min(chunk, 10_000))
    )
    pending: list[Sequence[Any]] = []
    result = await session.stream(stmt)
    async for row in result:
        if len(pending) >= chunk and row[0] != pending[-1][0]:
            yield from_rows(pending, enc)
            pending = []
        pending.append(tuple(row))
    if pending:
        yield from_rows(pending, enc)
