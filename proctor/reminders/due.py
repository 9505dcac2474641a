"""What is due, and for whom: the reminders one run would send (each under its unique reason).

* learners behind schedule: the reports' own list (one reason per learner and month);
* uploaders whose roster rows were returned or failed their checks (one per batch and return);
* reviewers whose case or appeal is near its deadline (one per case, reviewer and deadline):
  the case's reviewer if claimed, else the reviewers of the nearest node above it;
* learners who may still appeal a finding, as the appeal deadline nears (one per case).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from models import (
    Account,
    BatchStatus,
    CaseState,
    Learner,
    OrgUnit,
    ReviewCase,
    Role,
    RosterBatch,
)
from proctor.kernel.authz import Actor
from proctor.kernel.calendar import ACADEMY_TZ
from proctor.kernel.context import Context
from proctor.reminders import texts
from proctor.reminders.deadlines import ReviewDays, due_at, is_near, opened_before
from proctor.reports.service import learner_lines
from proctor.review.states import CONFIRMED

PAGE = 500
# An upload whose rows failed their checks is the uploader's to fix; a day's grace first.
ERRORS_GRACE = dt.timedelta(days=1)


@dataclass(frozen=True)
class Candidate:
    """A reminder that may be sent, if its reason was never sent before."""

    reason_key: str
    kind: str
    account_id: int
    learner_id: int | None
    org_path: str
    text: texts.Text


def review_days(ctx: Context) -> ReviewDays:
    """The configured deadlines."""
    s = ctx.settings
    return ReviewDays(s.review_decide_days, s.review_appeal_answer_days, s.reminder_lead_days)


async def behind(ctx: Context, actor: Actor, now: dt.datetime) -> list[Candidate]:
    """Learners of the actor's subtree behind the linear schedule, as the report lists them."""
    today = now.astimezone(ACADEMY_TZ).date()
    month = f"{today.year}-{today.month:02d}"
    out: list[Candidate] = []
    offset = 0
    while True:
        _, total, lines = await learner_lines(
            ctx, actor, None, today.year, only_behind=True, as_of=today, limit=PAGE, offset=offset
        )
        if not lines:
            break
        async with ctx.db() as s:
            accounts = {
                learner_id: (account_id, path)
                for learner_id, account_id, path in await s.execute(
                    select(Account.learner_id, Account.id, Learner.org_path)
                    .join(Learner, Learner.id == Account.learner_id)
                    .where(
                        Account.learner_id.in_([x.learner_id for x in lines]),
                        Account.active.is_(True),
                    )
                )
            }
        for x in lines:
            if x.learner_id not in accounts:
                continue
            account_id, path = accounts[x.learner_id]
            out.append(
                Candidate(
                    f"behind:{x.learner_id}:{month}",
                    "behind",
                    account_id,
                    x.learner_id,
                    path,
                    texts.behind(x.name, today.year, x.total, x.quota_total, today.month),
                )
            )
        offset += PAGE
        if offset >= total:
            break
    return out


async def batches(s: AsyncSession, now: dt.datetime, under: str = "/") -> list[Candidate]:
    """Uploaders with rows to fix: returned by an approver, or failing their checks."""
    rows = await s.execute(
        select(RosterBatch, Account.id, OrgUnit.path)
        .join(Account, Account.id == RosterBatch.uploaded_by)
        .join(OrgUnit, OrgUnit.id == Account.org_id)
        .where(
            RosterBatch.org_path.startswith(under),
            Account.active.is_(True),
            or_(
                RosterBatch.status == BatchStatus.RETURNED,
                (RosterBatch.status == BatchStatus.PENDING)
                & (RosterBatch.error_rows > 0)
                & (RosterBatch.created_at < now - ERRORS_GRACE),
            ),
        )
    )
    out = []
    for batch, account_id, path in rows:
        # A new return (or a first reminder of errors) is a new reason; the same one is not.
        since = batch.decided_at if batch.status is BatchStatus.RETURNED else batch.created_at
        stamp = since.strftime("%Y%m%d%H%M") if since else "0"
        out.append(
            Candidate(
                f"batch:{batch.id}:{batch.status.value}:{stamp}",
                "batch",
                account_id,
                None,
                path,
                texts.batch_returned(batch.filename, batch.error_rows, batch.id),
            )
        )
    return out


