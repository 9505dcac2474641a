"""Demo cadres, drawn without touching the database: who works where, at which rank.

Ranks (职级) follow a civil service pyramid: in county departments most people are 科员 or
乡科级, a few hold 县处级 grades; provincial departments have more senior staff and a handful
of 厅局级 leaders. Age and sex follow rank (nobody is 厅局级 at 30, senior ranks are mostly
men, as in the real statistics), and the position (职务) fits the rank and the unit: a county
bureau has one 局长 (乡科级正职), a provincial department one 厅长 (厅局级正职).
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from proctor.demo.names import random_name
from proctor.kernel.identity import make_id_number, random_phone
from proctor.learners.ranks import RANKS

AGE_REFERENCE = dt.date(2026, 1, 1)

# Weights in RANKS order: 省部正, 省部副, 厅局正, 厅局副, 县处正, 县处副, 乡科正, 乡科副, 科员, 办事员.
RANK_WEIGHTS_COUNTY = (0, 0, 0, 0, 1, 3, 13, 20, 52, 11)
RANK_WEIGHTS_PROVINCE = (0, 0, 1, 3, 10, 16, 20, 20, 26, 4)
# (youngest, oldest) age at AGE_REFERENCE, and the share of men, by rank.
AGES = {
    "省部级正职": (55, 59),
    "省部级副职": (52, 59),
    "厅局级正职": (50, 59),
    "厅局级副职": (45, 59),
    "县处级正职": (40, 59),
    "县处级副职": (35, 59),
    "乡科级正职": (30, 59),
    "乡科级副职": (28, 57),
    "科员": (24, 50),
    "办事员": (24, 35),
}
MALE_SHARE = {
    "省部级正职": 0.9,
    "省部级副职": 0.9,
    "厅局级正职": 0.85,
    "厅局级副职": 0.8,
    "县处级正职": 0.75,
    "县处级副职": 0.7,
    "乡科级正职": 0.62,
    "乡科级副职": 0.58,
    "科员": 0.5,
    "办事员": 0.45,
}
# Non-leadership positions: the grade (职级) titles that go with each rank.
GRADE_TITLES = {
    "省部级正职": ("一级巡视员",),
    "省部级副职": ("一级巡视员",),
    "厅局级正职": ("一级巡视员",),
    "厅局级副职": ("二级巡视员",),
    "县处级正职": ("一级调研员", "二级调研员"),
    "县处级副职": ("三级调研员", "四级调研员"),
    "乡科级正职": ("一级主任科员", "二级主任科员"),
    "乡科级副职": ("三级主任科员", "四级主任科员"),
    "科员": ("一级科员", "二级科员"),
    "办事员": ("办事员",),
}
MAX_DEPUTIES = 3
# Leading a unit takes years in the service: no 28-year-old bureau chief.
MIN_AGE_HEAD = 38
MIN_AGE_DEPUTY = 32


@dataclass(frozen=True)
class UnitSlot:
    """A unit people can work in, as the drawing needs it."""

    index: int
    name: str
    provincial: bool
    # GB/T 2260 county codes of where its people were first registered (identity numbers):
    # the county itself for county departments, anywhere in the province for provincial ones.
    regions: tuple[str, ...]


@dataclass(frozen=True)
class Person:
    """One demo cadre."""

    unit: int  # UnitSlot.index
    name: str
    gender: str  # "M" / "F"
    birth_date: dt.date
    id_number: str
    phone: str
    rank: str
    position: str


@dataclass
class _Leadership:
    """Leadership posts already filled per unit, so each unit has one head."""

    heads: set[int]
    deputies: dict[int, int]


def _position(rng: random.Random, rank: str, age: int, unit: UnitSlot, posts: _Leadership) -> str:
    committee = unit.name.endswith("委员会")
    head_rank, deputy_rank, head, deputy = (
        (
            "厅局级正职",
            "厅局级副职",
            "主任" if committee else "厅长",
            "副主任" if committee else "副厅长",
        )
        if unit.provincial
        else ("乡科级正职", "乡科级副职", "局长", "副局长")
    )
    if rank == head_rank and age >= MIN_AGE_HEAD and unit.index not in posts.heads:
        posts.heads.add(unit.index)
        return head
    deputies = posts.deputies.get(unit.index, 0)
    # County bureaus also have 乡科级副职 staff who are not deputy heads (三级主任科员 ...).
    if (
        rank == deputy_rank
        and age >= MIN_AGE_DEPUTY
        and deputies < MAX_DEPUTIES
        and (unit.provincial or rng.random() < 0.5)
    ):
        posts.deputies[unit.index] = deputies + 1
        return deputy
    if unit.provincial and rank == "县处级正职" and rng.random() < 0.6:
        return "处长"
    if unit.provincial and rank == "县处级副职" and rng.random() < 0.6:
        return "副处长"
    return rng.choice(GRADE_TITLES[rank])


def _birth(rng: random.Random, rank: str) -> dt.date:
    youngest, oldest = AGES[rank]
    # Between the day one turns `oldest + 1` (exclusive) and the day one turns `youngest`.
    latest = AGE_REFERENCE.replace(year=AGE_REFERENCE.year - youngest)
    earliest = AGE_REFERENCE.replace(year=AGE_REFERENCE.year - oldest - 1) + dt.timedelta(days=1)
    return earliest + dt.timedelta(days=rng.randint(0, (latest - earliest).days))


def _age(birth: dt.date) -> int:
    ref = AGE_REFERENCE
    return ref.year - birth.year - ((ref.month, ref.day) < (birth.month, birth.day))


def draw_person(
    rng: random.Random,
    unit: UnitSlot,
    posts: _Leadership,
    taken: set[str],
    rank: str | None = None,
) -> Person:
    """A cadre of ``unit`` (rank drawn unless given) with a unique, valid identity number."""
    if rank is None:
        weights = RANK_WEIGHTS_PROVINCE if unit.provincial else RANK_WEIGHTS_COUNTY
        rank = rng.choices(RANKS, weights=weights)[0]
    male = rng.random() < MALE_SHARE[rank]
    while True:
        birth = _birth(rng, rank)
        # The sequence's last digit carries the sex: odd for men, even for women.
        sequence = rng.randrange(1, 1000, 2) if male else rng.randrange(2, 1000, 2)
        id_number = make_id_number(rng.choice(unit.regions), birth, sequence)
        if id_number not in taken:
            taken.add(id_number)
            break
    return Person(
        unit=unit.index,
        name=random_name(rng, male, birth.year),
        gender="M" if male else "F",
        birth_date=birth,
        id_number=id_number,
        phone=random_phone(rng),
        rank=rank,
        position=_position(rng, rank, _age(birth), unit, posts),
    )


def draw_people(
    rng: random.Random,
    groups: list[tuple[float, list[UnitSlot]]],
    count: int,
    first: list[tuple[UnitSlot, str]] | None = None,
) -> list[Person]:
    """``count`` people: the ``first`` ones at given units and ranks, the rest spread over
    the groups by share (e.g. provincial departments, the pilot city, everywhere else)."""
    posts = _Leadership(set(), {})
    taken: set[str] = set()
    people = [draw_person(rng, unit, posts, taken, rank) for unit, rank in (first or [])[:count]]
    live = [(share, units) for share, units in groups if units]
    shares = [share for share, _ in live]
    while len(people) < count:
        units = rng.choices([u for _, u in live], weights=shares)[0]
        people.append(draw_person(rng, rng.choice(units), posts, taken))
    return people
