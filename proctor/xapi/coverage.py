"""A learner's verified viewing of a lesson, replayed from the raw trace (pure, no I/O).

The heartbeat rows keep the server's verdict on each beat (its codes, the elapsed time it
measured) but not the content segment it credited. This module derives each segment again
with the arithmetic of ``tracker.verify`` and turns the result into Video Profile events:
played and paused around each run of verified playback, seeked where the server saw a seek,
completed where coverage crossed the completion line, initialized and terminated at the
session's bounds. Nothing the player said about its progress enters: positions count only
where the server verified the interval, exactly as they counted for credit.

One registration is a learner's study of one lesson across all its sessions, so progress
and played segments accumulate over sessions, as the profile defines them and as the
tracker's coverage (``lesson_progress``) does.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from tracker import segments as seg

# The only code a beat that earned credit can carry (credited, but nothing new covered).
# Any other code, including one added to the tracker later, means "not verified".
CREDITABLE_CODES = frozenset({"rewatch"})
SEEK_CODES = frozenset({"seek_forward", "seek_back"})

EventKind = Literal["initialized", "played", "paused", "seeked", "completed", "terminated"]


@dataclass(frozen=True)
class TraceBeat:
    """An accepted beat of the raw trace (refused beats changed nothing and are left out)."""

    session_id: str
    evidence_id: str
    seq: int
    received_ms: int
    position_ms: int
    elapsed_ms: int
    codes: tuple[str, ...] = ()

    @property
    def creditable(self) -> bool:
        """The server verified the interval before this beat (credit was allowed)."""
        return set(self.codes) <= CREDITABLE_CODES


@dataclass(frozen=True)
class TraceSession:
    """A finished study session of the registration (server clock, ms since the epoch)."""

    id: str
    started_ms: int
    ended_ms: int


@dataclass(frozen=True)
class Rules:
    """What verification assumed: the lesson's length and the tracker's policy."""

    duration_ms: int
    max_rate: float = 1.0
    tail_ms: int = 5_000

    @property
    def threshold_ms(self) -> int:
        """Coverage at which the lesson is complete (tracker.verify.is_complete)."""
        return max(1, self.duration_ms - self.tail_ms)


@dataclass(frozen=True)
class VideoEvent:
    """One Video Profile event of a session, with the registration's state at that moment.

    ``key`` is the evidence id the event stands on (for a stable statement id); ``played``
    the registration's verified segments so far in chronological order, ``covered_ms``
    their union, ``spent_ms`` their plain sum (time spent, rewatching counted again).
    """

    kind: EventKind
    session_id: str
    at_ms: int
    time_ms: int = 0
    key: str = ""
    time_from_ms: int = 0
    time_to_ms: int = 0
    played: tuple[seg.Segment, ...] = ()
    covered_ms: int = 0
    spent_ms: int = 0


@dataclass
class _Run:
    end_pos: int
    last_ms: int
    last_key: str


@dataclass
class _Session:
    anchor: int | None = None
    run: _Run | None = None


@dataclass
class _Registration:
    rules: Rules
    other_credits: Sequence[int]
    union: seg.Segments = ()
    played: list[seg.Segment] = field(default_factory=list)
    spent_ms: int = 0
    credited_until_ms: int = 0
    completed: bool = False
    events: list[VideoEvent] = field(default_factory=list)
    new_coverage: dict[str, int] = field(default_factory=dict)

    def credited_until(self, now_ms: int) -> int:
        """The learner's last credited moment before ``now_ms``, over all their sessions."""
        i = bisect.bisect_left(self.other_credits, now_ms)
        other = self.other_credits[i - 1] if i else 0
        return max(self.credited_until_ms, other)

    def emit(
        self,
        kind: EventKind,
        sid: str,
        at_ms: int,
        *,
        time_ms: int = 0,
        key: str = "",
        time_from_ms: int = 0,
        time_to_ms: int = 0,
    ) -> None:
        self.events.append(
            VideoEvent(
                kind,
                sid,
                at_ms,
                time_ms=time_ms,
                key=key,
                time_from_ms=time_from_ms,
                time_to_ms=time_to_ms,
                played=tuple(self.played),
                covered_ms=seg.covered(self.union),
                spent_ms=self.spent_ms,
            )
        )

    def add(self, segment: seg.Segment, evidence_id: str) -> None:
        self.union, self.new_coverage[evidence_id] = seg.add(self.union, segment)
        self.spent_ms += segment[1] - segment[0]
        if self.played and self.played[-1][1] == segment[0]:
            self.played[-1] = (self.played[-1][0], segment[1])
        else:
            self.played.append(segment)


