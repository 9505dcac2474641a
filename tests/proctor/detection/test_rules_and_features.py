"""Features, rules and explanations on hand-made sessions; estimator conventions."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import numpy as np
import pytest
from sklearn.base import clone

from proctor.detection.features import FEATURES, SessionRecord, compute
from proctor.detection.model import AnomalyDetector, ReviewedClassifier
from proctor.detection.region import Regions
from proctor.detection.rules import DEFAULT_THRESHOLDS, RULES, evaluate, explain, load_thresholds
from proctor.detection.scoring import SCORED, fit, score
from proctor.kernel.networks import city_of, network_of

T0 = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)  # 09:00 in China


def rec(
    lid: int,
    start_h: float,
    hours: float,
    *,
    device: str = "pc-1",
    ip: str = "10.1.0.1",
    course: int = 1,
    ua: str = "Mozilla/5.0 Chrome",
    verified: float | None = None,
    **f: object,
) -> SessionRecord:
    start = T0 + dt.timedelta(hours=start_h)
    wall = hours * 3600
    base = {
        "challenges_issued": 2,
        "challenges_correct": 2,
        "challenges_wrong": 0,
        "challenge_latencies_ms": [2500, 3100],
        "interactions": int(hours * 60 * 2),
        "codes": {"paused": 3},
        "beats": int(wall / 10),
        "muted_frac": 0.0,
        "seeks_forward": 0,
        "rate_exceeded": 0,
        "overlap_s": 0.0,
    }
    base.update(f)
    return SessionRecord(
        lid,
        course,
        start,
        start + dt.timedelta(hours=hours),
        wall,
        wall if verified is None else verified,
        device,
        ip,
        ua,
        base,
    )


def row(ids: np.ndarray, X: np.ndarray, lid: int) -> dict[str, float]:
    return dict(zip(FEATURES, X[list(ids).index(lid)], strict=True))


def test_feature_columns_are_named_and_complete() -> None:
    """One column per named feature, one row per learner."""
    ids, X = compute([rec(1, 0, 1), rec(2, 0, 2), rec(1, 24, 1)], {1: 0.02})
    assert list(ids) == [1, 2]
    assert X.shape == (2, len(FEATURES))
    assert row(ids, X, 1)["sessions"] == 2
    assert row(ids, X, 1)["wall_hours"] == pytest.approx(2.0)


def test_shared_office_pc_is_not_concurrent_but_a_farm_is() -> None:
    """Two colleagues on one PC at different times: shared, not concurrent. Same time: concurrent."""
    office = [rec(1, 0, 1, device="office"), rec(2, 2, 1, device="office")]
    farm = [rec(3, 0, 2, device="farm"), rec(4, 0.5, 2, device="farm")]
    ids, X = compute(office + farm, {})
    assert row(ids, X, 1)["device_accounts"] == 1
    assert row(ids, X, 1)["device_concurrent_accounts"] == 0
    assert row(ids, X, 3)["device_concurrent_accounts"] == 1


def test_takeover_and_cities() -> None:
    """The owner studies mornings on one PC; then a new device at night carries the credit."""
    owner = [rec(1, d * 24, 1, device="own") for d in range(2)]
    proxy = [rec(1, d * 24 + 12.5, 1, device="new", ip="10.6.3.3") for d in range(2, 8)]
    sharing = [rec(2, 0, 1, ip="10.1.0.1"), rec(2, 5, 1, ip="10.7.9.9", device="pc-2")]
    ids, X = compute(owner + proxy + sharing, {})
    r = row(ids, X, 1)
    assert r["takeover_share"] >= 0.7
    assert r["takeover_hour_shift"] >= 10
    assert row(ids, X, 2)["cities_max_per_day"] == 2


def test_study_away_from_the_colleagues_city() -> None:
    """Colleagues of one city organisation study from that city's networks; a learner whose
    every session comes from another city's network, day after day, stands out; one who
    studies at home and travels for two days does not; nor does anyone without colleagues, or
    in an organisation whose addresses say nothing about where its people work, or whose
    network is home to nobody (a VPN: no evidence of where they were)."""
    home = [
        rec(lid, d * 24, 1, device=f"pc-{lid}", ip=f"10.1.{lid}.1")
        for lid in (1, 2, 3, 4)
        for d in range(6)
    ]
    proxy = [rec(5, d * 24 + 1, 2, device="pc-5", ip="10.9.0.5") for d in range(5)]
    trip = [rec(6, d * 24, 1, device="pc-6", ip="10.1.6.1") for d in range(6)] + [
        rec(6, d * 24 + 3, 1, device="pc-6", ip="10.9.0.6") for d in range(2)
    ]
    # Another city's organisation, at home on the proxy's network.
    there = [
        rec(lid, d * 24, 1, device=f"pc-{lid}", ip=f"10.9.{lid}.1")
        for lid in (30, 31, 32, 33)
        for d in range(6)
    ]
    vpn = [rec(8, d * 24 + 1, 2, device="pc-8", ip="172.16.0.8") for d in range(5)]
    alone = [rec(7, d * 24, 1, device="pc-7", ip="10.7.0.7") for d in range(6)]
    # An organisation whose people all study from different networks: no home, no judgement.
    scattered = [
        rec(lid, d * 24, 1, device=f"pc-{lid}", ip=f"10.{lid}.0.1")
        for lid in range(20, 26)
        for d in range(6)
    ]
    regions = Regions.from_paths(
        [(lid, "/1/4/17/40/") for lid in (1, 2, 3, 4, 5, 6, 8)]
        + [(lid, "/1/9/") for lid in (30, 31, 32, 33)]
        + [(7, "/1/5/30/")]
        + [(lid, "/1/6/") for lid in range(20, 26)]
    )
    records = home + proxy + trip + alone + scattered + there + vpn
    ids, X = compute(records, {}, regions)
    assert row(ids, X, 5)["away_region_share"] == pytest.approx(1.0)
    assert row(ids, X, 5)["away_region_days"] == 5
    assert row(ids, X, 6)["away_region_share"] == pytest.approx(0.25)
    assert row(ids, X, 6)["away_region_days"] == 2
    for lid in (1, 2, 3, 4, 7, 8, *range(20, 26), 30, 31, 32, 33):
        assert row(ids, X, lid)["away_region_share"] == 0.0
    hits = evaluate(X, DEFAULT_THRESHOLDS)
    fired = {
        int(i) for i, h in zip(ids, hits[:, [r.id for r in RULES].index("R15")], strict=True) if h
    }
    assert fired == {5}


def _turns(
    accounts: list[int],
    days: int,
    hours: float,
    *,
    lesson: float = 0.75,
    gap_min: float = 5,
    devices: dict[int, str] | None = None,
    ips: tuple[str, ...] = ("10.3.0.9",),
    first_day: int = 0,
) -> list[SessionRecord]:
    """Accounts taking turns on one machine, one lesson each, ``gap_min`` minutes apart,
    from 08:00 for ``hours`` hours a day."""
    out = []
    for d in range(first_day, first_day + days):
        t, k = 0.0, 0
        while t + lesson <= hours:
            lid = accounts[k % len(accounts)]
            dev = (devices or {}).get(lid, "machine")
            out.append(rec(lid, d * 24 - 1 + t, lesson, device=dev, ip=ips[k % len(ips)]))
            t += lesson + gap_min / 60
            k += 1
    return out


def test_accounts_taking_turns_all_day_whatever_the_gaps() -> None:
    """Three accounts on one machine all day, five minutes between lessons (past the
    hand-over window): R12 and R14 see nothing, the machine's day shows. With a fresh device
    id per account the addresses link them. Two accounts all day (a couple cramming at one
    PC looks the same as a two-account farm), a couple at one home PC in the evening,
    colleagues at the same time behind one address, and a day on which one account played
    under two hours of the machine's twelve do not count."""
    trio = _turns([1, 2, 15], 3, 15)
    fresh = _turns(
        [3, 4, 16],
        3,
        15,
        devices={3: "a", 4: "b", 16: "c"},
        ips=("10.3.1.1", "10.3.1.2", "10.3.1.3", "10.3.1.4"),
    )
    couple: list[SessionRecord] = []
    for d in range(5):  # evenings: two hours each, one after the other
        couple += [rec(5, d * 24 + 11, 2, device="home"), rec(6, d * 24 + 13.1, 2, device="home")]
    office = [
        rec(lid, d * 24 + 0.1 * lid, 3, device=f"pc-{lid}", ip="10.3.9.9")
        for lid in (7, 8, 9, 10)
        for d in range(4)
    ]
    # One account plays the machine's day, another one lesson: not an operator's turns.
    solo = [rec(11, d * 24 - 1, 13, device="desk") for d in range(3)]
    solo += [rec(12, d * 24 + 12.5, 0.75, device="desk") for d in range(3)]
    cramming = _turns([13, 14], 3, 15, devices={13: "family", 14: "family"}, ips=("10.3.2.2",))
    ids, X = compute(trio + fresh + couple + office + solo + cramming, {})
    for lid in (1, 2, 3, 4, 15, 16):
        r = row(ids, X, lid)
        assert r["relay_days"] == 3 and r["relay_hours_max"] >= 13
        assert r["handoff_partners"] == 0 and r["linked_handoff_partners"] == 0
    assert row(ids, X, 13)["relay_hours_max"] >= 13  # the machine's day, of two accounts
    assert row(ids, X, 5)["relay_hours_max"] == pytest.approx(4.0)
    for lid in (5, 6, 7, 8, 9, 10, 11, 12, 13, 14):
        assert row(ids, X, lid)["relay_days"] == 0
    for lid in (7, 8, 9, 10):
        assert row(ids, X, lid)["relay_hours_max"] == 0  # at the same time: not one machine
    hits = evaluate(X, DEFAULT_THRESHOLDS)
    r16 = [r.id for r in RULES].index("R16")
    assert {int(i) for i, h in zip(ids, hits[:, r16], strict=True) if h} == {1, 2, 3, 4, 15, 16}


