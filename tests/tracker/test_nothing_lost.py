"""Nothing acknowledged is lost: restarts of the embedded store, Redis losing its data, ends
that lose a race, several writers, and the last flush at shutdown.

In-process tests on SQLite and PostgreSQL; the fault tests with real processes are in
tests/faults/.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from models import (
    CreditEntry,
    Heartbeat,
    LessonProgress,
    SessionEvent,
    SessionSummary,
    StudySession,
)
from proctor.context import Context, open_context
from proctor.settings import Settings
from proctor.study.runtime import make_tracker
from proctor.web.app import create_app
from tests.factories import World, build_world, login
from tests.tracker.conftest import REDIS_URL, FakeClock, drop_prefix, redis_or_skip
from tests.tracker.test_durability import hb, lesson_of
from tests.tracker.test_tracker_http import Player, add_course, beat, play
from tracker.hotstate.memory import MemoryStore
from tracker.hotstate.redis import RedisStore
from tracker.service import Tracker, TrackerError
from tracker.sweep import sweep
from tracker.web.app import background
from tracker.writer import EvidenceWriter

T0 = 1_790_000_000_000


@pytest.fixture
async def prefix() -> AsyncIterator[str]:
    client = await redis_or_skip()
    p = f"test:{__name__[-8:]}:{id(client)}:"
    yield p
    await drop_prefix(client, p)
    await client.aclose()


async def count(ctx: Context, model: Any, *where: Any) -> int:
    async with ctx.db() as s:
        return int(await s.scalar(select(func.count()).select_from(model).where(*where)) or 0)


async def test_embedded_store_keeps_storing_study_after_a_restart(
    settings: Settings, aiohttp_client: Any, clock: FakeClock
) -> None:
    """A second process on a database that already holds evidence (the demo's, yesterday's):
    every beat it acknowledges reaches SQL, and the lesson, session, summary and credit too.
    (The embedded store once numbered evidence from 1 in every process and the writer skipped
    ids already stored: after any restart nothing reached SQL.)"""
    quick = settings.model_copy(update={"challenge_min_s": 3600, "challenge_max_s": 3600})
    first = open_context(quick)
    world = await build_world(first)
    lesson_a, lesson_b = await add_course(first, world, [60, 60])
    client = await aiohttp_client(create_app(ctx=first))
    player = Player(client, await login(client, "zhang"))
    await player.start(lesson_a)
    await play(player, clock, 60)
    assert (await player.post("/end"))[0] == 200
    await client.close()  # the process stops; the next one starts on the same database
    before = await count(first, Heartbeat)
    assert before == 7

    second = open_context(quick)
    client = await aiohttp_client(create_app(ctx=second))
    player = Player(client, await login(client, "zhang"))
    await player.start(lesson_b)
    credited = await play(player, clock, 60)
    assert credited == pytest.approx(60)
    status, body = await player.post("/end")
    assert status == 200 and body["ended"] is True
    learner = world.learners["zhang"].id
    assert await count(second, Heartbeat, Heartbeat.session_id == player.sid) == 7
    async with second.db() as s:
        progress = await s.get_one(LessonProgress, (learner, lesson_b))
        session = await s.get_one(StudySession, player.sid)
        summary = await s.get_one(SessionSummary, player.sid)
        credits = (
            await s.scalars(select(CreditEntry).where(CreditEntry.learner_id == learner))
        ).all()
    assert progress.completed_at is not None and progress.covered_ms == 60_000
    assert session.ended_at is not None and session.end_reason == "ended"
    assert summary.beats == 7 and summary.verified_s == pytest.approx(60)
    assert len(credits) == 1  # the course's two lessons are complete: its credit is posted
    await client.close()
    await first.close()
    await second.close()


async def _open(tracker: Tracker, learner: int, lesson: int, at: int) -> tuple[str, str]:
    started = await tracker.start_session(
        learner_id=learner,
        lesson_id=lesson,
        course_id=1,
        duration_ms=600_000,
        device="d",
        user_agent="ua",
        ip="10.0.0.1",
        now_ms=at,
    )
    return started["session_id"], started["token"]


async def test_an_acknowledged_end_is_applied_even_after_a_lost_race(
    ctx: Context, world: World, prefix: str
) -> None:
    """One process, a learner with two sessions: a beat of the other session moves the
    learner's version, so the end's compare-and-set loses. The end is retried on the new
    state; after its 200, every beat of the session is refused and credits nothing."""
    lesson = await lesson_of(ctx, world)
    tracker = make_tracker(ctx, RedisStore(REDIS_URL, prefix=prefix))
    other = make_tracker(ctx, RedisStore(REDIS_URL, prefix=prefix))  # a second process
    learner = world.learners["zhang"].id
    sid, token = await _open(tracker, learner, lesson, T0)
    sid2, token2 = await _open(tracker, learner, lesson, T0)
    await tracker.heartbeat(sid, token, hb(1, 0), ip="", now_ms=T0)
    await tracker.heartbeat(sid, token, hb(2, 10), ip="", now_ms=T0 + 10_000)
    # The other session beats through the other process: this process's copy is now stale.
    await other.heartbeat(sid2, token2, hb(1, 0), ip="", now_ms=T0 + 11_000)
    ended = await tracker.end(sid, token, now_ms=T0 + 12_000)
    assert ended["ended"] is True
    with pytest.raises(TrackerError) as refused:
        await other.heartbeat(sid, token, hb(3, 20), ip="", now_ms=T0 + 20_000)
    assert refused.value.code == "session_ended" and refused.value.status == 409
    assert (await other.status(sid, token))["ended"] is True
    await tracker.writer.flush()
    async with ctx.db() as s:
        session = await s.get_one(StudySession, sid)
        credited = await s.scalar(
            select(func.sum(Heartbeat.credited_ms)).where(Heartbeat.session_id == sid)
        )
    assert session.ended_at is not None and credited == 10_000
    for t in (tracker, other):
        await t.store.close()


async def test_two_writers_summary_waits_for_every_beat(
    ctx: Context, world: World, prefix: str
) -> None:
    """Writer B takes the first beats; writer A writes the rest and the end first. The
    summary is written only once B's beats are in, and equals the heartbeat rows."""
    lesson = await lesson_of(ctx, world)
    learner = world.learners["zhang"].id
    store_a = RedisStore(REDIS_URL, prefix=prefix, consumer="writer-a")
    store_b = RedisStore(REDIS_URL, prefix=prefix, consumer="writer-b")
    tracker = make_tracker(ctx, store_a)
    writer_b = EvidenceWriter(store_b, ctx.db)
    sid, token = await _open(tracker, learner, lesson, T0)
    for i in range(1, 13):
        await tracker.heartbeat(
            sid, token, hb(i, (i - 1) * 10), ip="", now_ms=T0 + (i - 1) * 10_000
        )
    held = await store_b.read_evidence(4)  # B reads 4 beats and is slow to commit them
    assert len(held) == 4
    await tracker.end(sid, token, now_ms=T0 + 120_000)
    await tracker.writer.flush()  # A: 8 beats and the end
    async with ctx.db() as s:
        session = await s.get_one(StudySession, sid)
        assert session.ended_at is not None and session.summary_pending
        assert await s.get(SessionSummary, sid) is None  # incomplete: not written
    await writer_b.flush()  # B's 4 beats arrive: B sees the waiting summary and writes it
    async with ctx.db() as s:
        summary = await s.get_one(SessionSummary, sid)
        rows = (await s.scalars(select(Heartbeat).where(Heartbeat.session_id == sid))).all()
        session = await s.get_one(StudySession, sid)
    assert summary.beats == len(rows) == 12
    assert summary.verified_s * 1000 == pytest.approx(sum(r.credited_ms for r in rows)) == 110_000
    assert not session.summary_pending
    for store in (store_a, store_b):
        await store.close()


