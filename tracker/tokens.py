"""Session-bound tokens: an HMAC of the session id, so no token table is needed.

A token may also be bound to the login that started the session: the caller passes a
binding derived from the login credential, and every later request must present the same
login. The tracker then never looks the login up (no SQL per beat), yet a study token
taken from one learner's player is useless with another learner's login.
"""

from __future__ import annotations

import hashlib
import hmac


def binding_of(credential: str) -> str:
    """The binding of a login credential (a one-way digest: the token never reveals it)."""
    if not credential:
        return ""
    return hashlib.sha256(b"study-binding:" + credential.encode()).hexdigest()[:32]


def session_token(secret: bytes, sid: str, bind: str = "") -> str:
    """The token the player must present with every request of this session."""
    message = f"study-session:{sid}" + (f":{bind}" if bind else "")
    return hmac.new(secret, message.encode(), hashlib.sha256).hexdigest()[:40]


def token_valid(secret: bytes, sid: str, token: str, bind: str = "") -> bool:
    """Constant-time check of a presented token against the presented login's binding."""
    return hmac.compare_digest(session_token(secret, sid, bind), token)
