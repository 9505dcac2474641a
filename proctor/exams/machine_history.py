"""Earlier exams' sittings on the machines this exam's strangers used (P08 across exams).

A proxy service that sits one or two clients in each exam is a stranger's device and
address in every one of them. This reads, for the attempts of this exam whose device and
address are both new to their learner, the attempts of exams that closed in the lookback
window on the same device (not merely at the same address, which may have passed to
someone else since), and keeps those whose learner was a stranger to both too (judged
against that learner's study before this exam closed), with the number of devices at
their address in their own exam (a centre's room has many).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping, Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from models import AttemptState, Exam, ExamAttempt, Learner, StudySession
from proctor.exams.forensics.data import AttemptRecord, StudyHistory
from proctor.exams.forensics.machines import EarlierSitting, is_stranger
from proctor.kernel.batches import batches
from proctor.kernel.networks import network_of

DONE = [AttemptState.SUBMITTED, AttemptState.EXPIRED]


async def study_places(
    s: AsyncSession, learner_ids: Sequence[int], before: dt.datetime
) -> tuple[dict[int, set[str]], dict[int, set[str]]]:
    """The devices and the addresses of each learner's own study started before ``before``."""
    devices: dict[int, set[str]] = defaultdict(set)
    ips: dict[int, set[str]] = defaultdict(set)
    for ids in batches(learner_ids):
        rows = await s.execute(
            select(StudySession.learner_id, StudySession.device, StudySession.ip)
            .where(StudySession.learner_id.in_(ids), StudySession.started_at < before)
            .distinct()  # one row per distinct (learner, device, address)
        )
        for lid, device, ip in rows.all():
            if device:
                devices[lid].add(device)
            if ip:
                ips[lid].add(network_of(ip))
    return devices, ips


async def earlier_sittings(
    s: AsyncSession,
    exam: Exam,
    records: Sequence[AttemptRecord],
    histories: Mapping[int, StudyHistory],
    lookback_days: int,
) -> list[EarlierSitting]:
    """The earlier sittings by strangers on the devices of this exam's strangers."""
    strangers = [
        r
        for r in records
        if (h := histories.get(r.learner_id)) is not None
        and is_stranger(r.device, r.ip, h.devices, h.ips)
    ]
    if not strangers or lookback_days <= 0:
        return []
    since = exam.closes_at - dt.timedelta(days=lookback_days)
    found: dict[tuple[int, int], tuple[int, str, str]] = {}  # (exam, learner) -> (id, dev, ip)
    # by device only: across months an address may have passed to someone else
    for batch in batches(sorted({r.device for r in strangers if r.device})):
        hits = await s.execute(
            select(
                ExamAttempt.exam_id,
                ExamAttempt.learner_id,
                ExamAttempt.id,
                ExamAttempt.device,
                ExamAttempt.ip,
            )
            .join(Exam, Exam.id == ExamAttempt.exam_id)
            .where(
                ExamAttempt.device.in_(batch),
                ExamAttempt.exam_id != exam.id,
                ExamAttempt.state.in_(DONE),
                Exam.closes_at >= since,
                Exam.closes_at <= exam.closes_at,
            )
        )
        for exam_id, lid, aid, device, ip in hits.all():
            key = (exam_id, lid)
            if key not in found or aid > found[key][0]:  # the sitting that counts
                found[key] = (aid, device, ip)
    if not found:
        return []
    learners = sorted({lid for _, lid in found})
    devices, ips = await study_places(s, learners, exam.closes_at)
    units: dict[int, int] = {}
    for ids in batches(learners):
        unit_rows = await s.execute(select(Learner.id, Learner.unit_id).where(Learner.id.in_(ids)))
        units.update(dict(unit_rows.all()))
    kept = {
        key: (aid, device, ip)
        for key, (aid, device, ip) in found.items()
        if is_stranger(device, ip, devices[key[1]], ips[key[1]])
    }
    # devices at each kept sitting's address in its own exam
    at: dict[tuple[int, str], int] = {}
    for exam_id in sorted({e for e, _ in kept}):
        wanted = sorted({ip for (e, _), (_, _, ip) in kept.items() if e == exam_id})
        for addresses in batches(wanted):
            counts = await s.execute(
                select(ExamAttempt.ip, func.count(func.distinct(ExamAttempt.device)))
                .where(ExamAttempt.exam_id == exam_id, ExamAttempt.ip.in_(addresses))
                .group_by(ExamAttempt.ip)
            )
            at.update({(exam_id, ip): int(n) for ip, n in counts.all()})
    return [
        EarlierSitting(
            learner_id=lid,
            unit_id=units.get(lid, 0),
            device=device,
            ip=ip,
            address_devices=at.get((exam_id, ip), 1),
            exam_id=exam_id,
            attempt_id=aid,
        )
        for (exam_id, lid), (aid, device, ip) in sorted(kept.items())
    ]
