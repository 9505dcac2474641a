"""Simulated exams with ground truth: honest examinees, look-alikes and exam fraud.

Items follow a 3PL model for the key with item-specific distractor shares (a nominal
model for the wrong options); response times follow van der Linden's lognormal model
(log t = β_i − τ_j + ε/α_i). Archetypes:

* ``copier`` / ``source``: answer-sharing rings – a source and 1–3 copiers who copy a
  fraction of the source's answers (identical, wrong ones included) quickly; the ring
  sits in one unit behind one address and submits within minutes;
* ``proxy``: someone else sits the exam – a strong examinee on a device (and usually an
  address) the learner never studied from, for a learner with little verified study;
* ``preknowledge``: a compromised subset of the bank answered correctly and very fast;
* ``rapid_guessing``: disengaged examinees who click through part of the exam.

Honest variants (hard negatives): ``regular``, ``friend`` (same unit and address,
submitted close together, independent answers), ``strong``, ``slow`` (careful),
``new_device`` (a new device at a known address) and ``traveller`` (new device and address).
Deterministic by ``random_state``; the labels never enter the analysis.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np

from proctor.exams.forensics.data import AttemptRecord, ItemInfo, StudyHistory

HONEST = "honest"
EXAM_ARCHETYPES = ("copier", "source", "proxy", "preknowledge", "rapid_guessing")
HONEST_VARIANTS = ("regular", "friend", "strong", "slow", "new_device", "traveller")
LETTERS = "ABCDEFGH"


@dataclass(frozen=True)
class SimItem:
    """An item's true parameters."""

    info: ItemInfo
    kind: str  # single | multiple | truefalse
    a: float
    b: float
    c: float
    beta: float  # time intensity (log seconds)
    alpha: float  # time discrimination
    wrong: tuple[str, ...]
    wrong_p: tuple[float, ...]


@dataclass
class SimExam:
    """One simulated exam sitting and its ground truth."""

    items: list[ItemInfo]
    attempts: list[AttemptRecord]
    histories: dict[int, StudyHistory]
    labels: dict[int, str]  # attempt_id -> "honest" or an archetype
    variants: dict[int, str]  # attempt_id -> honest variant (honest attempts only)
    copy_pairs: list[tuple[int, int, float]]  # (copier attempt, source attempt, share copied)
    compromised: frozenset[int]  # item ids of the leaked subset
    theta: dict[int, float]
    tau: dict[int, float]
    sim_items: list[SimItem] = field(default_factory=list)


def make_bank(
    rng: np.random.Generator, n_items: int, start_id: int = 1, difficulty: float = -0.3
) -> list[SimItem]:
    """A bank: ~70 % single choice (4 options), 15 % multiple choice, 15 % true/false."""
    bank: list[SimItem] = []
    for k in range(n_items):
        u = rng.random()
        a = float(np.exp(rng.normal(0.0, 0.3)))
        b = float(rng.normal(difficulty, 1.0))
        if u < 0.70:
            kind, n_opt = "single", 4
            key = LETTERS[int(rng.integers(0, n_opt))]
            wrong = tuple(x for x in LETTERS[:n_opt] if x != key)
            c, beta = 0.2, rng.normal(np.log(35.0), 0.35)
        elif u < 0.85:
            kind, n_opt = "multiple", 4
            size = int(rng.integers(2, 4))
            key = "".join(sorted(rng.choice(list(LETTERS[:n_opt]), size=size, replace=False)))
            subsets = [
                "".join(s)
                for r in range(1, n_opt + 1)
                for s in itertools.combinations(LETTERS[:n_opt], r)
            ]
            wrong = tuple(s for s in subsets if s != key)
            c, beta = 0.03, rng.normal(np.log(50.0), 0.35)
        else:
            kind, n_opt = "truefalse", 2
            key = "T" if rng.random() < 0.5 else "F"
            wrong = ("F" if key == "T" else "T",)
            c, beta = 0.35, rng.normal(np.log(20.0), 0.35)
        conc = 0.4 if kind == "multiple" else 2.0
        wp = rng.dirichlet(np.full(len(wrong), conc))
        bank.append(
            SimItem(
                info=ItemInfo(item_id=start_id + k, n_options=n_opt, key=key),
                kind=kind,
                a=a,
                b=b,
                c=c,
                beta=float(beta),
                alpha=float(rng.uniform(1.6, 2.6)),
                wrong=wrong,
                wrong_p=tuple(float(x) for x in wp),
            )
        )
    return bank


