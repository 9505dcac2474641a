"""Course authoring in headless Chromium: credits shown while editing, a lesson video uploaded
and transcoded with its progress on the page, publishing; a member taken out of a class."""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from proctor.catalog import classes
from proctor.kernel.authz import Actor
from proctor.kernel.context import Context, open_context
from tests.browser.serving import browser_settings, running
from tests.browser.test_player import CHROMIUM, page, sign_in  # noqa: F401
from tests.factories import World, build_world
from tests.proctor.catalog.test_videos import make_video

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium not installed"),
    pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg makes the test video"),
]


@pytest.fixture
async def served(tmp_path: Path, sqlite_template: Path) -> AsyncIterator[tuple[str, World, int]]:
    ctx: Context = open_context(browser_settings(tmp_path, sqlite_template, "authoring"))
    world = await build_world(ctx)
    admin = world.accounts["cs_admin"]
    actor = Actor(
        admin.id, "cs_admin", "cs_admin", admin.role, admin.org_id, world.org("长沙市").path
    )
    opened = await classes.create_class(
        ctx,
        actor,
        name="长沙市数字政府专题培训班",
        starts_on=dt.date(2026, 9, 1),
        ends_on=dt.date(2026, 12, 31),
        usernames=["zhang", "li"],
    )
    async with running(ctx) as base:
        yield base, world, opened.summary.id


async def test_author_a_course_with_a_video(
    served: tuple[str, World, int],
    page: Any,  # noqa: F811
    tmp_path: Path,
) -> None:
    base, _, class_id = served
    page.on("dialog", lambda dialog: dialog.accept())
    await sign_in(page, base, "cs_admin")
    await page.goto(f"{base}/admin/courses")
    await page.fill("#new-course input[name=title]", "长沙城市更新实践")
    await page.select_option("#new-course select[name=kind]", "required")
    await page.fill("#new-course input[name=lecture_minutes]", "50")
    # The credits follow from the lecture time by the policy, shown as the form is filled.
    preview = page.locator("#new-course .credits-preview")
    await page.wait_for_function(
        "() => document.querySelector('#new-course .credits-preview')"
        ".textContent.includes('1 学时')"
    )
    assert "1.00 学分" in await preview.inner_text()
    await page.fill("#new-course input[name=lecture_minutes]", "100")
    await page.wait_for_function(
        "() => document.querySelector('#new-course .credits-preview')"
        ".textContent.includes('2 学时')"
    )
    await page.click("#new-course button[type=submit]")
    await page.wait_for_url("**/admin/courses/*?msg=created")
    course_url = page.url.split("?")[0]

    await page.fill("#add-lesson input[name=title]", "第一讲 城市更新的政策")
    await page.click("#add-lesson button[type=submit]")
    await page.wait_for_url("**?msg=lesson")
    assert "还没有视频" in await page.inner_text("#problems")
    assert await page.locator("#publish").is_disabled()

    video = tmp_path / "lecture.webm"
    make_video(video, 4)
    await page.set_input_files("#lessons input[type=file]", str(video))
    await page.click("#lessons form.lesson-video button")
    await page.wait_for_url("**?msg=uploaded")
    # Progress comes from the database; the page reloads itself when the video is ready.
    await page.wait_for_selector("a.video-link", timeout=60_000)
    assert "0.1 分钟" in await page.inner_text("#lessons")
    await page.click("#publish")
    await page.wait_for_url("**?msg=published")
    assert await page.inner_text("#course-status") == "已发布"

    # A special class: a member is taken out.
    await page.goto(f"{base}/admin/classes/{class_id}")
    assert await page.locator("#members tr").count() == 2
    await page.click("#members tr:has-text('李娜') button.remove-member")
    await page.wait_for_load_state("networkidle")
    assert "李娜" not in await page.inner_text("#members")

    # The wrong role, and outside the authority.
    await page.context.clear_cookies()
    await sign_in(page, base, "cs_reviewer")
    resp = await page.goto(f"{base}/admin/courses")
    assert resp is not None and resp.status == 403
    await page.context.clear_cookies()
    await sign_in(page, base, "ht_admin")
    resp = await page.goto(course_url)
    assert resp is not None and resp.status == 404
