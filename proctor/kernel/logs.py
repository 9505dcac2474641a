"""Structured logs: one JSON object per line, each carrying the id of the request or job it
belongs to.

The id lives in a context variable: set when a request (or a scheduled job run) begins, it
follows every await and every task created inside it, so the lines logged by the work a
request causes (the tracker, a service, a background task it starts) carry the same id.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import secrets
import sys
import time
from typing import Any

REQUEST_ID: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")
# Accepted from a client or proxy when it is a plain token; anything else is replaced.
_ID_SHAPE = re.compile(r"[A-Za-z0-9._:-]{1,64}")
# LogRecord attributes that are not extra fields.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "taskName",
}


def new_request_id(offered: str | None = None) -> str:
    """The client's (or proxy's) id when it is well formed, else a fresh one."""
    if offered and _ID_SHAPE.fullmatch(offered):
        return offered
    return secrets.token_hex(8)


class JsonFormatter(logging.Formatter):
    """A log record as one JSON line: time, level, logger, message, request id, extras."""

    def format(self, record: logging.LogRecord) -> str:
        # strftime over gmtime: a third of the cost of a datetime's isoformat (per request).
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        line: dict[str, Any] = {
            "time": f"{stamp}.{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None) or REQUEST_ID.get()
        if request_id:
            line["request_id"] = request_id
        for key, value in vars(record).items():
            if key not in _STANDARD and key != "request_id":
                line[key] = value
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def stamp_request_id(record: logging.LogRecord) -> bool:
    """A handler filter: the record keeps the id of the request or job logging it (read
    now, in the logging task, not later by whatever formats it)."""
    if not getattr(record, "request_id", None):
        record.request_id = REQUEST_ID.get()
    return True


def configure(level: int = logging.INFO) -> None:
    """Send every logger's records to stderr as JSON lines (the server's processes)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(stamp_request_id)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
