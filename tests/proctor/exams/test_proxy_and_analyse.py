"""The proxy rule (table-driven) and the shape of analyse()'s report."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from proctor.exams.forensics.analyse import ExamFlag, analyse, risk_from_p
from proctor.exams.forensics.config import ForensicConfig
from proctor.exams.forensics.data import AttemptRecord, StudyHistory
from proctor.exams.forensics.proxy import check_proxy
from proctor.simulate.exams import simulate_exam

HIST = StudyHistory(1, frozenset({"pc-1", "phone-1"}), frozenset({"10.1.0.1", "home-1"}), 12.0)
LITTLE = StudyHistory(1, frozenset({"pc-1"}), frozenset({"10.1.0.1"}), 0.3)
EMPTY = StudyHistory(1, frozenset(), frozenset(), 0.0)


def att(device: str, ip: str) -> AttemptRecord:
    return AttemptRecord(1, 1, {}, {}, 0.0, ip, device, 1)


@pytest.mark.parametrize(
    ("device", "ip", "history", "score", "reasons", "band"),
    [
        ("pc-1", "10.1.0.1", HIST, 0.95, set(), None),  # own device, own office
        ("new-pc", "10.1.0.1", HIST, 0.95, set(), None),  # new device, known address
        ("pc-1", "hotel", HIST, 0.95, set(), None),  # own laptop on the road
        ("new-pc", "hotel", HIST, 0.60, {"P01"}, "low"),  # both unseen: a traveller too
        # unstudied, high score at his own desk: an expert who skipped the videos too
        ("pc-1", "10.1.0.1", LITTLE, 0.90, {"P02"}, "low"),
        ("pc-1", "10.1.0.1", LITTLE, 0.70, set(), None),  # unstudied, ordinary score
        ("new-pc", "hotel", LITTLE, 0.90, {"P01", "P02"}, "medium"),  # the proxy pattern
        # at the learner's office on a machine he never studied on
        ("new-pc", "10.1.0.1", LITTLE, 0.90, {"P02", "P07"}, "medium"),
        ("new-pc", "10.1.0.1", LITTLE, 0.70, set(), None),  # a new PC alone is nothing
        ("new-pc", "hotel", EMPTY, 0.50, set(), None),  # no history: no context to compare
        ("new-pc", "hotel", EMPTY, 0.90, {"P02"}, "low"),
        ("new-pc", "hotel", None, 0.90, {"P02"}, "low"),  # missing history counts as 0 h
    ],
)
def test_proxy_rule_table(
    device: str,
    ip: str,
    history: StudyHistory | None,
    score: float,
    reasons: set[str],
    band: str | None,
) -> None:
    cfg = ForensicConfig()
    res = check_proxy(att(device, ip), history, score, cfg)
    assert {r["id"] for r in res.reasons} == reasons
    assert res.flagged == bool(reasons)
    if band:
        assert cfg.band(res.risk) == band
    assert res.evidence["device_used"] == device and res.evidence["score"] == score
    for r in res.reasons:
        assert set(r) == {"id", "text", "value", "threshold"}


def course(verified_h: float, course_h: float | None) -> StudyHistory:
    return replace(LITTLE, verified_hours=verified_h, course_hours=course_h)


@pytest.mark.parametrize(
    ("history", "reasons", "below_h"),
    [
        # a 45-minute course studied whole is 0.75 h: he did study it
        (course(0.75, 0.75), set(), 0.1875),
        (course(0.5, 0.75), set(), 0.1875),
        (course(0.1, 0.75), {"P02", "P07"}, 0.1875),  # a sixth of it
        # a long course: "almost nothing" stays one hour
        (course(0.9, 12.0), {"P02", "P07"}, 1.0),
        (course(1.5, 12.0), set(), 1.0),
        (course(0.9, None), {"P02", "P07"}, 1.0),  # course length unknown: one hour
        (course(0.0, 0.0), set(), 0.0),  # a course with no lectures: nothing to study
    ],
)
def test_little_study_is_judged_against_the_course_length(
    history: StudyHistory, reasons: set[str], below_h: float
) -> None:
    res = check_proxy(att("new-pc", "10.1.0.1"), history, 0.95, ForensicConfig())
    assert {r["id"] for r in res.reasons} == reasons
    assert res.evidence["unstudied_below_hours"] == pytest.approx(below_h, abs=1e-3)
    for r in res.reasons:
        if r["id"] == "P02":
            assert "分钟" in r["text"] and r["threshold"] == pytest.approx(below_h, abs=1e-3)


PAST = ((20, 40), (22, 40))  # about half right before
FLAGGED = StudyHistory(1, HIST.devices, HIST.ips, 12.0, past_scores=PAST, study_flags=2)
STEADY = StudyHistory(
    1, HIST.devices, HIST.ips, 12.0, past_scores=((36, 40),), past_speeds=(0.1, 0.2)
)


@pytest.mark.parametrize(
    ("device", "ip", "history", "score", "speed", "reasons", "band"),
    [
        # a traveller: new device and address, score and pace like his own past
        ("new-pc", "hotel", STEADY, 0.90, 0.15, {"P01"}, "low"),
        # the same context with a score far above his past: someone else sat it
        ("new-pc", "hotel", FLAGGED, 0.95, None, {"P01", "P03", "P04"}, "high"),
        ("new-pc", "hotel", replace(FLAGGED, study_flags=0), 0.95, None, {"P01", "P03"}, "medium"),
        # study-side evidence joins the new context
        ("new-pc", "hotel", replace(STEADY, study_flags=1), 0.90, 0.15, {"P01", "P04"}, "medium"),
        # a pace unlike his own past exams joins it
        ("new-pc", "hotel", STEADY, 0.90, 1.0, {"P01", "P05"}, "medium"),
        # little verified study joins the new context even without a high score
        ("new-pc", "hotel", LITTLE, 0.60, None, {"P01", "P06"}, "medium"),
        # corroboration alone never flags: a learner who improved at his own desk
        ("pc-1", "10.1.0.1", FLAGGED, 0.95, 1.0, set(), None),
    ],
)
def test_proxy_needs_joined_evidence_beyond_a_new_context(
    device: str,
    ip: str,
    history: StudyHistory,
    score: float,
    speed: float | None,
    reasons: set[str],
    band: str | None,
) -> None:
    cfg = ForensicConfig()
    res = check_proxy(att(device, ip), history, score, cfg, items=40, speed=speed)
    assert {r["id"] for r in res.reasons} == reasons
    assert res.flagged == bool(reasons)
    if band:
        assert cfg.band(res.risk) == band
    for r in res.reasons:
        assert r["text"] and set(r) == {"id", "text", "value", "threshold"}


def test_missing_history_can_be_ignored() -> None:
    cfg = ForensicConfig(missing_history_is_zero_hours=False)
    assert not check_proxy(att("x", "y"), None, 0.95, cfg).flagged


def test_risk_from_p_is_monotone_and_bounded() -> None:
    assert risk_from_p(1e-3, 1e-4) == 0.0
    assert risk_from_p(1e-4 * 0.999, 1e-4) == pytest.approx(0.5, abs=1e-3)
    assert risk_from_p(1e-7, 1e-4) == pytest.approx(0.75)
    assert risk_from_p(1e-300, 1e-4) == 1.0


def test_analyse_report_shapes() -> None:
    ex = simulate_exam(
        21, examinees=160, rings=3, copy_fractions=(0.7,), proxies=3, preknowledge=3, rapid=2
    )
    report = analyse(ex.items, ex.attempts, ex.histories)
    assert report.n_attempts == 160 and report.n_items == 40
    assert report.copying["mode"] == "all_pairs"
    assert report.copying["pairs_tested"] == 160 * 159 // 2
    assert report.copying["type1_error"] == ForensicConfig().copy_alpha
    kinds = {f.kind for f in report.flags}
    assert {"copying", "preknowledge", "rapid_guessing", "proxy"} <= kinds
    for f in report.flags:
        assert isinstance(f, ExamFlag)
        assert 0.0 <= f.risk <= 1.0 and f.band in {"high", "medium", "low"}
        assert f.reasons and all(set(r) == {"id", "text", "value", "threshold"} for r in f.reasons)
        if f.kind in ("copying", "preknowledge"):
            assert f.p_value is not None and f.type1_error is not None
            assert f.p_value < f.type1_error
    # everything a review page needs is plain JSON
    json.dumps(report.to_dict(), ensure_ascii=False, allow_nan=False)
    copy = report.flags_of("copying")[0].evidence
    assert {"partner_learner_id", "matches", "omega", "identical_wrong", "p_value"} <= set(copy)
    row = copy["items"][0]
    assert set(row) >= {"item", "copier_answer", "source_answer", "key", "match", "p_match"}
    times = report.flags_of("preknowledge")[0].evidence["items"]
    assert set(times[0]) >= {"item", "seconds", "expected_seconds", "z", "correct"}
    proxy = report.flags_of("proxy")[0].evidence
    assert {"devices_seen", "ips_seen", "device_used", "ip_used", "verified_hours", "score"} <= set(
        proxy
    )
    # planted cheaters of each kind are among the flags
    flagged = {(f.kind, f.attempt_id) for f in report.flags}
    for aid, label in ex.labels.items():
        if label in ("proxy", "preknowledge", "rapid_guessing"):
            assert (label, aid) in flagged


def test_analyse_handles_tiny_exams_and_history_lists() -> None:
    ex = simulate_exam(
        1,
        examinees=2,
        rings=0,
        proxies=0,
        preknowledge=0,
        rapid=0,
        friends=0,
        strong=0,
        slow=0,
        new_device=0,
        travellers=0,
    )
    report = analyse(ex.items, ex.attempts, list(ex.histories.values()))
    assert report.copying["mode"] == "skipped" and report.notes
