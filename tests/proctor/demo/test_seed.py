"""The demo data set: real Hunan geography, valid people, logins of every role, history."""

from __future__ import annotations

import datetime as dt
import shutil
from collections import Counter
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from models import (
    Account,
    Course,
    CourseCategory,
    CourseCompletion,
    CreditEntry,
    Learner,
    Lesson,
    OrgLevel,
    OrgUnit,
    Reminder,
    Role,
    RosterBatch,
    TargetGroup,
    TrainingClass,
    TrainingClassMember,
)
from proctor.demo.seed import DEMO_PASSWORD, seed_demo
from proctor.kernel.context import Context, open_context
from proctor.kernel.errors import Conflict
from proctor.kernel.identity import IdNumber, parse_id_number
from proctor.kernel.security.pii import mask_id_number
from proctor.kernel.settings import Settings
from proctor.learners.ranks import DIVISION_AND_ABOVE, RANKS, SECTION_AND_ABOVE

LEARNERS = 200
SEED = 7
CITIES = {
    "长沙市": "4301",
    "株洲市": "4302",
    "湘潭市": "4303",
    "衡阳市": "4304",
    "邵阳市": "4305",
    "岳阳市": "4306",
    "常德市": "4307",
    "张家界市": "4308",
    "益阳市": "4309",
    "郴州市": "4310",
    "永州市": "4311",
    "怀化市": "4312",
    "娄底市": "4313",
    "湘西土家族苗族自治州": "4331",
}

Logins = list[tuple[str, str, str]]


async def seed(ctx: Context, random_seed: int = SEED) -> Logins:
    return await seed_demo(
        ctx, learners=LEARNERS, random_seed=random_seed, videos=False, study_week=False
    )


@pytest.fixture
async def logins(ctx: Context) -> Logins:
    return await seed(ctx)


async def _orgs(ctx: Context) -> dict[int, OrgUnit]:
    async with ctx.db() as s:
        return {o.id: o for o in (await s.scalars(select(OrgUnit))).all()}


async def test_tree_is_hunan_with_real_cities_counties_and_units(
    ctx: Context, logins: Logins
) -> None:
    orgs = await _orgs(ctx)
    [province] = [o for o in orgs.values() if o.level is OrgLevel.PROVINCE]
    assert (province.name, province.code) == ("湖南省", "43")
    cities = {o.name: o for o in orgs.values() if o.level is OrgLevel.CITY}
    assert {n: c.code for n, c in cities.items() if n in CITIES} == CITIES
    # Provincial departments hang under a pseudo-city, keeping the tree four levels deep.
    assert set(cities) - set(CITIES) == {"省直机关"}
    assert cities["省直机关"].code == "4300"

    counties = [o for o in orgs.values() if o.level is OrgLevel.COUNTY]
    changsha = {c.name: c.code for c in counties if c.parent_id == cities["长沙市"].id}
    assert changsha["芙蓉区"] == "430102"
    assert changsha["浏阳市"] == "430181"
    for city in cities.values():
        mine = [c for c in counties if c.parent_id == city.id]
        assert 1 <= len(mine) <= 5
        assert all(c.code.startswith(city.code) and len(c.code) == 6 for c in mine)
    for county in counties:
        units = [u for u in orgs.values() if u.parent_id == county.id]
        assert all(u.level is OrgLevel.UNIT for u in units)
        assert 3 <= len(units) <= 10
        for unit in units:
            assert unit.code.startswith(county.code) and len(unit.code) == 9
            if county.name != "省直单位":
                assert unit.name.startswith(county.name)  # "浏阳市财政局": unique full names
    assert len({o.name for o in orgs.values()}) == len(orgs)
    assert "湖南省财政厅" in {o.name for o in orgs.values() if o.level is OrgLevel.UNIT}


