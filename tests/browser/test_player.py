"""The lesson player in headless Chromium: real video, real beats, server-side verdicts."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from models import Course, CourseKind, Lesson, LessonProgress
from proctor.kernel.context import Context, open_context
from tests.browser.serving import browser_settings, running
from tests.factories import PASSWORD, World, build_world

CHROMIUM = "/usr/bin/chromium"
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium not installed"),
    pytest.mark.skipif(
        shutil.which("ffmpeg") is None, reason="ffmpeg needed to make the lesson video"
    ),
]
LESSON_S = 12


def make_video(path: Path, seconds: int) -> None:
    """A tiny real WebM (VP8 + Opus) of the given length."""
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(  # noqa: S603 - fixed arguments, no shell
        [
            shutil.which("ffmpeg") or "ffmpeg",
            "-y",
            "-loglevel",
            "error",
            "-f",
            "lavfi",
            "-i",
            f"testsrc=size=160x90:rate=5:duration={seconds}",
            "-f",
            "lavfi",
            "-i",
            f"sine=frequency=440:duration={seconds}",
            "-c:v",
            "libvpx",
            "-b:v",
            "50k",
            "-c:a",
            "libopus",
            "-b:a",
            "16k",
            "-shortest",
            str(path),
        ],
        check=True,
    )


@pytest.fixture
async def served(
    tmp_path: Path, sqlite_template: Path
) -> AsyncIterator[tuple[str, Context, World, int]]:
    """The real app on SQLite with a 2 s heartbeat and one 12 s lesson, on a local port."""
    settings = browser_settings(
        tmp_path,
        sqlite_template,
        "player",
        heartbeat_interval_s=2,
        challenge_min_s=3600,
        challenge_max_s=3600,
    )
    make_video(settings.data_dir / "media" / "lessons" / "t12.webm", LESSON_S)
    ctx = open_context(settings)
    world = await build_world(ctx)
    province = world.org("湖南省")
    async with ctx.db.begin() as s:
        course = Course(
            code="BR1",
            title="浏览器测试课程",
            category_id=1,
            kind=CourseKind.ELECTIVE,
            lecture_seconds=LESSON_S,
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
            video_url="/media/lessons/t12.webm",
        )
        s.add(lesson)
        await s.flush()
        lesson_id = lesson.id
    async with running(ctx) as base:
        yield base, ctx, world, lesson_id


@pytest.fixture
async def page() -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
                "--disable-sync",
                "--autoplay-policy=no-user-gesture-required",
            ],
        )
        context = await browser.new_context(locale="zh-CN")
        tab = await context.new_page()
        # Every page must work under the Content-Security-Policy: a refused inline script,
        # event handler or style is a failure of the test that loaded it.
        refused: list[str] = []
        tab.on(
            "console",
            lambda msg: refused.append(msg.text) if "Content Security Policy" in msg.text else None,
        )
        yield tab
        await browser.close()
        assert refused == []


async def sign_in(page: Any, base: str, username: str) -> None:
    await page.goto(f"{base}/login")
    await page.fill("input[name=username]", username)
    await page.fill("input[name=password]", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_load_state("networkidle")


async def coverage_ms(ctx: Context, learner_id: int, lesson_id: int) -> tuple[int, bool]:
    async with ctx.db() as s:
        row = await s.scalar(
            select(LessonProgress).where(
                LessonProgress.learner_id == learner_id, LessonProgress.lesson_id == lesson_id
            )
        )
    return (row.covered_ms, row.completed_at is not None) if row else (0, False)


async def test_lesson_played_at_1x_is_credited(
    served: tuple[str, Context, World, int], page: Any
) -> None:
    """Playing the whole lesson in the browser completes it, and the page shows it."""
    base, ctx, world, lesson_id = served
    await sign_in(page, base, "zhang")
    await page.goto(f"{base}/learn/lessons/{lesson_id}")
    await page.wait_for_function(
        "() => document.getElementById('verified-text').dataset.coveredS !== undefined"
    )
    await page.evaluate("document.getElementById('lesson-video').play()")
    await page.wait_for_function(
        "() => document.getElementById('verified-text').dataset.completed === '1'", timeout=40_000
    )
    covered, done = await coverage_ms(ctx, world.learners["zhang"].id, lesson_id)
    assert done
    assert covered >= (LESSON_S - 5) * 1000
    assert "已完成" in await page.inner_text("#verified-text")


async def test_playback_rate_16_earns_no_more_than_wall_time(
    served: tuple[str, Context, World, int], page: Any
) -> None:
    """Setting video.playbackRate = 16 (what cheating scripts do) does not complete the lesson."""
    base, ctx, world, lesson_id = served
    await sign_in(page, base, "li")
    await page.goto(f"{base}/learn/lessons/{lesson_id}")
    await page.wait_for_function(
        "() => document.getElementById('verified-text').dataset.coveredS !== undefined"
    )
    loop = asyncio.get_running_loop()
    started = loop.time()
    await page.evaluate(
        "(() => { const v = document.getElementById('lesson-video'); v.playbackRate = 16; v.play(); })()"
    )
    await page.wait_for_function(
        "() => document.getElementById('lesson-video').ended", timeout=20_000
    )
    await asyncio.sleep(3)  # let the closing beats arrive
    wall_ms = (loop.time() - started) * 1000
    covered, done = await coverage_ms(ctx, world.learners["li"].id, lesson_id)
    assert not done
    assert covered <= wall_ms
    assert covered < LESSON_S * 1000 / 2


async def test_first_login_forces_password_change_then_learner_home(
    served: tuple[str, Context, World, int], page: Any
) -> None:
    """A new account must change its initial password before anything else; then sees its home."""
    from sqlalchemy import update

    from models import Account

    base, ctx, _, _ = served
    async with ctx.db.begin() as s:
        await s.execute(
            update(Account).where(Account.username == "wang").values(must_change_password=True)
        )
    await sign_in(page, base, "wang")
    assert page.url.endswith("/password")
    await page.goto(f"{base}/catalog")
    assert page.url.endswith("/password")  # nothing else until the password is changed
    await page.fill("input[name=current_password]", PASSWORD)
    await page.fill("input[name=new_password]", "Xin-Mima-2026")
    await page.fill("input[name=confirm_password]", "Xin-Mima-2026")
    await page.click("form[action='/password'] button[type=submit]")
    await page.wait_for_load_state("networkidle")
    assert page.url.endswith("/learn")
    assert "年度学分" in await page.inner_text("main")


async def test_staff_search_shows_masked_identity_numbers(
    served: tuple[str, Context, World, int], page: Any
) -> None:
    """A county administrator finds their learners with masked identity numbers, not others'."""
    base, _, _, _ = served
    await sign_in(page, base, "fr_admin")
    await page.goto(f"{base}/admin/learners")
    text = await page.inner_text("table")
    assert "张伟" in text
    assert "王芳" not in text  # 天心区, another county
    assert "4301**********" in text


