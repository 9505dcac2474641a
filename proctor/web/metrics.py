"""``GET /metrics``: the Prometheus text exposition, for the monitoring system only.

Answered when the request comes straight from an allowed network (``PROCTOR_METRICS_ALLOW``,
loopback by default; a request relayed by a proxy, which adds X-Forwarded-For, never counts
as straight), or carries the bearer token ``PROCTOR_METRICS_TOKEN``. Anything else is 403 and
measures nothing.
"""

from __future__ import annotations

import asyncio
import hmac
import logging

from aiohttp import web
from sqlalchemy import func, select

from models import StudySession
from proctor.kernel import metrics
from proctor.kernel.security.forwarding import is_trusted, parse_networks
from proctor.web.keys import ctx_of
from tracker.web.keys import TRACKER
from tracker.web.problem import problem

log = logging.getLogger(__name__)

# A scrape must not hang on a slow dependency: each deployment-wide gauge gets this long.
GAUGE_TIMEOUT_S = 2.0


def _allowed(request: web.Request) -> bool:
    settings = ctx_of(request).settings
    if settings.metrics_token:
        header = request.headers.get("Authorization", "")
        if hmac.compare_digest(header.encode(), f"Bearer {settings.metrics_token}".encode()):
            return True
    if "X-Forwarded-For" in request.headers or "Forwarded" in request.headers:
        return False
    return is_trusted(request.remote or "", parse_networks(settings.metrics_allow))


async def _deployment(request: web.Request) -> dict[str, tuple[str, float]]:
    """The gauges of what the whole deployment holds, measured now."""
    ctx = ctx_of(request)
    store = request.config_dict[TRACKER].store

    async def open_sessions() -> int:
        async with ctx.db() as s:
            count = await s.scalar(
                select(func.count())
                .select_from(StudySession)
                .where(StudySession.ended_at.is_(None))
            )
        return int(count or 0)

    out: dict[str, tuple[str, float]] = {}
    for name, text, probe in (
        ("proctor_study_sessions_active", "Study sessions open (not ended) in SQL", open_sessions),
        (
            "proctor_evidence_pending",
            "Evidence entries in the hot state not yet stored in SQL",
            store.pending,
        ),
    ):
        try:
            async with asyncio.timeout(GAUGE_TIMEOUT_S):
                out[name] = (text, float(await probe()))
        except Exception as exc:  # noqa: BLE001 - a missing gauge beats a failed scrape
            log.warning("metrics: %s not measured: %s: %s", name, type(exc).__name__, exc)
    return out


async def serve_metrics(request: web.Request) -> web.StreamResponse:
    if not _allowed(request):
        return problem(403, "forbidden", "仅限监控系统访问")
    body = metrics.exposition(await _deployment(request))
    return web.Response(body=body, headers={"Content-Type": metrics.CONTENT_TYPE})
