"""To-do pages, reminders and the org picker in headless Chromium."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from models import utcnow
from proctor.kernel.calendar import ACADEMY_TZ
from proctor.kernel.context import Context, open_context
from tests.browser.serving import browser_settings, running
from tests.browser.test_player import CHROMIUM, page, sign_in  # noqa: F401
from tests.factories import World, build_world
from tests.proctor.detection.test_flag_pages import _flags
from tests.proctor.reminders.test_reminders import _seed

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium not installed"),
]


@pytest.fixture
async def served(tmp_path: Path, sqlite_template: Path) -> AsyncIterator[tuple[str, World]]:
    ctx: Context = open_context(browser_settings(tmp_path, sqlite_template, "todo"))
    world = await build_world(ctx)
    await _seed(ctx, world, utcnow())
    await _flags(ctx, world, 5)
    async with running(ctx) as base:
        yield base, world


async def test_home_reminders_and_pickers(
    served: tuple[str, World],
    page: Any,  # noqa: F811
) -> None:
    base, _ = served
    page.on("dialog", lambda dialog: dialog.accept())
    await sign_in(page, base, "cs_admin")
    todo = page.locator("#todo")
    assert "待处理的高风险案件" in await todo.inner_text()
    assert await page.inner_text("[data-todo=cases_high] strong") == "1"
    behind = int(await page.inner_text("[data-todo=behind] strong"))
    if dt.datetime.now(ACADEMY_TZ).month > 1:
        assert behind >= 3
    await page.click("#remind-behind button")
    await page.wait_for_url("**/admin/reminders?kind=behind*")
    assert "名进度落后的学员发送提醒" in await page.inner_text("#sent-result")
    assert await page.locator("#sent tbody tr").count() == behind or behind == 0

    # The flags page: pick 芙蓉区 by typing part of its name, not its number.
    await page.goto(f"{base}/admin/flags")
    assert "共 15 条" in await page.inner_text("#flag-count")
    await page.fill("#flag-filters .org-picker-q", "芙蓉")
    await page.click("#flag-filters .org-picker-results li:has-text('芙蓉区')")
    await page.wait_for_url("**/admin/flags?*org=*")
    assert "共 10 条（湖南省 / 长沙市 / 芙蓉区）" in await page.inner_text("#flag-count")

    # The reviewer's queue, by browsing the tree to 天心区: none of its cases are open.
    await page.context.clear_cookies()
    await sign_in(page, base, "cs_reviewer")
    assert await page.inner_text("[data-todo=cases_due] strong") == "1"
    await page.goto(f"{base}/review")
    await page.click("#queue-filters .org-picker-browse")
    await page.click("#queue-filters .org-picker-results li:has-text('天心区')")
    await page.click("#queue-filters button[type=submit]")
    await page.wait_for_url("**/review?*org=*")
    assert "没有符合条件的案件" in await page.inner_text("#queue")
