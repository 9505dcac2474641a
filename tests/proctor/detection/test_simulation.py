"""The simulator drives the real tracker; detection on its output flags the obvious frauds."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select, text

from models import SessionSummary
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
