"""The flags page and the review queue page through results and filter by an org node."""

from __future__ import annotations

import datetime as dt

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import insert

from models import DetectionFlag
from proctor.kernel import paging
from proctor.kernel.context import Context
from tests.factories import World, login


async def _flags(ctx: Context, world: World, per_learner: int) -> None:
    rows = [
        {
            "learner_id": world.learners[who].id,
            "period_start": dt.date(2026, 3, 1) + dt.timedelta(days=7 * n),
            "period_end": dt.date(2026, 3, 7) + dt.timedelta(days=7 * n),
            "risk": 0.5 + (n % 50) / 100,
            "band": "high" if n % 3 == 0 else "medium",
            "kind": "proxy",
            "rules": [],
            "drivers": [],
            "model_version": "t",
            "thresholds": {},
            "status": "open",
            "source": "study",
            "evidence": {},
        }
        for who in ("zhang", "li", "wang", "zhao")
        for n in range(per_learner)
    ]
    async with ctx.db.begin() as s:
        await s.execute(insert(DetectionFlag), rows)


async def test_flags_page_through_and_filter_by_org(
    client: TestClient, ctx: Context, world: World
) -> None:
    """60 flags per learner: the city sees 180 in pages of 50, riskiest first with no repeats;
    picking 芙蓉区 leaves 120; another city's node is 404; a liaison is 403."""
    await _flags(ctx, world, 60)
    city = await login(client, "cs_admin")
    seen: list[int] = []
    for offset in range(0, 200, 50):
        body = await (
            await client.get(f"/api/v1/flags?limit=50&offset={offset}", headers=city)
        ).json()
        assert body["total"] == 180 and body["capped"] is False
        seen += [f["id"] for f in body["items"]]
        risks = [f["risk"] for f in body["items"]]
        assert risks == sorted(risks, reverse=True)
    assert len(seen) == len(set(seen)) == 180
    county = world.org("芙蓉区").id
    body = await (await client.get(f"/api/v1/flags?org={county}&band=high", headers=city)).json()
    assert body["total"] == 40
    assert {f["learner_name"] for f in body["items"]} == {"张伟", "李娜"}
    other = await client.get(f"/api/v1/flags?org={world.org('株洲市').id}", headers=city)
    assert other.status == 404
    liaison = await login(client, "fr_liaison")
    assert (await client.get("/api/v1/flags", headers=liaison)).status == 403
    html = await (await client.get(f"/admin/flags?org={county}&page=3", headers=city)).text()
    assert "共 120 条" in html and "长沙市 / 芙蓉区" in html and "第 3 页" in html
    assert 'id="next-page"' not in html and "onchange" not in html


async def test_counts_stop_at_the_cap(
    client: TestClient, ctx: Context, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past the cap the page says "N+" and still offers the next page."""
    await _flags(ctx, world, 30)
    monkeypatch.setattr(paging.bounded_count, "__defaults__", (100,))
    academy = await login(client, "academy")
    body = await (await client.get("/api/v1/flags?limit=50", headers=academy)).json()
    assert (body["total"], body["capped"]) == (100, True)
    html = await (await client.get("/admin/flags?page=2", headers=academy)).text()
    assert "共 100+ 条" in html and 'id="next-page"' in html
    queue = await (await client.get("/api/v1/cases", headers=academy)).json()
    assert queue["capped"] is False


async def test_flags_filter_by_source(client: TestClient, ctx: Context, world: World) -> None:
    """Exam forensics' flags and the study detection's are told apart: a reviewer lists
    one kind at a time, by API and on the page."""
    await _flags(ctx, world, 3)
    async with ctx.db.begin() as s:
        await s.execute(
            insert(DetectionFlag),
            [
                {
                    "learner_id": world.learners["zhang"].id,
                    "period_start": dt.date(2026, 6, 1),
                    "period_end": dt.date(2026, 6, 1),
                    "risk": 0.7,
                    "band": "medium",
                    "kind": "exam",
                    "rules": [{"id": "C09", "name": "多场考试同场同地", "text": "合并 p = 1e-5"}],
                    "drivers": [],
                    "model_version": "exam-forensics-2",
                    "thresholds": {},
                    "status": "open",
                    "source": "exam",
                    "evidence": {"type": "repeated_copying"},
                }
            ],
        )
    city = await login(client, "cs_admin")
    exam = await (await client.get("/api/v1/flags?source=exam", headers=city)).json()
    study = await (await client.get("/api/v1/flags?source=study", headers=city)).json()
    both = await (await client.get("/api/v1/flags", headers=city)).json()
    assert [f["source"] for f in exam["items"]] == ["exam"]
    assert study["total"] + exam["total"] == both["total"] and study["total"] >= 3
    assert all(f["source"] == "study" for f in study["items"])
    bad = await client.get("/api/v1/flags?source=quiz", headers=city)
    assert bad.status == 422 and "source" in (await bad.text())
    html = await (await client.get("/admin/flags?source=exam", headers=city)).text()
    assert "共 1 条" in html and "C09" in html and "主要异常特征" not in html