def test_a_network_passed_through_once_does_not_make_strangers_one_machine() -> None:
    """A couple cramming at their home PC all day (two accounts: no farm) and a stranger
    who studies at home every early morning, on a phone. One of the couple and the
    stranger each once drew the same mobile carrier address, on different days. That one
    session each linked the stranger into the couple's group, so the couple's machine-days
    had three accounts and R16 flagged all three. An operator's accounts use their
    addresses day after day and stay linked, whatever their device ids."""
    couple = _turns([21, 22], 3, 15, devices={21: "family", 22: "family"}, ips=("10.3.4.4",))
    stranger = [rec(23, d * 24 - 4, 2.5, device=f"phone-{d}", ip="10.3.5.5") for d in range(3)]
    passing = [
        rec(21, 5 * 24 + 2, 0.5, device="phone-21", ip="10.3.9.77"),
        rec(23, 6 * 24 + 2, 0.5, device="phone-23", ip="10.3.9.77"),
    ]
    fresh = _turns(
        [3, 4, 16],
        3,
        15,
        devices={3: "a", 4: "b", 16: "c"},
        ips=("10.3.1.1", "10.3.1.2", "10.3.1.3", "10.3.1.4"),
    )
    ids, X = compute(couple + stranger + passing + fresh, {})
    for lid in (21, 22, 23):
        assert row(ids, X, lid)["relay_days"] == 0
    for lid in (3, 4, 16):
        assert row(ids, X, lid)["relay_days"] == 3


