"""Administrators help people back into their accounts and open or close them (Art. 10, 14).

Every action is scoped (404 outside the actor's subtree), refused by role (403), audited, and
ends the account's login sessions when it takes access away or replaces the password.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from models import Account, AuditEvent, Learner, LoginSession, OrgUnit, Role, utcnow
from proctor.accounts.authority import Action, Party, Verdict, decide
from proctor.kernel.authz import Actor
from proctor.kernel.context import Context
from proctor.kernel.errors import Forbidden, InvalidInput, NotFound
from proctor.kernel.paging import Count, bounded_count
from proctor.kernel.security.passwords import generate_initial_password

NOT_FOUND = "账号不存在或不在您的管理范围内"
EMAIL_MAX = 120


@dataclass(frozen=True)
class AccountView:
    """An account as administrators see it."""

    id: int
    username: str
    display_name: str
    role: Role
    org_id: int
    org_name: str
    email: str | None
    active: bool
    locked: bool
    must_change_password: bool
    learner_id: int | None
    created_at: dt.datetime

    def as_dict(self) -> dict[str, Any]:
        """JSON shape."""
        out = dict(self.__dict__)
        out["role"] = self.role.value
        return out


@dataclass(frozen=True)
class IssuedPassword:
    """A new initial password, shown once (the database keeps only its hash)."""

    account_id: int
    username: str
    display_name: str
    org_name: str
    password: str
    issued_at: dt.datetime

    def as_dict(self) -> dict[str, Any]:
        """JSON shape."""
        return dict(self.__dict__)


def view_of(account: Account, org_name: str, now: dt.datetime | None = None) -> AccountView:
    """The administrators' view of an account."""
    now = now or utcnow()
    return AccountView(
        id=account.id,
        username=account.username,
        display_name=account.display_name,
        role=account.role,
        org_id=account.org_id,
        org_name=org_name,
        email=account.email,
        active=account.active,
        locked=account.locked_until is not None and account.locked_until > now,
        must_change_password=account.must_change_password,
        learner_id=account.learner_id,
        created_at=account.created_at,
    )


def clean_email(value: str | None) -> str | None:
    """An e-mail address, trimmed; empty means none."""
    value = (value or "").strip()
    if not value:
        return None
    local, _, domain = value.partition("@")
    if len(value) > EMAIL_MAX or not local or "." not in domain or " " in value:
        raise InvalidInput("电子邮箱格式不正确", field="email")
    return value


def judge(actor: Actor, target: Party, action: Action) -> None:
    """Raise the refusal the authority rules give, if any."""
    verdict = decide(Party(actor.role, actor.org_path, actor.account_id), target, action)
    if verdict is Verdict.NOT_FOUND:
        raise NotFound(NOT_FOUND)
    if verdict is Verdict.SELF:
        raise Forbidden("不能对自己的账号进行此操作（修改本人密码请到“修改密码”页面）")
    if verdict is Verdict.FORBIDDEN:
        raise Forbidden("当前角色无权管理该账号")


async def load(
    session: AsyncSession, actor: Actor, account_id: int, action: Action, *, lock: bool = False
) -> tuple[Account, OrgUnit]:
    """An account the actor may act on, with its org node; 404 or 403 otherwise."""
    stmt = select(Account).where(Account.id == account_id)
    account = await session.scalar(stmt.with_for_update() if lock else stmt)
    if account is None:
        raise NotFound(NOT_FOUND)
    org = await session.get_one(OrgUnit, account.org_id)
    judge(actor, Party(account.role, org.path, account.id), action)
    return account, org


async def _end_sessions(session: AsyncSession, account_id: int) -> None:
    await session.execute(delete(LoginSession).where(LoginSession.account_id == account_id))


def _audit(actor: Actor, action: str, account: Account, **detail: Any) -> AuditEvent:
    return AuditEvent(
        actor_id=actor.account_id, action=action, target=f"account:{account.id}", detail=detail
    )


async def reset_password(ctx: Context, actor: Actor, account_id: int) -> IssuedPassword:
    """A new initial password (forced change at next sign-in); the lock and sessions end."""
    async with ctx.db() as s:
        await load(s, actor, account_id, Action.RECOVER)
    password = generate_initial_password()
    # argon2 at full cost takes a noticeable moment: hash off the event loop.
    hashed = await asyncio.to_thread(ctx.passwords.hash, password)
    async with ctx.db.begin() as s:
        account, org = await load(s, actor, account_id, Action.RECOVER, lock=True)
        account.password_hash = hashed
        account.must_change_password = True
        account.failed_logins = 0
        account.locked_until = None
        await _end_sessions(s, account.id)
        s.add(_audit(actor, "account.password_reset", account))
        return IssuedPassword(
            account.id, account.username, account.display_name, org.name, password, utcnow()
        )


