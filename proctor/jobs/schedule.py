"""When a job is due: the slot (the scheduled moment) a run at ``now`` is for. Pure."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from proctor.kernel.calendar import ACADEMY_TZ
from proctor.kernel.context import Context

# What a run does; returns a one-line summary for the admin page and the log (no PII).
Body = Callable[[Context, dt.datetime], Awaitable[str]]


@dataclass(frozen=True)
class Daily:
    """Once a day at a time of day, academy time."""

    at: str  # "HH:MM"

    def slot(self, now: dt.datetime) -> dt.datetime:
        hour, minute = (int(p) for p in self.at.split(":"))
        local = now.astimezone(ACADEMY_TZ)
        today = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
        latest = today if today <= local else today - dt.timedelta(days=1)
        return latest.astimezone(dt.UTC)

    def describe(self) -> str:
        return f"每天 {self.at}（北京时间）"


@dataclass(frozen=True)
class Every:
    """Every so many seconds, on multiples of the interval since the epoch (so every
    process computes the same slots)."""

    seconds: float

    def slot(self, now: dt.datetime) -> dt.datetime:
        step = max(1, int(self.seconds))
        return dt.datetime.fromtimestamp(int(now.timestamp()) // step * step, dt.UTC)

    def describe(self) -> str:
        if self.seconds >= 60 and self.seconds % 60 == 0:
            return f"每 {int(self.seconds // 60)} 分钟"
        return f"每 {self.seconds:g} 秒"


@dataclass(frozen=True)
class Job:
    """A named job, its schedule and its body."""

    name: str
    title: str  # Chinese, for the admin page
    when: Daily | Every
    body: Body

    @property
    def catches_up(self) -> bool:
        """Whether a slot missed while no process ran is run late. Daily jobs do, except on a
        database that never ran the job (a fresh install does not start with a detection
        run); interval jobs simply run their current slot."""
        return isinstance(self.when, Every)


def backoff_s(base_s: float, attempts: int) -> float:
    """Seconds before retrying after the ``attempts``-th failure."""
    return float(base_s * 2 ** max(0, attempts - 1))
