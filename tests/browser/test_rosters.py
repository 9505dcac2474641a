"""Rosters in headless Chromium: approve the valid rows, return the rest, fix a row in place,
withdraw a batch."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from proctor.kernel.context import Context, open_context
from tests.browser.serving import browser_settings, running
from tests.browser.test_player import CHROMIUM, page, sign_in  # noqa: F401
from tests.factories import World, build_world
from tests.proctor.rosters.helpers import XLSX_MIME, person, xlsx

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium not installed"),
]


@pytest.fixture
async def served(tmp_path: Path, sqlite_template: Path) -> AsyncIterator[tuple[str, World]]:
    ctx: Context = open_context(browser_settings(tmp_path, sqlite_template, "rosters"))
    world = await build_world(ctx)
    async with running(ctx) as base:
        yield base, world


async def _upload(page: Any, base: str, rows: list[list[Any]]) -> str:  # noqa: F811
    await page.goto(f"{base}/admin/rosters")
    await page.set_input_files(
        "input[name=file]", {"name": "花名册.xlsx", "mimeType": XLSX_MIME, "buffer": xlsx(rows)}
    )
    await page.click("form[enctype] button[type=submit]")
    await page.wait_for_url("**/admin/rosters/*?msg=uploaded")
    return str(page.url.split("?")[0])


async def test_return_fix_and_withdraw(
    served: tuple[str, World],
    page: Any,  # noqa: F811
) -> None:
    base, _ = served
    page.on("dialog", lambda dialog: dialog.accept())
    await sign_in(page, base, "fr_liaison")
    rows = [person("张三", 1), person("李四", 2, phone="12345"), person("王五", 3)]
    batch = await _upload(page, base, rows)
    assert "撤回本批次" in await page.inner_text("#withdraw")

    await page.context.clear_cookies()
    await sign_in(page, base, "fr_admin")
    await page.goto(batch)
    await page.click("#approve-valid button")
    await page.wait_for_url("**?msg=partial")
    assert "退回" in await page.inner_text("#returned-note")
    assert await page.locator("span.badge:has-text('已创建')").count() == 2

    await page.context.clear_cookies()
    await sign_in(page, base, "fr_liaison")
    await page.goto(batch)
    await page.click("a.fix-row")
    assert "手机号格式不正确" in await page.inner_text("#row-problems")
    await page.fill("#fix-row input[name=phone]", "13912340002")
    await page.click("#fix-row button[type=submit]")
    await page.wait_for_url("**?msg=fixed")
    assert "待审批" in await page.inner_text("main")

    await page.context.clear_cookies()
    await sign_in(page, base, "fr_admin")
    await page.goto(batch)
    await page.click("#decide form[action$='/approve'] button")
    await page.wait_for_url("**?msg=approved")
    assert await page.locator("span.badge:has-text('已创建')").count() == 3

    # A second batch is withdrawn by its uploader before anyone approves it.
    await page.context.clear_cookies()
    await sign_in(page, base, "fr_liaison")
    other = await _upload(page, base, [person("赵六", 4)])
    await page.click("#withdraw button")
    await page.wait_for_url("**?msg=withdrawn")
    assert "已撤回" in await page.inner_text("main")
    assert other in page.url
