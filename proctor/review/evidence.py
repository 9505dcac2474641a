"""The evidence a reviewer sees on a case, gathered from the raw trace of the case's period.

Everything here is read-only and built from what the server recorded itself (session rows,
heartbeats with its verdicts, challenge events, summaries); nothing is taken on the client's
word. Personal data of other learners appears only when they are within the viewer's authority.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from models import (
    DetectionFlag,
    Heartbeat,
    Learner,
    Lesson,
    OrgUnit,
    ReviewCase,
    SessionEvent,
    SessionSummary,
    StudySession,
)
from proctor.kernel.authz import Actor
from proctor.kernel.calendar import ACADEMY_TZ, period_bounds

MAX_SESSIONS = 400


@dataclass(frozen=True)
class SessionLine:
    """One study session of the case's period."""

    id: str
    start: dt.datetime
    end: dt.datetime
    lesson: str
    device: str
    ip: str
    user_agent: str
    wall_s: float
    verified_s: float
    overlaps: bool


@dataclass(frozen=True)
class TracePoint:
    """A heartbeat on a session's position-vs-time trace."""

    t_s: float
    position_s: float
    rate: float
    paused: bool
    visible: bool
    accepted: bool
    credited_s: float
    codes: str
    seek: bool


@dataclass(frozen=True)
class TraceEvent:
    """A challenge issued or answered (with its latency), or another session event."""

    t_s: float
    kind: str
    latency_s: float | None
    correct: bool | None


@dataclass
class Trace:
    """One session's trace: where the player said it was, when the server heard it."""

    session: SessionLine
    points: list[TracePoint]
    events: list[TraceEvent]


@dataclass(frozen=True)
class Lane:
    """A row of the concurrent-sessions picture."""

    label: str
    own: bool
    start: dt.datetime
    end: dt.datetime


@dataclass(frozen=True)
class DeviceUse:
    """A device and address pair the learner studied from."""

    device: str
    ip: str
    user_agent: str
    sessions: int
    hours: float
    first: dt.datetime
    last: dt.datetime


@dataclass(frozen=True)
class Linked:
    """Another learner who used one of the same devices or addresses."""

    learner_id: int | None  # None when outside the viewer's authority
    name: str
    unit: str
    same_unit: bool
    devices: int
    ips: int
    explanation: str


@dataclass
class Evidence:
    """Everything the case page draws."""

    days: list[tuple[dt.date, float, float]]  # date, verified hours, unverified hours
    heat: list[list[float]]  # [weekday][hour] -> hours studied
    sessions: list[SessionLine]
    trace: Trace | None
    lanes: list[Lane]
    lanes_day: dt.date | None
    devices: list[DeviceUse]
    linked: list[Linked]
    notes: list[str] = field(default_factory=list)
    # Learners exam flags name (copying partners), by id: name and unit within the viewer's
    # authority, else only that they are outside it.
    partners: dict[int, Linked] = field(default_factory=dict)


def local(at: dt.datetime) -> dt.datetime:
    """Academy local time (Beijing)."""
    return at.astimezone(ACADEMY_TZ)


def daily(
    sessions: list[SessionLine], start: dt.date, end: dt.date
) -> list[tuple[dt.date, float, float]]:
    """Verified and unverified study hours per day of the period (by session start)."""
    verified: dict[dt.date, float] = defaultdict(float)
    unverified: dict[dt.date, float] = defaultdict(float)
    for s in sessions:
        day = local(s.start).date()
        verified[day] += s.verified_s / 3600
        unverified[day] += max(0.0, s.wall_s - s.verified_s) / 3600
    out = []
    day = start
    while day <= end:
        out.append((day, round(verified[day], 3), round(unverified[day], 3)))
        day += dt.timedelta(days=1)
    return out


