"""Heartbeat throughput of the path as deployed: `proctor serve` on PostgreSQL and Redis.

What it does, in order:

1. creates a fresh PostgreSQL database ``bench_<random>`` (dropped at the end), migrates it,
   and seeds a province (province > city > county > unit), N learners with learner accounts
   and one known password, and a published course with one long lesson;
2. starts ``python -m proctor serve`` as a real subprocess (every middleware, the tracker's
   writer and reaper in it) with PROCTOR_DATABASE_URL / PROCTOR_REDIS_URL / PROCTOR_PORT;
   ``--workers N`` is passed on only when the CLI offers the option (read from its --help);
3. logs every learner in through ``POST /api/v1/login`` and starts one study session each
   through ``POST /api/v1/study/sessions``, as the player page does;
4. posts beats back to back from a load generator in its own process: each connection plays
   its learners' sessions as ``proctor/web/static/player.js`` does (JSON body, the session
   cookie, ``X-Study-Token``, ``Origin``), sequence numbers 1, 2, 3... and the video position
   following the wall clock since the server started the session, so that verification
   (:mod:`tracker.verify`: credit up to server-observed elapsed time, position advance within
   elapsed time plus the lag tolerance) accepts and credits the beats however close together
   they arrive;
5. measures the floor in the same run: a bare aiohttp handler doing one Redis GET, in its own
   process (as many processes as the server's workers, sharing the port), driven by the same
   generator with the same requests.

Presence challenges are pushed out of the run (``PROCTOR_CHALLENGE_MIN_S``): a real player
answers them with a person in front of it, and a pending one would only withhold credit.

    python -m benchmarks.heartbeats                          # 1 worker, 64 connections, 10 s
    python -m benchmarks.heartbeats --workers 2 --duration 20
    python -m benchmarks.heartbeats --profile /tmp/beat.txt  # py-spy on the server, by layer

PostgreSQL: ``PROCTOR_BENCH_POSTGRES_URL`` (an existing database to connect to while creating
and dropping ``bench_*``; default the local ``postgres`` database). Redis:
``PROCTOR_BENCH_REDIS_URL`` (default ``redis://127.0.0.1:6379/14``); keys go under a random
prefix that is deleted at the end.

Last line: served_per_s=N floor_ratio=R p50_ms=N p99_ms=N workers=N redis_bytes_per_session=N
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import multiprocessing
import os
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

ROOT = Path(__file__).resolve().parent.parent
ADMIN_URL = os.environ.get(
    "PROCTOR_BENCH_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("PROCTOR_BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
PASSWORD = "Bench-Passw0rd!"  # noqa: S105 - the seeded learners' password, benchmark only
SECRET_KEY = "benchmark-secret-key-0123456789"  # noqa: S105 - a throwaway database
LESSON_SECONDS = 10 * 3600
BEAT_PATH = "/api/v1/track/sessions/{sid}/beats"


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def with_database(url: str, name: str) -> str:
    return url.rsplit("/", 1)[0] + "/" + name


# --- database --------------------------------------------------------------------------


async def create_database(name: str) -> None:
    from sqlalchemy import text

    from models.db import create_engine

    engine = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    await engine.dispose()


async def drop_database(name: str) -> None:
    from sqlalchemy import text

    from models.db import create_engine

    engine = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    await engine.dispose()


async def seed(settings: Any, learners: int) -> tuple[list[str], int]:
    """A province, learners with accounts, a published course with one lesson."""
    from models import Account, Course, CourseKind, Learner, Lesson, OrgLevel, Role
    from proctor.context import open_context
    from proctor.demo.identity import make_id_number
    from proctor.orgs.service import add_org
    from proctor.security.pii import mask_id_number, mask_phone

    ctx = open_context(settings)
    try:
        shared_hash = ctx.passwords.hash(PASSWORD)
        async with ctx.db.begin() as s:
            province = await add_org(s, None, OrgLevel.PROVINCE, "湖南省", "43")
            city = await add_org(s, province, OrgLevel.CITY, "长沙市", "4301")
            county = await add_org(s, city, OrgLevel.COUNTY, "芙蓉区", "430102")
            unit = await add_org(s, county, OrgLevel.UNIT, "芙蓉区财政局", "430102001")
            course = Course(
                code="BENCH-1",
                title="基准测试课程",
                category_id=1,
                kind=CourseKind.REQUIRED,
                lecture_seconds=LESSON_SECONDS,
                owner_org_id=province.id,
                owner_path=province.path,
            )
            s.add(course)
            await s.flush()
            lesson = Lesson(
                course_id=course.id, ordinal=1, title="基准测试", duration_seconds=LESSON_SECONDS
            )
            s.add(lesson)
            usernames = []
            for i in range(learners):
                id_number = make_id_number("430102", _birth(i), i)
                phone = f"139{i:08d}"
                learner = Learner(
                    name=f"学员{i:05d}",
                    id_hash=ctx.vault.lookup_hash(f"{id_number}#{i}"),
                    id_cipher=ctx.vault.encrypt(id_number),
                    id_masked=mask_id_number(id_number),
                    birth_date=_birth(i),
                    gender="M" if i % 2 else "F",
                    phone_cipher=ctx.vault.encrypt(phone),
                    phone_masked=mask_phone(phone),
                    unit_id=unit.id,
                    org_path=unit.path,
                    rank="科员",
                )
                s.add(learner)
                await s.flush()
                username = f"bench{i:05d}"
                s.add(
                    Account(
                        username=username,
                        display_name=learner.name,
                        password_hash=shared_hash,
                        role=Role.LEARNER,
                        org_id=unit.id,
                        learner_id=learner.id,
                        must_change_password=False,
                    )
                )
                usernames.append(username)
            await s.flush()
            return usernames, lesson.id
    finally:
        await ctx.close()


def _birth(i: int) -> Any:
    import datetime as dt

    return dt.date(1970 + i % 25, 1 + i % 12, 1 + i % 28)


# --- servers ---------------------------------------------------------------------------


def cli_supports_workers() -> bool:
    out = subprocess.run(
        [sys.executable, "-m", "proctor", "serve", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return "--workers" in out


def start_served(
    db_url: str, prefix: str, port: int, workers: int, data_dir: Path
) -> tuple[Any, int]:
    """The server subprocess, and how many worker processes it was asked to run."""
    env = os.environ | {
        "PROCTOR_DATABASE_URL": db_url,
        "PROCTOR_REDIS_URL": REDIS_URL,
        "PROCTOR_REDIS_PREFIX": prefix,
        "PROCTOR_PORT": str(port),
        "PROCTOR_DATA_DIR": str(data_dir),
        "PROCTOR_SECRET_KEY": SECRET_KEY,
        # No presence challenge within a benchmark run (see the module docstring).
        "PROCTOR_CHALLENGE_MIN_S": "86400",
        "PROCTOR_CHALLENGE_MAX_S": "86400",
    }
    cmd = [sys.executable, "-m", "proctor", "serve", "--host", "127.0.0.1", "--port", str(port)]
    if cli_supports_workers():
        cmd += ["--workers", str(workers)]
    elif workers != 1:
        log(f"`proctor serve` has no --workers option yet: serving with 1 process, not {workers}")
        workers = 1
    proc = subprocess.Popen(  # noqa: S603 - our own CLI
        cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, start_new_session=True
    )
    return proc, workers


def serve_floor(redis_url: str, prefix: str, port: int, processes: int) -> None:
    """Child process: the floor, one Redis GET per request, same route shape as a beat.

    As many processes as the server has workers share the port, so the ratio compares like
    with like.
    """
    mp = multiprocessing.get_context("spawn")
    for _ in range(processes - 1):
        mp.Process(target=_floor_process, args=(redis_url, prefix, port), daemon=True).start()
    _floor_process(redis_url, prefix, port)


def _floor_process(redis_url: str, prefix: str, port: int) -> None:
    from redis import asyncio as aioredis

    redis = aioredis.from_url(redis_url)

    async def handler(request: web.Request) -> web.Response:
        await request.read()
        await redis.get(f"{prefix}floor")
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_post(BEAT_PATH, handler)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None, reuse_port=True)


def start_floor(prefix: str, port: int, processes: int) -> Any:
    return subprocess.Popen(  # noqa: S603 - this module
        [
            sys.executable,
            "-m",
            "benchmarks.heartbeats",
            "serve-floor",
            prefix,
            str(port),
            str(processes),
        ],
        cwd=ROOT,
        start_new_session=True,
    )


def stop(proc: Any) -> None:
    """SIGTERM (the server flushes its writer on the way out), SIGKILL if it hangs."""
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


async def wait_up(port: int, path: str, proc: Any) -> None:
    async with aiohttp.ClientSession() as http:
        for _ in range(600):
            if proc.poll() is not None:
                raise RuntimeError(f"server exited with {proc.returncode} before answering")
            try:
                async with http.get(f"http://127.0.0.1:{port}{path}") as resp:
                    await resp.read()
                    return
            except aiohttp.ClientError:
                await asyncio.sleep(0.1)
    raise RuntimeError(f"server on {port} did not answer")


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its descendants so far (Linux /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


async def backend_cpu(name: str) -> dict[int, float]:
    """CPU so far of each PostgreSQL backend connected to the database (same machine)."""
    from sqlalchemy import text

    from models.db import create_engine

    engine = create_engine(ADMIN_URL)
    async with engine.connect() as conn:
        pids = (
            await conn.execute(
                text("SELECT pid FROM pg_stat_activity WHERE datname = :n"), {"n": name}
            )
        ).scalars()
        out = {int(pid): cpu_seconds(int(pid)) for pid in pids}
    await engine.dispose()
    return out


# --- players ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Player:
    """One learner's study session as the player page holds it."""

    sid: str
    token: str
    cookie: str
    started_ms: int


