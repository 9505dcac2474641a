"""Progress of long jobs, for the person waiting at the command line.

Services take a ``Progress`` callback and call it as they go: ``progress(stage, done,
total)`` (``total`` None when unknown). They know nothing of terminals; the command line
hands them a :class:`Reporter`, which draws a bar with counts and an ETA on a terminal
(rich) and writes a plain line now and then when the output is a file or a pipe (logs,
CI), so both say what is happening without flooding.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from types import TracebackType
from typing import IO, Any

Progress = Callable[[str, int, "int | None"], None]


def silent(stage: str, done: int, total: int | None) -> None:
    """The callback services use when none is given."""


def _eta(done: int, total: int | None, elapsed: float) -> str:
    if not total or done <= 0 or done >= total:
        return ""
    left = elapsed / done * (total - done)
    return f"，预计还需 {int(left // 60)} 分 {int(left % 60):02d} 秒"


class Reporter:
    """A progress callback that draws a bar on a terminal, or prints periodic lines.

    Use as a context manager around the work; call it like any ``Progress``.
    """

    def __init__(
        self, stream: IO[str] | None = None, *, every_s: float = 5.0, tty: bool | None = None
    ) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.tty = self.stream.isatty() if tty is None else tty
        self.every_s = every_s
        self._bar: Any = None
        self._tasks: dict[str, Any] = {}
        self._stage = ""
        self._began = time.monotonic()
        self._printed = 0.0
        self._ended = False

    def __enter__(self) -> Reporter:
        if self.tty:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self._bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                console=Console(file=self.stream),
                transient=False,
            )
            self._bar.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._bar is not None:
            self._bar.stop()

    def say(self, message: str) -> None:
        """A line about what is happening (above the bar on a terminal)."""
        if self._bar is not None:
            self._bar.console.print(message)
        else:
            self._line(message)

    def __call__(self, stage: str, done: int, total: int | None) -> None:
        if self._bar is not None:
            # "演示数据·写入学员" and "演示数据·报表数据" are steps of one bar.
            key = stage.split("·", 1)[0]
            task = self._tasks.get(key)
            if task is None:
                task = self._tasks[key] = self._bar.add_task(stage, total=total)
            self._bar.update(task, completed=done, total=total, description=stage)
            return
        now = time.monotonic()
        new = stage != self._stage
        if new:
            self._stage, self._began, self._ended = stage, now, False
        finished = total is not None and done >= total
        if self._ended or not (new or finished or now - self._printed >= self.every_s):
            return
        self._printed, self._ended = now, finished
        count = f"{done}/{total}" if total else f"{done}"
        pct = f"（{done * 100 // total}%）" if total else ""
        self._line(f"{stage}：{count}{pct}{_eta(done, total, now - self._began)}")

    def _line(self, text: str) -> None:
        self.stream.write(f"[{time.strftime('%H:%M:%S')}] {text}\n")
        self.stream.flush()
