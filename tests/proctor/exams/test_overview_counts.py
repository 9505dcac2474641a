"""The staff exam overview counts examinees, not attempts."""

from __future__ import annotations

import re

from aiohttp.test_utils import TestClient

from proctor.kernel.context import Context
from tests.factories import World, world  # noqa: F401
from tests.proctor.exams.test_taking import Setup, answer_all, setup, start  # noqa: F401


async def test_a_second_attempt_is_not_a_second_examinee(
    ctx: Context,
    client: TestClient,
    setup: Setup,  # noqa: F811
) -> None:
    """zhang fails, sits again and passes: 参考人数 1, 已交卷 1, 通过 1（100%）, not 1 · 2 · 1（50%）."""
    for right in (3, 8):
        a = await start(client, setup)
        await answer_all(ctx, client, setup, a, right=right)
        resp = await client.post(
            f"/api/v1/exams/attempts/{a['attempt_id']}/submit", headers=setup.zhang
        )
        assert resp.status == 200
    html = await (await client.get("/admin/exams", headers=setup.academy)).text()
    row = re.search(rf'<tr data-exam-id="{setup.exam_id}">.*?</tr>', html, re.S)
    assert row is not None
    nums = re.findall(r'<td class="num">([^<]*)', row.group(0))
    assert nums[:4] == ["1", "1", "1（100%）", "80.0"]  # the mean of each examinee's best score