async def open_sessions(port: int, usernames: list[str], lesson_id: int) -> list[Player]:
    """Log every learner in and start one session each, through the API (16 at a time)."""
    base = f"http://127.0.0.1:{port}"
    sem = asyncio.Semaphore(16)

    async def one(http: aiohttp.ClientSession, username: str) -> Player:
        async with sem:
            async with http.post(
                base + "/api/v1/login", json={"username": username, "password": PASSWORD}
            ) as resp:
                body = await resp.json()
                if resp.status != 200:
                    raise RuntimeError(f"login of {username} refused: {resp.status} {body}")
                cookie = resp.cookies["proctor_session"].value
            async with http.post(
                base + "/api/v1/study/sessions",
                json={"lesson_id": lesson_id, "device": f"bench-{username}"},
                headers={"Cookie": f"proctor_session={cookie}", "Origin": base},
            ) as resp:
                started = await resp.json()
                if resp.status != 201:
                    raise RuntimeError(f"session start refused: {resp.status} {started}")
            return Player(
                started["session_id"], started["token"], cookie, int(started["server_time_ms"])
            )

    jar = aiohttp.DummyCookieJar()
    async with aiohttp.ClientSession(cookie_jar=jar) as http:
        return list(await asyncio.gather(*(one(http, u) for u in usernames)))


