"""Verification rules as pure functions: server clock in, credit out. Table-driven."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tracker import segments as seg
from tracker.verify import (
    Beat,
    BeatRefused,
    Challenge,
    LearnerState,
    Policy,
    SessionState,
    answer_challenge,
    check_sequence,
    verify,
)

P = Policy()
S = 1000  # one second in ms


def beat(seq: int, pos_s: float, **kw: object) -> Beat:
    fields: dict[str, object] = {
        "seq": seq,
        "position_ms": int(pos_s * S),
        "rate": 1.0,
        "paused": False,
        "visible": True,
        "focused": True,
        "muted": False,
        "volume": 1.0,
        "interactions": 0,
    }
    fields.update(kw)
    return Beat(**fields)  # type: ignore[arg-type]


def playing(last_s: float, pos_s: float, seq: int = 3, **kw: object) -> SessionState:
    """A session whose last accepted beat (seq) was at server time last_s, position pos_s."""
    fields: dict[str, object] = {
        "sid": "A",
        "learner_id": 1,
        "lesson_id": 1,
        "course_id": 1,
        "duration_ms": 600 * S,
        "started_ms": 0,
        "last_ms": int(last_s * S),
        "last_seq": seq,
        "last_pos_ms": int(pos_s * S),
        "attentive": True,
    }
    fields.update(kw)
    return SessionState(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("name", "state", "b", "now_s", "credited_s", "codes"),
    [
        ("1x playback is credited", playing(100, 50), beat(4, 60), 110, 10, ()),
        ("early arrival within jitter", playing(100, 50), beat(4, 60.2), 110, 10, ()),
        ("credit never exceeds server elapsed", playing(100, 50), beat(4, 60), 109, 9, ()),
        (
            "16x playback earns nothing",
            playing(100, 50),
            beat(4, 210, rate=16.0),
            110,
            0,
            ("rate_exceeded",),
        ),
        (
            "2x playback earns nothing",
            playing(100, 50),
            beat(4, 70, rate=2.0),
            110,
            0,
            ("rate_exceeded",),
        ),
        ("forward seek credits nothing", playing(100, 50), beat(4, 300), 110, 0, ("seek_forward",)),
        ("backward seek credits nothing", playing(100, 50), beat(4, 20), 110, 0, ("seek_back",)),
        ("paused", playing(100, 50), beat(4, 50, paused=True), 110, 0, ("paused",)),
        ("hidden tab", playing(100, 50), beat(4, 60, visible=False), 110, 0, ("hidden",)),
        ("unfocused window", playing(100, 50), beat(4, 60, focused=False), 110, 0, ("unfocused",)),
        (
            "playing throughout the interval after a pause",
            playing(100, 50, attentive=False),
            beat(4, 60),
            110,
            10,
            (),
        ),
        (
            "first beat only anchors",
            playing(0, 0, seq=0, attentive=False),
            beat(1, 0),
            2,
            0,
            ("first_beat",),
        ),
        ("sequence gap not credited", playing(100, 50), beat(6, 60), 110, 0, ("seq_gap",)),
        (
            "late beat after a long silence",
            playing(100, 50),
            beat(4, 90),
            140,
            0,
            ("late_beat",),
        ),
        ("stalled playback credits what advanced", playing(100, 50), beat(4, 53), 110, 3, ()),
        (
            "1.25x playback beyond the lag tolerance",
            playing(100, 50),
            beat(4, 72.5, rate=1.25),
            110,
            0,
            ("rate_exceeded",),
        ),
        ("end clipped to duration", playing(100, 595), beat(4, 601), 110, 5, ()),
    ],
)
def test_verify_table(
    name: str, state: SessionState, b: Beat, now_s: float, credited_s: float, codes: tuple[str, ...]
) -> None:
    """Each row: one beat against one state; credit in seconds and the reason codes."""
    v = verify(state, LearnerState(), b, int(now_s * S), P)
    assert v.credited_ms == int(credited_s * S), name
    assert v.codes == codes, name


def test_sustained_fast_playback_is_caught_by_the_growing_lag() -> None:
    """1.2x passes one beat within the jitter tolerance but the lag grows until it is refused."""
    state, learner = playing(0, 0), LearnerState()
    now, pos, credited, flagged = 0, 0.0, 0, 0
    for i in range(30):
        now += 10 * S
        pos += 12.0
        v = verify(state, learner, beat(i + 4, pos, rate=1.2), now, P)
        state, learner = v.session, v.learner
        credited += v.credited_ms
        flagged += "rate_exceeded" in v.codes
    assert flagged >= 5
    assert seg.covered(learner.coverage) <= now


def test_client_clock_is_ignored() -> None:
    """A client claiming a far-future clock earns exactly what server time allows."""
    v = verify(playing(100, 50), LearnerState(), beat(4, 60, client_time_ms=10**13), 110 * S, P)
    assert v.credited_ms == 10 * S


def test_rewatch_adds_no_credit() -> None:
    """Watching an already covered part keeps coverage and credits nothing new."""
    learner = LearnerState(coverage=((0, 100 * S),))
    v = verify(playing(100, 50), learner, beat(4, 60), 110 * S, P)
    assert v.credited_ms == 0
    assert v.codes == ("rewatch",)
    assert seg.covered(v.learner.coverage) == 100 * S


def test_second_concurrent_session_earns_nothing_and_records_overlap() -> None:
    """While session A holds the learner's stream, session B's attentive beats earn nothing."""
    learner = LearnerState(credited_until_ms=105 * S, stream_sid="A", stream_until_ms=135 * S)
    b_state = playing(100, 50, sid="B")
    v = verify(b_state, learner, beat(4, 60), 110 * S, P)
    assert v.credited_ms == 0
    assert "concurrent_session" in v.codes
    assert v.overlap_ms == 10 * S


def test_credited_intervals_never_overlap_across_sessions() -> None:
    """After A stops, B's next interval starts where A's credit ended, not at B's last beat."""
    learner = LearnerState(credited_until_ms=106 * S, stream_sid="", stream_until_ms=0)
    v = verify(playing(100, 50, sid="B"), learner, beat(4, 60), 110 * S, P)
    assert v.credited_ms == 4 * S  # only 106..110 is still free wall time


