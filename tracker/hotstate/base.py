"""The hot-state contract both stores implement, and its (de)serialisation.

Every change of a learner's state is a compare-and-set on the learner's version: a beat
loads the learner's snapshot, the pure verifier decides, and the commit succeeds only if
no other beat of the same learner (from any tracker process) committed in between. The
commit appends the beat's evidence in the same atomic step, so an acknowledged beat
always has its evidence recorded.
"""

from __future__ import annotations

import itertools
import secrets
import time
from dataclasses import dataclass
from typing import Protocol

from tracker import segments as seg
from tracker.evidence import Evidence, with_id
from tracker.verify import Challenge, LearnerState, SessionState


class EvidenceIds:
    """Evidence ids unique across processes, restarts and stores.

    The writer recognises a redelivered entry by its id, so an id must never be reused: a
    per-process counter alone restarts at 1 and collides with what an earlier process wrote
    (and one Redis stream id per shard collides with another shard's). An id is the server
    time, a random boot component drawn when the process starts, and a counter.
    """

    def __init__(self) -> None:
        self._boot = secrets.token_hex(5)
        self._n = itertools.count()

    def next(self) -> str:
        """A new id, time-ordered within this process (at most 40 characters)."""
        return f"{int(time.time() * 1000):011x}-{self._boot}-{next(self._n):x}"

    def stamp(self, evidence: list[Evidence]) -> list[Evidence]:
        """The records with an id each (records that have one keep it)."""
        return [with_id(e, self.next()) for e in evidence]


class StoreUnavailable(Exception):
    """The hot state cannot be reached; the tracker refuses rather than credit blindly."""


@dataclass(frozen=True)
class Snapshot:
    """A session, its learner's stream and lesson coverage, and the learner's version."""

    session: SessionState | None
    learner: LearnerState
    version: int


class HotStore(Protocol):
    """What the tracker needs from its hot state."""

    # True when evidence appended by a commit survives the tracker process being killed
    # (Redis); False for the in-process store, whose caller must flush before answering.
    durable: bool

    async def ping(self) -> None:
        """Raise StoreUnavailable when the store cannot be used."""

    async def create_session(self, session: SessionState, coverage: seg.Segments) -> None:
        """Store a new session; seed the lesson's coverage unless the store has newer."""

    async def load(
        self, sid: str, learner_id: int, lesson_id: int, *, fresh: bool = False
    ) -> Snapshot:
        """The snapshot (session None when unknown or gone).

        It may come from a per-process cache and be older than the store's; that is safe
        for anything followed by a commit (a stale version fails the compare-and-set and
        refreshes the cache). Pass ``fresh=True`` for a decision taken without a commit.
        """

    async def commit(
        self,
        expected_version: int,
        session: SessionState,
        learner: LearnerState,
        evidence: list[Evidence],
    ) -> bool:
        """Atomically write both states and append evidence if the version is unchanged."""

    async def append_evidence(self, evidence: list[Evidence]) -> None:
        """Append evidence without touching state (refused beats)."""

    async def read_evidence(self, count: int) -> list[tuple[str, Evidence]]:
        """Up to ``count`` unacknowledged evidence entries with their delivery handles.

        Each record carries its durable id; the handle only names the delivery (a stream
        entry) for :meth:`ack_evidence`.
        """

    async def ack_evidence(self, handles: list[str]) -> None:
        """Forget entries that are durably written to SQL."""

    async def due_sessions(self, now_ms: int, count: int) -> list[str]:
        """Ids of sessions whose last beat is older than the expiry (to be ended)."""

    async def forget_deadline(self, sid: str) -> None:
        """Stop tracking a session's expiry (it ended)."""

    async def pending(self) -> int:
        """Evidence entries not yet acknowledged (written to SQL), for monitoring."""

    async def alive(self, sids: list[str]) -> set[str]:
        """The sessions of ``sids`` the store still holds (ended or not)."""

    async def close(self) -> None:
        """Release connections."""


_SEP = "\x1f"  # never in server-generated text, so no escaping is needed
_OPT = "\x1e"


def pack_session(s: SessionState) -> str:
    """One compact string per session: cheap to send to Redis and small in its memory."""
    ch = s.challenge
    return _SEP.join(
        [
            str(s.learner_id),
            str(s.lesson_id),
            str(s.course_id),
            str(s.duration_ms),
            str(s.started_ms),
            str(s.last_ms),
            str(s.last_seq),
            str(s.last_pos_ms),
            "1" if s.attentive else "0",
            s.body_hash,
            s.reply,
            "1" if s.ended else "0",
            str(s.challenge_due_ms),
            ch.id if ch else "",
            ch.prompt if ch else "",
            _OPT.join(ch.options) if ch else "",
            ch.answer if ch else "",
            str(ch.issued_ms) if ch else "0",
            str(s.evidence_n),
        ]
    )


def unpack_session(sid: str, packed: str) -> SessionState:
    """Inverse of :func:`pack_session`."""
    fields = packed.split(_SEP)
    # Sessions packed before the evidence count existed have one field fewer.
    (lr, n, c, d, st, t, q, p, a, h, r, e, cd, ci, cp, co, ca, ct) = fields[:18]
    evidence_n = int(fields[18]) if len(fields) > 18 else 0
    challenge = (
        Challenge(id=ci, prompt=cp, options=tuple(co.split(_OPT)), answer=ca, issued_ms=int(ct))
        if ci
        else None
    )
    return SessionState(
        sid=sid,
        learner_id=int(lr),
        lesson_id=int(n),
        course_id=int(c),
        duration_ms=int(d),
        started_ms=int(st),
        last_ms=int(t),
        last_seq=int(q),
        last_pos_ms=int(p),
        attentive=a == "1",
        body_hash=h,
        reply=r,
        ended=e == "1",
        challenge=challenge,
        challenge_due_ms=int(cd),
        evidence_n=evidence_n,
    )


def learner_from_fields(f: dict[str, str | None], coverage: str | None) -> LearnerState:
    """Learner stream fields plus one lesson's coverage."""
    return LearnerState(
        credited_until_ms=int(f.get("cu") or 0),
        stream_sid=f.get("ss") or "",
        stream_until_ms=int(f.get("su") or 0),
        coverage=seg.decode(coverage or ""),
    )


def learner_to_fields(learner: LearnerState) -> dict[str, str]:
    """Learner stream fields (coverage is stored per lesson, separately)."""
    return {
        "cu": str(learner.credited_until_ms),
        "ss": learner.stream_sid,
        "su": str(learner.stream_until_ms),
    }


def parse_sid(sid: str) -> tuple[int, int] | None:
    """Learner and lesson ids encoded in a session id ("<learner>-<lesson>-<random>")."""
    parts = sid.split("-")
    if len(parts) != 3 or not parts[0].isdigit() or not parts[1].isdigit():
        return None
    if len(parts[2]) != 24 or any(c not in "0123456789abcdef" for c in parts[2]):
        return None
    return int(parts[0]), int(parts[1])
