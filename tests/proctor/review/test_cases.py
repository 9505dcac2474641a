"""Cases end to end through the API: intake, scope, decisions, consequences, appeals, races."""

from __future__ import annotations

import asyncio
import datetime as dt
from decimal import Decimal

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select, update

from models import (
    Account,
    AuditEvent,
    CaseEvent,
    CreditEntry,
    DetectionFlag,
    ExcellenceBar,
    Notification,
    ReviewCase,
    Role,
)
from proctor.kernel.context import Context
from proctor.review.learning import study_labels
from tests.factories import World, add_account, login, world  # noqa: F401
from tests.proctor.archive.helpers import YEAR
from tests.proctor.review.helpers import END, START, Fraud, case_of, flag, seed_fraud

REASON = "同一时段两路会话并行，跳转后无观看时长，证据充分"


@pytest.fixture
async def fraud(ctx: Context, world: World) -> Fraud:  # noqa: F811
    await add_account(ctx, world, "cs_reviewer2", Role.REVIEWER, "长沙市")
    await add_account(ctx, world, "tx_reviewer", Role.REVIEWER, "天心区")
    return await seed_fraud(ctx, world)


async def _archive(client: TestClient, user: str, learner_id: int | None = None) -> dict:
    headers = await login(client, user)
    url = f"/api/v1/learners/{learner_id}/archive" if learner_id else "/api/v1/me/archive"
    resp = await client.get(f"{url}?year={YEAR}", headers=headers)
    assert resp.status == 200, await resp.text()
    return await resp.json()


async def _decide(client: TestClient, user: str, case_id: int, outcome: str, **extra: object):
    headers = await login(client, user)
    return await client.post(
        f"/api/v1/cases/{case_id}/decision",
        json={"outcome": outcome, "reason": REASON, **extra},
        headers=headers,
    )


# ---------------------------------------------------------------- intake


async def test_overlapping_flags_merge_into_one_open_case_and_others_open_new_ones(
    ctx: Context,
    world: World,  # noqa: F811
) -> None:
    zhang = world.learners["zhang"].id
    first = await case_of(ctx, await flag(ctx, zhang, risk=0.5, band="medium"))
    merged = await case_of(
        ctx, await flag(ctx, zhang, start=END, end=END + dt.timedelta(days=6), risk=0.95)
    )
    later = await case_of(
        ctx,
        await flag(ctx, zhang, start=END + dt.timedelta(days=30), end=END + dt.timedelta(days=36)),
    )
    technical = await case_of(
        ctx,
        await flag(
            ctx,
            zhang,
            kind="technical",
            rules=[{"id": "T01", "name": "无界面浏览器", "kind": "technical", "text": "x"}],
        ),
    )
    assert merged == first
    assert len({first, later, technical}) == 3
    async with ctx.db() as s:
        case = await s.get_one(ReviewCase, first)
        assert (case.period_start, case.period_end) == (START, END + dt.timedelta(days=6))
        assert (case.band, case.risk) == ("high", 0.95)  # the strongest flag sets the priority
        assert (await s.get_one(ReviewCase, technical)).category == "technical"
        events = (await s.scalars(select(CaseEvent.action).where(CaseEvent.case_id == first))).all()
        assert list(events) == ["open", "merge_flag"]


async def test_a_flag_after_a_decision_opens_a_new_case(
    ctx: Context,
    client: TestClient,
    fraud: Fraud,
    world: World,  # noqa: F811
) -> None:
    assert (await _decide(client, "cs_reviewer", fraud.case_id, "no_misconduct")).status == 200
    again = await case_of(ctx, await flag(ctx, world.learners["zhang"].id))
    assert again != fraud.case_id


# ---------------------------------------------------------------- scope


