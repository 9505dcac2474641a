"""Post-exam forensics over stored attempts (SQLite and PostgreSQL): a simulated sitting with
known cheaters is analysed once, its flags reach the review queue with their evidence."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from models import (
    AttemptState,
    DetectionFlag,
    Exam,
    ExamAttempt,
    Learner,
    ReviewCase,
    utcnow,
)
from proctor.demo.exams import place_sitting
from proctor.exams import analysis as analysis_module
from proctor.exams import forensics
from proctor.exams.analysis import REASON_NAMES, analyse_closed, analyse_exam
from proctor.kernel.context import Context
from proctor.kernel.errors import NotFound
from tests.factories import World, login, world  # noqa: F401
from tests.proctor.exams.helpers import closed_exams, sixty


@pytest.fixture
async def sitting(ctx: Context, world: World) -> tuple[int, dict[int, int], object]:  # noqa: F811
    course, (exam_id,), learners = await closed_exams(
        ctx, world, "ex", 100, "HN-EXAM", [("党纪学习教育测试", 10, 1)]
    )
    # A hard exam: copying is only visible in the source's wrong answers, so the source
    # must have some (copying a perfect paper leaves no trace in the answers).
    sim = sixty(1, copy_fractions=(0.8,), proxies=1, difficulty=0.8)
    placed = await place_sitting(ctx, exam_id, course, sim, learners)
    return exam_id, placed, sim


async def test_forensics_flag_the_planted_copier_and_proxy_once(
    ctx: Context,
    client: TestClient,
    sitting: tuple[int, dict[int, int], object],
) -> None:
    exam_id, placed, sim = sitting
    copier, source, _ = sim.copy_pairs[0]  # type: ignore[attr-defined]
    proxy = next(a for a, label in sim.labels.items() if label == "proxy")  # type: ignore[attr-defined]
    runs = await analyse_closed(ctx, utcnow())
    assert [r.exam_id for r in runs] == [exam_id] and runs[0].attempts == 60
    assert runs[0].pairs_tested == 60 * 59 // 2  # a small exam: every pair
    async with ctx.db() as s:
        flags = list((await s.scalars(select(DetectionFlag))).all())
        exam = await s.get_one(Exam, exam_id)
    by_attempt = {(f.attempt_id, f.evidence["type"]): f for f in flags}
    copy_flag = by_attempt[(placed[copier], "copying")]
    assert copy_flag.evidence["partner_attempt_id"] == placed[source]
    assert copy_flag.evidence["identical_wrong"] >= 1
    # Flagged means the pair's p-value is under the threshold whose Type I error is stated.
    assert copy_flag.evidence["p_value"] < copy_flag.evidence["type1_error"] <= 1e-4
    assert {r["id"] for r in copy_flag.rules} >= {"C01", "C02", "C03"}
    # The server's save times reached the timing test: the pair table shows the lags.
    assert copy_flag.evidence["timing_p"] is not None
    assert any(r.get("lag_s") is not None for r in copy_flag.evidence["items"])
    assert (placed[proxy], "proxy") in by_attempt
    # Honest examinees are not flagged for copying (a few may be for other reasons).
    honest = {placed[a] for a, label in sim.labels.items() if label == "honest"}  # type: ignore[attr-defined]
    assert not [f for f in flags if f.attempt_id in honest and f.evidence["type"] == "copying"]
    assert all(f.source == "exam" and f.case_id is not None for f in flags)
    assert exam.analysed_at is not None
    # A closed window is analysed once: running again finds nothing to do.
    assert await analyse_closed(ctx, utcnow()) == []

    # The flag is a case in the reviewer's queue, with the pair's item table on the case page.
    headers = await login(client, "academy")
    async with ctx.db() as s:
        case = await s.get_one(ReviewCase, copy_flag.case_id)
    assert case.kind == "exam"
    reviewer = await login(client, "cs_reviewer")
    resp = await client.get("/api/v1/cases?kind=exam", headers=reviewer)
    assert case.id in [c["id"] for c in (await resp.json())["items"]]
    page = await client.get(f"/review/cases/{case.id}", headers=reviewer)
    html = await page.text()
    assert page.status == 200 and "答案雷同" in html and 'class="item-table"' in html
    assert "第一类错误" in html
    # The academy administrator reads it too; a county outside 长沙市 does not.
    assert (await client.get(f"/review/cases/{case.id}", headers=headers)).status == 200
    other_county = await login(client, "ht_admin")
    assert (await client.get(f"/review/cases/{case.id}", headers=other_county)).status == 404


async def test_unknown_exam_is_a_clear_error(ctx: Context) -> None:
    with pytest.raises(NotFound, match="不存在"):
        await analyse_exam(ctx, 999)


async def test_staff_overview_counts_only_their_learners_and_runs_the_analysis_once(
    ctx: Context,
    client: TestClient,
    sitting: tuple[int, dict[int, int], object],
) -> None:
    exam_id = sitting[0]
    async with ctx.db() as s:
        paths = [
            p
            for (p,) in (
                await s.execute(select(Learner.org_path).where(Learner.name.startswith("考生")))
            ).all()
        ]

    async def row(headers: dict[str, str]) -> dict[str, object]:
        resp = await client.get("/api/v1/admin/exams", headers=headers)
        assert resp.status == 200
        return next(r for r in (await resp.json())["items"] if r["exam_id"] == exam_id)

    headers_academy = await login(client, "academy")
    headers_tx = await login(client, "tx_admin")
    headers_cs = await login(client, "cs_admin")
    tianxin_path = await world_path(ctx, "天心区")
    tianxin = sum(1 for p in paths if p.startswith(tianxin_path))
    assert (await row(headers_academy))["examinees"] == 60
    # The 天心区 administrator counts only 天心区's examinees (a third of them here).
    tx_row = await row(headers_tx)
    assert tx_row["examinees"] == tianxin and 0 < tianxin < 60
    # Only the course's manager may run the analysis; the city administrator may not.
    resp = await client.post(f"/api/v1/admin/exams/{exam_id}/analysis", headers=headers_cs)
    assert resp.status == 403
    resp = await client.post(f"/api/v1/admin/exams/{exam_id}/analysis", headers=headers_academy)
    assert resp.status == 201 and (await resp.json())["flags"] >= 2
    resp = await client.post(f"/api/v1/admin/exams/{exam_id}/analysis", headers=headers_academy)
    assert resp.status == 409 and "已分析" in (await resp.json())["detail"]
    assert (await row(headers_academy))["flags"] >= 2
    # Learners have no staff view.
    learner = await login(client, "zhang")
    assert (await client.get("/api/v1/admin/exams", headers=learner)).status == 403
    page = await client.get("/admin/exams", headers=headers_tx)
    assert page.status == 200 and "党纪学习教育测试" in await page.text()


async def world_path(ctx: Context, name: str) -> str:
    from models import OrgUnit

    async with ctx.db() as s:
        org = await s.scalar(select(OrgUnit).where(OrgUnit.name == name))
    assert org is not None
    return org.path


def test_every_reason_the_forensics_give_has_its_short_name() -> None:
    """The case page shows a short name before each reason: none falls back to the generic."""
    package = Path(forensics.__file__).parent
    ids = {
        m
        for path in package.glob("*.py")
        for m in re.findall(r'"id": "([A-Z][0-9]{2})"', path.read_text(encoding="utf-8"))
    }
    assert {"C01", "C08", "P06", "K04"} <= ids
    assert ids <= set(REASON_NAMES), sorted(ids - set(REASON_NAMES))


async def test_a_rerun_replaces_the_earlier_flags_and_keeps_a_decided_finding_closed(
    ctx: Context,
    client: TestClient,
    sitting: tuple[int, dict[int, int], object],
) -> None:
    """Rerunning the analysis of one exam (the CLI's ``exams analyse --exam``) lists each
    finding once, opens no second case, and does not reopen one a reviewer has cleared."""
    exam_id, placed, sim = sitting
    copier = placed[sim.copy_pairs[0][0]]  # type: ignore[attr-defined]
    first = await analyse_exam(ctx, exam_id)
    assert first.flags >= 2 and first.cases_opened >= 2

    async def flags() -> list[DetectionFlag]:
        async with ctx.db() as s:
            return list((await s.scalars(select(DetectionFlag))).all())

    async def open_cases() -> int:
        async with ctx.db() as s:
            rows = await s.scalars(select(ReviewCase).where(ReviewCase.state == "new"))
            return len(rows.all())

    cases_before = await open_cases()
    second = await analyse_exam(ctx, exam_id)
    assert second.cases_opened == 0 and await open_cases() == cases_before
    assert second.replaced == first.flags and second.already_decided == 0
    after = await flags()
    assert sum(f.status == "open" for f in after) == first.flags
    assert sum(f.status == "superseded" for f in after) == first.flags
    open_keys = [(f.attempt_id, f.evidence["type"]) for f in after if f.status == "open"]
    assert len(open_keys) == len(set(open_keys))  # each finding listed once

    # A reviewer clears the copier; a third run does not put him back in the queue.
    case_id = next(
        f.case_id
        for f in after
        if f.attempt_id == copier and f.evidence["type"] == "copying" and f.status == "open"
    )
    reviewer = await login(client, "cs_reviewer")
    resp = await client.post(
        f"/api/v1/cases/{case_id}/decision",
        json={"outcome": "no_misconduct", "reason": "监考录像显示两人分坐两室，答案雷同另有原因"},
        headers=reviewer,
    )
    assert resp.status == 200, await resp.text()
    third = await analyse_exam(ctx, exam_id)
    assert third.cases_opened == 0 and third.already_decided == 1
    latest = await flags()
    assert not [
        f
        for f in latest
        if f.attempt_id == copier and f.evidence["type"] == "copying" and f.status == "open"
    ]


async def test_a_short_course_studied_whole_is_not_little_study(
    ctx: Context,
    client: TestClient,
    world: World,  # noqa: F811
) -> None:
    """The course is 45 minutes: a learner who watched it all has 0.75 h, under the hour
    that used to read as "studied almost nothing" whatever the course's length."""
    course, (exam_id,), learners = await closed_exams(
        ctx, world, "sc", 300, "HN-SHORT", [("短课程测试", 10, 1)]
    )
    sim = sixty(3, self_taught=3, difficulty=-1.5)
    experts = [a for a, v in sim.variants.items() if v == "self_taught"]
    by_learner = {a.attempt_id: a.learner_id for a in sim.attempts}
    whole, tenth, _ = experts
    for aid, hours in ((whole, 0.7), (tenth, 0.1)):
        lid = by_learner[aid]
        sim.histories[lid] = replace(sim.histories[lid], verified_hours=hours)
    placed = await place_sitting(ctx, exam_id, course, sim, learners)
    run = await analyse_exam(ctx, exam_id)
    assert run.attempts == 60
    async with ctx.db() as s:
        flags = {
            f.attempt_id: f
            for f in (await s.scalars(select(DetectionFlag))).all()
            if f.evidence["type"] == "proxy"
        }
        scores = dict(
            (
                await s.execute(
                    select(ExamAttempt.id, ExamAttempt.score).where(
                        ExamAttempt.id.in_([placed[whole], placed[tenth]])
                    )
                )
            ).all()
        )
    assert min(scores.values()) >= 85  # both scored high: only their study differs
    assert placed[whole] not in flags
    # A tenth of the course is little study; alone, at his own desk, it stays below review.
    flag = flags[placed[tenth]]
    assert [r["id"] for r in flag.rules] == ["P02"] and flag.band == "low"
    assert "课程讲授时长 45 分钟" in flag.rules[0]["text"]
    assert flag.evidence["course_hours"] == 0.75
    assert flag.evidence["unstudied_below_hours"] == pytest.approx(0.1875, abs=1e-3)
    # the reviewer reads the bound against the course's length on the case page
    reviewer = await login(client, "cs_reviewer")
    page = await (await client.get(f"/review/cases/{flag.case_id}", headers=reviewer)).text()
    assert "本课程核验学时 0.1 小时（课程讲授时长 0.75 小时，低于 0.19 小时视为几乎未学）" in page


async def test_no_connection_is_held_while_the_statistics_run(
    ctx: Context,
    sitting: tuple[int, dict[int, int], object],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The statistics take minutes on a province's sitting: a transaction left open that
    long holds back PostgreSQL's vacuum and trips idle-in-transaction timeouts."""
    held: list[int] = []
    real = analysis_module.analyse_with_pairs

    def counting(*args: object) -> object:
        held.append(ctx.engine.pool.checkedout())
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(analysis_module, "analyse_with_pairs", counting)
    run = await analyse_exam(ctx, sitting[0])
    assert held == [0] and run.attempts == 60


async def test_the_case_page_lists_the_leak_the_others_revealed(
    ctx: Context,
    client: TestClient,
    world: World,  # noqa: F811
) -> None:
    """Five examinees hold the same leaked items: each one's flag lists the items the others
    answered fast and right, with the rank test, on the reviewer's case page."""
    course, (exam_id,), learners = await closed_exams(
        ctx, world, "lk", 700, "HN-LEAK", [("泄露题测试", 10, 1)]
    )
    sim = sixty(1, rings=0, preknowledge=5, difficulty=-0.5)
    placed = await place_sitting(ctx, exam_id, course, sim, learners)
    await analyse_exam(ctx, exam_id)
    planted = {placed[a] for a, label in sim.labels.items() if label == "preknowledge"}
    async with ctx.db() as s:
        flags = [
            f
            for f in (await s.scalars(select(DetectionFlag))).all()
            if f.evidence["type"] == "preknowledge"
        ]
    assert {f.attempt_id for f in flags} <= planted and len(flags) >= 4
    flag = next(f for f in flags if f.evidence["leak_items"])
    assert "K05" in {r["id"] for r in flag.rules}
    reviewer = await login(client, "cs_reviewer")
    page = await (await client.get(f"/review/cases/{flag.case_id}", headers=reviewer)).text()
    assert "疑似泄露" in page and "秩和检验" in page
    assert "、".join(str(i) for i in flag.evidence["leak_items"]) in page


async def test_two_runs_at_once_list_each_finding_once(
    ctx: Context,
    sitting: tuple[int, dict[int, int], object],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The schedule and a manager's button may analyse one exam at the same time."""
    exam_id = sitting[0]
    real = analysis_module.combine_with_earlier

    async def slow(*args: Any, **kw: Any) -> Any:
        await asyncio.sleep(0.5)  # both runs inside their write transactions at once
        return await real(*args, **kw)

    monkeypatch.setattr(analysis_module, "combine_with_earlier", slow)
    first, second = await asyncio.gather(analyse_exam(ctx, exam_id), analyse_exam(ctx, exam_id))
    assert first.flags == second.flags > 0
    async with ctx.db() as s:
        live = [
            (f.attempt_id, f.evidence["type"])
            for f in (await s.scalars(select(DetectionFlag))).all()
            if f.status == "open"
        ]
    assert len(live) == len(set(live)) == first.flags


async def test_a_machine_that_sat_the_exam_for_three_strangers_sends_each_to_review(
    ctx: Context,
    client: TestClient,
    world: World,  # noqa: F811
) -> None:
    """A hired proxy sits the exam for three learners of other units on one machine: each
    alone looks like a traveller (low band); the machine they share is the second reason."""
    course, (exam_id,), learners = await closed_exams(
        ctx, world, "hp", 800, "HN-HIRE", [("代考测试", 10, 1)]
    )
    sim = sixty(4, rings=0, hired=1, travellers=2)  # its three clients: three units
    placed = await place_sitting(ctx, exam_id, course, sim, learners)
    await analyse_exam(ctx, exam_id)
    hired = {placed[a] for a, v in sim.variants.items() if v == "hired"}
    travellers = {placed[a] for a, v in sim.variants.items() if v == "traveller"}
    async with ctx.db() as s:
        flags = {
            f.attempt_id: f
            for f in (await s.scalars(select(DetectionFlag))).all()
            if f.evidence["type"] == "proxy"
        }
        units = set(
            (
                await s.scalars(
                    select(Learner.unit_id)
                    .join(ExamAttempt, ExamAttempt.learner_id == Learner.id)
                    .where(ExamAttempt.id.in_(hired))
                )
            ).all()
        )
    assert len(hired) == 3 and len(units) >= 2
    for aid in hired:
        assert {"P01", "P08"} <= {r["id"] for r in flags[aid].rules}
        assert flags[aid].band in ("medium", "high")
        assert flags[aid].evidence["machine_learners"] == 3
    for aid in travellers:  # a new device and address of one's own stay below review
        assert [r["id"] for r in flags[aid].rules] == ["P01"] and flags[aid].band == "low"
    reviewer = await login(client, "cs_reviewer")
    case_id = flags[next(iter(hired))].case_id
    page = await (await client.get(f"/review/cases/{case_id}", headers=reviewer)).text()
    assert "同一台设备或小型网络为多个单位的考生作答" in page and "名考生（来自" in page
    # and the machine's other two attempts, to be read together
    first = next(iter(hired))
    others = "、".join(f"#{a}" for a in sorted(hired - {first}))
    page = await (
        await client.get(f"/review/cases/{flags[first].case_id}", headers=reviewer)
    ).text()
    assert f"本场答卷 {others}" in page


async def test_a_service_that_sits_one_client_an_exam_is_linked_through_earlier_exams(
    ctx: Context,
    world: World,  # noqa: F811
) -> None:
    """The machine sat an earlier exam for two learners of other units, new to both: this
    exam's one client on it is the third stranger, and the reason says so."""
    course, (early_id, exam_id), learners = await closed_exams(
        ctx, world, "hx", 900, "HN-HIRE2", [("此前考试", 40, 30), ("本次考试", 10, 1)]
    )
    sim = sixty(4, rings=0, travellers=2)
    client = next(a for a, v in sim.variants.items() if v == "traveller")
    sim.attempts[:] = [
        replace(a, device="hire-desk", ip="172.18.5.9") if a.attempt_id == client else a
        for a in sim.attempts
    ]
    placed = await place_sitting(ctx, exam_id, course, sim, learners)
    async with ctx.db.begin() as s:
        mine = await s.get_one(ExamAttempt, placed[client])
        me = await s.get_one(Learner, mine.learner_id)
        # one learner from each of the two other units
        others = list({x.unit_id: x for x in learners if x.unit_id != me.unit_id}.values())
        early = await s.get_one(Exam, early_id)
        for n, other in enumerate(others):
            done = early.closes_at - dt.timedelta(days=2, hours=n)
            s.add(
                ExamAttempt(
                    exam_id=early_id,
                    learner_id=other.id,
                    number=1,
                    state=AttemptState.SUBMITTED,
                    items=[],
                    started_at=done - dt.timedelta(minutes=40),
                    deadline_at=done,
                    finished_at=done,
                    ip="172.18.5.9" if n == 0 else "172.18.6.9",  # a rotating address
                    device="hire-desk",
                    user_agent="Mozilla/5.0",
                    version=2,
                )
            )
    await analyse_exam(ctx, exam_id)
    async with ctx.db() as s:
        flag = next(
            f
            for f in (await s.scalars(select(DetectionFlag))).all()
            if f.attempt_id == placed[client] and f.evidence["type"] == "proxy"
        )
    assert [r["id"] for r in flag.rules][:2] == ["P01", "P08"] and flag.band != "low"
    assert flag.evidence["machine_learners"] == 3
    assert (
        "本场及此前考试（其中 2 名只见于此前考试）共有 3 名考生（来自 3 个单位）"
        in flag.rules[1]["text"]
    )
    assert [e["exam_id"] for e in flag.evidence["machine_earlier"]] == [early_id, early_id]
