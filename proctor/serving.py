"""Running the web application: one process, or several sharing the port.

With ``--workers N`` a small supervisor starts N server processes that bind the same port
with SO_REUSEPORT (the kernel spreads connections over them). Each has its own evidence
writer (a consumer of the shared Redis streams), reaper and sweep; everything they share
lives in Redis and the database, and every job that must happen once is a compare-and-set
there. The embedded hot state lives in one process's memory, so several workers need Redis.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import shutil
import signal
import tempfile
import time
from collections.abc import Iterator
from multiprocessing.process import BaseProcess
from pathlib import Path
from types import FrameType

import click
from aiohttp import web

from proctor.kernel.metrics import MULTIPROC_ENV, worker_exited
from proctor.kernel.settings import Settings

log = logging.getLogger(__name__)

# A worker that dies this soon after its start is not restarted (a configuration error).
MIN_UPTIME_S = 5.0


def run_worker(settings: Settings, host: str, port: int, reuse_port: bool, banner: bool) -> None:
    """One server process (the child's entry point)."""
    from proctor.kernel import logs
    from proctor.web.app import create_app

    logs.configure()
    web.run_app(
        create_app(settings, jobs=settings.jobs_enabled),
        host=host,
        port=port,
        reuse_port=reuse_port,
        access_log=None,  # proctor.web.access logs each request as JSON
        print=(lambda _msg: click.echo(f"proctor 已启动：http://{host}:{port}/"))
        if banner
        else None,
    )


def serve(settings: Settings, host: str, port: int, workers: int) -> None:
    """Serve with one process, or supervise ``workers`` processes on the same port."""
    if workers <= 1:
        run_worker(settings, host, port, reuse_port=False, banner=True)
        return
    if not settings.redis_url:
        raise click.ClickException(
            "多个工作进程须共用 Redis 热状态：请设置 PROCTOR_REDIS_URL（内置热状态只在单个进程内）"
        )
    from proctor.kernel import logs

    logs.configure()  # the supervisor's own lines (a worker restarted) are JSON too
    Supervisor(settings, host, port, workers).run()


@contextlib.contextmanager
def metrics_folder() -> Iterator[Path]:
    """The folder where the workers keep their metric values (prometheus-client multiprocess
    mode), so that a scrape answered by any worker counts all of them.

    An operator's PROMETHEUS_MULTIPROC_DIR is used (and emptied: values of a previous run
    would be counted again); else a private temporary folder, removed at the end. Set before
    the workers start: they read it when they first import prometheus-client.
    """
    given = os.environ.get(MULTIPROC_ENV)
    folder = Path(given) if given else Path(tempfile.mkdtemp(prefix="proctor-metrics-"))
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("*.db"):
        stale.unlink()
    os.environ[MULTIPROC_ENV] = str(folder)
    try:
        yield folder
    finally:
        if not given:
            shutil.rmtree(folder, ignore_errors=True)


class Supervisor:
    """Starts the workers, restarts one that dies, stops them all on SIGTERM or SIGINT."""

    def __init__(self, settings: Settings, host: str, port: int, workers: int) -> None:
        self.settings = settings
        self.host = host
        self.port = port
        self.workers = workers
        self._ctx = multiprocessing.get_context("spawn")
        self._procs: dict[int, tuple[BaseProcess, float]] = {}
        self._stopping = False

    def _start(self, slot: int) -> None:
        proc = self._ctx.Process(
            target=run_worker,
            args=(self.settings, self.host, self.port, True, False),
            name=f"proctor-worker-{slot}",
        )
        proc.start()
        self._procs[slot] = (proc, time.monotonic())

    def _stop(self, signum: int, _frame: FrameType | None) -> None:
        self._stopping = True
        for proc, _ in self._procs.values():
            if proc.pid is not None and proc.is_alive():
                # Each worker shuts down gracefully: last flush, then exit.
                os.kill(proc.pid, signal.SIGTERM)

    def run(self) -> None:
        """Supervise until stopped; returns when every worker has exited."""
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)
        with metrics_folder():
            self._supervise()

    def _supervise(self) -> None:
        for slot in range(self.workers):
            self._start(slot)
        click.echo(
            f"proctor 已启动：http://{self.host}:{self.port}/（{self.workers} 个工作进程，"
            f"主进程 {os.getpid()}）"
        )
        while self._procs:
            time.sleep(0.2)
            for slot, (proc, started) in list(self._procs.items()):
                if proc.is_alive():
                    continue
                del self._procs[slot]
                if proc.pid is not None:
                    worker_exited(proc.pid)
                if self._stopping:
                    continue
                if time.monotonic() - started < MIN_UPTIME_S:
                    log.error("worker %d exited at start (code %s); stopping", slot, proc.exitcode)
                    self._stop(signal.SIGTERM, None)
                    continue
                log.error("worker %d exited (code %s); restarting it", slot, proc.exitcode)
                self._start(slot)
