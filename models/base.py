"""Declarative base, naming convention and the column types every table shares."""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal
from typing import Annotated, Any, ClassVar

from sqlalchemy import BigInteger, DateTime, Enum, Integer, MetaData, String
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncAttrs
from sqlalchemy.orm import DeclarativeBase, mapped_column
from sqlalchemy.types import TypeDecorator

# Stable constraint names so Alembic autogenerate and `alembic check` agree on both dialects.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware UTC timestamps on every dialect.

    SQLite drops the offset; the server clock is evidence, so naive values are refused on the
    way in and UTC is re-attached on the way out.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused: timestamps must be timezone-aware")
        return value.astimezone(dt.UTC)

    def process_result_value(
        self, value: dt.datetime | None, dialect: Dialect
    ) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


class Credits(TypeDecorator[Decimal]):
    """Credit amounts as exact decimals, stored as integer hundredths.

    Integers sum exactly and fast on every dialect (SQLite has no decimal type), and no credit
    amount in the measures needs finer than 0.01.
    """

    impl = Integer
    cache_ok = True

    def process_bind_param(self, value: Decimal | int | None, dialect: Dialect) -> int | None:
        if value is None:
            return None
        d = Decimal(value)
        cents = d * 100
        if cents != cents.to_integral_value():
            raise ValueError(f"credit amount {d} has more than two decimal places")
        return int(cents)

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return (Decimal(int(value)) / 100).quantize(Decimal("0.01"))


def cents_to_credits(value: int | None) -> Decimal:
    """Convert a SQL ``SUM`` over a :class:`Credits` column back to credits."""
    return (Decimal(int(value or 0)) / 100).quantize(Decimal("0.01"))


def str_enum(enum_cls: type[enum.StrEnum]) -> Enum:
    """Store a StrEnum by value as VARCHAR: portable, and readable in a dump."""
    return Enum(
        enum_cls,
        native_enum=False,
        length=32,
        values_callable=lambda members: [m.value for m in members],
    )


# SQLite only autoincrements INTEGER PRIMARY KEY; PostgreSQL gets BIGINT for big tables.
BigIntPK = BigInteger().with_variant(Integer(), "sqlite")

IntPK = Annotated[int, mapped_column(primary_key=True)]


def utcnow() -> dt.datetime:
    """Server clock, UTC, aware."""
    return dt.datetime.now(dt.UTC)


CreatedAt = Annotated[dt.datetime, mapped_column(UTCDateTime(), default=utcnow)]
Str100 = Annotated[str, mapped_column(String(100))]


class Base(AsyncAttrs, DeclarativeBase):
    """Base of every table of proctor."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {dt.datetime: UTCDateTime(), Decimal: Credits()}