async def _reviewers(s: AsyncSession) -> list[tuple[int, str]]:
    rows = await s.execute(
        select(Account.id, OrgUnit.path)
        .join(OrgUnit, OrgUnit.id == Account.org_id)
        .where(Account.role == Role.REVIEWER, Account.active.is_(True))
    )
    return [(account_id, path) for account_id, path in rows]


def nearest_reviewers(reviewers: list[tuple[int, str]], case_path: str) -> list[tuple[int, str]]:
    """The reviewers of the deepest node above a case that has any."""
    covering = [(a, p) for a, p in reviewers if case_path.startswith(p)]
    if not covering:
        return []
    deepest = max(len(p) for _, p in covering)
    return [(a, p) for a, p in covering if len(p) == deepest]


async def cases(
    s: AsyncSession, now: dt.datetime, days: ReviewDays, under: str = "/"
) -> list[Candidate]:
    """Reviewers with a case or an appeal near its deadline (or past it)."""
    rows = await s.execute(
        select(ReviewCase, Learner.name)
        .join(Learner, Learner.id == ReviewCase.learner_id)
        .where(
            ReviewCase.org_path.startswith(under),
            or_(
                ReviewCase.state.in_([CaseState.NEW, CaseState.IN_REVIEW])
                & (ReviewCase.opened_at <= opened_before(now, days.decide_days, days.lead_days)),
                (ReviewCase.state == CaseState.APPEALED)
                & (ReviewCase.appealed_at <= opened_before(now, days.answer_days, days.lead_days)),
            ),
        )
    )
    reviewers = await _reviewers(s)
    assignees: dict[int, str] = {}
    out = []
    for case, learner in rows:
        deadline = due_at(case.state, case.opened_at, case.appealed_at, days)
        if deadline is None or not is_near(deadline, now, days.lead_days):
            continue
        to = []
        if case.assignee_id is not None and case.state is CaseState.IN_REVIEW:
            if case.assignee_id not in assignees:
                path = await s.scalar(
                    select(OrgUnit.path)
                    .join(Account, Account.org_id == OrgUnit.id)
                    .where(Account.id == case.assignee_id, Account.active.is_(True))
                )
                assignees[case.assignee_id] = path or ""
            if assignees[case.assignee_id]:
                to = [(case.assignee_id, assignees[case.assignee_id])]
        if not to:
            to = nearest_reviewers(reviewers, case.org_path)
        appeal = case.state is CaseState.APPEALED
        for account_id, path in to:
            out.append(
                Candidate(
                    f"case-due:{case.id}:{account_id}:{deadline.date().isoformat()}",
                    "case_due",
                    account_id,
                    None,
                    path,
                    texts.case_due(case.id, learner, deadline, appeal),
                )
            )
    return out


async def appeals(
    s: AsyncSession, now: dt.datetime, lead_days: int, under: str = "/"
) -> list[Candidate]:
    """Learners whose appeal window on a standing finding closes soon."""
    rows = await s.execute(
        select(ReviewCase, Learner.name, Account.id, Learner.org_path)
        .join(Learner, Learner.id == ReviewCase.learner_id)
        .join(Account, Account.learner_id == Learner.id)
        .where(
            ReviewCase.org_path.startswith(under),
            ReviewCase.state.in_(CONFIRMED),
            ReviewCase.appealed_at.is_(None),
            ReviewCase.appeal_deadline > now,
            ReviewCase.appeal_deadline <= now + dt.timedelta(days=lead_days),
            Account.active.is_(True),
        )
    )
    return [
        Candidate(
            f"appeal-window:{case.id}",
            "appeal_window",
            account_id,
            case.learner_id,
            path,
            texts.appeal_window(name, case.id, case.appeal_deadline),
        )
        for case, name, account_id, path in rows
        if case.appeal_deadline is not None
    ]
