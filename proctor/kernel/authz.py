"""Management authority (Art. 14): who is acting, and the org subtree they may see."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement
from sqlalchemy.orm import InstrumentedAttribute

from models import Role
from proctor.kernel.errors import Forbidden

STAFF_ROLES = frozenset({Role.LIAISON, Role.ORG_ADMIN, Role.REVIEWER, Role.ACADEMY_ADMIN})
# Who may administer rosters, learners and classes in their subtree.
ADMIN_ROLES = frozenset({Role.LIAISON, Role.ORG_ADMIN, Role.ACADEMY_ADMIN})
# Who may approve roster batches and open training classes (a liaison only submits).
APPROVER_ROLES = frozenset({Role.ORG_ADMIN, Role.ACADEMY_ADMIN})


@dataclass(frozen=True)
class Actor:
    """The signed-in account, with its org node's materialised path."""

    account_id: int
    username: str
    display_name: str
    role: Role
    org_id: int
    org_path: str
    learner_id: int | None = None
    must_change_password: bool = False

    def covers(self, path: str) -> bool:
        """True when an org path lies inside this actor's subtree."""
        return path.startswith(self.org_path)

    def in_scope(self, column: InstrumentedAttribute[str]) -> ColumnElement[bool]:
        """SQL filter: the row's org path lies inside this actor's subtree."""
        # Paths hold only digits and slashes, so no LIKE wildcard can sneak in.
        return column.startswith(self.org_path)

    def require(self, roles: frozenset[Role], what: str = "此操作") -> None:
        """Refuse when the actor's role may not do this at all."""
        if self.role not in roles:
            raise Forbidden(f"当前角色无权进行{what}")

    @property
    def is_staff(self) -> bool:
        """Staff accounts administer a subtree; learners see only their own records."""
        return self.role in STAFF_ROLES
