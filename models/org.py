"""The organisation tree (province -> city -> county -> unit) and its liaisons."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import ForeignKey, Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, CreatedAt, IntPK, UTCDateTime, str_enum


class OrgLevel(enum.StrEnum):
    """Levels of the three-level platform (Art. 2) plus the units under them."""

    PROVINCE = "province"
    CITY = "city"
    COUNTY = "county"
    UNIT = "unit"


class OrgUnit(Base):
    """A node of the org tree.

    ``path`` is the materialised path of ids ("/1/4/17/"), so a subtree is one indexed
    prefix match and scope checks need no recursive query.
    """

    __tablename__ = "org_unit"

    id: Mapped[IntPK]
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"))
    level: Mapped[OrgLevel] = mapped_column(str_enum(OrgLevel))
    name: Mapped[str] = mapped_column(String(100))
    code: Mapped[str] = mapped_column(String(32), unique=True)
    path: Mapped[str] = mapped_column(String(255), unique=True)
    created_at: Mapped[CreatedAt]
    # A closed node keeps its history (learners' archives name it) but takes no new
    # learners, rosters or children.
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_org_unit_parent_name", "parent_id", "name", unique=True),)


class Liaison(Base):
    """The liaison (联络员) a unit's HR department names (Art. 9).

    PII: name and phone of a contact person. The phone is stored like a learner's: encrypted
    (``phone_cipher``) with a masked copy for display, so a database dump alone does not
    reveal it.
    """

    __tablename__ = "liaison"

    id: Mapped[IntPK]
    org_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    name: Mapped[str] = mapped_column(String(50))
    phone_cipher: Mapped[bytes] = mapped_column(LargeBinary)
    # As long as the number (landlines with area codes and extensions are longer than mobiles).
    phone_masked: Mapped[str] = mapped_column(String(32))
    email: Mapped[str | None] = mapped_column(String(120))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    created_at: Mapped[CreatedAt]
