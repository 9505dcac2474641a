"""Sign in, sign out and change password (pages and API)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from proctor.accounts import service as accounts
from proctor.errors import ProctorError, retry_headers
from proctor.security.redirects import local_target
from proctor.web import parse
from proctor.web.keys import SESSION_COOKIE, TOKEN, actor_of, ctx_of
from proctor.web.openapi import BOOL, STR, obj, op
from proctor.web.render import json_response, page

routes = web.RouteTableDef()


def _set_cookie(request: web.Request, response: web.StreamResponse, token: str) -> None:
    settings = ctx_of(request).settings
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="Strict",
        secure=settings.cookie_secure,
        max_age=settings.session_hours * 3600,
        path="/",
    )


def _home_for(must_change: bool, next_url: str) -> str:
    if must_change:
        return "/password"
    return local_target(next_url)


@routes.get("/login")
async def login_page(request: web.Request) -> web.Response:
    return page(
        request, "login.html", {"next": local_target(request.query.get("next")), "error": None}
    )


@routes.post("/login")
async def login_form(request: web.Request) -> web.StreamResponse:
    form = await parse.form_or_json(request)
    next_url = str(form.get("next", "/"))
    try:
        token, actor = await accounts.login(
            ctx_of(request),
            parse.text(form, "username", max_len=64),
            parse.text(form, "password", max_len=200),
            ip=request.remote or "",
            user_agent=request.headers.get("User-Agent", ""),
        )
    except ProctorError as exc:
        response = page(
            request,
            "login.html",
            {"next": next_url, "error": exc.message, "username": form.get("username", "")},
            status=exc.status,
        )
        response.headers.update(retry_headers(exc))
        return response
    redirect = web.HTTPSeeOther(_home_for(actor.must_change_password, next_url))
    _set_cookie(request, redirect, token)
    raise redirect


@routes.post("/api/v1/login")
async def login_api(request: web.Request) -> web.Response:
    data = await parse.json_body(request)
    token, actor = await accounts.login(
        ctx_of(request),
        parse.text(data, "username", max_len=64),
        parse.text(data, "password", max_len=200),
        ip=request.remote or "",
        user_agent=request.headers.get("User-Agent", ""),
    )
    response = json_response(
        {
            "token": token,
            "role": actor.role.value,
            "display_name": actor.display_name,
            "must_change_password": actor.must_change_password,
        }
    )
    _set_cookie(request, response, token)
    return response


@routes.post("/logout")
async def logout_form(request: web.Request) -> web.StreamResponse:
    await accounts.logout(ctx_of(request), request[TOKEN])
    redirect = web.HTTPSeeOther("/login")
    redirect.del_cookie(SESSION_COOKIE, path="/")
    raise redirect


@routes.post("/api/v1/logout")
async def logout_api(request: web.Request) -> web.Response:
    await accounts.logout(ctx_of(request), request[TOKEN])
    return json_response({"ok": True})


@routes.get("/password")
async def password_page(request: web.Request) -> web.Response:
    return page(
        request, "password.html", {"error": None, "forced": actor_of(request).must_change_password}
    )


@routes.post("/password")
async def password_form(request: web.Request) -> web.StreamResponse:
    form = await parse.form_or_json(request)
    actor = actor_of(request)
    try:
        if form.get("new_password") != form.get("confirm_password"):
            raise ProctorError("两次输入的新密码不一致", field="confirm_password")
        await accounts.change_password(
            ctx_of(request),
            actor,
            parse.text(form, "current_password"),
            parse.text(form, "new_password"),
        )
    except ProctorError as exc:
        return page(
            request,
            "password.html",
            {"error": exc.message, "forced": actor.must_change_password},
            status=exc.status,
        )
    raise web.HTTPSeeOther("/?password_changed=1")


@routes.post("/api/v1/me/password")
async def password_api(request: web.Request) -> web.Response:
    data = await parse.json_body(request)
    await accounts.change_password(
        ctx_of(request),
        actor_of(request),
        parse.text(data, "current_password"),
        parse.text(data, "new_password"),
    )
    return json_response({"ok": True})


@routes.get("/api/v1/me")
async def me_api(request: web.Request) -> web.Response:
    actor = actor_of(request)
    return json_response(
        {
            "account_id": actor.account_id,
            "username": actor.username,
            "display_name": actor.display_name,
            "role": actor.role.value,
            "org_id": actor.org_id,
            "learner_id": actor.learner_id,
            "must_change_password": actor.must_change_password,
        }
    )


OPENAPI: dict[str, dict[str, Any]] = {
    "/api/v1/login": {
        "post": op(
            "Sign in; returns a bearer token",
            tag="auth",
            body=obj(username=STR, password=STR),
            response=obj(token=STR, role=STR, display_name=STR, must_change_password=BOOL),
            errors=(401, 422, 429, 503),
        )
    },
    "/api/v1/logout": {"post": op("End this session", tag="auth", errors=(401,))},
    "/api/v1/me": {"get": op("Who am I", tag="auth", errors=(401,))},
    "/api/v1/me/password": {
        "post": op(
            "Change my password (required after first login)",
            tag="auth",
            body=obj(current_password=STR, new_password=STR),
            errors=(401, 422),
        )
    },
}
