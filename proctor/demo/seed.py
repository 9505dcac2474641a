"""The realistic demo data set: Hunan's org tree, thousands of learners, catalog, history.

Everything is drawn from one ``random.Random(random_seed)``, so a seed always gives the same
people, units and history. Rows are written in bulk: 3000 learners take seconds.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import random
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from models import (
    Account,
    Course,
    CourseCategory,
    CourseCompletion,
    CourseKind,
    CreditEntry,
    CreditKind,
    CreditSource,
    Enrolment,
    EnrolmentSource,
    Learner,
    Lesson,
    Liaison,
    OrgLevel,
    OrgUnit,
    Role,
    TargetGroup,
    TrainingClass,
    TrainingClassCourse,
    TrainingClassMember,
    utcnow,
)
from proctor.credits.policy import CreditRules, course_credits, credit_rules
from proctor.demo import courses as catalog
from proctor.demo.exams import seed_exams
from proctor.demo.hunan import (
    CITIES,
    CORE_DEPARTMENTS,
    COUNTY_DEPARTMENTS,
    PROVINCE,
    PROVINCIAL_CITY,
    PROVINCIAL_COUNTY,
    PROVINCIAL_DEPARTMENTS,
    all_county_codes,
)
from proctor.demo.media import ensure_videos, video_url
from proctor.demo.names import random_name
from proctor.demo.people import Person, UnitSlot, draw_people
from proctor.demo.reports import reports_demo
from proctor.demo.review import review_history
from proctor.demo.staff import staff_work
from proctor.kernel.context import Context
from proctor.kernel.errors import Conflict
from proctor.kernel.identity import random_phone
from proctor.kernel.progress import Progress, silent
from proctor.kernel.security.pii import mask_id_number, mask_phone
from proctor.learners.ranks import DIVISION_AND_ABOVE, SECTION_AND_ABOVE
from proctor.orgs.service import add_org

log = logging.getLogger(__name__)

DEMO_PASSWORD = "Demo@2026"  # noqa: S105 - the published demo password, printed by `proctor demo`
YEAR = 2026
# Where learners work: provincial departments, the pilot city 长沙市, everywhere else.
SHARES = (0.17, 0.25, 0.58)
# The printed learner logins xy000001.. are these people, so the demo script is stable:
# a deputy section chief in the Changsha group, a clerk in no target group, a county bureau
# head, and a provincial deputy division director in the province-wide pilot group.
FIRST_LEARNERS = (
    ("芙蓉区财政局", "乡科级副职"),
    ("芙蓉区教育局", "科员"),
    ("浏阳市教育局", "乡科级正职"),
    ("湖南省财政厅", "县处级副职"),
)
STAFF = (
    ("admin", "学院管理员", Role.ACADEMY_ADMIN, "湖南省"),
    ("admin2", "学院教务员", Role.ACADEMY_ADMIN, "湖南省"),
    ("hn_admin", "省委组织部干部教育处", Role.ORG_ADMIN, "湖南省"),
    ("cs_admin", "长沙市委组织部", Role.ORG_ADMIN, "长沙市"),
    ("zz_admin", "株洲市委组织部", Role.ORG_ADMIN, "株洲市"),
    ("yy_admin", "岳阳市委组织部", Role.ORG_ADMIN, "岳阳市"),
    ("fr_admin", "芙蓉区委组织部", Role.ORG_ADMIN, "芙蓉区"),
    ("tx_admin", "天心区委组织部", Role.ORG_ADMIN, "天心区"),
    ("liuyang_admin", "浏阳市委组织部", Role.ORG_ADMIN, "浏阳市"),
    ("ht_admin", "荷塘区委组织部", Role.ORG_ADMIN, "荷塘区"),
    ("cs_liaison1", "", Role.LIAISON, "芙蓉区财政局"),
    ("cs_liaison2", "", Role.LIAISON, "浏阳市教育局"),
    ("hn_liaison1", "", Role.LIAISON, "湖南省财政厅"),
    ("reviewer_hn", "省委组织部审核员", Role.REVIEWER, "湖南省"),
    ("reviewer_cs", "长沙市委组织部审核员", Role.REVIEWER, "长沙市"),
)
ROLE_NAMES = {
    Role.LEARNER: "学员",
    Role.ACADEMY_ADMIN: "学院管理员",
    Role.ORG_ADMIN: "组织管理员",
    Role.LIAISON: "联络员",
    Role.REVIEWER: "审核员",
}
CLASS_COURSES = ("数字政府建设与政务服务改革", "人工智能与公共管理", "长沙市城市更新实践")
CLASS_SIZE = 50
# Courses completed this year before the switch to this platform: from none to nearly the
# quota, so archives show every state (about 20 courses make the 40 credits).
COMPLETED_2026 = (0, 1, 2, 3, 4, 6, 8, 10, 14, 18)


@dataclass
class _Tree:
    """The org nodes the rest of the seed refers to."""

    province: OrgUnit
    named: dict[str, OrgUnit]  # every node by name: names are unique in the demo tree
    units: list[OrgUnit]  # unit-level nodes, in UnitSlot.index order
    groups: list[list[UnitSlot]]  # provincial, 长沙市, others (see SHARES)

    def slot(self, name: str) -> UnitSlot:
        """The drawing slot of a unit by name."""
        return next(s for group in self.groups for s in group if s.name == name)


def _username(index: int) -> str:
    return f"xy{index + 1:06d}"


async def seed_demo(
    ctx: Context,
    *,
    learners: int,
    random_seed: int,
    videos: bool = True,
    study_week: bool = True,
    progress: Progress = silent,
    week_learners: int = 90,
) -> list[tuple[str, str, str]]:
    """Seed an empty database; return (username, password, role) logins to print.

    ``videos`` generates the lesson videos (ffmpeg, cached in the data folder) while the
    database is written; ``study_week`` then plays a week of study through the tracker and
    runs detection, over ``week_learners`` Changsha learners. Tests switch both off, or
    shrink the week, to stay fast.
    """
    steps = [
        "建立机构树",
        "写入学员与账号",
        "写入课程与学习历史",
        "生成工作人员待办",
        *(["模拟一周学习并检测", "审核历史与考试", "报表数据"] if study_week and learners else []),
    ]
    done = 0

    def step(finished: bool = True) -> None:
        nonlocal done
        done += finished
        name = steps[min(done, len(steps) - 1)]
        progress(f"演示数据·{name}", done, len(steps))

    step(False)
    rng = random.Random(random_seed)
    started = time.perf_counter()
    reviewed: list[tuple[str, str, str]] = []
    media_job: asyncio.Future[int] | None = None
    try:
        async with ctx.db.begin() as s:
            if (await s.scalar(select(func.count()).select_from(OrgUnit))) or 0:
                raise Conflict(
                    "数据库中已有机构数据：演示数据只能写入空数据库（proctor demo 会新建一个）"
                )
            if videos:
                # ffmpeg works in its own process while Python writes the database.
                lengths = {
                    sec for c in catalog.COURSES + catalog.CHANGSHA_COURSES for _, sec in c.lessons
                }
                media_job = asyncio.ensure_future(
                    asyncio.to_thread(ensure_videos, ctx.settings.data_dir / "media", lengths)
                )
            tree = await _org_tree(s, rng)
            step()
            people = draw_people(
                rng,
                [(share, group) for share, group in zip(SHARES, tree.groups, strict=True)],
                learners,
                [(tree.slot(unit), rank) for unit, rank in FIRST_LEARNERS],
            )
            learner_ids = await _learners(s, ctx, tree, people)
            staff = await _staff(s, ctx, rng, tree)
            step()
            _target_groups(s, tree)
            courses = await _catalog(s, rng, tree)
            await _history(s, rng, credit_rules(ctx.settings), tree, people, learner_ids, courses)
            await _training_class(s, rng, tree, people, learner_ids, courses, staff["cs_admin"])
        step()
        log.info("demo database written in %.1f s", time.perf_counter() - started)
        await staff_work(ctx, random_seed)
        step()
        if study_week and learners:
            await _simulated_week(
                ctx, tree.named["长沙市"].path, random_seed, progress, learners=week_learners
            )
            step()
            log.info("simulated week done at %.1f s", time.perf_counter() - started)
            reviewed = await review_history(ctx, DEMO_PASSWORD)
            for run in await seed_exams(ctx, tree.named["长沙市"].path, random_seed):
                log.info(
                    "exam %d analysed: %d attempts, %d flags, %d cases",
                    run.exam_id,
                    run.attempts,
                    run.flags,
                    run.cases_opened,
                )
            step()
            reviewed += await reports_demo(ctx, DEMO_PASSWORD)
            step()
    finally:
        if media_job is not None:
            made = await media_job
            log.info("%d lesson videos ready at %.1f s", made, time.perf_counter() - started)

    logins = [
        (_username(i), DEMO_PASSWORD, f"学员（{p.name}，{tree.units[p.unit].name}，{p.rank}）")
        for i, p in enumerate(people[: len(FIRST_LEARNERS)])
    ]
    for username, display, role, org in STAFF:
        scope = org if role is not Role.ACADEMY_ADMIN else display
        logins.append((username, DEMO_PASSWORD, f"{ROLE_NAMES[role]}（{scope}）"))
    logins.extend(reviewed)
    return _once_each(logins)


def _once_each(logins: list[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    """One line per login: a login that plays several parts (staff also showing the reports)
    has them joined on its line, in order."""
    merged: dict[str, tuple[str, str, str]] = {}
    for username, password, role in logins:
        if username in merged:
            _, pw, before = merged[username]
            merged[username] = (username, pw, f"{before}；{role}")
        else:
            merged[username] = (username, password, role)
    return list(merged.values())


async def _org_tree(s: AsyncSession, rng: random.Random) -> _Tree:
    """湖南省 -> cities -> counties -> departments, with real names and GB/T 2260 codes."""
    province = await add_org(s, None, OrgLevel.PROVINCE, *PROVINCE)
    named = {province.name: province}
    units: list[OrgUnit] = []
    groups: list[list[UnitSlot]] = [[], [], []]
    everywhere = tuple(all_county_codes())

    async def unit(
        parent: OrgUnit, name: str, code: str, group: int, regions: tuple[str, ...]
    ) -> None:
        node = await add_org(s, parent, OrgLevel.UNIT, name, code)
        named[name] = node
        groups[group].append(UnitSlot(len(units), name, group == 0, regions))
        units.append(node)

    city = await add_org(s, province, OrgLevel.CITY, *PROVINCIAL_CITY)
    county = await add_org(s, city, OrgLevel.COUNTY, *PROVINCIAL_COUNTY)
    named.update({city.name: city, county.name: county})
    for i, name in enumerate(PROVINCIAL_DEPARTMENTS, start=1):
        await unit(county, name, f"{county.code}{i:03d}", 0, everywhere)
    for c in CITIES:
        city = await add_org(s, province, OrgLevel.CITY, c.name, c.code)
        named[c.name] = city
        for county_name, code in c.counties:
            county = await add_org(s, city, OrgLevel.COUNTY, county_name, code)
            named[county_name] = county
            # Every county has the core departments and 1-4 of the others: 3-6 units.
            extra = rng.sample(COUNTY_DEPARTMENTS[CORE_DEPARTMENTS:], k=rng.randint(1, 4))
            for suffix, dept in sorted([*COUNTY_DEPARTMENTS[:CORE_DEPARTMENTS], *extra]):
                group = 1 if c.name == "长沙市" else 2
                await unit(county, f"{county_name}{dept}", f"{code}{suffix}", group, (code,))
    return _Tree(province, named, units, groups)


async def _learners(s: AsyncSession, ctx: Context, tree: _Tree, people: list[Person]) -> list[int]:
    """Learner rows (PII encrypted, hashed and masked) and their accounts; returns ids."""
    rows = []
    for p in people:
        unit = tree.units[p.unit]
        rows.append(
            Learner(
                name=p.name,
                id_hash=ctx.vault.lookup_hash(p.id_number),
                id_cipher=ctx.vault.encrypt(p.id_number),
                id_masked=mask_id_number(p.id_number),
                birth_date=p.birth_date,
                gender=p.gender,
                phone_cipher=ctx.vault.encrypt(p.phone),
                phone_masked=mask_phone(p.phone),
                unit_id=unit.id,
                org_path=unit.path,
                rank=p.rank,
                position=p.position,
            )
        )
    s.add_all(rows)
    await s.flush()
    # Demo only: every demo learner shares one published password, so it is hashed once;
    # argon2 is deliberately slow and thousands of hashes would take minutes.
    shared_hash = ctx.passwords.hash(DEMO_PASSWORD)
    now = utcnow()
    if rows:
        await s.execute(
            insert(Account),
            [
                {
                    "username": _username(i),
                    "display_name": row.name,
                    "password_hash": shared_hash,
                    "role": Role.LEARNER,
                    "org_id": row.unit_id,
                    "learner_id": row.id,
                    "must_change_password": False,
                    "created_at": now,
                }
                for i, row in enumerate(rows)
            ],
        )
    return [row.id for row in rows]


async def _staff(
    s: AsyncSession, ctx: Context, rng: random.Random, tree: _Tree
) -> dict[str, Account]:
    """Staff accounts of every role, and a named liaison (Art. 9) for the pilot's units."""
    shared_hash = ctx.passwords.hash(DEMO_PASSWORD)
    accounts: dict[str, Account] = {}
    for username, display, role, org in STAFF:
        account = Account(
            username=username,
            display_name=display or random_name(rng, rng.random() < 0.5, rng.randint(1970, 1995)),
            password_hash=shared_hash,
            role=role,
            org_id=tree.named[org].id,
            must_change_password=False,
        )
        s.add(account)
        accounts[username] = account
    await s.flush()
    with_account = {a.org_id: a for a in accounts.values() if a.role is Role.LIAISON}
    pilot_units = [u for u in tree.units if u.path.startswith(tree.named["长沙市"].path)]
    pilot_units += [tree.named[name] for name in PROVINCIAL_DEPARTMENTS]
    for unit in pilot_units:
        liaison = with_account.get(unit.id)
        phone = random_phone(rng)
        s.add(
            Liaison(
                org_id=unit.id,
                name=liaison.display_name
                if liaison
                else random_name(rng, rng.random() < 0.5, rng.randint(1970, 1995)),
                phone_cipher=ctx.vault.encrypt(phone),
                phone_masked=mask_phone(phone),
                email=None,
                account_id=liaison.id if liaison else None,
            )
        )
    return accounts


