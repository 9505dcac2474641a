"""The lognormal response-time model, pre-knowledge and rapid guessing on planted data."""

from __future__ import annotations

import numpy as np
import pytest

from proctor.exams.forensics.analyse import analyse
from proctor.exams.forensics.config import ForensicConfig
from proctor.exams.forensics.data import AttemptRecord, ItemInfo, build_matrix
from proctor.exams.forensics.response_time import LognormalRT, analyse_times, leaked_set_test
from proctor.simulate.exams import simulate_exam


def _lognormal_exam(seed: int, n: int = 300, items: int = 40):
    rng = np.random.default_rng(seed)
    beta = rng.normal(3.5, 0.4, items)
    alpha = rng.uniform(1.5, 2.5, items)
    tau = rng.normal(0.0, 0.3, n)
    tau -= tau.mean()
    logt = beta[None, :] - tau[:, None] + rng.normal(size=(n, items)) / alpha[None, :]
    infos = [ItemInfo(i + 1, 4, "A") for i in range(items)]
    attempts = [
        AttemptRecord(
            attempt_id=j,
            learner_id=j,
            answers={i + 1: "A" for i in range(items)},
            seconds={i + 1: float(np.exp(logt[j, i])) for i in range(items)},
            submitted_at=0.0,
            ip="",
            device="",
            unit_id=0,
        )
        for j in range(n)
    ]
    return build_matrix(infos, attempts), beta, alpha, tau


def test_fit_recovers_simulated_parameters() -> None:
    m, beta, alpha, tau = _lognormal_exam(1)
    model = LognormalRT().fit(m)
    assert np.abs(model.beta_ - beta).max() < 0.15
    assert np.corrcoef(model.alpha_, alpha)[0, 1] > 0.8
    assert abs(model.alpha_.mean() - alpha.mean()) < 0.15
    assert np.corrcoef(model.tau_, tau)[0, 1] > 0.95
    assert np.allclose(model.speed(m), model.tau_, atol=0.05)


def test_person_fit_null_is_close_to_chi_square() -> None:
    m, *_ = _lognormal_exam(2, n=400)
    model = LognormalRT().fit(m)
    lt, df, p = model.person_fit(m)
    assert np.allclose(p, model.score_samples(m))
    # χ²(n − 1) with estimated item parameters: close, a little liberal (α from a MAD)
    assert abs((lt / df).mean() - 1.0) < 0.08
    assert 0.35 < np.median(p) < 0.65
    assert (p < 0.01).mean() < 0.04


def _rates(seed: int) -> tuple[dict[str, tuple[int, int, int]], list[int], frozenset[int]]:
    ex = simulate_exam(seed, examinees=250, rings=0, proxies=0, preknowledge=8, rapid=6)
    m = build_matrix(ex.items, ex.attempts)
    f = analyse_times(m, ForensicConfig())
    out: dict[str, tuple[int, int, int]] = {}
    for label in ("honest", "preknowledge", "rapid_guessing"):
        rows = [k for k, a in enumerate(m.attempt_ids) if ex.labels[a] == label]
        out[label] = (len(rows), int(f.preknowledge[rows].sum()), int(f.rapid[rows].sum()))
    return out, [d["item"] for d in f.compromised], ex.compromised


def test_preknowledge_and_rapid_guessing_are_found_on_planted_data() -> None:
    rates, compromised, truth = _rates(7)
    n, pk, rapid = rates["preknowledge"]
    assert pk == n  # every examinee with the leaked subset
    n, _pk, rapid = rates["rapid_guessing"]
    assert rapid == n
    n, pk, rapid = rates["honest"]
    assert pk <= 1 and rapid == 0
    # the leaked items come back as candidate compromised items
    assert len(set(compromised) & truth) >= 0.8 * len(truth)
    assert len(set(compromised) - truth) <= 1


