"""Field types of the request models: each carries the range or length the server enforces, so
the same declaration checks a request and documents it."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    WithJsonSchema,
)

# Every record a route addresses has a PostgreSQL `integer` key; a larger number names no record
# and must not reach the database, whose driver refuses it with an error instead of no row.
MAX_ID = 2**31 - 1
# Offsets and page numbers beyond this are past any table the academy will hold; the bound keeps
# them inside the database's 64-bit arithmetic.
MAX_OFFSET = 10_000_000
MAX_PAGE = 100_000
# Text may hold tabs and line breaks, never other control characters (PostgreSQL refuses NUL,
# and none of them belongs in a name, a note or a search).
PRINTABLE = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"

RecordId = Annotated[int, Field(ge=1, le=MAX_ID)]
Year = Annotated[int, Field(ge=2000, le=2100, description="credit year")]
Page = Annotated[int, Field(ge=1, le=MAX_PAGE)]
Offset = Annotated[int, Field(ge=0, le=MAX_OFFSET)]
Flag = Annotated[bool, Strict()]
Seconds = Annotated[float, Field(ge=0, lt=1e6)]


def chars(max_length: int, *, required: bool = True, description: str | None = None) -> Any:
    """Field rules of a string (``Annotated[str, chars(200)]``): at most max_length characters
    after stripping, no control characters, and not empty unless required is False."""
    return Field(
        min_length=1 if required else 0,
        max_length=max_length,
        pattern=PRINTABLE,
        description=description,
    )


def _two_decimals(value: Decimal) -> Decimal:
    if value != value.quantize(Decimal("0.01")):
        raise ValueError("最多保留两位小数")
    return value


# Credits in a request: a number or a string ("1.50"), 0..100 with at most two decimals.
Credits = Annotated[
    Decimal,
    Field(ge=0, le=100, allow_inf_nan=False),
    AfterValidator(_two_decimals),
    WithJsonSchema(
        {
            "type": ["number", "string"],
            "minimum": 0,
            "maximum": 100,
            "pattern": r"^\d{1,3}(\.\d{1,2})?$",
            "description": "credits, at most two decimals",
        }
    ),
]
DecimalText = Annotated[
    str, Field(pattern=r"^-?\d+(\.\d{1,2})?$", description="exact decimal, as a string")
]
MAX_LIST = 5000


def _words(value: Any) -> Any:
    # A form's list arrives as text ("1, 2 3") or as repeated fields; split both into words.
    if isinstance(value, str):
        value = [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return [w for v in value for w in re.split(r"[\s,，;；、]+", v) if w]
    return value


def _unique(value: list[Any]) -> list[Any]:
    return list(dict.fromkeys(value))


Words = BeforeValidator(_words)
# Ids and usernames in a request: order kept, repeats dropped.
IdList = Annotated[list[RecordId], Field(max_length=MAX_LIST), AfterValidator(_unique)]
NameList = Annotated[
    list[Annotated[str, Field(min_length=1, max_length=64, pattern=PRINTABLE)]],
    Field(max_length=MAX_LIST),
    AfterValidator(_unique),
]


def _calendar_day(value: dt.date) -> dt.date:
    if not 2000 <= value.year <= 2100:
        raise ValueError("日期应在 2000 年至 2100 年之间")
    return value


# A day the academy's calendar covers: date arithmetic on it cannot leave Python's range.
Day = Annotated[
    dt.date, AfterValidator(_calendar_day), Field(description="YYYY-MM-DD, years 2000-2100")
]
Moment = Annotated[dt.datetime, Field(description="ISO 8601 with a time zone")]


class Input(BaseModel):
    """Base of request models: unknown fields are ignored, numbers must be finite."""

    model_config = ConfigDict(allow_inf_nan=False, str_strip_whitespace=True, frozen=True)


class Output(BaseModel):
    """Base of response models (documentation of what a route answers)."""

    model_config = ConfigDict(frozen=True)
