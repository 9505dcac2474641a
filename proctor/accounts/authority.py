"""Pure rules of who manages which account (Art. 10, 14): plain data in, a verdict out.

A role that manages no account at all is refused first; then scope (a target outside the
actor's subtree is "not found", never "forbidden"), then role: administrators manage the accounts below them; a liaison only helps the learners of
their own unit back into their accounts; nobody manages their own account through these
actions (they change their own password on the password page).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from models import OrgLevel, Role

ADMINISTRATORS = frozenset({Role.ORG_ADMIN, Role.ACADEMY_ADMIN})
STAFF = frozenset({Role.LIAISON, Role.REVIEWER, Role.ORG_ADMIN, Role.ACADEMY_ADMIN})

# Where each staff role sits in the tree: liaisons in a unit (Art. 9), the others at a level.
PLACES: dict[Role, frozenset[OrgLevel]] = {
    Role.LIAISON: frozenset({OrgLevel.UNIT}),
    Role.REVIEWER: frozenset({OrgLevel.PROVINCE, OrgLevel.CITY, OrgLevel.COUNTY}),
    Role.ORG_ADMIN: frozenset({OrgLevel.PROVINCE, OrgLevel.CITY, OrgLevel.COUNTY}),
    Role.ACADEMY_ADMIN: frozenset({OrgLevel.PROVINCE}),
}


class Action(enum.StrEnum):
    """What is done to an account."""

    RECOVER = "recover"  # reset the password, unlock
    STATUS = "status"  # deactivate, reactivate, edit
    CREATE = "create"


class Verdict(enum.StrEnum):
    """The rule's answer; the service turns it into 404, 403 or permission."""

    ALLOWED = "allowed"
    NOT_FOUND = "not_found"
    FORBIDDEN = "forbidden"
    SELF = "self"


@dataclass(frozen=True)
class Party:
    """One side of the decision: a role and an org path (and the account, to spot oneself)."""

    role: Role
    path: str
    account_id: int | None = None


def decide(actor: Party, target: Party, action: Action) -> Verdict:
    """May ``actor`` do ``action`` to an account like ``target``?"""
    if actor.role not in (Role.LIAISON, Role.ORG_ADMIN, Role.ACADEMY_ADMIN):
        # Learners and reviewers manage no account, wherever it is.
        return Verdict.FORBIDDEN
    if not target.path.startswith(actor.path):
        return Verdict.NOT_FOUND
    if actor.account_id is not None and actor.account_id == target.account_id:
        return Verdict.SELF
    if actor.role is Role.ACADEMY_ADMIN:
        return Verdict.ALLOWED
    if target.role is Role.LEARNER:
        if actor.role is Role.ORG_ADMIN:
            return Verdict.ALLOWED
        if actor.role is Role.LIAISON and action is Action.RECOVER:
            return Verdict.ALLOWED
        return Verdict.FORBIDDEN
    if actor.role is not Role.ORG_ADMIN or target.role is Role.ACADEMY_ADMIN:
        return Verdict.FORBIDDEN
    if target.role is Role.ORG_ADMIN and target.path == actor.path:
        # A peer administrator of the same node is managed by the one above them both.
        return Verdict.FORBIDDEN
    return Verdict.ALLOWED


def place_problem(role: Role, level: OrgLevel) -> str | None:
    """Why an account of ``role`` cannot sit at a node of ``level`` (None: it can)."""
    if role not in PLACES:
        return "只能创建联络员、审核员和管理员账号（学员账号由花名册审批生成）"
    if level in PLACES[role]:
        return None
    return {
        Role.LIAISON: "联络员账号须设在具体单位",
        Role.ACADEMY_ADMIN: "学院管理员账号须设在省级",
    }.get(role, "管理员和审核员账号须设在省、市州或县市区")
