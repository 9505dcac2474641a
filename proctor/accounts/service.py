"""Sign-in, sessions and password changes."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlalchemy import delete, select

from models import Account, AuditEvent, LoginSession, OrgUnit, Role, utcnow
from proctor.accounts.throttle import address_key, lock_needed, throttle_of
from proctor.kernel.authz import Actor
from proctor.kernel.context import Context
from proctor.kernel.errors import InvalidInput, NotFound, Unauthenticated
from proctor.kernel.security.passwords import check_new_password


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def login(
    ctx: Context, username: str, password: str, *, ip: str = "", user_agent: str = ""
) -> tuple[str, Actor]:
    """Check a username and password; return a new session token and the actor.

    The source address's budget is checked first (429 beyond it), then the account's
    lockout (see :mod:`proctor.accounts.throttle`). Every refusal after the first guard
    is the same "wrong username or password" after the same argon2 verification, so
    neither the answer nor its timing tells whether a username exists or is locked.
    Failure counts are committed before the error.
    """
    address = address_key(ip)
    throttle = throttle_of(ctx)
    await throttle.admit(address)
    now = utcnow()
    failure: Unauthenticated | None = None
    async with ctx.db.begin() as s:
        account = await s.scalar(select(Account).where(Account.username == username.strip()))
        if account is None or not account.active:
            ctx.passwords.verify(ctx.dummy_hash, password)
            failure = _wrong()
        elif not ctx.passwords.verify(account.password_hash, password):
            if account.locked_until is None or account.locked_until <= now:
                await _count_failure(ctx, account, address, now)
            failure = _wrong()
        elif account.locked_until is not None and account.locked_until > now:
            # The right password while locked: refused exactly like a wrong one.
            failure = _wrong()
        else:
            account.failed_logins = 0
            account.locked_until = None
            token = secrets.token_urlsafe(32)
            s.add(
                LoginSession(
                    token_hash=_token_hash(token),
                    account_id=account.id,
                    expires_at=now + dt.timedelta(hours=ctx.settings.session_hours),
                    ip=ip[:64],
                    user_agent=user_agent[:300],
                )
            )
            org = await s.get_one(OrgUnit, account.org_id)
            actor = _actor(account, org.path)
    if failure is not None:
        raise failure
    await throttle.succeeded(address, actor.account_id)
    return token, actor


def _wrong() -> Unauthenticated:
    return Unauthenticated("用户名或密码错误；多次输错后需等待一段时间才能再次登录")


async def _count_failure(ctx: Context, account: Account, address: str, now: dt.datetime) -> None:
    """A wrong password on an unlocked account; lock it when the policy says so."""
    staff = account.role is not Role.LEARNER
    throttle = throttle_of(ctx)
    account.failed_logins += 1
    addresses = await throttle.staff_failure(account.id, address) if staff else 0
    limits = throttle.limits
    if lock_needed(staff=staff, failures=account.failed_logins, addresses=addresses, limits=limits):
        account.locked_until = now + dt.timedelta(seconds=limits.lock_s)
        account.failed_logins = 0
        if staff:
            await throttle.staff_locked(account.id)


def _actor(account: Account, org_path: str) -> Actor:
    return Actor(
        account_id=account.id,
        username=account.username,
        display_name=account.display_name,
        role=account.role,
        org_id=account.org_id,
        org_path=org_path,
        learner_id=account.learner_id,
        must_change_password=account.must_change_password,
    )


async def actor_by_username(ctx: Context, username: str) -> Actor:
    """The actor of an active account, named at the command line (an operator acting for a
    staff member: a roster import from a file, say); NotFound otherwise."""
    async with ctx.db() as s:
        row = (
            await s.execute(
                select(Account, OrgUnit.path)
                .join(OrgUnit, OrgUnit.id == Account.org_id)
                .where(Account.username == username)
            )
        ).first()
    if row is None or not row[0].active:
        raise NotFound(f"账号不存在或已停用：{username}")
    return _actor(row[0], row[1])


async def resolve(ctx: Context, token: str) -> Actor:
    """The actor behind a session token, or Unauthenticated."""
    async with ctx.db() as s:
        row = (
            await s.execute(
                select(Account, OrgUnit.path, LoginSession.expires_at)
                .join(LoginSession, LoginSession.account_id == Account.id)
                .join(OrgUnit, OrgUnit.id == Account.org_id)
                .where(LoginSession.token_hash == _token_hash(token))
            )
        ).first()
    if row is None or row[2] <= utcnow() or not row[0].active:
        raise Unauthenticated("登录已失效，请重新登录")
    return _actor(row[0], row[1])


async def logout(ctx: Context, token: str) -> None:
    """End a session."""
    async with ctx.db.begin() as s:
        await s.execute(delete(LoginSession).where(LoginSession.token_hash == _token_hash(token)))


async def change_password(
    ctx: Context, actor: Actor, current_password: str, new_password: str
) -> None:
    """Change the actor's password; required at first login (Art. 10 initial passwords)."""
    if current_password == new_password:
        raise InvalidInput("新密码不能与原密码相同", field="new_password")
    check_new_password(new_password, username=actor.username)
    async with ctx.db.begin() as s:
        account = await s.get_one(Account, actor.account_id)
        if not ctx.passwords.verify(account.password_hash, current_password):
            raise InvalidInput("原密码不正确", field="current_password")
        account.password_hash = ctx.passwords.hash(new_password)
        account.must_change_password = False
        s.add(
            AuditEvent(
                actor_id=actor.account_id, action="password.change", target=f"account:{account.id}"
            )
        )
