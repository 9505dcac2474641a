"""The vectorised features equal the straightforward per-learner reference."""

from __future__ import annotations

import datetime as dt
import random

import numpy as np
import pytest

from proctor.detection.features import FEATURES, FeatureBuilder, compute
from proctor.detection.reference import REFERENCE_FEATURES, SessionRecord, compute_reference
from proctor.detection.table import Encoders, from_rows

T0 = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)


def _table(seed: int, learners: int = 60) -> list[SessionRecord]:
    """A messy small table: shared devices and addresses, device switches, cities, ties,
    back-to-back sessions, courses of equal density, sessions without challenges."""
    rng = random.Random(seed)
    out = []
    for lid in range(1, learners + 1):
        start = T0 + dt.timedelta(hours=rng.uniform(0, 48))
        own = [f"pc-{lid}", f"ph-{lid}", f"pc-{lid % 7}"]
        for k in range(rng.randint(1, 30)):
            wall = rng.choice([0.0, 60.0, 900.0, 1800.0, rng.uniform(10, 5000)])
            # A late switch to a new device, as a takeover, for every third learner.
            device = f"new-{lid}" if k > 12 and lid % 3 == 0 else rng.choice(own)
            lat = [rng.uniform(300, 9000) for _ in range(rng.choice([0, 1, 2, 3]))]
            issued = rng.randint(0, 4)
            f = {
                "challenges_issued": issued,
                "challenges_correct": min(issued, len(lat)),
                "challenges_wrong": 0,
                "challenge_latencies_ms": lat,
                "interactions": rng.randint(0, 300),
                "codes": {"paused": rng.randint(0, 9), "hidden": rng.randint(0, 5)},
                "beats": int(wall / 10),
                "muted_frac": rng.random(),
                "seeks_forward": rng.randint(0, 2),
                "rate_exceeded": rng.randint(0, 1),
                "overlap_s": rng.choice([0.0, wall / 3]),
            }
            out.append(
                SessionRecord(
                    lid,
                    rng.randint(1, 14),
                    start,
                    start + dt.timedelta(seconds=wall),
                    wall,
                    wall * rng.choice([0.0, 0.5, 1.0]),
                    device,
                    rng.choice([f"10.{lid % 3}.0.1", f"10.{lid % 5 + 1}.{lid}.9", "192.168.1.1"]),
                    rng.choice(
                        ["Mozilla/5.0 Chrome", "python-requests/2", "Mozilla HeadlessChrome"]
                    ),
                    f,
                )
            )
            # Next start: right after (back to back), overlapping, the same instant, or later.
            start = start + dt.timedelta(
                seconds=rng.choice([wall + 30, wall / 2, 0, wall + rng.uniform(60, 20_000)])
            )
    rng.shuffle(out)
    out.sort(key=lambda r: r.learner_id)  # as SQL returns them: by learner, then start
    return sorted(out, key=lambda r: (r.learner_id, r.started))


def test_vectorised_features_match_the_reference() -> None:
    density = {c: (1.0 / c if c % 4 else 0.5) for c in range(1, 15)}
    for seed in range(6):
        records = _table(seed)
        ids, X = compute(records, density)
        ref_ids, ref = compute_reference(records, density)
        assert ids.tolist() == ref_ids.tolist()
        cols = [FEATURES.index(name) for name in REFERENCE_FEATURES]
        for j, name in zip(cols, REFERENCE_FEATURES, strict=True):
            np.testing.assert_allclose(
                X[:, j], ref[:, REFERENCE_FEATURES.index(name)], rtol=1e-9, atol=1e-9, err_msg=name
            )
        # The hard cases occur: takeovers, course-order correlations, shared devices.
        for name in ("takeover_share", "course_density_corr", "device_concurrent_accounts"):
            assert np.any(X[:, FEATURES.index(name)] != 0), name


