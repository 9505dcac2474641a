"""The simulator drives the real tracker; detection on its output flags the obvious frauds."""

from __future__ import annotations

import asyncio
import datetime as dt

from sqlalchemy import func, select, text

from models import DetectionFlag, ReviewCase, SessionSummary
from proctor.detection.service import run_detect
from proctor.kernel.context import Context
from proctor.simulate.run import simulate


async def test_simulated_population_through_the_tracker(ctx: Context) -> None:
    """Sessions become tracker summaries; labels never reach the database; frauds get flagged."""
    result = await simulate(ctx, seed=5, learners=27, days=3, fraud_share=0.34)
    assert result.beats > 1000
    async with ctx.db() as s:
        summaries = await s.scalar(select(func.count()).select_from(SessionSummary))
        assert summaries == result.sessions
        for table in ("learner", "study_session", "session_summary"):
            dump = " ".join(str(r) for r in (await s.execute(text(f"select * from {table}"))).all())  # noqa: S608
            assert "forged_progress" not in dump
            assert "autoplay_bot" not in dump
    out = await run_detect(ctx, result.day0, result.day0 + dt.timedelta(days=2), store=True)
    flagged = {d.learner_id for d in out.decisions if d.flagged}
    for lid, label in result.labels.items():
        if label in ("forged_progress", "high_rate", "paced_script", "parallel_courses"):
            assert lid in flagged, label
    honest = [lid for lid, lab in result.labels.items() if lab == "honest"]
    assert len([lid for lid in honest if lid in flagged]) <= 1


async def test_a_rerun_over_the_same_period_replaces_its_flags(ctx: Context) -> None:
    """Running detection twice over one period lists each flagged learner once: the first
    run's flags are superseded (kept in their cases), and no second case is opened."""
    result = await simulate(ctx, seed=6, learners=20, days=2, fraud_share=0.3)
    end = result.day0 + dt.timedelta(days=1)
    first = await run_detect(ctx, result.day0, end, store=True)
    second = await run_detect(ctx, result.day0, end, store=True)
    assert first.flagged > 0 and second.flagged == first.flagged
    async with ctx.db() as s:
        flags = list(await s.scalars(select(DetectionFlag)))
        cases = await s.scalar(select(func.count()).select_from(ReviewCase))
    open_flags = [f.learner_id for f in flags if f.status == "open"]
    assert sorted(open_flags) == sorted({f.learner_id for f in flags})
    assert sum(f.status == "superseded" for f in flags) == first.flagged
    assert all(f.case_id is not None for f in flags)
    assert cases == len(set(open_flags))


async def test_two_runs_at_once_list_each_flagged_learner_once(ctx: Context) -> None:
    """The schedule and an operator may run detection over one period at the same time: the
    second takes its turn and supersedes the first's flags (on PostgreSQL both superseded
    only the flags from before them, and every flagged learner was listed twice)."""
    result = await simulate(ctx, seed=6, learners=20, days=2, fraud_share=0.3)
    end = result.day0 + dt.timedelta(days=1)
    first, second = await asyncio.gather(
        run_detect(ctx, result.day0, end, store=True),
        run_detect(ctx, result.day0, end, store=True),
    )
    assert first.flagged == second.flagged > 0
    async with ctx.db() as s:
        flags = list(await s.scalars(select(DetectionFlag)))
    open_flags = [f.learner_id for f in flags if f.status == "open"]
    assert len(open_flags) == len(set(open_flags)) == first.flagged
    assert sum(f.status == "superseded" for f in flags) == first.flagged
