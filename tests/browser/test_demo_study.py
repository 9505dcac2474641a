"""The demo as a new user meets it: after the demo's simulated week (study through the
tracker, in an earlier process), a learner plays a lesson in the browser and finds the
credit in their archive. The embedded store once numbered evidence from 1 in every process,
so after the simulation nothing a learner played reached the database."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from models import Account, Course, CourseKind, CreditEntry, Lesson, OrgUnit
from proctor.demo.seed import DEMO_PASSWORD, seed_demo
from proctor.kernel.context import open_context
from tests.browser.serving import browser_settings, running
from tests.browser.test_player import CHROMIUM, LESSON_S, make_video, page  # noqa: F401

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium not installed"),
]
LEARNER = "xy000001"


async def test_a_lesson_played_after_the_demo_simulation_is_credited(
    tmp_path: Path,
    sqlite_template: Path,
    page: Any,  # noqa: F811
) -> None:
    settings = browser_settings(
        tmp_path,
        sqlite_template,
        "demo",
        heartbeat_interval_s=2,
        challenge_min_s=3600,
        challenge_max_s=3600,
    )
    # The demo's week is simulated at the product's own beat interval (an earlier process,
    # as `proctor demo` runs it); only the server below beats every 2 s for a short lesson.
    seeding = open_context(
        settings.model_copy(
            update={"heartbeat_interval_s": 10, "challenge_min_s": 240, "challenge_max_s": 720}
        )
    )
    # A smaller week than the demo's 90 learners: its evidence ids still start where the
    # server's would, which is what this test is about.
    await seed_demo(
        seeding, learners=60, random_seed=7, videos=False, study_week=True, week_learners=30
    )
    await seeding.close()  # the demo's seeding is over; the server is a new process

    make_video(settings.data_dir / "media" / "lessons" / "d12.webm", LESSON_S)
    ctx = open_context(settings)
    async with ctx.db.begin() as s:
        province = await s.scalar(select(OrgUnit).where(OrgUnit.parent_id.is_(None)))
        assert province is not None
        course = Course(
            code="DEMO-BR",
            title="演示后学习的课程",
            category_id=1,
            kind=CourseKind.REQUIRED,
            lecture_seconds=2700,  # one class hour: one credit
            owner_org_id=province.id,
            owner_path=province.path,
        )
        s.add(course)
        await s.flush()
        lesson = Lesson(
            course_id=course.id,
            ordinal=1,
            title="第一讲",
            duration_seconds=LESSON_S,
            video_url="/media/lessons/d12.webm",
        )
        s.add(lesson)
        await s.flush()
        course_id, lesson_id = course.id, lesson.id
        learner_id = await s.scalar(select(Account.learner_id).where(Account.username == LEARNER))
    async with running(ctx) as base:
        await page.goto(f"{base}/login")
        await page.fill("input[name=username]", LEARNER)
        await page.fill("input[name=password]", DEMO_PASSWORD)
        await page.click("button[type=submit]")
        await page.wait_for_load_state("networkidle")
        await page.goto(f"{base}/learn/lessons/{lesson_id}")
        await page.wait_for_function(
            "() => document.getElementById('verified-text').dataset.coveredS !== undefined"
        )
        await page.evaluate("document.getElementById('lesson-video').play()")
        await page.wait_for_function(
            "() => document.getElementById('verified-text').dataset.completed === '1'",
            timeout=40_000,
        )
        async with ctx.db() as s:
            entry = await s.scalar(
                select(CreditEntry).where(
                    CreditEntry.learner_id == learner_id, CreditEntry.course_id == course_id
                )
            )
        assert entry is not None and entry.amount == 1
        await page.goto(f"{base}/archive")
        archive = await page.inner_text("main")
        assert "演示后学习的课程" in archive