def verified_segment(
    beat: TraceBeat, anchor: int, credited_until_ms: int, rules: Rules
) -> tuple[seg.Segment | None, int]:
    """The content segment a creditable beat verified, and the position it leaves credited.

    Mirrors tracker.verify: the advance since the credited position counts up to the
    server's elapsed time times the highest creditable rate; the part of the interval
    already credited to another of the learner's sessions is cut from its start.
    """
    delta = beat.position_ms - anchor
    if not beat.creditable or delta <= 0:
        return None, beat.position_ms
    last_ms = beat.received_ms - beat.elapsed_ms
    watched = min(delta, int(beat.elapsed_ms * rules.max_rate))
    effective = max(0, beat.received_ms - max(last_ms, credited_until_ms))
    covered_len = min(watched, int(effective * rules.max_rate))
    start = anchor + (watched - covered_len)
    end = start + covered_len
    clipped = min(end, rules.duration_ms)
    return ((start, clipped) if clipped > start else None), end


@dataclass(frozen=True)
class Replayed:
    """The events, and the new coverage each beat added (for checking against the trace)."""

    events: list[VideoEvent]
    new_coverage: dict[str, int]


def replay(
    sessions: Iterable[TraceSession],
    beats: Iterable[TraceBeat],
    rules: Rules,
    *,
    other_credits: Iterable[int] = (),
) -> list[VideoEvent]:
    """The Video Profile events of a registration's sessions, in order of occurrence.

    ``beats`` are the accepted beats of those sessions; ``other_credits`` the receipt
    times of the learner's creditable beats in sessions of other lessons (one credited
    stream per learner: they bound what a concurrent session here could earn).
    """
    return replay_trace(sessions, beats, rules, other_credits=other_credits).events


def replay_trace(
    sessions: Iterable[TraceSession],
    beats: Iterable[TraceBeat],
    rules: Rules,
    *,
    other_credits: Iterable[int] = (),
) -> Replayed:
    """:func:`replay`, also telling the new coverage of each beat (by evidence id), which
    must equal what the tracker recorded for it (``heartbeat.new_coverage_ms``)."""
    reg = _Registration(rules, sorted(other_credits))
    points: list[tuple[int, int, str, int, TraceBeat | None]] = []
    for s in sessions:
        points.append((s.started_ms, 0, s.id, 0, None))
        points.append((s.ended_ms, 2, s.id, 0, None))
    for b in beats:
        points.append((b.received_ms, 1, b.session_id, b.seq, b))
    points.sort(key=lambda p: p[:4])
    state: dict[str, _Session] = {}
    for at_ms, order, sid, _, beat in points:
        if order == 0:
            state[sid] = _Session()
            reg.emit("initialized", sid, at_ms)
        elif order == 2:
            st = state.setdefault(sid, _Session())
            _close_run(reg, sid, st)
            time_ms = min(st.anchor or 0, max(0, rules.duration_ms))
            reg.emit("terminated", sid, at_ms, time_ms=time_ms)
        elif beat is not None:
            _beat(reg, sid, state.setdefault(sid, _Session()), beat)
    return Replayed(reg.events, reg.new_coverage)


def _close_run(reg: _Registration, sid: str, st: _Session) -> None:
    if st.run is not None:
        reg.emit("paused", sid, st.run.last_ms, time_ms=st.run.end_pos, key=st.run.last_key)
        st.run = None


def _beat(reg: _Registration, sid: str, st: _Session, beat: TraceBeat) -> None:
    anchor = st.anchor
    if anchor is None:
        # The session's first beat only anchors (tracker: first_beat).
        st.anchor = beat.position_ms
        return
    segment, st.anchor = verified_segment(
        beat, anchor, reg.credited_until(beat.received_ms), reg.rules
    )
    if beat.creditable:
        reg.credited_until_ms = max(reg.credited_until_ms, beat.received_ms)
    if segment is None:
        if not beat.creditable:
            _close_run(reg, sid, st)
        if SEEK_CODES & set(beat.codes):
            reg.emit(
                "seeked",
                sid,
                beat.received_ms,
                key=beat.evidence_id,
                time_from_ms=anchor,
                time_to_ms=beat.position_ms,
            )
        return
    if st.run is None or st.run.end_pos != segment[0]:
        # A new run of verified playback: it began when the verified interval did.
        _close_run(reg, sid, st)
        reg.emit(
            "played",
            sid,
            beat.received_ms - beat.elapsed_ms,
            time_ms=segment[0],
            key=beat.evidence_id,
        )
        st.run = _Run(segment[1], beat.received_ms, beat.evidence_id)
    else:
        st.run.end_pos, st.run.last_ms, st.run.last_key = (
            segment[1],
            beat.received_ms,
            beat.evidence_id,
        )
    reg.add(segment, beat.evidence_id)
    if not reg.completed and seg.covered(reg.union) >= reg.rules.threshold_ms:
        reg.completed = True
        reg.emit("completed", sid, beat.received_ms, time_ms=segment[1], key=beat.evidence_id)
