"""Session-bound tokens: an HMAC of the session id, so no token table is needed."""

from __future__ import annotations

import hashlib
import hmac


def session_token(secret: bytes, sid: str) -> str:
    """The token the player must present with every request of this session."""
    return hmac.new(secret, f"study-session:{sid}".encode(), hashlib.sha256).hexdigest()[:40]


def token_valid(secret: bytes, sid: str, token: str) -> bool:
    """Constant-time check of a presented token."""
    return hmac.compare_digest(session_token(secret, sid), token)
