"""A city administrator drills down from the city to a learner in headless Chromium."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from proctor.kernel.context import Context, open_context
from tests.browser.serving import browser_settings, running
from tests.browser.test_player import CHROMIUM, page, sign_in  # noqa: F401
from tests.factories import World, build_world
from tests.proctor.reports.helpers import YEAR, seed_year

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium not installed"),
]


@pytest.fixture
async def served(tmp_path: Path, sqlite_template: Path) -> AsyncIterator[tuple[str, World]]:
    settings = browser_settings(tmp_path, sqlite_template, "reports")
    ctx: Context = open_context(settings)
    world = await build_world(ctx)
    await seed_year(ctx, world)
    async with running(ctx) as base:
        yield base, world


async def test_city_admin_drills_down_to_a_learner(
    served: tuple[str, World],
    page: Any,  # noqa: F811
) -> None:
    base, world = served
    await sign_in(page, base, "cs_admin")
    await page.click("text=学习统计")
    await page.wait_for_selector("#summary")
    await page.select_option("select[name=year]", str(YEAR))
    await page.wait_for_url(f"**year={YEAR}**")
    assert "长沙市" in await page.inner_text("h1")
    # The city's counties, and nobody else's.
    rows = page.locator("#drill tbody tr")
    assert await rows.count() == 2
    assert "株洲市" not in await page.inner_text("#children")
    for chart in ("curve", "distribution", "ranking"):
        svg = page.locator(f'svg[data-chart="{chart}"]')
        assert await svg.is_visible(), chart
        box = await svg.bounding_box()
        assert box is not None and box["width"] > 300, chart
    assert await page.locator('svg[data-chart="ranking"] rect.bar').count() == 2
    # 芙蓉区: 2 target learners (zhang met, li behind).
    await page.click("#drill >> text=芙蓉区")
    await page.wait_for_selector("#trail >> text=长沙市")
    assert await page.inner_text('#summary [data-figure="target"]') == "2"
    await page.click("#drill >> text=芙蓉区财政局")
    await page.wait_for_selector("#learners")
    assert "芙蓉区财政局" in await page.inner_text("h1")
    assert await page.locator("#learners tbody tr").count() == 1
    await page.click("#learners >> text=张伟")
    await page.wait_for_url(f"**/admin/learners/{world.learners['zhang'].id}/archive**")
    assert await page.inner_text('[data-credits="total"]') == "32.00"
    # Back up the trail to the city, then to the evaluation: zhang (finding) is no candidate.
    await page.goto(f"{base}/reports/evaluation?year={YEAR}")
    awards = await page.inner_text("#learner-awards")
    assert "王芳" in awards and "张伟" not in awards
