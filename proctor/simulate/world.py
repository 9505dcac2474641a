"""The simulated academy: org tree, learners with home cities, catalog, network addresses.

Addresses are drawn from per-city prefixes so that "the same account from two cities on
one day" is visible the way it would be in production (by the address's network), and
units sit behind one NAT address, as government offices do.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import func, select

from models import Course, CourseKind, Learner, Lesson, OrgLevel, OrgUnit
from proctor.credits.policy import course_credits, credit_rules
from proctor.kernel.context import Context
from proctor.kernel.identity import random_id_number
from proctor.kernel.security.pii import mask_id_number, mask_phone
from proctor.orgs.service import add_org

CITIES = [
    ("长沙市", "4301", "10.1"),
    ("株洲市", "4302", "10.2"),
    ("岳阳市", "4306", "10.6"),
    ("常德市", "4307", "10.7"),
]
COUNTY_NAMES = ["一区", "二区", "三县"]
UNIT_NAMES = ["财政局", "教育局", "卫生健康局", "自然资源局"]


@dataclass(frozen=True)
class SimLesson:
    """A lesson the simulated players can watch."""

    id: int
    course_id: int
    seconds: int


@dataclass(frozen=True)
class SimCourse:
    """A course and its credit density (credits per minute of lecture)."""

    id: int
    lessons: tuple[SimLesson, ...]
    credits: Decimal
    density: float


@dataclass(frozen=True)
class SimLearner:
    """A learner of the simulated world."""

    id: int
    unit_id: int
    city_prefix: str
    unit_ip: str


@dataclass
class SimWorld:
    """Everything the behaviour models need to know about the academy."""

    learners: list[SimLearner] = field(default_factory=list)
    courses: list[SimCourse] = field(default_factory=list)
    city_prefixes: list[str] = field(default_factory=list)


class NotEmptyDatabase(Exception):
    """The simulator builds its own province and needs a database without one."""


async def build_world(
    ctx: Context, rng: random.Random, *, learners: int, courses: int = 24
) -> SimWorld:
    """Create orgs, learners and a catalog in the (empty) database."""
    world = SimWorld(city_prefixes=[c[2] for c in CITIES])
    units: list[tuple[int, str, str]] = []
    async with ctx.db.begin() as s:
        if await s.scalar(select(func.count()).select_from(OrgUnit)):
            raise NotEmptyDatabase(
                "数据库中已有组织机构：模拟会自建一套省市县单位，需要空数据库"
                "（另设 PROCTOR_DATABASE_URL 或 PROCTOR_DATA_DIR 后运行 proctor db upgrade）"
            )
        province = await add_org(s, None, OrgLevel.PROVINCE, "湖南省", "43")
        for ci, (city_name, code, prefix) in enumerate(CITIES):
            city = await add_org(s, province, OrgLevel.CITY, city_name, code)
            for k, county_name in enumerate(COUNTY_NAMES):
                county = await add_org(
                    s, city, OrgLevel.COUNTY, f"{city_name[:-1]}{county_name}", f"{code}{k + 1:02d}"
                )
                for u, unit_name in enumerate(UNIT_NAMES):
                    unit = await add_org(
                        s,
                        county,
                        OrgLevel.UNIT,
                        f"{county.name}{unit_name}",
                        f"{county.code}{u + 1:03d}",
                    )
                    units.append((unit.id, unit.path, f"{prefix}.{ci * 16 + k * 4 + u}.1"))
        rows = []
        for i in range(learners):
            unit_id, path, nat = units[i % len(units)]
            id_number = random_id_number(rng, "430102")
            phone = f"139{rng.randint(0, 99_999_999):08d}"
            rows.append(
                Learner(
                    name=f"学员{i:05d}",
                    id_hash=ctx.vault.lookup_hash(id_number + f"#{i}"),
                    id_cipher=ctx.vault.encrypt(id_number),
                    id_masked=mask_id_number(id_number),
                    birth_date=dt.date(1980, 1, 1),
                    gender="M",
                    phone_cipher=ctx.vault.encrypt(phone),
                    phone_masked=mask_phone(phone),
                    unit_id=unit_id,
                    org_path=path,
                    rank="科员",
                )
            )
        s.add_all(rows)
        await s.flush()
        for row in rows:
            _, _, nat = next(u for u in units if u[0] == row.unit_id)
            world.learners.append(SimLearner(row.id, row.unit_id, nat.rsplit(".", 2)[0], nat))
        for c in range(courses):
            kind = CourseKind.REQUIRED if c % 3 else CourseKind.ELECTIVE
            n_lessons = rng.randint(1, 3)
            lesson_secs = [rng.choice([900, 1200, 1500, 1800, 2400]) for _ in range(n_lessons)]
            designated = Decimal("3") if c % 11 == 5 else None
            course = Course(
                code=f"SIM{c:03d}",
                title=f"模拟课程{c}",
                category_id=1 + c % 10,
                kind=kind,
                lecture_seconds=sum(lesson_secs),
                designated_credits=designated,
                owner_org_id=province.id,
                owner_path=province.path,
            )
            s.add(course)
            await s.flush()
            lessons = []
            for j, secs in enumerate(lesson_secs):
                lesson = Lesson(
                    course_id=course.id, ordinal=j + 1, title=f"第{j + 1}讲", duration_seconds=secs
                )
                s.add(lesson)
                await s.flush()
                lessons.append(SimLesson(lesson.id, course.id, secs))
            credits = course_credits(kind, sum(lesson_secs), designated, credit_rules(ctx.settings))
            world.courses.append(
                SimCourse(
                    course.id, tuple(lessons), credits, float(credits) / (sum(lesson_secs) / 60)
                )
            )
    return world


async def world_from_database(
    ctx: Context, rng: random.Random, *, org_path: str, learners: int
) -> SimWorld:
    """A simulated world over an existing academy (the demo): learners of a subtree, its catalog.

    Address prefixes follow the learners' cities, so cities stay distinguishable.
    """
    async with ctx.db() as s:
        cities = {
            o.path: f"10.{i + 1}"
            for i, o in enumerate(
                (
                    await s.scalars(
                        select(OrgUnit).where(OrgUnit.level == OrgLevel.CITY).order_by(OrgUnit.id)
                    )
                ).all()
            )
        }
        rows = (
            await s.scalars(
                select(Learner)
                .where(Learner.org_path.startswith(org_path), Learner.active.is_(True))
                .order_by(Learner.id)
            )
        ).all()
        courses = (
            await s.scalars(
                select(Course)
                .where(Course.published.is_(True), func.length(Course.owner_path) <= 3)
                .order_by(Course.id)
            )
        ).all()
        lessons = (await s.scalars(select(Lesson).order_by(Lesson.course_id, Lesson.ordinal))).all()
    world = SimWorld(city_prefixes=sorted(set(cities.values())))
    picked = rng.sample(list(rows), k=min(learners, len(rows)))
    for learner in sorted(picked, key=lambda r: r.id):
        city_path = "/".join(learner.org_path.split("/")[:3]) + "/"
        prefix = cities.get(city_path, "10.99")
        world.learners.append(
            SimLearner(learner.id, learner.unit_id, prefix, f"{prefix}.{learner.unit_id % 250}.1")
        )
    by_course: dict[int, list[Lesson]] = {}
    for lesson in lessons:
        by_course.setdefault(lesson.course_id, []).append(lesson)
    for course in courses:
        parts = by_course.get(course.id, [])
        if not parts:
            continue
        credits = course_credits(
            course.kind,
            course.lecture_seconds,
            course.designated_credits,
            credit_rules(ctx.settings),
        )
        world.courses.append(
            SimCourse(
                course.id,
                tuple(SimLesson(x.id, course.id, x.duration_seconds) for x in parts),
                credits,
                float(credits) / max(1.0, course.lecture_seconds / 60),
            )
        )
    return world
