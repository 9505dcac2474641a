"""Sixty examinees in three units, a course with the demo's bank, and closed exams on it,
and the simulated sittings of sixty (one ring) the stored-forensics tests place onto them."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from models import Course, Learner, Lesson, utcnow
from proctor.demo.exam_bank import MEASURES_BANK
from proctor.exams.bank import ExamInput, insert_exam, insert_items
from proctor.kernel.context import Context
from proctor.simulate.exams import SimExam, simulate_exam
from tests.factories import World, add_learner
from tests.proctor.archive.helpers import add_course

UNITS = ["芙蓉区财政局", "芙蓉区教育局", "天心区财政局"]


async def closed_exams(
    ctx: Context,
    world: World,
    prefix: str,
    seq: int,
    code: str,
    windows: list[tuple[str, int, int]],
) -> tuple[Course, list[int], list[Learner]]:
    """The examinees (logins ``prefix`` 0-59, roster numbers from ``seq``), the course
    ``code`` and one closed exam per (title, days since it opened, days since it closed);
    returns the course, the exam ids and the examinees."""
    for n in range(60):
        await add_learner(
            ctx,
            world,
            f"{prefix}{n}",
            UNITS[n % 3],
            name=f"考生{n}",
            seq=seq + n,
            with_account=False,
        )
    course = await add_course(ctx, world, code, "党纪学习教育")
    now = utcnow()
    async with ctx.db.begin() as s:
        # the lecture the examinees studied: place_sitting writes their study onto it
        s.add(Lesson(course_id=course.id, ordinal=1, title="第一讲", duration_seconds=2700))
        await insert_items(s, course.id, MEASURES_BANK)
        exam_ids = []
        for title, opened, closed in windows:
            exam = await insert_exam(
                s,
                course.id,
                ExamInput(
                    title=title,
                    item_count=30,
                    time_limit_s=2400,
                    pass_mark=60,
                    attempts_allowed=1,
                    bonus_credits=Decimal("1"),
                    opens_at=now - dt.timedelta(days=opened),
                    closes_at=now - dt.timedelta(days=closed),
                ),
            )
            exam_ids.append(exam.id)
        learners = list(
            (await s.scalars(select(Learner).where(Learner.name.startswith("考生")))).all()
        )
    return course, exam_ids, learners


def sixty(seed: int, **kw: Any) -> SimExam:
    """A sitting of sixty on thirty items with one ring and a few honest look-alikes, no
    pre-knowledge or rapid guessing; ``kw`` sets the ring, proxies, difficulty, timing."""
    base: dict[str, Any] = {
        "examinees": 60,
        "n_items": 30,
        "rings": 1,
        "proxies": 0,
        "preknowledge": 0,
        "rapid": 0,
        "friends": 3,
        "strong": 3,
        "slow": 3,
        "new_device": 2,
        "travellers": 0,
    }
    return simulate_exam(seed, **{**base, **kw})