def heat(sessions: list[SessionLine]) -> list[list[float]]:
    """Hours studied by weekday and hour of day, each session spread over the hours it spans."""
    grid = [[0.0] * 24 for _ in range(7)]
    for s in sessions:
        t = local(s.start)
        end = local(s.end)
        while t < end:
            nxt = min(end, t.replace(minute=0, second=0, microsecond=0) + dt.timedelta(hours=1))
            grid[t.weekday()][t.hour] += (nxt - t).total_seconds() / 3600
            t = nxt
    return [[round(v, 3) for v in row] for row in grid]


def mark_overlaps(lines: list[SessionLine]) -> list[SessionLine]:
    """Flag sessions that ran at the same time as another of the same learner."""
    ordered = sorted(lines, key=lambda s: s.start)
    overlapping: set[str] = set()
    latest_end: dt.datetime | None = None
    latest_id = ""
    for s in ordered:
        if latest_end is not None and s.start < latest_end:
            overlapping.update({s.id, latest_id})
        if latest_end is None or s.end > latest_end:
            latest_end, latest_id = s.end, s.id
    return [SessionLine(**{**s.__dict__, "overlaps": s.id in overlapping}) for s in lines]


def trace_points(beats: list[Heartbeat], started: dt.datetime) -> list[TracePoint]:
    """Heartbeats as points, with jumps the elapsed time cannot explain marked as seeks."""
    out = []
    prev: Heartbeat | None = None
    for b in beats:
        seek = False
        if prev is not None:
            moved = (b.position_ms - prev.position_ms) / 1000
            elapsed = (b.received_at - prev.received_at).total_seconds()
            seek = moved < -2 or moved > elapsed * max(1.0, prev.rate) + 5
        out.append(
            TracePoint(
                t_s=round((b.received_at - started).total_seconds(), 1),
                position_s=round(b.position_ms / 1000, 1),
                rate=b.rate,
                paused=b.paused,
                visible=b.visible,
                accepted=b.accepted,
                credited_s=round(b.credited_ms / 1000, 1),
                codes=b.codes,
                seek=seek,
            )
        )
        prev = b
    return out


def explain_link(same_unit: bool, shared_devices: int, shared_ips: int) -> str:
    """The honest explanations a reviewer must weigh before reading a shared device as proxy."""
    if same_unit and shared_devices:
        return "同一单位：可能是办公室共用电脑，轮流使用不构成代学；需看是否同时学习"
    if same_unit:
        return "同一单位：单位出口网络（NAT）下多人共用同一地址属正常情况"
    if shared_devices:
        return "不同单位的学员使用同一设备：需重点核实（家属或他人代学的可能）"
    return "不同单位共用同一网络地址：可能是公共网络或运营商共享地址，证明力弱"


async def _session_lines(
    s: AsyncSession, learner_id: int, lo: dt.datetime, hi: dt.datetime
) -> list[SessionLine]:
    rows = (
        await s.execute(
            select(StudySession, SessionSummary, Lesson.title)
            .outerjoin(SessionSummary, SessionSummary.session_id == StudySession.id)
            .join(Lesson, Lesson.id == StudySession.lesson_id)
            .where(
                StudySession.learner_id == learner_id,
                StudySession.started_at >= lo,
                StudySession.started_at < hi,
            )
            .order_by(StudySession.started_at)
            .limit(MAX_SESSIONS)
        )
    ).all()
    lines = []
    for st, summ, title in rows:
        end = st.ended_at or (summ.ended_at if summ else st.started_at)
        lines.append(
            SessionLine(
                id=st.id,
                start=st.started_at,
                end=end,
                lesson=title,
                device=st.device,
                ip=st.ip,
                user_agent=st.user_agent,
                wall_s=summ.wall_s if summ else (end - st.started_at).total_seconds(),
                verified_s=summ.verified_s if summ else 0.0,
                overlaps=False,
            )
        )
    return mark_overlaps(lines)


def _pick_trace(sessions: list[SessionLine], wanted: str | None) -> SessionLine | None:
    if not sessions:
        return None
    if wanted:
        for line in sessions:
            if line.id == wanted:
                return line
    # The session where the most time went unverified is the one most worth looking at.
    return max(sessions, key=lambda x: (x.wall_s - x.verified_s, x.overlaps, x.wall_s))


