"""/metrics after a few beats, who may read it, and one JSON log line per request.

Counters are process-wide, so each test reads them before and after and checks the change.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from prometheus_client.parser import text_string_to_metric_families

from proctor.kernel.logs import JsonFormatter, stamp_request_id
from proctor.web.app import create_app
from tests.factories import World, login
from tests.tracker import test_tracker_http as base
from tests.tracker.conftest import FakeClock
from tests.tracker.test_tracker_http import Player, add_course, beat
from tracker.web.keys import TRACKER

# The tracker tests' fixtures: the app on each store and database, the shared world.
app_client = base.app_client
tctx = base.tctx
world = base.world

BEATS_ROUTE = "/api/v1/track/sessions/{sid}/beats"
ROOT = Path(__file__).resolve().parents[2]


async def scrape(
    client: TestClient, **headers: str
) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    resp = await client.get("/metrics", headers=headers)
    assert resp.status == 200, await resp.text()
    assert resp.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    out: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for family in text_string_to_metric_families(await resp.text()):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def value(samples: dict[Any, float], name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_metrics_count_beats_verification_and_requests(
    app_client: TestClient, tctx: Any, world: World, clock: FakeClock
) -> None:
    (lesson,) = await add_course(tctx, world, [600])
    player = Player(app_client, await login(app_client, "zhang"))
    await player.start(lesson)
    before = await scrape(app_client)
    for seq in (1, 2, 3):
        await player.beat(beat(seq, (seq - 1) * 10.0))
        clock.advance(10)
    status, body = await player.post("/beats", beat(4, 30.0), token="forged")
    assert status == 403 and body["title"] == "bad_token"
    after = await scrape(app_client)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("proctor_beats_accepted_total") == 3
    assert delta("proctor_beats_refused_total", code="bad_token") == 1
    assert delta("proctor_beat_verification_seconds_count") == 3
    assert delta("proctor_hotstate_roundtrip_seconds_count", op="commit") >= 3
    assert (
        delta("proctor_http_request_duration_seconds_count", route=BEATS_ROUTE, method="POST") == 4
    )
    assert delta("proctor_http_requests_total", route=BEATS_ROUTE, method="POST", status="200") == 3
    assert delta("proctor_http_requests_total", route=BEATS_ROUTE, method="POST", status="403") == 1
    assert value(after, "proctor_study_sessions_active") == 1
    assert ("proctor_evidence_pending", ()) in after
    assert ("proctor_db_pool_connections_in_use", ()) in after
    text = await (await app_client.get("/metrics")).text()
    for family in (
        "proctor_challenges_issued_total counter",
        "proctor_challenges_answered_total counter",
        "proctor_evidence_writer_lag_seconds histogram",
        "proctor_evidence_written_total counter",
        "proctor_job_runs_total counter",
        "proctor_job_duration_seconds histogram",
        "proctor_flags_raised_total counter",
        "proctor_study_sessions_active gauge",
        "proctor_evidence_pending gauge",
        "proctor_db_pool_connections_in_use gauge",
    ):
        assert f"# TYPE {family}" in text, family
    assert "_created" not in text  # no creation-time series: half the lines, no use here


async def test_metrics_only_for_monitoring(tctx: Any, aiohttp_client: Any) -> None:
    # The test client connects from loopback, which is allowed by default.
    client = await aiohttp_client(create_app(ctx=tctx))
    assert (await client.get("/metrics")).status == 200
    # Relayed by a proxy: the public, whatever the proxy's own address.
    resp = await client.get("/metrics", headers={"X-Forwarded-For": "127.0.0.1"})
    assert resp.status == 403
    assert (await resp.json())["title"] == "forbidden"
    tctx.settings = tctx.settings.model_copy(
        update={"metrics_allow": "10.9.0.0/16", "metrics_token": "s3cret-scrape"}
    )
    assert (await client.get("/metrics")).status == 403
    assert (await client.get("/metrics", headers={"Authorization": "Bearer wrong"})).status == 403
    ok = await client.get(
        "/metrics",
        headers={"Authorization": "Bearer s3cret-scrape", "X-Forwarded-For": "203.0.113.9"},
    )
    assert ok.status == 200


async def test_one_json_line_per_request_with_its_id(
    app_client: TestClient,
    tctx: Any,
    world: World,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    (lesson,) = await add_course(tctx, world, [600])
    headers = await login(app_client, "zhang")
    player = Player(app_client, headers)
    await player.start(lesson)
    caplog.clear()
    caplog.set_level(logging.INFO, logger="proctor.access")
    resp = await app_client.get("/api/v1/me", headers=headers | {"X-Request-Id": "lb-42.a"})
    assert resp.headers["X-Request-Id"] == "lb-42.a"
    await player.beat(beat(1, 0.0))
    made = await app_client.get("/no/such/page")
    assert len(made.headers["X-Request-Id"]) == 16  # generated when none was offered
    app_client.session.cookie_jar.clear()  # signed out
    bad = await app_client.get("/api/v1/me", headers={"X-Request-Id": "bad id\u2028"})
    assert bad.headers["X-Request-Id"] != "bad id\u2028"

    lines = [r for r in caplog.records if r.name == "proctor.access"]
    assert len(lines) == 4
    me, beat_line, missing, anonymous = (json.loads(JsonFormatter().format(r)) for r in lines)
    assert me["request_id"] == "lb-42.a"
    assert me["route"] == "/api/v1/me" and me["status"] == 200 and me["method"] == "GET"
    assert me["actor_id"] == world.accounts["zhang"].id
    assert isinstance(me["duration_ms"], float) and "time" in me
    assert beat_line["route"] == BEATS_ROUTE and beat_line["status"] == 200
    assert beat_line["learner_id"] == world.learners["zhang"].id
    assert missing["route"] == "unmatched" and missing["status"] == 404
    assert missing["request_id"] == made.headers["X-Request-Id"]
    assert anonymous["status"] == 401 and "actor_id" not in anonymous
    text = "\n".join(JsonFormatter().format(r) for r in lines)
    for personal in ("张伟", "zhang", "Bearer"):
        assert personal not in text


async def test_client_gone_mid_beat_is_one_line_not_a_traceback(
    app_client: TestClient,
    tctx: Any,
    world: World,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    (lesson,) = await add_course(tctx, world, [600])
    player = Player(app_client, await login(app_client, "zhang"))
    await player.start(lesson)
    caplog.clear()
    caplog.set_level(logging.INFO)
    server = app_client.server
    _reader, writer = await asyncio.open_connection(server.host, server.port)
    head = (
        f"POST /api/v1/track/sessions/{player.sid}/beats HTTP/1.1\r\n"
        f"Host: x\r\nContent-Type: application/json\r\nContent-Length: 400\r\n"
        f"X-Study-Token: {player.token}\r\nX-Request-Id: gone-1\r\n\r\n"
    )
    writer.write(head.encode())
    await writer.drain()
    await asyncio.sleep(0.2)
    writer.close()  # the player's tab closed before the body
    for _ in range(50):
        if any(r.name == "proctor.access" for r in caplog.records):
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.2)
    lines = [r for r in caplog.records if r.name == "proctor.access"]
    assert len(lines) == 1
    line = json.loads(JsonFormatter().format(lines[0]))
    assert line["status"] == 499 and line["client_gone"] is True
    assert line["request_id"] == "gone-1"
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]


def test_workers_counts_are_summed(tmp_path: Path) -> None:
    """Multiprocess mode (as `proctor serve --workers N` sets it up): what two processes
    counted is one sum in the exposition any of them serves."""
    env = os.environ | {"PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "PYTHONPATH": str(ROOT)}
    for n in (3, 4):
        code = f"from tracker import metrics\nfor _ in range({n}): metrics.BEATS_ACCEPTED.inc()"
        subprocess.run([sys.executable, "-c", code], env=env, check=True)  # noqa: S603
    code = "from proctor.kernel import metrics; print(metrics.exposition({}).decode())"
    out = subprocess.run(  # noqa: S603
        [sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True
    ).stdout
    samples = {s.name: s.value for f in text_string_to_metric_families(out) for s in f.samples}
    assert samples["proctor_beats_accepted_total"] == 7


async def test_work_a_request_causes_logs_its_request_id(
    app_client: TestClient, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The readiness probe checks its dependencies in tasks of their own; the warning one of
    them logs carries the id of the request that caused it."""

    async def down() -> None:
        raise ConnectionError("refused")

    monkeypatch.setattr(app_client.server.app[TRACKER].store, "ping", down)
    caplog.handler.addFilter(stamp_request_id)
    caplog.set_level(logging.INFO)
    resp = await app_client.get("/readyz", headers={"X-Request-Id": "probe-7"})
    assert resp.status == 503 and resp.headers["X-Request-Id"] == "probe-7"
    # Only the hot state is down; on a loaded machine the database check may time out too.
    (warning,) = [
        r for r in caplog.records if r.levelno == logging.WARNING and "hot state" in r.getMessage()
    ]
    assert "hot state does not answer" in warning.getMessage()
    assert json.loads(JsonFormatter().format(warning))["request_id"] == "probe-7"
