"""The window tests: what the copier entered after the partner submitted, and in which order."""

from __future__ import annotations

import dataclasses
import itertools
import json

import numpy as np
import pytest

from proctor.exams.forensics.analyse import analyse, together_risk
from proctor.exams.forensics.config import ForensicConfig
from proctor.exams.forensics.data import AttemptRecord, ItemInfo, build_matrix
from proctor.exams.forensics.omega import detect_copying, together_levels
from proctor.exams.forensics.order import concordance_tail, mahonian, window_tests
from proctor.simulate.exams import COPY_MODES, simulate_exam

QUIET = {"proxies": 0, "preknowledge": 0, "rapid": 0}


def _concordant(perm: tuple[int, ...]) -> int:
    return sum(perm[i] < perm[j] for i, j in itertools.combinations(range(len(perm)), 2))


@pytest.mark.parametrize("n", [0, 1, 2, 3, 4, 5, 6])
def test_mahonian_law_matches_enumeration(n: int) -> None:
    counts = np.bincount(
        [_concordant(p) for p in itertools.permutations(range(n))], minlength=n * (n - 1) // 2 + 1
    )
    np.testing.assert_allclose(mahonian(n), counts / counts.sum())


@pytest.mark.parametrize(
    ("sizes", "observed"),
    [((4,), 6), ((4,), 4), ((3, 3), 5), ((5, 2), 7), ((2, 2), 0), ((3,), 99)],
)
def test_concordance_tail_matches_enumeration_over_strata(
    sizes: tuple[int, ...], observed: int
) -> None:
    totals = [
        sum(_concordant(p) for p in perms)
        for perms in itertools.product(*(itertools.permutations(range(n)) for n in sizes))
    ]
    expect = float(np.mean(np.array(totals) >= observed))
    assert concordance_tail(sizes, observed) == pytest.approx(expect)


def _pair(
    copier_saves: dict[int, float], first: float
) -> tuple[list[ItemInfo], list[AttemptRecord]]:
    """A source who saved items 0..11 a minute apart and submitted at 1000; the copier
    answered the same (all wrong: one stratum), his own item 12 at ``first``."""
    items = [ItemInfo(i, 4, "A") for i in range(13)]
    src_ans = dict.fromkeys(range(12), "B") | {12: "C"}
    src = AttemptRecord(1, 1, src_ans, {}, 1000.0, "ip", "d1", 1, {i: 60.0 * i for i in range(13)})
    cop_ans = dict.fromkeys(range(12), "B") | {12: "D"}
    cop = AttemptRecord(2, 2, cop_ans, {}, 2000.0, "ip", "d2", 1, copier_saves | {12: first})
    return items, [src, cop]


def _tests(items: list[ItemInfo], atts: list[AttemptRecord]) -> tuple[float, float, bool]:
    m = build_matrix(items, atts)
    sub = np.array([a.submitted_at for a in atts])
    p_rev = np.where(m.presented[0] & m.presented[1], 0.5, 0.0)[None, :]
    st = window_tests(m, sub, p_rev, np.array([1]), np.array([0]))
    return float(st.p_order[0]), float(st.p_answers[0]), bool(st.available[0])


@pytest.mark.parametrize(
    ("case", "order_p", "available"),
    [
        # entered after the source submitted, in the source's order: 1/12!
        ("in_order", 1.0 / 479001600, True),
        # the same items, reversed: no evidence from the order
        ("reversed", 1.0, True),
        # the copier started after the source had submitted: not tested at all
        ("late_start", 1.0, False),
    ],
)
def test_window_order_cases(case: str, order_p: float, available: bool) -> None:
    if case == "in_order":
        saves, first = {i: 1100.0 + 5 * i for i in range(12)}, 500.0
    elif case == "reversed":
        saves, first = {i: 1100.0 + 5 * (11 - i) for i in range(12)}, 500.0
    else:
        saves, first = {i: 1100.0 + 5 * i for i in range(12)}, 1050.0
    p_order, p_answers, avail = _tests(*_pair(saves, first))
    assert avail is available
    assert p_order == pytest.approx(order_p, rel=1e-9)
    if available:  # twelve matches at 0.5 each: the window answer test sees them either way
        assert p_answers < 1e-3