async def test_reviewers_see_only_cases_in_their_subtree(
    ctx: Context,
    client: TestClient,
    world: World,  # noqa: F811
) -> None:
    await add_account(ctx, world, "tx_reviewer", Role.REVIEWER, "天心区")
    zhang_case = await case_of(ctx, await flag(ctx, world.learners["zhang"].id))
    wang_case = await case_of(ctx, await flag(ctx, world.learners["wang"].id))
    zhao_case = await case_of(ctx, await flag(ctx, world.learners["zhao"].id))

    async def ids(user: str) -> set[int]:
        resp = await client.get("/api/v1/cases", headers=await login(client, user))
        assert resp.status == 200
        return {c["id"] for c in (await resp.json())["items"]}

    assert await ids("cs_reviewer") == {zhang_case, wang_case}
    assert await ids("tx_reviewer") == {wang_case}
    assert await ids("tx_admin") == {wang_case}
    assert await ids("academy") == {zhang_case, wang_case, zhao_case}
    tx = await login(client, "tx_reviewer")
    for case_id in (zhang_case, zhao_case):
        assert (await client.get(f"/api/v1/cases/{case_id}", headers=tx)).status == 404
        assert (await client.get(f"/review/cases/{case_id}", headers=tx)).status == 404
        resp = await client.post(
            f"/api/v1/cases/{case_id}/decision",
            json={"outcome": "no_misconduct", "reason": REASON},
            headers=tx,
        )
        assert resp.status == 404
    # A county admin cannot reach another county's case through the org filter either.
    other_county = world.org("芙蓉区").id
    resp = await client.get(f"/api/v1/cases?org={other_county}", headers=tx)
    assert resp.status == 404
    liaison = await login(client, "fr_liaison")
    assert (await client.get("/api/v1/cases", headers=liaison)).status == 403


async def test_org_admins_may_read_but_not_decide(
    ctx: Context,
    client: TestClient,
    fraud: Fraud,
) -> None:
    resp = await _decide(client, "fr_admin", fraud.case_id, "no_misconduct")
    assert resp.status == 403
    body = await resp.json()
    assert "无权" in body["detail"]


async def test_no_one_decides_a_case_about_themselves(
    ctx: Context,
    client: TestClient,
    fraud: Fraud,
    world: World,  # noqa: F811
) -> None:
    async with ctx.db.begin() as s:
        await s.execute(
            update(Account).where(Account.username == "cs_reviewer").values(learner_id=None)
        )
        # zhang's own learner account becomes a reviewer's: he must not judge his own case.
        await s.execute(
            update(Account).where(Account.username == "zhang").values(role=Role.REVIEWER)
        )
    resp = await _decide(client, "zhang", fraud.case_id, "no_misconduct")
    assert resp.status == 403
    assert "本人" in (await resp.json())["detail"]
    async with ctx.db() as s:
        assert (await s.get_one(ReviewCase, fraud.case_id)).state.value == "new"


# ---------------------------------------------------------------- state machine and input


async def test_bad_input_is_refused_and_changes_nothing(
    ctx: Context,
    client: TestClient,
    fraud: Fraud,
) -> None:
    headers = await login(client, "cs_reviewer")
    url = f"/api/v1/cases/{fraud.case_id}/decision"
    cases = [
        ({"outcome": "guilty", "reason": REASON}, "outcome"),
        ({"outcome": "confirmed_fraud", "reason": "  "}, "reason"),
        ({"outcome": "confirmed_fraud"}, "reason"),
        ({"outcome": "appeal_upheld", "reason": REASON}, "outcome"),
        ({"outcome": "confirmed_fraud", "reason": REASON, "version": "x"}, "version"),
    ]
    for body, field in cases:
        resp = await client.post(url, json=body, headers=headers)
        assert resp.status in (400, 422), body
        problem = await resp.json()
        assert problem["field"] == field
    async with ctx.db() as s:
        case = await s.get_one(ReviewCase, fraud.case_id)
        assert (case.state.value, case.version) == ("new", 1)
        assert (
            await s.scalar(
                select(func.count()).select_from(CreditEntry).where(CreditEntry.amount < 0)
            )
            == 0
        )


