"""xAPI statements from verified study and exam results (pure functions over plain data).

Study follows the xAPI Video Profile: each event of :mod:`proctor.xapi.coverage` becomes
one statement about the lesson video, within the learner's registration for that lesson.
Exams: one ``passed`` or ``failed`` statement per scored attempt, with its score. A
standing 考试作弊 finding voids that statement (xAPI's ``voided`` verb, by the academy); an
upheld appeal lifts the finding, and since a voided statement cannot be restored, the
result is stated again under a new id.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from proctor.xapi import vocabulary as v
from proctor.xapi.academy import Academy
from proctor.xapi.coverage import Rules, VideoEvent
from tracker.segments import Segment

Statement = dict[str, Any]
LANGUAGE = "zh-CN"


@dataclass(frozen=True)
class LessonInfo:
    """The lesson a registration is about, and its course."""

    course_id: int
    course_title: str
    lesson_id: int
    lesson_title: str


@dataclass(frozen=True)
class ExamResult:
    """A scored exam attempt (server clock, ms since the epoch)."""

    attempt_id: int
    learner_id: int
    number: int
    course_id: int
    course_title: str
    exam_id: int
    exam_title: str
    started_ms: int
    finished_ms: int
    items: int
    correct: int
    score: int  # percent of items answered correctly
    passed: bool


def seconds_text(ms: int) -> str:
    """Milliseconds as seconds with at most three decimals: 45000 -> "45", 1500 -> "1.5"."""
    whole, frac = divmod(ms, 1000)
    return f"{whole}.{frac:03d}".rstrip("0") if frac else str(whole)


def seconds(ms: int) -> float:
    """Milliseconds as a JSON number of seconds (at most three decimals, exactly)."""
    return ms / 1000


def played_segments(played: tuple[Segment, ...]) -> str:
    """The profile's played-segments form: ``0[.]30[,]45[.]60``."""
    return "[,]".join(f"{seconds_text(s)}[.]{seconds_text(e)}" for s, e in played)


