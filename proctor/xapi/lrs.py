"""A client of an LRS's xAPI statements resource (xAPI 1.0.3 REST, HTTP basic auth).

Only the two writes the outbox needs: POST a batch, PUT one statement under its id. Both
are idempotent for statements with ids: an LRS that already holds an identical statement
skips it; one holding a different statement under the id answers 409 Conflict.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import aiohttp

from proctor.xapi.vocabulary import XAPI_VERSION


@dataclass(frozen=True)
class Reply:
    """The LRS's answer: an HTTP status (0 when none came) and a short reason."""

    status: int
    reason: str = ""

    @property
    def stored(self) -> bool:
        """Acknowledged: stored now, or already held identically."""
        return self.status in (200, 204)

    @property
    def conflict(self) -> bool:
        """The LRS holds a different statement under this id (it will never take ours)."""
        return self.status == 409

    @property
    def per_statement(self) -> bool:
        """A batch refused for one of its statements: worth sending them one by one."""
        return self.status in (400, 409, 413)


class Lrs:
    """An open connection pool to one LRS (use as an async context manager)."""

    def __init__(self, endpoint: str, key: str, secret: str, timeout_s: float) -> None:
        self.url = f"{endpoint.rstrip('/')}/statements"
        headers = {"X-Experience-API-Version": XAPI_VERSION}
        if key:
            # HTTP basic credentials, UTF-8 (RFC 7617).
            token = base64.b64encode(f"{key}:{secret}".encode()).decode()
            headers["Authorization"] = f"Basic {token}"
        self._headers = headers
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Lrs:
        self._session = aiohttp.ClientSession(timeout=self._timeout, headers=self._headers)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._session is not None:
            await self._session.close()

    async def post(self, statements: list[dict[str, Any]]) -> Reply:
        """POST /statements with a batch."""
        return await self._send("POST", statements, None)

    async def put(self, statement: dict[str, Any]) -> Reply:
        """PUT /statements?statementId=<id> with one statement."""
        return await self._send("PUT", statement, {"statementId": statement["id"]})

    async def _send(self, method: str, body: Any, params: dict[str, str] | None) -> Reply:
        assert self._session is not None  # noqa: S101 - used inside "async with"
        data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        try:
            async with self._session.request(
                method,
                self.url,
                params=params,
                data=data,
                headers={"Content-Type": "application/json"},
            ) as resp:
                text = "" if resp.status in (200, 204) else (await resp.text())[:200]
                return Reply(resp.status, f"HTTP {resp.status} {text}".strip())
        except (TimeoutError, aiohttp.ClientError) as exc:
            return Reply(0, f"{type(exc).__name__}: {exc}"[:200])
