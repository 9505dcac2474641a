"""Demo exams: open exams a learner can take, and a closed sitting with simulated cheaters.

The closed sitting is the exam simulator's examinees (abilities from an IRT model, times from
a lognormal model, answer-sharing rings, proxy test-takers, pre-knowledge, honest look-alikes)
placed on real demo learners of 长沙市 and on the demo's own question bank, with a study
history of the course for each of them; post-exam forensics then flag the cheaters into the
review queue, where reviewers find them next to the study cases.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
from collections import defaultdict
from dataclasses import replace
from decimal import Decimal
from typing import Any

from sqlalchemy import insert, select

from models import (
    AttemptState,
    Course,
    Exam,
    ExamAnswer,
    ExamAttempt,
    ExamItem,
    ItemKind,
    Learner,
    Lesson,
    SessionSummary,
    StudySession,
    utcnow,
)
from proctor.credits import ledger
from proctor.demo.exam_bank import EXAM_BANKS, MEASURES_BANK, MEASURES_COURSE
from proctor.exams.analysis import ExamRun, analyse_exam
from proctor.exams.bank import ExamInput, insert_exam, insert_items
from proctor.exams.forensics.data import StudyHistory
from proctor.kernel.calendar import study_year
from proctor.kernel.context import Context
from proctor.simulate.exams import SimExam, SimItem, simulate_exam

SESSION_S = 2700.0
USER_AGENT = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/120.0"
SIM_COURSE_HOURS = 10.0  # the length of course the simulated study hours stand for


def _address(tag: str) -> str:
    """The simulator's symbolic addresses ("home-…", "hotel-…") as plausible public IPs."""
    if tag.replace(".", "").isdigit():
        return tag
    h = hashlib.sha256(tag.encode()).digest()
    return f"{36 + h[0] % 80}.{h[1]}.{h[2]}.{1 + h[3] % 250}"


def _wrong_answers(item: ExamItem) -> list[str]:
    """The item's wrong answers, most plausible first (near misses of a multiple choice)."""
    ids = [o["id"] for o in item.options]
    if item.kind is ItemKind.MULTIPLE:
        subsets = [
            "".join(c)
            for r in range(1, len(ids) + 1)
            for c in itertools.combinations(ids, r)
            if "".join(c) != item.key
        ]
        return sorted(subsets, key=lambda s: (abs(len(s) - len(item.key)), s))[:4]
    return [i for i in ids if i != item.key]


def _translate(sim_item: SimItem, item: ExamItem, answer: str) -> str:
    """A simulated answer on our item: key to key, the k-th wrong answer to our k-th."""
    if answer == "":
        return ""
    if answer == sim_item.info.key:
        return item.key
    wrong = _wrong_answers(item)
    k = sim_item.wrong.index(answer) if answer in sim_item.wrong else len(wrong) - 1
    return wrong[k % len(wrong)]


async def _courses(ctx: Context) -> list[Course]:
    """The provincial courses with an exam bank of their own, the measures course first."""
    async with ctx.db() as s:
        found = {
            c.title: c
            for c in await s.scalars(
                select(Course).where(
                    Course.title.in_(list(EXAM_BANKS)), Course.code.startswith("HN")
                )
            )
        }
    return [found[t] for t in EXAM_BANKS if t in found]


async def seed_exams(ctx: Context, org_path: str, seed: int) -> list[ExamRun]:
    """Open exams on three provincial courses, each asking about its own subject, and a
    closed, analysed sitting on the course about the academy's measures."""
    courses = await _courses(ctx)
    if not courses or courses[0].title != MEASURES_COURSE:
        return []
    now = utcnow()
    async with ctx.db.begin() as s:
        for n, course in enumerate(courses):
            await insert_items(s, course.id, EXAM_BANKS[course.title])
            await insert_exam(
                s,
                course.id,
                ExamInput(
                    title=f"《{course.title}》结业考试",
                    item_count=10,
                    time_limit_s=1200,
                    pass_mark=60,
                    attempts_allowed=2,
                    bonus_credits=Decimal("1") if n else Decimal("2"),
                    opens_at=now - dt.timedelta(days=3),
                    closes_at=now + dt.timedelta(days=60),
                ),
            )
        closed = await insert_exam(
            s,
            courses[0].id,
            ExamInput(
                title=f"《{courses[0].title}》专题测试（第一期）",
                item_count=len(MEASURES_BANK),
                time_limit_s=2400,
                pass_mark=60,
                attempts_allowed=1,
                bonus_credits=Decimal("1"),
                opens_at=now - dt.timedelta(days=12),
                closes_at=now - dt.timedelta(days=2),
            ),
        )
        closed_id = closed.id
    if not await _closed_sitting(ctx, closed_id, courses[0], org_path, seed):
        return []
    return [await analyse_exam(ctx, closed_id)]


