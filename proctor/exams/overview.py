"""Exams as staff see them: each exam's sitting within the actor's authority."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import case, func, select

from models import AttemptState, Course, DetectionFlag, Exam, ExamAttempt, ExamItem, Learner
from proctor.catalog.visibility import can_manage, viewer_of, visible_clause
from proctor.exams.analysis import ExamRun, analyse_exam
from proctor.exams.rules import window_status
from proctor.kernel.authz import STAFF_ROLES, Actor
from proctor.kernel.context import Context
from proctor.kernel.errors import Conflict, Forbidden, NotFound
from proctor.review.consequences import voided_attempt_ids


@dataclass(frozen=True)
class ExamRow:
    """One exam and how its examinees in the actor's subtree did."""

    exam: Exam
    course: Course
    status: str  # upcoming / open / closed
    examinees: int  # learners with an attempt
    finished: int  # of them, who handed one in
    passed: int  # of them, who passed (voided attempts excluded)
    mean_score: float | None  # mean of each examinee's best score
    flags: int
    can_analyse: bool

    def as_dict(self) -> dict[str, object]:
        e = self.exam
        return {
            "exam_id": e.id,
            "title": e.title,
            "course_id": self.course.id,
            "course_title": self.course.title,
            "opens_at": e.opens_at,
            "closes_at": e.closes_at,
            "status": self.status,
            "analysed_at": e.analysed_at,
            "examinees": self.examinees,
            "finished": self.finished,
            "passed": self.passed,
            "pass_rate": round(self.passed / self.finished, 4) if self.finished else None,
            "mean_score": self.mean_score,
            "flags": self.flags,
        }


async def overview(ctx: Context, actor: Actor, now: dt.datetime) -> list[ExamRow]:
    """Every exam of a visible course, counted over the actor's own learners only."""
    actor.require(STAFF_ROLES, "查看考试情况")
    async with ctx.db() as s:
        viewer = await viewer_of(s, actor)
        exams = (
            await s.execute(
                select(Exam, Course)
                .join(Course, Course.id == Exam.course_id)
                .where(visible_clause(viewer))
                .order_by(Exam.closes_at.desc(), Exam.id)
            )
        ).all()
        # Everything counts examinees, not attempts: a learner who sat twice and passed once
        # is one examinee, one hand-in and one pass. A voided attempt (考试作弊) passes nobody.
        finished = ExamAttempt.state != AttemptState.OPEN
        passed = (ExamAttempt.passed.is_(True)) & ExamAttempt.id.not_in(voided_attempt_ids())
        per_learner = (
            select(
                ExamAttempt.exam_id.label("exam_id"),
                func.max(case((finished, 1), else_=0)).label("done"),
                func.max(case((passed, 1), else_=0)).label("passed"),
                func.max(ExamAttempt.score).label("best"),
            )
            .join(Learner, Learner.id == ExamAttempt.learner_id)
            .where(actor.in_scope(Learner.org_path))
            .group_by(ExamAttempt.exam_id, ExamAttempt.learner_id)
            .subquery()
        )
        stats = {
            exam_id: (examinees, done, passed_n, mean)
            for exam_id, examinees, done, passed_n, mean in (
                await s.execute(
                    select(
                        per_learner.c.exam_id,
                        func.count(),
                        func.sum(per_learner.c.done),
                        func.sum(per_learner.c.passed),
                        func.avg(per_learner.c.best),
                    ).group_by(per_learner.c.exam_id)
                )
            ).all()
        }
        flags = dict(
            (
                await s.execute(
                    select(ExamAttempt.exam_id, func.count(DetectionFlag.id))
                    .join(ExamAttempt, ExamAttempt.id == DetectionFlag.attempt_id)
                    .join(Learner, Learner.id == DetectionFlag.learner_id)
                    .where(DetectionFlag.source == "exam", actor.in_scope(Learner.org_path))
                    .group_by(ExamAttempt.exam_id)
                )
            ).all()
        )
    rows = []
    for exam, course in exams:
        examinees, done, passed, mean = stats.get(exam.id, (0, 0, 0, None))
        status = window_status(exam.opens_at, exam.closes_at, now)
        rows.append(
            ExamRow(
                exam=exam,
                course=course,
                status=status,
                examinees=int(examinees or 0),
                finished=int(done or 0),
                passed=int(passed or 0),
                mean_score=round(float(mean), 1) if mean is not None else None,
                flags=int(flags.get(exam.id, 0)),
                can_analyse=status == "closed" and can_manage(actor, course),
            )
        )
    return rows


async def analyse_now(ctx: Context, actor: Actor, exam_id: int, now: dt.datetime) -> ExamRun:
    """Run forensics on a closed exam the actor manages (once per exam window)."""
    actor.require(STAFF_ROLES, "分析考试")
    async with ctx.db() as s:
        row = (
            await s.execute(
                select(Exam, Course)
                .join(Course, Course.id == Exam.course_id)
                .where(Exam.id == exam_id, visible_clause(await viewer_of(s, actor)))
            )
        ).first()
    if row is None:
        raise NotFound("考试不存在")
    exam, course = row
    if not can_manage(actor, course):
        raise Forbidden("只有课程的管理部门可以分析考试")
    if now < exam.closes_at:
        raise Conflict("考试尚未结束：考试窗口关闭后才能分析答卷")
    if exam.analysed_at is not None:
        raise Conflict("本场考试已分析过，标记已进入审核队列")
    return await analyse_exam(ctx, exam_id)


@dataclass(frozen=True)
class BankRow:
    """A course the actor manages, with the size of its question bank."""

    course: Course
    bank_size: int


async def managed_courses(ctx: Context, actor: Actor) -> list[BankRow]:
    """Courses whose bank and exams the actor may edit (the academy; a city its own courses)."""
    actor.require(STAFF_ROLES, "管理题库")
    async with ctx.db() as s:
        viewer = await viewer_of(s, actor)
        courses = [
            c
            for c in await s.scalars(
                select(Course).where(visible_clause(viewer)).order_by(Course.code)
            )
            if can_manage(actor, c)
        ]
        sizes = dict(
            (
                await s.execute(
                    select(ExamItem.course_id, func.count())
                    .where(ExamItem.active.is_(True))
                    .group_by(ExamItem.course_id)
                )
            ).all()
        )
    return [BankRow(c, int(sizes.get(c.id, 0))) for c in courses]
