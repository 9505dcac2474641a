"""The outbox on SQLite and PostgreSQL: the scan, the replay against the tracker's own
coverage, the lease, retries with backoff, and the CLI."""

from __future__ import annotations

import datetime as dt
import secrets
import socket
import uuid

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select, update

from models import Heartbeat, LessonProgress, SessionSummary, StudySession, XapiOutbox, utcnow
from proctor.cli import main
from proctor.kernel.context import Context
from proctor.kernel.settings import Settings
from proctor.simulate.run import simulate
from proctor.study.runtime import make_tracker
from proctor.xapi import outbox, sources
from proctor.xapi import vocabulary as v
from proctor.xapi.coverage import replay_trace
from proctor.xapi.delivery import deliver_pending
from proctor.xapi.export import enqueue_new, enqueue_since, rules_of
from tests.factories import World, world  # noqa: F401
from tests.proctor.archive.helpers import add_course
from tests.proctor.xapi.conftest import (
    RalphLrs,
    add_exam,
    add_lessons,
    lrs_settings,
    playing,
    sit_exam,
    study,
)
from tests.proctor.xapi.ralph_models import validate
from tracker import segments as seg
from tracker.finalize import dt_to_ms
from tracker.verify import Beat


def _on(ctx: Context, endpoint: str = "http://127.0.0.1:9/xAPI", **extra: object) -> Context:
    ctx.settings = ctx.settings.model_copy(
        update={"xapi_endpoint": endpoint, "xapi_homepage": "https://academy.example.org"} | extra
    )
    return ctx


@pytest.mark.parametrize(
    ("attempts", "wait"),
    [(1, 30), (2, 60), (3, 120), (9, 3600), (50, 3600), (10_000, 3600)],
)
def test_backoff_doubles_up_to_the_cap(attempts: int, wait: float) -> None:
    assert outbox.backoff_s(attempts, 30, 3600) == wait