async def test_illegal_moves_get_a_conflict_naming_the_state(
    ctx: Context,
    client: TestClient,
    fraud: Fraud,
) -> None:
    assert (await _decide(client, "cs_reviewer", fraud.case_id, "no_misconduct")).status == 200
    again = await _decide(client, "cs_reviewer2", fraud.case_id, "confirmed_fraud")
    assert again.status == 409
    assert "未发现违规" in (await again.json())["detail"]
    # Nothing to appeal after a dismissal.
    learner = await login(client, "zhang")
    resp = await client.post(
        f"/api/v1/me/cases/{fraud.case_id}/appeal",
        json={"statement": "我没有违规"},
        headers=learner,
    )
    assert resp.status == 409


async def test_every_move_is_audited_with_who_why_and_the_model_version(
    ctx: Context,
    client: TestClient,
    fraud: Fraud,
) -> None:
    headers = await login(client, "cs_reviewer")
    assert (
        await client.post(f"/api/v1/cases/{fraud.case_id}/claim", headers=headers)
    ).status == 200
    note = await client.post(
        f"/api/v1/cases/{fraud.case_id}/notes", json={"text": "已电话联系单位核实"}, headers=headers
    )
    assert note.status == 201
    assert (await _decide(client, "cs_reviewer", fraud.case_id, "confirmed_fraud")).status == 200
    body = await (await client.get(f"/api/v1/cases/{fraud.case_id}", headers=headers)).json()
    steps = [(e["action"], e["to_state"]) for e in body["events"]]
    assert steps == [
        ("open", "new"),
        ("claim", "in_review"),
        ("note", None),
        ("decide", "confirmed_fraud"),
        ("consequences", None),
    ]
    decide = body["events"][3]
    assert decide["actor"] == "cs_reviewer" and decide["reason"] == REASON
    assert decide["model_version"] == "det-test-1"
    async with ctx.db() as s:
        viewed = await s.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "case.view")
        )
    assert viewed == 1


# ---------------------------------------------------------------- concurrency


async def test_two_reviewers_deciding_at_once_one_wins_the_other_gets_a_conflict(
    ctx: Context,
    client: TestClient,
    fraud: Fraud,
) -> None:
    a = await login(client, "cs_reviewer")
    b = await login(client, "cs_reviewer2")
    url = f"/api/v1/cases/{fraud.case_id}/decision"
    first, second = await asyncio.gather(
        client.post(
            url, json={"outcome": "confirmed_fraud", "reason": REASON, "version": 1}, headers=a
        ),
        client.post(
            url, json={"outcome": "no_misconduct", "reason": REASON, "version": 1}, headers=b
        ),
    )
    assert sorted([first.status, second.status]) == [200, 409]
    loser = first if first.status == 409 else second
    assert "其他人员" in (await loser.json())["detail"]
    async with ctx.db() as s:
        case = await s.get_one(ReviewCase, fraud.case_id)
        decides = await s.scalar(
            select(func.count())
            .select_from(CaseEvent)
            .where(CaseEvent.case_id == case.id, CaseEvent.action == "decide")
        )
        reversals = await s.scalar(
            select(func.count()).select_from(CreditEntry).where(CreditEntry.case_id == case.id)
        )
    assert decides == 1
    assert reversals == (2 if case.state.value == "confirmed_fraud" else 0)


async def test_a_decision_on_a_stale_page_is_refused(
    ctx: Context,
    client: TestClient,
    fraud: Fraud,
) -> None:
    b = await login(client, "cs_reviewer2")
    assert (await client.post(f"/api/v1/cases/{fraud.case_id}/claim", headers=b)).status == 200
    stale = await _decide(client, "cs_reviewer", fraud.case_id, "no_misconduct", version=1)
    assert stale.status == 409


# ---------------------------------------------------------------- consequences


