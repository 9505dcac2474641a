"""Cross-site request forgery: which state-changing requests a session cookie may carry.

A browser attaches the session cookie to any request for our address, including one a
page of another site makes it send. What such a request cannot carry is our own origin
in ``Origin`` (browsers set it, scripts cannot), nor a token derived from the session
that only our pages know. Bearer-token requests are exempt: a browser never adds an
``Authorization`` header by itself.
"""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import urlsplit

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
TOKEN_HEADER = "X-CSRF-Token"  # noqa: S105 - a header name, not a secret


def _key(secret: str) -> bytes:
    return hashlib.sha256(b"proctor-csrf:" + secret.encode()).digest()


def token_for(secret: str, session_token: str) -> str:
    """The CSRF token of a session: our pages put it in requests their scripts send."""
    return hmac.new(_key(secret), session_token.encode(), hashlib.sha256).hexdigest()


def token_matches(secret: str, session_token: str, presented: str) -> bool:
    """True when ``presented`` is the session's token (constant-time comparison)."""
    return bool(presented) and hmac.compare_digest(token_for(secret, session_token), presented)


def origin_of(url: str) -> str | None:
    """``scheme://host[:port]`` of an absolute URL, lowercased; None when it has none."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    default = {"http": 80, "https": 443}[parts.scheme]
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    suffix = f":{port}" if port is not None and port != default else ""
    return f"{parts.scheme}://{host}{suffix}".lower()


def allowed(
    *,
    method: str,
    bearer: bool,
    cookie: bool,
    origin: str | None,
    referer: str | None,
    own_origins: frozenset[str],
    token_ok: bool,
) -> bool:
    """Whether a request may reach its handler.

    Safe methods and bearer-token requests always may. A request carrying the session
    cookie needs the session's token, or our origin in ``Origin``, or (only when
    ``Origin`` is absent, as from older browsers) in ``Referer``; ``Origin: null`` (a
    sandboxed or privacy-stripped context) is not ours. A request without the cookie
    (signing in, API clients) is refused only when a browser named another origin, so that
    no other site can sign a user into an account of its choosing.
    """
    if method.upper() in SAFE_METHODS or bearer:
        return True
    if origin is not None:
        claimed = origin_of(origin)
        same = claimed is not None and claimed in own_origins
    elif referer is not None:
        claimed = origin_of(referer)
        same = claimed is not None and claimed in own_origins
    else:
        same = False
    if cookie:
        return token_ok or same
    return same or (origin is None and referer is None)