def _target_groups(s: AsyncSession, tree: _Tree) -> None:
    """Who must study (Art. 5) with the pilot quota of 40 credits, 24 required (Art. 12).

    The pilot covers deputy-division level and above everywhere and, in 长沙市, deputy-section
    level and above; the Changsha group is deeper in the tree, so it wins for its members.
    Last year's groups stay for the archive's history.
    """
    changsha = tree.named["长沙市"]
    for year in (YEAR - 1, YEAR):
        for name, org, ranks in (
            ("试点：县处级副职及以上", tree.province, DIVISION_AND_ABOVE),
            ("长沙市副科级及以上", changsha, SECTION_AND_ABOVE),
        ):
            s.add(
                TargetGroup(
                    year=year,
                    name=name,
                    org_id=org.id,
                    org_path=org.path,
                    ranks=list(ranks),
                    total_credits=Decimal(40),
                    required_credits=Decimal(24),
                )
            )


async def _catalog(s: AsyncSession, rng: random.Random, tree: _Tree) -> list[Course]:
    """Provincial courses and 长沙市's local ones, each with its lessons and demo videos."""
    categories = {c.code: c.id for c in (await s.scalars(select(CourseCategory))).all()}
    courses: list[Course] = []
    lessons: list[dict[str, Any]] = []
    for owner, prefix, specs in (
        (tree.province, "HN", catalog.COURSES),
        (tree.named["长沙市"], "CS", catalog.CHANGSHA_COURSES),
    ):
        for n, spec in enumerate(specs, start=1):
            name = random_name(rng, rng.random() < 0.65, rng.randint(1960, 1985))
            course = Course(
                code=f"{prefix}{YEAR}{n:03d}",
                title=spec.title,
                category_id=categories[spec.category],
                kind=CourseKind(spec.kind),
                lecture_seconds=spec.lecture_seconds,
                designated_credits=spec.designated,
                owner_org_id=owner.id,
                owner_path=owner.path,
                lecturer=catalog.lecturer(rng, spec.category, name),
                description=catalog.description(spec),
            )
            s.add(course)
            courses.append(course)
    await s.flush()
    specs_by_title = {c.title: c for c in catalog.COURSES + catalog.CHANGSHA_COURSES}
    for course in courses:
        for k, (title, seconds) in enumerate(specs_by_title[course.title].lessons, start=1):
            lessons.append(
                {
                    "course_id": course.id,
                    "ordinal": k,
                    "title": title,
                    "duration_seconds": seconds,
                    "video_url": video_url(seconds),
                }
            )
    await s.execute(insert(Lesson), lessons)
    return courses


