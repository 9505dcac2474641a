"""The Content-Security-Policy in a real browser: our pages work, other sites cannot frame them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from proctor.kernel.context import open_context
from tests.browser.serving import browser_settings, running
from tests.browser.test_player import CHROMIUM, page, sign_in  # noqa: F401
from tests.factories import build_world

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium not installed"),
]


@pytest.fixture
async def served(tmp_path: Path, sqlite_template: Path) -> AsyncIterator[str]:
    ctx = open_context(browser_settings(tmp_path, sqlite_template, "security"))
    await build_world(ctx)
    async with running(ctx) as base:
        yield base


async def test_another_site_cannot_frame_a_page(served: str, page: Any) -> None:  # noqa: F811
    """A page of another origin embedding the sign-in page (to overlay it) gets an empty frame."""
    attacker = await page.context.new_page()
    await attacker.set_content(f'<iframe id="victim" src="{served}/login"></iframe>')
    await attacker.wait_for_load_state("load")
    frame = next(f for f in attacker.frames if f is not attacker.main_frame)
    assert await frame.locator("input[name=password]").count() == 0
    # The same page opened directly works.
    await page.goto(f"{served}/login")
    assert await page.locator("input[name=password]").count() == 1


async def test_filters_error_page_and_sign_out_work_without_inline_script(
    served: str,
    page: Any,  # noqa: F811
) -> None:
    await sign_in(page, served, "cs_reviewer")
    await page.goto(f"{served}/admin/flags")
    await page.select_option("select[name=band]", "high")  # submits the filter (app.js)
    await page.wait_for_url("**/admin/flags?band=high*")
    await page.goto(f"{served}/catalog/999999")
    assert "出错了" in await page.inner_text("h1")
    await page.click("text=返回上一页")
    await page.wait_for_url("**/admin/flags?band=high*")
    await page.click("button:has-text('退出')")  # a form post, with the browser's Origin
    await page.wait_for_url("**/login")
    await page.goto(f"{served}/review")
    assert "/login" in page.url
