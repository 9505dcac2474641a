"""The evaluation's statistics and the informed attacker's simulator (no tracker run)."""

from __future__ import annotations

import datetime as dt
import itertools
import random
from decimal import Decimal
from pathlib import Path

import pytest

from proctor.detection.scoring import Decision
from proctor.evaluation.detection import _false_positive, wilson
from proctor.simulate import adversary
from proctor.simulate.behaviour import honest
from proctor.simulate.world import SimCourse, SimLearner, SimLesson, SimWorld

DAY0 = dt.date(2026, 3, 2)


def _world(n: int = 12) -> SimWorld:
    courses = [
        SimCourse(
            c, (SimLesson(100 + c, c, 1200), SimLesson(200 + c, c, 900)), Decimal(1), 1 / (c + 1)
        )
        for c in range(1, 13)
    ]
    learners = [SimLearner(i, i % 3, "10.1", f"10.1.{i % 3}.1") for i in range(1, n + 1)]
    return SimWorld(learners, courses, ["10.1", "10.2", "10.6"])


def test_wilson_interval() -> None:
    """Known values; no observations give the whole range."""
    assert wilson(0, 0) == (0.0, 1.0)
    lo, hi = wilson(9, 10)
    assert lo == pytest.approx(0.5958, abs=1e-3) and hi == pytest.approx(0.9821, abs=1e-3)
    assert wilson(0, 300)[1] == pytest.approx(0.0126, abs=1e-3)


def test_a_two_tab_habit_counts_as_false_positive_only_for_behaviour_flags() -> None:
    technical = Decision(1, True, 0.5, "low", "technical")
    behaviour = Decision(1, True, 0.9, "high", "behaviour")
    assert not _false_positive("two_tab", technical)
    assert _false_positive("two_tab", behaviour)
    assert _false_positive("traveller", technical)
    assert not _false_positive("plain", None)


def test_sequential_farm_never_shares_the_machine_at_once_and_rotates_addresses() -> None:
    """The informed farm removes R06's tell: one account at a time, a few addresses."""
    world = _world()
    profiles = adversary.farm_sequential(random.Random(3), world, world.learners[:4], 7, DAY0)
    plans = sorted((p for pr in profiles for p in pr.plans), key=lambda p: p.start_ms)
    assert len({p.device for p in plans}) == 1
    assert 2 <= len({p.ip for p in plans}) <= 3
    assert len({p.learner_id for p in plans}) == 4
    for a, b in itertools.pairwise(plans):
        assert b.start_ms >= a.start_ms + a.watch_s * 1000  # planned one after another
    fresh = adversary.farm_sequential(
        random.Random(3), world, world.learners[:4], 7, DAY0, fresh_ids=True
    )
    assert len({p.device for pr in fresh for p in pr.plans}) == 4


def test_informed_variants_remove_their_tells() -> None:
    world = _world()
    rng = random.Random(5)
    learner = world.learners[0]
    s = adversary.script(rng, world, learner, 14, DAY0, low_slow=False)
    assert all("Mozilla" in p.user_agent and p.client.answer == "human" for p in s.plans)
    ids = [p.course.id for p in s.plans]
    assert ids == sorted(ids)  # catalog order: the course-order rule has nothing to see
    proxy = adversary.proxy_same_hours(rng, world, learner, 14, DAY0)
    hours = {(p.device, round(((p.start_ms / 3_600_000) + 8) % 24)) for p in proxy.plans}
    own = {h for d, h in hours if d == proxy.plans[0].device}
    theirs = {h for d, h in hours if d != proxy.plans[0].device}
    assert min(abs(a - b) for a in own for b in theirs) <= 1  # same hours as the owner
    alone = adversary.proxy_same_hours(rng, world, learner, 14, DAY0, owner_studies=False)
    assert alone.variant == "proxy_only" and alone.plans
    assert len({(p.device, p.ip) for p in alone.plans}) == 1  # nothing to change from
    assert all(not p.ip.startswith(learner.city_prefix + ".") for p in alone.plans)
    local = adversary.proxy_same_hours(rng, world, learner, 14, DAY0, local=True)
    assert local.variant == "proxy_local"
    late = local.plans[-1]
    assert late.ip.startswith(learner.city_prefix + ".")  # the owner's own city
    assert late.device not in {p.device for p in local.plans[:-1] if p.ip != late.ip}
    base = honest(rng, world, world.learners[1], 14, DAY0, "plain", {})
    tabs = adversary.two_tab(rng, world, base)
    assert any(p.concurrent and p.client.hide_p == 1.0 for p in tabs.plans)
    assert tabs.label == "honest"


def test_movers_take_a_new_device_to_a_new_home_network() -> None:
    """The honest look-alikes of a proxy in the owner's city: after the move, one new device
    (a phone reporting a touch screen's client name) on one new address of the same city."""
    world = _world()
    for phone in (False, True):
        rng = random.Random(7)
        base = honest(rng, world, world.learners[1], 14, DAY0, "plain", {})
        moved = adversary.new_laptop(rng, base, 14, DAY0, moved=True, phone=phone)
        switch = (DAY0 - dt.date(1970, 1, 1)).days * 86_400_000 + 7 * 86_400_000
        before = [p for p in moved.plans if p.start_ms < switch - 8 * 3_600_000]
        after = [p for p in moved.plans if p.start_ms >= switch]
        assert moved.variant == ("phone_at_home" if phone else "new_home")
        assert len({(p.device, p.ip, p.user_agent) for p in after}) == 1
        assert after[0].ip not in {p.ip for p in before}
        assert after[0].ip.startswith(world.learners[1].city_prefix + ".")
        assert ("Mobile" in after[0].user_agent) == phone


def test_evaluate_refuses_bad_seeds_and_sizes(tmp_path: Path) -> None:
    """Bad input: a message and a non-zero exit, nothing simulated."""
    from click.testing import CliRunner

    from proctor.cli import main

    runner = CliRunner()
    bad = runner.invoke(main, ["evaluate", "--seeds", "1,x"])
    assert bad.exit_code == 2 and "种子须为以逗号分隔的整数" in bad.output
    small = runner.invoke(main, ["evaluate", "--seeds", "1", "--learners", "5"])
    assert small.exit_code == 2 and "至少 20 名学员" in small.output
    share = runner.invoke(main, ["evaluate", "--fraud-share", "0.9"])
    assert share.exit_code == 2
    # a folder to keep the databases in must be new: an earlier run's would be mixed in
    (tmp_path / "seed-1").mkdir()
    used = runner.invoke(main, ["evaluate", "--seeds", "1", "--keep", str(tmp_path)])
    assert used.exit_code == 2 and "已有内容" in used.output
    assert [p.name for p in tmp_path.iterdir()] == ["seed-1"]