def test_window_tests_are_calibrated_on_a_scheduled_sitting() -> None:
    ex = simulate_exam(14, examinees=160, rings=0, sitting_s=600.0, defer=0.4, **QUIET)
    m = build_matrix(ex.items, ex.attempts)
    res = detect_copying(m, ex.attempts, ForensicConfig())
    assert res.order_used and res.p_window is not None
    tested = res.p_window < 1.0
    # most pairs sit together: someone saves after the other left (p < 1: past the screen)
    assert tested.sum() > 1500
    for alpha in (0.05, 0.01, 0.001):
        assert (res.p_window < alpha).mean() <= alpha
    assert (res.p_values < 1e-4).mean() <= 1e-3


def test_ordered_burst_copiers_are_found_and_shuffled_ones_leave_the_order_test_blind() -> None:
    ex = simulate_exam(
        8,
        examinees=160,
        rings=12,
        copy_fractions=(0.3, 0.4),
        copy_modes=("burst_ordered", "burst"),
        **QUIET,
    )
    m = build_matrix(ex.items, ex.attempts)
    res = detect_copying(m, ex.attempts, ForensicConfig())
    assert res.p_window is not None
    idx = {aid: k for k, aid in enumerate(m.attempt_ids)}
    lookup = {(int(x), int(y)): q for q, (x, y) in enumerate(res.pairs)}
    by_mode: dict[str, list[float]] = {}
    for c, s, _ in ex.copy_pairs:
        x, y = sorted((idx[c], idx[s]))
        by_mode.setdefault(ex.copy_modes[c], []).append(float(res.p_window[lookup[(x, y)]]))
    ordered, shuffled = np.array(by_mode["burst_ordered"]), np.array(by_mode["burst"])
    assert len(ordered) >= 5 and len(shuffled) >= 5
    # a slow copier still working on his own items after the source left dilutes the order;
    # one whose ring-mates in the unit copied the same source shares its wrong answers with
    # them, which the unit floor of the option model reads as the unit's (1.9e-2 here)
    assert (ordered < 1e-5).mean() >= 0.8 and (ordered < 1e-2).mean() >= 0.9
    assert np.median(shuffled) > 1e-5
    oriented = {(m.attempt_ids[f.copier], m.attempt_ids[f.source]) for f in res.findings}
    found = []
    for c, s, _ in ex.copy_pairs:
        x, y = sorted((idx[c], idx[s]))
        if ex.copy_modes[c] == "burst_ordered" and res.p_values[lookup[(x, y)]] < 1e-4:
            found.append((c, s))
    assert len(found) >= 0.8 * len(ordered)
    assert all(pair in oriented for pair in found)


def test_analyse_states_the_window_evidence_in_chinese() -> None:
    ex = simulate_exam(
        21, examinees=120, rings=4, copy_fractions=(0.5,), copy_modes=("burst_ordered",), **QUIET
    )
    report = analyse(ex.items, ex.attempts, ex.histories)
    json.dumps(report.to_dict(), ensure_ascii=False, allow_nan=False)
    assert report.copying["order"]["used"]
    assert report.copying["timing"]["combination"].startswith("4 ×")
    copiers = {c for c, _, _ in ex.copy_pairs}
    flags = [f for f in report.flags_of("copying") if f.attempt_id in copiers]
    assert flags
    for f in flags:
        assert f.evidence["role"] == "copier" and f.evidence["classification"] == "copying"
        c07 = next(r for r in f.reasons if r["id"] == "C07")
        assert "填入顺序" in c07["text"] and c07["value"] == f.evidence["concordant"]
        assert f.evidence["order_p"] < 1e-3 and f.evidence["window_items"] >= 1


