"""The client's address behind reverse proxies, set on the request for every handler.

Study sessions, logins and exam attempts record the client's address as evidence, so it
must not be forgeable: see :mod:`proctor.kernel.addresses` for which hops are believed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from proctor.kernel.addresses import Network, client_address

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def forwarded_middleware(nets: tuple[Network, ...]) -> Callable[..., Awaitable[web.StreamResponse]]:
    """A middleware that sets ``request.remote`` to the client's address."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        peer = request.remote or ""
        address = client_address(peer, request.headers.get("X-Forwarded-For", ""), nets)
        if address != peer:
            request = request.clone(remote=address)
        return await handler(request)

    return middleware
