"""Authentication and error rendering for pages and the API."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from urllib.parse import quote

from aiohttp import web

from proctor.accounts import service as accounts
from proctor.kernel.errors import Unauthenticated
from proctor.web.access import DISCONNECTED
from proctor.web.keys import ACTOR, SESSION_COOKIE, TOKEN, ctx_of, is_api
from proctor.web.render import page
from tracker.errors import ServiceError
from tracker.web import keys as tracker_keys
from tracker.web.problem import problem, problem_of

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# Tracker routes: authenticated by the study token, see auth_middleware.
TRACKER_PREFIX = "/api/v1/track/"
# Reachable without signing in.
PUBLIC_PREFIXES = (
    "/login",
    "/static/",
    "/favicon.ico",
    "/api/v1/login",
    "/api/openapi.json",
    "/healthz",
    "/readyz",
    "/metrics",
    "/verify",  # an HR officer checks a study certificate's code (handlers/certificate.py)
)
# Reachable while a first-login password change is pending.
PASSWORD_CHANGE_PATHS = ("/password", "/api/v1/me/password", "/logout", "/api/v1/logout")

_HTTP_CODES = {400: "bad_request", 404: "not_found", 405: "method_not_allowed", 413: "too_large"}


def _page_error(request: web.Request, status: int, message: str) -> web.StreamResponse:
    return page(request, "error.html", {"status": status, "message": message}, status=status)


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Domain errors become problem bodies (API) or a Chinese message page."""
    try:
        return await handler(request)
    except ServiceError as exc:
        if is_api(request):
            return problem_of(exc)
        if isinstance(exc, Unauthenticated):
            raise web.HTTPSeeOther(f"/login?next={quote(request.path_qs, safe='')}") from exc
        response = _page_error(request, exc.status, exc.message)
        response.headers.update(exc.headers or {})
        return response
    except web.HTTPException as exc:
        if exc.status < 400 or not is_api(request):
            if exc.status == 404 and not is_api(request):
                return _page_error(request, 404, "页面不存在，或您无权查看")
            raise
        code = _HTTP_CODES.get(exc.status, "error")
        detail = {
            404: "资源不存在或不在您的管理范围内",
            405: "不支持该请求方法",
            413: "请求体过大",
        }.get(exc.status, exc.reason)
        # A 405 names the methods the resource does take (RFC 9110).
        allow = {"Allow": exc.headers["Allow"]} if "Allow" in exc.headers else None
        return problem(exc.status, code, detail, headers=allow)
    except DISCONNECTED:
        raise  # the client is gone: the access log says so in one line
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        if is_api(request):
            return problem(500, "internal", "服务器内部错误，请稍后重试")
        return _page_error(request, 500, "服务器内部错误，请稍后重试")


def _token_from(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        return header[7:].strip() or None
    return request.cookies.get(SESSION_COOKIE)


class LoginBinding(tracker_keys.LoginBinding):
    """Study tokens are bound to the login that started the session (the bearer token or
    the session cookie), so tracker routes need no login lookup per beat."""

    def credential(self, request: web.Request) -> str:
        return _token_from(request) or ""


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Resolve the session token; protected routes need a signed-in actor."""
    if request.path.startswith(TRACKER_PREFIX):
        # The study token authenticates a beat: bound to its session, the session to its
        # learner, and the token to the login that started it (checked by the tracker
        # without SQL). A beat is the hot path: a login lookup here was most of its cost.
        return await handler(request)
    token = _token_from(request)
    if token:
        try:
            actor = await accounts.resolve(ctx_of(request), token)
        except Unauthenticated:
            actor = None
        if actor is not None:
            request[ACTOR] = actor
            request[TOKEN] = token
    if request.path.startswith(PUBLIC_PREFIXES) or request.path == "/favicon.ico":
        return await handler(request)
    if ACTOR not in request:
        raise Unauthenticated("请先登录")
    actor = request[ACTOR]
    if actor.must_change_password and not request.path.startswith(PASSWORD_CHANGE_PATHS):
        if is_api(request):
            return problem(
                403, "password_change_required", "首次登录须先修改初始密码", field="password"
            )
        raise web.HTTPSeeOther("/password")
    return await handler(request)
