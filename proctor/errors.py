"""Domain errors: each carries an HTTP status, a machine code and a Chinese message."""

from __future__ import annotations

from typing import Any


class ProctorError(Exception):
    """Base of errors a user can cause; rendered as a problem body or a page message."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, field: str | None = None, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.extra = extra


class InvalidInput(ProctorError):
    """A request field is missing or malformed."""

    status = 422
    code = "invalid"


class NotFound(ProctorError):
    """No such record, or not within the actor's authority (never say which)."""

    status = 404
    code = "not_found"


class Forbidden(ProctorError):
    """The actor's role may not do this at all."""

    status = 403
    code = "forbidden"


class Unauthenticated(ProctorError):
    """No valid login."""

    status = 401
    code = "unauthenticated"


class Conflict(ProctorError):
    """The record's state does not allow the action (already decided, duplicate, ...)."""

    status = 409
    code = "conflict"


class TooLarge(ProctorError):
    """An upload or body over its limit."""

    status = 413
    code = "too_large"


class Unavailable(ProctorError):
    """A service the request needs does not answer; retry later."""

    status = 503
    code = "unavailable"


def retry_headers(exc: ProctorError) -> dict[str, str]:
    """``Retry-After`` for errors that say when to come back (429, 503)."""
    retry_after = exc.extra.get("retry_after")
    return {"Retry-After": str(retry_after)} if retry_after is not None else {}
