"""The raw trace at province size: monthly partitions (PostgreSQL) and pruning (both DBs)."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections import Counter

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from models import (
    CaseState,
    Heartbeat,
    Lesson,
    ReviewCase,
    StudySession,
    heartbeat_partition,
    utcnow,
)
from models.db import create_engine
from proctor.cli import main
from proctor.context import Context
from proctor.errors import InvalidInput
from proctor.study.partitions import (
    Partition,
    ensure_partitions,
    list_partitions,
    month_bounds,
    month_of,
    month_start,
    months_to_cover,
)
from proctor.study.prune import cutoff_of, months_to_drop, needs_evidence, prune_beats
from tests.factories import World
from tests.proctor.archive.helpers import add_course

NOW = dt.datetime(2026, 12, 10, 12, 0, tzinfo=dt.UTC)
D = dt.date


# --- pure rules --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "add", "expected"),
    [
        (D(2026, 12, 10), 0, D(2026, 12, 1)),
        (D(2026, 12, 31), 1, D(2027, 1, 1)),
        (D(2026, 1, 1), -1, D(2025, 12, 1)),
        (D(2026, 3, 15), -14, D(2025, 1, 1)),
        (D(2026, 11, 30), 14, D(2028, 1, 1)),
    ],
)
def test_month_start(day: dt.date, add: int, expected: dt.date) -> None:
    assert month_start(day, add) == expected


def test_months_to_cover_counts_from_the_utc_month() -> None:
    # 00:30 on 1 January in Beijing is still December in UTC: December's partition is needed.
    beijing = dt.timezone(dt.timedelta(hours=8))
    now = dt.datetime(2027, 1, 1, 0, 30, tzinfo=beijing)
    assert months_to_cover(now, 2) == [D(2026, 12, 1), D(2027, 1, 1), D(2027, 2, 1)]
    assert months_to_cover(now, 0) == [D(2026, 12, 1)]


def test_month_bounds_and_names() -> None:
    lo, hi = month_bounds(D(2026, 12, 1))
    assert (lo, hi) == (
        dt.datetime(2026, 12, 1, tzinfo=dt.UTC),
        dt.datetime(2027, 1, 1, tzinfo=dt.UTC),
    )
    assert heartbeat_partition(D(2026, 2, 17)) == "heartbeat_y2026m02"
    assert month_of("heartbeat_y2026m02") == D(2026, 2, 1)
    assert month_of("heartbeat_default") is None
    assert month_of("heartbeat") is None


@pytest.mark.parametrize(
    ("state", "deadline", "needed"),
    [
        (CaseState.NEW, None, True),
        (CaseState.IN_REVIEW, None, True),
        (CaseState.APPEALED, None, True),
        (CaseState.CONFIRMED_PROXY, NOW + dt.timedelta(days=3), True),
        (CaseState.CONFIRMED_FRAUD, NOW - dt.timedelta(seconds=1), False),
        (CaseState.CONFIRMED_PROXY, None, False),
        (CaseState.NO_MISCONDUCT, None, False),
        (CaseState.INSUFFICIENT_EVIDENCE, NOW + dt.timedelta(days=3), False),
        (CaseState.APPEAL_UPHELD, None, False),
        (CaseState.APPEAL_REJECTED, None, False),
    ],
)
def test_which_cases_keep_their_evidence(
    state: CaseState, deadline: dt.datetime | None, needed: bool
) -> None:
    assert needs_evidence(state, deadline, NOW) is needed


def test_only_whole_months_before_the_cutoff_are_dropped() -> None:
    cutoff = cutoff_of(NOW, 90)  # 2026-09-11 12:00 UTC
    parts = [
        Partition("heartbeat_y2026m07", D(2026, 7, 1)),
        Partition("heartbeat_y2026m08", D(2026, 8, 1)),
        Partition("heartbeat_y2026m09", D(2026, 9, 1)),
        Partition("heartbeat_y2026m12", D(2026, 12, 1)),
        Partition("heartbeat_default", None),
    ]
    assert [p.name for p in months_to_drop(parts, cutoff)] == [
        "heartbeat_y2026m07",
        "heartbeat_y2026m08",
    ]


@pytest.mark.parametrize("days", [0, -5])
def test_keep_days_must_be_positive(days: int) -> None:
    with pytest.raises(InvalidInput) as err:
        cutoff_of(NOW, days)
    assert err.value.field == "keep_days"


# --- the database ------------------------------------------------------------------------


def beat(sid: str, at: dt.datetime, seq: int) -> Heartbeat:
    return Heartbeat(
        evidence_id=f"{sid[:16]}-{seq}-{uuid.uuid4().hex[:8]}",
        session_id=sid,
        seq=seq,
        received_at=at,
        position_ms=seq * 10_000,
        rate=1.0,
        paused=False,
        visible=True,
        focused=True,
        muted=False,
        volume=1.0,
        interactions=0,
        elapsed_ms=10_000,
        credited_ms=10_000,
        new_coverage_ms=10_000,
        accepted=True,
        codes="",
        ip="10.0.0.1",
    )


async def drop_partitions(engine: AsyncEngine, months: list[dt.date]) -> None:
    """Start from a known state: the session's database may hold partitions of other tests."""
    async with engine.begin() as conn:
        for month in months:
            await conn.execute(text(f"DROP TABLE IF EXISTS {heartbeat_partition(month)}"))