@pytest.mark.parametrize("kind", ["memory", "redis"])
async def test_sessions_orphaned_by_a_lost_hot_state_are_ended_once(
    ctx: Context, world: World, kind: str
) -> None:
    """The hot state loses a live session (Redis restarted without persistence, or the
    embedded store's process died): the sweep ends it at its last stored beat and writes its
    summary, once, whichever process sweeps; a live session is left alone."""
    lesson = await lesson_of(ctx, world)
    learner = world.learners["zhang"].id
    prefix = ""
    if kind == "memory":
        store: Any = MemoryStore()
    else:
        client = await redis_or_skip()
        prefix = f"test:orphan:{id(client)}:"
        store = RedisStore(REDIS_URL, prefix=prefix, client=client)
    tracker = make_tracker(ctx, store)
    sid, token = await _open(tracker, learner, lesson, T0)
    for i in range(1, 5):
        await tracker.heartbeat(
            sid, token, hb(i, (i - 1) * 10), ip="", now_ms=T0 + (i - 1) * 10_000
        )
    await tracker.writer.flush()
    # The loss: a fresh embedded store (new process), or Redis' keys gone.
    if kind == "memory":
        store = MemoryStore()
    else:
        await drop_prefix(client, prefix)
    live = make_tracker(ctx, store)
    # A session the hot state still holds (started long ago too) is left to the reaper.
    live_sid, _ = await _open(live, world.learners["li"].id, lesson, T0 + 30_000)
    later = T0 + 30 * 60_000
    kwargs = {"expire_ms": 90_000, "grace_ms": 120_000}
    first = await sweep(ctx.db, store, later, **kwargs)
    second = await sweep(ctx.db, store, later, **kwargs)
    assert (first.orphans, second.orphans) == (1, 0)
    async with ctx.db() as s:
        session = await s.get_one(StudySession, sid)
        summary = await s.get_one(SessionSummary, sid)
        alive = await s.get_one(StudySession, live_sid)
    assert session.end_reason == "orphaned"
    assert int(session.ended_at.timestamp() * 1000) == T0 + 30_000  # the last stored beat
    assert summary.beats == 4 and summary.verified_s == pytest.approx(30)
    assert alive.ended_at is None
    await store.close()


