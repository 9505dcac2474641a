"""The pure parts of review: the state machine, priorities, and the evidence's arithmetic."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace
from typing import Any

import pytest

from models import CaseState as S
from models import Finding
from proctor.kernel.errors import Conflict
from proctor.review.evidence import SessionLine, daily, explain_link, heat, mark_overlaps
from proctor.review.intake import category_of, kind_of, priority
from proctor.review.states import MOVES, check_move, finding_after, label_of

LEGAL = [
    (S.NEW, S.IN_REVIEW),
    (S.IN_REVIEW, S.CONFIRMED_PROXY),
    (S.IN_REVIEW, S.CONFIRMED_FRAUD),
    (S.IN_REVIEW, S.CONFIRMED_EXAM_CHEATING),
    (S.IN_REVIEW, S.NO_MISCONDUCT),
    (S.IN_REVIEW, S.INSUFFICIENT_EVIDENCE),
    (S.IN_REVIEW, S.NEW),
    (S.CONFIRMED_PROXY, S.APPEALED),
    (S.CONFIRMED_FRAUD, S.APPEALED),
    (S.CONFIRMED_EXAM_CHEATING, S.APPEALED),
    (S.APPEALED, S.APPEAL_UPHELD),
    (S.APPEALED, S.APPEAL_REJECTED),
]


@pytest.mark.parametrize(("frm", "to"), LEGAL)
def test_legal_moves_pass(frm: S, to: S) -> None:
    check_move(frm, to)


@pytest.mark.parametrize(
    ("frm", "to"),
    [(f, t) for f in S for t in S if (f, t) not in LEGAL],
)
def test_every_other_move_is_refused_with_the_states_named(frm: S, to: S) -> None:
    with pytest.raises(Conflict) as err:
        check_move(frm, to)
    assert "不能变更为" in err.value.message


def test_no_misconduct_and_final_states_have_no_way_out() -> None:
    for state in (S.NO_MISCONDUCT, S.INSUFFICIENT_EVIDENCE, S.APPEAL_UPHELD, S.APPEAL_REJECTED):
        assert MOVES[state] == frozenset()


@pytest.mark.parametrize(
    ("state", "before", "after"),
    [
        (S.CONFIRMED_PROXY, None, Finding.PROXY_STUDY),
        (S.CONFIRMED_FRAUD, None, Finding.CREDIT_FRAUD),
        (S.CONFIRMED_EXAM_CHEATING, None, Finding.EXAM_CHEATING),
        (S.APPEALED, Finding.CREDIT_FRAUD, Finding.CREDIT_FRAUD),
        (S.APPEAL_REJECTED, Finding.PROXY_STUDY, Finding.PROXY_STUDY),
        (S.APPEAL_UPHELD, Finding.PROXY_STUDY, None),
        (S.NO_MISCONDUCT, None, None),
        (S.INSUFFICIENT_EVIDENCE, None, None),
        (S.IN_REVIEW, None, None),
    ],
)
def test_the_finding_stands_until_an_appeal_is_upheld(
    state: S, before: Finding | None, after: Finding | None
) -> None:
    assert finding_after(state, before) == after


@pytest.mark.parametrize(
    ("state", "label"),
    [
        (S.CONFIRMED_PROXY, 1),
        (S.CONFIRMED_FRAUD, 1),
        (S.APPEAL_REJECTED, 1),
        (S.NO_MISCONDUCT, 0),
        (S.APPEAL_UPHELD, 0),
        (S.INSUFFICIENT_EVIDENCE, None),
        (S.NEW, None),
        (S.APPEALED, None),
    ],
)
def test_decisions_as_training_labels(state: S, label: int | None) -> None:
    assert label_of(state) == label


def test_priority_orders_band_before_risk() -> None:
    assert priority(0.1, "high") > priority(0.99, "medium") > priority(0.99, "low")
    assert priority(0.9, "high") > priority(0.8, "high")


def _flag(**kw: Any) -> Any:
    base = {"kind": "behaviour", "rules": [], "source": "study"}
    return SimpleNamespace(**{**base, **kw})


@pytest.mark.parametrize(
    ("flags", "category", "kind"),
    [
        ([_flag(rules=[{"id": "R08", "kind": "behaviour"}])], "behaviour", "proxy"),
        ([_flag(rules=[{"id": "R02", "kind": "behaviour"}])], "behaviour", "fraud"),
        ([_flag(rules=[{"id": "R05", "kind": "behaviour"}, {"id": "R08"}])], "behaviour", "proxy"),
        (
            [_flag(kind="technical", rules=[{"id": "T01", "kind": "technical"}])],
            "technical",
            "technical",
        ),
        ([_flag(source="exam", kind="copying", rules=[{"id": "E01"}])], "behaviour", "exam"),
        ([_flag()], "behaviour", "anomaly"),
    ],
)
def test_category_and_kind_of_flags(flags: list[Any], category: str, kind: str) -> None:
    assert category_of(flags[0]) == category
    assert kind_of(flags) == kind


def _line(sid: str, start: dt.datetime, minutes: float, verified: float) -> SessionLine:
    return SessionLine(
        id=sid,
        start=start,
        end=start + dt.timedelta(minutes=minutes),
        lesson="课",
        device="d",
        ip="i",
        user_agent="",
        wall_s=minutes * 60,
        verified_s=verified * 60,
        overlaps=False,
    )


T0 = dt.datetime(2026, 3, 2, 1, 30, tzinfo=dt.UTC)  # 09:30 Beijing, a Monday


def test_daily_hours_split_verified_and_unverified_per_beijing_day() -> None:
    lines = [_line("a", T0, 60, 45), _line("b", T0 + dt.timedelta(hours=16), 30, 0)]  # 01:30 Tue
    days = daily(lines, dt.date(2026, 3, 2), dt.date(2026, 3, 4))
    assert days == [
        (dt.date(2026, 3, 2), 0.75, 0.25),
        (dt.date(2026, 3, 3), 0.0, 0.5),
        (dt.date(2026, 3, 4), 0.0, 0.0),
    ]


def test_heat_map_spreads_a_session_over_the_hours_it_spans() -> None:
    grid = heat([_line("a", T0, 60, 60)])
    assert grid[0][9] == 0.5 and grid[0][10] == 0.5
    assert sum(map(sum, grid)) == 1.0


def test_overlapping_sessions_are_marked_and_sequential_ones_are_not() -> None:
    lines = [
        _line("a", T0, 60, 60),
        _line("b", T0 + dt.timedelta(minutes=30), 60, 60),
        _line("c", T0 + dt.timedelta(hours=3), 10, 10),
    ]
    marked = {x.id: x.overlaps for x in mark_overlaps(lines)}
    assert marked == {"a": True, "b": True, "c": False}


@pytest.mark.parametrize(
    ("same_unit", "devices", "ips", "words"),
    [
        (True, 1, 0, "共用电脑"),
        (True, 0, 1, "NAT"),
        (False, 1, 0, "重点核实"),
        (False, 0, 1, "证明力弱"),
    ],
)
def test_links_come_with_the_honest_explanation(
    same_unit: bool, devices: int, ips: int, words: str
) -> None:
    assert words in explain_link(same_unit, devices, ips)


def test_fairness_rates_per_group() -> None:
    from proctor.review.fairness import age_band, rates

    people = {
        1: ("M", dt.date(1990, 1, 1), "科员"),
        2: ("F", dt.date(1960, 1, 1), "科员"),
        3: ("F", dt.date(1962, 1, 1), "县处级副职"),
        4: ("F", dt.date(1985, 1, 1), "科员"),
    }
    outcomes: dict[int, list[int | None]] = {2: [0], 3: [1], 4: [None]}
    table = {(g.dimension, g.group): g for g in rates(people, {1, 2, 3, 4}, outcomes, 2026)}
    women = table[("性别", "女")]
    assert (women.active, women.flagged, women.confirmed, women.dismissed) == (3, 3, 1, 1)
    assert women.confirm_rate == 0.5 and women.flag_rate == 1.0
    assert table[("性别", "男")].flag_rate == 0.0 and table[("性别", "男")].confirm_rate is None
    assert table[("年龄", "55岁及以上")].active == 2
    assert age_band(dt.date(1991, 6, 1), 2026) == "35-44岁"
    assert age_band(dt.date(1992, 6, 1), 2026) == "35岁以下"
