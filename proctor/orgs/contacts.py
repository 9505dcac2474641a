"""Liaisons as contacts (Art. 9): who a learner asks when they cannot sign in.

How a liaison's phone is stored is decided in one place here (``new_liaison``,
``full_phone`` and ``shown_phone``), so that protecting it further changes these only.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from models import Account, Learner, Liaison, OrgUnit, Role
from proctor.kernel.context import Context
from proctor.kernel.security.pii import PiiVault, mask_phone


def new_liaison(
    vault: PiiVault,
    org_id: int,
    name: str,
    phone: str,
    *,
    email: str | None = None,
    account_id: int | None = None,
) -> Liaison:
    """A liaison row for a unit: the phone encrypted at rest, with a masked copy to show."""
    return Liaison(
        org_id=org_id,
        name=name,
        phone_cipher=vault.encrypt(phone),
        phone_masked=mask_phone(phone),
        email=email,
        account_id=account_id,
    )


def full_phone(vault: PiiVault, liaison: Liaison) -> str | None:
    """The whole number, for an SMS gateway that must dial it (never shown on a page)."""
    return vault.decrypt(liaison.phone_cipher) or None


def shown_phone(liaison: Liaison) -> str:
    """The phone as anyone but the liaison's administrator sees it: masked."""
    return liaison.phone_masked


@dataclass(frozen=True)
class Contact:
    """Whom to ask: a name, a masked phone, and the unit they serve."""

    name: str
    phone_masked: str
    org_name: str
    role: str  # "liaison" or "administrator"

    def as_dict(self) -> dict[str, str]:
        """JSON shape."""
        return dict(self.__dict__)


def _same_name(a: str, b: str) -> bool:
    return "".join(a.split()) == "".join(b.split())


async def whom_to_ask(ctx: Context, username: str, name: str) -> list[Contact]:
    """The people who can reset an account's password, if the username and the real name
    match one account; else nothing, so the page cannot be used to find out who has an
    account (an attacker needs both, and learns only a masked phone).

    A learner asks their unit's liaisons (Art. 9); staff, and learners of a unit without a
    liaison, ask the administrators of the nearest node above them.
    """
    async with ctx.db() as s:
        account = await s.scalar(
            select(Account).where(func.lower(Account.username) == username.strip().lower())
        )
        if account is None or not account.active or not _same_name(account.display_name, name):
            return []
        org = await s.get_one(OrgUnit, account.org_id)
        if account.role is Role.LEARNER and account.learner_id is not None:
            learner = await s.get_one(Learner, account.learner_id)
            liaisons = (
                await s.scalars(
                    select(Liaison).where(Liaison.org_id == learner.unit_id).order_by(Liaison.id)
                )
            ).all()
            unit = await s.get_one(OrgUnit, learner.unit_id)
            if liaisons:
                return [Contact(li.name, shown_phone(li), unit.name, "liaison") for li in liaisons]
            org = unit
        return await _administrators_above(s, org, account)


async def _administrators_above(s: AsyncSession, org: OrgUnit, account: Account) -> list[Contact]:
    ids = [int(p) for p in org.path.strip("/").split("/") if p]
    # Staff are helped by an administrator above their own node; learners by their unit's.
    if account.role is not Role.LEARNER:
        ids = ids[:-1] if account.role is Role.ORG_ADMIN else ids
    for org_id in reversed(ids):
        admins = (
            await s.execute(
                select(Account.display_name, OrgUnit.name)
                .join(OrgUnit, OrgUnit.id == Account.org_id)
                .where(
                    Account.org_id == org_id,
                    Account.role.in_([Role.ORG_ADMIN, Role.ACADEMY_ADMIN]),
                    Account.active.is_(True),
                    Account.id != account.id,
                )
                .order_by(Account.id)
                .limit(3)
            )
        ).all()
        if admins:
            return [Contact(name, "", org_name, "administrator") for name, org_name in admins]
    return []
