"""Course completion -> credits: the tracker's writer calls this when every lesson is done."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession

from models import Course
from proctor.credits import ledger
from proctor.credits.policy import credit_rules
from proctor.kernel.calendar import study_year
from proctor.kernel.context import Context
from tracker.writer import CourseCompleted


def post_completion_credits(ctx: Context) -> CourseCompleted:
    """The hook that posts a completed course's credits, once, citing the sessions."""

    async def hook(
        s: AsyncSession, learner_id: int, course_id: int, at: dt.datetime, sessions: list[str]
    ) -> None:
        course = await s.get_one(Course, course_id)
        await ledger.post_course_completion(
            s,
            learner_id=learner_id,
            course=course,
            year=study_year(at),
            completed_at=at,
            evidence={"sessions": sessions},
            rules=credit_rules(ctx.settings),
        )

    return hook