async def test_confirmed_fraud_revokes_the_weeks_credits_and_the_archive_says_why(
    ctx: Context,
    client: TestClient,
    fraud: Fraud,
    world: World,  # noqa: F811
) -> None:
    before = await _archive(client, "zhang")
    resp = await _decide(client, "cs_reviewer", fraud.case_id, "confirmed_fraud")
    assert resp.status == 200
    assert sorted((await resp.json())["revoked_entries"]) == sorted(fraud.in_period)
    after = await _archive(client, "zhang")
    assert Decimal(after["credits"]["required"]) == Decimal(before["credits"]["required"]) - 2
    reversals = [e for e in after["entries"] if e["source"] == "reversal"]
    assert {e["reverses_id"] for e in reversals} == set(fraud.in_period)
    assert all(e["case_id"] == fraud.case_id and "弄虚作假" in e["reason"] for e in reversals)
    # The course studied before the flagged week keeps its credit.
    kept = next(e for e in after["entries"] if e["id"] == fraud.before)
    assert kept["reversed_by"] is None
    assert [f["kind"] for f in after["findings"]] == ["credit_fraud"]
    assert after["cases"][0]["state"] == "confirmed_fraud"
    # Staff in authority see the same; the learner was notified.
    staff = await _archive(client, "fr_admin", world.learners["zhang"].id)
    assert staff["credits"] == after["credits"]
    async with ctx.db() as s:
        notices = (
            await s.scalars(select(Notification.title).where(Notification.case_id == fraud.case_id))
        ).all()
    assert notices and "弄虚作假" in notices[0]


async def test_confirmed_proxy_study_bars_an_excellent_rating_and_keeps_the_credits(
    ctx: Context,
    client: TestClient,
    fraud: Fraud,
) -> None:
    before = await _archive(client, "zhang")
    assert (await _decide(client, "cs_reviewer", fraud.case_id, "confirmed_proxy")).status == 200
    after = await _archive(client, "zhang")
    assert after["credits"] == before["credits"]
    kinds = [f["kind"] for f in after["findings"]]
    assert kinds == ["proxy_study", "excellence_bar"]
    assert "不得评为优秀" in after["findings"][1]["text"]
    async with ctx.db() as s:
        bar = (await s.scalars(select(ExcellenceBar))).one()
    assert (bar.year, bar.lifted_at) == (YEAR, None)


async def test_no_misconduct_changes_nothing_but_the_case_is_kept_and_shown(
    ctx: Context,
    client: TestClient,
    fraud: Fraud,
) -> None:
    before = await _archive(client, "zhang")
    assert (await _decide(client, "cs_reviewer", fraud.case_id, "no_misconduct")).status == 200
    after = await _archive(client, "zhang")
    assert after["credits"] == before["credits"] and after["entries"] == before["entries"]
    assert after["findings"] == []
    assert [c["state"] for c in after["cases"]] == ["no_misconduct"]
    headers = await login(client, "cs_reviewer")
    listed = await client.get("/api/v1/cases?state=all", headers=headers)
    assert [c["id"] for c in (await listed.json())["items"]] == [fraud.case_id]


# ---------------------------------------------------------------- appeals


async def test_appeal_upheld_by_another_reviewer_restores_credits_and_lifts_the_finding(
    ctx: Context,
    client: TestClient,
    fraud: Fraud,
) -> None:
    before = await _archive(client, "zhang")
    assert (await _decide(client, "cs_reviewer", fraud.case_id, "confirmed_fraud")).status == 200
    learner = await login(client, "zhang")
    mine = await (await client.get("/api/v1/me/cases", headers=learner)).json()
    assert mine["items"][0]["can_appeal"] and mine["items"][0]["reasons"]
    resp = await client.post(
        f"/api/v1/me/cases/{fraud.case_id}/appeal",
        json={"statement": "当天在单位会议室与同事共用电脑学习，可提供会议记录"},
        headers=learner,
    )
    assert resp.status == 200, await resp.text()
    # The first decider may not hear the appeal.
    same = await login(client, "cs_reviewer")
    body = {"outcome": "appeal_upheld", "reason": "会议记录证实当时本人在场学习"}
    url = f"/api/v1/cases/{fraud.case_id}/appeal-decision"
    assert (await client.post(url, json=body, headers=same)).status == 403
    other = await login(client, "cs_reviewer2")
    resp = await client.post(url, json=body, headers=other)
    assert resp.status == 200, await resp.text()
    after = await _archive(client, "zhang")
    assert after["credits"] == before["credits"]
    assert after["findings"] == []
    assert not any(c["revoked"] for c in after["courses_completed"])
    assert after["cases"][0]["state"] == "appeal_upheld"


