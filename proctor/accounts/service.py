"""Sign-in, sessions and password changes."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlalchemy import delete, select

from models import Account, AuditEvent, LoginSession, OrgUnit, utcnow
from proctor.kernel.authz import Actor
from proctor.kernel.context import Context
from proctor.kernel.errors import InvalidInput, Unauthenticated
from proctor.kernel.security.passwords import check_new_password


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def login(
    ctx: Context, username: str, password: str, *, ip: str = "", user_agent: str = ""
) -> tuple[str, Actor]:
    """Check a username and password; return a new session token and the actor.

    Repeated failures lock the account for a while, so initial passwords on a printed
    sheet cannot be guessed online. The failure counter is committed before the error.
    """
    now = utcnow()
    failure: Unauthenticated | None = None
    async with ctx.db.begin() as s:
        account = await s.scalar(select(Account).where(Account.username == username.strip()))
        if account is None or not account.active:
            # Hash anyway so that timing does not reveal which usernames exist.
            ctx.passwords.verify(ctx.dummy_hash, password)
            failure = Unauthenticated("用户名或密码错误")
        elif account.locked_until is not None and account.locked_until > now:
            failure = Unauthenticated("登录失败次数过多，账号已暂时锁定，请稍后再试")
        elif not ctx.passwords.verify(account.password_hash, password):
            account.failed_logins += 1
            if account.failed_logins >= ctx.settings.login_max_failures:
                account.locked_until = now + dt.timedelta(minutes=ctx.settings.login_lock_minutes)
                account.failed_logins = 0
            failure = Unauthenticated("用户名或密码错误")
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
    return token, actor


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
