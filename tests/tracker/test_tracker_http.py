"""The tracker over HTTP: credit only for verified attention, bad input changes nothing.

Every test runs on SQLite and PostgreSQL, with the embedded store and with real Redis.
The server clock is the test's FakeClock; client clocks are whatever the "player" claims.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from models import (
    Course,
    CourseCompletion,
    CourseKind,
    CreditEntry,
    Heartbeat,
    Lesson,
    SessionEvent,
    SessionSummary,
    StudySession,
)
from proctor.kernel.context import Context, open_context
from proctor.kernel.settings import Settings
from proctor.web.app import create_app
from tests.factories import World, login
from tests.tracker.conftest import FakeClock
from tracker.web.keys import TRACKER


@pytest.fixture
async def tctx(hot_settings: Settings) -> AsyncIterator[Context]:
    """Context with the store under test; challenges far away unless a test asks."""
    context = open_context(
        hot_settings.model_copy(update={"challenge_min_s": 3600, "challenge_max_s": 3600})
    )
    yield context
    await context.close()


@pytest.fixture
async def app_client(tctx: Context, aiohttp_client: Any, world: World) -> TestClient:
    """The real app on the store under test."""
    return await aiohttp_client(create_app(ctx=tctx))  # type: ignore[no-any-return]


@pytest.fixture
async def world(tctx: Context) -> World:  # the shared world, built in this test's database
    from tests.factories import build_world

    return await build_world(tctx)


async def add_course(
    ctx: Context, world: World, lessons: list[int], *, kind: CourseKind = CourseKind.REQUIRED
) -> list[int]:
    """A provincial course with lessons of the given durations (seconds); returns lesson ids."""
    province = world.org("湖南省")
    async with ctx.db.begin() as s:
        course = Course(
            code=f"T{len(lessons)}{sum(lessons)}",
            title="测试课程",
            category_id=1,
            kind=kind,
            lecture_seconds=sum(lessons),
            owner_org_id=province.id,
            owner_path=province.path,
        )
        s.add(course)
        await s.flush()
        rows = [
            Lesson(
                course_id=course.id,
                ordinal=i + 1,
                title=f"第{i + 1}讲",
                duration_seconds=d,
                video_url="/media/x.webm",
            )
            for i, d in enumerate(lessons)
        ]
        s.add_all(rows)
        await s.flush()
        return [r.id for r in rows]


def beat(seq: int, position: float, **kw: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "seq": seq,
        "position": position,
        "rate": 1.0,
        "paused": False,
        "visible": True,
        "focused": True,
        "muted": False,
        "volume": 0.8,
        "interactions": 2,
        "client_time": 1_790_000_000_000,
    }
    body.update(kw)
    return body


class Player:
    """A scripted client of the protocol (what a cheating tool would write, too)."""

    def __init__(self, client: TestClient, headers: dict[str, str]) -> None:
        self.client = client
        self.headers = headers
        self.sid = ""
        self.token = ""

    async def start(self, lesson_id: int, device: str = "dev-1") -> dict[str, Any]:
        resp = await self.client.post(
            "/api/v1/study/sessions",
            json={"lesson_id": lesson_id, "device": device},
            headers=self.headers,
        )
        assert resp.status == 201, await resp.text()
        data = await resp.json()
        self.sid, self.token = data["session_id"], data["token"]
        return dict(data)

    async def post(
        self, path: str, body: Any = None, *, token: str | None = None, raw: bytes | None = None
    ) -> tuple[int, dict[str, Any]]:
        headers = dict(self.headers) | {"X-Study-Token": self.token if token is None else token}
        if raw is not None:
            headers["Content-Type"] = "application/json"
            resp = await self.client.post(
                f"/api/v1/track/sessions/{self.sid}{path}", data=raw, headers=headers
            )
        else:
            resp = await self.client.post(
                f"/api/v1/track/sessions/{self.sid}{path}", json=body, headers=headers
            )
        return resp.status, await resp.json()

    async def beat(self, body: dict[str, Any], **kw: Any) -> dict[str, Any]:
        status, data = await self.post("/beats", body, **kw)
        assert status == 200, data
        return data

    async def status(self) -> dict[str, Any]:
        resp = await self.client.get(
            f"/api/v1/track/sessions/{self.sid}",
            headers=self.headers | {"X-Study-Token": self.token},
        )
        return dict(await resp.json())


async def play(
    player: Player,
    clock: FakeClock,
    seconds: int,
    *,
    start_seq: int = 1,
    start_pos: float = 0.0,
    step: int = 10,
    **kw: Any,
) -> float:
    """Play at 1x with a beat every ``step`` seconds; return total credited seconds."""
    credited = 0.0
    seq, pos = start_seq, start_pos
    await player.beat(beat(seq, pos, **kw))
    for _ in range(seconds // step):
        clock.advance(step)
        seq += 1
        pos += step
        credited += (await player.beat(beat(seq, pos, **kw)))["credited_s"]
    return credited


async def flush(client: TestClient) -> None:
    await client.server.app[TRACKER].writer.flush()


async def test_lesson_played_at_1x_is_credited_and_course_credits_post_once(
    app_client: TestClient, tctx: Context, world: World, clock: FakeClock
) -> None:
    """A 60 s lesson watched at 1x completes; the course's credits are posted exactly once."""
    (lesson,) = await add_course(tctx, world, [60])
    player = Player(app_client, await login(app_client, "zhang"))
    await player.start(lesson)
    credited = await play(player, clock, 60)
    assert credited == pytest.approx(60)
    st = await player.status()
    assert st["completed"] is True
    status, _ = await player.post("/end")
    assert status == 200
    await flush(app_client)
    learner_id = world.learners["zhang"].id
    async with tctx.db() as s:
        entries = (
            await s.scalars(select(CreditEntry).where(CreditEntry.learner_id == learner_id))
        ).all()
        assert len(entries) == 1
        assert entries[0].source.value == "attention"
        assert player.sid in entries[0].evidence["sessions"]
        assert await s.scalar(select(func.count()).select_from(CourseCompletion)) == 1
        summary = await s.get(SessionSummary, player.sid)
        assert summary is not None
        assert summary.verified_s == pytest.approx(60)
        assert summary.features["visible_frac"] == 1.0
        assert (
            await s.scalar(
                select(func.count())
                .select_from(Heartbeat)
                .where(Heartbeat.session_id == player.sid)
            )
            == 7
        )
    # Watching it again earns nothing more and posts nothing more.
    again = Player(app_client, player.headers)
    await again.start(lesson)
    clock.advance(5)
    assert await play(again, clock, 60) == 0
    await again.post("/end")
    await flush(app_client)
    async with tctx.db() as s:
        assert await s.scalar(select(func.count()).select_from(CreditEntry)) == 1


