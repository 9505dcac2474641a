"""Each analysed exam keeps every attempt's pace against its cohort; a later exam's proxy
rule reads it back (P05): on a stranger's device and address, a pace unlike the learner's
own earlier exams takes the flag to the review band (SQLite and PostgreSQL)."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import select

from models import DetectionFlag, ExamAttempt
from proctor.demo.exams import place_sitting
from proctor.exams.analysis import analyse_exam
from proctor.exams.forensics.data import AttemptRecord
from proctor.kernel.context import Context
from tests.factories import World, world  # noqa: F401
from tests.proctor.exams.helpers import closed_exams, sixty


def _elsewhere(a: AttemptRecord, pace: float) -> AttemptRecord:
    """The attempt on a device and at an address the learner never studied on, every item
    taking ``pace`` times as long (saves and hand-in moved with them)."""
    first = min(a.saved_at.values())
    return replace(
        a,
        device=f"other-pc-{a.learner_id}",
        ip=f"172.20.{a.learner_id % 250}.9",
        seconds={i: t * pace for i, t in a.seconds.items()},
        saved_at={i: first + (t - first) * pace for i, t in a.saved_at.items()},
        submitted_at=first + (a.submitted_at - first) * pace,
    )


async def test_a_pace_unlike_his_own_past_joins_a_strangers_device(
    ctx: Context,
    world: World,  # noqa: F811
) -> None:
    windows = [("第一期", 30, 20), ("第二期", 10, 1)]
    course, (first, second), learners = await closed_exams(
        ctx, world, "pp", 500, "HN-PACE", windows
    )
    base = {"rings": 0, "new_device": 0, "sitting_s": 600.0}  # both placed 12 days ago
    placed_first = await place_sitting(ctx, first, course, sixty(7, sitting=0, **base), learners)
    await analyse_exam(ctx, first)
    async with ctx.db() as s:
        speeds = dict(
            (
                await s.execute(
                    select(ExamAttempt.id, ExamAttempt.speed).where(ExamAttempt.exam_id == first)
                )
            ).all()
        )
    assert len(speeds) == 60 and all(v is not None for v in speeds.values())
    assert len({round(v, 3) for v in speeds.values()}) > 30  # each his own pace

    sim = sixty(7, sitting=1, **base)
    honest = [k for k, a in enumerate(sim.attempts) if sim.labels[a.attempt_id] == "honest"]
    hurried, steady = honest[0], honest[1]
    sim.attempts[hurried] = _elsewhere(sim.attempts[hurried], 0.3)
    sim.attempts[steady] = _elsewhere(sim.attempts[steady], 1.0)
    placed = await place_sitting(ctx, second, course, sim, learners)
    await analyse_exam(ctx, second)
    async with ctx.db() as s:
        flags = {
            f.attempt_id: f
            for f in (await s.scalars(select(DetectionFlag))).all()
            if f.evidence["type"] == "proxy"
        }
    fast = flags[placed[sim.attempts[hurried].attempt_id]]
    assert {r["id"] for r in fast.rules} == {"P01", "P05"} and fast.band == "medium"
    assert fast.evidence["speed_change_z"] > 3
    p05 = next(r for r in fast.rules if r["id"] == "P05")
    assert "以往 1 次考试" in p05["text"]
    # the same stranger's device at his usual pace: a traveller, below the review bands
    same = flags[placed[sim.attempts[steady].attempt_id]]
    assert {r["id"] for r in same.rules} == {"P01"} and same.band == "low"
    assert abs(same.evidence["speed_change_z"]) < 3
    assert set(placed_first) == set(placed)  # the same learners sat both exams
