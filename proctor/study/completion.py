"""Course completion -> credits: the tracker's writer calls this when every lesson is done."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from models import Course
from proctor.context import Context
from proctor.credits import ledger
from tracker.writer import CourseCompleted

# Study years follow the academy's calendar (China Standard Time), not UTC.
ACADEMY_TZ = ZoneInfo("Asia/Shanghai")


def study_year(at: dt.datetime) -> int:
    """The credit year a moment belongs to."""
    return at.astimezone(ACADEMY_TZ).year


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
            rules=ctx.settings.credit_rules,
        )

    return hook
