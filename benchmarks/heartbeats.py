"""Heartbeat throughput of the tracker against real Redis on loopback, with a floor.

Runs two servers in child processes, one after the other, and drives each with the same
load generator (64 concurrent connections by default):

* the tracker app (real verification, Redis Lua load + compare-and-set commit, evidence
  stream, the batch writer flushing to SQL in the same process), and
* the floor: a bare aiohttp handler doing one Redis round trip.

Last line: heartbeats_per_s=N p50_ms=N p99_ms=N floor_ratio=R redis_bytes_per_session=N
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
from aiohttp import web
from redis import asyncio as aioredis

REDIS_URL = os.environ.get("PROCTOR_BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
SECRET = b"benchmark-secret"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def prepare(db_path: Path, prefix: str, players: int) -> list[tuple[str, str]]:
    """Migrate a SQLite file, add learners and a lesson, and open one session per player."""
    from models import Course, CourseKind, Learner, Lesson, OrgLevel, OrgUnit
    from models.db import create_engine, make_sessionmaker
    from tracker.hotstate.redis import RedisStore
    from tracker.service import Tracker
    from tracker.verify import Policy
    from tracker.writer import EvidenceWriter

    url = f"sqlite+aiosqlite:///{db_path}"
    engine = create_engine(url)
    db = make_sessionmaker(engine)
    async with db.begin() as s:
        org = OrgUnit(level=OrgLevel.PROVINCE, name="湖南省", code="43", path="/1/")
        s.add(org)
        await s.flush()
        course = Course(
            code="B1",
            title="基准课程",
            category_id=1,
            kind=CourseKind.REQUIRED,
            lecture_seconds=36000,
            owner_org_id=org.id,
            owner_path=org.path,
        )
        s.add(course)
        await s.flush()
        lesson = Lesson(course_id=course.id, ordinal=1, title="基准", duration_seconds=36000)
        s.add(lesson)
        learners = [
            Learner(
                name=f"学员{i}",
                id_hash=f"h{i}",
                id_cipher=b"x",
                id_masked="x",
                birth_date=dt.date(1980, 1, 1),
                gender="M",
                phone_cipher=b"x",
                phone_masked="x",
                unit_id=org.id,
                org_path=org.path,
                rank="科员",
            )
            for i in range(players)
        ]
        s.add_all(learners)
        await s.flush()
        ids = [(learner.id, lesson.id, course.id) for learner in learners]
    store = RedisStore(REDIS_URL, prefix=prefix)
    tracker = Tracker(
        store=store, db=db, writer=EvidenceWriter(store, db), policy=Policy(), secret=SECRET
    )
    now = int(time.time() * 1000)
    sessions = []
    for learner_id, lesson_id, course_id in ids:
        started = await tracker.start_session(
            learner_id=learner_id,
            lesson_id=lesson_id,
            course_id=course_id,
            duration_ms=36_000_000,
            device="bench",
            user_agent="bench",
            ip="127.0.0.1",
            now_ms=now,
        )
        sessions.append((started["session_id"], started["token"]))
    await store.close()
    await engine.dispose()
    return sessions


def serve_tracker(db_path: str, prefix: str, port: int) -> None:
    """Child process: the tracker app with its writer, on Redis and the SQLite file."""
    from models.db import create_engine, make_sessionmaker
    from tracker.hotstate.redis import RedisStore
    from tracker.service import Tracker
    from tracker.verify import Policy
    from tracker.web.app import create_app
    from tracker.writer import EvidenceWriter

    db = make_sessionmaker(create_engine(f"sqlite+aiosqlite:///{db_path}"))
    store = RedisStore(REDIS_URL, prefix=prefix)
    tracker = Tracker(
        store=store, db=db, writer=EvidenceWriter(store, db), policy=Policy(), secret=SECRET
    )
    app = create_app(tracker)
    if os.environ.get("BENCH_NO_WRITER"):
        app.cleanup_ctx.clear()
        from tracker.web.keys import TRACKER

        app[TRACKER] = tracker
    if os.environ.get("BENCH_PROFILE"):
        import cProfile

        prof = cProfile.Profile()

        async def dump(_app: web.Application) -> None:
            prof.disable()
            prof.dump_stats(os.environ["BENCH_PROFILE"])

        app.on_shutdown.append(dump)
        prof.enable()
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


def serve_floor(prefix: str, port: int) -> None:
    """Child process: the floor, one Redis round trip per request."""
    redis = aioredis.from_url(REDIS_URL)

    async def handler(request: web.Request) -> web.Response:
        await request.read()
        await redis.get(f"{prefix}floor")
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_post("/api/v1/track/sessions/{sid}/beats", handler)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


async def wait_up(port: int) -> None:
    for _ in range(200):
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.05)
    raise RuntimeError(f"server on {port} did not start")


async def load(
    port: int, sessions: list[tuple[str, str]], seconds: float
) -> tuple[int, list[float]]:
    """Each connection plays one session, beat after beat, position following its own clock."""
    latencies: list[float] = []
    count = 0
    deadline = time.perf_counter() + seconds
    connector = aiohttp.TCPConnector(limit=len(sessions))
    async with aiohttp.ClientSession(connector=connector) as http:

        async def player(sid: str, token: str) -> None:
            nonlocal count
            t0 = time.time()
            seq = 0
            while time.perf_counter() < deadline:
                seq += 1
                body = {
                    "seq": seq,
                    "position": round(time.time() - t0, 3),
                    "rate": 1.0,
                    "paused": False,
                    "visible": True,
                    "focused": True,
                    "muted": False,
                    "volume": 1.0,
                    "interactions": 1,
                    "client_time": int(time.time() * 1000),
                }
                start = time.perf_counter()
                async with http.post(
                    f"http://127.0.0.1:{port}/api/v1/track/sessions/{sid}/beats",
                    json=body,
                    headers={"X-Study-Token": token},
                ) as resp:
                    await resp.read()
                    if resp.status != 200:
                        raise RuntimeError(f"beat refused: {resp.status} {await resp.text()}")
                latencies.append((time.perf_counter() - start) * 1000)
                count += 1

        await asyncio.gather(*(player(sid, token) for sid, token in sessions))
    return count, latencies


def spawn(*args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "benchmarks.heartbeats", *args])  # noqa: S603


async def redis_bytes_per_session(prefix: str, sessions: list[tuple[str, str]]) -> int:
    redis = aioredis.from_url(REDIS_URL, decode_responses=True)
    total = 0
    for sid, _ in sessions:
        learner = sid.split("-")[0]
        total += await redis.memory_usage(f"{prefix}s:{sid}") or 0
        total += await redis.memory_usage(f"{prefix}l:{learner}") or 0
    async for key in redis.scan_iter(match=f"{prefix}*"):
        await redis.delete(key)
    await redis.aclose()
    return total // max(1, len(sessions))


async def measure(db_path: Path, players: int, seconds: float) -> None:
    prefix = f"bench:{secrets.token_hex(4)}:"
    if True:
        sessions = await prepare(db_path, prefix, players)

        port = free_port()
        floor = spawn("serve-floor", prefix, str(port))
        try:
            await wait_up(port)
            await load(port, sessions[:4], 1.0)  # warm-up
            floor_count, _ = await load(port, sessions, seconds)
        finally:
            floor.terminate()
            floor.wait()

        port = free_port()
        server = spawn("serve-tracker", str(db_path), prefix, str(port))
        try:
            await wait_up(port)
            count, lat = await load(port, sessions, seconds)
        finally:
            server.terminate()
            server.wait()
        per_session = await redis_bytes_per_session(prefix, sessions)

    rate = count / seconds
    floor_rate = floor_count / seconds
    lat.sort()
    p50 = statistics.median(lat)
    p99 = lat[int(len(lat) * 0.99) - 1]
    print(
        f"tracker: {count} beats in {seconds:.0f} s with {players} connections; floor: {floor_count} requests"
    )
    print(
        f"heartbeats_per_s={rate:.0f} p50_ms={p50:.1f} p99_ms={p99:.1f} "
        f"floor_ratio={rate / floor_rate:.2f} redis_bytes_per_session={per_session}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="cmd")
    sub.add_parser("run")
    t = sub.add_parser("serve-tracker")
    t.add_argument("db")
    t.add_argument("prefix")
    t.add_argument("port", type=int)
    f = sub.add_parser("serve-floor")
    f.add_argument("prefix")
    f.add_argument("port", type=int)
    parser.add_argument("--players", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    if args.cmd == "serve-tracker":
        serve_tracker(args.db, args.prefix, args.port)
    elif args.cmd == "serve-floor":
        serve_floor(args.prefix, args.port)
    else:
        from proctor import migrate

        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "bench.db"
            migrate.upgrade(f"sqlite+aiosqlite:///{path}")
            asyncio.run(measure(path, args.players, args.seconds))
