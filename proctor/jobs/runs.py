"""The record of runs in SQL, and the lock: a run is the process that inserted its
(job, slot) row, or that took a failed (or abandoned) row over by compare-and-set."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import and_, delete, exists, or_, select, update
from sqlalchemy.exc import IntegrityError

from models import JobRun
from proctor.kernel.context import Context


@dataclass(frozen=True)
class Claim:
    """Outcome of trying to take a slot: ``attempt`` > 0 when this process runs it; else
    ``recheck_at`` says when the slot may become ours (a retry or takeover), if ever."""

    attempt: int = 0
    recheck_at: dt.datetime | None = None


async def has_runs(ctx: Context, job: str) -> bool:
    """Whether the job ever had a row (a fresh database has none)."""
    async with ctx.db() as s:
        return bool(await s.scalar(select(exists().where(JobRun.job == job))))


async def claim(
    ctx: Context,
    job: str,
    slot: dt.datetime,
    now: dt.datetime,
    runner: str,
    *,
    state: str = "running",
) -> Claim:
    """Take the slot for this process, once across every process."""
    try:
        async with ctx.db.begin() as s:
            s.add(
                JobRun(
                    job=job,
                    slot=slot,
                    state=state,
                    attempts=1,
                    started_at=now,
                    finished_at=now if state != "running" else None,
                    detail="" if state == "running" else "首次启动：从下一次排定时间开始",
                    runner=runner,
                )
            )
        return Claim(attempt=1 if state == "running" else 0)
    except IntegrityError:
        pass
    stale = now - dt.timedelta(minutes=ctx.settings.job_stale_minutes)
    async with ctx.db.begin() as s:
        taken = await s.execute(
            update(JobRun)
            .where(
                JobRun.job == job,
                JobRun.slot == slot,
                or_(
                    and_(JobRun.state == "failed", JobRun.retry_at <= now),
                    and_(JobRun.state == "running", JobRun.started_at < stale),
                ),
            )
            .values(
                state="running",
                attempts=JobRun.attempts + 1,
                started_at=now,
                finished_at=None,
                retry_at=None,
                runner=runner,
            )
            .returning(JobRun.attempts, JobRun.state, JobRun.retry_at)
        )
        row = taken.first()
        if row is not None:
            return Claim(attempt=int(row.attempts))
        current = (
            await s.execute(
                select(JobRun.state, JobRun.retry_at, JobRun.started_at).where(
                    JobRun.job == job, JobRun.slot == slot
                )
            )
        ).first()
    if current is None:
        return Claim(recheck_at=now)
    if current.state == "failed":
        return Claim(recheck_at=current.retry_at)
    if current.state == "running":
        return Claim(
            recheck_at=current.started_at + dt.timedelta(minutes=ctx.settings.job_stale_minutes)
        )
    return Claim()


async def finish(
    ctx: Context,
    job: str,
    slot: dt.datetime,
    *,
    ok: bool,
    detail: str,
    now: dt.datetime,
    duration_ms: int,
    retry_at: dt.datetime | None,
) -> None:
    """Record how the run ended (and when it is retried)."""
    async with ctx.db.begin() as s:
        await s.execute(
            update(JobRun)
            .where(JobRun.job == job, JobRun.slot == slot)
            .values(
                state="ok" if ok else "failed",
                finished_at=now,
                duration_ms=duration_ms,
                retry_at=retry_at,
                detail=detail[:500],
            )
        )


async def recent(ctx: Context, limit: int = 100) -> list[JobRun]:
    """The latest runs, newest first (the admin page)."""
    async with ctx.db() as s:
        return list(
            await s.scalars(
                select(JobRun).order_by(JobRun.started_at.desc(), JobRun.id.desc()).limit(limit)
            )
        )


async def prune(ctx: Context, now: dt.datetime) -> int:
    """Delete rows older than the kept days; how many."""
    cutoff = now - dt.timedelta(days=ctx.settings.job_keep_days)
    async with ctx.db.begin() as s:
        result = await s.execute(delete(JobRun).where(JobRun.slot < cutoff))
    return int(getattr(result, "rowcount", 0) or 0)
