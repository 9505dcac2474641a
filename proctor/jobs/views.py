"""The admin page's view of the jobs: each job's schedule and latest run, and recent runs.
Jobs work on the whole province, so only a province administrator sees them."""

from __future__ import annotations

from dataclasses import dataclass

from models import JobRun, Role
from proctor.jobs import runs
from proctor.jobs.schedule import Job
from proctor.kernel.authz import Actor
from proctor.kernel.context import Context
from proctor.kernel.errors import Forbidden

STATE_NAMES = {"running": "运行中", "ok": "成功", "failed": "失败", "skipped": "跳过"}


@dataclass(frozen=True)
class JobLine:
    name: str
    title: str
    schedule: str
    last: JobRun | None


def is_province_admin(actor: Actor) -> bool:
    """The academy administrator, or an org administrator of a root of the tree."""
    province = actor.org_path.count("/") == 2  # "/1/"
    return actor.role is Role.ACADEMY_ADMIN or (actor.role is Role.ORG_ADMIN and province)


def require_province_admin(actor: Actor) -> None:
    """Refuse anyone but a province administrator."""
    if not is_province_admin(actor):
        raise Forbidden("仅省级管理员可查看定时任务")


async def overview(
    ctx: Context, actor: Actor, jobs: list[Job], limit: int = 100
) -> tuple[list[JobLine], list[JobRun]]:
    """Each configured job with its latest run, and the latest runs of all jobs."""
    require_province_admin(actor)
    latest = await runs.recent(ctx, limit)
    lines = [
        JobLine(
            job.name,
            job.title,
            job.when.describe(),
            next((r for r in latest if r.job == job.name), None),
        )
        for job in jobs
    ]
    return lines, latest
