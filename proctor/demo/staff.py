"""The staff's everyday work in the demo: a roster with rows to return, a course being written,
a locked account, reminders sent. Small and quick: it goes through the real services."""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import random

from sqlalchemy import select, update

from models import Account, Lesson, OrgUnit, utcnow
from proctor.catalog import authoring, lessons
from proctor.demo.media import video_url
from proctor.demo.names import random_name
from proctor.demo.review import actor_for
from proctor.kernel.context import Context
from proctor.kernel.identity import make_id_number, random_phone
from proctor.reminders import due, sending
from proctor.rosters import service as rosters

log = logging.getLogger(__name__)

ROSTER_UNIT = "芙蓉区财政局"
LOCKED = "xy000010"


def _roster_csv(rng: random.Random, unit_code: str) -> bytes:
    """Eight new people for a unit; two rows with the mistakes HR sheets really have."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["姓名", "身份证号", "单位", "职务/职级", "手机号"])
    posts = ["科员", "副科长/副科", "科长/正科", "办公室主任/正科"]
    for n in range(8):
        birth = dt.date(rng.randint(1972, 1996), rng.randint(1, 12), rng.randint(1, 28))
        number = make_id_number("430102", birth, 700 + n)
        phone = random_phone(rng)
        if n == 3:
            number = number[:-1] + ("0" if number[-1] != "0" else "1")  # a wrong check digit
        if n == 6:
            phone = phone[:9]  # a phone number cut short
        writer.writerow(
            [random_name(rng, n % 2 == 0, birth.year), number, unit_code, posts[n % 4], phone]
        )
    return out.getvalue().encode("utf-8-sig")


async def staff_work(ctx: Context, random_seed: int) -> None:
    """Seed the staff's open work; needs the demo tree, staff and catalog."""
    rng = random.Random(random_seed + 17)
    liaison = await actor_for(ctx, "cs_liaison1")
    city = await actor_for(ctx, "cs_admin")
    if liaison is None or city is None:
        return
    async with ctx.db() as s:
        unit = await s.scalar(select(OrgUnit).where(OrgUnit.name == ROSTER_UNIT))
    if unit is not None:
        await rosters.upload(
            ctx, liaison, "财政局2026年第二批花名册.csv", _roster_csv(rng, unit.code)
        )

    course_id = await authoring.create_draft(
        ctx,
        city,
        {
            "title": "长沙市历史文化名城保护与城市更新",
            "category": "culture",
            "kind": "elective",
            "lecture_seconds": 2 * 2700,
            "lecturer": "长沙市规划研究院 周建平",
            "description": "以长沙历史文化街区保护利用为例，讲解城市更新中的规划、政策与群众工作。",
        },
    )
    first = await lessons.add_lesson(ctx, city, course_id, "第一讲 名城保护的政策与法规")
    await lessons.add_lesson(ctx, city, course_id, "第二讲 街区更新的群众工作")
    async with ctx.db.begin() as s:
        # The first lesson already has its video (the demo's own 45-minute one).
        await s.execute(
            update(Lesson)
            .where(Lesson.id == first.id)
            .values(video_url=video_url(2700), duration_seconds=2700)
        )
        await s.execute(
            update(Account)
            .where(Account.username == LOCKED)
            .values(locked_until=utcnow() + dt.timedelta(days=1), failed_logins=0)
        )

    now = utcnow()
    async with ctx.db() as s:
        found = await due.cases(s, now, due.review_days(ctx)) + await due.appeals(
            s, now, ctx.settings.reminder_lead_days
        )
    sent = len(await sending.record(ctx, found))
    sent += (await sending.remind_behind(ctx, liaison, now))[0]
    log.info("staff work: a roster to review, a draft course, %d reminders", sent)
