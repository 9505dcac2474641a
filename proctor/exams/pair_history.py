"""Pairs that sit exam after exam together: each exam keeps the window-answer evidence of
the pairs that sat together (``exam_pair_evidence``), reads back what earlier exams kept for
the same pairs, and flags those the truncated product over the exams makes significant (C09;
the statistics in :mod:`proctor.exams.forensics.repeated`)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import replace

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from models import AttemptState, DetectionFlag, Exam, ExamAttempt, ExamPairEvidence
from proctor.exams.forensics.analyse import (
    EarlierExam,
    ExamFlag,
    ForensicConfig,
    repeated_flag,
    with_repeated,
)
from proctor.exams.forensics.data import AttemptRecord
from proctor.exams.forensics.omega import CopyingResult
from proctor.exams.forensics.repeated import repeated_p, window_evidence
from proctor.kernel.batches import batches


async def combine_with_earlier(
    s: AsyncSession,
    exam: Exam,
    records: list[AttemptRecord],
    flags: list[ExamFlag],
    res: CopyingResult | None,
    cfg: ForensicConfig,
) -> list[ExamFlag]:
    """Keep this exam's window evidence of pairs that sat together, combine it with what
    earlier exams kept for the same pairs, and flag the pairs it makes significant: this
    exam's ``flags`` (those of a recurring pair with C09 added) and the new C09 flags.

    A rerun replaces the exam's kept rows. Every exam both learners sat in the period
    (analysed, attempt finished) counts in the combination, kept or not."""
    learner_ids = [r.learner_id for r in records]
    kept = (
        window_evidence(
            learner_ids, res.pairs, res.p_together, res.together_copier, cfg.repeated_tau
        )
        if res is not None
        else []
    )
    await s.execute(delete(ExamPairEvidence).where(ExamPairEvidence.exam_id == exam.id))
    s.add_all(
        ExamPairEvidence(
            exam_id=exam.id,
            learner_low=w.learners[0],
            learner_high=w.learners[1],
            copier_id=w.copier,
            p_value=w.p_value,
        )
        for w in kept
    )
    if not kept:
        return list(flags)
    since = exam.closes_at - dt.timedelta(days=cfg.repeated_days)
    involved = sorted({lid for w in kept for lid in w.learners})
    in_period = (Exam.closes_at >= since) & (Exam.closes_at <= exam.closes_at)
    earlier: dict[tuple[int, int], list[tuple[int, str, float, int]]] = defaultdict(list)
    sat: dict[int, set[int]] = defaultdict(set)
    for chunk in batches(involved):
        rows = await s.execute(
            select(
                ExamPairEvidence.learner_low,
                ExamPairEvidence.learner_high,
                ExamPairEvidence.exam_id,
                Exam.title,
                ExamPairEvidence.p_value,
                ExamPairEvidence.copier_id,
            )
            .join(Exam, Exam.id == ExamPairEvidence.exam_id)
            .where(
                ExamPairEvidence.learner_low.in_(chunk),
                ExamPairEvidence.exam_id != exam.id,
                in_period,
            )
        )
        for low, high, exam_id, title, kept_p, copier in rows.all():
            earlier[(low, high)].append((exam_id, title, kept_p, copier))
        taken = await s.execute(
            select(ExamAttempt.learner_id, ExamAttempt.exam_id)
            .join(Exam, Exam.id == ExamAttempt.exam_id)
            .where(
                ExamAttempt.learner_id.in_(chunk),
                ExamAttempt.state != AttemptState.OPEN,
                in_period,
                Exam.analysed_at.is_not(None) | (Exam.id == exam.id),
            )
        )
        for lid, exam_id in taken.all():
            sat[lid].add(exam_id)
    attempt_of = {r.learner_id: r.attempt_id for r in records}
    # this exam's copying flags by (learner, partner): a pair it flagged on its own gets C09
    # added to those flags rather than a second flag
    copying = {
        (f.learner_id, f.evidence.get("partner_learner_id")): k
        for k, f in enumerate(flags)
        if f.kind == "copying"
    }
    annotated = list(flags)
    out = []
    for w in kept:
        history = earlier.get(w.learners, [])
        exams_both = len(sat[w.learners[0]] & sat[w.learners[1]])
        p = repeated_p([w.p_value] + [h[2] for h in history], exams_both, cfg.repeated_tau)
        if p is None or p >= cfg.repeated_alpha:
            continue
        partner = w.learners[1] if w.copier == w.learners[0] else w.learners[0]
        listed = [EarlierExam(exam.id, exam.title, w.p_value, True)] + [
            EarlierExam(eid, title, hp, copier == w.copier)
            for eid, title, hp, copier in sorted(history)
        ]
        here = [
            copying[key] for key in ((w.copier, partner), (partner, w.copier)) if key in copying
        ]
        for k in here:
            mine = annotated[k].learner_id == w.copier
            seen = (
                listed
                if mine
                else [replace(e, copier_is_self=not e.copier_is_self) for e in listed]
            )
            annotated[k] = with_repeated(annotated[k], seen, exams_both, p, cfg)
        if here:
            continue
        out.append(
            repeated_flag(
                attempt_id=attempt_of[w.copier],
                learner_id=w.copier,
                partner_learner_id=partner,
                exams=listed,
                exams_both=exams_both,
                p_value=p,
                cfg=cfg,
            )
        )
    await _supersede_repeated(s, out, set(attempt_of.values()))
    return annotated + out


async def _supersede_repeated(s: AsyncSession, found: list[ExamFlag], this_exam: set[int]) -> None:
    """A pair flagged again by a later exam: the new flag lists every exam, so the earlier
    one still open leaves the open list (kept, superseded, in its case's history). This
    exam's own earlier run is :func:`_replace_earlier_run`'s to replace."""
    pairs = {(f.learner_id, f.evidence["partner_learner_id"]) for f in found}
    if not pairs:
        return
    for batch in batches(sorted({a for a, _ in pairs})):
        earlier = await s.scalars(
            select(DetectionFlag).where(
                DetectionFlag.source == "exam",
                DetectionFlag.status == "open",
                DetectionFlag.learner_id.in_(batch),
            )
        )
        for f in earlier.all():
            ev = f.evidence or {}
            if (
                ev.get("type") == "repeated_copying"
                and f.attempt_id not in this_exam
                and (f.learner_id, ev.get("partner_learner_id")) in pairs
            ):
                f.status = "superseded"
