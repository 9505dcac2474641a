"""Answer copying: the exact null, planted copiers, identical wrong answers."""

from __future__ import annotations

import itertools
from dataclasses import replace

import numpy as np
import pytest
from scipy import stats

from proctor.exams.forensics.config import ForensicConfig
from proctor.exams.forensics.data import (
    AttemptRecord,
    ItemInfo,
    build_matrix,
    poisson_binomial_sf,
)
from proctor.exams.forensics.omega import (
    AnswerCopyingIndex,
    candidate_pairs,
    detect_copying,
    weighted_sf,
)
from proctor.exams.forensics.response_time import LognormalRT
from proctor.simulate.exams import simulate_exam


def _brute_sf(p: list[float], h: int) -> float:
    total = 0.0
    for xs in itertools.product([0, 1], repeat=len(p)):
        if sum(xs) >= h:
            total += float(np.prod([q if x else 1 - q for q, x in zip(p, xs, strict=True)]))
    return total


@pytest.mark.parametrize(
    ("p", "h"),
    [
        ([0.1, 0.5, 0.9], 0),
        ([0.1, 0.5, 0.9], 2),
        ([0.2, 0.3, 0.4, 0.7, 0.05], 3),
        ([0.2, 0.3, 0.4, 0.7, 0.05], 5),
        ([0.2, 0.3, 0.4, 0.7, 0.05], 6),
        ([0.0, 0.3, 0.0, 0.6, 0.0], 1),  # trials that do not count
        ([0.0, 0.3, 0.0, 0.6, 0.0], 3),
    ],
)
def test_poisson_binomial_matches_enumeration(p: list[float], h: int) -> None:
    got = poisson_binomial_sf(np.array([p]), np.array([h]))[0]
    assert got == pytest.approx(_brute_sf(p, h), abs=1e-12)


def test_weighted_tail_matches_enumeration() -> None:
    p = np.array([[0.2, 0.0, 0.5, 0.7], [0.1, 0.4, 0.0, 0.0]])
    units = np.array([[3, 0, 1, 2], [5, 2, 0, 0]])
    for observed in range(0, 9):
        got = weighted_sf(p, units, np.array([observed, observed]))
        for r in range(2):
            want = 0.0
            for xs in itertools.product([0, 1], repeat=4):
                if sum(u * x for u, x in zip(units[r], xs, strict=True)) >= observed:
                    want += float(
                        np.prod([q if x else 1 - q for q, x in zip(p[r], xs, strict=True)])
                    )
            assert got[r] == pytest.approx(want, abs=1e-12)


def test_poisson_binomial_reduces_to_binomial() -> None:
    p = np.full((3, 40), 0.3)
    h = np.array([5, 12, 25])
    assert np.allclose(poisson_binomial_sf(p, h), stats.binom.sf(h - 1, 40, 0.3))


def _att(aid: int, answers: dict[int, str]) -> AttemptRecord:
    return AttemptRecord(
        attempt_id=aid,
        learner_id=aid,
        answers=answers,
        seconds={i: 30.0 for i in answers},
        submitted_at=0.0,
        ip=f"ip{aid}",
        device=f"d{aid}",
        unit_id=aid,
    )


def test_identical_wrong_answers_are_counted() -> None:
    items = [ItemInfo(i, 4, "A") for i in range(1, 7)]
    rng = np.random.default_rng(0)
    crowd = [
        _att(100 + k, {i: str(rng.choice(list("AABCD"))) for i in range(1, 7)}) for k in range(30)
    ]
    source = _att(1, {1: "A", 2: "B", 3: "C", 4: "D", 5: "", 6: "B"})
    copier = _att(2, {1: "A", 2: "B", 3: "C", 4: "B", 5: "B", 6: "B"})
    m = build_matrix(items, [source, copier, *crowd])
    model = AnswerCopyingIndex().fit(m)
    d = model.directional(np.array([1]), np.array([0]))  # copier (row 1) from source (row 0)
    # item 5: the source omitted -> not a common item; wrong common items: 2, 3, 4, 6
    assert d.n_common[0] == 5
    assert d.matches[0] == 4  # items 1, 2, 3, 6
    assert d.wrong_common[0] == 4
    assert d.identical_wrong[0] == 3  # items 2, 3, 6
    table = model.pair_table(1, 0)
    assert [r["match"] for r in table] == [True, True, True, False, False, True]
    assert table[4]["p_match"] is None and table[0]["key"] == "A"


