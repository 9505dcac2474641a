"""Landing page after sign-in: learners see their study, staff their administration."""

from __future__ import annotations

from aiohttp import web

from proctor.jobs.views import is_province_admin
from proctor.reminders.todo import my_reminders, todo
from proctor.web.endpoint import Routes
from proctor.web.keys import actor_of, ctx_of
from proctor.web.render import page

routes = Routes(tag="home")


@routes.get("/")
async def home(request: web.Request) -> web.StreamResponse:
    actor = actor_of(request)
    if actor.is_staff:
        # A staff member's home says what waits for them (docs/staff.md).
        waiting = await todo(ctx_of(request), actor)
        notes = await my_reminders(ctx_of(request), actor)
        return page(
            request,
            "admin_home.html",
            {"todo": waiting, "reminders": notes, "jobs": is_province_admin(actor)},
        )
    raise web.HTTPSeeOther("/learn")
