"""Post-exam forensics over a closed exam window: load the attempts, run the statistics,
store exam flags with their evidence, and send them to the review queue.

The statistics are pure (``proctor/exams/forensics``); this module only moves data between
the database and them.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from models import (
    AttemptState,
    Course,
    DetectionFlag,
    Exam,
    ExamAnswer,
    ExamAttempt,
    ExamItem,
    Learner,
    SessionSummary,
)
from proctor.exams.forensics.analyse import ForensicConfig, analyse_with_pairs
from proctor.exams.forensics.data import AttemptRecord, ItemInfo, StudyHistory
from proctor.exams.machine_history import earlier_sittings, study_places
from proctor.exams.pair_history import combine_with_earlier
from proctor.kernel.batches import batches
from proctor.kernel.calendar import ACADEMY_TZ
from proctor.kernel.context import Context
from proctor.kernel.errors import NotFound
from proctor.kernel.networks import network_of
from proctor.kernel.progress import Progress, silent
from proctor.review.intake import raise_flags

MODEL_VERSION = "exam-forensics-2"
STUDY_FLAGS_BEFORE = dt.timedelta(days=90)  # study-side flags this recent corroborate a proxy
# Short names the case page shows before each reason's sentence.
REASON_NAMES = {
    "C01": "答案雷同",
    "C02": "相同的错误答案",
    "C03": "雷同统计检验",
    "C04": "可能为被抄袭方",
    "C05": "对方作答后随即填入相同答案",
    "C06": "对方交卷后集中填入相同答案",
    "C07": "对方交卷后所填答案及填入顺序",
    "C08": "同场同地：对方交卷后所填答案雷同",
    "K01": "答对题用时异常短",
    "K02": "疑似事先知道部分答案",
    "K03": "作答时间拟合异常",
    "G01": "大量快速作答",
    "G02": "快速作答正确率接近猜测",
    "P01": "考试设备和网络地址从未出现在本人学习记录中",
    "P02": "学时很少而成绩很高",
    "P03": "成绩远高于本人以往考试",
    "P04": "学习检测已有中高风险标记",
    "P05": "作答速度与本人以往考试明显不同",
    "P06": "学时很少又换了设备和网络",
    "P07": "学时很少又用了从未学习过的设备",
    "P08": "同一台设备或小型网络为多个单位的考生作答",
    "K04": "快速答对的题目可由抄袭解释",
    "K05": "在疑似泄露题上明显更快",
    "C09": "多场考试同场同地、对方交卷后所填答案一致",
}


def _reasons(raw: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {"name": REASON_NAMES.get(str(r.get("id")), "考试异常"), "kind": "behaviour", **r}
        for r in raw
    ]


@dataclass(frozen=True)
class ExamRun:
    """What forensics did for one exam."""

    exam_id: int
    title: str
    attempts: int
    pairs_tested: int
    flags: int
    cases_opened: int
    replaced: int = 0  # an earlier run's open flags this run superseded
    already_decided: int = 0  # findings not raised again: a reviewer decided them


async def _records(
    s: AsyncSession, exam: Exam
) -> tuple[list[ItemInfo], list[AttemptRecord], dict[int, StudyHistory], dict[int, int]]:
    """The exam's items, each learner's last scored attempt, histories, and scores."""
    attempts = list(
        (
            await s.scalars(
                select(ExamAttempt).where(
                    ExamAttempt.exam_id == exam.id,
                    ExamAttempt.state.in_([AttemptState.SUBMITTED, AttemptState.EXPIRED]),
                )
            )
        ).all()
    )
    # One sitting per learner: the last one, which is the one that counts for the bonus.
    last: dict[int, ExamAttempt] = {}
    for a in sorted(attempts, key=lambda a: a.number):
        last[a.learner_id] = a
    chosen = list(last.values())
    item_ids = sorted({slot["item_id"] for a in chosen for slot in a.items})
    items = [
        ItemInfo(item_id=i.id, n_options=len(i.options), key=i.key)
        for batch in batches(item_ids)
        for i in await s.scalars(select(ExamItem).where(ExamItem.id.in_(batch)))
    ]
    answers: dict[int, dict[int, ExamAnswer]] = defaultdict(dict)
    for batch in batches(a.id for a in chosen):
        for ans in await s.scalars(select(ExamAnswer).where(ExamAnswer.attempt_id.in_(batch))):
            answers[ans.attempt_id][ans.item_id] = ans
    learner_ids = [a.learner_id for a in chosen]
    units: dict[int, int] = {}
    for batch in batches(learner_ids):
        rows = await s.execute(select(Learner.id, Learner.unit_id).where(Learner.id.in_(batch)))
        units.update({lid: uid for lid, uid in rows.all()})
    records = [
        AttemptRecord(
            attempt_id=a.id,
            learner_id=a.learner_id,
            answers={slot["item_id"]: _choice(answers[a.id], slot["item_id"]) for slot in a.items},
            seconds={
                iid: ans.seconds for iid, ans in answers[a.id].items() if ans.seconds is not None
            },
            submitted_at=(a.finished_at or a.deadline_at).timestamp(),
            ip=network_of(a.ip),
            device=a.device,
            unit_id=units.get(a.learner_id, 0),
            # The server's clock of each answer's last change: answer-sharing rings show as
            # copied answers entered shortly after the partner's (see timing.py).
            saved_at={iid: ans.saved_at.timestamp() for iid, ans in answers[a.id].items()},
        )
        for a in chosen
    ]
    histories = await _histories(s, learner_ids, exam)
    return items, records, histories, {a.id: a.score or 0 for a in chosen}


def _choice(saved: dict[int, ExamAnswer], item_id: int) -> str:
    ans = saved.get(item_id)
    return ans.choice if ans is not None else ""


async def _histories(
    s: AsyncSession, learner_ids: list[int], exam: Exam
) -> dict[int, StudyHistory]:
    """Each examinee's own study: devices and addresses used, verified hours on the course."""
    devices, ips = await study_places(s, learner_ids, exam.closes_at)
    verified: dict[int, float] = {}
    past: dict[int, list[tuple[int, int]]] = defaultdict(list)
    past_speeds: dict[int, list[float]] = defaultdict(list)
    study_flags: dict[int, int] = {}
    lecture_s = await s.scalar(select(Course.lecture_seconds).where(Course.id == exam.course_id))
    course_hours = None if lecture_s is None else lecture_s / 3600
    since = (exam.closes_at - STUDY_FLAGS_BEFORE).astimezone(ACADEMY_TZ).date()
    for batch in batches(learner_ids):
        sums = await s.execute(
            select(SessionSummary.learner_id, func.sum(SessionSummary.verified_s))
            .where(
                SessionSummary.learner_id.in_(batch),
                SessionSummary.course_id == exam.course_id,
            )
            .group_by(SessionSummary.learner_id)
        )
        verified.update({lid: float(v or 0.0) for lid, v in sums.all()})
        # the learner's own earlier exams: a score far above them corroborates a proxy
        earlier = await s.execute(
            select(
                ExamAttempt.learner_id, ExamAttempt.correct, ExamAttempt.items, ExamAttempt.speed
            )
            .where(
                ExamAttempt.learner_id.in_(batch),
                ExamAttempt.exam_id != exam.id,
                ExamAttempt.state.in_([AttemptState.SUBMITTED, AttemptState.EXPIRED]),
                ExamAttempt.correct.is_not(None),
                ExamAttempt.finished_at < exam.opens_at,
            )
            .order_by(ExamAttempt.finished_at)
        )
        for lid, correct, drawn, speed in earlier.all():
            if drawn:
                past[lid].append((int(correct), len(drawn)))
            if speed is not None:  # set once that exam was analysed
                past_speeds[lid].append(float(speed))
        # study-side detection on the learner in the weeks before the exam
        counted = await s.execute(
            select(DetectionFlag.learner_id, func.count())
            .where(
                DetectionFlag.learner_id.in_(batch),
                DetectionFlag.source == "study",
                DetectionFlag.band.in_(["medium", "high"]),
                DetectionFlag.period_end >= since,
            )
            .group_by(DetectionFlag.learner_id)
        )
        study_flags.update({lid: int(n) for lid, n in counted.all()})
    return {
        lid: StudyHistory(
            learner_id=lid,
            devices=frozenset(devices[lid]),
            ips=frozenset(ips[lid]),
            verified_hours=float(verified.get(lid) or 0.0) / 3600,
            past_scores=tuple(past[lid]),
            past_speeds=tuple(past_speeds[lid]),
            study_flags=study_flags.get(lid, 0),
            course_hours=course_hours,
        )
        for lid in learner_ids
    }