async def test_appeal_rejected_keeps_the_finding_and_bar(
    ctx: Context,
    client: TestClient,
    fraud: Fraud,
) -> None:
    assert (await _decide(client, "cs_reviewer", fraud.case_id, "confirmed_proxy")).status == 200
    learner = await login(client, "zhang")
    await client.post(
        f"/api/v1/me/cases/{fraud.case_id}/appeal", json={"statement": "不是代学"}, headers=learner
    )
    other = await login(client, "cs_reviewer2")
    resp = await client.post(
        f"/api/v1/cases/{fraud.case_id}/appeal-decision",
        json={"outcome": "appeal_rejected", "reason": "设备与时段证据充分"},
        headers=other,
    )
    assert resp.status == 200
    after = await _archive(client, "zhang")
    assert [f["kind"] for f in after["findings"]] == ["proxy_study", "excellence_bar"]


async def test_appeals_only_by_the_learner_and_only_within_the_period(
    ctx: Context,
    client: TestClient,
    fraud: Fraud,
) -> None:
    assert (await _decide(client, "cs_reviewer", fraud.case_id, "confirmed_fraud")).status == 200
    url = f"/api/v1/me/cases/{fraud.case_id}/appeal"
    other = await login(client, "li")
    assert (await client.post(url, json={"statement": "替他申诉"}, headers=other)).status == 404
    staff = await login(client, "cs_reviewer2")
    assert (await client.post(url, json={"statement": "替他申诉"}, headers=staff)).status == 403
    learner = await login(client, "zhang")
    assert (await client.post(url, json={"statement": ""}, headers=learner)).status in (400, 422)
    async with ctx.db.begin() as s:
        await s.execute(
            update(ReviewCase)
            .where(ReviewCase.id == fraud.case_id)
            .values(appeal_deadline=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1))
        )
    late = await client.post(url, json={"statement": "迟到的申诉"}, headers=learner)
    assert late.status == 409
    assert "期限" in (await late.json())["detail"]


# ---------------------------------------------------------------- learning from decisions


async def test_decisions_become_labels_and_precision_per_rule_and_band(
    ctx: Context,
    client: TestClient,
    fraud: Fraud,
    world: World,  # noqa: F811
) -> None:
    wang_case = await case_of(
        ctx,
        await flag(
            ctx,
            world.learners["wang"].id,
            band="medium",
            rules=[{"id": "R02", "name": "倍速播放", "kind": "behaviour", "text": "x"}],
        ),
    )
    assert (await _decide(client, "cs_reviewer", fraud.case_id, "confirmed_fraud")).status == 200
    assert (await _decide(client, "cs_reviewer", wang_case, "no_misconduct")).status == 200
    async with ctx.db() as s:
        labels = await study_labels(s)
    assert {(x.learner_id, x.label) for x in labels} == {
        (world.learners["zhang"].id, 1),
        (world.learners["wang"].id, 0),
    }
    resp = await client.get("/api/v1/review/precision", headers=await login(client, "cs_reviewer"))
    table = await resp.json()
    rules = {r["key"]: (r["decided"], r["confirmed"]) for r in table["rules"]}
    bands = {b["key"]: b["precision"] for b in table["bands"]}
    assert rules == {"R01": (1, 1), "R02": (1, 0)}
    assert bands == {"high": 1.0, "medium": 0.0}
    # The county reviewer's table counts only the county's cases.
    resp = await client.get("/api/v1/review/precision", headers=await login(client, "tx_reviewer"))
    assert {r["key"] for r in (await resp.json())["rules"]} == {"R02"}


