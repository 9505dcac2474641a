"""P08: one machine sitting the exam for several learners, new to every one of them."""

from __future__ import annotations

from dataclasses import replace

import pytest

from proctor.exams.forensics.config import ForensicConfig
from proctor.exams.forensics.data import AttemptRecord, StudyHistory
from proctor.exams.forensics.machines import EarlierSitting, is_stranger, shared_machines
from proctor.exams.forensics.proxy import check_proxy
from proctor.kernel.networks import network_of


def _sat(learner: int, device: str, ip: str, unit: int) -> AttemptRecord:
    return AttemptRecord(learner, learner, {}, {}, 0.0, ip, device, unit)


def _history(learner: int, *, device: str | None = None) -> StudyHistory:
    devices = {f"pc-{learner}"} | ({device} if device else set())
    return StudyHistory(learner, frozenset(devices), frozenset({f"10.0.{learner}.1"}), 20.0)


# (learner, device, address, unit) per attempt; the learners found, in order
CASES = [
    # one desk, three clients of two units
    (
        [(1, "hire", "172.18.0.9", 1), (2, "hire", "172.18.0.9", 2), (3, "hire", "172.18.0.9", 1)],
        [1, 2, 3],
    ),
    # a fresh device id per client, one small network
    (
        [(1, "h1", "172.18.0.9", 1), (2, "h2", "172.18.0.9", 2), (3, "h3", "172.18.0.9", 3)],
        [1, 2, 3],
    ),
    # one machine behind a rotating VPN
    ([(1, "hire", "vpn-1", 1), (2, "hire", "vpn-2", 2), (3, "hire", "vpn-3", 3)], [1, 2, 3]),
    # two colleagues on a hotel PC are two, not a service
    ([(1, "hotel", "hotel-1", 1), (2, "hotel", "hotel-1", 2)], []),
    # three colleagues of one unit on an office PC none of them studied on
    (
        [(1, "office", "10.9.9.1", 1), (2, "office", "10.9.9.1", 1), (3, "office", "10.9.9.1", 1)],
        [],
    ),
    # an exam centre: twelve learners of three units on six PCs at one address
    ([(k, f"centre-pc{k % 6}", "centre", k % 3) for k in range(1, 13)], []),
    # three strangers whose clients sent no device id, at three addresses: nothing shared
    ([(1, "", "hotel-1", 1), (2, "", "hotel-2", 2), (3, "", "hotel-3", 3)], []),
    # the third client had studied on the machine: two strangers are left
    (
        [(1, "hire", "172.18.0.9", 1), (2, "hire", "172.18.0.9", 2), (4, "hire", "172.18.0.9", 3)],
        [],
    ),
]


@pytest.mark.parametrize(("sat", "found"), CASES)
def test_machines_that_sat_for_strangers(
    sat: list[tuple[int, str, str, int]], found: list[int]
) -> None:
    attempts = [_sat(*row) for row in sat]
    histories = {lid: _history(lid) for lid, *_ in sat}
    histories[4] = _history(4, device="hire")  # learner 4 studied on the machine
    groups = shared_machines(attempts, histories)
    assert sorted(attempts[k].learner_id for k in groups) == found


def test_a_shared_machine_joins_the_strangers_device_and_address_for_review() -> None:
    """A traveller's new device and address stay low; a machine that sat the exam for two
    other learners of other units as well makes it two reasons, the review band."""
    attempts = [_sat(k, "hire", "172.18.0.9", k) for k in (1, 2, 3)]
    histories = {k: _history(k) for k in (1, 2, 3)}
    groups = shared_machines(attempts, histories)
    cfg = ForensicConfig()
    alone = check_proxy(attempts[0], histories[1], 0.7, cfg)
    assert [r["id"] for r in alone.reasons] == ["P01"] and cfg.band(alone.risk) == "low"
    joined = check_proxy(attempts[0], histories[1], 0.7, cfg, machine=groups[0])
    assert [r["id"] for r in joined.reasons] == ["P01", "P08"]
    assert cfg.band(joined.risk) == "medium"
    assert "本场考试共有 3 名考生（来自 3 个单位）" in joined.reasons[1]["text"]
    assert joined.evidence["machine_learners"] == 3
    assert joined.evidence["machine_attempts"] == [2, 3]  # the others, not his own
    # on a device the learner studied on there is no P01, and the machine adds nothing
    own = check_proxy(_sat(1, "pc-1", "172.18.0.9", 1), histories[1], 0.7, cfg, machine=groups[0])
    assert not own.reasons


def test_a_service_that_sits_one_client_an_exam_is_linked_through_its_earlier_sittings() -> None:
    """One client in this exam, two in earlier ones on the same machine: three strangers;
    an earlier sitting at a centre's address (many devices in its exam) links nothing."""
    now = [_sat(1, "hire", "172.18.0.9", 1), _sat(5, "own-laptop", "hotel", 2)]
    histories = {k: _history(k) for k in (1, 5)}
    earlier = [
        EarlierSitting(2, 2, "hire", "172.18.0.9", 1, exam_id=7, attempt_id=70),
        EarlierSitting(3, 3, "hire", "vpn-7", 1, exam_id=8, attempt_id=80),
    ]
    groups = shared_machines(now, histories, earlier=earlier)
    assert list(groups) == [0]
    assert (groups[0].learners, groups[0].earlier_learners, groups[0].addresses) == (3, 2, 2)
    found = check_proxy(now[0], histories[1], 0.7, machine=groups[0])
    assert found.reasons[1]["text"].startswith(
        "本场及此前考试（其中 2 名只见于此前考试）共有 3 名考生"
    )
    # the reviewer is shown the machine's other sittings to read together
    assert found.evidence["machine_attempts"] == []
    assert found.evidence["machine_earlier"] == [
        {"exam_id": 7, "attempt_id": 70},
        {"exam_id": 8, "attempt_id": 80},
    ]
    # the same two earlier sittings at an exam centre's address are no service's desk
    centre = [replace(e, address_devices=40) for e in earlier]
    assert shared_machines(now, histories, earlier=centre) == {}
    # an address months ago may be someone else's: across exams only the device links
    elsewhere = [replace(e, device=f"other-{k}") for k, e in enumerate(earlier)]
    assert shared_machines(now, histories, earlier=elsewhere) == {}
    # earlier sittings alone are never reported
    assert shared_machines(now[1:], histories, earlier=earlier) == {}


@pytest.mark.parametrize(
    ("ip", "stranger"),
    [
        ("2408:8207:1:2:99aa::beef", False),  # the home's network, today's privacy address
        ("::ffff:10.3.7.1", False),  # the home's IPv4, seen through IPv6
        ("2408:8207:1:3::1", True),  # another network
        ("10.3.7.2", True),
    ],
)
def test_a_new_device_at_home_over_ipv6_is_not_a_stranger(ip: str, stranger: bool) -> None:
    """The learner studied at home over IPv6 and IPv4 and sits the exam on a new laptop
    there: the laptop's IPv6 address differs from the PC's (each device has its own, and
    a new one every day), its network does not; only a new network with a new device
    makes a stranger (P01, the machines of P08)."""
    studied = frozenset(network_of(x) for x in ("2408:8207:1:2:1111::1", "10.3.7.1"))
    assert is_stranger("new-laptop", ip, frozenset({"pc-1"}), studied) is stranger
