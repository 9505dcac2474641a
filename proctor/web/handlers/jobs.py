"""The scheduled jobs' page: schedules, latest runs, failures (province administrators)."""

from __future__ import annotations

from aiohttp import web

from proctor.jobs import registry, views
from proctor.web.endpoint import Routes
from proctor.web.keys import actor_of, ctx_of
from proctor.web.render import page
from tracker.web.keys import TRACKER

routes = Routes(tag="jobs")


@routes.get("/admin/jobs", errors=(403,))
async def jobs_page(request: web.Request) -> web.Response:
    ctx = ctx_of(request)
    jobs = registry.jobs(ctx, request.config_dict[TRACKER])
    lines, recent = await views.overview(ctx, actor_of(request), jobs)
    return page(
        request,
        "jobs/list.html",
        {
            "jobs": lines,
            "runs": recent,
            "states": views.STATE_NAMES,
            "titles": {j.name: j.title for j in jobs},
            "enabled": ctx.settings.jobs_enabled,
        },
    )