@dataclass
class Load:
    """What the generator saw in the measured window."""

    seconds: float = 0.0
    requests: int = 0
    statuses: collections.Counter[int] = field(default_factory=collections.Counter)
    credited: int = 0
    codes: collections.Counter[str] = field(default_factory=collections.Counter)
    latencies_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    cpu_s: float = 0.0


async def drive(
    port: int, players: list[Player], connections: int, warmup: float, duration: float
) -> Load:
    """Beats back to back on ``connections`` connections; each plays its share of players."""
    base = f"http://127.0.0.1:{port}"
    load = Load()
    seqs = dict.fromkeys((p.sid for p in players), 0)
    loop = asyncio.get_running_loop()
    t_start = loop.time() + warmup
    t_end = t_start + duration

    async def connection(http: aiohttp.ClientSession, mine: list[Player]) -> None:
        i = 0
        while loop.time() < t_end:
            p = mine[i % len(mine)]
            i += 1
            seqs[p.sid] += 1
            now = time.time()
            body = json.dumps(
                {
                    "seq": seqs[p.sid],
                    # The video has played since the server opened the session.
                    "position": round(max(0.0, now - p.started_ms / 1000), 3),
                    "rate": 1.0,
                    "paused": False,
                    "visible": True,
                    "focused": True,
                    "muted": False,
                    "volume": 1.0,
                    "interactions": 1,
                    "client_time": int(now * 1000),
                }
            )
            sent = loop.time()
            try:
                async with http.post(
                    base + BEAT_PATH.format(sid=p.sid),
                    data=body,
                    headers={
                        "Content-Type": "application/json",
                        "X-Study-Token": p.token,
                        "Cookie": f"proctor_session={p.cookie}",
                        "Origin": base,
                    },
                ) as resp:
                    raw = await resp.read()
                    status = resp.status
            except aiohttp.ClientError as exc:
                if sent >= t_start and len(load.errors) < 5:
                    load.errors.append(repr(exc))
                status, raw = 0, b""
            done = loop.time()
            if sent < t_start or done > t_end:
                continue
            load.requests += 1
            load.statuses[status] += 1
            load.latencies_ms.append((done - sent) * 1000)
            if status == 200:
                reply = json.loads(raw)
                if reply.get("credited_s", 0) > 0:
                    load.credited += 1
                load.codes.update(reply.get("codes", ()))
            elif len(load.errors) < 5:
                load.errors.append(f"{status} {raw[:200]!r}")

    shares = [players[c::connections] for c in range(connections)]
    connector = aiohttp.TCPConnector(limit=connections)
    cpu0 = time.process_time()
    async with aiohttp.ClientSession(
        connector=connector, cookie_jar=aiohttp.DummyCookieJar()
    ) as http:
        await asyncio.gather(*(connection(http, share) for share in shares if share))
    load.seconds = duration
    # CPU of the whole run (warm-up included), as the servers' CPU is read.
    load.cpu_s = time.process_time() - cpu0
    return load