def test_null_pvalues_control_type1_error_on_honest_pairs() -> None:
    pair_p, count_p = [], []
    for seed in range(2):
        ex = simulate_exam(seed, examinees=200, rings=0, proxies=0, preknowledge=0, rapid=0)
        m = build_matrix(ex.items, ex.attempts)
        a, b = np.triu_indices(m.n_attempts, 1)
        z = LognormalRT().fit(m).residuals(m) if seed == 0 else None  # with and without times
        model = AnswerCopyingIndex().fit(m, time_z=z)
        pair_p.append(model.score_samples(np.column_stack([a, b])))
        count_p.append(model.directional(a, b).p_count)
    p, pc = np.concatenate(pair_p), np.concatenate(count_p)
    assert len(p) == 2 * 200 * 199 // 2
    for alpha in (0.05, 0.01, 0.001):
        # valid p-values: the rejection rate of honest pairs stays at or under alpha
        assert (p < alpha).mean() <= alpha
        assert (pc < alpha).mean() <= 1.1 * alpha
    # the exact count p-value is near-uniform, conservative (discrete; c and s left out)
    for q in (0.1, 0.3, 0.5):
        assert 0.3 * q <= (pc < q).mean() <= 1.05 * q


def test_planted_copier_is_found_with_the_right_partner() -> None:
    ex = simulate_exam(
        11, examinees=200, rings=4, copy_fractions=(0.8,), proxies=0, preknowledge=0, rapid=0
    )
    m = build_matrix(ex.items, ex.attempts)
    res = detect_copying(m, ex.attempts, ForensicConfig(copy_alpha=1e-3))
    found = {(m.attempt_ids[f.copier], m.attempt_ids[f.source]) for f in res.findings}
    unordered = {frozenset(p) for p in found}
    by_id = {a.attempt_id: a for a in ex.attempts}
    keys = {it.item_id: it.key for it in ex.items}
    informative = 0
    for c, s, _ in ex.copy_pairs:
        wrong = sum(ans not in ("", keys[i]) for i, ans in by_id[s].answers.items())
        if wrong >= 8:  # a source with wrong answers to share: the copy must be found
            informative += 1
            assert (c, s) in found  # oriented: the copier, then the right partner
    assert informative >= 3
    assert res.mode == "all_pairs" and res.type1_error == 1e-3
    planted = {frozenset((c, s)) for c, s, _ in ex.copy_pairs}
    # honest pairs flagged stay within the Type I error (19,900 pairs tested at 0.001)
    assert len(unordered - planted) <= 3 * 0.001 * 19900


def test_large_exams_test_candidate_pairs() -> None:
    ex = simulate_exam(5, examinees=150, rings=2, proxies=0, preknowledge=0, rapid=0)
    m = build_matrix(ex.items, ex.attempts)
    cfg = ForensicConfig(all_pairs_max=100, random_pairs=500)
    mode, pairs, reasons = candidate_pairs(m, ex.attempts, cfg)
    assert mode == "candidates"
    assert set(reasons) == {
        "same_ip",
        "same_unit",
        "close_submission",
        "random",
        "close_window_s",
        "groups_left_to_window",
    }
    assert reasons["close_window_s"] == cfg.submit_window_s  # a small exam fits the budget
    assert len(pairs) < 150 * 149 // 2
    assert (pairs[:, 0] < pairs[:, 1]).all()
    idx = {a: k for k, a in enumerate(m.attempt_ids)}
    tested = {tuple(p) for p in pairs.tolist()}
    for c, s, _ in ex.copy_pairs:  # rings share an address: always candidates
        assert tuple(sorted((idx[c], idx[s]))) in tested


