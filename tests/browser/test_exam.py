"""A learner takes an exam in headless Chromium: resume after a reload, focus losses recorded,
a pass, and the bonus credit in the archive."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update

from models import Exam, ExamAttempt, ExamEvent, ExamItem, ItemKind, utcnow
from proctor.exams.bank import ExamInput, ItemInput, insert_exam, insert_items
from proctor.kernel.context import Context, open_context
from tests.browser.serving import browser_settings, running
from tests.browser.test_player import CHROMIUM, page, sign_in  # noqa: F401
from tests.factories import build_world
from tests.proctor.archive.helpers import add_course

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium not installed"),
]


@pytest.fixture
async def served(tmp_path: Path, sqlite_template: Path) -> AsyncIterator[tuple[str, Context]]:
    settings = browser_settings(tmp_path, sqlite_template, "exam")
    ctx = open_context(settings)
    world = await build_world(ctx)
    course = await add_course(ctx, world, "EXB", "廉洁从政专题")
    opts = [{"id": c, "text": t} for c, t in zip("ABCD", ["甲", "乙", "丙", "丁"], strict=True)]
    items = [
        ItemInput(ItemKind.SINGLE, f"第 {i} 题：选出正确的表述", opts, "ABCD"[i % 4])
        for i in range(8)
    ]
    items.append(ItemInput(ItemKind.MULTIPLE, "多选：哪些属于纪律要求", opts, "BD"))
    items.append(
        ItemInput(
            ItemKind.TRUE_FALSE,
            "判断：学时以服务器核验为准",
            [{"id": "T", "text": "正确"}, {"id": "F", "text": "错误"}],
            "T",
        )
    )
    now = utcnow()
    async with ctx.db.begin() as s:
        await insert_items(s, course.id, items)
        await insert_exam(
            s,
            course.id,
            ExamInput(
                title="廉洁从政专题考试",
                item_count=6,
                time_limit_s=1200,
                pass_mark=60,
                attempts_allowed=2,
                bonus_credits=Decimal("1.5"),
                opens_at=now - dt.timedelta(hours=1),
                closes_at=now + dt.timedelta(days=1),
            ),
        )
    async with running(ctx) as base:
        yield base, ctx


async def _choose(key: dict[int, str], box: Any) -> None:
    item_id = int(await box.get_attribute("data-item-id"))
    for option in key[item_id]:
        await box.locator(f'input[value="{option}"]').check()


async def test_take_and_pass_an_exam_with_resume_and_focus_losses(
    served: tuple[str, Context],
    page: Any,  # noqa: F811
) -> None:
    base, ctx = served
    async with ctx.db() as s:
        key = {i.id: i.key for i in await s.scalars(select(ExamItem))}
    await sign_in(page, base, "zhang")
    await page.click("text=在线考试")
    # Starting asks first: how long, how many attempts are left, what is recorded.
    await page.click("button.start-exam")
    confirm = page.locator("#exam-confirm")
    assert await confirm.is_visible()
    told = await confirm.inner_text()
    assert "20 分钟" in told and "第 1 次考试（共 2 次）" in told and "还剩 1 次机会" in told
    assert "离开考试页面" in told and "复制粘贴" in told and "设备" in told
    await page.click("#exam-confirm-cancel")
    assert not await confirm.is_visible()
    async with ctx.db() as s:
        assert await s.scalar(select(func.count()).select_from(ExamAttempt)) == 0
    await page.click("button.start-exam")
    await page.click("#exam-confirm-start")
    await page.wait_for_url("**/exams/attempts/*")
    timer = (await page.inner_text("#exam-timer")).strip()
    assert timer.startswith(("20:", "19:"))
    boxes = page.locator(".exam-item")
    assert await boxes.count() == 6
    # The answer card: every item unanswered, a number jumps to its item.
    await page.click("#answer-card summary")
    assert await page.locator("#answer-card a.unanswered").count() == 6
    await page.click("#answer-card a >> text=5")
    assert page.url.endswith("#q-5")
    assert not await page.locator("#answer-card ol").is_visible()  # closes after the jump
    for i in range(3):
        await _choose(key, boxes.nth(i))
    await page.wait_for_function(
        "() => document.getElementById('exam-answered').textContent === '3'"
    )
    assert await page.locator("#answer-card a.answered").count() == 3
    assert (await page.inner_text("#exam-unanswered")).strip() == "3"
    # A reload (or a lost connection) resumes with the saved answers and the server's clock.
    await page.reload()
    await page.wait_for_selector(".exam-item")
    assert await page.locator(".exam-item input:checked").count() >= 3
    assert (await page.inner_text("#exam-answered")).strip() == "3"
    # The learner switches away from the exam window four times.
    for _ in range(4):
        await page.evaluate(
            "window.dispatchEvent(new Event('blur')); window.dispatchEvent(new Event('focus'))"
        )
    boxes = page.locator(".exam-item")
    assert await page.locator("#answer-card a.answered").count() == 3  # restored on reload
    for i in range(3, 5):
        await _choose(key, boxes.nth(i))
    await page.wait_for_function(
        "() => document.getElementById('exam-answered').textContent === '5'"
    )
    # Handing in says how many are unanswered and asks; going back keeps the attempt open.
    await page.click("#exam-submit")
    assert "还有 1 题未作答" in await page.inner_text("#submit-dialog")
    await page.click("#exam-submit-cancel")
    assert await page.locator("#exam-timer").count() == 1
    await _choose(key, boxes.nth(5))
    await page.wait_for_function(
        "() => document.getElementById('exam-answered').textContent === '6'"
    )
    await page.click("#exam-submit")
    assert "全部 6 题均已作答" in await page.inner_text("#submit-dialog")
    await page.click("#exam-submit-confirm")
    await page.wait_for_selector("#exam-result")
    result = await page.inner_text("#exam-result")
    assert "100" in await page.inner_text("#exam-score")
    assert "考试通过" in result and "1.50" in await page.inner_text("#exam-bonus")
    assert (await page.locator("#exam-events td", has_text="考试窗口失去焦点").count()) == 4
    async with ctx.db() as s:
        kinds = [e.kind for e in await s.scalars(select(ExamEvent))]
    assert kinds.count("blur") == 4 and kinds.count("resume") >= 2
    # The key stays hidden while the exam window is open, then the learner can review.
    assert await page.locator("#exam-review").count() == 0
    assert "结束后，可在此查看您的答卷和正确答案" in await page.inner_text("#exam-review-later")
    attempt_url = page.url.split("#")[0]
    async with ctx.db.begin() as s:
        await s.execute(update(Exam).values(closes_at=utcnow() - dt.timedelta(minutes=1)))
    await page.goto(f"{base}/exams")
    await page.click("text=查看答卷与答案")
    assert page.url == attempt_url
    review = page.locator("#exam-review .review-item")
    assert await review.count() == 6
    assert await page.locator("#exam-review .review-item.right").count() == 6
    assert await page.locator("#exam-review li.key").count() >= 6
    assert "正确答案" in await review.first.inner_text()
    # The bonus credit is in the learner's archive.
    await page.click("text=我的档案")
    assert "1.50" in await page.inner_text('[data-credits="bonus"]')
    assert "廉洁从政专题" in await page.inner_text("main")
