"""Pure exam policy, table-driven: draw, canonical answers, keys, scoring, clock, thresholds."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from models import ItemKind
from proctor.exams import rules
from proctor.kernel.errors import InvalidInput

ABCD = ("A", "B", "C", "D")


@pytest.mark.parametrize(
    ("kind", "chosen", "expected"),
    [
        (ItemKind.SINGLE, ["C"], "C"),
        (ItemKind.SINGLE, [], ""),
        (ItemKind.MULTIPLE, ["D", "A", "A"], "AD"),
        (ItemKind.TRUE_FALSE, ["F"], "F"),
    ],
)
def test_canonical_answers_are_sorted_option_ids(
    kind: ItemKind, chosen: list[str], expected: str
) -> None:
    options = ("T", "F") if kind is ItemKind.TRUE_FALSE else ABCD
    assert rules.canonical(kind, chosen, options) == expected


@pytest.mark.parametrize(
    ("kind", "chosen", "field_message"),
    [
        (ItemKind.SINGLE, ["A", "B"], "只能选择一个"),
        (ItemKind.TRUE_FALSE, ["T", "F"], "只能选择一个"),
        (ItemKind.SINGLE, ["E"], "不属于该题"),
    ],
)
def test_impossible_answers_are_refused(
    kind: ItemKind, chosen: list[str], field_message: str
) -> None:
    options = ("T", "F") if kind is ItemKind.TRUE_FALSE else ABCD
    with pytest.raises(InvalidInput, match=field_message):
        rules.canonical(kind, chosen, options)


@pytest.mark.parametrize(
    ("kind", "key", "options", "ok"),
    [
        (ItemKind.SINGLE, "B", ABCD, "B"),
        (ItemKind.MULTIPLE, "CA", ABCD, "AC"),
        (ItemKind.MULTIPLE, "A", ABCD, None),  # a multiple choice needs two correct options
        (ItemKind.SINGLE, "", ABCD, None),
        (ItemKind.SINGLE, "A", ("A",), None),  # one option is no question
        (ItemKind.TRUE_FALSE, "T", ("T", "F"), "T"),
        (ItemKind.TRUE_FALSE, "A", ("A", "B"), None),
    ],
)
def test_answer_keys(kind: ItemKind, key: str, options: tuple[str, ...], ok: str | None) -> None:
    if ok is None:
        with pytest.raises(InvalidInput):
            rules.check_key(kind, key, options)
    else:
        assert rules.check_key(kind, key, options) == ok


def test_draw_picks_distinct_items_and_shuffles_choice_options_only() -> None:
    bank = [rules.BankItem(i, ItemKind.SINGLE, ABCD) for i in range(1, 31)] + [
        rules.BankItem(i, ItemKind.TRUE_FALSE, ("T", "F")) for i in range(31, 41)
    ]
    rng = random.Random(7)
    drawn = rules.draw(bank, 20, rng)
    ids = [d["item_id"] for d in drawn]
    assert len(ids) == len(set(ids)) == 20
    for d in drawn:
        order = d["order"]
        assert isinstance(order, list)
        if int(str(d["item_id"])) > 30:
            assert order == ["T", "F"]
        else:
            assert sorted(order) == list(ABCD)
    # Over many draws options are really shuffled and different examinees get different items.
    orders = {tuple(d["order"]) for _ in range(20) for d in rules.draw(bank[:30], 5, rng)}  # type: ignore[arg-type]
    assert len(orders) > 10
    with pytest.raises(InvalidInput, match="不足"):
        rules.draw(bank, 41, rng)


@pytest.mark.parametrize(
    ("answers", "pass_mark", "correct", "percent", "passed"),
    [
        ({1: "A", 2: "AC", 3: "T"}, 60, 3, 100, True),
        ({1: "A", 2: "A", 3: "T"}, 60, 2, 66, True),  # a partly right multiple choice is wrong
        ({1: "A", 2: "A", 3: "T"}, 67, 2, 66, False),  # percent is rounded down, never up
        ({}, 60, 0, 0, False),
        ({1: "B", 2: "CA", 3: "F"}, 1, 0, 0, False),  # not canonical -> not correct
    ],
)
def test_scoring(
    answers: dict[int, str], pass_mark: int, correct: int, percent: int, passed: bool
) -> None:
    result = rules.score({1: "A", 2: "AC", 3: "T"}, answers, pass_mark)
    assert (result.correct, result.total, result.percent, result.passed) == (
        correct,
        3,
        percent,
        passed,
    )


T0 = dt.datetime(2026, 5, 1, 2, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("offset_s", "remaining", "accepts"),
    [(-90, 90, True), (0, 0, True), (rules.GRACE_S, 0, True), (rules.GRACE_S + 1, 0, False)],
)
def test_server_clock(offset_s: int, remaining: int, accepts: bool) -> None:
    now = T0 + dt.timedelta(seconds=offset_s)
    assert rules.remaining_s(T0, now) == remaining
    assert rules.accepts_answers(T0, now) is accepts


@pytest.mark.parametrize(
    ("kinds", "fired"),
    [
        (["hidden"] * 4, []),
        (["hidden"] * 3 + ["blur"] * 2, ["E11"]),
        (["fullscreen_exit"] * 3 + ["paste"], ["E12"]),
        (["copy", "paste", "cut"], ["E13"]),
        (["ip_change"], ["E14"]),
        (["concurrent_study", "visible", "focus", "resume"], ["E15"]),
    ],
)
def test_invigilation_thresholds(kinds: list[str], fired: list[str]) -> None:
    reasons = rules.invigilation_reasons(kinds, rules.Limits())
    assert [r.id for r in reasons] == fired
    assert all(r.value >= r.threshold for r in reasons)


def test_invigilation_thresholds_are_configurable() -> None:
    assert rules.invigilation_reasons(["hidden"] * 2, rules.Limits(focus_losses=2))[0].value == 2


@pytest.mark.parametrize(
    ("offset_s", "status"),
    [(-1, "upcoming"), (0, "open"), (3599, "open"), (3600, "closed"), (7200, "closed")],
)
def test_exam_window(offset_s: int, status: str) -> None:
    closes = T0 + dt.timedelta(hours=1)
    assert rules.window_status(T0, closes, T0 + dt.timedelta(seconds=offset_s)) == status
