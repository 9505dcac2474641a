"""A ring that copies exam after exam, each time too little to flag: every exam keeps the
pair's window evidence in the database, and the third exam's analysis combines it into a
flag with the exams listed (SQLite and PostgreSQL, analysed one exam after the other as the
scheduled job does, rerun once)."""

from __future__ import annotations

from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from models import DetectionFlag, Exam, ExamPairEvidence
from proctor.demo.exams import place_sitting
from proctor.exams.analysis import analyse_exam
from proctor.exams.forensics.analyse import ExamFlag, ForensicConfig
from proctor.exams.pair_history import combine_with_earlier
from proctor.kernel.context import Context
from proctor.simulate.exams import SimExam
from tests.factories import World, login, world  # noqa: F401
from tests.proctor.exams.helpers import closed_exams, sixty

SEED = 4  # three exams at window p ≈ 2-4e-3 each: no single exam flags the pair


def _sitting(k: int, seed: int = SEED) -> SimExam:
    return sixty(
        seed,
        copy_fractions=(0.3,),
        copy_modes=("burst_jitter",),
        sitting=k,
        sitting_s=600.0,
    )


async def test_three_weak_exams_become_one_flag_with_the_exams_listed(
    ctx: Context,
    client: TestClient,
    world: World,  # noqa: F811
) -> None:
    windows = [(f"党纪学习教育测试（第{k + 1}期）", 30 - k, 3 - k) for k in range(3)]
    course, exam_ids, learners = await closed_exams(ctx, world, "rp", 300, "HN-REP", windows)
    runs = []
    placed: dict[int, int] = {}
    for k, exam_id in enumerate(exam_ids):
        sim = _sitting(k)
        placed = await place_sitting(ctx, exam_id, course, sim, learners)
        runs.append(await analyse_exam(ctx, exam_id))
    copier = sim.copy_pairs[0][0]
    async with ctx.db() as s:
        flags = list((await s.scalars(select(DetectionFlag))).all())
        kept = (
            await s.execute(
                select(ExamPairEvidence.exam_id, func.count()).group_by(ExamPairEvidence.exam_id)
            )
        ).all()
    attempt_copier = placed[copier]
    single = [
        f for f in flags if f.evidence.get("type") == "copying" and f.attempt_id == attempt_copier
    ]
    assert not single  # no exam alone flags him
    repeated = [f for f in flags if f.evidence.get("type") == "repeated_copying"]
    (flag,) = [f for f in repeated if f.attempt_id == attempt_copier]
    assert flag.attempt_id == attempt_copier and flag.band in ("medium", "high")
    assert flag.evidence["exams_both"] == 3
    assert [e["exam_id"] for e in flag.evidence["exams"]] == exam_ids[::-1][:1] + exam_ids[:2]
    assert flag.evidence["p_value"] < 1e-4 <= min(e["p_value"] for e in flag.evidence["exams"])
    assert flag.rules[0]["id"] == "C09" and "截断乘积" in flag.rules[0]["text"]
    assert {exam_id for exam_id, _ in kept} == set(exam_ids)  # each exam kept its pairs
    # Only the ring: its three copiers, each with the source; the flags the second exam
    # raised were superseded by the third's, which list all three exams.
    ring = {placed[a] for pair in sim.copy_pairs for a in pair[:2]}
    live = [f for f in repeated if f.status == "open"]
    assert {f.attempt_id for f in live} <= ring and len(live) == 3
    assert all(len(f.evidence["exams"]) == 3 for f in live)
    assert all(f.status == "superseded" for f in repeated if f not in live)
    assert runs[2].flags >= 3  # with the kinds each exam raises on its own

    # The case page shows the exams; a rerun of the last exam neither duplicates the flag nor
    # the kept rows.
    reviewer = await login(client, "cs_reviewer")
    page = await client.get(f"/review/cases/{flag.case_id}", headers=reviewer)
    html = await page.text()
    assert page.status == 200 and "多场同场同地" in html and 'class="repeated-exams"' in html
    async with ctx.db() as s:
        rows_before = await s.scalar(select(func.count()).select_from(ExamPairEvidence))
    rerun = await analyse_exam(ctx, exam_ids[2])
    assert rerun.replaced == runs[2].flags  # the repeated flags among them
    async with ctx.db() as s:
        rows_after = await s.scalar(select(func.count()).select_from(ExamPairEvidence))
        open_repeated = [
            f
            for f in (await s.scalars(select(DetectionFlag))).all()
            if f.evidence.get("type") == "repeated_copying" and f.status == "open"
        ]
    assert rows_after == rows_before
    assert {f.attempt_id for f in open_repeated} == {f.attempt_id for f in live}
    assert len(open_repeated) == len(live)


async def test_a_pair_this_exam_flags_on_its_own_gets_c09_on_that_flag(
    ctx: Context,
    world: World,  # noqa: F811
) -> None:
    """When the last exam flags the pair by itself, the recurrence joins that flag (C09 among
    its reasons, the exams in its evidence) instead of a second flag on the same pair."""
    windows = [(f"党纪学习教育测试（第{k + 1}期）", 30 - k, 3 - k) for k in range(3)]
    course, exam_ids, learners = await closed_exams(ctx, world, "rp", 300, "HN-REP", windows)
    for k, exam_id in enumerate(exam_ids):
        # seed 16: the third exam flags the pair on its own (window p 3e-5); the first two
        # kept 5e-3 and 1e-3
        sim = _sitting(k, seed=16)
        placed = await place_sitting(ctx, exam_id, course, sim, learners)
        await analyse_exam(ctx, exam_id)
    copier = placed[sim.copy_pairs[0][0]]
    async with ctx.db() as s:
        flags = [f for f in (await s.scalars(select(DetectionFlag))).all() if f.status == "open"]
    mine = [f for f in flags if f.attempt_id == copier]
    (copying,) = [f for f in mine if f.evidence["type"] == "copying"]
    assert not [f for f in mine if f.evidence["type"] == "repeated_copying"]
    c09 = next(r for r in copying.rules if r["id"] == "C09")
    assert "本场已单独达到判定阈值" in c09["text"] and c09["value"] < 1e-4
    assert [e["exam_id"] for e in copying.evidence["repeated"]["exams"]] == [
        exam_ids[2],
        exam_ids[0],
        exam_ids[1],
    ]
    assert copying.band in ("medium", "high")


async def test_an_exam_with_nothing_to_keep_passes_its_own_flags_through(
    ctx: Context,
    world: World,  # noqa: F811
) -> None:
    """No pair sat together (or no copying test ran): the exam's own flags are all stored."""
    _, (exam_id,), _ = await closed_exams(ctx, world, "rp", 300, "HN-REP", [("测试", 10, 1)])
    flag = ExamFlag(1, 1, "proxy", 0.6, "medium", None, None, [{"id": "P02"}], {})
    async with ctx.db.begin() as s:
        exam = await s.get_one(Exam, exam_id)
        assert await combine_with_earlier(s, exam, [], [flag], None, ForensicConfig()) == [flag]
