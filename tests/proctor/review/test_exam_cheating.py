"""考试作弊: a decision that voids the flagged attempt and reverses its bonus through the ledger;
the case page, history and notices in words a reviewer and a learner read."""

from __future__ import annotations

import re

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from models import (
    CreditEntry,
    CreditSource,
    DetectionFlag,
    ExamAttempt,
    Notification,
    Role,
    XapiOutbox,
)
from proctor.kernel.calendar import local_day
from proctor.kernel.context import Context
from proctor.review.intake import intake
from proctor.xapi import sources
from proctor.xapi import vocabulary as v
from proctor.xapi.export import enqueue_new
from tests.factories import World, add_account, login, world  # noqa: F401
from tests.proctor.exams.test_taking import (  # noqa: F401
    Setup,
    answer_all,
    bonuses,
    setup,
    start,
)
from tests.proctor.review.helpers import flag
from tests.proctor.xapi.ralph_models import validate

REASON = "与李娜答卷高度雷同，且紧随其填入答案，证据充分"


async def _passed_and_flagged(
    ctx: Context,
    client: TestClient,
    s: Setup,
    world: World,  # noqa: F811
) -> tuple[int, int]:
    """zhang passes the exam (70, bonus 2.00); forensics flags the attempt as copying from
    李娜; the flag is taken into a case. Returns (attempt id, case id)."""
    a = await start(client, s)
    await answer_all(ctx, client, s, a, right=7)
    resp = await client.post(f"/api/v1/exams/attempts/{a['attempt_id']}/submit", headers=s.zhang)
    assert (await resp.json())["passed"] is True
    async with ctx.db.begin() as db:
        attempt = await db.get_one(ExamAttempt, a["attempt_id"])
        day = local_day(attempt.finished_at or attempt.started_at)
        f = DetectionFlag(
            learner_id=world.learners["zhang"].id,
            period_start=day,
            period_end=day,
            risk=0.97,
            band="high",
            kind="exam",
            rules=[
                # As older forensics stored it: the name is only the id.
                {
                    "id": "C05",
                    "name": "C05",
                    "kind": "behaviour",
                    "text": "对方作答后 30 秒内本人填入相同答案 9 道",
                },
            ],
            drivers=[],
            model_version="exam-forensics-test",
            thresholds={},
            source="exam",
            attempt_id=attempt.id,
            evidence={
                "type": "copying",
                "course_id": s.course_id,
                "exam_id": s.exam_id,
                "attempt_id": attempt.id,
                "role": "copier",
                "partner_learner_id": world.learners["li"].id,
                "partner_attempt_id": attempt.id + 1000,
                "same_ip": True,
                "same_unit": False,
                "submitted_apart_s": 120.0,
                "n_common": 10,
                "matches": 9,
                "expected_matches": 4.2,
                "omega": 3.1,
                "identical_wrong": 2,
                "expected_identical_wrong": 0.3,
                "items": [],
            },
        )
        db.add(f)
        await db.flush()
        await intake(db)
        assert f.case_id is not None
        return attempt.id, f.case_id