def _answer(rng: np.random.Generator, it: SimItem, theta: float) -> str:
    if rng.random() < 0.01:
        return ""
    p = it.c + (1 - it.c) / (1 + np.exp(-1.7 * it.a * (theta - it.b)))
    if rng.random() < p:
        return it.info.key
    return it.wrong[int(rng.choice(len(it.wrong), p=it.wrong_p))]


def _seconds(rng: np.random.Generator, it: SimItem, tau: float, shift: float = 0.0) -> float:
    return float(np.exp(it.beta - tau - shift + rng.normal() / it.alpha))


def simulate_exam(
    random_state: int,
    *,
    examinees: int = 300,
    n_items: int = 40,
    bank_size: int | None = None,
    rings: int = 6,
    copy_fractions: tuple[float, ...] = (0.3,),
    proxies: int = 4,
    preknowledge: int = 4,
    rapid: int = 3,
    friends: int = 20,
    strong: int = 15,
    slow: int = 15,
    new_device: int = 10,
    travellers: int = 5,
    compromised_share: float = 0.25,
    difficulty: float = -0.3,
    proxy_office_share: float = 0.0,
    exam_id: int = 0,
) -> SimExam:
    """Simulate one exam sitting (``examinees`` attempts, one per learner).

    ``rings`` rings of a source and 1–3 copiers; each copier copies a share drawn in turn
    from ``copy_fractions``. ``friends`` counts honest pairs. ``bank_size`` > ``n_items``
    draws each attempt's items from a larger bank. ``difficulty`` is the mean item
    difficulty (b) on the ability scale: −0.3 gives about two thirds correct.
    """
    rng = np.random.default_rng(random_state)
    bank = make_bank(rng, bank_size or n_items, start_id=exam_id * 1000 + 1, difficulty=difficulty)
    n_comp = round(compromised_share * len(bank))
    compromised = frozenset(
        int(x) for x in rng.choice([it.info.item_id for it in bank], n_comp, replace=False)
    )
    t0 = 1_780_000_000.0 + exam_id * 7 * 86400
    window = 3 * 86400.0
    units = max(4, examinees // 15)

    roles: list[tuple[str, str]] = []  # (label, variant)
    ring_sizes = [int(rng.integers(1, 4)) for _ in range(rings)]
    for size in ring_sizes:
        roles.append(("source", ""))
        roles.extend(("copier", "") for _ in range(size))
    roles += [("proxy", "")] * proxies + [("preknowledge", "")] * preknowledge
    roles += [("rapid_guessing", "")] * rapid
    roles += [(HONEST, "friend")] * (2 * friends) + [(HONEST, "strong")] * strong
    roles += [(HONEST, "slow")] * slow + [(HONEST, "new_device")] * new_device
    roles += [(HONEST, "traveller")] * travellers
    if len(roles) > examinees:
        raise ValueError("too many planted roles for the number of examinees")
    roles += [(HONEST, "regular")] * (examinees - len(roles))

    n = len(roles)
    base = exam_id * 100_000
    learner = np.arange(n) + base + 1
    unit = rng.integers(0, units, size=n) + exam_id * 1000
    theta = rng.normal(0.0, 1.0, size=n)
    tau = rng.normal(0.0, 0.25, size=n)
    submitted = t0 + rng.uniform(0, window, size=n)
    ip = [f"10.{u % 250}.{u // 250}.1" for u in unit]
    home = [f"home-{lid}" for lid in learner]
    device = [f"pc-{lid}" for lid in learner]
    at_home = rng.random(n) < 0.2
    for j in range(n):
        if at_home[j]:
            ip[j] = home[j]

    copy_plan: dict[int, tuple[int, float]] = {}
    q = 0
    j = 0
    for size in ring_sizes:
        src = j
        theta[src] = rng.normal(0.6, 0.8)
        for c in range(src + 1, src + 1 + size):
            copy_plan[c] = (src, copy_fractions[q % len(copy_fractions)])
            q += 1
            theta[c] = rng.normal(-0.3, 0.8)
            unit[c], ip[c] = unit[src], ip[src]
            submitted[c] = submitted[src] + rng.uniform(10, 240)
        j = src + 1 + size
    variants = {}
    friend_idx = [k for k, r in enumerate(roles) if r[1] == "friend"]
    for x, y in zip(friend_idx[::2], friend_idx[1::2], strict=True):
        unit[y], ip[y] = unit[x], ip[x]
        submitted[y] = submitted[x] + rng.uniform(5, 120)
    for k, (label, variant) in enumerate(roles):
        if variant:
            variants[k] = variant
        if variant == "strong":
            theta[k] = rng.normal(2.0, 0.3)
        elif variant == "slow":
            tau[k] = rng.normal(-0.6, 0.15)
        elif label == "proxy":
            theta[k] = rng.normal(1.6, 0.4)

    hist_dev = [frozenset({device[k], f"phone-{learner[k]}"}) for k in range(n)]
    hist_ip = [
        frozenset({f"10.{u % 250}.{u // 250}.1" for u in [unit[k]]} | {home[k]}) for k in range(n)
    ]
    hours = rng.uniform(6.0, 40.0, size=n)
    for k, (label, variant) in enumerate(roles):
        if label == "proxy":
            hours[k] = rng.uniform(0.0, 0.8)
            device[k] = f"proxy-pc-{learner[k]}"
            # a proxy sits elsewhere; ``proxy_office_share`` of them use the learner's office
            # network (only the "little study, high score" reason can catch those)
            ip[k] = ip[k] if rng.random() < proxy_office_share else f"172.16.{k % 250}.9"
        elif variant == "new_device":
            device[k] = f"newpc-{learner[k]}"
        elif variant == "traveller":
            device[k] = f"laptop-{learner[k]}"
            ip[k] = f"hotel-{learner[k]}"

    draws = [
        rng.choice(len(bank), size=n_items, replace=False)
        if len(bank) > n_items
        else np.arange(len(bank))
        for _ in range(n)
    ]
    answers: list[dict[int, str]] = [{} for _ in range(n)]
    seconds: list[dict[int, float]] = [{} for _ in range(n)]
    order = sorted(range(n), key=lambda k: k in copy_plan)  # sources answer before copiers
    for k in order:
        label = roles[k][0]
        for i in draws[k]:
            it = bank[int(i)]
            iid = it.info.item_id
            ans = _answer(rng, it, float(theta[k]))
            t = _seconds(rng, it, float(tau[k]))
            if label == "preknowledge" and iid in compromised:
                ans = it.info.key if rng.random() < 0.97 else ans
                t = _seconds(rng, it, float(tau[k]), shift=float(rng.uniform(1.2, 2.0)))
            elif label == "rapid_guessing" and rng.random() < 0.5:
                ans = _guess(rng, it)
                t = float(rng.uniform(1.5, 6.0))
            answers[k][iid] = ans
            seconds[k][iid] = round(t, 1)
        if k in copy_plan:
            src, share = copy_plan[k]
            common = [iid for iid in answers[k] if iid in answers[src]]
            m = round(share * len(common))
            for iid in rng.choice(common, size=m, replace=False):
                iid = int(iid)
                answers[k][iid] = answers[src][iid]
                it = next(x for x in bank if x.info.item_id == iid)
                seconds[k][iid] = round(
                    _seconds(rng, it, float(tau[k]), shift=float(rng.uniform(0.5, 1.2))), 1
                )

    attempts = [
        AttemptRecord(
            attempt_id=base + 50_000 + k,
            learner_id=int(learner[k]),
            answers=answers[k],
            seconds=seconds[k],
            submitted_at=float(submitted[k]),
            ip=ip[k],
            device=device[k],
            unit_id=int(unit[k]),
        )
        for k in range(n)
    ]
    histories = {
        int(learner[k]): StudyHistory(
            learner_id=int(learner[k]),
            devices=hist_dev[k],
            ips=hist_ip[k],
            verified_hours=round(float(hours[k]), 2),
        )
        for k in range(n)
    }
    aid = [att.attempt_id for att in attempts]
    return SimExam(
        items=[it.info for it in bank],
        attempts=attempts,
        histories=histories,
        labels={aid[k]: roles[k][0] for k in range(n)},
        variants={aid[k]: v for k, v in variants.items()},
        copy_pairs=[(aid[c], aid[s], f) for c, (s, f) in copy_plan.items()],
        compromised=compromised,
        theta={aid[k]: float(theta[k]) for k in range(n)},
        tau={aid[k]: float(tau[k]) for k in range(n)},
        sim_items=bank,
    )


def _guess(rng: np.random.Generator, it: SimItem) -> str:
    options = (it.info.key, *it.wrong)
    return options[int(rng.integers(0, len(options)))]
