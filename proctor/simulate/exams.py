"""Simulated exams with ground truth: honest examinees, look-alikes and exam fraud.

Items follow a 3PL model for the key with item-specific distractor shares (a nominal
model for the wrong options); response times follow van der Linden's lognormal model
(log t = β_i − τ_j + ε/α_i). Archetypes:

* ``copier`` / ``source``: answer-sharing rings – a source and 1–3 copiers who copy a
  fraction of the source's answers (identical, wrong ones included) quickly; the ring
  sits in one unit behind one address and submits within minutes;
* ``proxy``: someone else sits the exam – a strong examinee on a device (and usually an
  address) the learner never studied from, for a learner with little verified study
  (variants: ``studied``, for a learner who did study; ``hired``, one proxy's machine
  sitting it for three learners of other units who studied);
* ``preknowledge``: a compromised subset of the bank answered correctly and very fast;
* ``rapid_guessing``: disengaged examinees who click through part of the exam.

Honest variants (hard negatives): ``regular``, ``friend`` (same unit and address,
submitted close together, independent answers), ``strong``, ``slow`` (careful),
``new_device`` (a new device at a known address), ``traveller`` (new device and address),
``colleague`` (a unit behind one address, starting together), ``fast_strong``,
``self_taught`` and ``centre`` (learners of several units at an exam centre's PCs).
Deterministic by ``random_state``; the labels never enter the analysis.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from proctor.exams.forensics.data import AttemptRecord, ItemInfo, StudyHistory

HONEST = "honest"
HIRED_CLIENTS = 3  # learners one hired proxy sits an exam for
CENTRE_SIZE, CENTRE_PCS = 12, 6  # an exam centre's examinees and PCs
EXAM_ARCHETYPES = ("copier", "source", "proxy", "preknowledge", "rapid_guessing")
COPY_MODES = (
    "concurrent",  # enters each copied answer shortly after the source saved it
    "burst_ordered",  # after the source submitted: his answers in his order, 3-12 s apart
    "burst",  # the same, entry order shuffled (an informed copier)
    "burst_ordered_jitter",  # source's order, waits 1-10 min, reading pace (median 30 s)
    "burst_jitter",  # shuffled and jittered: the copier who knows every rule
)
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
    copy_modes: dict[int, str] = field(default_factory=dict)  # copier -> concurrent | burst


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
    colleagues: int = 0,
    colleague_size: int = 6,
    fast_strong: int = 0,
    proxies_studied: int = 0,
    past_exams: int = 0,
    sitting: int | None = None,
    compromised_share: float = 0.25,
    difficulty: float = -0.3,
    proxy_office_share: float = 0.0,
    exam_id: int = 0,
    burst_share: float = 0.0,
    copy_modes: tuple[str, ...] = (),
    sitting_s: float | None = None,
    defer: float = 0.1,
    lag_median_s: float = 20.0,
    misconceptions: float = 0.0,
    self_taught: int = 0,
    hired: int = 0,
    centres: int = 0,
) -> SimExam:
    """Simulate one exam sitting (``examinees`` attempts, one per learner).

    ``rings`` rings of a source and 1–3 copiers; each copier copies a share drawn in turn
    from ``copy_fractions``. ``friends`` counts honest pairs. ``bank_size`` > ``n_items``
    draws each attempt's items from a larger bank. ``difficulty`` is the mean item
    difficulty (b) on the ability scale: −0.3 gives about two thirds correct.

    Save times (``AttemptRecord.saved_at``, server clock): every attempt gets a random
    presentation order and a start time and saves its items in that order, each after its
    time on the item plus a 1–6 s gap; ``defer`` is the chance an examinee leaves an item
    for the end (four times likelier for an item he gets wrong, so hard items tend to come
    last for everyone). Without ``sitting_s`` the attempts spread over three days; with it
    every examinee starts within ``sitting_s`` seconds of the exam's opening (a scheduled
    sitting). Friends start within 2 minutes of each other, with independent orders.
    A ring sits concurrently: the copier starts −1 to +3 minutes from the source and
    enters each copied answer a lognormal lag (median ``lag_median_s``, σ 0.7) after the
    source saved it, his own items fitting around; a share ``burst_share`` of the copiers
    (whole rounds of ``copy_fractions``, so every share gets both) is adversarial instead:
    the copier answers his own
    items, waits until the source has submitted and enters the copied answers in a burst.
    ``copy_modes`` (overrides ``burst_share``) cycles the copiers through ``COPY_MODES`` in
    whole rounds of ``copy_fractions``: concurrent, or after the source submitted in his
    order or shuffled, at once or jittered (waiting 1–10 min, at a reading pace).

    Look-alikes added on request (their own random stream, so the defaults reproduce
    earlier populations): ``colleagues`` groups of ``colleague_size`` behind one office
    address starting together, ``fast_strong`` examinees, ``proxies_studied`` (a proxy for
    a learner who studied), ``self_taught`` (strong examinees who know the subject and
    studied under 0.8 h of the course: an honest P02), ``hired`` proxy services (one
    machine and address sitting the exam for ``HIRED_CLIENTS`` learners of other units who
    studied, one after another; the second of every three services gives each client a
    fresh device id, the third a fresh address), ``centres`` exam centres
    (``CENTRE_SIZE`` honest learners of several units on ``CENTRE_PCS`` PCs at one
    address, two sittings, the place new to all of them), ``past_exams`` earlier exams in
    every history (scored at the learner's own ability and speed). ``sitting=k`` is the k-th exam of the same
    population: same learners and rings, fresh bank, answers and times.
    ``misconceptions``: the share of items on which each colleague group shares a wrong
    belief (learned together): on such an item a member answers the group's wrong option
    with probability one half, whatever his ability, and works it out as usual otherwise;
    drawn afresh for every sitting's bank, so a group carries its own misconceptions into
    every exam (the honest look-alike of a pair that copies exam after exam).
    The timing draws come from their own random stream, so answers and times on items are
    those of the same ``random_state`` without timestamps.
    """
    rng = np.random.default_rng(random_state)
    # ``sitting``: a later exam of the same population (same learners, rings and devices),
    # with its own bank, draws, answers and times
    bank_rng = rng if sitting is None else np.random.default_rng([random_state, 31, sitting])
    bank = make_bank(
        bank_rng, bank_size or n_items, start_id=exam_id * 1000 + 1, difficulty=difficulty
    )
    n_comp = round(compromised_share * len(bank))
    compromised = frozenset(
        int(x) for x in bank_rng.choice([it.info.item_id for it in bank], n_comp, replace=False)
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
    roles += [(HONEST, "colleague")] * (colleagues * colleague_size)
    roles += [(HONEST, "fast_strong")] * fast_strong + [("proxy", "studied")] * proxies_studied
    roles += [(HONEST, "self_taught")] * self_taught
    roles += [("proxy", "hired")] * (HIRED_CLIENTS * hired)
    roles += [(HONEST, "centre")] * (CENTRE_SIZE * centres)
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
        elif label == "proxy" and variant != "hired":
            # a hired proxy is anyone the service has (and keeps the answers' random stream,
            # so that the rest of the population is the same with or without him)
            theta[k] = rng.normal(1.6, 0.4)

    # the new look-alikes and the earlier exams draw from their own stream, so that the
    # populations of earlier versions are unchanged when they are not asked for
    aux = np.random.default_rng([random_state, 104729])
    own_theta = theta.copy()  # the learner's own ability (a proxy's differs from his)
    own_tau = tau.copy()
    colleague_idx = [k for k, r in enumerate(roles) if r[1] == "colleague"]
    colleague_pairs: list[tuple[int, int]] = []
    for g in range(0, len(colleague_idx), max(1, colleague_size)):
        group = colleague_idx[g : g + colleague_size]
        lead = group[0]
        office = f"10.{unit[lead] % 250}.{unit[lead] // 250}.1"  # one address for the unit
        for k in group:
            unit[k], ip[k] = unit[lead], office
            submitted[k] = submitted[lead] + aux.uniform(5, 120)
        colleague_pairs += [(lead, k) for k in group[1:]]
    for k, (label, variant) in enumerate(roles):
        if variant == "fast_strong":
            theta[k] = own_theta[k] = aux.normal(2.0, 0.3)
            tau[k] = own_tau[k] = aux.normal(0.6, 0.15)
        elif variant == "self_taught":  # strong in his own right, in every exam
            theta[k] = own_theta[k] = aux.normal(2.0, 0.3)
        elif label == "proxy":
            own_theta[k] = aux.normal(0.0, 1.0)
            own_tau[k] = aux.normal(0.0, 0.25)
    hist_dev = [frozenset({device[k], f"phone-{learner[k]}"}) for k in range(n)]
    hist_ip = [
        frozenset({f"10.{u % 250}.{u // 250}.1" for u in [unit[k]]} | {home[k]}) for k in range(n)
    ]
    hours = rng.uniform(6.0, 40.0, size=n)
    hired_idx = [k for k, r in enumerate(roles) if r[1] == "hired"]
    for g in range(0, len(hired_idx), HIRED_CLIENTS):
        # one proxy, one desk: his clients' exams one after another (spread sittings); the
        # second service gives each client a fresh device id, the third a fresh address
        how = (g // HIRED_CLIENTS) % 3
        for j, k in enumerate(hired_idx[g : g + HIRED_CLIENTS]):
            device[k] = f"hire-pc-{exam_id}-{g}" + (f"-{j}" if how == 1 else "")
            ip[k] = f"172.18.{g % 250}." + (f"{10 + j}" if how == 2 else "9")
            if j:
                submitted[k] = submitted[hired_idx[g]] + j * float(aux.uniform(3000, 5400))
    centre_idx = [k for k, r in enumerate(roles) if r[1] == "centre"]
    for g in range(0, len(centre_idx), CENTRE_SIZE):
        # one room, two sittings an hour apart, each PC used once in each
        first = submitted[centre_idx[g]]
        for j, k in enumerate(centre_idx[g : g + CENTRE_SIZE]):
            device[k], ip[k] = f"centre-{exam_id}-{g}-pc{j % CENTRE_PCS}", f"centre-{exam_id}-{g}"
            second = j >= CENTRE_PCS
            submitted[k] = first + (3600.0 if second else 0.0) + float(aux.uniform(0, 600))
    for k, (label, variant) in enumerate(roles):
        if variant == "studied":  # a proxy for a learner who studied: no P02
            device[k] = f"proxy-pc-{learner[k]}"
            ip[k] = f"172.17.{k % 250}.9"
        elif label == "proxy" and variant != "hired":  # (hired: for learners who studied)
            hours[k] = rng.uniform(0.0, 0.8)
            device[k] = f"proxy-pc-{learner[k]}"
            # a proxy sits elsewhere; ``proxy_office_share`` of them use the learner's office
            # network (only the "little study, high score" reason can catch those)
            ip[k] = ip[k] if rng.random() < proxy_office_share else f"172.16.{k % 250}.9"
        elif variant == "self_taught":  # his own device and office, little of the videos
            hours[k] = aux.uniform(0.0, 0.8)
        elif variant == "new_device":
            device[k] = f"newpc-{learner[k]}"
        elif variant == "traveller":
            device[k] = f"laptop-{learner[k]}"
            ip[k] = f"hotel-{learner[k]}"

    if sitting is not None:
        rng = np.random.default_rng([random_state, 37, sitting])
    draws = [
        rng.choice(len(bank), size=n_items, replace=False)
        if len(bank) > n_items
        else np.arange(len(bank))
        for _ in range(n)
    ]
    answers: list[dict[int, str]] = [{} for _ in range(n)]
    seconds: list[dict[int, float]] = [{} for _ in range(n)]
    believe = _misconceptions(
        np.random.default_rng([random_state, 613] + ([] if sitting is None else [sitting])),
        bank,
        [
            colleague_idx[g : g + colleague_size]
            for g in range(0, len(colleague_idx), max(1, colleague_size))
        ],
        misconceptions,
    )
    order = sorted(range(n), key=lambda k: k in copy_plan)  # sources answer before copiers
    copied_items: dict[int, set[int]] = {}
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
            if (k, iid) in believe.options and believe.rng.random() < 0.5:
                ans = believe.options[(k, iid)]
            answers[k][iid] = ans
            seconds[k][iid] = round(t, 1)
        if k in copy_plan:
            src, share = copy_plan[k]
            common = [iid for iid in answers[k] if iid in answers[src]]
            m = round(share * len(common))
            for iid in rng.choice(common, size=m, replace=False):
                iid = int(iid)
                copied_items.setdefault(k, set()).add(iid)
                answers[k][iid] = answers[src][iid]
                it = next(x for x in bank if x.info.item_id == iid)
                seconds[k][iid] = round(
                    _seconds(rng, it, float(tau[k]), shift=float(rng.uniform(0.5, 1.2))), 1
                )

    saved, submitted, copy_mode = _timelines(
        np.random.default_rng([random_state, 7919] + ([] if sitting is None else [sitting])),
        draws=[[bank[int(i)].info.item_id for i in d] for d in draws],
        answers=answers,
        seconds=seconds,
        keys={it.info.item_id: it.info.key for it in bank},
        submitted=submitted,
        copy_plan=copy_plan,
        copied_items=copied_items,
        friends=list(zip(friend_idx[::2], friend_idx[1::2], strict=True)) + colleague_pairs,
        t0=t0,
        sitting_s=sitting_s,
        defer=defer,
        burst_share=burst_share,
        modes=copy_modes,
        lag_median_s=lag_median_s,
        cycle=len(copy_fractions),
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
            saved_at=saved[k],
        )
        for k in range(n)
    ]
    past_scores, past_speeds = _past(aux, bank, own_theta, own_tau, n_items, past_exams)
    histories = {
        int(learner[k]): StudyHistory(
            learner_id=int(learner[k]),
            devices=hist_dev[k],
            ips=hist_ip[k],
            verified_hours=round(float(hours[k]), 2),
            past_scores=past_scores[k],
            past_speeds=past_speeds[k],
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
        copy_modes={aid[c]: mode for c, mode in copy_mode.items()},
        compromised=compromised,
        theta={aid[k]: float(theta[k]) for k in range(n)},
        tau={aid[k]: float(tau[k]) for k in range(n)},
        sim_items=bank,
    )


@dataclass
class _Beliefs:
    """The wrong options colleague groups believe in, per (examinee, item), and the stream
    that decides when a member answers by the belief (its own, so the other draws of a
    population are unchanged by it)."""

    rng: np.random.Generator
    options: dict[tuple[int, int], str]


def _misconceptions(
    rng: np.random.Generator, bank: list[SimItem], groups: list[list[int]], share: float
) -> _Beliefs:
    options: dict[tuple[int, int], str] = {}
    if share > 0:
        for group in groups:
            for it in bank:
                if rng.random() < share:
                    wrong = it.wrong[int(rng.integers(len(it.wrong)))]
                    options.update({(k, it.info.item_id): wrong for k in group})
    return _Beliefs(rng, options)


def _past(
    rng: np.random.Generator,
    bank: list[SimItem],
    theta: NDArray[np.float64],
    tau: NDArray[np.float64],
    n_items: int,
    exams: int,
) -> tuple[list[tuple[tuple[int, int], ...]], list[tuple[float, ...]]]:
    """Each learner's earlier exams: (correct, items) at his own ability, and his speeds."""
    a = np.array([it.a for it in bank])
    b = np.array([it.b for it in bank])
    c = np.array([it.c for it in bank])
    scores: list[tuple[tuple[int, int], ...]] = []
    speeds: list[tuple[float, ...]] = []
    for th, tu in zip(theta, tau, strict=True):
        p = float(np.mean(c + (1 - c) / (1 + np.exp(-1.7 * a * (th - b)))))
        scores.append(tuple((int(rng.binomial(n_items, p)), n_items) for _ in range(exams)))
        speeds.append(tuple(round(float(tu + rng.normal(0.0, 0.08)), 3) for _ in range(exams)))
    return scores, speeds


def _guess(rng: np.random.Generator, it: SimItem) -> str:
    options = (it.info.key, *it.wrong)
    return options[int(rng.integers(0, len(options)))]


def _timelines(
    rng: np.random.Generator,
    *,
    draws: list[list[int]],
    answers: list[dict[int, str]],
    seconds: list[dict[int, float]],
    keys: dict[int, str],
    submitted: NDArray[np.float64],
    copy_plan: dict[int, tuple[int, float]],
    copied_items: dict[int, set[int]],
    friends: list[tuple[int, int]],
    t0: float,
    sitting_s: float | None,
    defer: float,
    burst_share: float,
    lag_median_s: float,
    cycle: int = 1,
    modes: tuple[str, ...] = (),
) -> tuple[list[dict[int, float]], NDArray[np.float64], dict[int, str]]:
    """Save times per attempt (item -> epoch s), submission times and each copier's mode."""
    n = len(draws)
    saved: list[dict[int, float]] = [{} for _ in range(n)]
    out = np.array(submitted, dtype=float)
    start = np.zeros(n)

    def walk(k: int, begin: float, skip: frozenset[int] = frozenset()) -> float:
        """Save k's items (but ``skip``) in a random order from ``begin``; the last save."""
        order = [iid for iid in rng.permutation(draws[k]) if iid not in skip]
        odds = [defer * (1.0 if answers[k][i] != keys[i] else 0.25) for i in order]
        late = [i for i, q in zip(order, odds, strict=True) if rng.random() < q]
        now = begin
        for iid in [i for i in order if i not in late] + late:
            now += seconds[k][int(iid)] + float(rng.uniform(1.0, 6.0))
            saved[k][int(iid)] = round(now, 3)
        return now

    def total(k: int) -> float:
        return float(sum(seconds[k].values())) + 3.5 * len(seconds[k])

    friend_of = {y: x for x, y in friends}
    lead = [k for k in range(n) if k not in copy_plan and k not in friend_of]
    for k in lead + [y for y in friend_of]:
        if k in friend_of:
            begin = start[friend_of[k]] + float(rng.uniform(0.0, 120.0))
        elif sitting_s is not None:
            begin = t0 + float(rng.uniform(0.0, sitting_s))
        else:  # spread sittings: keep the drawn submission time
            begin = float(submitted[k]) - total(k) - float(rng.uniform(5.0, 60.0))
        start[k] = begin
        out[k] = walk(k, begin) + float(rng.uniform(5.0, 60.0))
    mode: dict[int, str] = {}
    every = int(np.ceil(1.0 / burst_share)) if burst_share > 0 else 0
    for q, (c, (src, _)) in enumerate(copy_plan.items()):
        copied = frozenset(copied_items.get(c, set()))
        begin = start[src] + float(rng.uniform(-60.0, 180.0))
        start[c] = begin
        own_end = walk(c, begin, skip=copied)
        if modes:
            mode[c] = modes[(q // cycle) % len(modes)]
        else:
            burst = every > 0 and (q // cycle) % every == every - 1
            mode[c] = "burst" if burst else "concurrent"
        if mode[c] != "concurrent":  # wait for the source to submit, then enter the copies
            jitter = mode[c].endswith("jitter")
            wait = rng.uniform(60.0, 600.0) if jitter else rng.uniform(10.0, 120.0)
            now = max(own_end, float(out[src])) + float(wait)
            if mode[c].startswith("burst_ordered"):  # read off the source's sheet in order
                entry = sorted(copied, key=lambda i: saved[src][i])
            else:  # an informed copier shuffles his entry order
                entry = [int(i) for i in rng.permutation(sorted(copied))]
            for iid in entry:
                # jittered: a pace like reading each item (lognormal, median 30 s)
                gap = np.exp(np.log(30.0) + 0.6 * rng.normal()) if jitter else rng.uniform(3, 12)
                now += float(gap)
                saved[c][int(iid)] = round(now, 3)
            last = now
        else:
            lags = np.exp(np.log(lag_median_s) + 0.7 * rng.normal(size=len(copied)))
            for iid, lag in zip(sorted(copied), lags, strict=True):
                saved[c][iid] = round(saved[src][iid] + float(lag), 3)
            last = max([own_end, *(saved[c][i] for i in copied)])
        out[c] = last + float(rng.uniform(5.0, 60.0))
    return saved, out, mode
