"""Real `proctor serve` processes, a real Redis server of the test's own, and players that
beat over HTTP as the lesson player does, counting what the servers acknowledged.

The checks compare what players were told (every 200 and its credit) with what SQL holds
once the writers have caught up and the sweeps have ended every session.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import select

from models import Heartbeat, SessionSummary, StudySession
from proctor.kernel.context import Context
from tests.factories import PASSWORD

ROOT = Path(__file__).resolve().parents[2]
INTERVAL_S = 0.5  # players beat faster than the 2 s the servers ask: more load, same rules


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def server_env(database_url: str, data_dir: Path, **extra: str) -> dict[str, str]:
    """A fast-moving configuration: short expiry and grace, no challenges, cheap hashing."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROCTOR_")}
    env.update(
        {
            "PYTHONPATH": str(ROOT),
            "PROCTOR_DATABASE_URL": database_url,
            "PROCTOR_DATA_DIR": str(data_dir),
            "PROCTOR_SECRET_KEY": "fault-test-secret-0123456789",
            "PROCTOR_ARGON2_TIME_COST": "1",
            "PROCTOR_ARGON2_MEMORY_KIB": "64",
            "PROCTOR_HEARTBEAT_INTERVAL_S": "2",
            "PROCTOR_HEARTBEAT_MAX_GAP_S": "5",
            "PROCTOR_SESSION_EXPIRE_S": "10",
            "PROCTOR_CHALLENGE_MIN_S": "86400",
            "PROCTOR_CHALLENGE_MAX_S": "86400",
            "PROCTOR_SWEEP_GRACE_S": "10",
            "PROCTOR_SWEEP_INTERVAL_S": "1",
            "PROCTOR_EVIDENCE_CLAIM_IDLE_S": "2",
        }
    )
    env.update(extra)
    return env


RUNNING: list[Server] = []


def kill_all() -> None:
    """Kill every server a test started and left running (a failed assertion, say)."""
    while RUNNING:
        server = RUNNING.pop()
        if server.proc is not None and server.proc.poll() is None:
            server.kill()