def progress(covered_ms: int, duration_ms: int) -> float:
    """Share of the video verified as watched, 0-1, rounded down to three decimals."""
    if duration_ms <= 0:
        return 0.0
    return min(1000, covered_ms * 1000 // duration_ms) / 1000


def completion_threshold(rules: Rules) -> float | None:
    """The share that completes the lesson, rounded down; None when it is the whole (1)."""
    if rules.duration_ms <= 0:
        return None
    share = min(1000, rules.threshold_ms * 1000 // rules.duration_ms) / 1000
    return None if share >= 1 else share


def duration(ms: int) -> str:
    """An ISO 8601 duration in seconds: ``PT218.5S``."""
    return f"PT{seconds_text(max(0, ms))}S"


def timestamp(ms: int) -> str:
    """A UTC timestamp with milliseconds: ``2026-03-02T08:00:05.250Z``."""
    at = dt.datetime.fromtimestamp(ms / 1000, dt.UTC)
    return at.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _verb(name: str) -> dict[str, Any]:
    return {"id": v.VERBS[name], "display": {"en-US": name}}


def _activity(iri: str, kind: str, title: str) -> dict[str, Any]:
    definition: dict[str, Any] = {"type": kind}
    if title:
        definition["name"] = {LANGUAGE: title}
    return {"objectType": "Activity", "id": iri, "definition": definition}


def video_statement_id(academy: Academy, learner_id: int, lesson_id: int, e: VideoEvent) -> str:
    """The event's statement id: from the session and the evidence the event stands on.

    ``completed`` happens once per registration, so its id names the registration.
    """
    if e.kind == "completed":
        return academy.uuid("video", "completed", learner_id, lesson_id)
    if e.kind in ("initialized", "terminated"):
        return academy.uuid("video", e.session_id, e.kind)
    return academy.uuid("video", e.session_id, e.kind, e.key)


def video_statement(
    academy: Academy, learner_id: int, lesson: LessonInfo, rules: Rules, e: VideoEvent
) -> Statement:
    """The Video Profile statement of one event of a learner's registration for a lesson."""
    extensions: dict[str, Any] = {
        v.SESSION_ID: academy.uuid("video", e.session_id, "initialized"),
        v.LENGTH: seconds(rules.duration_ms),
    }
    threshold = completion_threshold(rules)
    if threshold is not None:
        extensions[v.COMPLETION_THRESHOLD] = threshold
    statement: Statement = {
        "id": video_statement_id(academy, learner_id, lesson.lesson_id, e),
        "actor": academy.actor(learner_id),
        "verb": _verb(e.kind),
        "object": _activity(
            academy.lesson_iri(lesson.course_id, lesson.lesson_id),
            v.VIDEO_TYPE,
            lesson.lesson_title,
        ),
        "context": {
            "registration": academy.uuid("registration", learner_id, lesson.lesson_id),
            "contextActivities": {
                "category": [
                    {
                        "objectType": "Activity",
                        "id": v.VIDEO_PROFILE,
                        "definition": {"type": v.PROFILE_TYPE},
                    }
                ],
                "parent": [
                    _activity(
                        academy.course_iri(lesson.course_id), v.COURSE_TYPE, lesson.course_title
                    )
                ],
            },
            "language": LANGUAGE,
            "extensions": extensions,
        },
        "timestamp": timestamp(e.at_ms),
    }
    result = _video_result(e, rules)
    if result is not None:
        statement["result"] = result
    return statement


def _video_result(e: VideoEvent, rules: Rules) -> dict[str, Any] | None:
    if e.kind == "initialized":
        return None
    if e.kind == "seeked":
        return {
            "extensions": {v.TIME_FROM: seconds(e.time_from_ms), v.TIME_TO: seconds(e.time_to_ms)}
        }
    ext: dict[str, Any] = {v.TIME: seconds(e.time_ms)}
    if e.kind == "played":
        return {"extensions": ext}
    ext[v.PROGRESS] = progress(e.covered_ms, rules.duration_ms)
    ext[v.PLAYED_SEGMENTS] = played_segments(e.played)
    if e.kind == "completed":
        return {"completion": True, "duration": duration(e.spent_ms), "extensions": ext}
    return {"extensions": ext}


def exam_statement_id(academy: Academy, attempt_id: int, *, reinstated: bool = False) -> str:
    """The id of an attempt's result statement (a restated one has its own)."""
    if reinstated:
        return academy.uuid("exam", attempt_id, "result", "reinstated")
    return academy.uuid("exam", attempt_id, "result")


def exam_statement(academy: Academy, r: ExamResult, *, reinstated: bool = False) -> Statement:
    """``passed`` or ``failed`` with the attempt's score, as the server scored it; the
    ``reinstated`` copy restates it after an upheld appeal lifted the voiding finding."""
    course = _activity(academy.course_iri(r.course_id), v.COURSE_TYPE, r.course_title)
    return {
        "id": exam_statement_id(academy, r.attempt_id, reinstated=reinstated),
        "actor": academy.actor(r.learner_id),
        "verb": _verb("passed" if r.passed else "failed"),
        "object": _activity(
            academy.exam_iri(r.course_id, r.exam_id), v.ASSESSMENT_TYPE, r.exam_title
        ),
        "result": {
            "score": {
                "scaled": round(r.score / 100, 4),
                "raw": r.correct,
                "min": 0,
                "max": r.items,
            },
            "success": r.passed,
            "completion": True,
            "duration": duration(r.finished_ms - r.started_ms),
        },
        "context": {
            "registration": academy.uuid("exam-attempt", r.attempt_id),
            "contextActivities": {"parent": [course]},
            "language": LANGUAGE,
        },
        "timestamp": timestamp(r.finished_ms),
    }


def void_statement(academy: Academy, attempt_id: int, decided_ms: int) -> Statement:
    """The academy voids an attempt's result statement: a 考试作弊 finding stands on it."""
    return {
        "id": academy.uuid("exam", attempt_id, "void"),
        "actor": academy.agent(),
        "verb": _verb("voided"),
        "object": {"objectType": "StatementRef", "id": exam_statement_id(academy, attempt_id)},
        "timestamp": timestamp(decided_ms),
    }
