"""Requests from our reverse proxies carry the client's address and scheme (see the policy in
:mod:`proctor.kernel.security.forwarding`); every later layer sees those as ``request.remote`` and
``request.scheme``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from proctor.kernel.security import forwarding

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

TRUSTED_PROXIES = web.AppKey("trusted_proxies", tuple)


@web.middleware
async def forwarded_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Replace the proxy's address and scheme by the client's, for trusted proxies only."""
    trusted = request.config_dict[TRUSTED_PROXIES]
    peer = request.remote or ""
    if not trusted or not forwarding.is_trusted(peer, trusted):
        return await handler(request)
    remote = forwarding.client_address(peer, request.headers.getall("X-Forwarded-For", []), trusted)
    scheme = forwarding.forwarded_scheme(
        peer, request.headers.getall("X-Forwarded-Proto", []), trusted
    )
    return await handler(request.clone(remote=remote, scheme=scheme or request.scheme))