@dataclass
class Server:
    """One `proctor serve` process."""

    env: dict[str, str]
    log: Path
    port: int = field(default_factory=free_port)
    workers: int = 1
    proc: subprocess.Popen[bytes] | None = None

    async def start(self) -> Server:
        RUNNING.append(self)
        self._spawn()
        assert self.proc is not None
        await wait_healthy(self.url, self.proc, self.log)
        return self

    def _spawn(self) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(  # noqa: S603 - our own interpreter and module
                [
                    sys.executable,
                    "-m",
                    "proctor",
                    "serve",
                    "--port",
                    str(self.port),
                    "--workers",
                    str(self.workers),
                ],
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def kill(self) -> None:
        """kill -9 (every process of the server: the supervisor's workers too)."""
        assert self.proc is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self, timeout: float = 60) -> int:
        """SIGTERM and wait: the graceful shutdown with its last flush (two test processes
        share the cores, and two workers' stop once took more than 30 s)."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)


async def wait_healthy(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited: {_tail(log)}")
            with contextlib.suppress(aiohttp.ClientError, OSError):
                async with http.get(url + "/healthz") as resp:
                    if resp.status == 200:
                        return
            await asyncio.sleep(0.2)
    raise RuntimeError(f"server not healthy: {_tail(log)}")


def _tail(log: Path) -> str:
    return log.read_text()[-3000:]


@dataclass
class RedisServer:
    """A Redis server of the test's own, without persistence (as the bound assumes worst)."""

    dir: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(  # noqa: S603 - the system's redis-server
            [
                shutil.which("redis-server") or "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.dir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port)):
                return
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(10)


@contextlib.contextmanager
def redis_server(dir: Path) -> Iterator[RedisServer]:
    server = RedisServer(dir)
    server.start()
    try:
        yield server
    finally:
        if server.proc is not None and server.proc.poll() is None:
            server.kill()


@dataclass
class Ledger:
    """What the servers told the players."""

    acked: dict[tuple[str, int], float] = field(default_factory=dict)  # (sid, seq) -> credit
    learner_of: dict[str, str] = field(default_factory=dict)
    ended: set[str] = field(default_factory=set)
    refused: dict[int, int] = field(default_factory=dict)  # status -> count
    errors: int = 0


class Player:
    """A learner's player: beats with the study token and the login, resends the same beat
    after an error, starts a new session when the server no longer knows the old one."""

    def __init__(
        self, http: aiohttp.ClientSession, urls: list[str], username: str, lesson_id: int
    ) -> None:
        self.http = http
        self.urls = urls
        self.username = username
        self.lesson_id = lesson_id
        self.turn = 0
        self.auth: dict[str, str] = {}
        self.sid = ""
        self.token = ""
        self.seq = 0
        self.t0 = 0.0
        self.pending: dict[str, Any] | None = None

    def _url(self) -> str:
        # Round robin over the servers: consecutive beats reach different processes.
        self.turn += 1
        return self.urls[self.turn % len(self.urls)]

    async def login(self) -> None:
        last = ""
        for _ in range(50):
            with contextlib.suppress(aiohttp.ClientError, OSError):
                async with self.http.post(
                    self._url() + "/api/v1/login",
                    json={"username": self.username, "password": PASSWORD},
                ) as resp:
                    if resp.status == 200:
                        self.auth = {"Authorization": f"Bearer {(await resp.json())['token']}"}
                        return
                    last = f"{resp.status} {await resp.text()}"
            await asyncio.sleep(0.2)
        raise RuntimeError(f"{self.username} cannot log in: {last}")

    async def start(self, ledger: Ledger) -> bool:
        try:
            async with self.http.post(
                self._url() + "/api/v1/study/sessions",
                json={"lesson_id": self.lesson_id, "device": f"dev-{self.username}"},
                headers=self.auth,
            ) as resp:
                if resp.status != 201:
                    ledger.refused[resp.status] = ledger.refused.get(resp.status, 0) + 1
                    return False
                data = await resp.json()
        except (aiohttp.ClientError, OSError):
            ledger.errors += 1
            return False
        self.sid, self.token, self.seq = data["session_id"], data["token"], 0
        self.t0 = time.monotonic() - data["resume_at_s"]
        self.pending = None
        ledger.learner_of[self.sid] = self.username
        return True

    def _headers(self) -> dict[str, str]:
        return self.auth | {"X-Study-Token": self.token}

    async def beat(self, ledger: Ledger) -> None:
        if not self.sid and not await self.start(ledger):
            return
        if self.pending is None:
            self.seq += 1
            self.pending = {
                "seq": self.seq,
                "position": round(time.monotonic() - self.t0, 3),
                "rate": 1.0,
                "paused": False,
                "visible": True,
                "focused": True,
                "muted": False,
                "volume": 1.0,
                "interactions": 1,
            }
        try:
            async with self.http.post(
                f"{self._url()}/api/v1/track/sessions/{self.sid}/beats",
                json=self.pending,
                headers=self._headers(),
            ) as resp:
                body = await resp.json(content_type=None)
                status = resp.status
        except (TimeoutError, aiohttp.ClientError, OSError):
            ledger.errors += 1
            return  # the same beat is sent again next time
        if status == 200:
            ledger.acked[(self.sid, body["seq"])] = body["credited_s"]
            self.pending = None
            return
        ledger.refused[status] = ledger.refused.get(status, 0) + 1
        if status in (404, 409, 410):
            # The session is gone (hot state lost, expired, ended): a player starts anew.
            self.sid = ""

    async def end(self, ledger: Ledger) -> None:
        if not self.sid:
            return
        for _ in range(20):
            try:
                async with self.http.post(
                    f"{self._url()}/api/v1/track/sessions/{self.sid}/end", headers=self._headers()
                ) as resp:
                    if resp.status == 200:
                        ledger.ended.add(self.sid)
                        return
                    if resp.status in (404, 409, 410):
                        return
            except (aiohttp.ClientError, OSError):
                pass
            await asyncio.sleep(0.2)


@contextlib.asynccontextmanager
async def players(
    urls: list[str], usernames: list[str], lesson_id: int
) -> AsyncIterator[list[Player]]:
    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(timeout=timeout) as http:
        team = [Player(http, urls, u, lesson_id) for u in usernames]
        await asyncio.gather(*(p.login() for p in team))
        yield team


async def play(team: list[Player], ledger: Ledger, seconds: float) -> None:
    """Every player beats every INTERVAL_S for ``seconds``."""
    deadline = time.monotonic() + seconds

    async def run(p: Player) -> None:
        while time.monotonic() < deadline:
            await p.beat(ledger)
            await asyncio.sleep(INTERVAL_S)

    await asyncio.gather(*(run(p) for p in team))


@dataclass
class Stored:
    """What SQL holds."""

    rows: dict[tuple[str, int], list[int]]  # accepted (sid, seq) -> credited ms of each row
    sessions: list[StudySession]
    summaries: dict[str, SessionSummary]


async def stored(ctx: Context) -> Stored:
    async with ctx.db() as s:
        rows: dict[tuple[str, int], list[int]] = {}
        for sid, seq, credited in (
            await s.execute(
                select(Heartbeat.session_id, Heartbeat.seq, Heartbeat.credited_ms).where(
                    Heartbeat.accepted.is_(True)
                )
            )
        ).all():
            rows.setdefault((sid, seq), []).append(credited)
        sessions = list((await s.scalars(select(StudySession))).all())
        summaries = {x.session_id: x for x in (await s.scalars(select(SessionSummary))).all()}
    return Stored(rows, sessions, summaries)


async def settled(ctx: Context, within_s: float = 60) -> Stored:
    """Wait until every session is ended and summarised (the writers and sweeps caught up)."""
    deadline = time.monotonic() + within_s
    while True:
        now = await stored(ctx)
        if all(s.ended_at is not None and s.id in now.summaries for s in now.sessions):
            return now
        if time.monotonic() > deadline:
            open_ = [s.id for s in now.sessions if s.ended_at is None]
            unsummarised = [s.id for s in now.sessions if s.id not in now.summaries]
            raise AssertionError(f"not settled: open {open_}, unsummarised {unsummarised}")
        await asyncio.sleep(0.5)


@dataclass(frozen=True)
class Audit:
    """The comparison of what players were told with what SQL holds."""

    acked: int
    lost: int
    duplicates: int
    credit_mismatches: int
    over_wall_time: list[str]
    summary_mismatches: list[str]


def audit(ledger: Ledger, db: Stored, wall_s: float) -> Audit:
    lost = [k for k in ledger.acked if k not in db.rows]
    duplicates = sum(len(v) - 1 for v in db.rows.values())
    mismatches = sum(
        1
        for k, credit in ledger.acked.items()
        if k in db.rows and round(credit * 1000) != db.rows[k][0]
    )
    per_learner: dict[str, float] = {}
    for (sid, _), credits in db.rows.items():
        learner = ledger.learner_of.get(sid, sid)
        per_learner[learner] = per_learner.get(learner, 0) + credits[0] / 1000
    over = [u for u, credited in per_learner.items() if credited > wall_s + 1]
    summary_mismatches = []
    for session in db.sessions:
        summary = db.summaries[session.id]
        credited = sum(c[0] for (sid, _), c in db.rows.items() if sid == session.id)
        if round(summary.verified_s * 1000) != credited:
            summary_mismatches.append(session.id)
    return Audit(
        acked=len(ledger.acked),
        lost=len(lost),
        duplicates=duplicates,
        credit_mismatches=mismatches,
        over_wall_time=over,
        summary_mismatches=summary_mismatches,
    )