def _sim(seed: int, examinees: int) -> SimExam:
    return simulate_exam(
        seed,
        examinees=examinees,
        n_items=len(MEASURES_BANK),
        rings=3,
        proxies=2,
        preknowledge=2,
        rapid=2,
        friends=8,
        strong=6,
        slow=6,
        new_device=4,
        travellers=2,
        hired=1,  # one proxy service's three clients, who studied (P01 + P08)
        # Harder than the default: copying shows in shared wrong answers.
        difficulty=0.5,
    )


async def _closed_sitting(
    ctx: Context, exam_id: int, course: Course, org_path: str, seed: int
) -> bool:
    async with ctx.db() as s:
        learners = list(
            (
                await s.scalars(
                    select(Learner)
                    .where(Learner.org_path.startswith(org_path), Learner.active.is_(True))
                    .order_by(Learner.id)
                )
            ).all()
        )
    if len(learners) < 120:
        return False  # too few examinees for the planted roles and a meaningful statistic
    sim = _sim(seed, min(150, len(learners)))
    # The simulator's study hours are for a course of some ten hours (honest 6-40 h,
    # proxies' learners under 0.8 h): scaled to this course's length, so the proxies'
    # learners still studied almost nothing of it and everyone else a good part.
    scale = course.lecture_seconds / 3600 / SIM_COURSE_HOURS
    sim.histories = {
        lid: replace(h, verified_hours=round(h.verified_hours * scale, 3))
        for lid, h in sim.histories.items()
    }
    await place_sitting(ctx, exam_id, course, sim, learners)
    return True