def _moment(rng: random.Random, first: dt.date, last: dt.date) -> dt.datetime:
    """A random office-hours moment (Beijing time, stored as UTC) between two days."""
    day = first + dt.timedelta(days=rng.randint(0, max(0, (last - first).days)))
    # 08:30-17:30 in Beijing is 00:30-09:30 UTC.
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC) + dt.timedelta(
        minutes=rng.randint(30, 570)
    )


async def _history(
    s: AsyncSession,
    rng: random.Random,
    rules: CreditRules,
    tree: _Tree,
    people: list[Person],
    learner_ids: list[int],
    courses: list[Course],
) -> None:
    """Credits imported from the academy's previous system, so archives are not empty:
    last year's totals, this year's completed courses until the switch, a few electives
    chosen and not finished yet.

    These rows are bulk-inserted instead of going through ``proctor.credits.ledger``: its
    post-once check costs a query and a savepoint per entry, which for ~15000 entries is
    half a minute, and the database is known to be empty (seed_demo refuses otherwise).
    Keys follow the ledger's scheme ("legacy:<record>" for imported totals,
    "course:<learner>:<course>" for a completed course), so if the tracker completes one of
    these courses again its credit is still posted only once.
    """
    changsha_path = tree.named["长沙市"].path
    now = utcnow()
    switch = min(dt.date(YEAR, 10, 31), (now - dt.timedelta(days=7)).date())
    year_start = dt.date(YEAR, 1, 5)
    provincial = [c for c in courses if c.owner_path == tree.province.path]
    everything = list(courses)
    credits = {
        c.id: course_credits(c.kind, c.lecture_seconds, c.designated_credits, rules)
        for c in courses
    }
    entries: list[dict[str, Any]] = []
    completions: list[dict[str, Any]] = []
    enrolments: list[dict[str, Any]] = []

    def legacy(
        learner_id: int, record: str, kind: CreditKind, amount: Decimal, at: dt.datetime
    ) -> None:
        entries.append(
            {
                "learner_id": learner_id,
                "year": YEAR - 1,
                "course_id": None,
                "kind": kind,
                "amount": amount,
                "source": CreditSource.LEGACY,
                "evidence": {"legacy_record": record},
                "idempotency_key": f"legacy:{record}",
                "posted_at": at,
            }
        )

    for i, (person, learner_id) in enumerate(zip(people, learner_ids, strict=True)):
        demo = i < len(FIRST_LEARNERS)
        if demo or rng.random() < 0.85:
            # Most met last year's quota (40, of which 24 required); some fell short.
            if rng.random() < 0.7:
                total = rng.randint(40, 52)
                required = rng.randint(24, min(total - 4, 34))
            else:
                total = rng.randint(12, 39)
                required = rng.randint(min(total, 8), min(total, 24))
            elective = Decimal(total - required) - (Decimal("0.5") if rng.random() < 0.3 else 0)
            first_half = required // 2
            record = f"HN{YEAR - 1}-{i + 1:06d}"
            first, last = dt.date(YEAR - 1, 3, 1), dt.date(YEAR - 1, 12, 20)
            legacy(
                learner_id,
                f"{record}-1",
                CreditKind.REQUIRED,
                Decimal(first_half),
                _moment(rng, first, dt.date(YEAR - 1, 6, 30)),
            )
            legacy(
                learner_id,
                f"{record}-2",
                CreditKind.REQUIRED,
                Decimal(required - first_half),
                _moment(rng, dt.date(YEAR - 1, 7, 1), last),
            )
            if elective > 0:
                legacy(
                    learner_id,
                    f"{record}-3",
                    CreditKind.ELECTIVE,
                    elective,
                    _moment(rng, first, last),
                )

        visible = (
            everything if tree.units[person.unit].path.startswith(changsha_path) else provincial
        )
        done = rng.sample(
            visible, k=min(len(visible), rng.choice(COMPLETED_2026) + (3 if demo else 0))
        )
        for course in done:
            at = _moment(rng, year_start, switch)
            completions.append(
                {
                    "learner_id": learner_id,
                    "course_id": course.id,
                    "year": YEAR,
                    "completed_at": at,
                    "evidence": {"legacy_record": f"HN{YEAR}-C-{i + 1:06d}-{course.code}"},
                }
            )
            entries.append(
                {
                    "learner_id": learner_id,
                    "year": YEAR,
                    "course_id": course.id,
                    "kind": CreditKind.REQUIRED
                    if course.kind is CourseKind.REQUIRED
                    else CreditKind.ELECTIVE,
                    "amount": credits[course.id],
                    "source": CreditSource.LEGACY,
                    "evidence": {"legacy_record": f"HN{YEAR}-C-{i + 1:06d}-{course.code}"},
                    "idempotency_key": f"course:{learner_id}:{course.id}",
                    "posted_at": at,
                }
            )
            enrolments.append(
                {
                    "learner_id": learner_id,
                    "course_id": course.id,
                    "source": EnrolmentSource.SELF,
                    "training_class_id": None,
                    "enrolled_at": at - dt.timedelta(days=rng.randint(1, 30)),
                }
            )
        open_electives = [c for c in visible if c.kind is CourseKind.ELECTIVE and c not in done]
        if open_electives and (demo or rng.random() < 0.35):
            for course in rng.sample(open_electives, k=min(len(open_electives), rng.randint(1, 2))):
                enrolments.append(
                    {
                        "learner_id": learner_id,
                        "course_id": course.id,
                        "source": EnrolmentSource.SELF,
                        "training_class_id": None,
                        "enrolled_at": now
                        - dt.timedelta(days=rng.randint(1, 60), minutes=rng.randint(0, 600)),
                    }
                )
    for model, rows in (
        (CreditEntry, entries),
        (CourseCompletion, completions),
        (Enrolment, enrolments),
    ):
        if rows:
            await s.execute(insert(model), rows)


