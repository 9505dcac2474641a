"""Scheduled jobs: slots, once across processes, retries with backoff, the admin page."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
from typing import Any

import pytest
from sqlalchemy import select

from models import JobRun
from proctor.jobs import registry
from proctor.jobs.runner import Scheduler
from proctor.jobs.schedule import Daily, Every, Job
from proctor.kernel.context import Context, open_context
from proctor.kernel.logs import JsonFormatter
from proctor.web.app import create_app
from tests.factories import World, login
from tracker.web.keys import TRACKER

UTC = dt.UTC


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def test_slots_are_the_latest_scheduled_moment() -> None:
    daily = Daily("02:00")  # academy time, UTC+8
    assert daily.slot(at("2026-03-10T18:00:00+00:00")) == at("2026-03-10T18:00:00+00:00")
    assert daily.slot(at("2026-03-10T17:59:59+00:00")) == at("2026-03-09T18:00:00+00:00")
    assert daily.slot(at("2026-03-11T03:00:00+00:00")) == at("2026-03-10T18:00:00+00:00")
    every = Every(300)
    assert every.slot(at("2026-03-10T10:07:31+00:00")) == at("2026-03-10T10:05:00+00:00")
    assert daily.describe() == "每天 02:00（北京时间）" and every.describe() == "每 5 分钟"


def counting_job(calls: list[str], name: str = "count", *, fail: int = 0, every: int = 60) -> Job:
    async def body(ctx: Context, slot: dt.datetime) -> str:
        calls.append(slot.isoformat())
        await asyncio.sleep(0.05)  # both processes are inside tick at once
        if len(calls) <= fail:
            raise RuntimeError("数据库暂不可用")
        return f"第 {len(calls)} 次"

    return Job(name, "测试任务", Every(every), body)


async def rows(ctx: Context) -> list[JobRun]:
    async with ctx.db() as s:
        return list(await s.scalars(select(JobRun).order_by(JobRun.slot)))


async def test_a_slot_runs_once_across_two_app_instances(ctx: Context) -> None:
    """Two processes' schedulers on one database: each slot's body runs once."""
    other = open_context(ctx.settings)
    calls: list[str] = []
    job = counting_job(calls)
    first, second = Scheduler(ctx, [job]), Scheduler(other, [job])
    try:
        now = at("2026-03-10T10:00:30+00:00")
        ran = await asyncio.gather(first.tick(now), second.tick(now))
        assert sorted(len(r) for r in ran) == [0, 1]
        # Later ticks in the same slot cost nothing and run nothing.
        assert await first.tick(now + dt.timedelta(seconds=20)) == []
        assert await second.tick(now + dt.timedelta(seconds=20)) == []
        next_slot = now + dt.timedelta(minutes=1)
        await asyncio.gather(first.tick(next_slot), second.tick(next_slot))
    finally:
        await other.close()
    assert calls == ["2026-03-10T10:00:00+00:00", "2026-03-10T10:01:00+00:00"]
    done = await rows(ctx)
    assert [(r.state, r.attempts, r.detail) for r in done] == [
        ("ok", 1, "第 1 次"),
        ("ok", 1, "第 2 次"),
    ]


async def test_a_stopping_worker_finishes_records_and_logs_the_run_in_hand(
    ctx: Context, caplog: pytest.LogCaptureFixture
) -> None:
    """Shutdown (SIGTERM) asks the scheduler to stop while a run is in its body: the run
    finishes, its row says ok and its log line is written; no new run starts after."""
    started, release = asyncio.Event(), asyncio.Event()
    calls: list[str] = []

    async def body(_: Context, slot: dt.datetime) -> str:
        calls.append(slot.isoformat())
        started.set()
        await release.wait()
        return "done"

    scheduler = Scheduler(ctx, [Job("slow", "测试任务", Every(1), body)])
    caplog.set_level(logging.INFO, logger="proctor.jobs")
    task = asyncio.create_task(scheduler.run_forever())
    await asyncio.wait_for(started.wait(), 10)
    scheduler.stop()
    release.set()
    await asyncio.wait_for(task, 10)  # returns on its own: nothing cancelled
    (run,) = await rows(ctx)
    assert (run.state, run.detail) == ("ok", "done") and len(calls) == 1
    lines = [r for r in caplog.records if r.msg == "job"]
    assert len(lines) == 1 and lines[0].outcome == "ok"  # type: ignore[attr-defined]


async def test_failure_is_logged_retried_with_backoff_and_recorded(
    ctx: Context, caplog: pytest.LogCaptureFixture
) -> None:
    ctx.settings = ctx.settings.model_copy(update={"job_retry_base_s": 30, "job_retry_attempts": 3})
    calls: list[str] = []
    scheduler = Scheduler(ctx, [counting_job(calls, fail=2, every=3600)])
    now = at("2026-03-10T10:00:05+00:00")
    caplog.set_level(logging.INFO, logger="proctor.jobs")
    await scheduler.tick(now)
    (run,) = await rows(ctx)
    assert run.state == "failed" and run.attempts == 1 and "数据库暂不可用" in run.detail
    assert run.retry_at is not None
    assert 30 <= (run.retry_at - now).total_seconds() < 31
    assert await scheduler.tick(now + dt.timedelta(seconds=10)) == []  # backoff not over
    # Another process (no memory of the slot) does not run it early either.
    assert await Scheduler(ctx, scheduler.jobs).tick(now + dt.timedelta(seconds=10)) == []
    assert await scheduler.tick(now + dt.timedelta(seconds=40)) == ["count"]
    (run,) = await rows(ctx)
    assert run.state == "failed" and run.attempts == 2
    assert 100 <= (run.retry_at - now).total_seconds() < 101  # 40 s + 30 * 2
    assert await scheduler.tick(now + dt.timedelta(seconds=50)) == []
    # The retry is anyone's: here a process that never saw the slot.
    assert await Scheduler(ctx, scheduler.jobs).tick(now + dt.timedelta(seconds=101)) == ["count"]
    (run,) = await rows(ctx)
    assert (run.state, run.attempts, run.retry_at) == ("ok", 3, None)
    lines = [json.loads(JsonFormatter().format(r)) for r in caplog.records if r.msg == "job"]
    assert [(x["outcome"], x["attempt"]) for x in lines] == [
        ("failed", 1),
        ("failed", 2),
        ("ok", 3),
    ]
    assert lines[0]["level"] == "error" and "RuntimeError" in lines[0]["exc"]
    assert lines[0]["request_id"] == "job-count-20260310T100000"


async def test_daily_job_starts_at_its_next_time_on_a_fresh_database(ctx: Context) -> None:
    calls: list[str] = []

    async def body(ctx: Context, slot: dt.datetime) -> str:
        calls.append(slot.isoformat())
        return "ok"

    job = Job("daily", "每日任务", Daily("02:00"), body)
    now = at("2026-03-10T20:00:00+00:00")
    assert await Scheduler(ctx, [job]).tick(now) == []
    (skipped,) = await rows(ctx)
    assert skipped.state == "skipped"
    # A day later (and in a restarted process) the job has history: a missed slot runs late.
    later = now + dt.timedelta(days=1, hours=3)
    assert await Scheduler(ctx, [job]).tick(later) == ["daily"]
    assert calls == ["2026-03-11T18:00:00+00:00"]


async def test_the_real_jobs_run_on_an_empty_database(ctx: Context, aiohttp_client: Any) -> None:
    """Each configured body runs against the schema (nothing to do, no error)."""
    client = await aiohttp_client(create_app(ctx=ctx))
    jobs = registry.jobs(ctx, client.server.app[TRACKER])
    assert {j.name for j in jobs} == {
        "sweep",
        "detect",
        "reports",
        "partitions",
        "reminders",
        "exams",
    }
    for job in jobs:
        if job.name == "detect":
            continue  # fitting the model needs studied sessions (tests/proctor/detection)
        detail = await job.body(ctx, job.when.slot(dt.datetime.now(UTC)))
        assert detail, job.name


async def test_admin_page_for_province_administrators_only(
    ctx: Context, world: World, aiohttp_client: Any
) -> None:
    client = await aiohttp_client(create_app(ctx=ctx))
    calls: list[str] = []
    await Scheduler(ctx, [counting_job(calls, "sweep", fail=1)]).tick(dt.datetime.now(UTC))
    resp = await client.get("/admin/jobs", headers=await login(client, "academy"))
    assert resp.status == 200
    html = await resp.text()
    assert "定时任务" in html and "学习会话清扫" in html and "异常学习检测" in html
    assert 'data-state="failed"' in html and "数据库暂不可用" in html and "重试" in html
    home = await client.get("/", headers=await login(client, "academy"))
    assert 'href="/admin/jobs"' in await home.text()
    for other in ("cs_admin", "cs_reviewer", "fr_liaison", "zhang"):
        client.session.cookie_jar.clear()
        headers = await login(client, other)
        refused = await client.get("/admin/jobs", headers=headers)
        assert refused.status == 403, other
        if other != "zhang":
            assert 'href="/admin/jobs"' not in await (await client.get("/", headers=headers)).text()
        assert "仅省级管理员" in await refused.text()