async def analyse_exam(
    ctx: Context, exam_id: int, *, config: ForensicConfig | None = None
) -> ExamRun:
    """Run the forensics over one exam and store its flags (once per exam window)."""
    cfg = config or ForensicConfig()
    async with ctx.db() as s:
        exam = await s.get(Exam, exam_id)
        if exam is None:
            raise NotFound(f"考试 #{exam_id} 不存在")
        items, records, histories, scores = await _records(s, exam)
        earlier = await earlier_sittings(
            s, exam, records, histories, cfg.proxy_machine_lookback_days
        )
    # The statistics take minutes on a province's sitting: off the loop that serves beats,
    # and outside any transaction (one held open that long holds back PostgreSQL's vacuum
    # and trips idle-in-transaction timeouts); what they read are submitted attempts.
    report, res = await asyncio.to_thread(
        analyse_with_pairs, items, records, histories, cfg, earlier
    )
    async with ctx.db.begin() as s:
        # Two runs of one exam at once (the schedule and a manager's button) write one after
        # the other, so the second supersedes the first's flags instead of doubling them.
        exam = await s.get_one(Exam, exam_id, with_for_update=True)
        found = await combine_with_earlier(s, exam, records, report.flags, res, cfg)
        day = exam.closes_at.astimezone(ACADEMY_TZ).date()
        flags = [
            DetectionFlag(
                learner_id=f.learner_id,
                period_start=day,
                period_end=day,
                risk=f.risk,
                band=f.band,
                kind="exam",
                rules=_reasons(f.reasons),
                drivers=[],
                model_version=MODEL_VERSION,
                thresholds={"p_value": f.type1_error} if f.type1_error is not None else {},
                source="exam",
                attempt_id=f.attempt_id,
                evidence={
                    "type": f.kind,
                    "course_id": exam.course_id,
                    "exam_id": exam.id,
                    "attempt_id": f.attempt_id,
                    "p_value": f.p_value,
                    "type1_error": f.type1_error,
                    **f.evidence,
                    "score": scores.get(f.attempt_id),
                },
            )
            for f in found
        ]
        flags, replaced, decided = await _replace_earlier_run(s, exam.id, flags)
        if report.speeds:
            # each attempt's pace, for the proxy rule of the learner's later exams (P05)
            await s.execute(
                update(ExamAttempt),
                [{"id": aid, "speed": v} for aid, v in report.speeds.items()],
            )
        exam.analysed_at = dt.datetime.now(dt.UTC)
        result = await raise_flags(s, flags)
        return ExamRun(
            exam_id=exam.id,
            title=exam.title,
            attempts=len(records),
            pairs_tested=int(report.copying.get("pairs_tested", 0)),
            flags=len(flags),
            cases_opened=result.opened,
            replaced=replaced,
            already_decided=decided,
        )


