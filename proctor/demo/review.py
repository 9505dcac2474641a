"""A little review history for the demo: decided cases, a finding under appeal, a dismissal.

The rest of the queue stays open for whoever signs in as a reviewer.
"""

from __future__ import annotations

from sqlalchemy import select

from models import Account, CaseState, CreditEntry, CreditSource, OrgUnit, ReviewCase
from proctor.kernel.authz import Actor
from proctor.kernel.context import Context
from proctor.review import consequences, decisions


async def actor_for(ctx: Context, username: str) -> Actor | None:
    async with ctx.db() as s:
        account = await s.scalar(select(Account).where(Account.username == username))
        if account is None:
            return None
        org = await s.get_one(OrgUnit, account.org_id)
        return Actor(
            account_id=account.id,
            username=account.username,
            display_name=account.display_name,
            role=account.role,
            org_id=account.org_id,
            org_path=org.path,
            learner_id=account.learner_id,
        )


async def learner_account(ctx: Context, learner_id: int) -> str | None:
    async with ctx.db() as s:
        return await s.scalar(select(Account.username).where(Account.learner_id == learner_id))


async def _earned_credits(ctx: Context, case: ReviewCase) -> bool:
    """The case's period earned standing study credits (what confirming fraud reverses)."""
    async with ctx.db() as s:
        courses = await consequences.affected_courses(s, case)
        if not courses:
            return False
        found = await s.scalar(
            select(CreditEntry.id)
            .where(
                CreditEntry.learner_id == case.learner_id,
                CreditEntry.course_id.in_(courses),
                CreditEntry.source.in_((CreditSource.ATTENTION, CreditSource.DESIGNATED)),
                CreditEntry.amount != 0,
            )
            .limit(1)
        )
        return found is not None


async def review_history(ctx: Context, password: str) -> list[tuple[str, str, str]]:
    """Decide three cases as the provincial reviewer and appeal one as its learner; return the
    logins of the learners involved."""
    reviewer = await actor_for(ctx, "reviewer_hn")
    if reviewer is None:
        return []
    async with ctx.db() as s:
        cases = list(
            (
                await s.scalars(
                    select(ReviewCase)
                    .where(ReviewCase.state == CaseState.NEW)
                    .order_by(ReviewCase.priority.desc(), ReviewCase.id)
                )
            ).all()
        )
    logins: list[tuple[str, str, str]] = []
    # A fraud case whose week earned credits, so that confirming it reverses something.
    frauds = [c for c in cases if c.kind == "fraud"]
    fraud = frauds[0] if frauds else None
    for candidate in frauds:
        if await _earned_credits(ctx, candidate):
            fraud = candidate
            break
    proxy = next((c for c in cases if c.kind == "proxy"), None)
    honest = next((c for c in reversed(cases) if c not in (fraud, proxy)), None)
    if fraud is not None:
        done = await decisions.decide(
            ctx,
            reviewer,
            fraud.id,
            "confirmed_fraud",
            "同一账号多路会话同时播放、倍速与跳转进度无对应观看时长，服务器时间核验证据充分",
        )
        username = await learner_account(ctx, fraud.learner_id)
        learner = await actor_for(ctx, username) if username else None
        if learner is not None:
            await decisions.appeal(
                ctx,
                learner,
                fraud.id,
                "当周单位网络不稳定，页面多次自动重连，并非有意刷课，请复核",
            )
            revoked = len(done.get("revoked_entries", []))
            what = f"冲销学分 {revoked} 条" if revoked else "本期学习未产生学分，未冲销"
            logins.append(
                (learner.username, password, f"学员（案件 #{fraud.id}：{what}，申诉待复核）")
            )
    if proxy is not None:
        await decisions.decide(
            ctx,
            reviewer,
            proxy.id,
            "confirmed_proxy",
            "学时主要来自本人从未使用过的设备，学习时段与本人习惯明显不符，单位核实系他人代学",
        )
        username = await learner_account(ctx, proxy.learner_id)
        if username:
            logins.append((username, password, f"学员（案件 #{proxy.id}：认定请人代学）"))
    if honest is not None:
        await decisions.decide(
            ctx,
            reviewer,
            honest.id,
            "no_misconduct",
            "与同单位同事轮流使用办公室电脑，时段不重叠，属正常情况",
        )
    return logins