def test_a_sitting_of_thousands_is_held_to_the_pair_budget_nearest_first() -> None:
    """Everyone hands in within minutes: the close-submission pairs would grow with the
    square of the sitting; the window narrows until they fit, and the linked pairs stay."""
    ex = simulate_exam(
        6, examinees=1200, rings=20, proxies=0, preknowledge=0, rapid=0, sitting_s=600.0
    )
    m = build_matrix(ex.items, ex.attempts)
    wide = ForensicConfig(all_pairs_max=100, random_pairs=500, max_candidate_pairs=10**9)
    held = replace(wide, max_candidate_pairs=60_000)
    _, all_close, r_wide = candidate_pairs(m, ex.attempts, wide)
    _, pairs, r_held = candidate_pairs(m, ex.attempts, held)
    assert r_wide["close_window_s"] == 300 and len(all_close) > 100_000
    assert r_held["close_window_s"] < 300 and len(pairs) <= 60_000
    assert r_held["same_ip"] == r_wide["same_ip"]  # the linked pairs are all kept
    t = np.array([a.submitted_at for a in ex.attempts])
    kept = {tuple(p) for p in pairs.tolist()}
    # every pair that handed in within the narrowed window is tested: the nearest first
    window = r_held["close_window_s"]
    near = {tuple(p) for p in all_close.tolist() if abs(t[p[0]] - t[p[1]]) <= window}
    assert near <= kept
    idx = {a: k for k, a in enumerate(m.attempt_ids)}
    for c, s_, _ in ex.copy_pairs:  # rings share an address: still candidates
        assert tuple(sorted((idx[c], idx[s_]))) in kept


def test_a_large_office_behind_one_address_pairs_those_who_handed_in_together() -> None:
    ex = simulate_exam(7, examinees=300, rings=0, proxies=0, preknowledge=0, rapid=0)
    attempts = [replace(a, ip="10.0.0.1") for a in ex.attempts]  # one NAT for everyone
    m = build_matrix(ex.items, attempts)
    cfg = ForensicConfig(all_pairs_max=100, random_pairs=0)
    _, pairs, reasons = candidate_pairs(m, attempts, cfg)
    t = np.array([a.submitted_at for a in attempts])
    within = int((np.abs(np.subtract.outer(t, t)) <= cfg.submit_window_s).sum() - 300) // 2
    assert reasons["same_ip"] == 0 and reasons["groups_left_to_window"] == 1
    assert reasons["close_submission"] == within  # who also handed in together
    # with the unit pairs (units of about twenty), still far from every pair
    assert len(pairs) <= within + reasons["same_unit"] < 300 * 299 // 20