async def test_status_line_never_shows_a_code(
    served: tuple[str, Context, World, int], page: Any
) -> None:
    """Opening a lesson (first beat, paused) reads in Chinese; unknown codes get a sentence."""
    base, _, _, lesson_id = served
    await sign_in(page, base, "zhang")
    await page.goto(f"{base}/learn/lessons/{lesson_id}")
    await page.wait_for_function(
        "() => document.getElementById('tracker-status').textContent !== ''"
    )
    status = await page.inner_text("#tracker-status")
    assert "first_beat" not in status
    assert not any("a" <= ch.lower() <= "z" for ch in status), status
    described = await page.evaluate(
        "window.proctorPlayer.describe(['first_beat', 'paused', 'seq_gap', 'late_beat', 'x_new'])"
    )
    assert (
        described == "已开始记录学时；已暂停；网络中断，间隔时间不计；本段学习以服务器核验结果为准"
    )


async def test_missing_video_is_said_in_chinese(
    served: tuple[str, Context, World, int], page: Any
) -> None:
    """A lesson whose video file is gone tells the learner, not a black frame at 0:00."""
    base, ctx, _, lesson_id = served
    async with ctx.db.begin() as s:
        lesson = await s.get_one(Lesson, lesson_id)
        lesson.video_url = "/media/lessons/missing.webm"
    await sign_in(page, base, "zhang")
    await page.goto(f"{base}/learn/lessons/{lesson_id}")
    await page.wait_for_selector("#video-problem:not([hidden])", timeout=10_000)
    assert "本讲视频暂时无法播放" in await page.inner_text("#video-problem")
