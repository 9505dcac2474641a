"""Landing page after sign-in: learners see their study, staff their administration."""

from __future__ import annotations

from aiohttp import web

from proctor.web.endpoint import Routes
from proctor.web.keys import actor_of
from proctor.web.render import page

routes = Routes(tag="home")


@routes.get("/")
async def home(request: web.Request) -> web.StreamResponse:
    actor = actor_of(request)
    if actor.is_staff:
        return page(request, "admin_home.html", {})
    raise web.HTTPSeeOther("/learn")