async def unlock(ctx: Context, actor: Actor, account_id: int) -> AccountView:
    """Lift a lock left by repeated failed sign-ins."""
    async with ctx.db.begin() as s:
        account, org = await load(s, actor, account_id, Action.RECOVER, lock=True)
        was_locked = account.locked_until is not None and account.locked_until > utcnow()
        account.failed_logins = 0
        account.locked_until = None
        s.add(_audit(actor, "account.unlock", account, was_locked=was_locked))
        return view_of(account, org.name)


async def set_active(ctx: Context, actor: Actor, account_id: int, active: bool) -> AccountView:
    """Deactivate (signs the account out everywhere) or reactivate an account; a learner's
    record follows their account, so reports count only active learners."""
    async with ctx.db.begin() as s:
        account, org = await load(s, actor, account_id, Action.STATUS, lock=True)
        before = account.active
        account.active = active
        if not active:
            await _end_sessions(s, account.id)
        if account.learner_id is not None:
            learner = await s.get_one(Learner, account.learner_id)
            learner.active = active
        s.add(
            _audit(
                actor,
                "account.reactivate" if active else "account.deactivate",
                account,
                active=[before, active],
            )
        )
        return view_of(account, org.name)


async def update(
    ctx: Context, actor: Actor, account_id: int, changes: dict[str, Any]
) -> AccountView:
    """Change a staff account's shown name or e-mail (a learner's name is changed on their
    learner record, which keeps the two in step)."""
    async with ctx.db.begin() as s:
        account, org = await load(s, actor, account_id, Action.STATUS, lock=True)
        audit: dict[str, Any] = {}
        if "display_name" in changes:
            if account.role is Role.LEARNER:
                raise InvalidInput("学员姓名请在学员信息中修改", field="display_name")
            name = str(changes["display_name"]).strip()
            if not name:
                raise InvalidInput("姓名不能为空", field="display_name")
            audit["display_name"] = [account.display_name, name]
            account.display_name = name
        if "email" in changes:
            email = clean_email(changes["email"])
            audit["email"] = [account.email, email]
            account.email = email
        if not audit:
            raise InvalidInput("没有可修改的字段", field="body")
        s.add(_audit(actor, "account.update", account, **audit))
        return view_of(account, org.name)


async def get(ctx: Context, actor: Actor, account_id: int) -> AccountView:
    """One account the actor manages (reading is allowed wherever managing is)."""
    async with ctx.db() as s:
        account, org = await load(s, actor, account_id, Action.RECOVER)
        return view_of(account, org.name)


def _listing(actor: Actor) -> Select[Account, str]:
    return (
        select(Account, OrgUnit.name)
        .join(OrgUnit, OrgUnit.id == Account.org_id)
        .where(actor.in_scope(OrgUnit.path))
    )


async def list_staff(
    ctx: Context,
    actor: Actor,
    *,
    role: Role | None = None,
    org_path: str | None = None,
    q: str = "",
    offset: int = 0,
    limit: int = 50,
) -> tuple[Count, list[AccountView]]:
    """Staff accounts in the actor's subtree (or a part of it), by org then username."""
    if actor.role not in (Role.ORG_ADMIN, Role.ACADEMY_ADMIN):
        raise Forbidden("只有管理员可以管理工作人员账号")
    stmt = _listing(actor).where(Account.role != Role.LEARNER)
    if role is not None:
        stmt = stmt.where(Account.role == role)
    if org_path is not None:
        stmt = stmt.where(OrgUnit.path.startswith(org_path))
    if q:
        like = f"%{q.replace('%', '').replace('_', '')}%"
        match: list[ColumnElement[bool]] = [
            Account.username.like(like),
            Account.display_name.like(like),
        ]
        stmt = stmt.where(or_(*match))
    async with ctx.db() as s:
        total = await bounded_count(s, stmt)
        rows = (
            await s.execute(
                stmt.order_by(OrgUnit.path, Account.username).offset(offset).limit(limit)
            )
        ).all()
    now = utcnow()
    return total, [view_of(a, org_name, now) for a, org_name in rows]


async def learner_account(ctx: Context, actor: Actor, learner_id: int) -> AccountView | None:
    """The account of a learner the actor may read (None when the learner has none)."""
    async with ctx.db() as s:
        row = (
            await s.execute(
                _listing(actor).where(
                    Account.learner_id == learner_id, Account.role == Role.LEARNER
                )
            )
        ).first()
    return view_of(row[0], row[1]) if row is not None else None