async def test_exam_cheating_voids_the_attempt_and_reverses_its_bonus(
    ctx: Context,
    client: TestClient,
    setup: Setup,  # noqa: F811
    world: World,  # noqa: F811
) -> None:
    zhang = world.learners["zhang"].id
    attempt_id, case_id = await _passed_and_flagged(ctx, client, setup, world)
    [bonus] = await bonuses(ctx, zhang)
    reviewer = await login(client, "cs_reviewer")

    page = await (await client.get(f"/review/cases/{case_id}", headers=reviewer)).text()
    assert 'value="confirmed_exam_cheating"' in page and "认定考试作弊" in page
    # The copying partner by name, linked, within the reviewer's authority; no "学员 #74".
    li = world.learners["li"].id
    assert f'雷同对象：<a href="/admin/learners/{li}">李娜</a>' in page
    assert "学员 #" not in page
    assert "C05 C05" not in page and "<strong>C05 填入答案的时间紧随对方</strong>" not in page
    assert "<strong>C05</strong>：对方作答后" in page

    resp = await client.post(
        f"/api/v1/cases/{case_id}/decision",
        json={"outcome": "confirmed_exam_cheating", "reason": REASON},
        headers=reviewer,
    )
    assert resp.status == 200, await resp.text()
    done = await resp.json()
    assert done["voided_attempts"] == [attempt_id]
    assert done["revoked_entries"] == [bonus.id]

    # The ledger: the bonus line stays, a reversal cancels it, citing the case.
    async with ctx.db() as db:
        reversal = (
            await db.scalars(select(CreditEntry).where(CreditEntry.reverses_id == bonus.id))
        ).one()
    assert reversal.source is CreditSource.REVERSAL and reversal.amount == -bonus.amount
    assert reversal.case_id == case_id and "考试作弊" in reversal.reason

    learner = setup.zhang
    archive = await (await client.get("/api/v1/me/archive", headers=learner)).json()
    assert archive["credits"]["bonus"] == "0.00"
    assert [f["kind"] for f in archive["findings"]] == ["exam_cheating"]
    # The learner's exam list no longer says 已通过.
    exams = await (await client.get("/exams", headers=learner)).text()
    assert "答卷已作废（认定考试作弊）" in exams and "已通过" not in exams
    # Staff counts pass nobody on a voided attempt.
    overview = await (await client.get("/admin/exams", headers=setup.academy)).text()
    row = re.search(rf'<tr data-exam-id="{setup.exam_id}">.*?</tr>', overview, re.S)
    assert row is not None
    nums = re.findall(r'<td class="num">([^<]*)', row.group(0))
    assert nums[:3] == ["1", "1", "0（0%）"]

    # History: actions in words; the consequences say what was done.
    page = await (await client.get(f"/review/cases/{case_id}", headers=reviewer)).text()
    history = page.split('id="history"', 1)[1]
    for code in ("open", "claim", "decide", "consequences"):
        assert f"<td>{code}</td>" not in history
    assert "<td>立案</td>" in history and "<td>作出决定</td>" in history
    assert (
        f"已作废答卷 #{attempt_id}；已冲销考试奖励学分 1 条：《党章党规学习》奖励 2.00（记录 #{bonus.id}）"
        in history
    )
    assert "决定的后果已执行" not in history
    assert "当前状态：认定考试作弊" in page and "（认定：考试作弊）" not in page

    # The learner's notice: one pair of quotes, what was done, how to appeal.
    async with ctx.db() as db:
        notice = (
            await db.scalars(select(Notification).where(Notification.case_id == case_id))
        ).one()
    assert "被认定为“考试作弊”" in notice.body and "““" not in notice.body
    assert "认定考试作弊”" not in notice.body
    assert f"已作废答卷 #{attempt_id}" in notice.body and "申诉" in notice.body


async def test_appeal_answers_the_notice_and_upheld_restores_attempt_and_bonus(
    ctx: Context,
    client: TestClient,
    setup: Setup,  # noqa: F811
    world: World,  # noqa: F811
) -> None:
    await add_account(ctx, world, "cs_reviewer2", Role.REVIEWER, "长沙市")
    zhang = world.learners["zhang"].id
    _, case_id = await _passed_and_flagged(ctx, client, setup, world)
    reviewer = await login(client, "cs_reviewer")
    resp = await client.post(
        f"/api/v1/cases/{case_id}/decision",
        json={"outcome": "confirmed_exam_cheating", "reason": REASON},
        headers=reviewer,
    )
    assert resp.status == 200
    learner = setup.zhang
    home = await (await client.get("/learn", headers=learner)).text()
    assert "提出申诉" in home  # the notice invites the appeal
    mine = await (await client.get(f"/archive/cases/{case_id}", headers=learner)).text()
    assert "认定考试作弊" in mine and "（认定：" not in mine
    resp = await client.post(
        f"/api/v1/me/cases/{case_id}/appeal",
        json={"statement": "与李娜在同一会议室各自作答，未互相抄袭"},
        headers=learner,
    )
    assert resp.status == 200
    home = await (await client.get("/learn", headers=learner)).text()
    assert "提出申诉" not in home  # answered: no invitation left on the home page
    mine = await (await client.get(f"/archive/cases/{case_id}", headers=learner)).text()
    assert "申诉中（认定：考试作弊）" in mine and 'id="appeal"' not in mine

    other = await login(client, "cs_reviewer2")
    resp = await client.post(
        f"/api/v1/cases/{case_id}/appeal-decision",
        json={"outcome": "appeal_upheld", "reason": "座位表证实两人不相邻"},
        headers=other,
    )
    assert resp.status == 200, await resp.text()
    archive = await (await client.get("/api/v1/me/archive", headers=learner)).json()
    assert archive["credits"]["bonus"] == "2.00"
    assert len([e for e in await bonuses(ctx, zhang)]) == 1  # the original line, never re-posted
    exams = await (await client.get("/exams", headers=learner)).text()
    assert "已通过 70 分" in exams and "已作废" not in exams
    page = await (await client.get(f"/review/cases/{case_id}", headers=other)).text()
    assert "已恢复被冲销的学分 1 条；被作废的答卷恢复有效" in page


