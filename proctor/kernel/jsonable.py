"""Plain JSON for the values proctor computes with: exact decimals and timestamps."""

from __future__ import annotations

from decimal import Decimal
from typing import Any


def to_jsonable(value: Any) -> Any:
    """``json.dumps`` ``default=``: credits as strings (no client rounds them through a float),
    dates and times as ISO 8601."""
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
