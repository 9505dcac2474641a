"""After an exam the learner reviews their answers with the key, but only once the exam
window has closed: before, neither the page nor the API shows the key."""

from __future__ import annotations

import datetime as dt

from aiohttp.test_utils import TestClient
from sqlalchemy import update

from models import Exam, utcnow
from proctor.kernel.context import Context
from tests.factories import login, world  # noqa: F401
from tests.proctor.exams.test_taking import Setup, answer_all, setup, start  # noqa: F401


async def test_key_is_shown_only_after_the_window_closes(
    ctx: Context,
    client: TestClient,
    setup: Setup,  # noqa: F811
) -> None:
    a = await start(client, setup)
    await answer_all(ctx, client, setup, a, right=7)
    resp = await client.post(
        f"/api/v1/exams/attempts/{a['attempt_id']}/submit", headers=setup.zhang
    )
    assert resp.status == 200
    page_url = f"/exams/attempts/{a['attempt_id']}"

    html = await (await client.get(page_url, headers=setup.zhang)).text()
    assert "exam-review-later" in html and "✓ 正确答案" not in html and "review-item" not in html
    listing = await (await client.get("/exams", headers=setup.zhang)).text()
    assert "查看成绩" in listing and "查看答卷与答案" not in listing

    async with ctx.db.begin() as s:
        await s.execute(update(Exam).values(closes_at=utcnow() - dt.timedelta(seconds=1)))
    html = await (await client.get(page_url, headers=setup.zhang)).text()
    assert 'id="exam-review"' in html
    # Every item shows its key (a multiple choice has several right options).
    assert html.count('class="review-item ') == 10
    assert html.count("✓ 正确答案") >= 10
    assert html.count('class="review-item right"') == 7
    assert html.count('class="review-item wrong"') == 3
    assert html.count("（您的选择）") >= 10
    listing = await (await client.get("/exams", headers=setup.zhang)).text()
    assert f'href="{page_url}">查看答卷与答案' in listing
    # The API serves the attempt, never its key; another learner's attempt does not exist.
    api = await (
        await client.get(f"/api/v1/exams/attempts/{a['attempt_id']}", headers=setup.zhang)
    ).json()
    assert all("key" not in i and "right" not in i for i in api["items"])
    li = await login(client, "li")
    assert (await client.get(page_url, headers=li)).status == 404