def test_empty_and_chunked_input() -> None:
    """No sessions give an empty matrix; chunks of whole learners give the same features as
    one table, the account graph included (it spans chunks)."""
    _, X = compute([], {})
    assert X.shape == (0, len(FEATURES))
    records = _table(9)
    density = {c: 1.0 / c for c in range(1, 15)}
    ids, whole = compute(records, density)
    builder = FeatureBuilder(density)
    enc = Encoders.new()
    for part in (records[: len(records) // 2], records[len(records) // 2 :]):
        cut = [r for r in part if r.learner_id != records[len(records) // 2].learner_id]
        builder.add(from_rows((_row(r) for r in cut), enc))
    builder.add(
        from_rows(
            (_row(r) for r in records if r.learner_id == records[len(records) // 2].learner_id),
            enc,
        )
    )
    chunked_ids, chunked = builder.finish()
    assert chunked_ids.tolist() == ids.tolist()
    np.testing.assert_allclose(chunked, whole, rtol=1e-9, atol=1e-9)


def _row(r: SessionRecord) -> tuple[object, ...]:
    return (
        r.learner_id,
        r.course_id,
        r.started,
        r.ended,
        r.wall_s,
        r.verified_s,
        r.device,
        r.ip,
        r.user_agent,
        r.f,
    )


def test_new_signals_on_a_hand_made_table() -> None:
    """Two lessons open at once (one hidden), a device handed between accounts, a session
    without any input or pause, and a takeover from a new city."""
    t0 = T0 + dt.timedelta(hours=1)

    def rec(
        lid: int, start_h: float, hours: float, device: str, ip: str, **f: object
    ) -> SessionRecord:
        base: dict[str, object] = {"interactions": 5, "codes": {"paused": 1}}
        base.update(f)
        start = t0 + dt.timedelta(hours=start_h)
        wall = hours * 3600
        return SessionRecord(
            lid,
            1,
            start,
            start + dt.timedelta(seconds=wall),
            wall,
            wall,
            device,
            ip,
            "Mozilla",
            base,
        )

    records = [
        # learner 1: three pairs of lessons played together
        *[rec(1, d * 24 + k * 0.01, 0.5, "pc-1", "10.1.0.1") for d in range(3) for k in range(2)],
        # learners 2, 3, 4 take turns on one machine, each ending as the next starts
        *[
            rec(2 + (k % 3), k * 0.52, 0.5, "farm", "10.2.0.9", interactions=0, codes={})
            for k in range(18)
        ],
        # learners 5, 6, 7 do the same with their own device ids over three rotating addresses
        *[
            rec(5 + (k % 3), 100 + k * 0.52, 0.5, f"fresh-{k % 3}", f"10.6.{k // 3 % 3}.9")
            for k in range(18)
        ],
        # a couple on one home PC: one partner only
        *[rec(8 + (k % 2), 200 + k * 0.52, 0.5, "home", "10.7.0.1") for k in range(12)],
        # learners 10, 11, 12: fresh ids, each account on two of three addresses, so any two
        # accounts share only one address (used by no one else)
        *[
            rec(
                10 + k % 3,
                300 + k * 0.52,
                0.5,
                f"new-{k % 3}",
                f"10.8.{(k % 3 + k // 3 % 2) % 3}.9",
            )
            for k in range(18)
        ],
    ]
    ids, X = compute(sorted(records, key=lambda r: (r.learner_id, r.started)), {})
    v = {int(i): dict(zip(FEATURES, row, strict=True)) for i, row in zip(ids, X, strict=True)}
    assert v[1]["overlapping_sessions"] == 3
    assert v[1]["self_overlap_share"] == pytest.approx(3 * (0.5 - 0.01) / 3.0)
    assert v[1]["handoff_partners"] == 0
    for lid in (2, 3, 4):
        assert v[lid]["handoff_partners"] == 2
        assert v[lid]["shared_device_credit"] == 1.0
        assert v[lid]["unattended_hours"] == pytest.approx(3.0)
        assert v[lid]["overlapping_sessions"] == 0
        assert v[lid]["linked_handoff_partners"] == 2
    for lid in (5, 6, 7):
        assert v[lid]["handoff_partners"] == 0  # no device in common
        assert v[lid]["linked_handoff_partners"] == 2  # but they share all three addresses
        assert v[lid]["linked_handoff_share"] == 1.0
    assert v[8]["linked_handoff_partners"] == 1
    for lid in (10, 11, 12):
        assert v[lid]["addresses"] == 2
        assert v[lid]["linked_handoff_partners"] == 2  # one small address in common suffices