async def _trace(s: AsyncSession, line: SessionLine) -> Trace:
    beats = list(
        (
            await s.scalars(
                select(Heartbeat)
                .where(Heartbeat.session_id == line.id)
                .order_by(Heartbeat.seq, Heartbeat.id)
                .limit(2000)
            )
        ).all()
    )
    events = (
        await s.scalars(
            select(SessionEvent)
            .where(SessionEvent.session_id == line.id)
            .order_by(SessionEvent.at, SessionEvent.id)
        )
    ).all()
    return Trace(
        session=line,
        points=trace_points(beats, line.start),
        events=[
            TraceEvent(
                t_s=round((e.at - line.start).total_seconds(), 1),
                kind=e.kind,
                latency_s=(e.detail or {}).get("latency_ms", 0) / 1000
                if "latency_ms" in (e.detail or {})
                else None,
                correct=(e.detail or {}).get("correct"),
            )
            for e in events
        ],
    )


async def _lanes(
    s: AsyncSession,
    actor: Actor,
    case: ReviewCase,
    sessions: list[SessionLine],
) -> tuple[list[Lane], dt.date | None]:
    """The day with the most simultaneous study, the learner's sessions and others' on the
    same devices that day, one lane each."""
    if not sessions:
        return [], None
    by_day: dict[dt.date, list[SessionLine]] = defaultdict(list)
    for line in sessions:
        by_day[local(line.start).date()].append(line)
    day = max(by_day, key=lambda d: (sum(x.overlaps for x in by_day[d]), len(by_day[d])))
    own = sorted(by_day[day], key=lambda x: x.start)
    lo = min(x.start for x in own)
    hi = max(x.end for x in own)
    devices = {x.device for x in own}
    others = (
        await s.execute(
            select(StudySession, Learner.name, Learner.org_path)
            .join(Learner, Learner.id == StudySession.learner_id)
            .where(
                StudySession.device.in_(devices),
                StudySession.learner_id != case.learner_id,
                StudySession.started_at < hi,
                StudySession.started_at >= lo - dt.timedelta(hours=3),
            )
            .order_by(StudySession.started_at)
            .limit(40)
        )
    ).all()
    lanes = [Lane(f"本人 · {x.lesson[:14]}", True, x.start, x.end) for x in own]
    for st, name, path in others:
        end = st.ended_at or st.started_at
        if end <= lo:
            continue
        who = name if actor.covers(path) else "管理范围外学员"
        lanes.append(Lane(f"{who} · 同一设备", False, st.started_at, end))
    return lanes, day


async def _devices_and_links(
    s: AsyncSession, actor: Actor, case: ReviewCase, sessions: list[SessionLine]
) -> tuple[list[DeviceUse], list[Linked]]:
    groups: dict[tuple[str, str], list[SessionLine]] = defaultdict(list)
    for line in sessions:
        groups[(line.device, line.ip)].append(line)
    devices = [
        DeviceUse(
            device=d,
            ip=ip,
            user_agent=lines[0].user_agent,
            sessions=len(lines),
            hours=round(sum(x.wall_s for x in lines) / 3600, 2),
            first=min(x.start for x in lines),
            last=max(x.end for x in lines),
        )
        for (d, ip), lines in sorted(groups.items(), key=lambda kv: -len(kv[1]))
    ]
    own_devices = {x.device for x in sessions}
    own_ips = {x.ip for x in sessions}
    if not sessions:
        return devices, []
    lo, hi = period_bounds(case.period_start, case.period_end)
    learner = await s.get_one(Learner, case.learner_id)
    rows = (
        await s.execute(
            select(
                StudySession.learner_id,
                StudySession.device,
                StudySession.ip,
                Learner.name,
                Learner.org_path,
                Learner.unit_id,
                OrgUnit.name,
            )
            .join(Learner, Learner.id == StudySession.learner_id)
            .join(OrgUnit, OrgUnit.id == Learner.unit_id)
            .where(
                StudySession.learner_id != case.learner_id,
                StudySession.started_at >= lo,
                StudySession.started_at < hi,
                or_(StudySession.device.in_(own_devices), StudySession.ip.in_(own_ips)),
            )
            .distinct()
            .limit(2000)
        )
    ).all()
    shared: dict[int, dict[str, set[str]]] = defaultdict(lambda: {"d": set(), "i": set()})
    info: dict[int, tuple[str, str, int, str]] = {}
    for lid, device, ip, name, path, unit_id, unit in rows:
        if device in own_devices:
            shared[lid]["d"].add(device)
        if ip in own_ips:
            shared[lid]["i"].add(ip)
        info[lid] = (name, path, unit_id, unit)
    linked = []
    for lid, sets in sorted(shared.items(), key=lambda kv: (-len(kv[1]["d"]), -len(kv[1]["i"]))):
        name, path, unit_id, unit = info[lid]
        visible = actor.covers(path)
        same_unit = unit_id == learner.unit_id
        linked.append(
            Linked(
                learner_id=lid if visible else None,
                name=name if visible else "管理范围外学员",
                unit=unit if visible else "—",
                same_unit=same_unit,
                devices=len(sets["d"]),
                ips=len(sets["i"]),
                explanation=explain_link(same_unit, len(sets["d"]), len(sets["i"])),
            )
        )
    return devices, linked[:30]


