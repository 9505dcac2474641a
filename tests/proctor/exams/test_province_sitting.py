"""An exam sat by more examinees than a statement may bind parameters (32,767 on asyncpg,
32,766 on SQLite): the analysis reads and writes them in batches (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt

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
from proctor.exams.analysis import analyse_exam
from proctor.kernel.context import Context
from tests.factories import World, world  # noqa: F401
from tests.proctor.exams.helpers import UNITS, closed_exams

EXAMINEES = 32_800  # over both limits


async def test_an_exam_of_more_examinees_than_one_statement_binds(
    ctx: Context,
    world: World,  # noqa: F811
) -> None:
    # the course with its bank and one closed exam; the sitting below answers two items
    course, (exam_id,), _ = await closed_exams(
        ctx, world, "big", 900, "HN-BIG", [("全省统一测试", 5, 1)]
    )
    now = utcnow()
    async with ctx.db.begin() as s:
        items = list(
            (
                await s.scalars(
                    select(ExamItem).where(ExamItem.course_id == course.id).order_by(ExamItem.id)
                )
            ).all()
        )[:2]
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
                "exam_id": exam_id,
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
                        ExamAttempt.exam_id == exam_id
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

    run = await analyse_exam(ctx, exam_id)
    assert run.attempts == EXAMINEES
    async with ctx.db() as s:
        speeds = await s.scalar(
            select(func.count())
            .select_from(ExamAttempt)
            .where(ExamAttempt.exam_id == exam_id, ExamAttempt.speed.is_not(None))
        )
        flags = await s.scalar(select(func.count()).select_from(DetectionFlag))
    assert speeds == EXAMINEES  # every attempt's pace stored for later exams
    assert flags == run.flags