async def test_playback_rate_16_earns_nothing_beyond_wall_time(
    app_client: TestClient, tctx: Context, world: World, clock: FakeClock
) -> None:
    """Position racing at 16x is not credited; the lesson does not complete."""
    (lesson,) = await add_course(tctx, world, [600])
    player = Player(app_client, await login(app_client, "zhang"))
    await player.start(lesson)
    await player.beat(beat(1, 0, rate=16.0))
    total = 0.0
    for i in range(2, 5):
        clock.advance(10)
        reply = await player.beat(beat(i, (i - 1) * 160, rate=16.0))
        assert "rate_exceeded" in reply["codes"]
        total += reply["credited_s"]
    assert total == 0
    assert (await player.status())["completed"] is False


async def test_forged_instant_completion_gets_nothing(
    app_client: TestClient, tctx: Context, world: World, clock: FakeClock
) -> None:
    """A script posting start, then position=duration seconds later, gets no credit."""
    (lesson,) = await add_course(tctx, world, [600])
    player = Player(app_client, await login(app_client, "zhang"))
    await player.start(lesson)
    await player.beat(beat(1, 0))
    clock.advance(3)
    reply = await player.beat(beat(2, 600))
    assert reply["credited_s"] == 0
    assert reply["covered_s"] == 0
    assert "seek_forward" in reply["codes"]


async def test_scripted_beats_earn_at_most_server_time(
    app_client: TestClient, tctx: Context, world: World, clock: FakeClock
) -> None:
    """Beats sent every 2 s of server time claiming 10 s of progress earn at most 2 s each."""
    (lesson,) = await add_course(tctx, world, [600])
    player = Player(app_client, await login(app_client, "zhang"))
    await player.start(lesson)
    await player.beat(beat(1, 0, client_time=0))
    credited = 0.0
    for i in range(2, 12):
        clock.advance(2)
        credited += (await player.beat(beat(i, (i - 1) * 10, client_time=(i - 1) * 10_000)))[
            "credited_s"
        ]
    assert credited <= 20
    assert (await player.status())["covered_s"] <= 20


async def test_retry_is_idempotent_and_conflicting_reuse_refused(
    app_client: TestClient, tctx: Context, world: World, clock: FakeClock
) -> None:
    """The same beat twice is answered twice and credited once; same seq, other body: 409."""
    (lesson,) = await add_course(tctx, world, [600])
    player = Player(app_client, await login(app_client, "zhang"))
    await player.start(lesson)
    await player.beat(beat(1, 0))
    clock.advance(10)
    first = await player.beat(beat(2, 10))
    clock.advance(1)
    second = await player.beat(beat(2, 10))
    assert first["credited_s"] == second["credited_s"] == 10
    assert (await player.status())["covered_s"] == 10
    status, body = await player.post("/beats", beat(2, 11))
    assert (status, body["title"]) == (409, "seq_reused")
    status, body = await player.post("/beats", beat(1, 0))
    assert (status, body["title"]) == (409, "stale_seq")


