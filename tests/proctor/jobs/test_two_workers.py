"""`proctor serve --workers 2` as deployed (PostgreSQL, Redis): every slot of a scheduled job
runs in one worker only, and /metrics answered by either worker counts both."""

from __future__ import annotations

import asyncio
import json
import signal
from pathlib import Path

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from models import JobRun
from proctor.kernel.context import Context
from proctor.kernel.settings import Settings
from tests.faults.harness import Server, kill_all, server_env
from tests.tracker.conftest import REDIS_URL, drop_prefix, redis_or_skip


async def job_runs_total(url: str) -> float:
    async with aiohttp.ClientSession() as http, http.get(url + "/metrics") as resp:
        assert resp.status == 200
        text = await resp.text()
    return sum(
        s.value
        for f in text_string_to_metric_families(text)
        for s in f.samples
        if s.name == "proctor_job_runs_total" and s.labels.get("job") == "sweep"
    )


async def runners(ctx: Context, *, all_rows: bool = False) -> list[str]:
    async with ctx.db() as s:
        names = list(await s.scalars(select(JobRun.runner).where(JobRun.job == "sweep")))
    return names if all_rows else sorted(set(names))


async def test_each_slot_runs_in_one_of_two_workers(
    ctx: Context, settings: Settings, tmp_path: Path
) -> None:
    if not settings.database_url.startswith("postgresql"):
        pytest.skip("several workers share PostgreSQL and Redis in production")
    client = await redis_or_skip()
    prefix = f"jobs:{tmp_path.name}:"
    env = server_env(
        settings.database_url,
        tmp_path / "data",
        PROCTOR_REDIS_URL=REDIS_URL,
        PROCTOR_REDIS_PREFIX=prefix,
        PROCTOR_SWEEP_INTERVAL_S="1",
        PROCTOR_JOBS_TICK_S="0.2",
        # Only the sweep: the daily jobs and the exam scan are switched off.
        PROCTOR_JOB_DETECT_AT="",
        PROCTOR_JOB_REPORTS_AT="",
        PROCTOR_JOB_PARTITIONS_AT="",
        PROCTOR_JOB_REMINDERS_AT="",
        PROCTOR_JOB_EXAMS_EVERY_MINUTES="0",
    )
    log = tmp_path / "server.log"
    server = Server(env, log, workers=2)
    try:
        await server.start()
        # The second worker may boot seconds after the first on a busy machine (CI runs two
        # test processes on two cores): wait until both have taken a slot, not a fixed time.
        for _ in range(60):
            await asyncio.sleep(1)
            if len(await runners(ctx)) == 2 and len(await runners(ctx, all_rows=True)) >= 3:
                break
        # Scrapes land on either worker (the port is shared): each sums both workers.
        totals = [await job_runs_total(server.url) for _ in range(6)]
        assert server.proc is not None
        server.proc.send_signal(signal.SIGTERM)
        server.proc.wait(30)
    finally:
        kill_all()
        await drop_prefix(client, prefix)
        await client.aclose()
    async with ctx.db() as s:
        rows = list(await s.scalars(select(JobRun).where(JobRun.job == "sweep")))
    assert len(rows) >= 3
    assert {r.state for r in rows} == {"ok"}
    lines = [json.loads(x) for x in log.read_text().splitlines() if x.startswith("{")]
    runs = [x for x in lines if x.get("msg") == "job" and x.get("job") == "sweep"]
    slots = [x["slot"] for x in runs]
    assert len(slots) == len(set(slots)) == len(rows)  # each slot's sweep ran once
    assert len({r.runner for r in rows}) == 2  # and both workers took slots
    assert max(totals) <= len(rows) and min(totals) >= 3
    assert all(x["request_id"].startswith("job-sweep-") for x in runs)
