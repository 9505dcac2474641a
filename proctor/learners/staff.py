"""Staff accounts (liaisons, reviewers, administrators), created by the administrator above.

Learner accounts come from approved rosters (Art. 10); staff accounts are opened here, one
person one account, with an initial password shown once and changed at first sign-in. A
liaison's account also names them as their unit's contact (Art. 9), phone included.
"""

from __future__ import annotations

import asyncio
import re

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from models import Account, AuditEvent, Role, utcnow
from proctor.accounts.admin import IssuedPassword, clean_email, judge
from proctor.accounts.authority import PLACES, Action, Party, place_problem
from proctor.kernel.authz import Actor
from proctor.kernel.context import Context
from proctor.kernel.errors import Conflict, Forbidden, InvalidInput
from proctor.kernel.identity import validate_phone
from proctor.kernel.security.passwords import generate_initial_password
from proctor.orgs.contacts import new_liaison
from proctor.orgs.service import get_in_scope

USERNAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{2,63}$")
# Usernames of learner accounts are "<unit code>-<sequence>"; staff never take that shape, so a
# roster approval can never find its next login already taken by a staff account.
LEARNER_SHAPE = re.compile(r"^[A-Za-z0-9]+-\d+$")


def check_username(username: str) -> str:
    """A staff username as stored, or the reason it cannot be one."""
    username = username.strip()
    if not USERNAME_RE.match(username):
        raise InvalidInput(
            "用户名须为 3 至 64 位字母、数字、下划线、点或连字符，并以字母或数字开头",
            field="username",
        )
    if LEARNER_SHAPE.match(username):
        raise InvalidInput("“单位代码-序号”形式的用户名留给学员账号，请换一个", field="username")
    return username


async def create_staff(
    ctx: Context,
    actor: Actor,
    *,
    username: str,
    display_name: str,
    role: Role,
    org_id: int,
    email: str | None = None,
    phone: str | None = None,
) -> IssuedPassword:
    """Open a staff account at a node of the actor's subtree; refuse a taken username."""
    if actor.role not in (Role.ORG_ADMIN, Role.ACADEMY_ADMIN):
        raise Forbidden("只有管理员可以创建工作人员账号")
    username = check_username(username)
    display_name = display_name.strip()
    if not display_name:
        raise InvalidInput("请填写姓名", field="display_name")
    email = clean_email(email)
    phone_value = None
    if phone:
        phone_value = validate_phone(phone)
        if phone_value is None:
            raise InvalidInput("手机号格式不正确（应为 11 位中国大陆手机号）", field="phone")
    if role is Role.LIAISON and phone_value is None:
        raise InvalidInput(
            "联络员须填写手机号：学员忘记密码时会看到联络员的联系方式", field="phone"
        )
    password = generate_initial_password()
    hashed = await asyncio.to_thread(ctx.passwords.hash, password)
    try:
        async with ctx.db.begin() as s:
            org = await get_in_scope(s, actor, org_id)
            problem = place_problem(role, org.level)
            if problem is not None:
                raise InvalidInput(problem, field="org_id" if role in PLACES else "role")
            if org.closed_at is not None:
                raise InvalidInput("该机构已撤销，不能再设账号", field="org_id")
            judge(actor, Party(role, org.path), Action.CREATE)
            taken = await s.scalar(
                select(Account.id).where(func.lower(Account.username) == username.lower())
            )
            if taken is not None:
                raise Conflict(f"用户名已被使用：{username}", field="username")
            account = Account(
                username=username,
                display_name=display_name,
                password_hash=hashed,
                role=role,
                org_id=org.id,
                email=email,
                must_change_password=True,
                active=True,
                failed_logins=0,
            )
            s.add(account)
            await s.flush()
            if role is Role.LIAISON and phone_value is not None:
                s.add(
                    new_liaison(
                        ctx.vault,
                        org.id,
                        display_name,
                        phone_value,
                        email=email,
                        account_id=account.id,
                    )
                )
            s.add(
                AuditEvent(
                    actor_id=actor.account_id,
                    action="account.create",
                    target=f"account:{account.id}",
                    detail={"username": username, "role": role.value, "org_id": org.id},
                )
            )
            return IssuedPassword(account.id, username, display_name, org.name, password, utcnow())
    except IntegrityError as exc:
        # The same username created by someone else at the same moment.
        raise Conflict(f"用户名已被使用：{username}", field="username") from exc
