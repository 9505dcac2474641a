"""Learners (real-name roster entries), accounts and login sessions."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Boolean, Date, ForeignKey, Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, CreatedAt, IntPK, UTCDateTime, str_enum


class Role(enum.StrEnum):
    """What an account may do; every role but the academy administrator is org-scoped."""

    LEARNER = "learner"
    LIAISON = "liaison"
    ORG_ADMIN = "org_admin"
    REVIEWER = "reviewer"
    ACADEMY_ADMIN = "academy_admin"


class Learner(Base):
    """A cadre on a real-name roster: one person, one learner, one account (Art. 10).

    PII: real name, identity number and phone. The identity number and phone are stored
    encrypted (``*_cipher``) with a keyed hash for lookups (``id_hash``) and a masked
    copy for display, so a database dump alone does not reveal them.
    """

    __tablename__ = "learner"

    id: Mapped[IntPK]
    name: Mapped[str] = mapped_column(String(50))
    id_hash: Mapped[str] = mapped_column(String(64), unique=True)
    id_cipher: Mapped[bytes] = mapped_column(LargeBinary)
    id_masked: Mapped[str] = mapped_column(String(18))
    birth_date: Mapped[dt.date] = mapped_column(Date)
    gender: Mapped[str] = mapped_column(String(1))
    phone_cipher: Mapped[bytes] = mapped_column(LargeBinary)
    phone_masked: Mapped[str] = mapped_column(String(16))
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    # Denormalised from the unit so that scope filters are one indexed prefix match.
    org_path: Mapped[str] = mapped_column(String(255), index=True)
    rank: Mapped[str] = mapped_column(String(20))
    position: Mapped[str] = mapped_column(String(60), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[CreatedAt]


class Account(Base):
    """A login. Staff accounts are attached to the org node whose subtree they administer.

    PII: username may contain a person's name; e-mail address.
    """

    __tablename__ = "account"

    id: Mapped[IntPK]
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(50))
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[Role] = mapped_column(str_enum(Role))
    org_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    learner_id: Mapped[int | None] = mapped_column(ForeignKey("learner.id"), unique=True)
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # Where reminders go by e-mail (optional; set by the administrator managing the account).
    email: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[CreatedAt]


class LoginSession(Base):
    """A signed-in browser or API client; only a hash of the bearer token is stored."""

    __tablename__ = "login_session"

    id: Mapped[IntPK]
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"), index=True)
    created_at: Mapped[CreatedAt]
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    ip: Mapped[str] = mapped_column(String(64), default="")
    user_agent: Mapped[str] = mapped_column(String(300), default="")

    __table_args__ = (Index("ix_login_session_expires", "expires_at"),)
