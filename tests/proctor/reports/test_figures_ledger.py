"""Every figure of every node equals what the ledger says learner by learner, with and without
the rollup, and a node outside the actor's authority is not found."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from models import CreditKind, Role, utcnow
from proctor.credits.policy import QuotaStatus
from proctor.kernel.authz import Actor
from proctor.kernel.context import Context
from proctor.kernel.errors import Forbidden, NotFound
from proctor.reports import rollup, service
from tests.factories import World
from tests.proctor.archive.helpers import legacy, revoke
from tests.proctor.reports.helpers import YEAR, ledger_truth, seed_year


def actor(world: World, username: str) -> Actor:
    """The actor of a world account."""
    acc = world.accounts[username]
    org = next(o for o in world.orgs.values() if o.id == acc.org_id)
    return Actor(acc.id, username, username, acc.role, org.id, org.path, acc.learner_id)


def expected(truth: dict[str, dict[str, Any]], path: str) -> dict[str, Any]:
    """The summary figures of a subtree, computed learner by learner from the ledger."""
    rows = [t for t in truth.values() if str(t["path"]).startswith(path)]
    target = [t for t in rows if t["group"] is not None]
    other = [t for t in rows if t["group"] is None]

    def st(t: dict[str, Any]) -> QuotaStatus:
        return t["status"]  # type: ignore[no-any-return]

    return {
        "target_learners": len(target),
        "other_learners": len(other),
        "quota_met": sum(st(t).met for t in target),
        "total_met": sum(st(t).total_met for t in target),
        "required_met": sum(st(t).required_met for t in target),
        "credits_total": sum((st(t).total for t in target), Decimal("0.00")),
        "credits_required": sum((st(t).required for t in target), Decimal("0.00")),
        "other_credits_total": sum((st(t).total for t in other), Decimal("0.00")),
    }


NODES = ["湖南省", "长沙市", "株洲市", "芙蓉区", "天心区", "芙蓉区财政局", "天心区财政局"]


async def check_all(ctx: Context, world: World) -> None:
    truth = await ledger_truth(ctx, world)
    academy = actor(world, "academy")
    for name in NODES:
        org = world.org(name)
        report = await service.node_report(ctx, academy, org.id, YEAR)
        got = report.as_dict()["figures"]
        want = expected(truth, org.path)
        assert {k: got[k] for k in want} == want, name
        # Children add up to the node.
        for key in ("target_learners", "quota_met", "credits_total"):
            assert sum(c["figures"][key] for c in report.as_dict()["children"]) in (
                got[key],
                0,
            ), (name, key)
    # The learner lines are the ledger's, learner by learner.
    _, count, lines = await service.learner_lines(ctx, academy, None, YEAR)
    assert count == len(truth)
    by_id = {line.learner_id: line for line in lines}
    for key, t in truth.items():
        line = by_id[world.learners[key].id]
        st: QuotaStatus = t["status"]  # type: ignore[assignment]
        assert (line.required, line.elective, line.bonus, line.total) == (
            st.required,
            st.elective,
            st.bonus,
            st.total,
        ), key
        assert line.target_group == t["group"], key
        assert line.quota_met == (st.met if t["group"] else None), key


async def test_figures_match_the_ledger(ctx: Context, world: World) -> None:
    """Counts, sums, the revoked course netted out, cases counted where they belong."""
    await seed_year(ctx, world)
    await check_all(ctx, world)
    academy = actor(world, "academy")
    province = (await service.node_report(ctx, academy, None, YEAR)).as_dict()
    f = province["figures"]
    # zhang, li (芙蓉区全体), wang, zhao (县处级); zhou (科员 in 天心区) is in no group.
    assert (f["target_learners"], f["other_learners"]) == (4, 1)
    assert (f["participated"], f["quota_met"]) == (3, 2)
    assert f["credits_total"] == Decimal("79.00")
    assert f["credits_average"] == Decimal("19.75")
    assert f["other_credits_total"] == Decimal("3.00")
    assert (f["confirmed_findings"], f["open_cases"]) == (1, 1)
    assert [b["learners"] for b in province["distribution"]] == [1, 1, 0, 0, 0, 2]
    cities = {c["org"]["name"]: c["figures"] for c in province["children"]}
    assert cities["长沙市"]["confirmed_findings"] == 1 and cities["株洲市"]["open_cases"] == 1
    # The completed course and its reversal cancel; only imported history remains.
    assert province["categories"] == [
        {"category": "历史导入（无课程）", "credits": Decimal("82.00")}
    ]


async def test_rollup_plus_tail_still_match(ctx: Context, world: World) -> None:
    """After a rollup, new postings and a revocation of a rolled-up entry are read live."""
    await seed_year(ctx, world)
    future = utcnow() + dt.timedelta(hours=1)
    assert await rollup.refresh(ctx, YEAR, now=future) == 4
    await check_all(ctx, world)
    li = world.learners["li"].id
    big = await legacy(ctx, li, CreditKind.REQUIRED, "25", "late-1", year=YEAR)
    await legacy(ctx, world.learners["zhao"].id, CreditKind.ELECTIVE, "1.5", "late-2", year=YEAR)
    truth_before = (await ledger_truth(ctx, world))["li"]["status"]
    assert truth_before.met  # type: ignore[attr-defined]
    # The rollup covered everything up to an hour from now: move the cutoff back so the new
    # entries are the tail, then revoke one.
    assert await rollup.refresh(ctx, YEAR, now=utcnow() - dt.timedelta(seconds=1)) >= 0
    await revoke(ctx, big, "测试冲销", 1)
    await check_all(ctx, world)


async def test_scope_refuses_other_county_and_learners(ctx: Context, world: World) -> None:
    """A county administrator cannot read another county's report; a learner reads none."""
    await seed_year(ctx, world)
    fr = actor(world, "fr_admin")
    with pytest.raises(NotFound):
        await service.node_report(ctx, fr, world.org("天心区").id, YEAR)
    with pytest.raises(NotFound):
        await service.node_report(ctx, fr, world.org("长沙市").id, YEAR)
    own = await service.node_report(ctx, fr, None, YEAR)
    assert own.node.name == "芙蓉区"
    assert [n.name for n in own.trail] == ["芙蓉区"]  # no way up past the authority
    with pytest.raises(Forbidden):
        await service.node_report(ctx, actor(world, "zhang"), None, YEAR)
    assert Role.LIAISON in service.REPORT_ROLES