async def place_sitting(
    ctx: Context, exam_id: int, course: Course, sim: SimExam, learners: list[Learner]
) -> dict[int, int]:
    """Write a simulated sitting onto real learners, with their own study of the course;
    returns simulated attempt id -> stored attempt id.

    The simulator's items become the course's bank items in order (its answers translated
    consistently), its units become the learners' units, so rings and friends stay colleagues.
    """
    by_unit: dict[int, list[Learner]] = defaultdict(list)
    for learner in learners:
        by_unit[learner.unit_id].append(learner)
    placed: dict[int, int] = {}
    async with ctx.db.begin() as s:
        items = list(
            (
                await s.scalars(
                    select(ExamItem).where(ExamItem.course_id == course.id).order_by(ExamItem.id)
                )
            ).all()
        )
        lesson = await s.scalar(
            select(Lesson).where(Lesson.course_id == course.id).order_by(Lesson.ordinal)
        )
        exam = await s.get_one(Exam, exam_id)
        exam_opens = utcnow() - dt.timedelta(days=12)
        sim_by_id = {it.info.item_id: (it, items[k]) for k, it in enumerate(sim.sim_items)}
        t0 = min(min(a.saved_at.values(), default=a.submitted_at) for a in sim.attempts)

        def at(t: float) -> dt.datetime:
            """A simulated epoch second inside the demo's exam window."""
            return exam_opens + dt.timedelta(seconds=t - t0)

        units = list(by_unit)
        sim_units = sorted({a.unit_id for a in sim.attempts})
        unit_of = {u: units[k % len(units)] for k, u in enumerate(sim_units)}
        taken: set[int] = set()
        answer_rows: list[dict[str, object]] = []
        session_rows: list[dict[str, Any]] = []
        summary_rows: list[dict[str, Any]] = []
        for a in sim.attempts:
            pool = [x for x in by_unit[unit_of[a.unit_id]] if x.id not in taken]
            learner = pool[0] if pool else next(x for x in learners if x.id not in taken)
            taken.add(learner.id)

            finished = at(a.submitted_at)
            first = min(a.saved_at.values(), default=a.submitted_at - sum(a.seconds.values()))
            started = at(first) - dt.timedelta(seconds=60)
            # The page shows items in the attempt's order: the order the answers were entered.
            order = sorted(a.answers, key=lambda iid: a.saved_at.get(iid, a.submitted_at))
            attempt = ExamAttempt(
                exam_id=exam_id,
                learner_id=learner.id,
                number=1,
                state=AttemptState.SUBMITTED,
                items=[{"item_id": sim_by_id[iid][1].id, "order": []} for iid in order],
                started_at=started,
                deadline_at=started + dt.timedelta(minutes=40),
                finished_at=finished,
                ip=_address(a.ip),
                device=a.device,
                user_agent=USER_AGENT,
                version=2,
            )
            s.add(attempt)
            await s.flush()
            placed[a.attempt_id] = attempt.id
            correct = 0
            for iid, raw in a.answers.items():
                sim_item, item = sim_by_id[iid]
                choice = _translate(sim_item, item, raw)
                correct += choice == item.key
                answer_rows.append(
                    {
                        "attempt_id": attempt.id,
                        "item_id": item.id,
                        "choice": choice,
                        "seconds": a.seconds.get(iid, 0.0),
                        "changes": 0,
                        "saved_at": at(a.saved_at[iid]) if iid in a.saved_at else finished,
                    }
                )
            attempt.correct = correct
            attempt.score = correct * 100 // len(a.answers)
            attempt.passed = attempt.score >= exam.pass_mark
            if attempt.passed and exam.bonus_credits > 0:
                # As a real hand-in does: the pass posts the exam's bonus, so the archive
                # and the exam list agree.
                entry = await ledger.post_exam_bonus(
                    s,
                    learner_id=learner.id,
                    course_id=course.id,
                    year=study_year(finished),
                    amount=exam.bonus_credits,
                    evidence={"exam_id": exam.id, "attempt_id": attempt.id, "score": attempt.score},
                )
                entry.posted_at = finished
                attempt.bonus_entry_id = entry.id
            if lesson is not None:
                done, summed = _study(
                    exam_id,
                    learner.id,
                    course.id,
                    lesson.id,
                    sim.histories[a.learner_id],
                    exam_opens,
                )
                session_rows += done
                summary_rows += summed
        await s.execute(insert(ExamAnswer), answer_rows)
        if session_rows:
            await s.execute(insert(StudySession), session_rows)
            await s.execute(insert(SessionSummary), summary_rows)
    return placed


def _study(
    exam_id: int,
    learner_id: int,
    course_id: int,
    lesson_id: int,
    history: StudyHistory,
    before: dt.datetime,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The examinee's own study of the course before the sitting, on their own devices:
    study_session rows and their summaries."""
    devices = sorted(history.devices)
    ips = sorted(_address(i) for i in history.ips)
    sessions: list[dict[str, Any]] = []
    summaries: list[dict[str, Any]] = []
    remaining = history.verified_hours * 3600
    k = 0
    while remaining > 1:
        verified = min(SESSION_S, remaining)
        remaining -= verified
        started = before - dt.timedelta(days=1 + k % 20, hours=k % 7)
        ended = started + dt.timedelta(seconds=verified + 60)
        sid = f"demo-exam-{exam_id}-{learner_id}-{k}"  # a learner may sit several exams
        device, ip = devices[k % len(devices)], ips[k % len(ips)]
        common = {
            "learner_id": learner_id,
            "lesson_id": lesson_id,
            "course_id": course_id,
            "started_at": started,
            "device": device,
            "user_agent": USER_AGENT,
            "ip": ip,
        }
        sessions.append(
            common | {"id": sid, "ended_at": ended, "end_reason": "ended", "interval_s": 10}
        )
        summaries.append(
            common
            | {
                "session_id": sid,
                "ended_at": ended,
                "wall_s": verified + 60,
                "verified_s": verified,
                "new_coverage_s": verified,
                "beats": int(verified // 10),
                "rejected_beats": 0,
                "features": {},
            }
        )
        k += 1
    return sessions, summaries