def test_simulator_modes_cycle_through_every_share() -> None:
    ex = simulate_exam(3, examinees=200, rings=20, copy_fractions=(0.2, 0.3), copy_modes=COPY_MODES)
    seen = {(ex.copy_modes[c], f) for c, _, f in ex.copy_pairs}
    assert {m for m, _ in seen} == set(COPY_MODES)
    for c, s, _ in ex.copy_pairs:
        if ex.copy_modes[c] != "concurrent":  # every copied answer entered after the source left
            cop = next(a for a in ex.attempts if a.attempt_id == c)
            src = next(a for a in ex.attempts if a.attempt_id == s)
            assert max(cop.saved_at.values()) > src.submitted_at


def test_ring_copiers_flagged_for_preknowledge_are_classified_as_copying() -> None:
    ex = simulate_exam(
        31,
        examinees=150,
        rings=20,
        copy_fractions=(0.5,),
        copy_modes=("concurrent",),
        proxies=0,
        rapid=0,
        preknowledge=3,
    )
    report = analyse(ex.items, ex.attempts, ex.histories)
    pre = report.flags_of("preknowledge")
    copying = {f.attempt_id: f for f in report.flags_of("copying")}
    moved = [f for f in pre if f.evidence["classification"] == "copying"]
    assert (
        moved and sorted(f.attempt_id for f in moved) == report.preknowledge["explained_by_copying"]
    )
    for f in moved:
        assert ex.labels[f.attempt_id] == "copier"
        assert any(r["id"] == "K04" for r in f.reasons)
        cf = copying[f.attempt_id]
        assert cf.evidence["role"] == "copier" and cf.evidence["explains_preknowledge"]
        assert f.risk < cf.risk  # the copying flag leads the case
    # those who really knew the leaked items stay pre-knowledge
    planted = [f for f in pre if ex.labels[f.attempt_id] == "preknowledge"]
    assert planted and all(f.evidence["classification"] == "preknowledge" for f in planted)


def _moved(att: AttemptRecord, k: int) -> AttemptRecord:
    """The same attempt from another address and unit: the pair no longer sat together."""
    return dataclasses.replace(att, ip=f"elsewhere-{k}", unit_id=900_000 + k)


def test_shuffling_copiers_who_sat_with_the_source_are_found_by_their_window_answers() -> None:
    ex = simulate_exam(
        5,
        examinees=200,
        rings=20,
        copy_fractions=(0.3, 0.4, 0.5),
        copy_modes=("burst_jitter",),
        **QUIET,
    )
    m = build_matrix(ex.items, ex.attempts)
    cfg = ForensicConfig()
    res = detect_copying(m, ex.attempts, cfg)
    off = detect_copying(m, ex.attempts, dataclasses.replace(cfg, together_alpha=0.0))
    assert res.p_together is not None and res.together_alpha == cfg.together_alpha
    idx = {aid: k for k, aid in enumerate(m.attempt_ids)}
    lookup = {(int(x), int(y)): q for q, (x, y) in enumerate(res.pairs)}
    rows = [lookup[tuple(sorted((idx[c], idx[s])))] for c, s, _ in ex.copy_pairs]
    with_term = sum(res.p_values[q] < res.threshold for q in rows)
    without = sum(off.p_values[q] < off.threshold for q in rows)
    # the shuffled, paced copier leaves the order test nothing; his window answers remain
    assert with_term >= without + 6 and with_term >= 0.5 * len(rows)
    # and no pair outside the rings is added
    others = np.ones(len(res.pairs), dtype=bool)
    others[rows] = False
    assert (res.p_values[others] < res.threshold).sum() == (
        off.p_values[others] < off.threshold
    ).sum()
    # the same answers and times from another address and unit: the budget is not widened
    copiers = {idx[c] for c, _, _ in ex.copy_pairs}
    apart = [_moved(att, k) if k in copiers else att for k, att in enumerate(ex.attempts)]
    moved = detect_copying(build_matrix(ex.items, apart), apart, cfg)
    assert moved.p_together is not None
    assert all(moved.p_together[q] == 1.0 for q in rows)
    # (moved to another unit, a copier's answers no longer meet the unit floor, so compare
    # with the same moved sitting judged without the term)
    moved_off = detect_copying(
        build_matrix(ex.items, apart), apart, dataclasses.replace(cfg, together_alpha=0.0)
    )
    assert sum(moved.p_values[q] < moved.threshold for q in rows) == sum(
        moved_off.p_values[q] < moved_off.threshold for q in rows
    )
    # a reviewer reads why, in Chinese, with the level that applied
    report = analyse(ex.items, ex.attempts, ex.histories)
    together = report.copying["together"]
    assert together == {
        "used": True,
        "alpha": cfg.together_alpha,
        "partners": cfg.together_partners,
        "pairs": res.together_pairs,
        "below_level": res.together_below,
    }
    # the cohort a reviewer reads C08 against: the rings among the pairs that sat together
    assert together["pairs"] > together["below_level"] > 0
    c08 = [
        r
        for f in report.flags_of("copying")
        if f.evidence["role"] == "copier"
        for r in f.reasons
        if r["id"] == "C08"
    ]
    assert c08 and all("同一网络地址或同一单位" in r["text"] for r in c08)
    cohort = f"本场同场同地的 {together['pairs']} 对考生中共 {together['below_level']} 对"
    assert all(cohort in r["text"] for r in c08)
    assert all(r["value"] < cfg.together_alpha for r in c08)
    # shown because they sat together, ranked by the strength of the evidence itself
    only = [
        f
        for f in report.flags_of("copying")
        if f.evidence["together_only"] and f.evidence["role"] == "copier"
    ]
    assert only
    for f in only:
        weak = f.evidence["together_p"] >= cfg.copy_alpha
        assert (f.band == "low") == weak and f.risk >= 0.25
        c03 = next(r for r in f.reasons if r["id"] == "C03")
        assert "未低于判定阈值" in c03["text"] and "C08" in c03["text"]