async def test_replay_reproduces_the_trackers_coverage_of_a_simulated_population(
    ctx: Context,
) -> None:
    """Honest learners and the simulator's cheats (seeks, fast playback, tabs in parallel,
    concurrent devices) through the real tracker: the replayed union of every registration
    is the coverage the tracker stored, completion happens where it recorded it, and every
    statement passes Ralph's strict models."""
    await simulate(ctx, seed=11, learners=16, days=3)
    _on(ctx)
    done = await enqueue_since(ctx, dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    async with ctx.db() as s:
        summaries = await s.scalar(select(func.count()).select_from(SessionSummary))
        finished = await sources.finished_sessions(
            s, dt.datetime(2026, 1, 1, tzinfo=dt.UTC), None, 100_000
        )
        assert finished == []  # all enqueued
        everything = [
            sources.Finished(r.session_id, r.learner_id, r.lesson_id, r.ended_at)
            for r in await s.scalars(select(SessionSummary))
        ]
        regs = await sources.registrations(s, everything)
        stored = {(p.learner_id, p.lesson_id): p for p in await s.scalars(select(LessonProgress))}
        statements = [r.statement for r in await s.scalars(select(XapiOutbox))]
    assert done.sessions == summaries > 30
    assert done.deferred == 0
    assert done.statements == len(statements)
    async with ctx.db() as s:
        recorded = dict(
            (
                await s.execute(
                    select(Heartbeat.evidence_id, Heartbeat.new_coverage_ms).where(
                        Heartbeat.accepted.is_(True)
                    )
                )
            ).all()
        )
    checked = completions = 0
    for key, reg in regs.items():
        rules = rules_of(ctx, reg.duration_ms)
        replayed = replay_trace(reg.sessions, reg.beats, rules, other_credits=reg.other_credits)
        # Beat by beat, the coverage the replay verified is the coverage the tracker credited.
        for beat in reg.beats:
            assert replayed.new_coverage.get(beat.evidence_id, 0) == recorded[beat.evidence_id], (
                beat
            )
        events = replayed.events
        union: seg.Segments = ()
        for start, end in events[-1].played:
            union, _ = seg.add(union, (start, end))
        progress = stored.get(key)
        assert seg.encode(union) == (progress.segments if progress else ""), key
        # Completed once where coverage crossed the line; the writer stamps completed_at with
        # the last beat of the batch that carried it, so no earlier than the replay's.
        completed = [e for e in events if e.kind == "completed"]
        completed_at = progress.completed_at if progress else None
        assert len(completed) == (completed_at is not None), key
        if completed:
            assert completed[0].at_ms <= dt_to_ms(completed_at), key  # type: ignore[arg-type]
            assert completed[0].covered_ms >= rules.threshold_ms
        checked += 1
        completions += len(completed)
    # Completions are rare in a short simulation; the LRS test completes lessons for sure.
    assert checked > 20 and completions == sum(p.completed_at is not None for p in stored.values())
    for statement in statements:
        validate(statement)
    verbs = {s["verb"]["display"]["en-US"] for s in statements}
    assert {"initialized", "played", "paused", "seeked", "terminated"} <= verbs


async def test_the_scan_enqueues_once_and_waits_for_earlier_sessions(
    ctx: Context,
    world: World,  # noqa: F811
) -> None:
    _on(ctx)
    course = await add_course(ctx, world, "XE1", "党史学习")
    (lesson,) = await add_lessons(ctx, course, [60])
    tracker = make_tracker(ctx)
    zhang = world.learners["zhang"].id
    t0 = int((utcnow() - dt.timedelta(hours=1)).timestamp() * 1000)
    # Session A is open while the learner finishes session B on another device.
    a = await tracker.start_session(
        learner_id=zhang,
        lesson_id=lesson.id,
        course_id=course.id,
        duration_ms=60_000,
        device="pc",
        user_agent="u",
        ip="127.0.0.1",
        now_ms=t0,
    )
    for seq, (t, pos) in enumerate([(1, 0), (11, 10), (21, 20)], 1):
        beat = Beat(seq, pos * 1000, 1.0, False, True, True, False, 1.0, 1, None)
        await tracker.heartbeat(
            a["session_id"], a["token"], beat, ip="127.0.0.1", now_ms=t0 + t * 1000
        )
    b = await study(tracker, zhang, lesson, playing(1, 21, 20), start_ms=t0 + 100_000, end_s=30)

    first = await enqueue_new(ctx)
    assert (first.sessions, first.deferred, first.statements) == (0, 1, 0)

    await tracker.end(a["session_id"], a["token"], now_ms=t0 + 200_000)
    second = await enqueue_new(ctx)
    assert (second.sessions, second.deferred) == (2, 0)
    async with ctx.db() as s:
        rows = list(await s.scalars(select(XapiOutbox)))
    terminated = {
        r.source_ref: r.statement
        for r in rows
        if r.statement["verb"]["id"] == v.VERBS["terminated"]
    }
    # B's statements carry the registration so far: A's 0-20 (verified before B) and its own.
    assert terminated[b]["result"]["extensions"][v.PLAYED_SEGMENTS] == "0[.]40"
    assert terminated[a["session_id"]]["result"]["extensions"][v.PLAYED_SEGMENTS] == "0[.]40"

    again = await enqueue_new(ctx)
    assert (again.sessions, again.statements) == (0, 0)
    async with ctx.db() as s:
        assert await s.scalar(select(func.count()).select_from(XapiOutbox)) == len(rows)


async def test_the_watermark_and_the_backfill(
    ctx: Context,
    world: World,  # noqa: F811
) -> None:
    _on(ctx)
    course = await add_course(ctx, world, "XE2", "廉政教育")
    (lesson,) = await add_lessons(ctx, course, [30])
    tracker = make_tracker(ctx)
    zhang = world.learners["zhang"].id
    old_start = utcnow() - dt.timedelta(days=3)
    old = await study(
        tracker,
        zhang,
        lesson,
        playing(1, 11, 0),
        start_ms=int(old_start.timestamp() * 1000),
        end_s=15,
    )
    # The regular scan looks back a day from the newest enqueued record (or from now).
    assert (await enqueue_new(ctx)).sessions == 0
    assert (await enqueue_since(ctx, old_start - dt.timedelta(hours=1))).sessions == 1
    recent = await study(
        tracker,
        zhang,
        lesson,
        playing(1, 11, 10),
        start_ms=int((utcnow() - dt.timedelta(minutes=5)).timestamp() * 1000),
        end_s=15,
    )
    assert (await enqueue_new(ctx)).sessions == 1
    async with ctx.db() as s:
        refs = {r.source_ref for r in await s.scalars(select(XapiOutbox))}
        assert await s.scalar(select(func.count()).select_from(StudySession)) == 2
    assert refs == {old, recent}


async def test_take_holds_statements_for_one_sender_until_the_lease_ends(
    ctx: Context,
    world: World,  # noqa: F811
) -> None:
    _on(ctx)
    course = await add_course(ctx, world, "XE3", "保密教育")
    exam = await add_exam(ctx, course.id)
    await sit_exam(ctx, "zhang", exam.id, right=6)
    await sit_exam(ctx, "li", exam.id, right=2)
    await enqueue_new(ctx)
    now = utcnow()
    async with ctx.db.begin() as s:
        first = await outbox.take(s, now, 10, lease_s=60)
    async with ctx.db.begin() as s:
        second = await outbox.take(s, now, 10, lease_s=60)
    async with ctx.db.begin() as s:
        after_lease = await outbox.take(s, now + dt.timedelta(seconds=61), 10, lease_s=60)
    assert len(first) == 2 and second == []
    assert {t.id for t in after_lease} == {t.id for t in first}


async def test_failed_deliveries_back_off_and_recover(
    ctx: Context,
    world: World,  # noqa: F811
    ralph: RalphLrs,
) -> None:
    home = f"https://academy-{secrets.token_hex(4)}.example.org"
    course = await add_course(ctx, world, "XE4", "网络安全")
    exam = await add_exam(ctx, course.id)
    await sit_exam(ctx, "zhang", exam.id, right=9)
    await sit_exam(ctx, "li", exam.id, right=1)

    async def state() -> list[tuple[int, float, str, bool]]:
        async with ctx.db() as s:
            rows = list(await s.scalars(select(XapiOutbox).order_by(XapiOutbox.id)))
        now = utcnow()
        return [
            (
                r.attempts,
                round((r.next_attempt_at - now).total_seconds()),
                r.last_error,
                r.sent_at is not None,
            )
            for r in rows
        ]

    async def due_now() -> None:
        async with ctx.db.begin() as s:
            await s.execute(
                update(XapiOutbox).values(next_attempt_at=utcnow() - dt.timedelta(seconds=1))
            )

    # Nothing listens on the port: not acknowledged, tried again after 30 s, then 60 s.
    lrs_settings(ctx, ralph, home, xapi_endpoint=f"http://127.0.0.1:{_closed_port()}/xAPI")
    assert await deliver_pending(ctx, 100) == 0
    rows = await state()
    assert len(rows) == 2
    assert all(
        a == 1 and 28 <= wait <= 30 and "Connect" in err and not sent for a, wait, err, sent in rows
    )
    assert await deliver_pending(ctx, 100) == 0  # not due yet: not tried
    assert [r[0] for r in await state()] == [1, 1]
    await due_now()
    assert await deliver_pending(ctx, 100) == 0
    assert all(a == 2 and 58 <= wait <= 60 for a, wait, _, _ in await state())

    # Wrong credentials: the LRS refuses, the statements wait again.
    lrs_settings(ctx, ralph, home, xapi_secret="wrong")
    await due_now()
    assert await deliver_pending(ctx, 100) == 0
    assert all(a == 3 and "HTTP 401" in err for a, _, err, _ in await state())

    lrs_settings(ctx, ralph, home)
    await due_now()
    assert await deliver_pending(ctx, 100) == 2
    assert all(a == 4 and err == "" and sent for a, _, err, sent in await state())
    assert len(ralph.statements(home)) == 2


async def test_sent_statements_are_deleted_after_the_kept_days(ctx: Context) -> None:
    _on(ctx, f"http://127.0.0.1:{_closed_port()}/xAPI", xapi_keep_days=30)
    now = utcnow()
    old, recent = now - dt.timedelta(days=31), now - dt.timedelta(days=29)
    items = [
        outbox.Queued({"id": str(uuid.uuid4()), "n": n}, "exam", str(n), at)
        for n, at in enumerate([old, old, recent])
    ]
    async with ctx.db.begin() as s:
        await outbox.enqueue(s, items, now)
        taken = await outbox.take(s, now, 10, lease_s=60)
        # The first old one and the recent one were acknowledged; the second old one was not.
        await outbox.mark_sent(s, [taken[0].id, taken[2].id], now)
    await deliver_pending(ctx, 10)
    async with ctx.db() as s:
        left = {r.source_ref: r.sent_at is not None for r in await s.scalars(select(XapiOutbox))}
    assert left == {"1": False, "2": True}


async def test_off_by_default_nothing_is_enqueued(
    ctx: Context,
    world: World,  # noqa: F811
) -> None:
    course = await add_course(ctx, world, "XE5", "统计法")
    exam = await add_exam(ctx, course.id)
    await sit_exam(ctx, "zhang", exam.id, right=9)
    assert not ctx.settings.xapi_endpoint
    assert await deliver_pending(ctx, 100) == 0
    async with ctx.db() as s:
        assert await s.scalar(select(func.count()).select_from(XapiOutbox)) == 0


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_cli(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROCTOR_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("PROCTOR_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("PROCTOR_SECRET_KEY", settings.secret_key)
    runner = CliRunner()
    off = runner.invoke(main, ["xapi", "send"])
    assert off.exit_code != 0 and "PROCTOR_XAPI_ENDPOINT" in off.output
    monkeypatch.setenv("PROCTOR_XAPI_ENDPOINT", f"http://127.0.0.1:{_closed_port()}/xAPI")
    monkeypatch.setenv("PROCTOR_XAPI_HOMEPAGE", "https://academy.example.org")
    bad = runner.invoke(main, ["xapi", "export", "--since", "2026-13-01"])
    assert bad.exit_code != 0 and "YYYY-MM-DD" in bad.output
    ok = runner.invoke(main, ["xapi", "export", "--since", "2026-01-01"])
    assert ok.exit_code == 0, ok.output
    assert "0 条记录" in ok.output
    sent = runner.invoke(main, ["xapi", "send"])
    assert sent.exit_code == 0, sent.output
    assert "本次送达 0 条" in sent.output and "待发送 0 条" in sent.output
