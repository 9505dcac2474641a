"""Domain errors: each carries an HTTP status, a machine code and a Chinese message.

They belong to the service's one error hierarchy (tracker/errors.py), so the tracker's
refusals and these are rendered alike.
"""

from __future__ import annotations

from tracker.errors import ServiceError


class ProctorError(ServiceError):
    """Base of domain errors a user can cause; a problem body (API) or a page message."""


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


class UnsupportedMediaType(ProctorError):
    """A body in a format the route does not take (a JSON route sent form data or text)."""

    status = 415
    code = "unsupported_media_type"


class Unavailable(ProctorError):
    """A service the request needs does not answer; retry later."""

    status = 503
    code = "unavailable"