async def test_learners_are_plausible_valid_people_in_units(ctx: Context, logins: Logins) -> None:
    orgs = await _orgs(ctx)
    async with ctx.db() as s:
        learners = (await s.scalars(select(Learner))).all()
        usernames = {
            learner_id: username
            for learner_id, username in await s.execute(
                select(Account.learner_id, Account.username).where(Account.role == Role.LEARNER)
            )
        }
    assert len(learners) == LEARNERS
    seen: set[str] = set()
    for learner in learners:
        id_number = ctx.vault.decrypt(learner.id_cipher)
        parsed = parse_id_number(id_number, today=dt.date(2026, 1, 1))
        assert isinstance(parsed, IdNumber), (id_number, parsed)
        assert id_number not in seen
        seen.add(id_number)
        assert parsed.gender == learner.gender
        assert parsed.birth_date == learner.birth_date
        assert 24 <= (dt.date(2026, 1, 1) - learner.birth_date).days // 365.25 <= 59
        assert learner.id_hash == ctx.vault.lookup_hash(id_number)
        assert learner.id_masked == mask_id_number(id_number)
        assert "*" in learner.phone_masked
        unit = orgs[learner.unit_id]
        assert unit.level is OrgLevel.UNIT
        assert learner.org_path == unit.path
        county = orgs[unit.parent_id or 0]
        if county.name != "省直单位":
            assert id_number.startswith(county.code)  # registered where they work
        else:
            assert id_number.startswith("43")
        assert learner.rank in RANKS
        assert learner.position
        assert 2 <= len(learner.name) <= 4
        assert usernames[learner.id].startswith("xy")
    ranks = Counter(learner.rank for learner in learners)
    junior = sum(ranks[r] for r in ("乡科级正职", "乡科级副职", "科员", "办事员"))
    assert junior / LEARNERS > 0.75
    assert ranks["厅局级正职"] + ranks["厅局级副职"] <= LEARNERS * 0.03
    assert Counter(learner.gender for learner in learners).keys() == {"M", "F"}
    heads = [learner for learner in learners if learner.position == "局长"]
    assert all(learner.rank == "乡科级正职" for learner in heads)
    assert len({h.unit_id for h in heads}) == len(heads)  # one head per bureau


def test_a_login_playing_several_parts_is_printed_once() -> None:
    from proctor.demo.seed import _once_each

    lines = _once_each(
        [
            ("cs_admin", "pw", "组织管理员（长沙市）"),
            ("x1", "pw", "学员"),
            ("cs_admin", "pw", "学习统计"),
        ]
    )
    assert lines == [("cs_admin", "pw", "组织管理员（长沙市）；学习统计"), ("x1", "pw", "学员")]


async def test_every_printed_login_signs_in_and_every_role_is_there(
    client: TestClient, ctx: Context, logins: Logins
) -> None:
    roles: Counter[str] = Counter()
    for username, password, label in logins:
        assert password == DEMO_PASSWORD
        resp = await client.post("/api/v1/login", json={"username": username, "password": password})
        assert resp.status == 200, (username, await resp.text())
        body = await resp.json()
        assert body["must_change_password"] is False
        roles[body["role"]] += 1
        assert label  # a Chinese role label to print
    assert set(roles) == {r.value for r in Role}
    assert min(roles.values()) >= 2
    learner_logins = [u for u, _, _ in logins if u.startswith("xy")]
    async with ctx.db() as s:
        paths = (
            await s.scalars(
                select(Learner.org_path)
                .join(Account, Account.learner_id == Learner.id)
                .where(Account.username.in_(learner_logins))
            )
        ).all()
        changsha = await s.scalar(select(OrgUnit.path).where(OrgUnit.name == "长沙市"))
    assert sum(p.startswith(changsha or "?") for p in paths) >= 2


async def test_demo_learners_have_history_and_belong_to_the_pilot_groups(
    client: TestClient, logins: Logins
) -> None:
    async def archive(username: str, year: int) -> dict[str, object]:
        resp = await client.post(
            "/api/v1/login", json={"username": username, "password": DEMO_PASSWORD}
        )
        token = (await resp.json())["token"]
        resp = await client.get(
            f"/api/v1/me/archive?year={year}", headers={"Authorization": f"Bearer {token}"}
        )
        assert resp.status == 200, await resp.text()
        result: dict[str, object] = await resp.json()
        return result

    section_chief = await archive("xy000001", 2026)  # 芙蓉区, 乡科级副职
    assert section_chief["target_group"] == "长沙市副科级及以上"
    assert section_chief["entries"]  # courses completed this year, imported
    assert (await archive("xy000001", 2025))["entries"]  # last year's imported credits
    assert (await archive("xy000002", 2026))["target_group"] is None  # a 科员
    assert (await archive("xy000004", 2026))["target_group"] == "试点：县处级副职及以上"


