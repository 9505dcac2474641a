"""Who manages which account: the pure rules, table-driven."""

from __future__ import annotations

import pytest

from models import OrgLevel, Role
from proctor.accounts.authority import Action, Party, Verdict, decide, place_problem

PROVINCE, CITY, COUNTY, UNIT, OTHER_CITY = "/1/", "/1/2/", "/1/2/3/", "/1/2/3/4/", "/1/9/"
A, L, G, R, S = Role.ACADEMY_ADMIN, Role.LIAISON, Role.ORG_ADMIN, Role.REVIEWER, Role.LEARNER
RECOVER, STATUS, CREATE = Action.RECOVER, Action.STATUS, Action.CREATE
OK, NF, NO, SELF = Verdict.ALLOWED, Verdict.NOT_FOUND, Verdict.FORBIDDEN, Verdict.SELF


@pytest.mark.parametrize(
    ("actor", "target", "action", "verdict"),
    [
        # The academy manages everyone but itself.
        ((A, PROVINCE, 1), (A, PROVINCE, 2), STATUS, OK),
        ((A, PROVINCE, 1), (A, PROVINCE, 1), RECOVER, SELF),
        ((A, PROVINCE, 1), (S, UNIT, 3), STATUS, OK),
        # A city administrator: learners and staff below, peers and the academy not.
        ((G, CITY, 1), (S, UNIT, 2), STATUS, OK),
        ((G, CITY, 1), (L, UNIT, 2), STATUS, OK),
        ((G, CITY, 1), (R, CITY, 2), STATUS, OK),
        ((G, CITY, 1), (G, COUNTY, 2), RECOVER, OK),
        ((G, CITY, 1), (G, CITY, 2), RECOVER, NO),
        ((G, PROVINCE, 1), (A, PROVINCE, 2), RECOVER, NO),
        ((G, CITY, 1), (A, PROVINCE, 2), RECOVER, NF),
        ((G, CITY, 1), (S, OTHER_CITY, 2), RECOVER, NF),
        ((G, CITY, 1), (G, CITY, 1), RECOVER, SELF),
        ((G, CITY, 1), (G, CITY, None), CREATE, NO),
        ((G, CITY, 1), (G, COUNTY, None), CREATE, OK),
        # A liaison helps their unit's learners back in, and nothing more.
        ((L, UNIT, 1), (S, UNIT, 2), RECOVER, OK),
        ((L, UNIT, 1), (S, UNIT, 2), STATUS, NO),
        ((L, UNIT, 1), (L, UNIT, 3), RECOVER, NO),
        ((L, UNIT, 1), (S, "/1/2/3/5/", 2), RECOVER, NF),
        # Reviewers manage no account.
        ((R, CITY, 1), (S, UNIT, 2), RECOVER, NO),
        ((R, CITY, 1), (S, OTHER_CITY, 2), RECOVER, NO),
        ((S, UNIT, 1), (S, UNIT, 2), RECOVER, NO),
        ((S, UNIT, 1), (S, OTHER_CITY, 2), RECOVER, NO),
    ],
)
def test_decide(
    actor: tuple[Role, str, int],
    target: tuple[Role, str, int | None],
    action: Action,
    verdict: Verdict,
) -> None:
    assert decide(Party(*actor), Party(*target), action) is verdict


@pytest.mark.parametrize(
    ("role", "level", "fine"),
    [
        (L, OrgLevel.UNIT, True),
        (L, OrgLevel.COUNTY, False),
        (G, OrgLevel.UNIT, False),
        (G, OrgLevel.CITY, True),
        (R, OrgLevel.PROVINCE, True),
        (A, OrgLevel.CITY, False),
        (S, OrgLevel.UNIT, False),
    ],
)
def test_places(role: Role, level: OrgLevel, fine: bool) -> None:
    assert (place_problem(role, level) is None) is fine
