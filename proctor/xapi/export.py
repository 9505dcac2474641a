"""Finding new study sessions and exam attempts and enqueueing their statements.

Sessions are taken once summarised (the summary is written when every beat is in SQL) and
attempts once scored. A session waits while an earlier session of the same registration
is not yet final, since its statements carry the registration's progress so far. The scan
pages through the records by (finish time, id) and skips those already in the outbox, so
running it again, or from two processes at once, enqueues nothing twice.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from models import utcnow
from proctor.kernel.context import Context
from proctor.xapi import outbox, sources
from proctor.xapi.academy import Academy
from proctor.xapi.coverage import Rules, replay
from proctor.xapi.statements import exam_statement, video_statement, void_statement
from tracker.finalize import dt_to_ms

CHUNK = 200


@dataclass
class Exported:
    """What one scan enqueued, and the sessions left for a later one."""

    sessions: int = 0
    attempts: int = 0
    statements: int = 0
    deferred: int = 0


def configured(ctx: Context) -> bool:
    """xAPI is on: an LRS endpoint and the academy's home page are set."""
    return bool(ctx.settings.xapi_endpoint and ctx.settings.xapi_homepage)


def academy_of(ctx: Context) -> Academy:
    """The academy as the statements name it, from the settings and the root secret."""
    s = ctx.settings
    return Academy.create(s.xapi_homepage, s.xapi_activities, ctx.secret)


def rules_of(ctx: Context, duration_ms: int) -> Rules:
    """The verification policy the tracker applied, for replaying its trace."""
    s = ctx.settings
    return Rules(duration_ms, max_rate=s.max_credited_rate, tail_ms=s.completion_tail_s * 1000)


async def enqueue_since(
    ctx: Context, since: dt.datetime, *, now: dt.datetime | None = None, chunk: int = CHUNK
) -> Exported:
    """Enqueue the statements of everything finished since ``since`` and not yet enqueued."""
    now = now or utcnow()
    academy = academy_of(ctx)
    done = Exported()
    await _study(ctx, academy, since, now, chunk, done)
    await _exams(ctx, academy, since, now, chunk, done)
    return done


async def enqueue_new(ctx: Context, *, now: dt.datetime | None = None) -> Exported:
    """Enqueue what finished since the watermark: the newest record in the outbox (or now),
    less the scan margin that summaries and expiries written late need."""
    now = now or utcnow()
    async with ctx.db() as s:
        newest = await outbox.newest_occurrence(s)
    margin = dt.timedelta(hours=ctx.settings.xapi_scan_margin_hours)
    return await enqueue_since(ctx, min(newest or now, now) - margin, now=now)


async def _study(
    ctx: Context, academy: Academy, since: dt.datetime, now: dt.datetime, chunk: int, done: Exported
) -> None:
    cursor: tuple[dt.datetime, str] | None = None
    while True:
        async with ctx.db.begin() as s:
            finished = await sources.finished_sessions(s, since, cursor, chunk)
            if not finished:
                return
            cursor = (finished[-1].ended_at, finished[-1].session_id)
            regs = await sources.registrations(s, finished)
            by_reg: dict[tuple[int, int], list[sources.Finished]] = defaultdict(list)
            for f in finished:
                by_reg[(f.learner_id, f.lesson_id)].append(f)
            items: list[outbox.Queued] = []
            for key, group in by_reg.items():
                reg = regs[key]
                rules = rules_of(ctx, reg.duration_ms)
                events = replay(reg.sessions, reg.beats, rules, other_credits=reg.other_credits)
                for f in group:
                    if not reg.settled_at(dt_to_ms(f.ended_at)):
                        done.deferred += 1
                        continue
                    for e in events:
                        if e.session_id == f.session_id:
                            statement = video_statement(
                                academy, reg.learner_id, reg.lesson, rules, e
                            )
                            items.append(
                                outbox.Queued(statement, sources.STUDY, f.session_id, f.ended_at)
                            )
                    done.sessions += 1
            await outbox.enqueue(s, items, now)
            done.statements += len(items)


async def _exams(
    ctx: Context, academy: Academy, since: dt.datetime, now: dt.datetime, chunk: int, done: Exported
) -> None:
    cursor: tuple[dt.datetime, int] | None = None
    while True:
        async with ctx.db.begin() as s:
            results = await sources.scored_attempts(s, since, cursor, chunk)
            if not results:
                break
            cursor = (results[-1][0], results[-1][1].attempt_id)
            items = [
                outbox.Queued(exam_statement(academy, r), sources.EXAM, str(r.attempt_id), at)
                for at, r in results
            ]
            await outbox.enqueue(s, items, now)
            done.attempts += len(results)
            done.statements += len(items)
    # Review decisions come days after the attempt: voiding and restating follow the
    # decision's time, not the attempt's. Few rows; one query each.
    async with ctx.db.begin() as s:
        voids = [
            outbox.Queued(
                void_statement(academy, aid, dt_to_ms(at)), sources.EXAM_VOID, str(aid), at
            )
            for at, aid in await sources.voided_results(s, since)
        ]
        await outbox.enqueue(s, voids, now)
        done.statements += len(voids)
    async with ctx.db.begin() as s:
        restated = [
            outbox.Queued(
                exam_statement(academy, r, reinstated=True),
                sources.EXAM_REINSTATED,
                str(r.attempt_id),
                at,
            )
            for at, r in await sources.reinstated_results(s, since)
        ]
        await outbox.enqueue(s, restated, now)
        done.statements += len(restated)
