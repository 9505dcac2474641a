"""Probes for the process supervisor and the load balancer.

``/healthz`` says the process answers (restart it if not); ``/readyz`` says it can serve
(send it traffic only then): the database and the hot state both answer. Neither needs a
login, so neither names more than which dependency failed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from sqlalchemy import text

from proctor.web.endpoint import Routes
from proctor.web.keys import ctx_of
from tracker.web.keys import TRACKER
from tracker.web.problem import problem

log = logging.getLogger(__name__)
routes = Routes(tag="health")

# A dependency slower than this to answer a trivial request is as good as down.
PROBE_TIMEOUT_S = 2.0


@routes.get("/healthz", public=True)
async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"ok": True})


async def _answers(name: str, probe: Callable[[], Awaitable[Any]]) -> bool:
    try:
        async with asyncio.timeout(PROBE_TIMEOUT_S):
            await probe()
    except Exception as exc:  # noqa: BLE001 - any failure means "not ready"
        log.warning("readiness: %s does not answer: %s: %s", name, type(exc).__name__, exc)
        return False
    return True


@routes.get("/readyz", public=True)
async def readyz(request: web.Request) -> web.Response:
    ctx = ctx_of(request)

    async def database() -> None:
        async with ctx.engine.connect() as conn:
            await conn.execute(text("select 1"))

    results = await asyncio.gather(
        _answers("database", database),
        _answers("hot state", request.config_dict[TRACKER].store.ping),
    )
    checks = {
        name: "ok" if ok else "unavailable"
        for name, ok in zip(("database", "hot_state"), results, strict=True)
    }
    if all(results):
        return web.json_response({"ok": True, "checks": checks})
    down = "、".join(
        {"database": "数据库", "hot_state": "学习记录热数据存储"}[n]
        for n, v in checks.items()
        if v != "ok"
    )
    return problem(
        503, "not_ready", f"服务暂不可用：{down}无响应", headers={"Retry-After": "5"}, checks=checks
    )
