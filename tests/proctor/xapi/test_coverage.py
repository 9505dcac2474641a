"""Replaying the raw trace into Video Profile events: table-driven, no I/O.

Each case is a registration's accepted beats as the tracker stored them (receipt time,
reported position, elapsed time, codes); the expected events and played segments are what
the server verified, whatever positions the player reported.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from proctor.xapi.coverage import Rules, TraceBeat, TraceSession, VideoEvent, replay

Row = tuple[float, float, tuple[str, ...]]  # receipt s, position s, codes


def trace(sid: str, rows: list[Row], start_s: float = 0.0) -> list[TraceBeat]:
    """Beats of one session; elapsed is the server time since the previous accepted beat."""
    out, prev = [], int(start_s * 1000)
    for seq, (t, pos, codes) in enumerate(rows, 1):
        at = int(t * 1000)
        out.append(TraceBeat(sid, f"{sid}:{seq}", seq, at, int(pos * 1000), at - prev, codes))
        prev = at
    return out


def brief(events: list[VideoEvent]) -> list[tuple[str, str, float, float]]:
    """(kind, session, at s, time s); seeks give (from, to) as time."""
    out = []
    for e in events:
        time = (
            (e.time_from_ms / 1000, e.time_to_ms / 1000) if e.kind == "seeked" else e.time_ms / 1000
        )
        out.append((e.kind, e.session_id, e.at_ms / 1000, time))
    return out  # type: ignore[return-value]


FIRST: tuple[str, ...] = ("first_beat",)


@dataclass
class Case:
    name: str
    sessions: list[TraceSession]
    beats: list[TraceBeat]
    events: list[tuple[str, str, float, object]]
    played: list[tuple[float, float]]  # the registration's played segments at the end
    covered_s: float
    spent_s: float
    rules: Rules = field(default_factory=lambda: Rules(60_000))
    other_credits: list[int] = field(default_factory=list)


CASES = [
    Case(
        "play, pause, seek forward, play: a gap the player skipped is not played",
        [TraceSession("a", 0, 60_000)],
        trace(
            "a",
            [
                (1, 0, FIRST),
                (11, 10, ()),
                (21, 20, ()),
                (31, 30, ()),
                (41, 30, ("paused",)),
                (42, 45, ("seek_forward",)),
                (52, 55, ()),
                (57, 60, ()),
            ],
        ),
        [
            ("initialized", "a", 0, 0),
            ("played", "a", 1, 0),
            ("paused", "a", 31, 30),
            ("seeked", "a", 42, (30, 45)),
            ("played", "a", 42, 45),
            ("paused", "a", 57, 60),
            ("terminated", "a", 60, 60),
        ],
        [(0, 30), (45, 60)],
        45,
        45,
    ),
    Case(
        "network jitter: an early beat credits only the server's elapsed time, the lag catches up",
        [TraceSession("a", 0, 30_000)],
        trace("a", [(1, 0, FIRST), (10.5, 10, ()), (21, 20, ())]),
        [
            ("initialized", "a", 0, 0),
            ("played", "a", 1, 0),
            ("paused", "a", 21, 20),
            ("terminated", "a", 30, 20),
        ],
        [(0, 20)],
        20,
        20,
    ),
    Case(
        "a reported position beyond the server's clock is carried as lag, not credited",
        [TraceSession("a", 0, 30_000)],
        trace("a", [(1, 0, FIRST), (11, 12, ())]),
        [
            ("initialized", "a", 0, 0),
            ("played", "a", 1, 0),
            ("paused", "a", 11, 10),
            ("terminated", "a", 30, 10),
        ],
        [(0, 10)],
        10,
        10,
    ),
    Case(
        "hidden, unfocused and challenge-pending intervals verify nothing and end the run",
        [TraceSession("a", 0, 60_000)],
        trace(
            "a",
            [
                (1, 0, FIRST),
                (11, 10, ()),
                (21, 20, ("hidden",)),
                (31, 30, ("unfocused",)),
                (41, 40, ("challenge_pending",)),
                (51, 50, ()),
            ],
        ),
        [
            ("initialized", "a", 0, 0),
            ("played", "a", 1, 0),
            ("paused", "a", 11, 10),
            ("played", "a", 41, 40),
            ("paused", "a", 51, 50),
            ("terminated", "a", 60, 50),
        ],
        [(0, 10), (40, 50)],
        20,
        20,
    ),
    Case(
        "too fast a playback is not a seek: nothing verified, the position re-anchors",
        [TraceSession("a", 0, 60_000)],
        trace("a", [(1, 0, FIRST), (11, 20, ("rate_exceeded",)), (21, 30, ())]),
        [
            ("initialized", "a", 0, 0),
            ("played", "a", 11, 20),
            ("paused", "a", 21, 30),
            ("terminated", "a", 60, 30),
        ],
        [(20, 30)],
        10,
        10,
    ),
    Case(
        "a seek back and rewatching: played segments keep both, progress counts the union",
        [TraceSession("a", 0, 60_000)],
        trace(
            "a",
            [
                (1, 0, FIRST),
                (11, 10, ()),
                (21, 20, ()),
                (22, 5, ("seek_back",)),
                (32, 15, ()),
                (42, 25, ()),
            ],
        ),
        [
            ("initialized", "a", 0, 0),
            ("played", "a", 1, 0),
            ("paused", "a", 21, 20),
            ("seeked", "a", 22, (20, 5)),
            ("played", "a", 22, 5),
            ("paused", "a", 42, 25),
            ("terminated", "a", 60, 25),
        ],
        [(0, 20), (5, 25)],
        25,
        40,
    ),
    Case(
        "a code the replay does not know verifies nothing",
        [TraceSession("a", 0, 30_000)],
        trace("a", [(1, 0, FIRST), (11, 10, ("some_future_code",)), (21, 20, ())]),
        [
            ("initialized", "a", 0, 0),
            ("played", "a", 11, 10),
            ("paused", "a", 21, 20),
            ("terminated", "a", 30, 20),
        ],
        [(10, 20)],
        10,
        10,
    ),
    Case(
        "the interval already credited to the learner's other lesson is cut from the start",
        [TraceSession("a", 0, 30_000)],
        trace("a", [(1, 0, FIRST), (11, 10, ()), (21, 20, ())]),
        [
            ("initialized", "a", 0, 0),
            ("played", "a", 1, 4),
            ("paused", "a", 21, 20),
            ("terminated", "a", 30, 20),
        ],
        [(4, 20)],
        16,
        16,
        other_credits=[5_000],
    ),
    Case(
        "completion once, when the union crosses length minus the tail, across two sessions",
        [TraceSession("a", 0, 40_000), TraceSession("b", 100_000, 150_000)],
        trace("a", [(1, 0, FIRST), (11, 10, ()), (21, 20, ()), (31, 30, ())])
        + trace(
            "b",
            [(101, 30, FIRST), (111, 40, ()), (121, 50, ()), (131, 56, ()), (141, 60, ())],
            start_s=100,
        ),
        [
            ("initialized", "a", 0, 0),
            ("played", "a", 1, 0),
            ("paused", "a", 31, 30),
            ("terminated", "a", 40, 30),
            ("initialized", "b", 100, 0),
            ("played", "b", 101, 30),
            ("completed", "b", 131, 56),
            ("paused", "b", 141, 60),
            ("terminated", "b", 150, 60),
        ],
        [(0, 60)],
        60,
        60,
    ),
    Case(
        "positions past the end (players overshoot) are clipped to the length",
        [TraceSession("a", 0, 30_000)],
        trace("a", [(1, 18, FIRST), (4, 21, ())]),
        [
            ("initialized", "a", 0, 0),
            ("played", "a", 1, 18),
            ("completed", "a", 4, 20),
            ("paused", "a", 4, 20),
            ("terminated", "a", 30, 20),
        ],
        [(18, 20)],
        2,
        2,
        rules=Rules(20_000, tail_ms=18_000),
    ),
    Case(
        "a session without beats is initialized and terminated, nothing played",
        [TraceSession("a", 0, 5_000)],
        [],
        [("initialized", "a", 0, 0), ("terminated", "a", 5, 0)],
        [],
        0,
        0,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_replay(case: Case) -> None:
    events = replay(case.sessions, case.beats, case.rules, other_credits=case.other_credits)
    assert brief(events) == case.events
    last = events[-1]
    assert [(s / 1000, e / 1000) for s, e in last.played] == case.played
    assert last.covered_ms / 1000 == case.covered_s
    assert last.spent_ms / 1000 == case.spent_s


def test_paused_and_completed_carry_the_registration_so_far() -> None:
    case = CASES[-3]  # two sessions, completion in the second
    events = replay(case.sessions, case.beats, case.rules)
    paused_a = next(e for e in events if e.kind == "paused" and e.session_id == "a")
    assert (paused_a.played, paused_a.covered_ms) == (((0, 30_000),), 30_000)
    completed = next(e for e in events if e.kind == "completed")
    assert completed.covered_ms == 56_000 and completed.key == "b:4"


def test_faster_rate_allowed_by_policy_verifies_more() -> None:
    beats = trace("a", [(1, 0, FIRST), (11, 15, ())])
    sessions = [TraceSession("a", 0, 20_000)]
    assert replay(sessions, beats, Rules(60_000, max_rate=1.0))[-1].covered_ms == 10_000
    assert replay(sessions, beats, Rules(60_000, max_rate=1.5))[-1].covered_ms == 15_000
