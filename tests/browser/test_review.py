"""A reviewer works a case in headless Chromium; the learner's archive then shows the revocation."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from models import Role
from proctor.kernel.context import Context, open_context
from tests.browser.serving import browser_settings, running
from tests.browser.test_player import CHROMIUM, page, sign_in  # noqa: F401
from tests.factories import add_account, build_world
from tests.proctor.review.helpers import Fraud, seed_fraud

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium not installed"),
]


@pytest.fixture
async def served(
    tmp_path: Path, sqlite_template: Path
) -> AsyncIterator[tuple[str, Context, Fraud]]:
    settings = browser_settings(tmp_path, sqlite_template, "review")
    ctx = open_context(settings)
    world = await build_world(ctx)
    await add_account(ctx, world, "cs_reviewer2", Role.REVIEWER, "长沙市")
    fraud = await seed_fraud(ctx, world)
    async with running(ctx) as base:
        yield base, ctx, fraud


async def test_reviewer_confirms_fraud_from_the_queue_and_the_archive_shows_the_revocation(
    served: tuple[str, Context, Fraud],
    page: Any,  # noqa: F811
) -> None:
    base, _, fraud = served
    await sign_in(page, base, "cs_reviewer")
    await page.click("text=审核案件")
    await page.wait_for_selector("#queue")
    row = page.locator(f'#queue tr[data-href="/review/cases/{fraud.case_id}"]')
    assert await row.count() == 1
    assert "张伟" in await row.inner_text()
    # Keyboard triage: j selects the first row, Enter opens it.
    await page.keyboard.press("j")
    await page.keyboard.press("Enter")
    await page.wait_for_url(f"**/review/cases/{fraud.case_id}")
    # The timelines are pictures: verified vs unverified per day, and the session trace.
    daily = page.locator('svg[data-chart="daily"]')
    assert await daily.is_visible()
    box = await daily.bounding_box()
    assert box is not None and box["width"] > 300 and box["height"] > 80
    assert await page.locator('svg[data-chart="daily"] rect.verified').count() == 7
    assert await page.locator('svg[data-chart="trace"] circle.seek').count() >= 1
    assert await page.locator('svg[data-chart="heat"]').is_visible()
    assert await page.locator('svg[data-chart="lanes"] rect.lane').count() == 2
    # Decide with the keyboard: 2 picks "confirmed credit fraud" and focuses the reason.
    await page.keyboard.press("2")
    await page.keyboard.type("两路会话并行且跳转后无观看时长，认定刷课")
    await page.click("#decide-form button[value=stay]")
    await page.wait_for_load_state("networkidle")
    assert "认定弄虚作假骗取学分" in await page.inner_text("#case-state")

    # The learner sees the revocation, its reason, and can open the case and appeal.
    await page.context.clear_cookies()
    await sign_in(page, base, "zhang")
    assert "学习情况审核结果" in await page.inner_text("main")
    await page.goto(f"{base}/archive")
    for entry in fraud.in_period:
        row = page.locator(f"#entry-{entry}")
        assert "已被冲销" in await row.inner_text()
    reversal_rows = page.locator("tr.reversal")
    assert await reversal_rows.count() == 2
    assert "弄虚作假" in await reversal_rows.first.inner_text()
    assert "认定弄虚作假骗取学分" in await page.inner_text("#cases")
    await page.click(f'#cases a[href="/archive/cases/{fraud.case_id}"]')
    await page.fill("#appeal textarea", "当天在会议室与同事共用电脑，可提供会议记录")
    await page.click("#appeal button")
    await page.wait_for_load_state("networkidle")
    assert "申诉中" in await page.inner_text("#case-state")