async def test_writer_heals_after_redis_loses_its_data(
    ctx: Context, world: World, prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Redis restarts empty: the writer recreates its consumer group and goes on, saying so
    once, not on every flush."""
    lesson = await lesson_of(ctx, world)
    learner = world.learners["zhang"].id
    client = await redis_or_skip()
    tracker = make_tracker(ctx, RedisStore(REDIS_URL, prefix=prefix))
    sid, token = await _open(tracker, learner, lesson, T0)
    await tracker.heartbeat(sid, token, hb(1, 0), ip="", now_ms=T0)
    await tracker.writer.flush()
    await drop_prefix(client, prefix)  # the restart: every key, stream and group is gone
    sid, token = await _open(tracker, learner, lesson, T0 + 60_000)
    caplog.set_level(logging.WARNING)
    for i in range(1, 6):
        await tracker.heartbeat(sid, token, hb(i, (i - 1) * 10), ip="", now_ms=T0 + i * 10_000)
        await tracker.writer.flush()
    assert await count(ctx, Heartbeat, Heartbeat.session_id == sid) == 5
    healed = [r for r in caplog.records if "consumer group" in r.getMessage()]
    assert len(healed) == 1
    await tracker.store.close()
    await client.aclose()


@contextlib.contextmanager
def write_lock(db_file: Path) -> Any:
    """Another process's write transaction on the SQLite file (e.g. `proctor detect`)."""
    conn = sqlite3.connect(db_file, timeout=0.1, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        conn.execute("ROLLBACK")
        conn.close()


async def test_last_flush_meeting_a_locked_database_spills_and_the_next_start_replays(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Shutdown while another process holds SQLite's write lock: the bounded last flush
    gives up, the acknowledged tail goes to the spill file, and the next start writes every
    entry before serving, none twice."""
    if not settings.database_url.startswith("sqlite"):
        pytest.skip("the write lock of a database file is SQLite's")
    # A short busy timeout, so the test waits a moment rather than SQLite's 10 s.
    import models.db

    real = models.db._sqlite_pragmas

    def quick(dbapi_connection: Any, record: Any) -> None:
        real(dbapi_connection, record)
        dbapi_connection.cursor().execute("PRAGMA busy_timeout=100")

    monkeypatch.setattr(models.db, "_sqlite_pragmas", quick)
    ctx = open_context(settings.model_copy(update={"shutdown_flush_s": 0.5}))
    world = await build_world(ctx)
    lesson = await lesson_of(ctx, world)
    tracker = make_tracker(ctx)
    assert tracker.spill_path == settings.data_dir / "evidence-spill.jsonl"
    tracker.eager_flush = False  # a tail in memory, as a flush interval leaves one
    db_file = Path(settings.database_url.split("///", 1)[1])
    async with background(tracker, flush_interval_s=3600):
        sid, token = await _open(tracker, world.learners["zhang"].id, lesson, T0)
        for i in range(1, 9):
            await tracker.heartbeat(
                sid, token, hb(i, (i - 1) * 10), ip="", now_ms=T0 + (i - 1) * 10_000
            )
        await tracker.end(sid, token, now_ms=T0 + 80_000)
        lock = write_lock(db_file)
        lock.__enter__()
    lock.__exit__(None, None, None)
    assert tracker.spill_path is not None and tracker.spill_path.exists()
    assert await count(ctx, Heartbeat) == 0

    restarted = make_tracker(ctx)  # the next start: a new, empty embedded store
    async with background(restarted, flush_interval_s=3600):
        assert not tracker.spill_path.exists()
        assert await count(ctx, Heartbeat, Heartbeat.session_id == sid) == 8
        assert await count(ctx, SessionEvent, SessionEvent.kind == "session_end") == 1
        async with ctx.db() as s:
            ids = (await s.scalars(select(Heartbeat.evidence_id))).all()
            assert len(ids) == len(set(ids)) == 8
            summary = await s.get_one(SessionSummary, sid)
        assert summary.beats == 8
    await ctx.close()


async def test_beats_skip_the_login_lookup_and_refuse_another_login(
    tctx_memory: Context, aiohttp_client: Any, monkeypatch: pytest.MonkeyPatch, clock: FakeClock
) -> None:
    """A beat is authenticated by its study token, bound to the login that started the
    session: no SQL lookup of the login per beat, and another learner's login is refused."""
    world = await build_world(tctx_memory)
    (lesson,) = await add_course(tctx_memory, world, [60])
    client = await aiohttp_client(create_app(ctx=tctx_memory))
    zhang = await login(client, "zhang")
    player = Player(client, zhang)
    await player.start(lesson)
    from proctor.accounts import service as accounts

    calls = 0
    real = accounts.resolve

    async def counting(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        return await real(*args, **kwargs)

    monkeypatch.setattr(accounts, "resolve", counting)
    await play(player, clock, 30)
    assert calls == 0
    li = await login(client, "li")
    calls = 0
    clock.advance(10)
    resp = await client.post(
        f"/api/v1/track/sessions/{player.sid}/beats",
        json=beat(5, 40),
        headers=li | {"X-Study-Token": player.token},
    )
    assert resp.status == 403 and (await resp.json())["title"] == "bad_token"
    resp = await client.post(
        f"/api/v1/track/sessions/{player.sid}/beats",
        json=beat(5, 40),
        headers={"X-Study-Token": player.token},  # no login at all
    )
    assert resp.status == 403
    assert (await player.beat(beat(5, 40)))["credited_s"] == pytest.approx(10)
    assert calls == 0
    await asyncio.sleep(0)


@pytest.fixture
async def tctx_memory(settings: Settings) -> AsyncIterator[Context]:
    context = open_context(
        settings.model_copy(update={"challenge_min_s": 3600, "challenge_max_s": 3600})
    )
    yield context
    await context.close()
