"""A real LRS on loopback (Ralph with its file-system backend), and study and exam activity
produced through the real tracker and exam service."""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from models import Course, Exam, ExamAttempt, ExamItem, ItemKind, Lesson, utcnow
from proctor.demo.review import actor_for
from proctor.exams import attempts as exams
from proctor.kernel.context import Context
from tracker.service import Tracker
from tracker.verify import Beat

REQUIRE_SERVICES = os.environ.get("PROCTOR_TEST_REQUIRE_SERVICES") == "1"


@dataclass
class RalphLrs:
    """A running Ralph LRS: its xAPI endpoint, credentials, statement file and request log."""

    endpoint: str
    key: str
    secret: str
    directory: Path
    log: Path

    def get(self, path: str) -> Any:
        """GET a resource of the LRS with the test's credentials (JSON)."""
        request = urllib.request.Request(f"{self.endpoint}/{path}")  # noqa: S310 - loopback
        request.add_header("X-Experience-API-Version", "1.0.3")
        token = base64.b64encode(f"{self.key}:{self.secret}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
        return json.loads(_open(request))

    def statements(self, home_page: str) -> list[dict[str, Any]]:
        """Every statement the LRS holds whose actor is an account on ``home_page``."""
        out: list[dict[str, Any]] = []
        page = self.get("statements?limit=10000")
        while True:
            out += page["statements"]
            more = page.get("more")
            if not more:
                break
            page = self.get(more.split("/xAPI/", 1)[1])
        return [s for s in out if s["actor"].get("account", {}).get("homePage") == home_page]

    def writes(self) -> int:
        """Statement writes (POST or PUT) the LRS has received so far, whatever it answered."""
        text = self.log.read_text(errors="replace")
        return sum(
            1
            for line in text.splitlines()
            if '"POST /xAPI/statements' in line or '"PUT /xAPI/statements' in line
        )

    def stored_lines(self) -> int:
        """Statements in the LRS's file (one JSON line each)."""
        path = self.directory / "fs_lrs.jsonl"
        return len(path.read_text().splitlines()) if path.exists() else 0


def _open(request: urllib.request.Request) -> bytes:
    # Loopback only: the test's own LRS.
    with urllib.request.urlopen(request, timeout=10) as resp:  # noqa: S310
        body: bytes = resp.read()
        return body


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def ralph(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RalphLrs]:
    """Ralph's LRS server as a subprocess on a free loopback port, basic auth from a
    generated credentials file, statements in a JSON-lines file in a temporary folder."""
    try:
        import bcrypt
        import ralph
        import uvicorn  # noqa: F401 - the server runs on it

        del ralph
    except ImportError as exc:
        if REQUIRE_SERVICES:
            pytest.fail(f"Ralph (ralph-malph[backend-fs,lrs], a dev dependency) is required: {exc}")
        pytest.skip(f"Ralph not installed: {exc}")
    home = tmp_path_factory.mktemp("ralph")
    key, secret = "proctor", secrets.token_urlsafe(16)
    hashed = bcrypt.hashpw(secret.encode(), bcrypt.gensalt(rounds=4)).decode()
    auth = home / "auth.json"
    auth.write_text(
        json.dumps(
            [
                {
                    "username": key,
                    "hash": hashed,
                    "scopes": ["all"],
                    "agent": {"mbox": "mailto:proctor-test@example.org"},
                }
            ]
        )
    )
    port = _free_port()
    env = {
        **os.environ,
        "RALPH_APP_DIR": str(home),
        "RALPH_AUTH_FILE": str(auth),
        "RALPH_RUNSERVER_BACKEND": "fs",
        "RALPH_BACKENDS__LRS__FS__DEFAULT_DIRECTORY_PATH": str(home),
        "RALPH_RUNSERVER_MAX_SEARCH_HITS_COUNT": "10000",
    }
    log = home / "ralph.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(  # noqa: S603 - our own interpreter, fixed arguments
            [
                sys.executable,
                str(Path(__file__).with_name("ralph_server.py")),
                str(port),
            ],
            cwd=home,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    lrs = RalphLrs(f"http://127.0.0.1:{port}/xAPI", key, secret, home, log)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                _open(urllib.request.Request(f"http://127.0.0.1:{port}/__heartbeat__"))
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"Ralph did not start:\n{log.read_text(errors='replace')[-3000:]}")
                time.sleep(0.2)
        yield lrs
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def lrs_settings(ctx: Context, lrs: RalphLrs, home_page: str, **extra: Any) -> Context:
    """The context with xAPI pointed at the LRS, statements naming ``home_page``."""
    ctx.settings = ctx.settings.model_copy(
        update={
            "xapi_endpoint": lrs.endpoint,
            "xapi_key": lrs.key,
            "xapi_secret": lrs.secret,
            "xapi_homepage": home_page,
            "xapi_retry_base_s": 30.0,
        }
        | extra
    )
    return ctx


