"""The scheduler loop each server process runs: every tick, each job's current slot is
offered to SQL, and the one process whose claim wins runs it (proctor/jobs/runs.py).

A process remembers the slots it saw taken, so between slots a tick costs no query.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import os
import socket
import time
from collections.abc import Sequence

from proctor.jobs import runs
from proctor.jobs.schedule import Every, Job, backoff_s
from proctor.kernel.context import Context
from proctor.kernel.logs import REQUEST_ID
from proctor.kernel.metrics import JOB_RUNS, JOB_SECONDS

log = logging.getLogger("proctor.jobs")


class Scheduler:
    """Runs each job's slots once across every process sharing the database."""

    def __init__(self, ctx: Context, jobs: Sequence[Job]) -> None:
        self.ctx = ctx
        self.jobs = list(jobs)
        self.runner = f"{socket.gethostname()[:60]}:{os.getpid()}"
        # job -> (slot, when to ask SQL again about it; None: never)
        self._seen: dict[str, tuple[dt.datetime, dt.datetime | None]] = {}
        self._fresh: set[str] = set()  # daily jobs known to have run before
        self._stopping = asyncio.Event()

    async def run_forever(self) -> None:
        """Tick until stopped (or cancelled); a tick that fails is logged and the next one
        tried."""
        while not self._stopping.is_set():
            try:
                await self.tick(dt.datetime.now(dt.UTC))
            except Exception:
                log.exception("job scheduler tick failed; retried next tick")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.tick_s)

    def stop(self) -> None:
        """Start no new run; :meth:`run_forever` returns once the one in hand is recorded
        and logged. A shutdown that cancelled it instead would leave a slot that ran but
        was never logged, or one still "running" until another process takes it over."""
        self._stopping.set()

    @property
    def tick_s(self) -> float:
        """The configured tick, or the shortest interval job's, whichever is shorter."""
        shortest = [j.when.seconds for j in self.jobs if isinstance(j.when, Every)]
        return min([self.ctx.settings.jobs_tick_s, *shortest])

    async def tick(self, now: dt.datetime) -> list[str]:
        """Offer each job's current slot; run those this process wins. Returns their names."""
        ran = []
        for job in self.jobs:
            if self._stopping.is_set():
                break
            slot = job.when.slot(now)
            seen = self._seen.get(job.name)
            if seen is not None and seen[0] == slot and (seen[1] is None or now < seen[1]):
                continue
            if await self._offer(job, slot, now):
                ran.append(job.name)
        return ran

    async def _offer(self, job: Job, slot: dt.datetime, now: dt.datetime) -> bool:
        state = "running"
        if not job.catches_up and job.name not in self._fresh:
            if not await runs.has_runs(self.ctx, job.name):
                state = "skipped"  # a fresh database: the first run is the next slot
            self._fresh.add(job.name)
        claim = await runs.claim(self.ctx, job.name, slot, now, self.runner, state=state)
        if not claim.attempt:
            self._seen[job.name] = (slot, claim.recheck_at)
            return False
        await self.run(job, slot, claim.attempt, now)
        return True

    async def run(self, job: Job, slot: dt.datetime, attempt: int, now: dt.datetime) -> None:
        """Run a claimed slot: log one line, count it, record it, schedule a retry."""
        REQUEST_ID.set(f"job-{job.name}-{slot:%Y%m%dT%H%M%S}")
        began = time.perf_counter()
        ok, detail = True, ""
        failed: BaseException | None = None
        try:
            detail = await job.body(self.ctx, slot)
        except Exception as exc:  # noqa: BLE001 - any failure is recorded and retried
            ok, detail, failed = False, f"{type(exc).__name__}: {exc}", exc
        seconds = time.perf_counter() - began
        # On the tick's clock (the one slots and retries are compared with), plus the run.
        finished = now + dt.timedelta(seconds=seconds)
        retry_at = None
        if not ok:
            if attempt < self.ctx.settings.job_retry_attempts:
                retry_at = finished + dt.timedelta(
                    seconds=backoff_s(self.ctx.settings.job_retry_base_s, attempt)
                )
                detail += f"（第 {attempt} 次失败，{retry_at:%H:%M:%S} UTC 重试）"
            else:
                detail += f"（第 {attempt} 次失败，不再重试）"
        await runs.finish(
            self.ctx,
            job.name,
            slot,
            ok=ok,
            detail=detail,
            now=finished,
            duration_ms=round(seconds * 1000),
            retry_at=retry_at,
        )
        self._seen[job.name] = (slot, retry_at)
        outcome = "ok" if ok else "failed"
        JOB_RUNS.labels(job.name, outcome).inc()
        JOB_SECONDS.labels(job.name).observe(seconds)
        extra = {
            "request_id": REQUEST_ID.get(),
            "job": job.name,
            "slot": slot.isoformat(),
            "outcome": outcome,
            "attempt": attempt,
            "duration_ms": round(seconds * 1000, 1),
            "detail": detail,
        }
        if ok:
            log.info("job", extra=extra)
        else:
            log.error("job", extra=extra, exc_info=failed)
        REQUEST_ID.set("")