async def test_the_lrs_hears_the_pass_its_voiding_and_its_restatement(
    ctx: Context,
    client: TestClient,
    setup: Setup,  # noqa: F811
    world: World,  # noqa: F811
) -> None:
    """With xAPI on, the LRS first hears "passed"; the reviewer's 考试作弊 decision voids that
    statement (by the academy); the upheld appeal states the result again under a new id.
    Each once, however often the scan runs."""
    ctx.settings = ctx.settings.model_copy(
        update={"xapi_endpoint": "http://127.0.0.1:9/xAPI", "xapi_homepage": "https://a.example"}
    )
    await add_account(ctx, world, "cs_reviewer2", Role.REVIEWER, "长沙市")

    async def outbox() -> dict[str, list[XapiOutbox]]:
        await enqueue_new(ctx)
        await enqueue_new(ctx)
        async with ctx.db() as db:
            rows = list(await db.scalars(select(XapiOutbox).where(XapiOutbox.source != "study")))
        out: dict[str, list[XapiOutbox]] = {}
        for r in rows:
            out.setdefault(r.source, []).append(r)
        return out

    _, case_id = await _passed_and_flagged(ctx, client, setup, world)
    [result] = (await outbox())[sources.EXAM]
    assert result.statement["verb"]["id"] == v.VERBS["passed"]

    reviewer = await login(client, "cs_reviewer")
    resp = await client.post(
        f"/api/v1/cases/{case_id}/decision",
        json={"outcome": "confirmed_exam_cheating", "reason": REASON},
        headers=reviewer,
    )
    assert resp.status == 200
    rows = await outbox()
    [void] = rows[sources.EXAM_VOID]
    assert void.statement["verb"]["id"] == v.VERBS["voided"]
    assert void.statement["object"] == {"objectType": "StatementRef", "id": result.statement_id}
    assert void.statement["actor"]["account"]["name"] == "academy"
    assert sources.EXAM_REINSTATED not in rows
    validate(void.statement)

    resp = await client.post(
        f"/api/v1/me/cases/{case_id}/appeal",
        json={"statement": "与李娜在同一会议室各自作答，未互相抄袭"},
        headers=setup.zhang,
    )
    assert resp.status == 200
    assert sources.EXAM_REINSTATED not in await outbox()  # the finding stands while appealed
    resp = await client.post(
        f"/api/v1/cases/{case_id}/appeal-decision",
        json={"outcome": "appeal_upheld", "reason": "座位表证实两人不相邻"},
        headers=await login(client, "cs_reviewer2"),
    )
    assert resp.status == 200
    rows = await outbox()
    assert [len(rows[k]) for k in (sources.EXAM, sources.EXAM_VOID)] == [1, 1]
    [again] = rows[sources.EXAM_REINSTATED]
    assert again.statement_id not in (result.statement_id, void.statement_id)
    assert again.statement["verb"]["id"] == v.VERBS["passed"]
    assert again.statement["result"] == result.statement["result"]
    validate(again.statement)


async def test_exam_cheating_needs_an_exam_attempt(
    ctx: Context,
    client: TestClient,
    world: World,  # noqa: F811
) -> None:
    """A study-only case does not offer it, and the API refuses it, changing nothing."""
    fid = await flag(ctx, world.learners["zhang"].id)
    async with ctx.db() as db:
        case_id = (await db.get_one(DetectionFlag, fid)).case_id
    reviewer = await login(client, "cs_reviewer")
    page = await (await client.get(f"/review/cases/{case_id}", headers=reviewer)).text()
    assert "confirmed_exam_cheating" not in page
    resp = await client.post(
        f"/api/v1/cases/{case_id}/decision",
        json={"outcome": "confirmed_exam_cheating", "reason": REASON},
        headers=reviewer,
    )
    assert resp.status == 422
    assert "没有考试答卷" in (await resp.json())["detail"]
    state = await (await client.get(f"/api/v1/cases/{case_id}", headers=reviewer)).json()
    assert state["state"] == "new"
