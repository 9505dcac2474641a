"""Several tracker processes on one Redis: no double credit, nothing acknowledged is lost."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from models import Course, CourseKind, Heartbeat, Lesson
from proctor.context import Context
from proctor.study.runtime import make_tracker
from tests.factories import World
from tests.tracker.conftest import Target
from tracker.hotstate.base import StoreUnavailable
from tracker.hotstate.redis import RedisStore
from tracker.service import Tracker, TrackerError
from tracker.verify import Beat

T0 = 1_790_000_000_000


async def lesson_of(ctx: Context, world: World) -> int:
    province = world.org("湖南省")
    async with ctx.db.begin() as s:
        course = Course(
            code="D1",
            title="课",
            category_id=1,
            kind=CourseKind.REQUIRED,
            lecture_seconds=600,
            owner_org_id=province.id,
            owner_path=province.path,
        )
        s.add(course)
        await s.flush()
        lesson = Lesson(course_id=course.id, ordinal=1, title="一", duration_seconds=600)
        s.add(lesson)
        await s.flush()
        return lesson.id


def tracker_on(ctx: Context, target: Target) -> Tracker:
    """A tracker as a separate process would build it: own client, shared Redis."""
    return make_tracker(ctx, RedisStore(target.url, prefix=target.prefix))


def hb(seq: int, pos_s: int) -> Beat:
    return Beat(
        seq=seq,
        position_ms=pos_s * 1000,
        rate=1.0,
        paused=False,
        visible=True,
        focused=True,
        muted=False,
        volume=1.0,
        interactions=1,
    )


async def test_two_processes_racing_on_one_beat_credit_it_once(
    ctx: Context, world: World, target: Target
) -> None:
    """The same beat delivered to two trackers at once (a retry through another node)."""
    lesson = await lesson_of(ctx, world)
    a, b = tracker_on(ctx, target), tracker_on(ctx, target)
    learner = world.learners["zhang"].id
    started = await a.start_session(
        learner_id=learner,
        lesson_id=lesson,
        course_id=1,
        duration_ms=600_000,
        device="d",
        user_agent="ua",
        ip="127.0.0.1",
        now_ms=T0,
    )
    sid, token = started["session_id"], started["token"]
    await a.heartbeat(sid, token, hb(1, 0), ip="", now_ms=T0)
    replies = await asyncio.gather(
        a.heartbeat(sid, token, hb(2, 10), ip="", now_ms=T0 + 10_000),
        b.heartbeat(sid, token, hb(2, 10), ip="", now_ms=T0 + 10_050),
    )
    assert [r["credited_s"] for r in replies] == [10, 10]  # one credit, answered twice
    status = await b.status(sid, token)
    assert status["covered_s"] == 10
    # Different beats of two sessions racing: the learner's stream is credited once.
    other = await b.start_session(
        learner_id=learner,
        lesson_id=lesson,
        course_id=1,
        duration_ms=600_000,
        device="d2",
        user_agent="ua",
        ip="10.0.0.9",
        now_ms=T0 + 10_000,
    )
    await b.heartbeat(other["session_id"], other["token"], hb(1, 10), ip="", now_ms=T0 + 10_000)
    r1, r2 = await asyncio.gather(
        a.heartbeat(sid, token, hb(3, 20), ip="", now_ms=T0 + 20_000),
        b.heartbeat(other["session_id"], other["token"], hb(2, 20), ip="", now_ms=T0 + 20_000),
    )
    assert r1["credited_s"] + r2["credited_s"] <= 10
    for t in (a, b):
        await t.store.close()


async def test_killed_tracker_loses_no_acknowledged_beat(
    ctx: Context, world: World, target: Target
) -> None:
    """Beats acknowledged by a tracker that dies before writing them reach SQL via another."""
    lesson = await lesson_of(ctx, world)
    dying = tracker_on(ctx, target)
    learner = world.learners["zhang"].id
    started = await dying.start_session(
        learner_id=learner,
        lesson_id=lesson,
        course_id=1,
        duration_ms=600_000,
        device="d",
        user_agent="ua",
        ip="",
        now_ms=T0,
    )
    for i in range(1, 8):
        await dying.heartbeat(
            started["session_id"],
            started["token"],
            hb(i, (i - 1) * 10),
            ip="",
            now_ms=T0 + (i - 1) * 10_000,
        )
    # Its writer read a batch and died before committing it to SQL.
    taken = await dying.store.read_evidence(3)
    assert len(taken) == 3
    await dying.store.close()  # killed: nothing flushed
    survivor = tracker_on(ctx, target)
    survivor.store._consumer = "another-host-1"
    await survivor.writer.flush()
    async with ctx.db() as s:
        n = await s.scalar(
            select(func.count())
            .select_from(Heartbeat)
            .where(Heartbeat.session_id == started["session_id"])
        )
    # The 4 never-read entries arrive now; the 3 the dead writer held come back after its idle timeout.
    assert n == 4
    client = survivor.store._redis
    stream = survivor.store.stream(survivor.store.shard_of(learner))
    handles = [h.partition("/")[2] for h, _ in taken]
    await client.xclaim(stream, "writer", "another-host-1", 0, handles)
    await survivor.writer.flush()
    async with ctx.db() as s:
        n = await s.scalar(
            select(func.count())
            .select_from(Heartbeat)
            .where(Heartbeat.session_id == started["session_id"])
        )
    assert n == 7
    await survivor.writer.flush()  # redelivery never duplicates rows
    async with ctx.db() as s:
        assert await s.scalar(select(func.count()).select_from(Heartbeat)) == 7
    await survivor.store.close()


async def test_redis_down_refuses_with_503(ctx: Context, world: World) -> None:
    """No hot state, no credit: the tracker refuses instead of guessing."""
    down = make_tracker(ctx, RedisStore("redis://127.0.0.1:1/0", prefix="x:"))
    with pytest.raises(StoreUnavailable):
        await down.start_session(
            learner_id=world.learners["zhang"].id,
            lesson_id=1,
            course_id=1,
            duration_ms=1000,
            device="",
            user_agent="",
            ip="",
            now_ms=T0,
        )
    with pytest.raises((StoreUnavailable, TrackerError)):
        await down.heartbeat("1-1-" + "a" * 24, "t", hb(1, 0), ip="", now_ms=T0)
    await down.store.close()
