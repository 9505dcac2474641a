"""A batch the uploader still works on: fixing a row in place, withdrawing the batch.

A row is fixed where it is, checked again by the same rules as an upload (values, the unit's
place in the batch's subtree, duplicates in the batch, people already in the system or on
another waiting batch); nobody re-types a whole sheet because of one row. A batch returned
with its valid rows approved goes back to the approver as soon as a row is fixed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from models import AuditEvent, BatchStatus, OrgLevel, OrgUnit, RosterBatch, RosterRow
from proctor.kernel.authz import ADMIN_ROLES, Actor
from proctor.kernel.context import Context
from proctor.kernel.errors import Conflict, Forbidden, NotFound
from proctor.rosters import lookups
from proctor.rosters.checks import UnitIndex, UnitRef, check_row
from proctor.rosters.parsing import RawRow
from proctor.rosters.service import decision_note, today_in_china
from proctor.rosters.storage import row_values
from proctor.rosters.views import (
    OPEN_STATUSES,
    BatchView,
    RowView,
    batch_view,
    may_withdraw,
    row_view,
)

NOT_FOUND = "花名册批次不存在或不在您的管理范围内"


@dataclass(frozen=True)
class RowFix:
    """A row as the uploader corrects it; an empty identity number or phone keeps the one
    stored (it is encrypted: nobody reads it back to re-type it)."""

    name: str
    id_number: str
    unit: str
    position: str
    rank: str
    phone: str


async def _open_batch(s: AsyncSession, actor: Actor, batch_id: int) -> RosterBatch:
    actor.require(ADMIN_ROLES, "修改花名册")
    batch = await s.scalar(select(RosterBatch).where(RosterBatch.id == batch_id).with_for_update())
    if batch is None or not actor.covers(batch.org_path):
        raise NotFound(NOT_FOUND)
    if batch.status not in OPEN_STATUSES:
        raise Conflict("该批次已审批完毕、被驳回或已撤回，不能再修改", field="status")
    return batch


async def fix_row(
    ctx: Context, actor: Actor, batch_id: int, row_no: int, fix: RowFix
) -> tuple[BatchView, RowView]:
    """Correct one row of a waiting batch and check it again; a returned batch goes back to
    the approver."""
    async with ctx.db.begin() as s:
        batch = await _open_batch(s, actor, batch_id)
        row = await s.scalar(
            select(RosterRow).where(RosterRow.batch_id == batch.id, RosterRow.row_no == row_no)
        )
        if row is None:
            raise NotFound(f"第 {row_no} 行不存在", field="row_no")
        if row.learner_id is not None:
            raise Conflict(
                f"第 {row_no} 行已审批通过，学员已创建，请在学员信息中修改", field="row_no"
            )
        raw = RawRow(
            row_no=row.row_no,
            name=fix.name,
            id_number=fix.id_number.strip()
            or (ctx.vault.decrypt(row.id_cipher) if row.id_cipher else ""),
            unit=fix.unit,
            position=fix.position,
            rank=fix.rank,
            phone=fix.phone.strip()
            or (ctx.vault.decrypt(row.phone_cipher) if row.phone_cipher else ""),
        )
        units = await _units_of(s, batch)
        checked = check_row(raw, UnitIndex(units), today=today_in_china())
        if checked.id_number is not None:
            digest = ctx.vault.lookup_hash(checked.id_number.value)
            twins = (
                await s.scalars(
                    select(RosterRow.row_no).where(
                        RosterRow.batch_id == batch.id,
                        RosterRow.id_hash == digest,
                        RosterRow.id != row.id,
                    )
                )
            ).all()
            if twins:
                others = "、".join(str(n) for n in twins)
                checked.errors.append(f"身份证号与第 {others} 行重复（同一文件中每人只能出现一次）")
            elif await lookups.learner_hashes(s, [digest]):
                checked.errors.append(lookups.ALREADY_LEARNER)
            elif await lookups.pending_hashes(s, [digest], but_batch=batch.id):
                checked.errors.append(lookups.IN_PENDING_BATCH)
        values = row_values(checked, ctx.vault)
        for name, value in values.items():
            if name != "row_no":
                setattr(row, name, value)
        await s.flush()
        batch.error_rows = int(
            await s.scalar(
                select(func.count())
                .select_from(RosterRow)
                .where(RosterRow.batch_id == batch.id, RosterRow.ok.is_(False))
            )
            or 0
        )
        resubmitted = batch.status is BatchStatus.RETURNED
        if resubmitted:
            batch.status = BatchStatus.PENDING
        s.add(
            AuditEvent(
                actor_id=actor.account_id,
                action="roster.fix_row",
                target=f"roster_batch:{batch.id}",
                detail={"row_no": row_no, "ok": checked.ok, "resubmitted": resubmitted},
            )
        )
        fixed = row_view(row)
    async with ctx.db() as s:
        return await batch_view(s, actor, batch_id), fixed


async def _units_of(s: AsyncSession, batch: RosterBatch) -> list[UnitRef]:
    """Open units of the batch's own subtree: a row names one of them, by name or code."""
    rows = await s.scalars(
        select(OrgUnit).where(
            OrgUnit.path.startswith(batch.org_path),
            OrgUnit.level == OrgLevel.UNIT,
            OrgUnit.closed_at.is_(None),
        )
    )
    return [UnitRef(u.id, u.name, u.code, u.path) for u in rows]


async def withdraw(ctx: Context, actor: Actor, batch_id: int, note: str = "") -> BatchView:
    """The uploader takes back a batch not yet (wholly) approved. Rows already approved stay;
    a batch with some of them ends as approved, the others as withdrawn."""
    note = decision_note(note, required=False)
    async with ctx.db.begin() as s:
        batch = await _open_batch(s, actor, batch_id)
        if not may_withdraw(actor, batch):
            raise Forbidden("只有上传人或审批人可以撤回花名册")
        approved = int(
            await s.scalar(
                select(func.count())
                .select_from(RosterRow)
                .where(RosterRow.batch_id == batch.id, RosterRow.learner_id.is_not(None))
            )
            or 0
        )
        before = batch.status
        batch.status = BatchStatus.APPROVED if approved else BatchStatus.WITHDRAWN
        if note:
            batch.decision_note = note
        detail: dict[str, Any] = {"from": before.value, "approved_rows": approved, "note": note}
        s.add(
            AuditEvent(
                actor_id=actor.account_id,
                action="roster.withdraw",
                target=f"roster_batch:{batch.id}",
                detail=detail,
            )
        )
    async with ctx.db() as s:
        return await batch_view(s, actor, batch_id)