def test_the_address_changing_with_the_account_on_one_device() -> None:
    """Two accounts taking turns on one PC, five minutes between lessons, each lesson from
    the next of three rotating addresses: R19 on every day it happens. A couple at their
    home PC (one address), two colleagues on an office PC behind the unit's NAT (its two
    uplinks alternate, but a dozen colleagues use them), a learner whose laptop moves from
    home to the office (one account), and the same farm on one day only are not."""
    rotating = ("10.3.7.1", "10.3.7.2", "10.3.7.3")
    farm = _turns([1, 2], 3, 12, ips=rotating)
    couple = _turns([3, 4], 3, 12, devices={3: "family", 4: "family"}, ips=("10.3.8.8",))
    office = _turns([5, 6], 3, 4, devices={5: "office", 6: "office"}, ips=("10.4.0.1", "10.4.0.2"))
    office += [
        rec(lid, d * 24 + 9, 1, device=f"pc-{lid}", ip=ip)
        for lid in range(20, 32)
        for d, ip in ((0, "10.4.0.1"), (1, "10.4.0.2"))
    ]
    laptop = [
        rec(7, d * 24 + h, 1, device="laptop", ip=ip)
        for d in range(3)
        for h, ip in ((-1, "10.5.0.1"), (0.1, "10.5.9.9"), (1.2, "10.5.0.1"), (2.3, "10.5.9.9"))
    ]
    once = _turns([8, 9], 1, 12, devices={8: "m", 9: "m"}, ips=rotating[:2], first_day=5)
    ids, X = compute(farm + couple + office + laptop + once, {})
    for lid in (1, 2):
        assert row(ids, X, lid)["rotating_handover_days"] == 3
    for lid in (3, 4, 5, 6, 7):
        assert row(ids, X, lid)["rotating_handover_days"] == 0
    for lid in (8, 9):
        assert row(ids, X, lid)["rotating_handover_days"] == 1
    hits = evaluate(X, DEFAULT_THRESHOLDS)
    r19 = [r.id for r in RULES].index("R19")
    assert {int(i) for i, h in zip(ids, hits[:, r19], strict=True) if h} == {1, 2}
    # The reviewer reads the honest explanations with the rule (the anomaly drivers'
    # notes never show for a column the forest leaves out).
    text = explain(RULES[r19], row(ids, X, 1))
    assert "有 3 天" in text and "VPN" in text and "出口线路" in text


@pytest.mark.parametrize(
    ("ip", "network", "city"),
    [
        ("10.3.7.1", "10.3.7.1", "10.3"),
        ("2408:8207:1:2:a1b2:c3d4:e5f6:7788", "2408:8207:1:2::/64", "2408:8207::/32"),
        ("2408:8207:1:2::9", "2408:8207:1:2::/64", "2408:8207::/32"),  # the same home
        ("fe80::1%eth0", "fe80::/64", "fe80::/32"),
        ("::ffff:10.3.7.1", "10.3.7.1", "10.3"),  # IPv4 seen through IPv6
        ("not-an-address", "not-an-address", "not-an-address"),
        ("", "", ""),
    ],
)
def test_addresses_as_the_graph_sees_them(ip: str, network: str, city: str) -> None:
    assert network_of(ip) == network
    assert city_of(ip) == city