async def test_catalog_groups_and_class(ctx: Context, logins: Logins) -> None:
    async with ctx.db() as s:
        # The catalog as published (the demo also has a draft being written, below).
        courses = (await s.scalars(select(Course).where(Course.published.is_(True)))).all()
        lessons = (
            await s.scalars(
                select(Lesson).join(Course, Course.id == Lesson.course_id).where(Course.published)
            )
        ).all()
        categories = set((await s.scalars(select(CourseCategory.id))).all())
        groups = (await s.scalars(select(TargetGroup))).all()
        changsha = await s.scalar(select(OrgUnit).where(OrgUnit.name == "长沙市"))
        province = await s.scalar(select(OrgUnit).where(OrgUnit.level == OrgLevel.PROVINCE))
        [klass] = (await s.scalars(select(TrainingClass))).all()
        members = (
            await s.scalars(
                select(Learner.org_path)
                .join(TrainingClassMember, TrainingClassMember.learner_id == Learner.id)
                .where(TrainingClassMember.class_id == klass.id)
            )
        ).all()
        completions = await s.scalar(select(func.count()).select_from(CourseCompletion))
        keyed = await s.scalar(
            select(func.count())
            .select_from(CreditEntry)
            .where(CreditEntry.idempotency_key.startswith("course:"))
        )
    assert changsha is not None and province is not None
    assert 35 <= len(courses) <= 50
    assert {c.category_id for c in courses} == categories
    assert {c.kind.value for c in courses} == {"required", "elective"}
    assert sum(c.designated_credits is not None for c in courses) >= 2
    local = [c for c in courses if c.owner_path == changsha.path]
    assert 2 <= len(local) <= 3
    assert all(c.owner_path in (province.path, changsha.path) for c in courses)
    by_course: dict[int, list[Lesson]] = {}
    for lesson in lessons:
        by_course.setdefault(lesson.course_id, []).append(lesson)
    for course in courses:
        parts = by_course[course.id]
        assert 2 <= len(parts) <= 4
        assert sum(p.duration_seconds for p in parts) == course.lecture_seconds
        assert 20 * 60 <= course.lecture_seconds <= 120 * 60
        for p in parts:
            assert p.video_url == f"/media/lessons/lesson-{p.duration_seconds}s.webm"

    by_year = {(g.year, g.name): g for g in groups}
    pilot = by_year[(2026, "试点：县处级副职及以上")]
    assert (pilot.org_id, pilot.ranks) == (province.id, list(DIVISION_AND_ABOVE))
    assert (pilot.total_credits, pilot.required_credits) == (40, 24)
    cs = by_year[(2026, "长沙市副科级及以上")]
    assert (cs.org_id, cs.ranks) == (changsha.id, list(SECTION_AND_ABOVE))
    assert (2025, "试点：县处级副职及以上") in by_year

    assert klass.org_id == changsha.id
    assert 1 <= len(members) <= 50
    assert all(p.startswith(changsha.path) for p in members)
    # Each completed course posted its credit under the ledger's once-per-course key.
    assert completions and completions == keyed


async def test_staff_work_waits_in_the_demo(ctx: Context, logins: Logins) -> None:
    """A roster with two rows to return, a draft course with a lesson still without its video,
    a locked account, reminders sent."""
    async with ctx.db() as s:
        batch = await s.scalar(select(RosterBatch))
        draft = await s.scalar(select(Course).where(Course.published.is_(False)))
        locked = await s.scalar(select(Account).where(Account.locked_until.is_not(None)))
        reminders = await s.scalar(select(func.count()).select_from(Reminder))
        draft_lessons = (
            (await s.scalars(select(Lesson).where(Lesson.course_id == draft.id))).all()
            if draft
            else []
        )
    assert batch is not None and (batch.status.value, batch.total_rows, batch.error_rows) == (
        "pending",
        8,
        2,
    )
    assert draft is not None and [bool(le.video_url) for le in draft_lessons] == [True, False]
    assert locked is not None and locked.username == "xy000010"
    assert reminders


async def test_seeding_a_database_with_orgs_is_refused_and_changes_nothing(
    ctx: Context, logins: Logins
) -> None:
    async def counts() -> tuple[int | None, int | None]:
        async with ctx.db() as s:
            return (
                await s.scalar(select(func.count()).select_from(OrgUnit)),
                await s.scalar(select(func.count()).select_from(Learner)),
            )

    before = await counts()
    with pytest.raises(Conflict, match="空数据库"):
        await seed(ctx)
    assert await counts() == before


async def _people(ctx: Context) -> list[tuple[object, ...]]:
    async with ctx.db() as s:
        rows = (
            await s.execute(
                select(Learner, OrgUnit.code)
                .join(OrgUnit, OrgUnit.id == Learner.unit_id)
                .order_by(Learner.id)
            )
        ).all()
    return [
        (
            learner.name,
            learner.gender,
            learner.birth_date,
            ctx.vault.decrypt(learner.id_cipher),
            ctx.vault.decrypt(learner.phone_cipher),
            code,
            learner.rank,
            learner.position,
        )
        for learner, code in rows
    ]