async def test_second_concurrent_session_earns_nothing(
    app_client: TestClient, tctx: Context, world: World, clock: FakeClock
) -> None:
    """Two lessons at once: only one stream is credited, and the overlap is recorded."""
    l1, l2 = await add_course(tctx, world, [600, 600])
    headers = await login(app_client, "zhang")
    a, b = Player(app_client, headers), Player(app_client, headers)
    await a.start(l1, device="laptop")
    await b.start(l2, device="phone")
    await a.beat(beat(1, 0))
    await b.beat(beat(1, 0))
    total = 0.0
    for i in range(2, 8):
        clock.advance(10)
        ra = await a.beat(beat(i, (i - 1) * 10))
        rb = await b.beat(beat(i, (i - 1) * 10))
        total += ra["credited_s"] + rb["credited_s"]
        assert "concurrent_session" in rb["codes"]
    assert total <= 60
    await b.post("/end")
    await flush(app_client)
    async with tctx.db() as s:
        summary = await s.get(SessionSummary, b.sid)
        assert summary is not None
        assert summary.features["overlap_s"] >= 50


BAD_BODIES: list[tuple[str, bytes, int, str | None]] = [
    ("malformed JSON", b'{"seq": 2, "position":', 400, "body"),
    ("not an object", b"[1, 2]", 400, "body"),
    (
        "NaN position",
        b'{"seq":2,"position":NaN,"rate":1,"paused":false,"visible":true,"focused":true,"muted":false,"volume":1,"interactions":0}',
        400,
        "body",
    ),
    ("negative position", None, 422, "position"),
    ("huge position", None, 422, "position"),
    ("string seq", None, 422, "seq"),
    ("float seq", None, 422, "seq"),
    ("bool rate", None, 422, "rate"),
    ("zero rate", None, 422, "rate"),
    ("volume above 1", None, 422, "volume"),
    ("missing visible", None, 422, "visible"),
    ("negative interactions", None, 422, "interactions"),
    ("oversized body", None, 413, None),
]


def bad_body(name: str) -> dict[str, Any]:
    b = beat(2, 10)
    mutate = {
        "negative position": {"position": -5},
        "huge position": {"position": 1e12},
        "string seq": {"seq": "2"},
        "float seq": {"seq": 2.5},
        "bool rate": {"rate": True},
        "zero rate": {"rate": 0},
        "volume above 1": {"volume": 3},
        "negative interactions": {"interactions": -1},
        "oversized body": {"padding": "x" * 10_000},
    }
    if name == "missing visible":
        b.pop("visible")
        return b
    return b | mutate[name]


@pytest.mark.parametrize(
    ("name", "raw", "status", "field"), BAD_BODIES, ids=[b[0] for b in BAD_BODIES]
)
async def test_bad_beats_get_problem_bodies_and_change_nothing(
    app_client: TestClient,
    tctx: Context,
    world: World,
    clock: FakeClock,
    name: str,
    raw: bytes | None,
    status: int,
    field: str | None,
) -> None:
    """Each kind of bad input: a 4xx problem naming the problem, and no state change."""
    (lesson,) = await add_course(tctx, world, [600])
    player = Player(app_client, await login(app_client, "zhang"))
    await player.start(lesson)
    await player.beat(beat(1, 0))
    clock.advance(10)
    got_status, body = await player.post("/beats", None if raw else bad_body(name), raw=raw)
    assert got_status == status, body
    assert body["status"] == status
    assert body["detail"]
    if field:
        assert body.get("field") == field
    st = await player.status()
    assert (st["last_seq"], st["covered_s"]) == (1, 0)
    # The same seq still works afterwards: the bad request consumed nothing.
    assert (await player.beat(beat(2, 10)))["credited_s"] == 10