def test_an_ipv6_home_is_one_place() -> None:
    """Over IPv6 each device of a home has an address of its own and a new one every day
    (privacy extensions): by full address a couple's two PCs were strangers and a learner's
    PC a new network every day, and a dual-stack home, alternating between its IPv4 and its
    IPv6 network in one evening, was two cities a day (R07 on three days). A two-account
    farm rotating its IPv6 networks between lessons still changes network with the account
    (R19); a dual-stack couple taking turns does not."""
    home = "2408:8207:1:2:"
    learner = [
        rec(1, d * 24 + 11 + k, 0.75, device="pc-1", ip=ip)
        for d in range(4)
        for k, ip in enumerate([f"{home}{d}::a1", "10.3.7.1", f"{home}{d}::a1", "10.3.7.1"])
    ]
    partner = [rec(2, d * 24 + 16, 1, device="pc-2", ip=f"{home}{d}::b2") for d in range(4)]
    ids, X = compute(learner + partner, {})
    r = row(ids, X, 1)
    assert r["addresses"] == 2 and r["multi_city_days"] == 0 and r["cities_max_per_day"] == 1
    assert r["address_accounts"] == 1  # the partner's PC is in the same home network
    assert not evaluate(X, DEFAULT_THRESHOLDS)[:, [x.id for x in RULES].index("R07")].any()

    farm = _turns([3, 4], 3, 12, ips=("2408:8207:5:1::9", "2408:8207:5:2::9", "2408:8207:5:3::9"))
    couple = _turns(
        [5, 6], 3, 12, devices={5: "family", 6: "family"}, ips=("2408:8207:6:1::7", "10.3.8.8")
    )
    ids, X = compute(farm + couple, {})
    assert [row(ids, X, lid)["rotating_handover_days"] for lid in (3, 4, 5, 6)] == [3, 3, 0, 0]


def test_a_machine_that_earns_most_of_the_credit_of_several_units_people() -> None:
    """A farm keeping to two accounts a day and moving on to new clients once their quota
    is earned: no day has three accounts (R16 sees nothing), but over the period the machine
    is nearly the only place five people of four units studied; a second tab of one client
    does not hide it, and rotated device ids are linked through the addresses. A unit's
    shared office PC (one unit), a couple's home PC (two accounts), colleagues of several
    units behind one small address who now and then study at the same time, and a machine
    whose accounts also study much elsewhere do not count."""
    farm: list[SessionRecord] = []
    for pair, first in (([1, 2], 0), ([3, 4], 2), ([5], 4)):  # each pair for two days
        farm += _turns(pair, 2, 10, first_day=first)
    # a second tab during his second lesson
    farm.append(rec(1, 0.8, 0.5, device="machine", ip="10.3.0.9"))
    rotated = [
        replace(
            r,
            learner_id=r.learner_id + 40,
            device=f"id-{r.learner_id}",
            ip=f"10.4.0.{k % 3}",  # the addresses rotate lesson by lesson
        )
        for k, r in enumerate(farm)
    ]
    office = [
        rec(lid, d * 24 + 2 * (lid - 10), 2, device="office-pc", ip="10.5.0.1")
        for lid in (10, 11, 12, 13, 14)
        for d in range(4)
    ]
    couple = [
        rec(lid, d * 24 + 11 + 2 * (lid - 20), 2, device="home", ip="10.8.0.1")
        for lid in (20, 21)
        for d in range(6)
    ]
    nat = [
        rec(
            lid,
            d * 24 + 1.5 * (lid - 30) + (0.5 if d == 2 and lid == 31 else 0),
            2,
            device=f"pc-{lid}",
            ip="10.6.0.1",
        )
        for lid in (30, 31, 32, 33)
        for d in range(4)
    ]
    elsewhere = [
        rec(lid, d * 24 + 2 * (lid - 50), 2, device="lab", ip="10.9.0.1")
        for lid in (50, 51, 52, 53)
        for d in range(4)
    ]
    elsewhere += [
        rec(lid, d * 24 + 12, 2, device=f"own-{lid}", ip=f"10.7.0.{lid}")
        for lid in (50, 51, 52, 53)
        for d in range(4)
    ]
    units = {1: 1, 2: 2, 3: 3, 4: 1, 5: 4, 10: 10, 11: 10, 12: 10, 13: 10, 14: 10}
    units |= {20: 20, 21: 21, 30: 30, 31: 31, 32: 32, 33: 33, 50: 50, 51: 51, 52: 52, 53: 53}
    units |= {lid + 40: u for lid, u in units.items() if lid <= 5}
    regions = Regions.from_paths([(lid, f"/1/4/{u}/") for lid, u in units.items()])
    ids, X = compute(farm + rotated + office + couple + nat + elsewhere, {}, regions)
    for lid in (1, 2, 3, 4, 5, 41, 42, 43, 44, 45):
        r = row(ids, X, lid)
        assert r["machine_clients"] == 5, lid
        assert r["relay_days"] == 0  # two accounts a day
    for lid in (10, 11, 12, 13, 14, 30, 31, 32, 33, 50, 51, 52, 53):
        assert row(ids, X, lid)["machine_clients"] == 0, lid
    assert row(ids, X, 20)["machine_clients"] == row(ids, X, 21)["machine_clients"] == 2
    hits = evaluate(X, DEFAULT_THRESHOLDS)
    r18 = [r.id for r in RULES].index("R18")
    fired = {int(i) for i, h in zip(ids, hits[:, r18], strict=True) if h}
    assert fired == {1, 2, 3, 4, 5, 41, 42, 43, 44, 45}