async def curve_from_ledger(ctx: Context, world: World) -> tuple[list[Decimal], list[int]]:
    """Cumulative credits of target learners and completions by month end, entry by entry."""
    from sqlalchemy import select

    from models import CreditEntry
    from proctor.kernel.calendar import ACADEMY_TZ

    truth = await ledger_truth(ctx, world)
    groups = {k: t for k, t in truth.items() if t["group"] is not None}
    ids = {world.learners[k].id: k for k in groups}
    async with ctx.db() as s:
        entries = (await s.scalars(select(CreditEntry).where(CreditEntry.year == YEAR))).all()
    cum = [Decimal(0)] * 12
    done = [0] * 12
    for lid, key in ids.items():
        quota = truth[key]["status"].quota  # type: ignore[attr-defined]
        mine = [e for e in entries if e.learner_id == lid]
        for m in range(12):
            end = dt.datetime(YEAR, m + 2, 1, tzinfo=ACADEMY_TZ) if m < 11 else None
            upto = [e for e in mine if end is None or e.posted_at < end]
            total = sum((e.amount for e in upto), Decimal(0))
            required = sum((e.amount for e in upto if e.kind == CreditKind.REQUIRED), Decimal(0))
            cum[m] += total
            done[m] += total >= quota.total and required >= quota.required
    return cum, done


async def test_progress_curve_matches_the_ledger(ctx: Context, world: World) -> None:
    """Month by month, with and without the rollup; the reversal posted now counts in its month."""
    await seed_year(ctx, world)
    academy = actor(world, "academy")
    cum, done = await curve_from_ledger(ctx, world)
    n = 4
    for refresh in (False, True):
        if refresh:
            await rollup.refresh(ctx, YEAR, now=utcnow() + dt.timedelta(hours=1))
        curve = await service.progress(ctx, academy, None, YEAR, dt.date(YEAR, 10, 15))
        assert curve.target == n
        assert curve.average == [(c / n).quantize(Decimal("0.01")) for c in cum]
        assert curve.completed == [(Decimal(100 * d) / n).quantize(Decimal("0.1")) for d in done]
        assert curve.months_elapsed == 9
        assert curve.behind == 2  # li and zhao


