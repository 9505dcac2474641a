"""Delivery to a real LRS (Ralph on loopback), on SQLite and PostgreSQL.

Study goes through the real tracker and exams through the exam service; the statements are
read back through the LRS's GET /statements and validated with Ralph's strict models. A
restart (a new context) sends nothing again; a crash between the LRS's answer and the mark
sends again without the LRS storing anything twice.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections import Counter, defaultdict
from typing import Any

from sqlalchemy import func, select, update

from models import LessonProgress, XapiOutbox, utcnow
from proctor.kernel.context import Context, open_context
from proctor.study.runtime import make_tracker
from proctor.xapi import vocabulary as v
from proctor.xapi.delivery import deliver_pending
from proctor.xapi.export import academy_of, enqueue_new
from proctor.xapi.lrs import Lrs
from tests.factories import World, world  # noqa: F401
from tests.proctor.archive.helpers import add_course
from tests.proctor.xapi.conftest import (
    RalphLrs,
    add_exam,
    add_lessons,
    lrs_settings,
    playing,
    sit_exam,
    study,
)
from tests.proctor.xapi.ralph_models import validate


def _ext(statement: dict[str, Any], name: str) -> Any:
    return statement["result"]["extensions"][name]


async def test_lrs_receives_valid_statements_once(
    ctx: Context,
    world: World,  # noqa: F811
    ralph: RalphLrs,
) -> None:
    home = f"https://academy-{secrets.token_hex(4)}.example.org"
    lrs_settings(ctx, ralph, home)
    course = await add_course(ctx, world, "XA1", "党章党规学习")
    one, two = await add_lessons(ctx, course, [60, 40])
    tracker = make_tracker(ctx)
    zhang, li = world.learners["zhang"].id, world.learners["li"].id
    base = int((utcnow() - dt.timedelta(hours=2)).timestamp() * 1000)
    # Zhang: 0-30, a pause, a seek to 45 (the player claims 30-45 were watched: they were
    # not), 45-60; then a second session fills 30-50 and completes the lesson.
    s1 = await study(
        tracker,
        zhang,
        one,
        [
            *playing(1, 31, 0),
            (41, 30, "pause"),
            (42, 45, "play"),
            (52, 55, "play"),
            (57, 60, "play"),
        ],
        start_ms=base,
        end_s=60,
    )
    s2 = await study(tracker, zhang, one, playing(1, 21, 30), start_ms=base + 600_000, end_s=25)
    # Li: a hidden tab between 10 and 20 verifies nothing there.
    s3 = await study(
        tracker,
        li,
        two,
        [*playing(1, 11, 0), (21, 20, "hidden"), *playing(31, 41, 30)],
        start_ms=base + 900_000,
        end_s=45,
    )
    await tracker.writer.flush()
    exam = await add_exam(ctx, course.id)
    await sit_exam(ctx, "zhang", exam.id, right=8)
    await sit_exam(ctx, "li", exam.id, right=3)
    writes_before = ralph.writes()

    sent = await deliver_pending(ctx, 1000)

    async with ctx.db() as s:
        rows = list(await s.scalars(select(XapiOutbox)))
    assert sent == len(rows) > 0
    assert all(r.sent_at is not None and r.outcome == "stored" for r in rows)
    got = ralph.statements(home)
    assert sorted(s["id"] for s in got) == sorted(r.statement_id for r in rows)
    for statement in got:
        validate(statement)
        assert statement["authority"]  # set by the LRS, so it did store these
    # The learner is an account on the academy's home page under a pseudonym only.
    academy = academy_of(ctx)
    names = {s["actor"]["account"]["name"] for s in got}
    assert names == {academy.pseudonym(zhang), academy.pseudonym(li)}
    assert all(set(s["actor"]) <= {"objectType", "account"} for s in got)
    for learner in world.learners.values():
        assert not any(learner.name in str(s) for s in got)

    by_session: dict[str, list[dict[str, Any]]] = defaultdict(list)
    initialized = {}
    for statement in sorted(got, key=lambda s: s["timestamp"]):
        ext = statement["context"].get("extensions", {})
        if v.SESSION_ID in ext:
            by_session[ext[v.SESSION_ID]].append(statement)
        if statement["verb"]["id"] == v.VERBS["initialized"]:
            initialized[statement["id"]] = statement
    sessions = {academy.uuid("video", sid, "initialized"): sid for sid in (s1, s2, s3)}
    assert set(by_session) == set(sessions)
    verbs = {
        sessions[k]: [s["verb"]["display"]["en-US"] for s in ss] for k, ss in by_session.items()
    }
    assert verbs[s1] == [
        "initialized",
        "played",
        "paused",
        "seeked",
        "played",
        "paused",
        "terminated",
    ]
    assert verbs[s2] == ["initialized", "played", "completed", "paused", "terminated"]
    assert verbs[s3] == ["initialized", "played", "paused", "played", "paused", "terminated"]

    def last(sid: str, verb: str) -> dict[str, Any]:
        key = academy.uuid("video", sid, "initialized")
        return [s for s in by_session[key] if s["verb"]["display"]["en-US"] == verb][-1]

    # Served coverage, not the player's claims: 30-45 was skipped by the seek.
    assert _ext(last(s1, "terminated"), v.PLAYED_SEGMENTS) == "0[.]30[,]45[.]60"
    assert _ext(last(s1, "terminated"), v.PROGRESS) == 0.75
    seek = last(s1, "seeked")["result"]["extensions"]
    assert (seek[v.TIME_FROM], seek[v.TIME_TO]) == (30.0, 45.0)
    completed = last(s2, "completed")
    assert completed["result"]["completion"] is True
    assert (
        _ext(completed, v.PROGRESS)
        == 0.916
        >= completed["context"]["extensions"][v.COMPLETION_THRESHOLD]
    )
    assert completed["result"]["duration"] == "PT55S"
    assert _ext(last(s2, "terminated"), v.PLAYED_SEGMENTS) == "0[.]30[,]45[.]60[,]30[.]50"
    assert _ext(last(s2, "terminated"), v.PROGRESS) == 1.0
    assert _ext(last(s3, "terminated"), v.PLAYED_SEGMENTS) == "0[.]10[,]20[.]40"
    assert _ext(last(s3, "terminated"), v.PROGRESS) == 0.75
    # ... and the same union the tracker stored as the learner's coverage.
    async with ctx.db() as s:
        progress = {
            (p.learner_id, p.lesson_id): p.segments for p in await s.scalars(select(LessonProgress))
        }
    assert progress == {(zhang, one.id): "0-60000", (li, two.id): "0-10000,20000-40000"}
    # One registration per learner and lesson; the session id is the initialized statement's.
    regs = {s["context"]["registration"] for k in by_session for s in by_session[k]}
    assert regs == {
        academy.uuid("registration", zhang, one.id),
        academy.uuid("registration", li, two.id),
    }
    assert all(
        s["object"]["id"].startswith(f"{home}/xapi/courses/{course.id}/lessons/")
        for s in got
        if "/lessons/" in s["object"]["id"]
    )

    results = {s["verb"]["display"]["en-US"]: s for s in got if "/exams/" in s["object"]["id"]}
    assert set(results) == {"passed", "failed"}
    assert results["passed"]["result"]["score"] == {"scaled": 0.8, "raw": 8, "min": 0, "max": 10}
    assert results["passed"]["result"]["success"] is True
    assert results["failed"]["result"]["score"]["scaled"] == 0.3
    assert results["failed"]["result"]["success"] is False
    assert results["passed"]["result"]["duration"] == "PT754S"
    assert results["passed"]["object"]["id"] == f"{home}/xapi/courses/{course.id}/exams/{exam.id}"
    assert ralph.writes() > writes_before

    # A restart: a new context finds nothing new and sends nothing.
    writes, stored = ralph.writes(), ralph.stored_lines()
    fresh = open_context(ctx.settings)
    try:
        assert await deliver_pending(fresh, 1000) == 0
    finally:
        await fresh.close()
    assert (ralph.writes(), ralph.stored_lines()) == (writes, stored)

    # A crash after the LRS answered but before the mark: sent again, stored once.
    async with ctx.db.begin() as s:
        await s.execute(
            update(XapiOutbox)
            .where(XapiOutbox.id.in_([r.id for r in rows[:3]]))
            .values(sent_at=None, outcome=None, next_attempt_at=utcnow() - dt.timedelta(seconds=1))
        )
    assert await deliver_pending(ctx, 1000) == 3
    assert ralph.writes() == writes + 1
    assert ralph.stored_lines() == stored
    assert Counter(s["id"] for s in ralph.statements(home)).most_common(1)[0][1] == 1


async def test_a_different_statement_under_an_id_is_a_conflict_not_a_retry(
    ctx: Context,
    world: World,  # noqa: F811
    ralph: RalphLrs,
) -> None:
    home = f"https://academy-{secrets.token_hex(4)}.example.org"
    lrs_settings(ctx, ralph, home)
    course = await add_course(ctx, world, "XA2", "法治教育")
    exam = await add_exam(ctx, course.id)
    await sit_exam(ctx, "zhang", exam.id, right=7)
    await sit_exam(ctx, "li", exam.id, right=9)
    await enqueue_new(ctx)
    async with ctx.db() as s:
        rows = list(await s.scalars(select(XapiOutbox).order_by(XapiOutbox.id)))
    assert len(rows) == 2
    # Someone else already stored another statement under the first id.
    other = dict(rows[0].statement, timestamp="2020-01-01T00:00:00.000Z")
    async with Lrs(ralph.endpoint, ralph.key, ralph.secret, 10) as lrs:
        assert (await lrs.put(other)).status == 204

    assert await deliver_pending(ctx, 100) == 2
    async with ctx.db() as s:
        outcome = {r.statement_id: r.outcome for r in await s.scalars(select(XapiOutbox))}
        due = await s.scalar(
            select(func.count()).select_from(XapiOutbox).where(XapiOutbox.sent_at.is_(None))
        )
    assert outcome == {rows[0].statement_id: "conflict", rows[1].statement_id: "stored"}
    assert due == 0
    held = {s["id"]: s for s in ralph.statements(home)}
    assert held[rows[0].statement_id]["timestamp"] == "2020-01-01T00:00:00.000Z"
    assert held[rows[1].statement_id]["result"]["score"]["raw"] == 9