@pytest.mark.parametrize(
    ("proxy_habits", "low", "high"),
    [
        ({}, 1.0, 1.0),  # the owner on a new laptop: same input rate, same latencies
        ({"interactions": 24}, 3.0, 5.0),  # 0.4 a minute against the owner's 2
        ({"interactions": 100}, 1.0, 1.1),  # 1.7 a minute against 2: a small change stays small
        (  # answers three times as fast, every time
            {"challenge_latencies_ms": [900, 1100], "challenges_issued": 2},
            1.5,
            3.0,
        ),
    ],
)
def test_takeover_habit_change(proxy_habits: dict[str, object], low: float, high: float) -> None:
    """The person on the new device is told apart by their input rate and challenge latency."""
    owner = [rec(1, d * 24 + 9, 1, device="own") for d in range(3)]
    later = [
        rec(1, d * 24 + 20, 1, device="new", ip="10.1.3.3", **proxy_habits) for d in range(3, 9)
    ]
    ids, X = compute(owner + later, {})
    r = row(ids, X, 1)
    assert r["takeover_share"] >= 0.6 and r["takeover_new_address_share"] == 1.0
    assert low <= r["takeover_behaviour_change"] <= high


def test_input_rate_allows_for_lessons_that_differ() -> None:
    """One person's lessons differ by more than chance (one with many pauses and notes, one
    watched still): a new device that happened to get more of the busy ones is the same
    person. Counted as Poisson noise alone, this read 1.37."""
    counts = [40, 200, 40]
    owner = [rec(1, d * 24 + 9, 1, device="own", interactions=c) for d, c in enumerate(counts)]
    later = [
        rec(1, d * 24 + 20, 1, device="new", ip="10.1.3.3", interactions=c)
        for d, c in zip(range(3, 9), [200, 40, 200, 200, 40, 200], strict=True)
    ]
    ids, X = compute(owner + later, {})
    assert row(ids, X, 1)["takeover_behaviour_change"] < 1.2


PHONE_UA = "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 Chrome/125.0 Mobile Safari/537.36"


def test_input_rates_are_compared_between_clients_of_one_kind() -> None:
    """A phone counts taps, a mouse every move: the owner who moved from the office PC to
    their phone changes the count, not the person; the same count on a new PC does read as
    another person, and a phone that answers challenges three times faster still does."""
    owner = [rec(k, d * 24 + 9, 1, device=f"own{k}") for k in (1, 2, 3) for d in range(3)]
    quiet = {"interactions": 24}  # 0.4 a minute against the owner's 2
    later = [
        rec(1, d * 24 + 20, 1, device="phone1", ip="10.1.3.3", ua=PHONE_UA, **quiet)
        for d in range(3, 9)
    ]
    later += [rec(2, d * 24 + 20, 1, device="pc2", ip="10.1.3.4", **quiet) for d in range(3, 9)]
    later += [
        rec(
            3,
            d * 24 + 20,
            1,
            device="phone3",
            ip="10.1.3.5",
            ua=PHONE_UA,
            challenge_latencies_ms=[900, 1000],
            **quiet,
        )
        for d in range(3, 9)
    ]
    ids, X = compute(owner + later, {})
    assert row(ids, X, 1)["takeover_behaviour_change"] == 1.0
    assert row(ids, X, 2)["takeover_behaviour_change"] >= 3.0
    assert row(ids, X, 3)["takeover_behaviour_change"] >= 1.5


def test_takeover_from_one_fixed_place() -> None:
    """The new device's credit from its one main address: a proxy's home holds all of it; a
    phone on a carrier's pool of addresses spreads it."""
    owner = [
        rec(k, d * 24 + 9, 1, device=f"own{k}", ip="10.1.1.1") for k in (1, 2) for d in range(3)
    ]
    home = [
        rec(1, d * 24 + 9, 1, device="new", ip="10.1.3.3", interactions=200) for d in range(3, 9)
    ]
    phone = [
        rec(2, d * 24 + 9, 1, device="phone", ip=f"10.1.9.{d}", interactions=200)
        for d in range(3, 9)
    ]
    ids, X = compute(owner + home + phone, {})
    proxy, commuter = row(ids, X, 1), row(ids, X, 2)
    assert proxy["takeover_place_share"] == 1.0
    assert commuter["takeover_place_share"] == pytest.approx(1 / 6)
    for r in (proxy, commuter):
        assert r["takeover_new_address_share"] == 1.0 and r["takeover_hour_shift"] < 1


