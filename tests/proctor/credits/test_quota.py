"""Target groups (Art. 5): the most specific matching group of the year sets the quota."""

from __future__ import annotations

from decimal import Decimal

import pytest

from models import TargetGroup
from proctor.credits.policy import Quota
from proctor.credits.quota import depth, learner_quota, most_specific, resolve_group
from proctor.kernel.context import Context
from tests.factories import World

DIVISION = "县处级副职"
CLERK = "科员"


def group(
    gid: int, path: str, ranks: list[str] | None = None, priority: int = 0, total: int = 40
) -> TargetGroup:
    return TargetGroup(
        id=gid,
        year=2026,
        name=f"g{gid}",
        org_id=1,
        org_path=path,
        ranks=ranks or [],
        total_credits=Decimal(total),
        required_credits=Decimal(24),
        priority=priority,
    )


PROVINCE_ALL = group(1, "/1/")
PROVINCE_DIVISION = group(2, "/1/", [DIVISION])
CITY_DIVISION = group(3, "/1/2/", [DIVISION])
COUNTY_CLERKS = group(4, "/1/2/4/", [CLERK])
OTHER_CITY_ALL = group(5, "/1/3/")
PREFIX_TRAP = group(6, "/1/4/")
SAME_DEPTH_LOW = group(7, "/1/2/", [], priority=1)
SAME_DEPTH_HIGH = group(8, "/1/2/", [], priority=5)
SAME_DEPTH_HIGH_LATER = group(9, "/1/2/", [], priority=5)
DEEP_LOW_PRIORITY = group(10, "/1/2/4/", [], priority=-3)


@pytest.mark.parametrize(
    ("groups", "org_path", "rank", "expected"),
    [
        # No group at all, or none covering the learner: not in this year's target group.
        ([], "/1/2/4/9/", DIVISION, None),
        ([OTHER_CITY_ALL], "/1/2/4/9/", DIVISION, None),
        ([CITY_DIVISION], "/1/2/4/9/", CLERK, None),
        # Paths are compared as whole segments: /1/4/ does not hold /1/40/.
        ([PREFIX_TRAP], "/1/40/", DIVISION, None),
        ([PREFIX_TRAP], "/1/4/", DIVISION, 6),
        # An empty rank list matches every rank.
        ([PROVINCE_ALL], "/1/2/4/9/", CLERK, 1),
        # The deeper org node wins over the province.
        ([PROVINCE_ALL, CITY_DIVISION], "/1/2/4/9/", DIVISION, 3),
        ([PROVINCE_DIVISION, CITY_DIVISION, PROVINCE_ALL], "/1/2/4/9/", DIVISION, 3),
        # ... but only when its rank list holds the learner's rank.
        ([PROVINCE_ALL, CITY_DIVISION, COUNTY_CLERKS], "/1/2/4/9/", DIVISION, 3),
        ([PROVINCE_ALL, CITY_DIVISION, COUNTY_CLERKS], "/1/2/4/9/", CLERK, 4),
        ([PROVINCE_DIVISION, COUNTY_CLERKS], "/1/3/8/", CLERK, None),
        # Depth beats priority.
        ([SAME_DEPTH_HIGH, DEEP_LOW_PRIORITY], "/1/2/4/", DIVISION, 10),
        # Same depth: higher priority, then the older group.
        ([SAME_DEPTH_LOW, SAME_DEPTH_HIGH], "/1/2/4/", DIVISION, 8),
        ([SAME_DEPTH_HIGH_LATER, SAME_DEPTH_LOW, SAME_DEPTH_HIGH], "/1/2/", DIVISION, 8),
    ],
)
def test_most_specific_group(
    groups: list[TargetGroup], org_path: str, rank: str, expected: int | None
) -> None:
    """Resolution table: subtree, rank list, depth, priority, id."""
    found = most_specific(groups, org_path, rank)
    assert (found.id if found else None) == expected


@pytest.mark.parametrize(("path", "expected"), [("/", 0), ("/1/", 1), ("/1/2/", 2), ("/1/2/4/", 3)])
def test_depth(path: str, expected: int) -> None:
    """Depth counts path segments."""
    assert depth(path) == expected


async def test_resolve_group_from_the_database(ctx: Context, world: World) -> None:
    """Groups are per year; a city's group overrides the province's for its cadres."""
    province, city = world.org("湖南省"), world.org("长沙市")
    async with ctx.db.begin() as s:
        s.add_all(
            [
                TargetGroup(
                    year=2026,
                    name="全省县处级",
                    org_id=province.id,
                    org_path=province.path,
                    ranks=[DIVISION],
                    total_credits=Decimal(40),
                    required_credits=Decimal(24),
                ),
                TargetGroup(
                    year=2026,
                    name="长沙市县处级",
                    org_id=city.id,
                    org_path=city.path,
                    ranks=[DIVISION],
                    total_credits=Decimal(50),
                    required_credits=Decimal(30),
                ),
                TargetGroup(
                    year=2025,
                    name="全省全员",
                    org_id=province.id,
                    org_path=province.path,
                    ranks=[],
                    total_credits=Decimal(30),
                    required_credits=Decimal(15),
                ),
            ]
        )
    zhang, li, zhao = (world.learners[k] for k in ("zhang", "li", "zhao"))
    async with ctx.db() as s:
        names = {
            (key, year): (g.name if (g := await resolve_group(s, learner, year)) else None)
            for key, learner in (("zhang", zhang), ("li", li), ("zhao", zhao))
            for year in (2025, 2026, 2027)
        }
        assert await learner_quota(s, zhang, 2026) == Quota(Decimal("50.00"), Decimal("30.00"))
        assert await learner_quota(s, li, 2026) is None
    assert names == {
        ("zhang", 2025): "全省全员",
        ("zhang", 2026): "长沙市县处级",
        ("zhang", 2027): None,
        ("li", 2025): "全省全员",
        ("li", 2026): None,  # a 科员 is outside the pilot group
        ("li", 2027): None,
        ("zhao", 2025): "全省全员",
        ("zhao", 2026): "全省县处级",  # 株洲市 has no group of its own
        ("zhao", 2027): None,
    }