async def where_rows_are(engine: AsyncEngine) -> Counter[str]:
    async with engine.connect() as conn:
        rows = await conn.execute(text("SELECT tableoid::regclass::text FROM heartbeat"))
        return Counter(r[0] for r in rows)


async def test_partitions_are_created_ahead_idempotently_and_rows_routed(
    ctx: Context, database_url: str
) -> None:
    engine = ctx.engine
    if engine.dialect.name != "postgresql":
        assert await ensure_partitions(engine, utcnow()) == []
        async with ctx.db.begin() as s:
            s.add(beat("sqlite-session", utcnow(), 1))
        async with ctx.db() as s:
            assert await s.scalar(select(func.count()).select_from(Heartbeat)) == 1
        return
    now = utcnow()
    far = month_start(now.date(), 6)
    await drop_partitions(engine, [month_start(now.date(), k) for k in range(3, 7)])
    # A beat of a month with no partition yet waits in the default partition...
    async with ctx.db.begin() as s:
        s.add_all([beat("s-now", now, 1), beat("s-far", month_bounds(far)[0], 1)])
        s.add(beat("s-old", dt.datetime(1999, 5, 5, tzinfo=dt.UTC), 1))
    assert await where_rows_are(engine) == Counter(
        {heartbeat_partition(now.date()): 1, "heartbeat_default": 2}
    )
    # ...and moves into its month's partition when that is created.
    created = await ensure_partitions(engine, now, months_ahead=6)
    assert heartbeat_partition(far) in created
    assert await ensure_partitions(engine, now, months_ahead=6) == []
    assert await where_rows_are(engine) == Counter(
        {heartbeat_partition(now.date()): 1, heartbeat_partition(far): 1, "heartbeat_default": 1}
    )
    async with engine.connect() as conn:
        names = [p.name for p in await list_partitions(conn)]
    assert names[-1] == "heartbeat_default"
    assert {heartbeat_partition(month_start(now.date(), k)) for k in range(7)} <= set(names)
    # The same evidence entry written twice is refused, in a partition as in the default one.
    async with ctx.db() as s:
        row = await s.scalar(select(Heartbeat).where(Heartbeat.session_id == "s-far"))
        assert row is not None
        dup = beat("s-far", row.received_at, 1)
        dup.evidence_id = row.evidence_id
        s.add(dup)
        with pytest.raises(IntegrityError):
            await s.commit()


async def test_concurrent_creation_creates_each_partition_once(
    ctx: Context, database_url: str
) -> None:
    if ctx.engine.dialect.name != "postgresql":
        pytest.skip("partitions exist on PostgreSQL only")
    other = create_engine(database_url)
    try:
        now = utcnow()
        await drop_partitions(ctx.engine, [month_start(now.date(), k) for k in range(3, 10)])
        a, b = await asyncio.gather(
            ensure_partitions(ctx.engine, now, 9), ensure_partitions(other, now, 9)
        )
        assert sorted(a + b) == [
            heartbeat_partition(month_start(now.date(), k)) for k in range(3, 10)
        ]
    finally:
        await other.dispose()