def test_course_order_by_credit_density() -> None:
    """Courses taken in order of credits per minute correlate ~1; eleven courses, whose
    order a random draw puts in line often enough, are not judged."""
    density = {c: 1.0 / c for c in range(1, 13)}
    sessions = [rec(1, i * 2, 1, course=c) for i, c in enumerate(range(1, 13))]
    sessions += [rec(2, i * 2, 1, course=c) for i, c in enumerate(range(1, 12))]
    ids, X = compute(sessions, density)
    assert row(ids, X, 1)["course_density_corr"] == pytest.approx(1.0)
    assert row(ids, X, 2)["course_density_corr"] == 0.0


def _matrix(**values: float) -> np.ndarray:
    x = np.zeros((1, len(FEATURES)))
    x[0, FEATURES.index("sessions")] = 10
    x[0, FEATURES.index("wall_hours")] = 5
    x[0, FEATURES.index("interactions_per_min")] = 2
    x[0, FEATURES.index("pauses_per_hour")] = 20
    x[0, FEATURES.index("cities_max_per_day")] = 1
    x[0, FEATURES.index("verified_ratio")] = 0.8
    for k, v in values.items():
        x[0, FEATURES.index(k)] = v
    return x


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({}, []),
        ({"overlap_share": 0.2}, ["R01"]),
        ({"rate_violations": 40}, ["R02"]),
        ({"zero_credit_share": 1.0, "forward_seeks": 8}, ["R03"]),
        ({"zero_credit_share": 1.0}, []),  # hidden tabs earn nothing, but jump nowhere
        ({"challenges_issued": 8, "challenge_unanswered_share": 1.0}, ["R04"]),
        ({"interactions_per_min": 0.0, "pauses_per_hour": 0.0}, ["R05"]),
        ({"device_concurrent_accounts": 3}, ["R06"]),
        ({"cities_max_per_day": 2, "multi_city_days": 3}, ["R07"]),
        ({"cities_max_per_day": 2, "multi_city_days": 1}, []),  # a travel day
        (
            {
                "takeover_share": 0.9,
                "takeover_hour_shift": 8,
                "takeover_new_address_share": 1.0,
                "takeover_behaviour_change": 2.0,
            },
            ["R08"],
        ),
        # new device, new home network, evenings, the same person's habits: a new laptop
        (
            {
                "takeover_share": 0.9,
                "takeover_hour_shift": 8,
                "takeover_new_address_share": 1.0,
                "takeover_behaviour_change": 1.1,
            },
            [],
        ),
        # a proxy in another city at the owner's hours, with their own habits
        (
            {
                "takeover_share": 0.9,
                "takeover_new_city_share": 1.0,
                "takeover_behaviour_change": 1.4,
            },
            ["R08"],
        ),
        # a trip with a new laptop: another city, the same person's habits
        (
            {
                "takeover_share": 0.9,
                "takeover_new_city_share": 1.0,
                "takeover_behaviour_change": 1.01,
            },
            [],
        ),
        # a proxy in the owner's city at the owner's hours, from their own home
        (
            {
                "takeover_share": 0.9,
                "takeover_hour_shift": 0.5,
                "takeover_new_address_share": 1.0,
                "takeover_place_share": 1.0,
                "takeover_behaviour_change": 1.5,
            },
            ["R08"],
        ),
        # moved house: a new laptop on the new home's broadband, the same person's habits
        (
            {
                "takeover_share": 0.9,
                "takeover_hour_shift": 0.5,
                "takeover_new_address_share": 1.0,
                "takeover_place_share": 1.0,
                "takeover_behaviour_change": 1.05,
            },
            [],
        ),
        # habits a little apart are not enough, at the owner's hours or in the evenings (a
        # mover who pauses more at home, and so touches the mouse more)
        (
            {
                "takeover_share": 0.9,
                "takeover_hour_shift": 0.5,
                "takeover_new_address_share": 1.0,
                "takeover_place_share": 1.0,
                "takeover_behaviour_change": 1.35,
            },
            [],
        ),
        (
            {
                "takeover_share": 0.9,
                "takeover_hour_shift": 6,
                "takeover_new_address_share": 1.0,
                "takeover_place_share": 1.0,
                "takeover_behaviour_change": 1.35,
            },
            [],
        ),
        # a phone on a carrier's pool of addresses (touch input differs): no fixed place
        (
            {
                "takeover_share": 0.9,
                "takeover_hour_shift": 0.5,
                "takeover_new_address_share": 1.0,
                "takeover_place_share": 0.2,
                "takeover_behaviour_change": 1.8,
            },
            [],
        ),
        ({"takeover_share": 0.9, "takeover_hour_shift": 8}, []),  # a new laptop at home, evenings
        ({"takeover_share": 0.9, "takeover_hour_shift": 1}, []),  # a new device at the usual hours
        ({"self_overlap_share": 0.5, "overlapping_sessions": 6}, ["R10"]),
        ({"unattended_hours": 4}, ["R11"]),
        ({"handoff_partners": 3, "shared_device_credit": 1.0}, ["R12"]),
        ({"handoff_partners": 1, "shared_device_credit": 1.0}, []),  # a couple's home PC
        ({"handoff_partners": 3, "shared_device_credit": 0.4}, []),  # the office PC
        ({"wall_hours": 12, "verified_ratio": 0.99, "pauses_per_hour": 0.1}, ["R13"]),
        ({"wall_hours": 12, "verified_ratio": 0.99, "pauses_per_hour": 3}, []),
        ({"course_density_corr": 0.97}, ["R09"]),
        # a proxy in another city for an owner who never studied
        ({"away_region_share": 1.0, "away_region_days": 5, "wall_hours": 20}, ["R15"]),
        ({"away_region_share": 1.0, "away_region_days": 3, "wall_hours": 20}, []),  # a trip
        ({"away_region_share": 0.5, "away_region_days": 9, "wall_hours": 20}, []),  # trips
        ({"relay_days": 2, "relay_hours_max": 15}, ["R16"]),  # a farm's days
        ({"relay_days": 0, "relay_hours_max": 14}, []),  # two accounts (a cramming couple)
        ({"relay_days": 1, "relay_hours_max": 13}, []),  # one long day
        ({"machine_clients": 5}, ["R18"]),  # a farm moving on to new clients
        ({"machine_clients": 3}, []),  # three people of a household
        ({"rotating_handover_days": 3}, ["R19"]),  # a two-account farm rotating addresses
        ({"rotating_handover_days": 1}, []),  # one day: a laptop moved to another network
        ({"non_browser_share": 1.0}, ["T01"]),
        ({"verified_24h_max": 23.5}, ["R17"]),  # a machine that never sleeps
        ({"verified_24h_max": 17.5, "daily_hours_max": 15}, []),  # the longest cramming day
        (
            {
                "night_share": 1.0,
                "daily_hours_max": 9,
                "address_accounts": 40,
                "device_accounts": 3,
            },
            [],
        ),  # hard negatives
    ],
)
def test_rules_table(values: dict[str, float], expected: list[str]) -> None:
    """Each rule fires on its evidence and not on the innocent look-alikes."""
    hits = evaluate(_matrix(**values), DEFAULT_THRESHOLDS)
    assert [r.id for r, h in zip(RULES, hits[0], strict=True) if h] == expected


