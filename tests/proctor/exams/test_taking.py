"""Taking exams over HTTP on SQLite and PostgreSQL: authoring, draw, server clock, resume,
scoring, the one-time bonus, invigilation events and flags, and bad input that changes nothing."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select, update

from models import (
    CreditEntry,
    CreditSource,
    DetectionFlag,
    ExamAnswer,
    ExamAttempt,
    ExamEvent,
    ExamItem,
    Heartbeat,
    ReviewCase,
    StudySession,
    utcnow,
)
from proctor.context import Context
from tests.factories import World, login, world  # noqa: F401
from tests.proctor.archive.helpers import add_course


def bank_items(n_single: int = 20) -> list[dict[str, Any]]:
    """A bank: single choices keyed A..D in turn, two multiple choices, three true/false."""
    items: list[dict[str, Any]] = [
        {
            "kind": "single",
            "stem": f"单选题 {i}",
            "options": ["甲", "乙", "丙", "丁"],
            "key": "ABCD"[i % 4],
        }
        for i in range(n_single)
    ]
    items += [
        {"kind": "multiple", "stem": f"多选题 {i}", "options": ["甲", "乙", "丙"], "key": "AC"}
        for i in range(2)
    ]
    items += [{"kind": "truefalse", "stem": f"判断题 {i}", "key": "T"} for i in range(3)]
    return items


@dataclass
class Setup:
    course_id: int
    exam_id: int
    academy: dict[str, str]
    zhang: dict[str, str]


def window(hours: float = 2) -> dict[str, str]:
    now = utcnow()
    return {
        "opens_at": (now - dt.timedelta(hours=1)).isoformat(),
        "closes_at": (now + dt.timedelta(hours=hours)).isoformat(),
    }


EXAM = {
    "title": "党章党规知识测试",
    "item_count": 10,
    "time_limit_s": 1800,
    "pass_mark": 60,
    "attempts_allowed": 2,
    "bonus_credits": "2",
}


@pytest.fixture
async def setup(ctx: Context, client: TestClient, world: World) -> Setup:  # noqa: F811
    course = await add_course(ctx, world, "EX1", "党章党规学习")
    academy = await login(client, "academy")
    resp = await client.post(
        f"/api/v1/courses/{course.id}/exam-items", json={"items": bank_items()}, headers=academy
    )
    assert resp.status == 201, await resp.text()
    assert (await resp.json())["bank_size"] == 25
    resp = await client.post(
        f"/api/v1/courses/{course.id}/exams", json=EXAM | window(), headers=academy
    )
    assert resp.status == 201, await resp.text()
    return Setup(course.id, (await resp.json())["exam_id"], academy, await login(client, "zhang"))


async def start(
    client: TestClient, s: Setup, headers: dict[str, str] | None = None, status: int = 201
) -> Any:
    """Start an attempt: 201 for a new one, 200 when the open one is resumed."""
    resp = await client.post(
        f"/api/v1/exams/{s.exam_id}/attempts", json={"device": "dev-a"}, headers=headers or s.zhang
    )
    assert resp.status == status, await resp.text()
    return await resp.json()


async def keys(ctx: Context) -> dict[int, str]:
    async with ctx.db() as db:
        return {i.id: i.key for i in await db.scalars(select(ExamItem))}


async def answer(
    client: TestClient, s: Setup, attempt_id: int, item_id: int, choice: list[str], **kw: Any
) -> Any:
    return await client.put(
        f"/api/v1/exams/attempts/{attempt_id}/answers/{item_id}",
        json={"choice": choice, "seconds": 12.5} | kw,
        headers=s.zhang,
    )


async def answer_all(ctx: Context, client: TestClient, s: Setup, a: Any, right: int) -> None:
    key = await keys(ctx)
    for n, item in enumerate(a["items"]):
        good = list(key[item["item_id"]])
        ids = [o["id"] for o in item["options"]]
        wrong = [next(i for i in ids if i not in good)]
        resp = await answer(
            client, s, a["attempt_id"], item["item_id"], good if n < right else wrong
        )
        assert resp.status == 200, await resp.text()


async def bonuses(ctx: Context, learner_id: int) -> list[CreditEntry]:
    async with ctx.db() as db:
        return list(
            (
                await db.scalars(
                    select(CreditEntry).where(
                        CreditEntry.learner_id == learner_id,
                        CreditEntry.source == CreditSource.EXAM,
                    )
                )
            ).all()
        )


async def test_attempt_draws_items_without_the_key_and_resumes(
    ctx: Context, client: TestClient, setup: Setup
) -> None:
    a = await start(client, setup)
    assert len(a["items"]) == 10 and len({i["item_id"] for i in a["items"]}) == 10
    assert 1790 <= a["remaining_s"] <= 1800
    text = str(a)
    assert "key" not in text and "'AC'" not in text
    for item in a["items"]:  # labels are display letters in order; ids are the bank's
        assert [o["label"] for o in item["options"]][:2] in (["A", "B"], ["T", "F"])
    first = a["items"][0]
    resp = await answer(
        client, setup, a["attempt_id"], first["item_id"], [first["options"][0]["id"]]
    )
    assert resp.status == 200 and (await resp.json())["answered"] == 1
    # Starting again (a second tab, a reload of the list) resumes the same draw with the answer.
    again = await start(client, setup, status=200)
    assert again["attempt_id"] == a["attempt_id"]
    assert [i["item_id"] for i in again["items"]] == [i["item_id"] for i in a["items"]]
    assert again["items"][0]["chosen"] == [first["options"][0]["id"]]
    page = await client.get(f"/exams/attempts/{a['attempt_id']}", headers=setup.zhang)
    assert page.status == 200
    html = await page.text()
    assert "剩余时间" in html
    assert "checked" in html


async def test_pass_posts_the_bonus_once_per_course_and_year(
    ctx: Context,
    client: TestClient,
    setup: Setup,
    world: World,  # noqa: F811
) -> None:
    a = await start(client, setup)
    await answer_all(ctx, client, setup, a, right=7)
    resp = await client.post(
        f"/api/v1/exams/attempts/{a['attempt_id']}/submit", headers=setup.zhang
    )
    result = await resp.json()
    assert (result["state"], result["score"], result["passed"]) == ("submitted", 70, True)
    entries = await bonuses(ctx, world.learners["zhang"].id)
    assert [(e.amount, e.course_id) for e in entries] == [(2, setup.course_id)]
    # Submitting twice changes nothing; a passed exam cannot be retaken.
    await client.post(f"/api/v1/exams/attempts/{a['attempt_id']}/submit", headers=setup.zhang)
    resp = await client.post(
        f"/api/v1/exams/{setup.exam_id}/attempts", json={}, headers=setup.zhang
    )
    assert resp.status == 409 and "已通过" in (await resp.json())["detail"]
    # A second exam on the same course passed in the same year earns no second bonus.
    resp = await client.post(
        f"/api/v1/courses/{setup.course_id}/exams",
        json=EXAM | window() | {"title": "补考"},
        headers=setup.academy,
    )
    second = await (
        await client.post(
            f"/api/v1/exams/{(await resp.json())['exam_id']}/attempts", json={}, headers=setup.zhang
        )
    ).json()
    await answer_all(ctx, client, setup, second, right=10)
    resp = await client.post(
        f"/api/v1/exams/attempts/{second['attempt_id']}/submit", headers=setup.zhang
    )
    assert (await resp.json())["passed"] is True
    assert len(await bonuses(ctx, world.learners["zhang"].id)) == 1
    # The archive shows the bonus among the year's credits.
    archive = await client.get("/archive", headers=setup.zhang)
    assert "党章党规学习" in await archive.text()


async def test_fail_then_attempts_run_out(
    ctx: Context,
    client: TestClient,
    setup: Setup,
    world: World,  # noqa: F811
) -> None:
    for _ in range(2):
        a = await start(client, setup)
        await answer_all(ctx, client, setup, a, right=5)
        resp = await client.post(
            f"/api/v1/exams/attempts/{a['attempt_id']}/submit", headers=setup.zhang
        )
        assert (await resp.json())["passed"] is False
    resp = await client.post(
        f"/api/v1/exams/{setup.exam_id}/attempts", json={}, headers=setup.zhang
    )
    assert resp.status == 409 and "2 次" in (await resp.json())["detail"]
    assert await bonuses(ctx, world.learners["zhang"].id) == []


async def test_time_runs_on_the_server(
    ctx: Context,
    client: TestClient,
    setup: Setup,
    world: World,  # noqa: F811
) -> None:
    a = await start(client, setup)
    await answer_all(ctx, client, setup, a, right=8)
    # The clock ran out while the learner was away (a closed laptop keeps no timer running).
    async with ctx.db.begin() as db:
        await db.execute(update(ExamAttempt).values(deadline_at=utcnow() - dt.timedelta(minutes=1)))
    item = a["items"][-1]
    async with ctx.db() as db:
        before = await db.scalar(
            select(ExamAnswer.choice).where(ExamAnswer.item_id == item["item_id"])
        )
    resp = await answer(
        client, setup, a["attempt_id"], item["item_id"], [item["options"][-1]["id"]]
    )
    assert resp.status == 409 and "时间已到" in (await resp.json())["detail"]
    # The next look at the attempt finds it closed and scored with what was saved in time.
    resp = await client.get(f"/api/v1/exams/attempts/{a['attempt_id']}", headers=setup.zhang)
    result = await resp.json()
    assert (result["state"], result["score"], result["remaining_s"]) == ("expired", 80, 0)
    assert len(await bonuses(ctx, world.learners["zhang"].id)) == 1
    async with ctx.db() as db:
        after = await db.scalar(
            select(ExamAnswer.choice).where(ExamAnswer.item_id == item["item_id"])
        )
    assert after == before


async def test_deadline_never_outlasts_the_exam_window(
    ctx: Context, client: TestClient, setup: Setup
) -> None:
    resp = await client.post(
        f"/api/v1/courses/{setup.course_id}/exams",
        json=EXAM | window(hours=0.25) | {"title": "即将结束"},
        headers=setup.academy,
    )
    exam_id = (await resp.json())["exam_id"]
    a = await (
        await client.post(f"/api/v1/exams/{exam_id}/attempts", json={}, headers=setup.zhang)
    ).json()
    assert 880 <= a["remaining_s"] <= 900


async def test_bad_answers_change_nothing(
    ctx: Context,
    client: TestClient,
    setup: Setup,
    world: World,  # noqa: F811
) -> None:
    a = await start(client, setup)
    aid = a["attempt_id"]
    item = a["items"][0]
    async with ctx.db() as db:
        outside = await db.scalar(
            select(ExamItem.id).where(ExamItem.id.not_in([i["item_id"] for i in a["items"]]))
        )
    cases = [
        (await answer(client, setup, aid, outside, ["A"]), 422, "不在本次考试"),
        (await answer(client, setup, aid, item["item_id"], ["Z"]), 422, "不属于该题"),
        (await answer(client, setup, aid, item["item_id"], "A"), 422, "choice"),
        (await answer(client, setup, aid, item["item_id"], ["A"], seconds=-1), 422, "seconds"),
    ]
    # Another learner's attempt does not exist for them, whatever they send.
    li = await login(client, "li")
    other = await client.put(
        f"/api/v1/exams/attempts/{aid}/answers/{item['item_id']}",
        json={"choice": [item["options"][0]["id"]], "seconds": 3},
        headers=li,
    )
    cases.append((other, 404, "不存在"))
    cases.append((await client.get(f"/api/v1/exams/attempts/{aid}", headers=li), 404, "不存在"))
    cases.append(
        (await client.post(f"/api/v1/exams/attempts/{aid}/submit", headers=li), 404, "不存在")
    )
    for resp, status, words in cases:
        assert resp.status == status, await resp.text()
        body = await resp.json()
        assert words in body["detail"] or words == body.get("field")
    async with ctx.db() as db:
        assert await db.scalar(select(func.count()).select_from(ExamAnswer)) == 0
        attempt = await db.get_one(ExamAttempt, aid)
        assert attempt.state.value == "open"


async def test_bad_bank_and_exam_input_change_nothing(
    ctx: Context, client: TestClient, setup: Setup
) -> None:
    bad = [
        *bank_items(2),
        {"kind": "multiple", "stem": "坏题", "options": ["甲", "乙"], "key": "A"},
    ]
    resp = await client.post(
        f"/api/v1/courses/{setup.course_id}/exam-items", json={"items": bad}, headers=setup.academy
    )
    assert resp.status == 422 and (await resp.json())["field"] == "items[7].key"
    resp = await client.post(
        f"/api/v1/courses/{setup.course_id}/exams",
        json=EXAM | window() | {"item_count": 26},
        headers=setup.academy,
    )
    assert resp.status == 422 and "不足" in (await resp.json())["detail"]
    resp = await client.post(
        f"/api/v1/courses/{setup.course_id}/exam-items",
        json={"items": bank_items(1)},
        headers=setup.zhang,
    )
    assert resp.status == 403
    resp = await client.post(
        f"/api/v1/courses/{setup.course_id}/exam-items",
        json={"items": bank_items(1)},
        headers=await login(client, "fr_admin"),
    )
    assert resp.status == 403
    async with ctx.db() as db:
        assert await db.scalar(select(func.count()).select_from(ExamItem)) == 25


async def test_invigilation_records_events_and_flags_without_failing(
    ctx: Context,
    client: TestClient,
    setup: Setup,
    world: World,  # noqa: F811
) -> None:
    zhang = world.learners["zhang"].id
    # A study session left running in another window while the exam is taken.
    async with ctx.db.begin() as db:
        lesson_course = setup.course_id
        from models import Lesson

        lesson = Lesson(course_id=lesson_course, ordinal=1, title="第1讲", duration_seconds=2700)
        db.add(lesson)
        await db.flush()
        sid = uuid.uuid4().hex
        db.add(
            StudySession(
                id=sid,
                learner_id=zhang,
                lesson_id=lesson.id,
                course_id=lesson_course,
                started_at=utcnow() - dt.timedelta(minutes=5),
                interval_s=10,
                device="dev-a",
                user_agent="UA",
                ip="127.0.0.1",
            )
        )
        # ... and playing: the server stored a beat of it as the exam starts.
        db.add(study_beat(sid, utcnow()))
    a = await start(client, setup)
    aid = a["attempt_id"]
    beats = f"/api/v1/exams/attempts/{aid}/beats"
    bad = await client.post(
        beats, json={"events": [{"kind": "hidden"}, {"kind": "teleport"}]}, headers=setup.zhang
    )
    assert bad.status == 422 and "teleport" in (await bad.json())["detail"]
    events = [{"kind": k} for k in ["hidden", "visible", "blur", "focus"] * 3 + ["paste"]]
    resp = await client.post(
        beats, json={"events": events}, headers=setup.zhang | {"X-Device": "dev-b"}
    )
    assert resp.status == 200 and (await resp.json())["recorded"] == 13
    await answer_all(ctx, client, setup, a, right=9)
    resp = await client.post(f"/api/v1/exams/attempts/{aid}/submit", headers=setup.zhang)
    assert (await resp.json())["passed"] is True  # events never fail an attempt
    async with ctx.db() as db:
        kinds = [
            e.kind for e in await db.scalars(select(ExamEvent).where(ExamEvent.attempt_id == aid))
        ]
        flag = await db.scalar(select(DetectionFlag).where(DetectionFlag.attempt_id == aid))
        assert flag is not None
        case = await db.get_one(ReviewCase, flag.case_id)
    assert kinds.count("hidden") == 3 and kinds.count("blur") == 3 and "teleport" not in kinds
    assert "device_change" in kinds and "concurrent_study" in kinds and kinds[0] == "start"
    assert {r["id"] for r in flag.rules} == {"E11", "E14", "E15"}
    assert flag.source == "exam" and flag.evidence["course_id"] == setup.course_id
    assert case.kind == "exam"
    # The reviewer sees the attempt's timeline on the case page.
    page = await client.get(f"/review/cases/{case.id}", headers=await login(client, "cs_reviewer"))
    html = await page.text()
    assert page.status == 200 and "考试过程" in html and "设备变化" in html
    # The learner's result page lists the recorded events too.
    page = await client.get(f"/exams/attempts/{aid}", headers=setup.zhang)
    assert "离开考试页面" in await page.text()


def study_beat(sid: str, at: dt.datetime, seq: int = 1) -> Heartbeat:
    """A stored, accepted beat of a playing video."""
    return Heartbeat(
        evidence_id=uuid.uuid4().hex,
        session_id=sid,
        seq=seq,
        received_at=at,
        position_ms=seq * 10_000,
        rate=1.0,
        paused=False,
        visible=True,
        focused=True,
        muted=False,
        volume=1.0,
        interactions=0,
        elapsed_ms=10_000,
        credited_ms=10_000,
        new_coverage_ms=10_000,
        accepted=True,
        codes="",
        ip="127.0.0.1",
    )


async def test_an_old_unended_session_is_not_concurrent_study(
    ctx: Context,
    client: TestClient,
    setup: Setup,
    world: World,  # noqa: F811
) -> None:
    """A study session left open a week ago (a crash, a lost hot state) with no beat during
    the attempt is not concurrent study: no event, no E15 against an honest learner. A beat
    stored during the attempt is."""
    zhang = world.learners["zhang"].id
    async with ctx.db.begin() as db:
        from models import Lesson

        lesson = Lesson(course_id=setup.course_id, ordinal=1, title="第1讲", duration_seconds=2700)
        db.add(lesson)
        await db.flush()
        week_ago = utcnow() - dt.timedelta(days=7)
        old = uuid.uuid4().hex
        db.add(
            StudySession(
                id=old,
                learner_id=zhang,
                lesson_id=lesson.id,
                course_id=setup.course_id,
                started_at=week_ago,
                interval_s=10,
                device="dev-a",
                user_agent="UA",
                ip="127.0.0.1",
            )
        )
        db.add(study_beat(old, week_ago + dt.timedelta(seconds=10)))
    a = await start(client, setup)
    aid = a["attempt_id"]
    beats = f"/api/v1/exams/attempts/{aid}/beats"
    resp = await client.post(beats, json={"events": [{"kind": "hidden"}]}, headers=setup.zhang)
    assert resp.status == 200
    await answer_all(ctx, client, setup, a, right=3)
    resp = await client.post(f"/api/v1/exams/attempts/{aid}/submit", headers=setup.zhang)
    assert (await resp.json())["passed"] is False  # a second attempt follows
    async with ctx.db() as db:
        kinds = [
            e.kind for e in await db.scalars(select(ExamEvent).where(ExamEvent.attempt_id == aid))
        ]
        flag = await db.scalar(select(DetectionFlag).where(DetectionFlag.attempt_id == aid))
    assert "concurrent_study" not in kinds
    assert flag is None or "E15" not in {r["id"] for r in flag.rules}
    # The same old session with a playing beat stored during the next attempt: concurrent.
    a2 = await start(client, setup)
    async with ctx.db.begin() as db:
        db.add(study_beat(old, utcnow(), seq=2))
    resp = await client.post(
        f"/api/v1/exams/attempts/{a2['attempt_id']}/beats",
        json={"events": [{"kind": "hidden"}]},
        headers=setup.zhang,
    )
    assert resp.status == 200
    async with ctx.db() as db:
        kinds = [
            e.kind
            for e in await db.scalars(
                select(ExamEvent).where(ExamEvent.attempt_id == a2["attempt_id"])
            )
        ]
    assert "concurrent_study" in kinds


async def test_exam_list_shows_status_and_only_to_learners(
    ctx: Context, client: TestClient, setup: Setup
) -> None:
    resp = await client.get("/api/v1/exams", headers=setup.zhang)
    items = (await resp.json())["items"]
    assert [(i["title"], i["status"], i["attempts_used"]) for i in items] == [
        ("党章党规知识测试", "open", 0)
    ]
    assert (await client.get("/api/v1/exams", headers=setup.academy)).status == 403
    page = await client.get("/exams", headers=setup.zhang)
    assert "开始考试" in await page.text()


def _workbook(rows: list[list[object]]) -> bytes:
    import io

    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for r in rows:
        sheet.append(r)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def _upload(client: TestClient, course_id: int, data: bytes, headers: dict[str, str]) -> Any:
    from aiohttp import FormData

    form = FormData()
    form.add_field("file", data, filename="题库.xlsx")
    return await client.post(
        f"/api/v1/courses/{course_id}/exam-items.xlsx", data=form, headers=headers
    )


async def test_bank_from_excel_all_or_none(ctx: Context, client: TestClient, setup: Setup) -> None:
    # The template downloads and imports as it is (three example questions).
    resp = await client.get("/api/v1/exam-items/template.xlsx", headers=setup.academy)
    assert resp.status == 200
    resp = await _upload(client, setup.course_id, await resp.read(), setup.academy)
    assert resp.status == 201, await resp.text()
    assert await resp.json() == {"added": 3, "bank_size": 28}
    header = ["题型", "题干", "选项A", "选项B", "选项C", "选项D", "答案"]
    bad = _workbook(
        [
            header,
            ["单选", "好题", "甲", "乙", "丙", "丁", "B"],
            ["判断", "坏的判断题", None, None, None, None, "也许"],
            ["单选", "坏的单选题", "甲", "乙", None, None, "D"],
            ["填空", "不支持的题型", None, None, None, None, "x"],
        ]
    )
    resp = await _upload(client, setup.course_id, bad, setup.academy)
    body = await resp.json()
    assert resp.status == 422 and [r["row"] for r in body["rows"]] == [3, 4, 5]
    assert "未导入任何题目" in body["detail"]
    # A learner may not import; nothing changed.
    resp = await _upload(client, setup.course_id, bad, setup.zhang)
    assert resp.status == 403
    async with ctx.db() as db:
        assert await db.scalar(select(func.count()).select_from(ExamItem)) == 28


async def test_exam_form_on_the_staff_page(ctx: Context, client: TestClient, setup: Setup) -> None:
    page = await client.get("/admin/exams", headers=setup.academy)
    html = await page.text()
    assert page.status == 200 and "党章党规学习" in html and "新建考试" in html
    assert html.count('id="banks"') == 1
    form = {
        "title": "第二期测试",
        "item_count": "5",
        "time_limit_min": "20",
        "pass_mark": "80",
        "attempts_allowed": "1",
        "bonus_credits": "0.5",
        "opens_at": "2026-12-01T09:00",
        "closes_at": "2026-11-30T09:00",
    }
    url = f"/admin/exams/courses/{setup.course_id}/exams"
    resp = await client.post(url, data=form, headers=setup.academy)
    assert resp.status == 422 and "closes_at" in await resp.text()
    resp = await client.post(
        url, data=form | {"closes_at": "2026-12-08T18:00"}, headers=setup.academy
    )
    assert resp.status == 200 and "已发布考试《第二期测试》" in await resp.text()
    async with ctx.db() as db:
        from models import Exam

        exam = await db.scalar(select(Exam).where(Exam.title == "第二期测试"))
    assert exam is not None and exam.time_limit_s == 1200
    assert exam.opens_at == dt.datetime(2026, 12, 1, 1, 0, tzinfo=dt.UTC)  # 09:00 in Beijing


async def test_repeating_a_save_keeps_when_the_answer_was_entered(
    ctx: Context, client: TestClient, setup: Setup
) -> None:
    a = await start(client, setup)
    item = a["items"][0]
    first, second = item["options"][0]["id"], item["options"][1]["id"]

    async def stored() -> ExamAnswer:
        async with ctx.db() as db:
            row = await db.scalar(select(ExamAnswer).where(ExamAnswer.item_id == item["item_id"]))
        assert row is not None
        return row

    await answer(client, setup, a["attempt_id"], item["item_id"], [first])
    entered = (await stored()).saved_at
    # A retried request (lost reply) is idempotent: same answer, same entry time.
    await answer(client, setup, a["attempt_id"], item["item_id"], [first])
    assert (await stored()).saved_at == entered and (await stored()).changes == 0
    await answer(client, setup, a["attempt_id"], item["item_id"], [second])
    changed = await stored()
    assert changed.choice == second and changed.changes == 1 and changed.saved_at >= entered


async def test_simultaneous_starts_and_saves_never_answer_500(
    ctx: Context, client: TestClient, setup: Setup
) -> None:
    """Four starts at once (a double click, two tabs): one attempt, the others resume it.
    Twenty saves of one item at once: each answered 200 (or 409), one answer row."""
    import asyncio

    url = f"/api/v1/exams/{setup.exam_id}/attempts"
    replies = await asyncio.gather(
        *(client.post(url, json={"device": "dev-a"}, headers=setup.zhang) for _ in range(4))
    )
    statuses = sorted(r.status for r in replies)
    assert statuses == [200, 200, 200, 201], statuses
    ids = {(await r.json())["attempt_id"] for r in replies}
    assert len(ids) == 1
    async with ctx.db() as db:
        assert await db.scalar(select(func.count()).select_from(ExamAttempt)) == 1
    (aid,) = ids
    a = await (await client.get(f"/api/v1/exams/attempts/{aid}", headers=setup.zhang)).json()
    item = a["items"][0]
    options = [o["id"] for o in item["options"]]
    saves = await asyncio.gather(
        *(
            answer(client, setup, aid, item["item_id"], [options[n % len(options)]])
            for n in range(20)
        )
    )
    assert {r.status for r in saves} <= {200, 409}, [await r.text() for r in saves]
    assert any(r.status == 200 for r in saves)
    async with ctx.db() as db:
        rows = list(
            (
                await db.scalars(
                    select(ExamAnswer).where(
                        ExamAnswer.attempt_id == aid, ExamAnswer.item_id == item["item_id"]
                    )
                )
            ).all()
        )
    assert len(rows) == 1 and rows[0].choice in options
