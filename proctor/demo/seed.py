"""The realistic demo data set: Hunan's org tree, thousands of learners, catalog, history."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from sqlalchemy import func, insert, select

from models import (
    Account,
    Course,
    CourseCategory,
    CourseKind,
    CreditKind,
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
from proctor.context import Context
from proctor.credits import ledger
from proctor.demo import courses as catalog
from proctor.demo.hunan import CITIES, COUNTY_DEPARTMENTS, PROVINCIAL, PROVINCIAL_DEPARTMENTS
from proctor.demo.identity import make_id_number, random_phone
from proctor.demo.media import ensure_videos, video_url
from proctor.demo.names import random_name
from proctor.errors import Conflict
from proctor.learners.ranks import DIVISION_AND_ABOVE, RANKS, SECTION_AND_ABOVE
from proctor.orgs.service import add_org
from proctor.security.pii import mask_id_number, mask_phone

DEMO_PASSWORD = "Demo@2026"  # noqa: S105 - the published demo password, printed by `proctor demo`
POSITIONS = {
    "厅局级正职": ["厅长", "主任"],
    "厅局级副职": ["副厅长", "副主任"],
    "县处级正职": ["处长", "局长", "一级调研员"],
    "县处级副职": ["副处长", "副局长", "二级调研员"],
    "乡科级正职": ["科长", "四级调研员"],
    "乡科级副职": ["副科长", "一级主任科员"],
    "科员": ["科员", "二级主任科员", "四级主任科员"],
    "办事员": ["办事员"],
}
RANK_WEIGHTS_COUNTY = [0, 0, 0, 0, 2, 5, 12, 18, 50, 13]
RANK_WEIGHTS_PROVINCE = [0, 0, 2, 4, 12, 18, 20, 18, 22, 4]


async def _simulated_weeks(
    ctx: Context, org_path: str, seed: int, learners: int = 90, days: int = 7
) -> None:
    """A week of study by Changsha learners, honest and fraudulent, through the real tracker,
    then a detection run, so reviewers find flagged learners with their explanations."""
    from proctor.detection.service import run_detect
    from proctor.simulate.run import simulate

    day0 = utcnow().date() - dt.timedelta(days=days + 2)
    await simulate(
        ctx, seed=seed, learners=learners, days=days, day0=day0, within=org_path, fraud_share=0.15
    )
    await run_detect(ctx, day0, day0 + dt.timedelta(days=days - 1))


async def seed_demo(ctx: Context, *, learners: int, random_seed: int) -> list[tuple[str, str, str]]:
    """Seed an empty database; return (username, password, role) logins to print."""
    rng = random.Random(random_seed)
    async with ctx.db.begin() as s:
        if (await s.scalar(select(func.count()).select_from(OrgUnit))) or 0:
            raise Conflict(
                "数据库中已有机构数据：演示数据只能写入空数据库（proctor demo 会新建一个）"
            )
        province = await add_org(s, None, OrgLevel.PROVINCE, "湖南省", "43")
        units: list[tuple[OrgUnit, str, bool]] = []  # unit, region code, provincial
        named: dict[str, OrgUnit] = {"湖南省": province}
        pname, pcode, pcounties = PROVINCIAL
        pcity = await add_org(s, province, OrgLevel.CITY, pname, pcode)
        pcounty = await add_org(s, pcity, OrgLevel.COUNTY, pcounties[0][0], pcounties[0][1])
        for i, dept in enumerate(PROVINCIAL_DEPARTMENTS):
            units.append(
                (
                    await add_org(s, pcounty, OrgLevel.UNIT, dept, f"430000{i + 1:03d}"),
                    "430102",
                    True,
                )
            )
        for city_name, city_code, counties in CITIES:
            city = await add_org(s, province, OrgLevel.CITY, city_name, city_code)
            named[city_name] = city
            for county_name, county_code in counties:
                county = await add_org(s, city, OrgLevel.COUNTY, county_name, county_code)
                named[county_name] = county
                n_depts = rng.randint(3, len(COUNTY_DEPARTMENTS))
                for j, dept in enumerate(COUNTY_DEPARTMENTS[:n_depts]):
                    unit = await add_org(
                        s,
                        county,
                        OrgLevel.UNIT,
                        f"{county_name}{dept}",
                        f"{county_code}{j + 1:03d}",
                    )
                    named[unit.name] = unit
                    units.append((unit, county_code, False))

        # Learners: a quarter in 长沙市 (the pilot city), a sixth in provincial departments.
        demo_hash = ctx.passwords.hash(DEMO_PASSWORD)  # one hash for all demo learners: demo only
        changsha = [u for u in units if u[0].path.startswith(named["长沙市"].path)]
        provincial = [u for u in units if u[2]]
        others = [u for u in units if not u[2] and u not in changsha]
        seen: set[str] = set()
        learner_rows: list[Learner] = []
        for _ in range(learners):
            pick = rng.random()
            unit, region, is_prov = rng.choice(
                changsha if pick < 0.25 else provincial if pick < 0.42 else others
            )
            rank = rng.choices(
                RANKS, weights=RANK_WEIGHTS_PROVINCE if is_prov else RANK_WEIGHTS_COUNTY
            )[0]
            male = rng.random() < 0.6
            while True:
                birth = dt.date(2026, 1, 1) - dt.timedelta(
                    days=rng.randint(24 * 365 + 10, 59 * 365)
                )
                seq = rng.randrange(1, 999, 2) if male else rng.randrange(2, 999, 2)
                id_number = make_id_number(region, birth, seq)
                if id_number not in seen:
                    seen.add(id_number)
                    break
            phone = random_phone(rng)
            learner_rows.append(
                Learner(
                    name=random_name(rng, male),
                    id_hash=ctx.vault.lookup_hash(id_number),
                    id_cipher=ctx.vault.encrypt(id_number),
                    id_masked=mask_id_number(id_number),
                    birth_date=birth,
                    gender="M" if male else "F",
                    phone_cipher=ctx.vault.encrypt(phone),
                    phone_masked=mask_phone(phone),
                    unit_id=unit.id,
                    org_path=unit.path,
                    rank=rank,
                    position=rng.choice(POSITIONS[rank]) if rank in POSITIONS else "",
                )
            )
        s.add_all(learner_rows)
        await s.flush()
        await s.execute(
            insert(Account),
            [
                {
                    "username": f"xy{i + 1:06d}",
                    "display_name": row.name,
                    "password_hash": demo_hash,
                    "role": Role.LEARNER,
                    "org_id": row.unit_id,
                    "learner_id": row.id,
                    "must_change_password": False,
                    "created_at": utcnow(),
                }
                for i, row in enumerate(learner_rows)
            ],
        )

        staff = [
            ("admin", "学院管理员", Role.ACADEMY_ADMIN, province),
            ("hn_admin", "省委组织部干部教育处", Role.ORG_ADMIN, province),
            ("cs_admin", "长沙市委组织部", Role.ORG_ADMIN, named["长沙市"]),
            ("zz_admin", "株洲市委组织部", Role.ORG_ADMIN, named["株洲市"]),
            ("fr_admin", "芙蓉区委组织部", Role.ORG_ADMIN, named["芙蓉区"]),
            ("liuyang_admin", "浏阳市委组织部", Role.ORG_ADMIN, named["浏阳市"]),
            ("tx_admin", "天心区委组织部", Role.ORG_ADMIN, named["天心区"]),
            ("cs_liaison1", "芙蓉区财政局联络员", Role.LIAISON, named["芙蓉区财政局"]),
            ("cs_liaison2", "浏阳市教育局联络员", Role.LIAISON, named["浏阳市教育局"]),
            ("reviewer_hn", "省级审核员", Role.REVIEWER, province),
            ("reviewer_cs", "长沙市审核员", Role.REVIEWER, named["长沙市"]),
        ]
        staff_hash = ctx.passwords.hash(DEMO_PASSWORD)
        accounts: dict[str, Account] = {}
        for username, display, role, org in staff:
            account = Account(
                username=username,
                display_name=display,
                password_hash=staff_hash,
                role=role,
                org_id=org.id,
                must_change_password=False,
            )
            s.add(account)
            accounts[username] = account
        await s.flush()
        for username in ("cs_liaison1", "cs_liaison2"):
            account = accounts[username]
            s.add(
                Liaison(
                    org_id=account.org_id,
                    name=random_name(rng, rng.random() < 0.5),
                    phone=random_phone(rng),
                    email=None,
                    account_id=account.id,
                )
            )

        # Target groups (Art. 5): the pilot group province-wide, and Changsha's wider group.
        for year in (2025, 2026):
            s.add(
                TargetGroup(
                    year=year,
                    name=f"{year}年试点：县处级副职及以上",
                    org_id=province.id,
                    org_path=province.path,
                    ranks=list(DIVISION_AND_ABOVE),
                    total_credits=Decimal(40),
                    required_credits=Decimal(24),
                )
            )
            cs = named["长沙市"]
            s.add(
                TargetGroup(
                    year=year,
                    name=f"{year}年长沙市副科级及以上",
                    org_id=cs.id,
                    org_path=cs.path,
                    ranks=list(SECTION_AND_ABOVE),
                    total_credits=Decimal(40),
                    required_credits=Decimal(24),
                    priority=1,
                )
            )

        # Catalog.
        categories = {c.code: c.id for c in (await s.scalars(select(CourseCategory))).all()}
        all_courses: list[Course] = []
        lengths: set[int] = set()
        for owner, specs in (
            (province, catalog.COURSES),
            (named["长沙市"], catalog.CHANGSHA_COURSES),
        ):
            for n, (cat, title, kind, lessons, designated) in enumerate(specs):
                course = Course(
                    code=f"{'HN' if owner is province else 'CS'}{n + 1:03d}",
                    title=title,
                    category_id=categories[cat],
                    kind=CourseKind(kind),
                    lecture_seconds=sum(lessons),
                    designated_credits=designated,
                    owner_org_id=owner.id,
                    owner_path=owner.path,
                    lecturer=random_name(rng, rng.random() < 0.6) + " 教授",
                    description=f"{title}。本课程共 {len(lessons)} 讲。",
                )
                s.add(course)
                await s.flush()
                for k, secs in enumerate(lessons):
                    s.add(
                        Lesson(
                            course_id=course.id,
                            ordinal=k + 1,
                            title=f"第{k + 1}讲",
                            duration_seconds=secs,
                            video_url=video_url(secs),
                        )
                    )
                    lengths.add(secs)
                all_courses.append(course)
        await s.flush()

        # History: last year's credits (imported from the previous system) and this year's
        # first completions, so archives and reports show a year in progress.
        provincial_courses = [c for c in all_courses if c.owner_path == province.path]
        now = utcnow()
        enrol_rows = []
        for row in learner_rows:
            if rng.random() < 0.8:
                total = Decimal(rng.randint(18, 48))
                required = min(total, Decimal(rng.randint(12, 30)))
                await ledger.post_legacy(
                    s,
                    learner_id=row.id,
                    course_id=None,
                    year=2025,
                    kind=CreditKind.REQUIRED,
                    amount=required,
                    record_id=f"2025-R-{row.id}",
                )
                if total > required:
                    await ledger.post_legacy(
                        s,
                        learner_id=row.id,
                        course_id=None,
                        year=2025,
                        kind=CreditKind.ELECTIVE,
                        amount=(total - required) / 2,
                        record_id=f"2025-E-{row.id}",
                    )
            done = rng.sample(provincial_courses, k=rng.choice([0, 0, 1, 2, 3, 5, 8]))
            for course in done:
                when = now - dt.timedelta(days=rng.randint(5, 200))
                await ledger.post_course_completion(
                    s,
                    learner_id=row.id,
                    course=course,
                    year=2026,
                    completed_at=when,
                    evidence={"legacy_record": f"2026-C-{row.id}-{course.id}"},
                    rules=ctx.settings.credit_rules,
                )
                enrol_rows.append(
                    {
                        "learner_id": row.id,
                        "course_id": course.id,
                        "source": EnrolmentSource.SELF,
                        "enrolled_at": when,
                    }
                )
        if enrol_rows:
            await s.execute(insert(Enrolment), enrol_rows)

        # A special training class in 长沙市.
        cs = named["长沙市"]
        klass = TrainingClass(
            name="长沙市2026年数字政府建设专题培训班",
            org_id=cs.id,
            org_path=cs.path,
            starts_on=dt.date(2026, 9, 1),
            ends_on=dt.date(2026, 12, 31),
            created_by=accounts["cs_admin"].id,
        )
        s.add(klass)
        await s.flush()
        class_courses = [
            c
            for c in all_courses
            if c.title in ("数字政府建设与政务服务改革", "人工智能与公共管理", "长沙市城市更新实践")
        ]
        for c in class_courses:
            s.add(TrainingClassCourse(class_id=klass.id, course_id=c.id))
        enrolled = {(e["learner_id"], e["course_id"]) for e in enrol_rows}
        members = [r for r in learner_rows if r.org_path.startswith(cs.path)][:50]
        for m in members:
            s.add(TrainingClassMember(class_id=klass.id, learner_id=m.id))
            for c in class_courses:
                if (m.id, c.id) not in enrolled:
                    s.add(
                        Enrolment(
                            learner_id=m.id,
                            course_id=c.id,
                            source=EnrolmentSource.TRAINING_CLASS,
                            training_class_id=klass.id,
                        )
                    )

    ensure_videos(ctx.settings.data_dir / "media", lengths)
    await _simulated_weeks(ctx, named["长沙市"].path, random_seed)
    changsha_learners = [
        i for i, r in enumerate(learner_rows) if r.org_path.startswith(named["长沙市"].path)
    ][:3]
    logins = [
        (f"xy{i + 1:06d}", DEMO_PASSWORD, f"学员（{learner_rows[i].name}）")
        for i in changsha_learners
    ]
    role_names = {
        Role.ACADEMY_ADMIN: "学院管理员",
        Role.ORG_ADMIN: "组织管理员",
        Role.LIAISON: "联络员",
        Role.REVIEWER: "审核员",
    }
    logins += [(u, DEMO_PASSWORD, f"{role_names[r]}（{d}）") for u, d, r, _ in staff]
    return logins
