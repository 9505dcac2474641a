"""Pure verification of heartbeats: how much attention a beat proves, judged by the server.

No I/O and no clock: the caller passes the server's receipt time. Client claims (its
clock, its rate field, its idea of progress) are recorded but never credited; only
server-observed elapsed time and position continuity count. See docs/protocol.md.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace

from tracker import segments as seg


@dataclass(frozen=True)
class Policy:
    """Verification settings (all server-side; none is sent to the client ahead of time)."""

    interval_ms: int = 10_000
    # Fastest playback that still earns credit: content covered faster is not credited.
    max_rate: float = 1.0
    # Network jitter makes one beat arrive early and the next late. Coverage is credited
    # only up to server elapsed time; the rest of the reported advance is carried as a lag
    # behind the player, and a lag beyond this is a seek or too fast a playback.
    lag_tolerance_ms: int = 3_000
    # A beat later than this after the previous one starts a new run without credit.
    max_gap_ms: int = 30_000
    # A session with no beat for this long is over.
    expire_ms: int = 90_000
    # Coverage this close to the end counts as complete (players stop a little early).
    tail_tolerance_ms: int = 5_000
    # Tolerated position beyond the lesson's duration (players overshoot slightly).
    position_margin_ms: int = 2_000


class BeatRefused(Exception):
    """A beat that changes nothing: stale, conflicting, or for a finished session."""

    def __init__(self, code: str, status: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Beat:
    """What the client reports (already type-checked by the protocol parser)."""

    seq: int
    position_ms: int
    rate: float
    paused: bool
    visible: bool
    focused: bool
    muted: bool
    volume: float
    interactions: int
    client_time_ms: int | None = None

    @property
    def attentive(self) -> bool:
        """The client says the video is playing in a visible, focused page."""
        return not self.paused and self.visible and self.focused and self.rate > 0

    def body_hash(self) -> str:
        """Identity of the beat's content, to tell a retry from a conflicting reuse of seq.

        Stable across processes (a retry may reach another tracker), unlike hash().
        """
        raw = repr(
            (
                self.seq,
                self.position_ms,
                self.rate,
                self.paused,
                self.visible,
                self.focused,
                self.muted,
                self.volume,
                self.interactions,
                self.client_time_ms,
            )
        )
        return hashlib.blake2b(raw.encode(), digest_size=8).hexdigest()


@dataclass(frozen=True)
class Challenge:
    """A presence challenge held by the server; only the prompt and options leave it."""

    id: str
    prompt: str
    options: tuple[str, ...]
    answer: str
    issued_ms: int


@dataclass(frozen=True)
class SessionState:
    """The hot state of one study session."""

    sid: str
    learner_id: int
    lesson_id: int
    course_id: int
    duration_ms: int
    started_ms: int
    last_ms: int
    last_seq: int = 0
    # Credited position: the end of the last verified segment (it may lag the player).
    last_pos_ms: int = 0
    attentive: bool = False
    body_hash: str = ""
    reply: str = ""
    ended: bool = False
    challenge: Challenge | None = None
    challenge_due_ms: int = 0
    # Evidence entries committed with this session's state so far: the end entry carries it,
    # so a summary is written only once every one of them is in SQL.
    evidence_n: int = 0


@dataclass(frozen=True)
class LearnerState:
    """The learner's one credited stream, and coverage of the session's lesson."""

    credited_until_ms: int = 0
    stream_sid: str = ""
    stream_until_ms: int = 0
    coverage: seg.Segments = ()


@dataclass(frozen=True)
class Verdict:
    """What a beat earned, and the state after it."""

    session: SessionState
    learner: LearnerState
    elapsed_ms: int
    credited_ms: int
    new_coverage_ms: int
    codes: tuple[str, ...]
    completed: bool
    issued: Challenge | None
    overlap_ms: int


def is_complete(coverage: seg.Segments, duration_ms: int, policy: Policy) -> bool:
    """Lesson complete: verified coverage reaches the duration minus the tail tolerance."""
    return duration_ms > 0 and seg.covered(coverage) >= max(
        1, duration_ms - policy.tail_tolerance_ms
    )


def check_sequence(state: SessionState, beat: Beat, now_ms: int, policy: Policy) -> bool:
    """True when the beat is a retry of the last accepted one (answer it again, change nothing).

    Raises BeatRefused for beats that must change nothing: after the session's end,
    after expiry, out of order, or a sequence number reused for different content.
    """
    if state.ended:
        raise BeatRefused("session_ended", 409, "学习会话已结束，请重新开始学习")
    if beat.seq == state.last_seq and state.last_seq > 0:
        if beat.body_hash() == state.body_hash:
            return True
        raise BeatRefused("seq_reused", 409, f"序号 {beat.seq} 已用于另一条心跳")
    if beat.seq < state.last_seq:
        raise BeatRefused(
            "stale_seq", 409, f"心跳序号 {beat.seq} 已过期（最新为 {state.last_seq}）"
        )
    if now_ms - state.last_ms > policy.expire_ms:
        raise BeatRefused("session_expired", 410, "学习会话因长时间无心跳已过期，请重新开始学习")
    if beat.position_ms > state.duration_ms + policy.position_margin_ms:
        raise BeatRefused("position_out_of_range", 422, "播放位置超出课程时长")
    return False


def challenge_due(state: SessionState, beat: Beat, now_ms: int) -> bool:
    """A challenge is issued on this beat: none pending, due time reached, player playing."""
    return (
        state.challenge is None
        and state.challenge_due_ms > 0
        and now_ms >= state.challenge_due_ms
        and beat.attentive
    )


def verify(
    state: SessionState,
    learner: LearnerState,
    beat: Beat,
    now_ms: int,
    policy: Policy,
    *,
    candidate_challenge: Challenge | None = None,
) -> Verdict:
    """Decide how many milliseconds of lesson content this beat verifiably attended.

    ``candidate_challenge`` is a freshly drawn challenge the caller offers when
    :func:`challenge_due`; it is issued only then.
    """
    codes: list[str] = []
    elapsed = max(0, now_ms - state.last_ms)
    # Credited wall time never overlaps across the learner's sessions: an interval starts
    # no earlier than the end of the last interval credited to any of them.
    effective = max(0, now_ms - max(state.last_ms, learner.credited_until_ms))
    creditable = True
    overlap = 0

    if state.last_seq == 0:
        codes.append("first_beat")
        creditable = False
    elif beat.seq > state.last_seq + 1:
        codes.append("seq_gap")
        creditable = False
    if elapsed > policy.max_gap_ms:
        codes.append("late_beat")
        creditable = False
    # The flags describe the whole interval since the previous beat (the player reports
    # "hidden at any moment" as not visible), so this beat alone says if it was watched.
    if not beat.attentive:
        if beat.paused or beat.rate <= 0:
            codes.append("paused")
        if not beat.visible:
            codes.append("hidden")
        if not beat.focused:
            codes.append("unfocused")
        creditable = False
    if state.challenge is not None:
        codes.append("challenge_pending")
        creditable = False
    other_stream = learner.stream_sid not in ("", state.sid) and learner.stream_until_ms > now_ms
    if other_stream and beat.attentive:
        codes.append("concurrent_session")
        overlap = elapsed
        creditable = False

    delta = beat.position_ms - state.last_pos_ms
    own_allowance = int(elapsed * policy.max_rate)
    if state.last_seq > 0:
        if delta < 0:
            codes.append("seek_back")
            creditable = False
        elif delta > own_allowance + policy.lag_tolerance_ms:
            codes.append("rate_exceeded" if beat.rate > policy.max_rate else "seek_forward")
            creditable = False

    coverage = learner.coverage
    new_cov = 0
    credited = 0
    anchor = beat.position_ms
    if creditable and delta > 0:
        watched = min(delta, own_allowance)
        covered_len = min(watched, int(effective * policy.max_rate))
        # Content played while the learner's wall time was already credited to another
        # session is skipped, not carried: it comes first in this interval.
        start = state.last_pos_ms + (watched - covered_len)
        end = start + covered_len
        coverage, new_cov = seg.add(coverage, (start, min(end, state.duration_ms)))
        credited = min(new_cov, effective)
        anchor = end
        if new_cov == 0:
            codes.append("rewatch")

    if creditable:
        learner = replace(
            learner,
            credited_until_ms=now_ms,
            stream_sid=state.sid,
            stream_until_ms=now_ms + policy.max_gap_ms,
            coverage=coverage,
        )
    elif learner.stream_sid == state.sid and not beat.attentive:
        # A paused or hidden player gives up the stream so another device may take over.
        learner = replace(learner, stream_sid="", stream_until_ms=0)

    completed = new_cov > 0 and _crossed(learner.coverage, new_cov, state.duration_ms, policy)

    issued = None
    challenge = state.challenge
    if candidate_challenge is not None and challenge_due(state, beat, now_ms):
        issued = replace(candidate_challenge, issued_ms=now_ms)
        challenge = issued

    new_state = replace(
        state,
        last_ms=now_ms,
        last_seq=beat.seq,
        last_pos_ms=anchor,
        attentive=beat.attentive and challenge is None,
        body_hash=beat.body_hash(),
        challenge=challenge,
    )
    return Verdict(
        session=new_state,
        learner=learner,
        elapsed_ms=elapsed,
        credited_ms=credited,
        new_coverage_ms=new_cov,
        codes=tuple(codes),
        completed=completed,
        issued=issued,
        overlap_ms=overlap,
    )


def _crossed(coverage: seg.Segments, added: int, duration_ms: int, policy: Policy) -> bool:
    """True when the last ``added`` milliseconds took the lesson over the completion line."""
    now_complete = is_complete(coverage, duration_ms, policy)
    threshold = max(1, duration_ms - policy.tail_tolerance_ms)
    return now_complete and seg.covered(coverage) - added < threshold


@dataclass(frozen=True)
class AnswerResult:
    """Outcome of a challenge answer."""

    session: SessionState
    correct: bool
    latency_ms: int
    reissued: bool


def answer_challenge(
    state: SessionState,
    challenge_id: str,
    answer: str,
    now_ms: int,
    *,
    next_due_ms: int,
    replacement: Challenge,
) -> AnswerResult:
    """Check an answer against the server-held challenge.

    Correct: the challenge clears and the next one is due at ``next_due_ms`` (drawn by the
    caller at random). Wrong: a new challenge replaces it, and credit stays withheld.
    """
    if state.ended:
        raise BeatRefused("session_ended", 409, "学习会话已结束")
    current = state.challenge
    if current is None or current.id != challenge_id:
        raise BeatRefused("no_such_challenge", 409, "没有待回答的该项验证，可能已回答或已更换")
    latency = max(0, now_ms - current.issued_ms)
    if answer.strip() == current.answer:
        return AnswerResult(
            replace(state, challenge=None, challenge_due_ms=next_due_ms), True, latency, False
        )
    return AnswerResult(
        replace(state, challenge=replace(replacement, issued_ms=now_ms)), False, latency, True
    )