async def _replace_earlier_run(
    s: AsyncSession, exam_id: int, flags: list[DetectionFlag]
) -> tuple[list[DetectionFlag], int, int]:
    """A rerun over an exam replaces what the last run said of it, as the study detection's
    rerun over a period does: the earlier run's flags still open leave the open list (kept,
    superseded, in their cases' history), so an attempt is not listed once per run. A finding
    a reviewer already decided (the flag closed with its case) is not raised again on the same
    evidence: clearing a learner must not be undone by rerunning the analysis; a finding of
    another kind on the attempt still is."""
    earlier = list(
        (
            await s.scalars(
                select(DetectionFlag).where(
                    DetectionFlag.source == "exam",
                    DetectionFlag.model_version.like("exam-forensics%"),
                    DetectionFlag.status != "superseded",
                    DetectionFlag.attempt_id.in_(
                        select(ExamAttempt.id).where(ExamAttempt.exam_id == exam_id)
                    ),
                )
            )
        ).all()
    )
    decided = {(f.attempt_id, f.evidence.get("type")) for f in earlier if f.status == "closed"}
    replaced = 0
    for f in earlier:
        if f.status == "open":
            f.status = "superseded"
            replaced += 1
    await s.flush()
    fresh = [f for f in flags if (f.attempt_id, f.evidence.get("type")) not in decided]
    return fresh, replaced, len(flags) - len(fresh)


async def analyse_closed(
    ctx: Context, now: dt.datetime, progress: Progress = silent
) -> list[ExamRun]:
    """Forensics over every exam whose window has closed and that was not analysed yet."""
    from proctor.exams.attempts import close_expired

    await close_expired(ctx, now)
    async with ctx.db() as s:
        due = list(
            (
                await s.scalars(
                    select(Exam.id)
                    .where(Exam.closes_at <= now, Exam.analysed_at.is_(None))
                    .order_by(Exam.id)
                )
            ).all()
        )
    runs = []
    progress("考试数据分析", 0, len(due))
    for exam_id in due:
        runs.append(await analyse_exam(ctx, exam_id))
        progress("考试数据分析", len(runs), len(due))
    return runs