def generator_main(
    out: Connection, port: int, players: list[Player], connections: int, warmup: float, d: float
) -> None:
    """The load generator's own process."""
    # A plain dict crosses the pipe: the class is not importable under the child's name.
    out.send(vars(asyncio.run(drive(port, players, connections, warmup, d))))
    out.close()


def generate(
    port: int, players: list[Player], connections: int, warmup: float, duration: float
) -> Load:
    mp = multiprocessing.get_context("spawn")
    recv, send = mp.Pipe(duplex=False)
    proc = mp.Process(
        target=generator_main, args=(send, port, players, connections, warmup, duration)
    )
    proc.start()
    load = Load(**recv.recv())
    proc.join()
    return load


# --- redis and sql after the run ---------------------------------------------------------


async def redis_bytes_per_session(prefix: str, sessions: int) -> int:
    """Memory of the live state (everything under the prefix but the evidence stream)."""
    from redis import asyncio as aioredis

    redis = aioredis.from_url(REDIS_URL)
    total = 0
    async for key in redis.scan_iter(match=f"{prefix}*", count=1000):
        if (await redis.type(key)) != b"stream":
            total += await redis.memory_usage(key, samples=0) or 0
    await redis.aclose()
    return total // max(1, sessions)


async def delete_prefix(prefix: str) -> None:
    from redis import asyncio as aioredis

    redis = aioredis.from_url(REDIS_URL)
    async for key in redis.scan_iter(match=f"{prefix}*", count=1000):
        await redis.delete(key)
    await redis.aclose()


async def heartbeat_rows(db_url: str) -> int:
    from sqlalchemy import func, select

    from models import Heartbeat
    from models.db import create_engine

    engine = create_engine(db_url)
    async with engine.connect() as conn:
        n = int(await conn.scalar(select(func.count()).select_from(Heartbeat)) or 0)
    await engine.dispose()
    return n


# --- profile -----------------------------------------------------------------------------

WRITER = "writer (evidence stream read + SQL batch)"
LOGIN = "login lookup (auth middleware: SQL join, session close)"
# Where a sampled stack belongs: the first layer one of whose markers is on the stack. A
# frame is "function (path:line)" in py-spy's raw output.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    (WRITER, ("tracker/writer.py",)),
    ("session reaper", ("reap_forever",)),
    # The middleware's session is closed (connection reset) in a shielded task of its own.
    (LOGIN, ("resolve (proctor/accounts/service.py", "AsyncSession.close")),
    ("Redis round trips (hot-state store + redis-py)", ("tracker/hotstate/", "redis/")),
    (
        "verification (tracker.verify, segments, token)",
        ("tracker/verify.py", "tracker/segments.py", "tracker/tokens.py"),
    ),
    ("JSON body read + parse", ("read_body (tracker/web", "parse_beat", "parse_body")),
    ("JSON reply", ("json_response", "_reply (tracker/service.py")),
    ("tracker service (other)", ("tracker/service.py",)),
    ("middlewares (other)", ("proctor/web/middlewares.py",)),
    ("SQL driver I/O callbacks (asyncpg)", ("asyncpg/",)),
]
# SQLAlchemy runs ORM work on a greenlet whose stack does not show its caller: such a stack
# is the writer's when it inserts, loads by key or commits, else the login lookup's (the
# only other statement a steady stream of beats runs).
WRITER_SQL = ("_bulk_insert", "Session.get ", "Session.commit", "Session.flush")
HTTP = "aiohttp HTTP + asyncio (request parsing, response write, event loop)"


