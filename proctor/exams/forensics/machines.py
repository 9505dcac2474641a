"""One machine sitting the exam for several learners, none of whom ever studied on it.

A proxy for hire serves clients: he sits one exam after another for learners of different
units on his own machine, from his own network. Each client's attempt alone looks like a
traveller's (a device and an address new to the learner, P01); together they share what
no traveller shares with strangers: one device, or one small network, that none of them
ever used to study. What tells a hired proxy's machine from an exam centre's room, where
learners of many units also sit on PCs new to them, is the size of the place: a centre
(or a unit's computer room) puts many devices behind its address in one exam, a proxy's
desk one or two.

Linked are attempts whose device and address are both new to their learner (as for P01),
at addresses with at most ``max_devices`` devices in this exam, through a shared device
(whatever address each used: a proxy behind a rotating VPN) or a shared address (a proxy
who gives each client a fresh device id). A group of at least ``min_learners`` learners is
reported to each of them when they belong to more than one organisation (colleagues of
one unit sitting the exam on an office PC are not strangers to each other). Two colleagues
on one hotel PC make two, so the default is three. What evades it: a machine and a
network per client, or a place with many other examinees; both cost a proxy service the
throughput of one desk.

**Across exams.** A service that sits one or two clients in each exam is linked through
its earlier sittings (``earlier``: attempts of other exams on a device one of this exam's
strangers used, where that learner too was a stranger to the device and its address,
read by the service layer from the database): they join the groups through the device
only (an address is reassigned over months: a home network that served a proxy in spring
may be a stranger's new home in autumn), count as learners, and only this exam's attempts
are reported.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from proctor.exams.forensics.data import AttemptRecord, StudyHistory
from proctor.kernel.networks import network_of


@dataclass(frozen=True)
class SharedMachine:
    """The group an attempt belongs to: its learners, devices and addresses in this exam."""

    learners: int
    units: int  # their organisations: a proxy's clients come from several
    devices: int
    addresses: int
    address_devices: int  # the most devices any of its addresses had in its exam
    earlier_learners: int = 0  # of the learners, those seen only in earlier exams
    # the group's attempts, for the reviewer: this exam's, and (exam, attempt) of earlier ones
    attempts: tuple[int, ...] = ()
    earlier_attempts: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True)
class EarlierSitting:
    """An attempt of an earlier exam on a device or at an address this exam's strangers
    used, by a learner to whom both were new too."""

    learner_id: int
    unit_id: int
    device: str
    ip: str
    address_devices: int  # devices at its address in its own exam
    exam_id: int = 0
    attempt_id: int = 0


def is_stranger(device: str, ip: str, devices: Collection[str], ips: Collection[str]) -> bool:
    """Device and address both new to a learner whose study (``devices``, ``ips``) has any
    to compare with."""
    if not (devices or ips):
        return False
    return device not in devices and network_of(ip) not in ips


def _stranger(att: AttemptRecord, history: StudyHistory | None) -> bool:
    return history is not None and is_stranger(att.device, att.ip, history.devices, history.ips)


def shared_machines(
    attempts: Sequence[AttemptRecord],
    histories: Mapping[int, StudyHistory],
    *,
    min_learners: int = 3,
    max_devices: int = 3,
    earlier: Sequence[EarlierSitting] = (),
) -> dict[int, SharedMachine]:
    """Attempt index -> its group, for the attempts in a group of ``min_learners`` or more.

    ``earlier`` sittings join the groups as nodes numbered after this exam's attempts."""
    devices_at: dict[str, set[str]] = defaultdict(set)
    for att in attempts:
        devices_at[att.ip].add(att.device)
    n = len(attempts)
    # every node: (learner, unit, device, ip, devices at its address in its own exam)
    nodes = [
        (att.learner_id, att.unit_id, att.device, att.ip, len(devices_at[att.ip]))
        for att in attempts
    ] + [(e.learner_id, e.unit_id, e.device, e.ip, e.address_devices) for e in earlier]
    members = [
        k
        for k, att in enumerate(attempts)
        if _stranger(att, histories.get(att.learner_id)) and len(devices_at[att.ip]) <= max_devices
    ] + [n + j for j, e in enumerate(earlier) if e.address_devices <= max_devices]
    parent = {k: k for k in members}

    def root(k: int) -> int:
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    first_by: dict[tuple[str, str], int] = {}
    for k in members:
        _, _, device, ip, _ = nodes[k]
        # across exams only the device links: an address months ago may be someone else's;
        # a client that sent no device id shares "" with every other such client
        keys = [("device", device)] + ([("ip", ip)] if k < n else [])
        for key in (key for key in keys if key[1]):
            other = first_by.setdefault(key, k)
            parent[root(k)] = root(other)
    groups: dict[int, list[int]] = defaultdict(list)
    for k in members:
        groups[root(k)].append(k)
    out: dict[int, SharedMachine] = {}
    for rows in groups.values():
        here = [k for k in rows if k < n]
        learners = {nodes[k][0] for k in rows}
        units = {nodes[k][1] for k in rows}
        if not here or len(learners) < min_learners or len(units) < 2:
            continue
        found = SharedMachine(
            learners=len(learners),
            units=len(units),
            devices=len({nodes[k][2] for k in rows}),
            addresses=len({nodes[k][3] for k in rows}),
            address_devices=max(nodes[k][4] for k in rows),
            earlier_learners=len(learners - {nodes[k][0] for k in here}),
            attempts=tuple(sorted(attempts[k].attempt_id for k in here)),
            earlier_attempts=tuple(
                sorted((earlier[k - n].exam_id, earlier[k - n].attempt_id) for k in rows if k >= n)
            ),
        )
        out.update(dict.fromkeys(here, found))
    return out
