"""The service's one error hierarchy: a request refused on purpose.

Every refusal carries an HTTP status, a machine code and a message a person reads (in
Chinese), optionally the field at fault and a Retry-After. The tracker's refusals derive
from it here, proctor's domain errors in proctor/kernel/errors.py; both web layers render
any of them as the same RFC 9457 problem body (tracker/web/problem.py).
"""

from __future__ import annotations

from typing import Any


class ServiceError(Exception):
    """Base of every error a client can cause."""

    status = 400
    code = "bad_request"

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        code: str | None = None,
        status: int | None = None,
        retry_after: int | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.retry_after = retry_after
        self.extra = extra

    @property
    def headers(self) -> dict[str, str] | None:
        """Response headers the refusal needs (Retry-After for a temporary one)."""
        return None if self.retry_after is None else {"Retry-After": str(self.retry_after)}