# ---------------------------------------------------------------- activity


Step = tuple[float, float, str]  # seconds after the session start, position s, state


async def study(
    tracker: Tracker,
    learner_id: int,
    lesson: Lesson,
    steps: list[Step],
    *,
    start_ms: int,
    end_s: float,
) -> str:
    """A session through the real tracker: beats at the given server times and positions.

    States: "play" (visible, focused, playing), "pause", "hidden".
    """
    started = await tracker.start_session(
        learner_id=learner_id,
        lesson_id=lesson.id,
        course_id=lesson.course_id,
        duration_ms=lesson.duration_seconds * 1000,
        device="dev-xapi",
        user_agent="pytest",
        ip="127.0.0.1",
        now_ms=start_ms,
    )
    sid, token = started["session_id"], started["token"]
    for seq, (t, pos, state) in enumerate(steps, 1):
        beat = Beat(
            seq=seq,
            position_ms=int(pos * 1000),
            rate=1.0,
            paused=state == "pause",
            visible=state != "hidden",
            focused=state != "hidden",
            muted=False,
            volume=1.0,
            interactions=1,
            client_time_ms=start_ms + int(t * 1000),
        )
        await tracker.heartbeat(sid, token, beat, ip="127.0.0.1", now_ms=start_ms + int(t * 1000))
    await tracker.end(sid, token, now_ms=start_ms + int(end_s * 1000))
    return sid


def playing(start_s: float, end_s: float, from_pos: float, every: float = 10) -> list[Step]:
    """Beats every ``every`` seconds of playback from ``from_pos``."""
    steps, t, pos = [], start_s, from_pos
    while t <= end_s:
        steps.append((t, pos, "play"))
        t, pos = t + every, pos + every
    return steps


async def add_exam(ctx: Context, course_id: int, items: int = 10) -> Exam:
    """A published exam with its bank, open now."""
    now = utcnow()
    async with ctx.db.begin() as s:
        for i in range(items):
            s.add(
                ExamItem(
                    course_id=course_id,
                    kind=ItemKind.SINGLE,
                    stem=f"单选题 {i}",
                    options=[{"id": x, "text": x} for x in "ABCD"],
                    key="ABCD"[i % 4],
                )
            )
        exam = Exam(
            course_id=course_id,
            title="党章党规知识测试",
            item_count=items,
            time_limit_s=1800,
            pass_mark=60,
            attempts_allowed=2,
            bonus_credits=Decimal("0"),
            opens_at=now - dt.timedelta(hours=1),
            closes_at=now + dt.timedelta(hours=2),
        )
        s.add(exam)
    return exam


async def add_lessons(ctx: Context, course: Course, durations: list[int]) -> list[Lesson]:
    """Lessons of a course with these lengths in seconds."""
    async with ctx.db.begin() as s:
        lessons = [
            Lesson(course_id=course.id, ordinal=i + 1, title=f"第{i + 1}讲", duration_seconds=d)
            for i, d in enumerate(durations)
        ]
        s.add_all(lessons)
    return lessons


async def sit_exam(ctx: Context, username: str, exam_id: int, right: int) -> ExamAttempt:
    """An attempt through the exam service: ``right`` items answered correctly, submitted."""
    actor = await actor_for(ctx, username)
    assert actor is not None
    now = utcnow()
    view = await exams.start(
        ctx, actor, exam_id, ip="127.0.0.1", device="d", user_agent="u", now=now
    )
    async with ctx.db() as s:
        keys = {i.id: i.key for i in await s.scalars(select(ExamItem))}
    for n, slot in enumerate(view.attempt.items):
        key = keys[slot["item_id"]]
        wrong = "B" if key == "A" else "A"
        await exams.save_answer(
            ctx,
            actor,
            view.attempt.id,
            slot["item_id"],
            [key if n < right else wrong],
            10.0,
            now=now,
        )
    done = await exams.submit(ctx, actor, view.attempt.id, now=now + dt.timedelta(seconds=754))
    return done.attempt
