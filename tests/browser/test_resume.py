""" "继续学习" in headless Chromium: from the learner's home to the lesson studied last, and the
player starts at the first second not yet verified."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from models import Enrolment, EnrolmentSource, Lesson, LessonProgress, utcnow
from proctor.kernel.context import Context
from tests.browser.test_player import CHROMIUM, page, served, sign_in  # noqa: F401
from tests.factories import World

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium not installed"),
    pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg makes the lesson video"),
]


async def test_continue_resumes_the_lesson_at_its_second(
    served: tuple[str, Context, World, int],  # noqa: F811
    page: Any,  # noqa: F811
) -> None:
    base, ctx, world, lesson_id = served
    zhang = world.learners["zhang"].id
    async with ctx.db.begin() as s:
        lesson = await s.get_one(Lesson, lesson_id)
        s.add(Enrolment(learner_id=zhang, course_id=lesson.course_id, source=EnrolmentSource.SELF))
        s.add(
            LessonProgress(
                learner_id=zhang,
                lesson_id=lesson_id,
                segments="0-7000",
                covered_ms=7000,
                updated_at=utcnow(),
            )
        )
    await sign_in(page, base, "zhang")
    assert "从 0:07 继续" in await page.inner_text("main")
    await page.click("a.continue")
    await page.wait_for_url(f"**/learn/lessons/{lesson_id}")
    await page.wait_for_function(
        "() => document.getElementById('verified-text').dataset.coveredS !== undefined"
    )
    await page.wait_for_function(
        "() => document.getElementById('lesson-video').currentTime >= 6.9", timeout=10_000
    )
    position = await page.evaluate("() => document.getElementById('lesson-video').currentTime")
    assert 6.9 <= position < 9
    # The course page says the same.
    await page.goto(f"{base}/catalog/{lesson.course_id}")
    assert "从 0:07 继续" in await page.inner_text(f'tr[data-lesson-id="{lesson_id}"]')
    async with ctx.db() as s:
        row = await s.scalar(select(LessonProgress).where(LessonProgress.learner_id == zhang))
    assert row is not None and row.covered_ms >= 7000
