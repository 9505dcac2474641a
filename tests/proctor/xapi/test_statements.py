"""Statement building: formats, required fields, the Video Profile's IRIs, ids, privacy.

Pure functions over plain data, table-driven; every built statement is also checked with
Ralph's strict xAPI models.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from typing import Any

import pytest

from proctor.xapi import vocabulary as v
from proctor.xapi.academy import Academy
from proctor.xapi.coverage import Rules, TraceBeat, TraceSession, VideoEvent, replay
from proctor.xapi.statements import (
    ExamResult,
    LessonInfo,
    completion_threshold,
    duration,
    exam_statement,
    played_segments,
    progress,
    seconds_text,
    timestamp,
    video_statement,
)
from tests.proctor.xapi.ralph_models import validate

ACADEMY = Academy.create(
    "https://www.hngbwlxy.gov.cn", "https://www.hngbwlxy.gov.cn/xapi", "k" * 32
)
LESSON = LessonInfo(course_id=31, course_title="党章党规学习", lesson_id=517, lesson_title="第一讲")
LEARNER = 4242
RULES = Rules(duration_ms=60_000, max_rate=1.0, tail_ms=5_000)
# Completion at 45 s of 60, so that 0-30 and 45-60 complete the video.
SHORT = Rules(60_000, max_rate=1.0, tail_ms=15_000)
HEX32 = re.compile(r"^[0-9a-f]{32}$")


@pytest.mark.parametrize(
    ("ms", "text"),
    [
        (0, "0"),
        (30_000, "30"),
        (1_500, "1.5"),
        (12_345, "12.345"),
        (10, "0.01"),
        (60_001, "60.001"),
    ],
)
def test_seconds_text(ms: int, text: str) -> None:
    assert seconds_text(ms) == text


@pytest.mark.parametrize(
    ("played", "text"),
    [
        ((), ""),
        (((0, 30_000),), "0[.]30"),
        (((0, 30_000), (45_000, 60_000)), "0[.]30[,]45[.]60"),
        (((0, 12_000), (14_000, 21_000), (18_000, 30_500)), "0[.]12[,]14[.]21[,]18[.]30.5"),
    ],
)
def test_played_segments_format(played: tuple[tuple[int, int], ...], text: str) -> None:
    assert played_segments(played) == text


@pytest.mark.parametrize(
    ("covered", "length", "expected"),
    [
        (0, 60_000, 0.0),
        (45_000, 60_000, 0.75),
        (59_999, 60_000, 0.999),
        (60_000, 60_000, 1.0),
        (1, 3, 0.333),
        (2, 3, 0.666),
        (5, 0, 0.0),
    ],
)
def test_progress_rounds_down_to_three_decimals(covered: int, length: int, expected: float) -> None:
    assert progress(covered, length) == expected


@pytest.mark.parametrize(
    ("rules", "expected"),
    [
        (Rules(60_000, tail_ms=5_000), 0.916),
        (Rules(1_500_000, tail_ms=5_000), 0.996),
        (Rules(60_000, tail_ms=0), None),  # the whole video: the profile's default, omitted
        (Rules(3_000, tail_ms=5_000), 0.0),
    ],
)
def test_completion_threshold(rules: Rules, expected: float | None) -> None:
    assert completion_threshold(rules) == expected


def test_duration_and_timestamp_formats() -> None:
    assert duration(218_000) == "PT218S"
    assert duration(218_500) == "PT218.5S"
    assert duration(-5) == "PT0S"
    at = dt.datetime(2026, 3, 2, 8, 0, 5, 250_000, tzinfo=dt.UTC)
    assert timestamp(int(at.timestamp() * 1000)) == "2026-03-02T08:00:05.250Z"


def _events() -> list[VideoEvent]:
    beats = [
        TraceBeat("s1", "e1", 1, 1_790_000_001_000, 0, 1_000, ("first_beat",)),
        TraceBeat("s1", "e2", 2, 1_790_000_011_000, 10_000, 10_000, ()),
        TraceBeat("s1", "e3", 3, 1_790_000_021_000, 20_000, 10_000, ()),
        TraceBeat("s1", "e4", 4, 1_790_000_031_000, 30_000, 10_000, ()),
        TraceBeat("s1", "e5", 5, 1_790_000_032_000, 45_000, 1_000, ("seek_forward",)),
        TraceBeat("s1", "e6", 6, 1_790_000_042_000, 55_000, 10_000, ()),
        TraceBeat("s1", "e7", 7, 1_790_000_047_000, 60_000, 5_000, ()),
        TraceBeat("s1", "e8", 8, 1_790_000_048_000, 60_000, 1_000, ("paused",)),
    ]
    session = TraceSession("s1", 1_790_000_000_000, 1_790_000_050_000)
    return replay([session], beats, SHORT)


def _by_kind(statements: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {s["verb"]["display"]["en-US"]: s for s in statements}


def test_every_video_statement_has_the_required_fields_and_passes_ralph() -> None:
    rules = SHORT
    statements = [video_statement(ACADEMY, LEARNER, LESSON, rules, e) for e in _events()]
    assert [s["verb"]["display"]["en-US"] for s in statements] == [
        "initialized", "played", "paused", "seeked", "played", "completed", "paused", "terminated",
    ]  # fmt: skip
    initialized_id = statements[0]["id"]
    for s in statements:
        validate(s)
        assert uuid.UUID(s["id"]).version == 5
        assert s["verb"]["id"] == v.VERBS[s["verb"]["display"]["en-US"]]
        assert s["actor"] == {
            "objectType": "Agent",
            "account": {
                "homePage": "https://www.hngbwlxy.gov.cn",
                "name": ACADEMY.pseudonym(LEARNER),
            },
        }
        assert s["object"]["id"] == "https://www.hngbwlxy.gov.cn/xapi/courses/31/lessons/517"
        assert s["object"]["definition"]["type"] == v.VIDEO_TYPE
        ctx = s["context"]
        assert uuid.UUID(ctx["registration"]) == uuid.UUID(
            ACADEMY.uuid("registration", LEARNER, 517)
        )
        assert ctx["contextActivities"]["category"][0]["id"] == "https://w3id.org/xapi/video"
        assert (
            ctx["contextActivities"]["parent"][0]["id"]
            == "https://www.hngbwlxy.gov.cn/xapi/courses/31"
        )
        # The profile: session-id is the initialized statement's id; length in seconds.
        assert ctx["extensions"][v.SESSION_ID] == initialized_id
        assert ctx["extensions"][v.LENGTH] == 60.0
        assert ctx["extensions"][v.COMPLETION_THRESHOLD] == 0.75
        assert s["timestamp"].endswith("Z")


@pytest.mark.parametrize(
    ("kind", "result"),
    [
        ("initialized", None),
        ("played", {"extensions": {v.TIME: 45.0}}),  # the last one: after the seek
        (
            "seeked",
            {"extensions": {v.TIME_FROM: 30.0, v.TIME_TO: 45.0}},
        ),
        (
            "completed",
            {
                "completion": True,
                "duration": "PT45S",
                "extensions": {
                    v.TIME: 60.0,
                    v.PROGRESS: 0.75,
                    v.PLAYED_SEGMENTS: "0[.]30[,]45[.]60",
                },
            },
        ),
        (
            "terminated",
            {"extensions": {v.TIME: 60.0, v.PROGRESS: 0.75, v.PLAYED_SEGMENTS: "0[.]30[,]45[.]60"}},
        ),
    ],
)
def test_result_per_verb(kind: str, result: dict[str, Any] | None) -> None:
    rules = SHORT
    statements = _by_kind([video_statement(ACADEMY, LEARNER, LESSON, rules, e) for e in _events()])
    assert statements[kind].get("result") == result


def test_first_paused_carries_the_registration_so_far() -> None:
    rules = SHORT
    paused = [
        video_statement(ACADEMY, LEARNER, LESSON, rules, e) for e in _events() if e.kind == "paused"
    ]
    assert [p["result"]["extensions"][v.PLAYED_SEGMENTS] for p in paused] == [
        "0[.]30",
        "0[.]30[,]45[.]60",
    ]
    assert [p["result"]["extensions"][v.PROGRESS] for p in paused] == [0.5, 0.75]
    assert [p["result"]["extensions"][v.TIME] for p in paused] == [30.0, 60.0]


def test_ids_are_stable_and_distinct() -> None:
    rules = SHORT
    first = [video_statement(ACADEMY, LEARNER, LESSON, rules, e)["id"] for e in _events()]
    again = [video_statement(ACADEMY, LEARNER, LESSON, rules, e)["id"] for e in _events()]
    assert first == again
    assert len(set(first)) == len(first)
    other = Academy.create("https://other.example.org", "https://other.example.org/xapi", "k" * 32)
    assert not set(first) & {
        video_statement(other, LEARNER, LESSON, rules, e)["id"] for e in _events()
    }


def test_actor_is_a_keyed_pseudonym_without_personal_data() -> None:
    name = ACADEMY.pseudonym(LEARNER)
    assert HEX32.match(name)
    assert name != ACADEMY.pseudonym(LEARNER + 1)
    # Without the secret the name cannot be recomputed from the learner id.
    other_secret = Academy.create(ACADEMY.homepage, ACADEMY.activities, "another-secret-0123456789")
    assert other_secret.pseudonym(LEARNER) != name
    statement = video_statement(ACADEMY, LEARNER, LESSON, RULES, _events()[0])
    assert str(LEARNER) not in json.dumps(statement)
    assert set(statement["actor"]) == {"objectType", "account"}


@pytest.mark.parametrize(
    ("passed", "score", "correct", "verb", "scaled"),
    [(True, 80, 8, "passed", 0.8), (False, 50, 5, "failed", 0.5), (False, 0, 0, "failed", 0.0)],
)
def test_exam_statement(passed: bool, score: int, correct: int, verb: str, scaled: float) -> None:
    result = ExamResult(
        attempt_id=77,
        learner_id=LEARNER,
        number=1,
        course_id=31,
        course_title="党章党规学习",
        exam_id=9,
        exam_title="党章党规知识测试",
        started_ms=1_790_000_000_000,
        finished_ms=1_790_000_754_500,
        items=10,
        correct=correct,
        score=score,
        passed=passed,
    )
    s = exam_statement(ACADEMY, result)
    validate(s)
    assert s["verb"] == {"id": v.VERBS[verb], "display": {"en-US": verb}}
    assert s["object"]["id"] == "https://www.hngbwlxy.gov.cn/xapi/courses/31/exams/9"
    assert s["object"]["definition"]["type"] == "http://adlnet.gov/expapi/activities/assessment"
    assert s["result"] == {
        "score": {"scaled": scaled, "raw": correct, "min": 0, "max": 10},
        "success": passed,
        "completion": True,
        "duration": "PT754.5S",
    }
    assert s["context"]["contextActivities"]["parent"][0]["id"].endswith("/courses/31")
    assert s["timestamp"] == timestamp(1_790_000_754_500)
    assert s["id"] == exam_statement(ACADEMY, result)["id"]
    assert s["actor"]["account"]["name"] == ACADEMY.pseudonym(LEARNER)