async def _training_class(
    s: AsyncSession,
    rng: random.Random,
    tree: _Tree,
    people: list[Person],
    learner_ids: list[int],
    courses: list[Course],
    creator: Account,
) -> None:
    """An online special training class (Art. 11) opened by 长沙市 for its section chiefs."""
    changsha = tree.named["长沙市"]
    klass = TrainingClass(
        name=f"长沙市{YEAR}年数字政府建设网上专题培训班",
        org_id=changsha.id,
        org_path=changsha.path,
        starts_on=dt.date(YEAR, 9, 1),
        ends_on=dt.date(YEAR, 12, 31),
        created_by=creator.id,
    )
    s.add(klass)
    await s.flush()
    picked = [c for c in courses if c.title in CLASS_COURSES]
    s.add_all(TrainingClassCourse(class_id=klass.id, course_id=c.id) for c in picked)
    local = [i for i, p in enumerate(people) if tree.units[p.unit].path.startswith(changsha.path)]
    # The demo's Changsha learners are in the class; the rest favour section level and up.
    demo = [i for i in local if i < len(FIRST_LEARNERS)]
    senior = [i for i in local if i not in demo and people[i].rank in SECTION_AND_ABOVE]
    junior = [i for i in local if i not in demo and people[i].rank not in SECTION_AND_ABOVE]
    rng.shuffle(senior)
    rng.shuffle(junior)
    members = sorted((demo + senior + junior)[:CLASS_SIZE])
    if not members:
        return
    member_ids = [learner_ids[i] for i in members]
    await s.execute(
        insert(TrainingClassMember), [{"class_id": klass.id, "learner_id": m} for m in member_ids]
    )
    enrolled = {
        (learner_id, course_id)
        for learner_id, course_id in await s.execute(
            select(Enrolment.learner_id, Enrolment.course_id).where(
                Enrolment.learner_id.in_(member_ids),
                Enrolment.course_id.in_([c.id for c in picked]),
            )
        )
    }
    opened = dt.datetime(YEAR, 9, 1, 1, 0, tzinfo=dt.UTC)
    rows = [
        {
            "learner_id": m,
            "course_id": c.id,
            "source": EnrolmentSource.TRAINING_CLASS,
            "training_class_id": klass.id,
            "enrolled_at": opened,
        }
        for m in member_ids
        for c in picked
        if (m, c.id) not in enrolled
    ]
    if rows:
        await s.execute(insert(Enrolment), rows)


async def _simulated_week(
    ctx: Context,
    org_path: str,
    seed: int,
    progress: Progress = silent,
    learners: int = 90,
    days: int = 7,
) -> None:
    """A week of study by Changsha learners, honest and fraudulent, through the real tracker,
    then a detection run, so reviewers find flagged learners with their explanations."""
    from proctor.detection.service import run_detect
    from proctor.simulate.run import simulate

    day0 = utcnow().date() - dt.timedelta(days=days + 2)
    await simulate(
        ctx,
        seed=seed,
        learners=learners,
        days=days,
        day0=day0,
        within=org_path,
        fraud_share=0.15,
        progress=progress,
    )
    # A far wider review budget than production's 1 % (a small cohort, 15 % of it cheating):
    # the demo queue should also hold honest learners whose study merely looks unusual
    # (shared office PCs, night shifts), for reviewers to dismiss.
    await run_detect(
        ctx, day0, day0 + dt.timedelta(days=days - 1), target_fpr=0.2, progress=progress
    )