def test_the_budget_holds_however_many_offices() -> None:
    """Offices of a hundred each: every pair of an office, smallest first, up to half the
    budget; the offices left over keep those who handed in together."""
    ex = simulate_exam(9, examinees=1000, rings=0, proxies=0, preknowledge=0, rapid=0)
    attempts = [replace(a, unit_id=1 + k % 10) for k, a in enumerate(ex.attempts)]
    m = build_matrix(ex.items, attempts)
    cfg = ForensicConfig(all_pairs_max=200, random_pairs=100, max_candidate_pairs=60_000)
    _, pairs, reasons = candidate_pairs(m, attempts, cfg)
    assert len(pairs) <= 60_000
    # whole offices only, as many as fit in half the budget after the small address groups
    offices = reasons["same_unit"] // (100 * 99 // 2)
    assert reasons["same_unit"] == offices * (100 * 99 // 2) and 4 <= offices <= 6
    assert reasons["same_unit"] + reasons["same_ip"] <= 30_000
    assert reasons["groups_left_to_window"] == 10 - offices


def test_bank_subsets_and_candidate_mode_through_detect_copying() -> None:
    ex = simulate_exam(
        8, examinees=240, bank_size=60, rings=4, copy_fractions=(0.9,), proxies=0, rapid=0
    )
    m = build_matrix(ex.items, ex.attempts)
    res = detect_copying(m, ex.attempts, ForensicConfig(all_pairs_max=200, random_pairs=2000))
    assert res.mode == "candidates" and len(res.pairs) == len(res.p_values)
    flagged = {frozenset((m.attempt_ids[f.copier], m.attempt_ids[f.source])) for f in res.findings}
    assert len(flagged & {frozenset((c, s)) for c, s, _ in ex.copy_pairs}) >= 1
    bonf = detect_copying(m, ex.attempts, ForensicConfig(copy_correction="bonferroni"))
    assert bonf.threshold < 1e-6 and bonf.type1_error == bonf.threshold
    with pytest.raises(ValueError, match="copy_correction"):
        detect_copying(m, ex.attempts, ForensicConfig(copy_correction="holm"))


def _unit_exam(believers: int) -> tuple[object, np.ndarray]:
    """Sixty examinees on 30 items; a pair of unit 7 shares the wrong option "D" on items
    1-6 (rare in the crowd); ``believers`` of their six colleagues chose "D" there too."""
    items = [ItemInfo(i, 4, "A") for i in range(1, 31)]
    rng = np.random.default_rng(3)

    def answers() -> dict[int, str]:
        return {i: str(rng.choice(list("AAAABBC"))) for i in range(1, 31)}

    crowd = [_att(100 + k, answers()) for k in range(52)]
    unit = []
    for k in range(6):
        own = answers()
        if k < believers:
            own.update({i: "D" for i in range(1, 7)})
        unit.append(replace(_att(200 + k, own), unit_id=7))
    pair = []
    for aid in (1, 2):
        own = answers()
        own.update({i: "D" for i in range(1, 7)})
        pair.append(replace(_att(aid, own), unit_id=7))
    attempts = [*pair, *unit, *crowd]
    return build_matrix(items, attempts), np.array([[0, 1]])


@pytest.mark.parametrize(
    ("believers", "group_prior", "evidence"),
    [
        (0, 0.0, True),  # nobody else chose it: six identical rare wrong answers
        (0, 5.0, True),  # the unit's other members do not explain it: still evidence
        (2, 0.0, True),  # without groups the unit's shared belief reads as copying
        (2, 5.0, False),  # with them: two of six colleagues believe it too
        (4, 5.0, False),
    ],
)
def test_a_wrong_option_the_unit_shares_is_not_read_as_copied(
    believers: int, group_prior: float, evidence: bool
) -> None:
    m, pair = _unit_exam(believers)
    groups = np.array([7 if 200 <= a < 300 or a in (1, 2) else -1 for a in m.attempt_ids])
    model = AnswerCopyingIndex(group_prior=group_prior).fit(m, groups=groups)
    p = float(model.score_samples(pair)[0])
    assert (p < ForensicConfig().copy_alpha) is evidence, p


def test_the_unit_floor_only_raises_null_probabilities() -> None:
    """Never below the ability model's probability: every test stays as conservative."""
    ex = simulate_exam(5, examinees=150, rings=3, colleagues=3, misconceptions=0.2)
    m = build_matrix(ex.items, ex.attempts)
    units = np.array([a.unit_id for a in ex.attempts])
    a, b = np.triu_indices(m.n_attempts, 1)
    plain, _ = AnswerCopyingIndex().fit(m).match_probabilities(a, b)
    floored, _ = AnswerCopyingIndex(group_prior=5.0).fit(m, groups=units).match_probabilities(a, b)
    assert (floored >= plain - 1e-12).all() and (floored > plain + 1e-3).any()


def test_colleagues_who_share_misconceptions_are_not_flagged_for_copying() -> None:
    """Honest colleagues of one unit behind one address, who learned the same wrong answers on
    a fifth of the items: the default configuration leaves them alone; the rings are found."""
    flagged_colleagues = planted_found = 0
    for seed in (21, 22):
        ex = simulate_exam(
            seed, examinees=200, rings=4, copy_fractions=(0.5,), colleagues=4, misconceptions=0.2
        )
        m = build_matrix(ex.items, ex.attempts)
        res = detect_copying(m, ex.attempts, ForensicConfig())
        found = {
            frozenset((m.attempt_ids[f.copier], m.attempt_ids[f.source])) for f in res.findings
        }
        colleagues = {a for a, v in ex.variants.items() if v == "colleague"}
        flagged_colleagues += sum(1 for pair in found if pair <= colleagues)
        planted_found += sum(frozenset((c, s)) in found for c, s, _ in ex.copy_pairs)
    assert flagged_colleagues == 0
    assert planted_found >= 16  # of 20 (18 found on these seeds, with and without groups)
