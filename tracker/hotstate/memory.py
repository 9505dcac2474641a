"""The embedded hot-state store: same contract as Redis, in this process.

Not a mock: it is what `proctor` runs on when no Redis is configured. Commits are atomic
because they contain no await; evidence is kept until the writer acknowledges it, and
since a process kill would lose it, the tracker flushes it to SQL before answering.
"""

from __future__ import annotations

import itertools

from tracker import segments as seg
from tracker.evidence import Evidence
from tracker.hotstate.base import (
    EvidenceIds,
    Snapshot,
    learner_from_fields,
    learner_to_fields,
    pack_session,
    unpack_session,
)
from tracker.verify import LearnerState, SessionState


class MemoryStore:
    """In-process hot state."""

    durable = False

    def __init__(self, expire_ms: int = 90_000) -> None:
        self._sessions: dict[str, str] = {}
        self._learners: dict[int, dict[str, str]] = {}
        self._versions: dict[int, int] = {}
        self._evidence: dict[str, Evidence] = {}
        self._deadlines: dict[str, int] = {}
        # Ended sessions are kept a while so late retries get "ended", then dropped (like a TTL).
        self._purge_at: dict[str, int] = {}
        self._ids = EvidenceIds()
        self._expire_ms = expire_ms

    async def ping(self) -> None:
        return None

    async def create_session(self, session: SessionState, coverage: seg.Segments) -> None:
        self._sessions[session.sid] = pack_session(session)
        fields = self._learners.setdefault(session.learner_id, {})
        fields.setdefault(f"c:{session.lesson_id}", seg.encode(coverage))
        self._versions[session.learner_id] = self._versions.get(session.learner_id, 0) + 1
        self._deadlines[session.sid] = session.last_ms + self._expire_ms

    async def load(
        self, sid: str, learner_id: int, lesson_id: int, *, fresh: bool = False
    ) -> Snapshot:
        packed = self._sessions.get(sid)
        learner = self._learners.get(learner_id, {})
        state = unpack_session(sid, packed) if packed is not None else None
        return Snapshot(
            session=state,
            learner=learner_from_fields(dict(learner), learner.get(f"c:{lesson_id}")),
            version=self._versions.get(learner_id, 0),
        )

    async def commit(
        self,
        expected_version: int,
        session: SessionState,
        learner: LearnerState,
        evidence: list[Evidence],
    ) -> bool:
        if self._versions.get(session.learner_id, 0) != expected_version:
            return False
        self._sessions[session.sid] = pack_session(session)
        fields = self._learners.setdefault(session.learner_id, {})
        fields.update(learner_to_fields(learner))
        fields[f"c:{session.lesson_id}"] = seg.encode(learner.coverage)
        self._versions[session.learner_id] = expected_version + 1
        if session.ended:
            self._deadlines.pop(session.sid, None)
            self._purge_at[session.sid] = session.last_ms + 24 * 3600 * 1000
        else:
            self._deadlines[session.sid] = session.last_ms + self._expire_ms
        self._append(evidence)
        return True

    def _append(self, evidence: list[Evidence]) -> None:
        for entry in self._ids.stamp(evidence):
            self._evidence[entry.id] = entry

    async def append_evidence(self, evidence: list[Evidence]) -> None:
        self._append(evidence)

    async def read_evidence(self, count: int) -> list[tuple[str, Evidence]]:
        return list(itertools.islice(self._evidence.items(), count))

    async def ack_evidence(self, handles: list[str]) -> None:
        for i in handles:
            self._evidence.pop(i, None)

    async def due_sessions(self, now_ms: int, count: int) -> list[str]:
        for sid in [sid for sid, at in self._purge_at.items() if at <= now_ms]:
            self._purge_at.pop(sid)
            self._sessions.pop(sid, None)
        return [sid for sid, due in self._deadlines.items() if due <= now_ms][:count]

    async def forget_deadline(self, sid: str) -> None:
        self._deadlines.pop(sid, None)

    async def pending(self) -> int:
        return len(self._evidence)

    async def alive(self, sids: list[str]) -> set[str]:
        return {sid for sid in sids if sid in self._sessions}

    async def close(self) -> None:
        return None