def test_wall_time_bound_over_a_long_run_with_jitter() -> None:
    """Over a run of jittery beats, coverage never exceeds wall time, yet keeps up with it."""
    state, learner = playing(0, 0, seq=1, duration_ms=10_000 * S), LearnerState()
    now = 0
    arrivals = [10.4, 9.6, 10.9, 9.1, 10.0, 10.3, 9.7] * 10
    pos = 0.0
    total_credit = 0
    for i, gap in enumerate(arrivals):
        now += int(gap * S)
        pos += 10.0
        v = verify(state, learner, beat(i + 2, pos), now, P)
        state, learner = v.session, v.learner
        total_credit += v.credited_ms
    assert total_credit <= now
    assert seg.covered(learner.coverage) <= now
    assert seg.covered(learner.coverage) >= pos * S - P.lag_tolerance_ms  # jitter starves nothing


def test_completion_fires_once_at_threshold() -> None:
    """The beat that brings coverage within the tail tolerance completes the lesson, once."""
    state = playing(100, 586, duration_ms=600 * S)
    learner = LearnerState(coverage=((0, 586 * S),))
    v = verify(state, learner, beat(4, 596), 110 * S, P)
    assert v.completed
    again = verify(v.session, v.learner, beat(5, 600), 114 * S, P)
    assert not again.completed