async def _session(ctx: Context, learner_id: int, lesson: Lesson, started: dt.datetime) -> str:
    sid = uuid.uuid4().hex
    async with ctx.db.begin() as s:
        s.add(
            StudySession(
                id=sid,
                learner_id=learner_id,
                lesson_id=lesson.id,
                course_id=lesson.course_id,
                started_at=started,
                ended_at=started + dt.timedelta(minutes=30),
                end_reason="ended",
                interval_s=10,
                device="d",
                user_agent="ua",
                ip="10.0.0.1",
            )
        )
    return sid


async def _case(
    ctx: Context,
    world: World,
    learner: str,
    start: dt.date,
    end: dt.date,
    state: CaseState,
    deadline: dt.datetime | None = None,
) -> None:
    async with ctx.db.begin() as s:
        s.add(
            ReviewCase(
                learner_id=world.learners[learner].id,
                org_path=world.learners[learner].org_path,
                year=start.year,
                period_start=start,
                period_end=end,
                category="behaviour",
                kind="proxy",
                risk=0.9,
                band="high",
                priority=1,
                state=state,
                appeal_deadline=deadline,
                updated_at=utcnow(),
            )
        )


async def beats_by_session(ctx: Context) -> Counter[str]:
    async with ctx.db() as s:
        return Counter((await s.scalars(select(Heartbeat.session_id))).all())


def noon(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, 12, tzinfo=dt.UTC)


async def prepare_trace(ctx: Context, world: World, now: dt.datetime) -> dict[str, str]:
    """Old and recent study of four learners, an open case, a closed one, an appealable one.

    "old" is the 11th of the month seven months back: a whole month before a 90-day cutoff.
    """
    course = await add_course(ctx, world, "RT1", "保留测试课程")
    async with ctx.db.begin() as s:
        lesson = Lesson(course_id=course.id, ordinal=1, title="第1讲", duration_seconds=2700)
        s.add(lesson)
    old = noon(month_start(now.date(), -7) + dt.timedelta(days=10))
    ancient = noon(now.date() - dt.timedelta(days=800))
    starts = {
        "cited": ("zhang", old),
        "cited_ancient": ("zhang", ancient),
        "outside_period": ("zhang", old - dt.timedelta(days=60)),
        "uncited": ("li", old),
        "closed_case": ("wang", old),
        "appealable": ("zhao", old),
        "recent": ("li", now - dt.timedelta(days=2)),
    }
    sids = {}
    for key, (who, started) in starts.items():
        sid = sids[key] = await _session(ctx, world.learners[who].id, lesson, started)
        async with ctx.db.begin() as s:
            s.add_all(beat(sid, started + dt.timedelta(seconds=10 * k), k) for k in range(1, 4))
    around_old = (old.date() - dt.timedelta(days=1), old.date() + dt.timedelta(days=1))
    await _case(ctx, world, "zhang", *around_old, CaseState.IN_REVIEW)
    await _case(
        ctx, world, "zhang", ancient.date(), ancient.date() + dt.timedelta(days=6), CaseState.NEW
    )
    await _case(ctx, world, "wang", *around_old, CaseState.NO_MISCONDUCT)
    await _case(
        ctx,
        world,
        "zhao",
        *around_old,
        CaseState.CONFIRMED_PROXY,
        deadline=now + dt.timedelta(days=5),
    )
    return sids


async def placement(engine: AsyncEngine) -> Counter[tuple[str, str]]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT tableoid::regclass::text, session_id FROM heartbeat")
        )
        return Counter((r[0], r[1]) for r in rows)