def _partner_ids(evidence: dict[str, object]) -> set[int]:
    ids = set()
    if isinstance(evidence.get("partner_learner_id"), int):
        ids.add(int(evidence["partner_learner_id"]))  # type: ignore[call-overload]
    for other in evidence.get("other_partners") or []:  # type: ignore[attr-defined]
        if isinstance(other, dict) and isinstance(other.get("learner_id"), int):
            ids.add(other["learner_id"])
    return ids


async def _partners(s: AsyncSession, actor: Actor, case: ReviewCase) -> dict[int, Linked]:
    evidence = await s.scalars(
        select(DetectionFlag.evidence).where(
            DetectionFlag.case_id == case.id, DetectionFlag.source == "exam"
        )
    )
    ids = set().union(*(_partner_ids(e) for e in evidence if isinstance(e, dict)))
    if not ids:
        return {}
    own_unit = await s.scalar(select(Learner.unit_id).where(Learner.id == case.learner_id))
    rows = await s.execute(
        select(Learner.id, Learner.name, Learner.org_path, Learner.unit_id, OrgUnit.name)
        .join(OrgUnit, OrgUnit.id == Learner.unit_id)
        .where(Learner.id.in_(ids))
    )
    out = {}
    for lid, name, path, unit_id, unit in rows:
        visible = actor.covers(path)
        out[lid] = Linked(
            learner_id=lid if visible else None,
            name=name if visible else "管理范围外学员",
            unit=unit if visible else "—",
            same_unit=unit_id == own_unit,
            devices=0,
            ips=0,
            explanation="",
        )
    return out


async def gather(
    s: AsyncSession, actor: Actor, case: ReviewCase, trace_session: str | None = None
) -> Evidence:
    """All the pictures' data for a case (scope of the case already checked)."""
    lo, hi = period_bounds(case.period_start, case.period_end)
    sessions = await _session_lines(s, case.learner_id, lo, hi)
    picked = _pick_trace(sessions, trace_session)
    lanes, lanes_day = await _lanes(s, actor, case, sessions)
    devices, linked = await _devices_and_links(s, actor, case, sessions)
    notes = []
    if not sessions:
        notes.append("本期没有学习会话记录（考试类标记的证据见下方）")
    if len(sessions) >= MAX_SESSIONS:
        notes.append(f"会话较多，仅显示前 {MAX_SESSIONS} 个")
    return Evidence(
        days=daily(sessions, case.period_start, case.period_end),
        heat=heat(sessions),
        sessions=sessions,
        trace=await _trace(s, picked) if picked else None,
        lanes=lanes,
        lanes_day=lanes_day,
        devices=devices,
        linked=linked,
        notes=notes,
        partners=await _partners(s, actor, case),
    )
