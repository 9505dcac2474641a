"""An exam sat by more examinees than a statement may bind parameters (32,767 on asyncpg,
32,766 on SQLite): the analysis reads and writes them in batches (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import func, insert, select

from models import (
    AttemptState,
    DetectionFlag,
    ExamAnswer,
    ExamAttempt,
    ExamItem,
    Learner,
    utcnow,
)
from proctor.demo.exam_bank import MEASURES_BANK
from proctor.exams.analysis import analyse_exam
from proctor.exams.bank import ExamInput, insert_exam, insert_items
from proctor.kernel.context import Context
from tests.factories import World, world  # noqa: F401
from tests.proctor.archive.helpers import add_course

EXAMINEES = 32_800  # over both limits
UNITS = ["芙蓉区财政局", "芙蓉区教育局", "天心区财政局"]


async def test_an_exam_of_more_examinees_than_one_statement_binds(
    ctx: Context,
    world: World,  # noqa: F811
) -> None:
    course = await add_course(ctx, world, "HN-BIG", "党纪学习教育")
    now = utcnow()
    async with ctx.db.begin() as s:
        await insert_items(s, course.id, MEASURES_BANK[:2])
        exam = await insert_exam(
            s,
            course.id,
            ExamInput(
                title="全省统一测试",
                item_count=2,
                time_limit_s=2400,
                pass_mark=60,
                attempts_allowed=1,
                bonus_credits=Decimal("1"),
                opens_at=now - dt.timedelta(days=5),
                closes_at=now - dt.timedelta(days=1),
            ),
        )
        items = list(
            (await s.scalars(select(ExamItem).where(ExamItem.course_id == course.id))).all()
        )
        first, second = items
        wrong = next(o["id"] for o in first.options if o["id"] != first.key)
        orgs = [world.org(u) for u in UNITS]
        await s.execute(
            insert(Learner),
            [
                {
                    "name": f"考生{k}",
                    "id_hash": f"big-{k}",
                    "id_cipher": b"x",
                    "id_masked": "4301**********0000",
                    "birth_date": dt.date(1980, 1, 1),
                    "gender": "M",
                    "phone_cipher": b"x",
                    "phone_masked": "138****0000",
                    "unit_id": orgs[k % 3].id,
                    "org_path": orgs[k % 3].path,
                    "rank": "科员",
                }
                for k in range(EXAMINEES)
            ],
        )
        learner_ids = list(
            (await s.scalars(select(Learner.id).where(Learner.id_hash.startswith("big-")))).all()
        )
        start = now - dt.timedelta(days=4)
        attempt_rows = [
            {
                "exam_id": exam.id,
                "learner_id": lid,
                "number": 1,
                "state": AttemptState.SUBMITTED,
                "items": [{"item_id": first.id, "order": []}, {"item_id": second.id, "order": []}],
                "started_at": start + dt.timedelta(seconds=20 * k),
                "deadline_at": start + dt.timedelta(seconds=20 * k + 2400),
                "finished_at": start + dt.timedelta(seconds=20 * k + 90),
                "correct": 1,
                "score": 50,
                "passed": False,
                "ip": f"10.{k // 65536}.{k // 256 % 256}.{k % 256}",
                "device": f"pc-{k}",
                "user_agent": "test",
            }
            for k, lid in enumerate(learner_ids)
        ]
        await s.execute(insert(ExamAttempt), attempt_rows)
        attempts = list(
            (
                await s.execute(
                    select(ExamAttempt.id, ExamAttempt.finished_at).where(
                        ExamAttempt.exam_id == exam.id
                    )
                )
            ).all()
        )
        await s.execute(
            insert(ExamAnswer),
            [
                {
                    "attempt_id": aid,
                    "item_id": item.id,
                    "choice": wrong if item is first else second.key,
                    "seconds": 30.0 + aid % 17,
                    "changes": 0,
                    "saved_at": done - dt.timedelta(seconds=60 - 30 * j),
                }
                for aid, done in attempts
                for j, item in enumerate(items)
            ],
        )
    assert len(learner_ids) == EXAMINEES

    run = await analyse_exam(ctx, exam.id)
    assert run.attempts == EXAMINEES
    async with ctx.db() as s:
        speeds = await s.scalar(
            select(func.count())
            .select_from(ExamAttempt)
            .where(ExamAttempt.exam_id == exam.id, ExamAttempt.speed.is_not(None))
        )
        flags = await s.scalar(select(func.count()).select_from(DetectionFlag))
    assert speeds == EXAMINEES  # every attempt's pace stored for later exams
    assert flags == run.flags
