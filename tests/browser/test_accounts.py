"""Accounts and people in headless Chromium: a reset with its printed sheet and the forced
change, a transfer picked by name in the org tree, "forgot password", the org tree page."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from proctor.kernel.context import Context, open_context
from proctor.orgs.contacts import new_liaison
from tests.browser.serving import browser_settings, running
from tests.browser.test_player import CHROMIUM, page, sign_in  # noqa: F401
from tests.factories import World, build_world

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium not installed"),
]


@pytest.fixture
async def served(tmp_path: Path, sqlite_template: Path) -> AsyncIterator[tuple[str, World]]:
    ctx: Context = open_context(browser_settings(tmp_path, sqlite_template, "accounts"))
    world = await build_world(ctx)
    async with ctx.db.begin() as s:
        s.add(new_liaison(ctx.vault, world.org("芙蓉区财政局").id, "刘洋", "13800138000"))
    async with running(ctx) as base:
        yield base, world


async def test_reset_print_and_forced_change(
    served: tuple[str, World],
    page: Any,  # noqa: F811
) -> None:
    base, world = served
    page.on("dialog", lambda dialog: dialog.accept())
    # The learner forgot their password: the login page says whom to ask.
    await page.goto(f"{base}/login")
    await page.click("#forgot-link")
    await page.fill("input[name=username]", "zhang")
    await page.fill("input[name=name]", "张伟")
    await page.click("#forgot button[type=submit]")
    contacts = await page.inner_text("#contacts")
    assert "刘洋" in contacts and "138****8000" in contacts

    # The county administrator resets it from the learner's record and gets a sheet to print.
    await sign_in(page, base, "fr_admin")
    await page.goto(f"{base}/admin/learners/{world.learners['zhang'].id}")
    await page.click("#reset-password")
    await page.wait_for_selector("#credentials-sheet")
    password = (await page.inner_text("#issued-password")).strip()
    assert await page.locator("#print-sheet").is_visible()
    assert "张伟" in await page.inner_text("#credentials-sheet")
    await page.context.clear_cookies()

    # The learner signs in with it and must choose a new password first.
    await page.goto(f"{base}/login")
    await page.fill("input[name=username]", "zhang")
    await page.fill("input[name=password]", password)
    await page.click("button[type=submit]")
    await page.wait_for_url("**/password")


async def test_transfer_by_name_and_refusals(
    served: tuple[str, World],
    page: Any,  # noqa: F811
) -> None:
    base, world = served
    await sign_in(page, base, "cs_admin")
    await page.goto(f"{base}/admin/learners/{world.learners['zhang'].id}")
    await page.select_option("#edit-learner select[name=rank]", "乡科级正职")
    picker = page.locator("#edit-learner .org-picker-q")
    await picker.fill("天心区财")
    await page.click("#edit-learner .org-picker-results li:has-text('天心区财政局')")
    await page.click("#edit-learner button[type=submit]")
    await page.wait_for_load_state("networkidle")
    assert "已保存" in await page.inner_text("main")
    assert await page.inner_text("#learner-unit") == "天心区财政局"
    assert await page.inner_text("#learner-rank") == "乡科级正职"

    # The org tree: the city adds a unit under a county, found by browsing, not by number.
    await page.goto(f"{base}/admin/orgs?org={world.org('芙蓉区').id}")
    await page.fill("#add-child input[name=name]", "芙蓉区卫健局")
    await page.click("#add-child button[type=submit]")
    await page.wait_for_load_state("networkidle")
    assert "芙蓉区卫健局" in await page.inner_text("#children")

    # Outside the authority: 404; the wrong role: 403.
    await page.context.clear_cookies()
    await sign_in(page, base, "fr_admin")
    resp = await page.goto(f"{base}/admin/learners/{world.learners['zhao'].id}")
    assert resp is not None and resp.status == 404
    await page.context.clear_cookies()
    await sign_in(page, base, "cs_reviewer")
    resp = await page.goto(f"{base}/admin/accounts")
    assert resp is not None and resp.status == 403
    resp = await page.goto(f"{base}/admin/orgs")
    assert resp is not None and resp.status == 403
