""" "Forgot password" (Art. 9, 10): the learner is told whom to ask, by name and masked phone.

Nobody resets a password from the login page: initial passwords come from the academy through
the unit's liaison, and so does a new one. Public, like the login page.
"""

from __future__ import annotations

from typing import Annotated

from aiohttp import web

from proctor.kernel.errors import ProctorError
from proctor.orgs.contacts import whom_to_ask
from proctor.web.endpoint import Form, Routes
from proctor.web.fields import Input, Output, chars
from proctor.web.keys import ctx_of
from proctor.web.render import json_response, page

routes = Routes(tag="auth")


class WhoQuery(Input):
    username: Annotated[str, chars(64)]
    name: Annotated[str, chars(50, description="the account holder's real name")]


class Contact(Output):
    name: str
    phone_masked: str
    org_name: str
    role: str


class Contacts(Output):
    items: list[Contact]


@routes.get(
    "/api/v1/login/contacts",
    summary="Whom to ask for a new password: the unit's liaisons (or the administrators above), "
    "when the username and real name match an active account; else an empty list",
    query=WhoQuery,
    response=Contacts,
    public=True,
)
async def contacts_api(request: web.Request, query: WhoQuery) -> web.Response:
    found = await whom_to_ask(ctx_of(request), query.username, query.name)
    return json_response({"items": [c.as_dict() for c in found]})


@routes.get("/login/forgot", public=True)
async def forgot_page(request: web.Request) -> web.Response:
    return page(
        request, "recovery.html", {"asked": False, "contacts": [], "error": None, "form": {}}
    )


@routes.post("/login/forgot", form=WhoQuery, public=True)
async def forgot_form(request: web.Request, form: Form[WhoQuery]) -> web.Response:
    try:
        who = form.valid()
        found = await whom_to_ask(ctx_of(request), who.username, who.name)
    except ProctorError as exc:
        return page(
            request,
            "recovery.html",
            {"asked": False, "contacts": [], "error": exc.message, "form": form.fields},
            status=exc.status,
        )
    return page(
        request,
        "recovery.html",
        {"asked": True, "contacts": found, "error": None, "form": form.fields},
    )
