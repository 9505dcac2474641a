"""The CSRF guard in front of every handler (policy: :mod:`proctor.kernel.security.csrf`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from proctor.kernel.errors import Forbidden
from proctor.kernel.security import csrf
from proctor.web.keys import SESSION_COOKIE, TOKEN, ctx_of

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

SIGN_IN_PATHS = frozenset({"/login", "/api/v1/login"})


class CrossSiteRequest(Forbidden):
    """A cookie-authenticated request that did not come from our own pages."""

    code = "bad_origin"


def own_origins(request: web.Request) -> frozenset[str]:
    """The origins our pages are served from: the one this request was made to, and
    ``PROCTOR_PUBLIC_ORIGIN`` if set.

    Behind a trusted proxy terminating TLS the forwarding middleware has already put the
    browser's scheme on the request; the setting covers a proxy that does not say it.
    """
    seen = csrf.origin_of(f"{request.scheme}://{request.host}")
    configured = csrf.origin_of(ctx_of(request).settings.public_origin)
    return frozenset(o for o in (seen, configured) if o)


def csrf_token(request: web.Request) -> str | None:
    """The token of this browser session, for the page's scripts (None without a cookie)."""
    session = request.cookies.get(SESSION_COOKIE)
    return csrf.token_for(ctx_of(request).secret, session) if session else None


@web.middleware
async def csrf_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Refuse state-changing requests that a page of another site made a browser send."""
    if request.method in csrf.SAFE_METHODS:
        return await handler(request)
    bearer = request.headers.get("Authorization", "").startswith("Bearer ")
    # Runs after the auth middleware: only a cookie that signed someone in is ambient
    # authority; a stale one (an expired session signing in again) is not, and signing in
    # acts on the credentials in the body, never on the current session's authority.
    ambient = not bearer and request.path not in SIGN_IN_PATHS
    session: str | None = request.get(TOKEN) if ambient else None
    presented = request.headers.get(csrf.TOKEN_HEADER, "")
    ok = csrf.allowed(
        method=request.method,
        bearer=bearer,
        cookie=bool(session),
        origin=request.headers.get("Origin"),
        referer=request.headers.get("Referer"),
        own_origins=own_origins(request),
        token_ok=session is not None
        and csrf.token_matches(ctx_of(request).secret, session, presented),
    )
    if not ok:
        raise CrossSiteRequest("跨站请求被拒绝：请从本系统的页面操作")
    return await handler(request)