def layer_of(stack: str) -> str:
    """The layer a sampled stack (";"-joined frames, process first) is charged to."""
    for name, needles in LAYERS:
        if any(needle in stack for needle in needles):
            return name
    frames = stack.split(";")[1:]
    if frames and not frames[0].startswith("_run_module_as_main") and "sqlalchemy/" in stack:
        return WRITER if any(m in stack for m in WRITER_SQL) else LOGIN
    return HTTP


def summarise_profile(raw: str) -> list[tuple[str, float]]:
    """Shares of the sampled CPU by layer, from py-spy's collapsed-stack output."""
    counts: collections.Counter[str] = collections.Counter()
    for line in raw.splitlines():
        stack, _, n = line.rpartition(" ")
        if stack and n.isdigit():
            counts[layer_of(stack)] += int(n)
    total = sum(counts.values()) or 1
    return [(name, 100 * c / total) for name, c in counts.most_common()]


def start_profiler(pid: int, seconds: float, out: Path) -> Any:
    py_spy = shutil.which("py-spy")
    if py_spy is None:
        raise SystemExit("--profile needs py-spy (pip install py-spy)")
    return subprocess.Popen(  # noqa: S603 - a profiler on our own server
        [
            py_spy,
            "record",
            "--pid",
            str(pid),
            "--subprocesses",
            "--rate",
            "200",
            "--duration",
            str(max(1, int(seconds))),
            "--format",
            "raw",
            "--output",
            str(out),
            "--nonblocking",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


# --- the run -----------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))] if ordered else 0.0


async def measure(args: argparse.Namespace) -> None:
    learners = args.learners or args.connections
    if learners < args.connections:
        raise SystemExit("--learners must be at least --connections (one session per learner)")
    name = f"bench_{secrets.token_hex(4)}"
    db_url = with_database(ADMIN_URL, name)
    prefix = f"bench:{secrets.token_hex(4)}:"
    data_dir = Path(tempfile.mkdtemp(prefix="proctor-bench-"))
    from proctor import migrate
    from proctor.settings import Settings

    server = floor = None
    try:
        log(f"database {name}: create, migrate, seed {learners} learners")
        await create_database(name)
        await asyncio.to_thread(migrate.upgrade, db_url)
        settings = Settings(database_url=db_url, data_dir=data_dir, secret_key=SECRET_KEY)
        usernames, lesson_id = await seed(settings, learners)

        port = free_port()
        server, workers = start_served(db_url, prefix, port, args.workers, data_dir)
        await wait_up(port, "/healthz", server)
        log(f"proctor serve up (pid {server.pid}); logging in and starting sessions")
        players = await open_sessions(port, usernames, lesson_id)
        profiler = None
        if args.profile:
            profiler = start_profiler(server.pid, args.warmup + args.duration, Path(args.profile))
        log(
            f"served: {args.connections} connections, {args.warmup:g} s warm-up, {args.duration:g} s"
        )
        cpu0, pg0 = cpu_seconds(server.pid), await backend_cpu(name)
        served = await asyncio.to_thread(
            generate, port, players, args.connections, args.warmup, args.duration
        )
        served_cpu = cpu_seconds(server.pid) - cpu0
        pg_cpu = sum(c - pg0.get(pid, 0.0) for pid, c in (await backend_cpu(name)).items())
        per_session = await redis_bytes_per_session(prefix, len(players))
        if profiler is not None:
            profiler.wait()
        stop(server)
        rows = await heartbeat_rows(db_url)

        port = free_port()
        floor = start_floor(prefix, port, workers)
        await wait_up(port, "/", floor)
        log("floor: same generator, same requests")
        cpu0 = cpu_seconds(floor.pid)
        floor_load = await asyncio.to_thread(
            generate, port, players, args.connections, args.warmup, args.duration
        )
        floor_cpu = cpu_seconds(floor.pid) - cpu0
    finally:
        for proc in (server, floor):
            if proc is not None:
                stop(proc)
        await delete_prefix(prefix)
        if not args.keep:
            await drop_database(name)
        shutil.rmtree(data_dir, ignore_errors=True)

    ok = served.statuses[200]
    rate = ok / served.seconds
    floor_rate = floor_load.statuses[200] / floor_load.seconds
    statuses = ", ".join(f"{k}: {v}" for k, v in sorted(served.statuses.items()))
    codes = ", ".join(f"{k}: {v}" for k, v in served.codes.most_common()) or "none"
    print(
        f"served: {served.requests} beats in {served.seconds:g} s on {args.connections} "
        f"connections, {len(players)} sessions; statuses {statuses}; reason codes {codes}"
    )
    for err in served.errors:
        print(f"  refused: {err}")
    print(
        f"floor: {floor_load.requests} requests, {floor_rate:.0f}/s, "
        f"p50 {percentile(floor_load.latencies_ms, 0.5):.1f} ms, "
        f"p99 {percentile(floor_load.latencies_ms, 0.99):.1f} ms"
    )
    wall = args.warmup + args.duration
    print(
        f"cpu (cores busy): served server {served_cpu / wall:.2f}, its PostgreSQL backends "
        f"{pg_cpu / wall:.2f}, generator "
        f"{served.cpu_s / wall:.2f}; floor server {floor_cpu / wall:.2f}, "
        f"generator {floor_load.cpu_s / wall:.2f}"
    )
    print(f"heartbeat rows written by the server's writer (warm-up included): {rows}")
    # Every row was a beat served while the server's CPU was being counted.
    per_beat_ms = 1000 * served_cpu / max(1, rows)
    print(
        f"server CPU per beat: {per_beat_ms:.2f} ms "
        f"({1000 / max(1e-9, per_beat_ms):.0f} beats/s per fully used core)"
    )
    print(f"load average at the end (other work on the machine shows here): {os.getloadavg()}")
    if args.profile:
        print(f"profile of the served process ({args.profile}), share of sampled CPU:")
        stacks = await asyncio.to_thread(Path(args.profile).read_text)
        for layer, share in summarise_profile(stacks):
            print(f"  {share:5.1f} %  {layer}")
    print(
        f"acceptance: {ok / max(1, served.requests):.3f} of beats accepted (200), "
        f"{served.credited / max(1, ok):.3f} of accepted beats credited"
    )
    print(
        f"served_per_s={rate:.0f} floor_ratio={rate / max(1e-9, floor_rate):.2f} "
        f"p50_ms={statistics.median(served.latencies_ms or [0]):.1f} "
        f"p99_ms={percentile(served.latencies_ms, 0.99):.1f} workers={workers} "
        f"redis_bytes_per_session={per_session}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workers", type=int, default=1, help="proctor serve processes")
    parser.add_argument("--connections", type=int, default=64, help="concurrent connections")
    parser.add_argument("--duration", type=float, default=10.0, help="measured seconds")
    parser.add_argument("--warmup", type=float, default=2.0, help="unmeasured seconds first")
    parser.add_argument(
        "--learners", type=int, default=0, help="learners, one session each (default: connections)"
    )
    parser.add_argument("--profile", default="", help="py-spy the server into this file")
    parser.add_argument("--keep", action="store_true", help="keep the bench_* database")
    sub = parser.add_subparsers(dest="cmd")
    floor = sub.add_parser("serve-floor")
    floor.add_argument("prefix")
    floor.add_argument("port", type=int)
    floor.add_argument("processes", type=int)
    args = parser.parse_args()
    if args.cmd == "serve-floor":
        serve_floor(REDIS_URL, args.prefix, args.port, args.processes)
        return
    if min(args.workers, args.connections, args.duration) <= 0:
        parser.error("--workers, --connections and --duration must be positive")
    asyncio.run(measure(args))


if __name__ == "__main__":
    main()
