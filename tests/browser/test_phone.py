"""Every learner page at phone widths and on a desktop, in headless Chromium: the page never
scrolls sideways, the menu folds behind one button and its items keep to one line, course
titles get the width of the screen, and charts scale with their box."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from models import ItemKind, Lesson, utcnow
from proctor.archive.verification import make_code
from proctor.exams import attempts
from proctor.exams.bank import ExamInput, ItemInput, insert_exam, insert_items
from proctor.kernel.authz import Actor
from proctor.kernel.calendar import local_day
from proctor.kernel.context import Context, open_context
from proctor.review.decisions import decide
from tests.browser.serving import browser_settings, running
from tests.browser.test_player import CHROMIUM, sign_in
from tests.factories import World, build_world
from tests.proctor.archive.helpers import YEAR, add_course, add_group
from tests.proctor.review.helpers import seed_fraud

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium not installed"),
]

PHONES = [(360, 740), (390, 844), (414, 896)]
DESKTOP = (1280, 800)
LONG_TITLE = "习近平新时代中国特色社会主义思想概论与基层治理实践专题"


@dataclass
class Site:
    base: str
    ctx: Context
    pages: list[str]
    zhang: int


def _actor(world: World, username: str, org: str) -> Actor:
    account = world.accounts[username]
    return Actor(
        account_id=account.id,
        username=username,
        display_name=account.display_name,
        role=account.role,
        org_id=world.org(org).id,
        org_path=world.org(org).path,
        learner_id=account.learner_id,
    )


@pytest.fixture
async def site(tmp_path: Path, sqlite_template: Path) -> AsyncIterator[Site]:
    """zhang with credits, a decided case, an open exam attempt and a long-titled course."""
    ctx = open_context(browser_settings(tmp_path, sqlite_template, "phone"))
    world = await build_world(ctx)
    await add_group(ctx, world)
    fraud = await seed_fraud(ctx, world)
    await decide(
        ctx,
        _actor(world, "cs_reviewer", "长沙市"),
        fraud.case_id,
        "confirmed_fraud",
        "两路会话并行且跳转后无观看时长，认定刷课",
    )
    course = await add_course(ctx, world, "PH1", LONG_TITLE)
    opts = [{"id": c, "text": f"选项{c}"} for c in "ABCD"]
    now = utcnow()
    async with ctx.db.begin() as s:
        lesson = Lesson(
            course_id=course.id,
            ordinal=1,
            title="第一讲 基层治理的新要求与新任务",
            duration_seconds=2700,
            video_url="/media/lessons/none.webm",
        )
        s.add(lesson)
        await insert_items(
            s,
            course.id,
            [
                ItemInput(ItemKind.SINGLE, f"第 {i} 题：下列表述正确的是", opts, "A")
                for i in range(4)
            ],
        )
        exam = await insert_exam(
            s,
            course.id,
            ExamInput(
                title=f"{LONG_TITLE}考试",
                item_count=4,
                time_limit_s=1800,
                pass_mark=60,
                attempts_allowed=2,
                bonus_credits=Decimal("1"),
                opens_at=now - dt.timedelta(hours=1),
                closes_at=now + dt.timedelta(days=1),
            ),
        )
    attempt = await attempts.start(
        ctx,
        _actor(world, "zhang", "芙蓉区财政局"),
        exam.id,
        ip="127.0.0.1",
        device="phone-test",
        user_agent="test",
        now=now,
    )
    pages = [
        "/learn",
        "/catalog",
        f"/catalog/{course.id}",
        f"/learn/lessons/{lesson.id}",
        "/exams",
        f"/exams/attempts/{attempt.attempt.id}",
        "/archive",
        f"/archive/cases/{fraud.case_id}",
    ]
    async with running(ctx) as base:
        yield Site(base, ctx, pages, world.learners["zhang"].id)


async def _browser_page(width: int, height: int) -> Any:
    from playwright.async_api import async_playwright

    pw = await async_playwright().start()
    browser = await pw.chromium.launch(
        executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu", "--no-first-run"]
    )
    context = await browser.new_context(
        locale="zh-CN", viewport={"width": width, "height": height}, is_mobile=width < 800
    )
    tab = await context.new_page()
    refused: list[str] = []
    tab.on(
        "console",
        lambda msg: refused.append(msg.text) if "Content Security Policy" in msg.text else None,
    )
    return pw, browser, tab, refused


# How many line boxes each menu entry's text takes (1 = on one line).
LINES = """() => Array.from(document.querySelectorAll('.topbar nav a, .topbar .who > *'))
  .map((el) => { const r = document.createRange(); r.selectNodeContents(el);
    const tops = new Set(Array.from(r.getClientRects()).map((x) => Math.round(x.top)));
    return [el.textContent.trim(), tops.size, el.getBoundingClientRect().width > 0]; })"""
OVERFLOW = "() => [document.scrollingElement.scrollWidth, window.innerWidth]"


async def _check_pages(site: Site, width: int, height: int) -> None:
    pw, browser, page, refused = await _browser_page(width, height)
    try:
        await sign_in(page, site.base, "zhang")
        phone = width < 800
        for path in site.pages:
            # The player and the exam page keep talking to the server: wait for load only.
            await page.goto(site.base + path, wait_until="load")
            assert page.url.endswith(path), (path, page.url)
            scroll, inner = await page.evaluate(OVERFLOW)
            assert scroll <= inner, f"{path} at {width}px scrolls sideways: {scroll} > {inner}"
            button = page.locator(".menu-button")
            assert await button.is_visible() is phone
            if phone:
                assert not await page.locator(".topbar nav").is_visible()
                await button.click()
                await page.wait_for_function(
                    "() => document.querySelector('.topbar nav').offsetHeight > 0"
                )
            entries = await page.evaluate(LINES)
            assert [e[0] for e in entries][:4] == ["我的学习", "课程目录", "在线考试", "我的档案"]
            for text, lines, shown in entries:
                assert shown and lines == 1, f"{path} at {width}px: {text!r} on {lines} lines"
            scroll, inner = await page.evaluate(OVERFLOW)
            assert scroll <= inner, f"{path} at {width}px with the menu open: {scroll} > {inner}"
        # The catalog gives a course title the width of the screen, not one character a line.
        await page.goto(site.base + "/catalog")
        title = page.locator("td.title", has_text=LONG_TITLE)
        box = await title.bounding_box()
        assert box is not None
        assert box["width"] >= (0.75 * width if phone else 250)
        # The exam list and the archive keep their figures in reach without sideways scrolling.
        await page.goto(site.base + "/archive")
        assert (await page.locator('[data-credits="total"]').bounding_box() or {"x": 1e9})[
            "x"
        ] < width
    finally:
        await browser.close()
        await pw.stop()
    assert refused == []


@pytest.mark.parametrize(("width", "height"), [*PHONES, DESKTOP])
async def test_learner_pages_fit_the_screen(site: Site, width: int, height: int) -> None:
    await _check_pages(site, width, height)


async def test_staff_report_scrolls_in_its_own_box_and_its_charts_scale(site: Site) -> None:
    """A county administrator's report at 390 px: the page never scrolls sideways, wide tables
    scroll within themselves, and charts shrink to the screen."""
    pw, browser, page, refused = await _browser_page(390, 844)
    try:
        await sign_in(page, site.base, "cs_admin")
        for path in ["/", "/reports", "/review", "/admin/learners", "/admin/exams"]:
            await page.goto(site.base + path)
            await page.wait_for_load_state("networkidle")
            scroll, inner = await page.evaluate(OVERFLOW)
            assert scroll <= inner, f"{path}: {scroll} > {inner}"
        await page.goto(site.base + "/reports")
        charts = page.locator("svg.chart")
        for i in range(await charts.count()):
            box = await charts.nth(i).bounding_box()
            assert box is None or box["x"] + box["width"] <= 390
    finally:
        await browser.close()
        await pw.stop()
    assert refused == []


async def test_certificate_check_fits_a_phone(site: Site) -> None:
    """An HR officer opens a certificate's verification link on a phone, not signed in."""
    code = make_code(site.ctx.secret, site.zhang, YEAR, local_day(utcnow()))
    pw, browser, page, refused = await _browser_page(390, 844)
    try:
        await page.goto(f"{site.base}/verify/{code}")
        scroll, inner = await page.evaluate(OVERFLOW)
        assert scroll <= inner
        total = await page.locator('[data-credits="total"]').bounding_box()
        assert total is not None and total["x"] + total["width"] <= 390
        assert "张*" in await page.inner_text("#verify-name")
    finally:
        await browser.close()
        await pw.stop()
    assert refused == []