def test_the_most_verified_hours_in_any_24_hours() -> None:
    """Server time only, across midnight: a script playing round the clock from noon has
    its 24 hours though no calendar day holds more than twelve; a learner cramming two long
    days (13 h, then 10 h after a night's sleep) stays under a machine's day."""
    script = [rec(1, 3 + k, 1) for k in range(30)]  # 11:00 on, an hour a lesson, 30 h
    crammer = [rec(2, h, 1) for h in range(13)] + [rec(2, 22 + h, 1) for h in range(10)]
    hidden = [rec(3, k, 1, verified=0.0) for k in range(24)]  # a hidden tab earns nothing
    ids, X = compute(script + crammer + hidden, {})
    assert row(ids, X, 1)["verified_24h_max"] == pytest.approx(24.0)
    assert row(ids, X, 2)["verified_24h_max"] == pytest.approx(15.0)  # 13 + 2 of the next
    assert row(ids, X, 3)["verified_24h_max"] == 0.0
    hits = evaluate(X, DEFAULT_THRESHOLDS)
    r17 = [r.id for r in RULES].index("R17")
    assert [int(i) for i in ids[hits[:, r17]]] == [1]


def test_thresholds_are_configuration() -> None:
    """A JSON override moves a threshold; an unknown key is refused."""
    t = load_thresholds('{"R07.cities_per_day": 3}')
    assert not evaluate(_matrix(cities_max_per_day=2, multi_city_days=5), t).any()
    with pytest.raises(ValueError, match="unknown"):
        load_thresholds('{"R99.nothing": 1}')


def test_explanations_are_chinese_with_values_and_percentiles() -> None:
    """A flag names its rules with the learner's value, and its drivers with cohort percentiles."""
    rng = np.random.default_rng(0)
    cohort = np.vstack([_matrix() + rng.normal(0, 0.01, (1, len(FEATURES))) for _ in range(60)])
    cohort = np.abs(cohort)
    bad = _matrix(cities_max_per_day=2, multi_city_days=4, overlap_share=0.3, unattended_hours=5)
    det = fit(cohort, DEFAULT_THRESHOLDS, window=(dt.date(2026, 3, 1), dt.date(2026, 3, 14)))
    (decision,) = score(det, np.array([99]), bad)
    assert decision.flagged
    assert decision.band == "high"
    texts = " ".join(r["text"] for r in decision.rules)
    assert "30%" in texts
    assert "有 4 天在同一天内从不同地区" in texts
    # New signals show the learner's value against the cohort's median.
    assert "5.0 小时的学习会话" in texts and "同批学员中位数 0.0 小时" in texts
    assert decision.drivers
    assert all(0 <= d["percentile"] <= 100 for d in decision.drivers)
    assert {d["feature"] for d in decision.drivers} & {"overlap_share", "cities_max_per_day"}


