"""Sign in, sign out and change password (pages and API)."""

from __future__ import annotations

from typing import Annotated

from aiohttp import web

from models import Role
from proctor.accounts import service as accounts
from proctor.kernel.errors import ProctorError
from proctor.kernel.security.redirects import local_target
from proctor.web.endpoint import Form, Routes
from proctor.web.fields import Input, Output, chars
from proctor.web.keys import SESSION_COOKIE, TOKEN, actor_of, ctx_of
from proctor.web.render import json_response, page

routes = Routes(tag="auth")


class Credentials(Input):
    username: Annotated[str, chars(64)]
    password: Annotated[str, chars(200)]


class LoginForm(Credentials):
    next: Annotated[str, chars(2000, required=False)] = "/"


class PasswordChange(Input):
    current_password: Annotated[str, chars(200)]
    new_password: Annotated[str, chars(200)]


class PasswordForm(PasswordChange):
    confirm_password: Annotated[str, chars(200, required=False)] = ""


class Session(Output):
    token: str
    role: Role
    display_name: str
    must_change_password: bool


class Done(Output):
    ok: bool


class Me(Output):
    account_id: int
    username: str
    display_name: str
    role: Role
    org_id: int | None
    learner_id: int | None
    must_change_password: bool


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


@routes.get("/login", public=True)
async def login_page(request: web.Request) -> web.Response:
    return page(
        request, "login.html", {"next": local_target(request.query.get("next")), "error": None}
    )


@routes.post("/login", form=LoginForm, public=True)
async def login_form(request: web.Request, form: Form[LoginForm]) -> web.StreamResponse:
    next_url = form.get("next", "/")
    try:
        login = form.valid()
        token, actor = await accounts.login(
            ctx_of(request),
            login.username,
            login.password,
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
        response.headers.update(exc.headers or {})
        return response
    redirect = web.HTTPSeeOther(_home_for(actor.must_change_password, next_url))
    _set_cookie(request, redirect, token)
    raise redirect


@routes.post(
    "/api/v1/login",
    summary="Sign in; returns a bearer token",
    body=Credentials,
    response=Session,
    errors=(401, 429, 503),
    public=True,
)
async def login_api(request: web.Request, body: Credentials) -> web.Response:
    token, actor = await accounts.login(
        ctx_of(request),
        body.username,
        body.password,
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


@routes.post("/api/v1/logout", summary="End this session", response=Done)
async def logout_api(request: web.Request) -> web.Response:
    await accounts.logout(ctx_of(request), request[TOKEN])
    return json_response({"ok": True})


@routes.get("/password")
async def password_page(request: web.Request) -> web.Response:
    return page(
        request, "password.html", {"error": None, "forced": actor_of(request).must_change_password}
    )


@routes.post("/password", form=PasswordForm)
async def password_form(request: web.Request, form: Form[PasswordForm]) -> web.StreamResponse:
    actor = actor_of(request)
    try:
        if form.get("new_password") != form.get("confirm_password"):
            raise ProctorError("两次输入的新密码不一致", field="confirm_password")
        change = form.valid()
        await accounts.change_password(
            ctx_of(request), actor, change.current_password, change.new_password
        )
    except ProctorError as exc:
        return page(
            request,
            "password.html",
            {"error": exc.message, "forced": actor.must_change_password},
            status=exc.status,
        )
    raise web.HTTPSeeOther("/?password_changed=1")


@routes.post(
    "/api/v1/me/password",
    summary="Change my password (required after first login)",
    body=PasswordChange,
    response=Done,
)
async def password_api(request: web.Request, body: PasswordChange) -> web.Response:
    await accounts.change_password(
        ctx_of(request), actor_of(request), body.current_password, body.new_password
    )
    return json_response({"ok": True})


@routes.get("/api/v1/me", summary="Who am I", response=Me)
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