@pytest.mark.parametrize(
    ("p", "risk"),
    [(5e-4, 0.25), (1e-3, 0.25), (3e-5, 0.49), (1e-4, 0.3873), (3e-6, 0.5833)],
)
def test_a_flag_shown_for_sitting_together_is_ranked_by_its_own_evidence(
    p: float, risk: float
) -> None:
    assert together_risk(p, 3e-5, 5e-4) == pytest.approx(risk, abs=1e-4)


def test_the_window_answers_of_honest_pairs_who_sat_together_stay_at_their_level() -> None:
    ex = simulate_exam(16, examinees=160, rings=0, sitting_s=600.0, defer=0.4, friends=30, **QUIET)
    m = build_matrix(ex.items, ex.attempts)
    res = detect_copying(m, ex.attempts, ForensicConfig())
    assert res.p_together is not None
    unit = np.array([att.unit_id for att in ex.attempts])
    ip = np.array([att.ip for att in ex.attempts])
    a, b = res.pairs[:, 0], res.pairs[:, 1]
    together = ((unit[a] == unit[b]) & (unit[a] != 0)) | ((ip[a] == ip[b]) & (ip[a] != ""))
    assert together.sum() > 500  # colleagues of one unit and friends, sitting at once
    assert (res.p_together[~together] == 1.0).all()
    for alpha in (0.05, 0.01, 0.001):
        assert (res.p_together[together] < alpha).mean() <= alpha


@pytest.mark.parametrize(("unit", "level"), [(5, 5e-4), (16, 5e-4), (31, 5e-4 * 15 / 30)])
def test_a_large_unit_shares_the_wider_level(unit: int, level: float) -> None:
    """Everyone of one unit sat together: each examinee's budget stays within the cap."""
    a, b = np.triu_indices(unit, k=1)
    a, b = a.astype(np.int64), b.astype(np.int64)
    together = np.ones(len(a), dtype=bool)
    cfg = ForensicConfig()
    got = together_levels(together, a, b, unit, cfg)
    assert got == pytest.approx(np.full(len(a), level))
    per_examinee = np.bincount(a, weights=got, minlength=unit) + np.bincount(
        b, weights=got, minlength=unit
    )
    assert per_examinee.max() <= cfg.together_alpha * cfg.together_partners + 1e-12
    # pairs that did not sit together get no wider level
    assert (together_levels(~together, a, b, unit, cfg) == 0).all()
