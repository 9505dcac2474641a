"""Security headers on every response the application sends (pages, API, files, errors).

Set when a response is prepared, so they also reach responses no handler built: the
router's 404 and 405, redirects raised as exceptions, static files and error pages.
"""

from __future__ import annotations

from aiohttp import web, web_response

from proctor.web.keys import CTX

SERVER = "proctor"

# Scripts and styles only from our own files: no inline <script>, no event-handler
# attributes, no style attributes, no eval. Pages need nothing from other origins (the
# academy runs on intranets without CDN access), and nobody may frame them.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    # For browsers that predate frame-ancestors.
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    # Full URLs (with ids and filters) never leave the site; our own requests keep the
    # Referer, which the CSRF check falls back on. "no-referrer" would make browsers send
    # "Origin: null" on form posts, which that check refuses.
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
    # Names the software, never its version.
    "Server": SERVER,
}

# Public files that may be cached; everything else is per-user and possibly personal.
CACHEABLE_PREFIXES = ("/static/", "/media/", "/favicon.ico")

HSTS = "max-age=31536000"


def is_cacheable(path: str) -> bool:
    """True for the static files and lesson videos, which hold nothing personal."""
    return path.startswith(CACHEABLE_PREFIXES)


async def add_security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """``on_response_prepare`` hook: the headers above, and no-store on dynamic responses."""
    response.headers.update(SECURITY_HEADERS)
    if not is_cacheable(request.path):
        # Records, cases, archives and exports must not stay in a shared browser's cache
        # or a proxy; pages are per-user too, so the rule has no exceptions to forget.
        response.headers.setdefault("Cache-Control", "no-store")
    ctx = request.config_dict.get(CTX)
    if ctx is not None and ctx.settings.cookie_secure:
        response.headers["Strict-Transport-Security"] = HSTS


def hide_server_version() -> None:
    """Make the HTTP library's own default name us, for the answers no app code sees.

    The 400s its parser gives to malformed requests are written before any application or
    signal is involved, and carry the library's default ``Server`` (Python and aiohttp
    versions). aiohttp has no setting for it; its response module reads this default at
    send time, so replacing it covers those answers too.
    """
    web_response.SERVER_SOFTWARE = SERVER