def test_rapid_guesses_are_fast_and_near_chance() -> None:
    ex = simulate_exam(3, examinees=150, rings=0, proxies=0, preknowledge=0, rapid=4)
    m = build_matrix(ex.items, ex.attempts)
    f = analyse_times(m, ForensicConfig())
    rows = [k for k, a in enumerate(m.attempt_ids) if ex.labels[a] == "rapid_guessing"]
    assert (f.n_rapid[rows] >= 5).all()
    assert (f.rapid_p[rows] < 1e-6).all()  # far more rapid responses than the model allows
    assert (f.rapid_accuracy_p[rows] >= 0.01).all()
    assert (f.rapid_threshold <= 10.0).all()


def _set_case(rows: int, seed: int = 5) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Residuals iid N(0, 1) (the model's null) over 40 items, every answer right; the first
    six examinees were screened, with items 0-9 fast and right for them (the leak)."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(rows, 40))
    z[:6, :10] = -3.0
    correct = np.ones_like(z, dtype=bool)
    fast = z < -1.96
    screened = np.zeros(rows, dtype=bool)
    screened[:6] = True
    return z, correct, fast, screened


def test_the_leaked_set_test_is_exact_for_those_who_did_not_know() -> None:
    z, correct, fast, screened = _set_case(3000)
    p, sets, _ = leaked_set_test(z, correct, fast, screened, ForensicConfig())
    others = p[6:]
    assert all(s == list(range(10)) for s in sets[6:])  # the set the six reveal
    assert 0.035 <= (others < 0.05).mean() <= 0.06
    assert (others < 0.01).mean() <= 0.013
    assert (others < 5e-4).sum() <= 4  # the level it is judged at


@pytest.mark.parametrize(
    ("shift", "flagged"),
    [
        (-1.5, True),  # the leaked items only somewhat fast: few residuals below -1.96
        (0.0, False),
    ],
)
def test_the_leaked_set_test_sees_moderate_speed_on_the_set(shift: float, flagged: bool) -> None:
    z, correct, fast, screened = _set_case(20)
    z[10, :10] = np.linspace(-0.5, 0.5, 10) + shift
    z[10, 10:] = np.linspace(-1.0, 1.0, 30)
    cfg = ForensicConfig()
    p, sets, k = leaked_set_test(z, correct, fast, screened, cfg)
    assert (p[10] < cfg.preknowledge_alpha / 2) == flagged
    assert sets[10] == list(range(10))
    assert k[10] == (10 if flagged else 5)  # right and faster than expected on the set


def test_a_screened_examinee_gets_his_set_from_the_others_only() -> None:
    z, correct, fast, screened = _set_case(20)
    screened[2:6] = False  # two screened: each alone cannot reveal an item to the other
    fast[2:6] = False
    p, sets, _ = leaked_set_test(z, correct, fast, screened, ForensicConfig())
    assert sets[0] == sets[1] == [] and p[0] == p[1] == 1.0
    assert sets[10] == list(range(10))  # both of them together reveal it to the rest


def test_knowing_the_leak_at_a_moderate_pace_is_found_through_the_others() -> None:
    ex = simulate_exam(34, examinees=250, rings=0, proxies=0, preknowledge=8, rapid=6)
    report = analyse(ex.items, ex.attempts, ex.histories)
    flags = {f.attempt_id: f for f in report.flags_of("preknowledge")}
    planted = {a for a, label in ex.labels.items() if label == "preknowledge"}
    honest = {a for a, label in ex.labels.items() if label == "honest"}
    assert planted <= set(flags) and not honest & set(flags)
    alpha = ForensicConfig().preknowledge_alpha
    by_set = [f for f in flags.values() if f.evidence["count_p"] >= alpha / 2]
    assert by_set  # two the count of very fast answers alone misses on this seed
    for f in by_set:
        assert "K05" in {r["id"] for r in f.reasons}
        assert f.evidence["leak_p"] < alpha / 2 and f.p_value < alpha
        assert set(f.evidence["leak_items"]) <= ex.compromised