async def test_same_seed_same_data_other_seed_other_people(
    ctx: Context, logins: Logins, sqlite_template: Path, tmp_path: Path, settings: Settings
) -> None:
    async def fresh(name: str, random_seed: int) -> tuple[Logins, list[tuple[object, ...]]]:
        db = tmp_path / f"{name}.db"
        shutil.copy(sqlite_template, db)
        other = open_context(
            settings.model_copy(update={"database_url": f"sqlite+aiosqlite:///{db}"})
        )
        try:
            return await seed(other, random_seed), await _people(other)
        finally:
            await other.close()

    again_logins, again_people = await fresh("again", SEED)
    assert again_logins == logins
    assert again_people == await _people(ctx)
    _, other_people = await fresh("other", SEED + 1)
    assert other_people != again_people


async def test_demo_exams_open_for_learners_and_a_closed_sitting_in_review(
    ctx: Context, logins: Logins
) -> None:
    from models import DetectionFlag, Exam, OrgUnit, ReviewCase, utcnow
    from proctor.demo.exams import seed_exams
    from proctor.demo.review import actor_for
    from proctor.exams.views import exams_for_learner

    # The demo places the sitting in 长沙市; this small seed needs the whole province.
    async with ctx.db() as s:
        province = await s.scalar(select(OrgUnit).where(OrgUnit.name == "湖南省"))
    assert province is not None
    runs = await seed_exams(ctx, province.path, SEED)
    assert len(runs) == 1 and runs[0].attempts >= 100 and runs[0].flags >= 3
    async with ctx.db() as s:
        exams = list((await s.scalars(select(Exam))).all())
        exam_flags = list(
            (await s.scalars(select(DetectionFlag).where(DetectionFlag.source == "exam"))).all()
        )
        kinds = {f.evidence["type"] for f in exam_flags}
        cases = list((await s.scalars(select(ReviewCase).where(ReviewCase.kind == "exam"))).all())
    assert len(exams) == 4 and sum(e.analysed_at is not None for e in exams) == 1
    assert {"copying", "proxy"} <= kinds and cases
    # the demo's proxy service: its three clients on one machine, each sent to review
    hired = [f for f in exam_flags if "P08" in {r["id"] for r in f.rules}]
    assert len(hired) == 3 and all(f.band in ("medium", "high") for f in hired)
    learner = await actor_for(ctx, logins[0][0])
    assert learner is not None
    cards = await exams_for_learner(ctx, learner, utcnow())
    assert [c.status for c in cards].count("open") == 3
    await _exams_agree_with_ledger_and_ask_about_their_course(ctx)


async def _exams_agree_with_ledger_and_ask_about_their_course(ctx: Context) -> None:
    """Each exam's items come from its own course's bank (the Xi Jinping Thought exam asks
    about the Thought, not the academy's rules); every passed attempt posted its bonus."""
    from models import CreditSource, Exam, ExamAttempt, ExamItem
    from proctor.demo.exam_bank import EXAM_BANKS, MEASURES_BANK

    async with ctx.db() as s:
        titles = {cid: t for cid, t in await s.execute(select(Course.id, Course.title))}
        items = (await s.scalars(select(ExamItem))).all()
        exams = (await s.scalars(select(Exam))).all()
        passed = (await s.scalars(select(ExamAttempt).where(ExamAttempt.passed.is_(True)))).all()
        bonuses = {
            e.id: e
            for e in await s.scalars(
                select(CreditEntry).where(CreditEntry.source == CreditSource.EXAM)
            )
        }
    assert {titles[e.course_id] for e in exams} == set(EXAM_BANKS)
    for item in items:
        assert item.stem in {b.stem for b in EXAM_BANKS[titles[item.course_id]]}
    rules = {b.stem for b in MEASURES_BANK}
    xi = [i for i in items if titles[i.course_id] == "习近平新时代中国特色社会主义思想概论"]
    assert xi and not any(i.stem in rules or "学分" in i.stem for i in xi)
    assert passed
    by_exam = {e.id: e for e in exams}
    for attempt in passed:
        entry = bonuses.get(attempt.bonus_entry_id or 0)
        assert entry is not None, attempt.id
        exam = by_exam[attempt.exam_id]
        assert (entry.learner_id, entry.course_id) == (attempt.learner_id, exam.course_id)
        assert entry.amount == exam.bonus_credits