async def test_exam_flags_join_the_queue_with_their_evidence(
    ctx: Context,
    client: TestClient,
    world: World,  # noqa: F811
) -> None:
    fid = await flag(
        ctx,
        world.learners["zhang"].id,
        source="exam",
        kind="copying",
        rules=[{"id": "E01", "name": "答案雷同", "kind": "behaviour", "text": "omega p=1e-6"}],
        evidence={"course_id": 1, "omega": 5.1},
    )
    case_id = await case_of(ctx, fid)
    headers = await login(client, "cs_reviewer")
    resp = await client.get("/api/v1/cases?kind=exam", headers=headers)
    assert [c["id"] for c in (await resp.json())["items"]] == [case_id]
    page = await client.get(f"/review/cases/{case_id}", headers=headers)
    assert page.status == 200
    assert "答案雷同" in await page.text()
    async with ctx.db() as s:
        assert (await s.get_one(DetectionFlag, fid)).case_id == case_id


async def test_detect_retrains_on_decided_cases_features(
    ctx: Context,
    client: TestClient,
    fraud: Fraud,
    world: World,  # noqa: F811
) -> None:
    from proctor.detection.features import FEATURES
    from proctor.detection.service import reviewed_examples

    assert (await _decide(client, "cs_reviewer", fraud.case_id, "confirmed_fraud")).status == 200
    X, y = await reviewed_examples(ctx)
    assert X.shape == (1, len(FEATURES)) and list(y) == [1]
    # The recomputed features are the learner's own for the case's week: two sessions.
    assert X[0, FEATURES.index("sessions")] == 2


async def test_fairness_counts_learners_who_studied_in_authority(
    ctx: Context,
    client: TestClient,
    fraud: Fraud,
) -> None:
    assert (await _decide(client, "cs_reviewer", fraud.case_id, "confirmed_fraud")).status == 200
    resp = await client.get(
        f"/api/v1/review/fairness?year={YEAR}", headers=await login(client, "cs_reviewer")
    )
    groups = {(g["dimension"], g["group"]): g for g in (await resp.json())["groups"]}
    men = groups[("性别", "男")]
    assert (men["active"], men["flagged"], men["confirmed"]) == (1, 1, 1)
    resp = await client.get(
        f"/api/v1/review/fairness?year={YEAR}", headers=await login(client, "tx_reviewer")
    )
    assert (await resp.json())["groups"] == []


async def test_the_flags_page_lists_a_flag_while_its_case_is_open(
    ctx: Context,
    client: TestClient,
    fraud: Fraud,
) -> None:
    """A decided case's flags leave the flags page; an appeal brings them back until heard."""

    async def listed() -> bool:
        headers = await login(client, "cs_reviewer")
        resp = await client.get("/api/v1/flags", headers=headers)
        assert resp.status == 200, await resp.text()
        items = (await resp.json())["items"]
        return any(item["learner_id"] == zhang for item in items)

    zhang = await ctx_learner(ctx, fraud.case_id)
    assert await listed()
    assert (await _decide(client, "cs_reviewer", fraud.case_id, "confirmed_fraud")).status == 200
    assert not await listed()
    learner = await login(client, "zhang")
    resp = await client.post(
        f"/api/v1/me/cases/{fraud.case_id}/appeal",
        json={"statement": "当天在单位会议室与同事共用电脑学习，可提供会议记录"},
        headers=learner,
    )
    assert resp.status == 200, await resp.text()
    assert await listed()
    async with ctx.db() as s:
        statuses = set(
            await s.scalars(
                select(DetectionFlag.status).where(DetectionFlag.case_id == fraud.case_id)
            )
        )
    assert statuses == {"open"}


async def ctx_learner(ctx: Context, case_id: int) -> int:
    async with ctx.db() as s:
        case = await s.get(ReviewCase, case_id)
        assert case is not None
        return case.learner_id
