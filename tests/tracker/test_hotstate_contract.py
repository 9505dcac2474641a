"""One contract, two stores: the embedded in-process store and Redis behave the same."""

from __future__ import annotations

import asyncio
from dataclasses import replace

from tracker import segments as seg
from tracker.evidence import EventRecord, Evidence
from tracker.hotstate.base import HotStore
from tracker.hotstate.redis import RedisStore
from tracker.verify import Challenge, LearnerState, SessionState

SID = "7-3-" + "a" * 24


def session(**kw: object) -> SessionState:
    fields: dict[str, object] = {
        "sid": SID,
        "learner_id": 7,
        "lesson_id": 3,
        "course_id": 2,
        "duration_ms": 600_000,
        "started_ms": 1_000,
        "last_ms": 1_000,
        "challenge_due_ms": 300_000,
    }
    fields.update(kw)
    return SessionState(**fields)  # type: ignore[arg-type]


def note(n: int) -> EventRecord:
    """An evidence record numbered ``n``."""
    return EventRecord(sid=SID, at_ms=1_000 + n, kind="note", detail={"n": n})


def n_of(e: Evidence) -> int:
    assert isinstance(e, EventRecord)
    return int(e.detail["n"])


async def test_create_and_load_round_trip(store: HotStore) -> None:
    """A stored session comes back field for field, with the seeded coverage."""
    ch = Challenge("c1", "请点击数字 7", ("1", "7", "3", "9"), "7", 5_000)
    await store.create_session(session(challenge=ch, reply='{"a": "学"}'), ((0, 30_000),))
    snap = await store.load(SID, 7, 3)
    assert snap.session == session(challenge=ch, reply='{"a": "学"}')
    assert snap.learner.coverage == ((0, 30_000),)
    assert snap.version >= 1


async def test_unknown_session_loads_as_none(store: HotStore) -> None:
    """An id that was never created has no session."""
    snap = await store.load("9-9-" + "b" * 24, 9, 9)
    assert snap.session is None
    assert snap.learner == LearnerState()


async def test_seed_does_not_overwrite_newer_coverage(store: HotStore) -> None:
    """A second session on the same lesson keeps the hot coverage, not the older SQL copy."""
    await store.create_session(session(), ((0, 10_000),))
    snap = await store.load(SID, 7, 3)
    learner = replace(snap.learner, coverage=((0, 50_000),))
    assert await store.commit(snap.version, snap.session, learner, [])  # type: ignore[arg-type]
    other = session(sid="7-3-" + "c" * 24)
    await store.create_session(other, ((0, 10_000),))
    assert (await store.load(other.sid, 7, 3)).learner.coverage == ((0, 50_000),)


async def test_commit_is_compare_and_set(store: HotStore) -> None:
    """Two commits from the same snapshot: the first wins, the second changes nothing."""
    await store.create_session(session(), ())
    snap = await store.load(SID, 7, 3)
    assert snap.session is not None
    first = LearnerState(
        credited_until_ms=11_000, stream_sid=SID, stream_until_ms=41_000, coverage=((0, 10_000),)
    )
    second = replace(first, coverage=((0, 20_000),))
    assert await store.commit(snap.version, replace(snap.session, last_seq=1), first, [note(1)])
    assert not await store.commit(
        snap.version, replace(snap.session, last_seq=9), second, [note(2)]
    )
    after = await store.load(SID, 7, 3)
    assert after.session is not None
    assert after.session.last_seq == 1
    assert after.learner == first
    entries = await store.read_evidence(10)
    assert [n_of(e) for _, e in entries] == [1]


async def test_concurrent_increments_are_never_lost(store: HotStore) -> None:
    """Many writers retrying compare-and-set on one learner: every increment lands once."""
    await store.create_session(session(), ())

    async def bump() -> None:
        while True:
            snap = await store.load(SID, 7, 3)
            assert snap.session is not None
            learner = replace(snap.learner, credited_until_ms=snap.learner.credited_until_ms + 1)
            if await store.commit(snap.version, snap.session, learner, [note(0)]):
                return
            await asyncio.sleep(0)

    await asyncio.gather(*(bump() for _ in range(40)))
    assert (await store.load(SID, 7, 3)).learner.credited_until_ms == 40
    assert len(await store.read_evidence(100)) == 40


async def test_evidence_stays_until_acknowledged(store: HotStore) -> None:
    """Unacknowledged evidence is delivered again; acknowledged evidence is gone."""
    await store.append_evidence([note(i) for i in range(5)])
    first = await store.read_evidence(3)
    assert [n_of(e) for _, e in first] == [0, 1, 2]
    again = await store.read_evidence(3)
    assert [n_of(e) for _, e in again] == [0, 1, 2]  # not acked: redelivered
    assert [e.id for _, e in again] == [e.id for _, e in first]  # the same durable ids
    await store.ack_evidence([i for i, _ in first])
    rest = await store.read_evidence(10)
    assert [n_of(e) for _, e in rest] == [3, 4]
    await store.ack_evidence([i for i, _ in rest])
    assert await store.read_evidence(10) == []


async def test_due_sessions_and_end(store: HotStore) -> None:
    """A session is due for expiry after its last beat plus the expiry; an ended one is not."""
    await store.create_session(session(last_ms=1_000), ())
    assert await store.due_sessions(50_000, 10) == []
    assert await store.due_sessions(91_000, 10) == [SID]
    snap = await store.load(SID, 7, 3)
    assert snap.session is not None
    assert await store.commit(snap.version, replace(snap.session, ended=True), snap.learner, [])
    assert await store.due_sessions(200_000, 10) == []
    assert (await store.load(SID, 7, 3)).session.ended  # type: ignore[union-attr]


async def test_redis_memory_per_session_is_small(store: HotStore) -> None:
    """A live session and its learner's state fit in 1 KiB of Redis memory."""
    if not isinstance(store, RedisStore):
        return
    big = Challenge(
        "c1a2b3c4d5e6", "为确认您正在学习，请计算 3 + 4 = ?", ("1", "7", "3", "9"), "7", 5_000
    )
    reply = "10000|seek_forward,hidden"
    await store.create_session(
        session(challenge=big, reply=reply, body_hash="0123456789abcdef"), ((0, 1_200_000),)
    )
    client = store._redis
    used = await client.memory_usage(store._skey(SID, 7)) + await client.memory_usage(
        store._lkey(7)
    )
    assert used <= 1024, used
    assert seg.covered(((0, 1_200_000),)) == 1_200_000