async def test_session_and_token_errors(
    app_client: TestClient, tctx: Context, world: World, clock: FakeClock
) -> None:
    """Unknown session 404, forged token 403, another learner's session 403, no token 401."""
    (lesson,) = await add_course(tctx, world, [600])
    zhang = Player(app_client, await login(app_client, "zhang"))
    await zhang.start(lesson)
    await zhang.beat(beat(1, 0))
    li = Player(app_client, await login(app_client, "li"))
    await li.start(lesson)
    clock.advance(10)
    # li posts to zhang's session with li's own token.
    li_token = li.token
    li.sid = zhang.sid
    status, body = await li.post("/beats", beat(2, 10), token=li_token)
    assert (status, body["title"]) == (403, "bad_token")
    status, body = await zhang.post("/beats", beat(2, 10), token="f" * 40)
    assert (status, body["title"]) == (403, "bad_token")
    status, body = await zhang.post("/beats", beat(2, 10), token="")
    assert status == 401
    ghost = Player(app_client, zhang.headers)
    ghost.sid, ghost.token = "1-1-" + "0" * 24, "x"
    status, body = await ghost.post("/beats", beat(2, 10))
    assert status in (403, 404)
    ghost.sid = "not-a-session"
    status, body = await ghost.post("/beats", beat(2, 10))
    assert status == 404
    assert (await zhang.status())["last_seq"] == 1


async def test_beats_after_end_and_after_expiry(
    app_client: TestClient, tctx: Context, world: World, clock: FakeClock
) -> None:
    """After an explicit end: 409. After 90 s of silence: 410, then the reaper ends it."""
    (lesson,) = await add_course(tctx, world, [600])
    player = Player(app_client, await login(app_client, "zhang"))
    await player.start(lesson)
    await player.beat(beat(1, 0))
    await player.post("/end")
    status, body = await player.post("/beats", beat(2, 10))
    assert (status, body["title"]) == (409, "session_ended")

    late = Player(app_client, player.headers)
    await late.start(lesson)
    await late.beat(beat(1, 0))
    clock.advance(120)
    status, body = await late.post("/beats", beat(2, 120))
    assert (status, body["title"]) == (410, "session_expired")
    tracker = app_client.server.app[TRACKER]
    assert await tracker.expire(clock()) >= 1
    await flush(app_client)
    async with tctx.db() as s:
        row = await s.get(StudySession, late.sid)
        assert row is not None
        assert row.end_reason == "expired"
        refused = await s.scalar(
            select(func.count())
            .select_from(Heartbeat)
            .where(Heartbeat.session_id == late.sid, Heartbeat.accepted.is_(False))
        )
        assert refused == 1  # the late beat is kept as evidence, credited nothing


async def test_presence_challenge_withholds_credit_until_answered(
    app_client: TestClient, tctx: Context, world: World, clock: FakeClock
) -> None:
    """A due challenge arrives on a beat; no credit until the right answer; the answer never leaks."""
    (lesson,) = await add_course(tctx, world, [600])
    tracker = app_client.server.app[TRACKER]
    tracker.challenges = type(tracker.challenges)(min_ms=5_000, max_ms=5_000)
    player = Player(app_client, await login(app_client, "zhang"))
    await player.start(lesson)
    await player.beat(beat(1, 0))
    clock.advance(10)
    reply = await player.beat(beat(2, 10))
    challenge = reply["challenge"]
    assert challenge is not None
    assert "answer" not in challenge
    clock.advance(10)
    pending = await player.beat(beat(3, 20))
    assert pending["credited_s"] == 0
    assert "challenge_pending" in pending["codes"]
    status, res = await player.post(
        "/challenge", {"challenge_id": challenge["id"], "answer": "not-an-option"}
    )
    assert status == 200
    assert res["correct"] is False
    new = res["challenge"]
    snap = await tracker.store.load(player.sid, world.learners["zhang"].id, lesson)
    status, res = await player.post(
        "/challenge", {"challenge_id": new["id"], "answer": snap.session.challenge.answer}
    )
    assert res["correct"] is True
    clock.advance(10)
    assert (await player.beat(beat(4, 30)))["credited_s"] == 10
    await player.post("/end")
    await flush(app_client)
    async with tctx.db() as s:
        kinds = (
            await s.scalars(select(SessionEvent.kind).where(SessionEvent.session_id == player.sid))
        ).all()
        assert (
            kinds.count("challenge_issued") >= 2
        )  # the first, and its replacement after the wrong answer
        assert kinds.count("challenge_answered") == 2


async def test_staff_and_invisible_lessons_cannot_start(
    app_client: TestClient, tctx: Context, world: World
) -> None:
    """Only learners study; an unknown lesson is 404."""
    (lesson,) = await add_course(tctx, world, [600])
    admin = await login(app_client, "fr_admin")
    resp = await app_client.post(
        "/api/v1/study/sessions", json={"lesson_id": lesson}, headers=admin
    )
    assert resp.status == 403
    zhang = await login(app_client, "zhang")
    resp = await app_client.post(
        "/api/v1/study/sessions", json={"lesson_id": 999_999}, headers=zhang
    )
    assert resp.status == 404
    resp = await app_client.post("/api/v1/study/sessions", json={"lesson_id": "x"}, headers=zhang)
    assert resp.status == 422
