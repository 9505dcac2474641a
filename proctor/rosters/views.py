"""Roster batches and rows as the API and the pages show them (identifiers masked)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from models import Account, BatchStatus, OrgUnit, RosterBatch, RosterRow
from proctor.kernel.authz import ADMIN_ROLES, APPROVER_ROLES, Actor
from proctor.kernel.calendar import ACADEMY_TZ, local_text
from proctor.kernel.errors import NotFound

STATUS_LABELS = {
    BatchStatus.PENDING: "待审批",
    BatchStatus.APPROVED: "已通过",
    BatchStatus.REJECTED: "已驳回",
    BatchStatus.RETURNED: "部分通过，问题行已退回",
    BatchStatus.WITHDRAWN: "已撤回",
}
# Statuses in which the uploader still works on the batch (fix rows in place, withdraw).
OPEN_STATUSES = (BatchStatus.PENDING, BatchStatus.RETURNED)
# Academy local time (kept under its old name for the roster modules importing it).
BEIJING = ACADEMY_TZ


def beijing_text(value: dt.datetime | None) -> str:
    """A timestamp as people in Hunan read it."""
    return local_text(value)


@dataclass(frozen=True)
class RowView:
    """One row of the per-row report."""

    row_no: int
    ok: bool
    errors: list[str]
    name: str
    id_masked: str
    unit_name: str
    unit_id: int | None
    rank: str
    position: str
    phone_masked: str
    learner_id: int | None

    def as_dict(self) -> dict[str, Any]:
        """JSON shape."""
        return asdict(self)


@dataclass(frozen=True)
class BatchView:
    """A batch with its review state."""

    id: int
    filename: str
    org_id: int
    org_name: str
    uploaded_by: str
    status: str
    status_label: str
    total_rows: int
    error_rows: int
    created_at: dt.datetime
    decided_by: str | None
    decided_at: dt.datetime | None
    decision_note: str
    credentials_ready: bool
    credentials_downloaded_at: dt.datetime | None

    @property
    def created_text(self) -> str:
        """Upload time for pages."""
        return beijing_text(self.created_at)

    @property
    def decided_text(self) -> str:
        """Decision time for pages."""
        return beijing_text(self.decided_at)

    def as_dict(self) -> dict[str, Any]:
        """JSON shape."""
        return asdict(self)


@dataclass(frozen=True)
class BatchDetail:
    """A batch, its rows, and what the actor may do with it."""

    batch: BatchView
    rows: list[RowView]
    can_decide: bool  # approve or reject: an approver, while pending
    can_approve: bool  # ... and no row has an error
    can_download: bool
    can_approve_valid: bool = False  # ... some rows have errors, others can be approved
    can_fix: bool = False  # fix rows in place: while pending or returned
    can_withdraw: bool = False  # the uploader or an approver, while pending or returned
    approved_rows: int = 0

    def as_dict(self) -> dict[str, Any]:
        """JSON shape: the batch's fields plus its rows."""
        return self.batch.as_dict() | {
            "can_decide": self.can_decide,
            "can_approve": self.can_approve,
            "can_download": self.can_download,
            "can_approve_valid": self.can_approve_valid,
            "can_fix": self.can_fix,
            "can_withdraw": self.can_withdraw,
            "approved_rows": self.approved_rows,
            "rows": [r.as_dict() for r in self.rows],
        }


def row_view(row: RosterRow) -> RowView:
    """The report line of a stored row."""
    rank, position = row.rank, row.position
    return RowView(
        row_no=row.row_no,
        ok=row.ok,
        errors=list(row.errors or []),
        name=row.name,
        id_masked=row.id_masked,
        unit_name=row.unit_name,
        unit_id=row.unit_id,
        rank=rank,
        position=position,
        phone_masked=row.phone_masked,
        learner_id=row.learner_id,
    )


async def _fetch(session: AsyncSession, *where: ColumnElement[bool]) -> list[BatchView]:
    decider = aliased(Account)
    rows = (
        await session.execute(
            select(RosterBatch, OrgUnit.name, Account.username, decider.username)
            .join(OrgUnit, OrgUnit.id == RosterBatch.org_id)
            .join(Account, Account.id == RosterBatch.uploaded_by)
            .outerjoin(decider, decider.id == RosterBatch.decided_by)
            .where(*where)
            .order_by(RosterBatch.id.desc())
        )
    ).all()
    return [_view(batch, org, uploader, by) for batch, org, uploader, by in rows]


def _view(batch: RosterBatch, org_name: str, uploader: str, decider: str | None) -> BatchView:
    return BatchView(
        id=batch.id,
        filename=batch.filename,
        org_id=batch.org_id,
        org_name=org_name,
        uploaded_by=uploader,
        status=batch.status.value,
        status_label=STATUS_LABELS[batch.status],
        total_rows=batch.total_rows,
        error_rows=batch.error_rows,
        created_at=batch.created_at,
        decided_by=decider,
        decided_at=batch.decided_at,
        decision_note=batch.decision_note,
        credentials_ready=batch.credentials_cipher is not None,
        credentials_downloaded_at=batch.credentials_downloaded_at,
    )


async def batch_views(session: AsyncSession, actor: Actor) -> list[BatchView]:
    """Batches uploaded within the actor's subtree, newest first."""
    return await _fetch(session, actor.in_scope(RosterBatch.org_path))


async def batch_view(session: AsyncSession, actor: Actor, batch_id: int) -> BatchView:
    """One batch in scope, or 404."""
    found = await _fetch(session, RosterBatch.id == batch_id, actor.in_scope(RosterBatch.org_path))
    if not found:
        raise NotFound("花名册批次不存在或不在您的管理范围内")
    return found[0]


def may_download(actor: Actor, batch: RosterBatch) -> bool:
    """The uploader, or an approver whose subtree covers the batch."""
    return actor.covers(batch.org_path) and (
        actor.account_id == batch.uploaded_by or actor.role in APPROVER_ROLES
    )


async def batch_detail(session: AsyncSession, actor: Actor, batch_id: int) -> BatchDetail:
    """A batch in scope with its rows in file order."""
    view = await batch_view(session, actor, batch_id)
    batch = await session.get_one(RosterBatch, batch_id)
    rows: Sequence[RosterRow] = (
        await session.scalars(
            select(RosterRow).where(RosterRow.batch_id == batch_id).order_by(RosterRow.row_no)
        )
    ).all()
    can_decide = batch.status is BatchStatus.PENDING and actor.role in APPROVER_ROLES
    approved = sum(1 for r in rows if r.learner_id is not None)
    waiting_valid = sum(1 for r in rows if r.learner_id is None and r.ok)
    still_open = batch.status in OPEN_STATUSES
    return BatchDetail(
        batch=view,
        rows=[row_view(r) for r in rows],
        can_decide=can_decide,
        can_approve=can_decide and batch.error_rows == 0,
        can_download=batch.credentials_cipher is not None and may_download(actor, batch),
        can_approve_valid=can_decide and batch.error_rows > 0 and waiting_valid > 0,
        can_fix=still_open and batch.error_rows > 0 and actor.role in ADMIN_ROLES,
        can_withdraw=still_open and may_withdraw(actor, batch),
        approved_rows=approved,
    )


def may_withdraw(actor: Actor, batch: RosterBatch) -> bool:
    """The uploader, or an approver whose subtree covers the batch."""
    return may_download(actor, batch)