@pytest.mark.parametrize(
    ("state", "b", "now_s", "code", "status"),
    [
        (playing(100, 50, body_hash="x"), beat(3, 60), 110, "seq_reused", 409),
        (playing(100, 50), beat(2, 60), 110, "stale_seq", 409),
        (playing(100, 50, ended=True), beat(4, 60), 110, "session_ended", 409),
        (playing(100, 50), beat(4, 60), 100 + 91, "session_expired", 410),
        (playing(100, 50), beat(4, 603), 110, "position_out_of_range", 422),
    ],
)
def test_refused_beats(state: SessionState, b: Beat, now_s: float, code: str, status: int) -> None:
    """Stale, conflicting, late or impossible beats are refused and change nothing."""
    with pytest.raises(BeatRefused) as info:
        check_sequence(state, b, int(now_s * S), P)
    assert (info.value.code, info.value.status) == (code, status)


def test_retry_with_same_body_is_recognised() -> None:
    """The same seq with the same content is a retry: answered again, not re-credited."""
    b = beat(3, 60)
    assert check_sequence(playing(100, 50, body_hash=b.body_hash()), b, 110 * S, P) is True


CH = Challenge(
    id="c1", prompt="请点击数字 7", options=("3", "7", "1", "9"), answer="7", issued_ms=0
)
CH2 = replace(CH, id="c2", answer="3")


def test_challenge_issued_when_due_and_withholds_credit_until_answered() -> None:
    """A due challenge rides on a beat's answer; later beats earn nothing until it is answered."""
    state = playing(100, 50, challenge_due_ms=105 * S)
    v = verify(state, LearnerState(), beat(4, 60), 110 * S, P, candidate_challenge=CH)
    assert v.issued is not None
    assert v.credited_ms == 10 * S  # the interval before the challenge was watched
    pending = verify(v.session, v.learner, beat(5, 70), 120 * S, P, candidate_challenge=CH2)
    assert pending.credited_ms == 0
    assert "challenge_pending" in pending.codes
    assert pending.issued is None


def test_challenge_not_issued_before_due() -> None:
    """No challenge before the server-held due time."""
    state = playing(100, 50, challenge_due_ms=500 * S)
    v = verify(state, LearnerState(), beat(4, 60), 110 * S, P, candidate_challenge=CH)
    assert v.issued is None


def test_challenge_answers() -> None:
    """Right answer clears the challenge and measures latency; wrong answer replaces it."""
    state = playing(100, 50, challenge=replace(CH, issued_ms=100 * S))
    wrong = answer_challenge(state, "c1", "3", 104 * S, next_due_ms=500 * S, replacement=CH2)
    assert not wrong.correct
    assert wrong.session.challenge is not None
    assert wrong.session.challenge.id == "c2"
    right = answer_challenge(wrong.session, "c2", "3", 107 * S, next_due_ms=500 * S, replacement=CH)
    assert right.correct
    assert right.latency_ms == 3 * S
    assert right.session.challenge is None
    assert right.session.challenge_due_ms == 500 * S
    with pytest.raises(BeatRefused):
        answer_challenge(right.session, "c2", "3", 108 * S, next_due_ms=0, replacement=CH)


@pytest.mark.parametrize(
    ("union", "add", "expected", "added"),
    [
        ((), (0, 10), ((0, 10),), 10),
        (((0, 10),), (5, 15), ((0, 15),), 5),
        (((0, 10),), (10, 20), ((0, 20),), 10),
        (((0, 10), (20, 30)), (5, 25), ((0, 30),), 10),
        (((0, 10), (40, 50)), (20, 30), ((0, 10), (20, 30), (40, 50)), 10),
        (((0, 10),), (2, 8), ((0, 10),), 0),
        (((0, 10),), (8, 8), ((0, 10),), 0),
    ],
)
def test_segment_union(
    union: seg.Segments, add: seg.Segment, expected: seg.Segments, added: int
) -> None:
    """The union keeps disjoint sorted segments and reports only new coverage."""
    assert seg.add(union, add) == (expected, added)
    assert seg.decode(seg.encode(expected)) == expected