@pytest.mark.parametrize(
    ("changed", "rules", "band"),
    [
        # a second lesson hidden in another tab: reported (technical R10), earns nothing
        (
            {
                "self_overlap_share": 0.6,
                "overlapping_sessions": 12,
                "zero_credit_share": 0.4,
                "hidden_share": 0.4,
            },
            ["R10"],
            "low",
        ),
        # a three-day trip: two places on two days, a fifth of the credit from elsewhere
        (
            {
                "cities_max_per_day": 2,
                "multi_city_days": 2,
                "away_region_share": 0.2,
                "away_region_days": 3,
            },
            [],
            "none",
        ),
        # a cramming day before the deadline: nine hours, every lesson back to back
        ({"daily_hours_max": 9.0, "back_to_back_share": 1.0}, [], "none"),
        # a new laptop at home in the evenings, used by the same person (no habit change)
        (
            {
                "takeover_share": 0.8,
                "takeover_hour_shift": 6.0,
                "takeover_new_address_share": 1.0,
                "takeover_new_city_share": 0.0,
            },
            [],
            "none",
        ),
    ],
)
def test_a_harmless_rare_circumstance_does_not_move_the_anomaly_score(
    changed: dict[str, float], rules: list[str], band: str
) -> None:
    """Habits that earn nothing, trips and catching up are judged by their rules, not by
    rarity: the same learner with and without them gets the same anomaly score."""
    rng = np.random.default_rng(2)
    cohort = np.repeat(_matrix(), 300, axis=0) * rng.uniform(0.7, 1.3, size=(300, len(FEATURES)))
    columns = [FEATURES.index(f) for f in changed]
    cohort[:, columns] = rng.uniform(0.0, 0.05, size=(300, len(columns)))
    detector = fit(cohort, DEFAULT_THRESHOLDS, window=(T0.date(), T0.date()))
    plain = cohort[:1].copy()
    unusual = plain.copy()
    unusual[0, columns] = list(changed.values())
    a, b = score(detector, np.array([1, 2]), np.vstack([plain, unusual]))
    same = detector.anomaly.score_samples(np.vstack([plain, unusual])[:, SCORED])
    assert same[0] == same[1]
    assert (a.band, a.kind) == ("none", "none")
    assert b.band == band and b.kind != "behaviour"
    assert [r["id"] for r in b.rules] == rules
    assert not any(d["feature"] in changed for d in b.drivers)


def test_estimators_follow_sklearn_conventions() -> None:
    """Parameters set in __init__ only, clone works, fitted attributes end in _, random_state reproduces."""
    rng = np.random.default_rng(1)
    X = rng.normal(size=(200, 5))
    a = AnomalyDetector(random_state=3, target_fpr=0.05)
    assert a.get_params()["target_fpr"] == 0.05
    b = clone(a)
    assert not hasattr(b, "threshold_")
    s1 = a.fit(X).score_samples(X)
    s2 = b.fit(X).score_samples(X)
    assert np.allclose(s1, s2)
    assert (a.predict(X) == -1).mean() == pytest.approx(0.05, abs=0.01)
    clf = ReviewedClassifier().fit(X[:8], [0, 1] * 4)
    assert not clf.active_  # too few decisions yet
    assert (clf.predict_proba(X)[:, 1] == 0).all()
    y = (X[:, 0] > 0).astype(int)
    clf = ReviewedClassifier().fit(X, y)
    assert clf.active_
    assert (clf.predict(X) == y).mean() > 0.9


async def test_flags_are_scoped(client: object, ctx: object, world: object) -> None:
    """A city reviewer sees flags of their city's learners only; learners cannot list flags."""
    from aiohttp.test_utils import TestClient

    from models import DetectionFlag
    from proctor.kernel.context import Context
    from tests.factories import World, login

    assert isinstance(client, TestClient)
    assert isinstance(ctx, Context)
    assert isinstance(world, World)
    async with ctx.db.begin() as s:
        for key in ("zhang", "zhao"):
            s.add(
                DetectionFlag(
                    learner_id=world.learners[key].id,
                    period_start=dt.date(2026, 3, 1),
                    period_end=dt.date(2026, 3, 7),
                    risk=0.9,
                    band="high",
                    kind="behaviour",
                    rules=[
                        {
                            "id": "R07",
                            "name": "同日异地学习",
                            "text": "同一天内从 2 个不同地区的网络登录学习",
                        }
                    ],
                    drivers=[],
                    model_version="t",
                    thresholds={},
                )
            )
    resp = await client.get("/api/v1/flags", headers=await login(client, "cs_reviewer"))
    names = [f["learner_name"] for f in (await resp.json())["items"]]
    assert names == ["张伟"]
    page = await client.get("/admin/flags", headers=await login(client, "cs_reviewer"))
    assert "同日异地学习" in await page.text()
    assert (await client.get("/api/v1/flags", headers=await login(client, "zhang"))).status == 403