async def test_prune_drops_old_beats_and_keeps_those_cases_cite(
    ctx: Context, world: World, database_url: str
) -> None:
    now = utcnow()
    sids = await prepare_trace(ctx, world, now)
    engine = ctx.engine
    postgres = engine.dialect.name == "postgresql"
    old_month = month_start(now.date(), -7)
    month = heartbeat_partition(old_month)
    if postgres:
        # The old month has a partition of its own (as it would have had at the time).
        await ensure_partitions(engine, noon(old_month), months_ahead=0)
        assert (await placement(engine))[(month, sids["uncited"])] == 3

    done = await prune_beats(engine, now, 90, batch=2)

    kept = {sids["cited"]: 3, sids["cited_ancient"]: 3, sids["appealable"]: 3}
    assert await beats_by_session(ctx) == Counter(kept | {sids["recent"]: 3})
    assert done.kept == 9
    if postgres:
        assert month in done.dropped
        async with engine.connect() as conn:
            assert month not in {p.name for p in await list_partitions(conn)}
        # The cited beats of the dropped month now sit in the default partition.
        placed = await placement(engine)
        assert {sid: placed[("heartbeat_default", sid)] for sid in kept} == kept
        assert done.deleted == 3  # the month before had no partition: its rows deleted
    else:
        assert done.dropped == []
        assert done.deleted == 9
    again = await prune_beats(engine, now, 90)
    assert (again.dropped, again.deleted) == ([], 0)
    assert await beats_by_session(ctx) == Counter(kept | {sids["recent"]: 3})


async def test_prune_after_the_case_closes_removes_the_rest(
    ctx: Context, world: World, database_url: str
) -> None:
    now = utcnow()
    sids = await prepare_trace(ctx, world, now)
    async with ctx.db.begin() as s:
        for case in (await s.scalars(select(ReviewCase))).all():
            case.state = CaseState.NO_MISCONDUCT
    done = await prune_beats(ctx.engine, now, 90)
    assert await beats_by_session(ctx) == Counter({sids["recent"]: 3})
    assert done.kept == 0


# --- the command line --------------------------------------------------------------------


def count_beats(url: str) -> int:
    async def run() -> int:
        engine = create_engine(url)
        async with engine.connect() as conn:
            n = await conn.scalar(select(func.count()).select_from(Heartbeat))
        await engine.dispose()
        return int(n or 0)

    return asyncio.run(run())


def add_old_beat(url: str) -> None:
    async def run() -> None:
        engine = create_engine(url)
        async with engine.begin() as conn:
            row = beat("cli-session", utcnow() - dt.timedelta(days=400), 1)
            values = {c.key: getattr(row, c.key) for c in Heartbeat.__table__.columns}
            del values["id"]
            await conn.execute(Heartbeat.__table__.insert(), [values])
        await engine.dispose()

    asyncio.run(run())


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["db", "prune-beats", "--keep-days", "0"], "保留天数须为正整数"),
        (["db", "prune-beats", "--keep-days", "-3"], "保留天数须为正整数"),
        (["db", "prune-beats", "--keep-days", "ninety"], "ninety"),
        (["db", "prune-beats"], "--keep-days"),
        (["db", "prune-beats", "--keep-days", "90", "--batch", "0"], "每批删除行数"),
        (["db", "partitions", "--months-ahead", "-1"], "0 到 24"),
    ],
)
def test_cli_refuses_bad_input_and_changes_nothing(
    database_url: str, args: list[str], message: str
) -> None:
    add_old_beat(database_url)
    result = CliRunner().invoke(main, args, env={"PROCTOR_DATABASE_URL": database_url})
    assert result.exit_code != 0
    assert message in result.output
    assert count_beats(database_url) == 1


def test_cli_prunes_and_creates_partitions(database_url: str) -> None:
    add_old_beat(database_url)
    env = {"PROCTOR_DATABASE_URL": database_url}
    result = CliRunner().invoke(main, ["db", "prune-beats", "--keep-days", "90"], env=env)
    assert result.exit_code == 0, result.output
    assert "已清理" in result.output
    assert count_beats(database_url) == 0
    result = CliRunner().invoke(main, ["db", "partitions", "--months-ahead", "3"], env=env)
    assert result.exit_code == 0, result.output
    if database_url.startswith("postgresql"):
        assert heartbeat_partition(month_start(utcnow().date(), 3)) in result.output
    else:
        assert "SQLite" in result.output