async def test_unit_rollup_follows_learner_changes(ctx: Context, world: World) -> None:
    """After a refresh: a promotion, a transfer, a deactivation, a new learner and a new target
    group all show at once; the units they touch are read live."""
    from sqlalchemy import update

    from models import Learner, TargetGroup
    from tests.factories import add_learner

    await seed_year(ctx, world)
    await rollup.refresh(ctx, YEAR)
    await check_all(ctx, world)
    zhou, zhang, zhao = (world.learners[k] for k in ("zhou", "zhang", "zhao"))
    tx_unit = world.org("芙蓉区教育局")
    async with ctx.db.begin() as s:
        # zhou is promoted into the 县处级 group; zhang moves to 芙蓉区教育局; zhao leaves.
        await s.execute(update(Learner).where(Learner.id == zhou.id).values(rank="县处级副职"))
        await s.execute(
            update(Learner)
            .where(Learner.id == zhang.id)
            .values(unit_id=tx_unit.id, org_path=tx_unit.path)
        )
        await s.execute(update(Learner).where(Learner.id == zhao.id).values(active=False))
    zhou.rank = "县处级副职"
    zhang.unit_id, zhang.org_path = tx_unit.id, tx_unit.path
    del world.learners["zhao"]
    newcomer = await add_learner(ctx, world, "qian", "天心区财政局", name="钱进", seq=61)
    await legacy(ctx, newcomer.id, CreditKind.REQUIRED, "7", "new-1", year=YEAR)
    await check_all(ctx, world)
    # A new group changes who is in the target group everywhere: the unit rollup is ignored.
    tx = world.org("天心区")
    async with ctx.db.begin() as s:
        s.add(
            TargetGroup(
                year=YEAR,
                name="天心区全体",
                org_id=tx.id,
                org_path=tx.path,
                ranks=[],
                total_credits=Decimal(20),
                required_credits=Decimal(5),
            )
        )
    await check_all(ctx, world)
    await rollup.refresh(ctx, YEAR)
    await check_all(ctx, world)


async def test_fresh_rollup_is_read_not_recomputed(
    ctx: Context, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a refresh, a dashboard reads the unit rows: only the learners with entries since
    the cutoff are recomputed, never every unit (that is what keeps a province fast)."""
    from proctor.reports import units

    await seed_year(ctx, world)
    await rollup.refresh(ctx, YEAR, now=utcnow() + dt.timedelta(hours=1))
    await rollup.refresh(ctx, YEAR - 1, now=utcnow() + dt.timedelta(hours=1))
    calls: list[dict[str, Any]] = []
    live = units.live_units

    async def spy(*args: Any, **kwargs: Any) -> Any:
        calls.append(kwargs)
        return await live(*args, **kwargs)

    monkeypatch.setattr(units, "live_units", spy)
    academy = actor(world, "academy")
    await service.dashboard(ctx, academy, None, YEAR)
    assert calls == []  # nothing posted since the cutoff, no learner changed
    await rollup.refresh(ctx, YEAR, now=utcnow() - dt.timedelta(seconds=1))
    await legacy(ctx, world.learners["li"].id, CreditKind.ELECTIVE, "2", "fresh-1", year=YEAR)
    calls.clear()
    await service.dashboard(ctx, academy, None, YEAR)
    assert calls == []  # fresh entries are corrections learner by learner, not unit rebuilds
    await check_all(ctx, world)
    # A promotion changes its unit's fingerprint: that unit alone is read live.
    from sqlalchemy import update

    from models import Learner

    zhou = world.learners["zhou"]
    async with ctx.db.begin() as s:
        await s.execute(update(Learner).where(Learner.id == zhou.id).values(rank="县处级副职"))
    zhou.rank = "县处级副职"
    calls.clear()
    await service.dashboard(ctx, academy, None, YEAR)
    assert [c.get("unit_ids") for c in calls] == [[zhou.unit_id], [zhou.unit_id]]  # both years
    await check_all(ctx, world)
