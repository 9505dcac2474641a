"""The learner's own record on a course: per-lesson progress on the course page, and
"继续学习" naming the lesson and the second the player will resume at."""

from __future__ import annotations

import datetime as dt
import re

from aiohttp.test_utils import TestClient

from models import Enrolment, EnrolmentSource, Lesson, LessonProgress, StudySession, utcnow
from proctor.kernel.context import Context
from proctor.study.resume import LessonStanding, _next, clock
from tests.factories import World, login, world  # noqa: F401
from tests.proctor.archive.helpers import add_course
from tracker.segments import resume_point


def test_resume_point_is_the_first_unverified_second() -> None:
    assert resume_point((), 600_000) == 0
    assert resume_point(((0, 185_000),), 600_000) == 185_000
    # A part watched after a skip does not move the resume point past the gap.
    assert resume_point(((0, 60_000), (120_000, 180_000)), 600_000) == 60_000
    assert resume_point(((5_000, 60_000),), 600_000) == 0
    assert clock(185) == "3:05" and clock(3725) == "1:02:05"


def _row(lesson_id: int, done: bool) -> LessonStanding:
    return LessonStanding(lesson_id, lesson_id, f"第{lesson_id}讲", 600, 0, done, 0)


def test_continue_goes_to_the_last_studied_lesson_or_the_next_incomplete_one() -> None:
    rows = [_row(1, True), _row(2, False), _row(3, True), _row(4, False)]
    assert _next(rows, 2) == rows[1]  # studied last, not complete
    assert _next(rows, 3) == rows[3]  # studied last and complete: the next incomplete one
    assert _next(rows, None) == rows[1]  # never studied: the first incomplete one
    assert _next([_row(1, True)], 1) is None


async def _course_with_progress(ctx: Context, w: World) -> list[int]:
    """Three 10-minute lessons: the first complete, the second verified up to 3:05."""
    zhang = w.learners["zhang"].id
    course = await add_course(ctx, w, "RS1", "基层治理专题")
    now = utcnow()
    async with ctx.db.begin() as s:
        lessons = [
            Lesson(course_id=course.id, ordinal=n, title=f"第{n}讲 标题", duration_seconds=600)
            for n in (1, 2, 3)
        ]
        s.add_all(lessons)
        s.add(Enrolment(learner_id=zhang, course_id=course.id, source=EnrolmentSource.SELF))
        await s.flush()
        s.add_all(
            [
                LessonProgress(
                    learner_id=zhang,
                    lesson_id=lessons[0].id,
                    segments="0-600000",
                    covered_ms=600_000,
                    completed_at=now,
                    updated_at=now,
                ),
                LessonProgress(
                    learner_id=zhang,
                    lesson_id=lessons[1].id,
                    segments="0-185000,300000-310000",
                    covered_ms=195_000,
                    updated_at=now,
                ),
            ]
        )
        for n, lesson in enumerate(lessons[:2]):
            s.add(
                StudySession(
                    id=f"s-{lesson.id}",
                    learner_id=zhang,
                    lesson_id=lesson.id,
                    course_id=course.id,
                    started_at=now - dt.timedelta(hours=2 - n),
                    interval_s=10,
                    device="d",
                    user_agent="ua",
                    ip="10.0.0.1",
                )
            )
        return [course.id, *(x.id for x in lessons)]


async def test_course_page_and_home_show_progress_and_where_to_continue(
    ctx: Context,
    client: TestClient,
    world: World,  # noqa: F811
) -> None:
    course_id, l1, l2, l3 = await _course_with_progress(ctx, world)
    zhang = await login(client, "zhang")
    html = await (await client.get(f"/catalog/{course_id}", headers=zhang)).text()
    rows = {
        int(m.group(1)): m.group(2)
        for m in re.finditer(r'<tr data-lesson-id="(\d+)">(.*?)</tr>', html, re.S)
    }
    assert "已完成" in rows[l1] and "重新观看" in rows[l1]
    assert "已学 32%" in rows[l2] and "从 3:05 继续" in rows[l2]
    assert "未开始" in rows[l3] and "开始学习" in rows[l3]
    assert f'<a class="button" href="/learn/lessons/{l2}">继续学习</a>' in html
    assert "第 2 讲 第2讲 标题，从 3:05 继续" in html

    home = await (await client.get("/learn", headers=zhang)).text()
    assert f'<a class="button continue" href="/learn/lessons/{l2}">继续学习</a>' in home
    assert "第 2 讲 · 从 3:05 继续" in home

    # Staff see the lessons without anyone's progress.
    staff = await (
        await client.get(f"/catalog/{course_id}", headers=await login(client, "academy"))
    ).text()
    assert "我的进度" not in staff and "继续学习" not in staff
