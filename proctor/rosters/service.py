"""Roster batches (Art. 10): upload with a per-row report, listing, detail and rejection.

An upload stores a pending batch and its rows and nothing else; learners and accounts appear
only when an administrator approves the batch (see approval.py).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import re
from urllib.parse import unquote

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from models import AuditEvent, BatchStatus, RosterBatch, RosterRow, utcnow
from proctor.kernel.authz import ADMIN_ROLES, APPROVER_ROLES, Actor
from proctor.kernel.context import Context
from proctor.kernel.errors import Conflict, InvalidInput, NotFound, TooLarge
from proctor.kernel.progress import Progress, silent
from proctor.kernel.security.pii import PiiVault
from proctor.orgs.service import units_in_scope
from proctor.rosters import lookups
from proctor.rosters.checks import CheckedRow, UnitRef, check_rows, flag_existing
from proctor.rosters.parsing import read_roster
from proctor.rosters.storage import row_values
from proctor.rosters.views import (
    BEIJING,
    BatchDetail,
    BatchView,
    batch_detail,
    batch_view,
    batch_views,
)

NOTE_MAX = 500


def today_in_china() -> dt.date:
    """The calendar date in Hunan, against which ages are reckoned."""
    return dt.datetime.now(BEIJING).date()


def size_text(limit: int) -> str:
    """A byte limit as people say it (10 MB)."""
    return f"{limit / 1024 / 1024:g} MB" if limit >= 1024 * 1024 else f"{limit / 1024:g} KB"


def too_large_message(limit: int) -> str:
    """The refusal of a file over the upload limit."""
    return f"文件过大：上传文件不能超过 {size_text(limit)}，请拆分后分批上传"


def clean_filename(filename: str) -> str:
    """The file's own name, without any client-side folders or control characters."""
    if re.search(r"%[0-9A-Fa-f]{2}", filename or ""):
        # Some clients (aiohttp, curl scripts) percent-encode non-ASCII names in form-data.
        filename = unquote(filename)
    base = re.split(r"[\\/]", filename or "")[-1]
    base = re.sub(r"[\x00-\x1f\x7f]", "", base).strip()
    return base[:255] or "花名册"


async def upload(
    ctx: Context, actor: Actor, filename: str, data: bytes, progress: Progress = silent
) -> BatchDetail:
    """Read, check and store a roster file as a pending batch; return its per-row report."""
    actor.require(ADMIN_ROLES, "上传花名册")
    steps = ("读取文件", "校核各行", "加密并保存")
    progress(f"花名册导入·{steps[0]}", 0, len(steps))
    if len(data) > ctx.settings.max_upload_bytes:
        raise TooLarge(too_large_message(ctx.settings.max_upload_bytes), field="file")
    filename = clean_filename(filename)
    # Parsing and checking 20,000 rows is CPU work: keep the event loop answering meanwhile.
    raw_rows = await asyncio.to_thread(
        read_roster, data, filename, max_rows=ctx.settings.max_roster_rows
    )
    progress(f"花名册导入·{steps[1]}（{len(raw_rows)} 行）", 1, len(steps))
    async with ctx.db() as s:
        units = [UnitRef(u.id, u.name, u.code, u.path) for u in await units_in_scope(s, actor)]
    checked = await asyncio.to_thread(check_rows, raw_rows, units, today=today_in_china())
    progress(f"花名册导入·{steps[2]}", 2, len(steps))
    async with ctx.db.begin() as s:
        await _flag_known_people(s, ctx.vault, checked)
        values = await asyncio.to_thread(lambda: [row_values(r, ctx.vault) for r in checked])
        errors = sum(1 for r in checked if not r.ok)
        batch = RosterBatch(
            org_id=actor.org_id,
            org_path=actor.org_path,
            uploaded_by=actor.account_id,
            filename=filename,
            file_sha256=hashlib.sha256(data).hexdigest(),
            status=BatchStatus.PENDING,
            total_rows=len(checked),
            error_rows=errors,
        )
        s.add(batch)
        await s.flush()
        for value in values:
            value["batch_id"] = batch.id
        await s.execute(insert(RosterRow), values)
        s.add(
            AuditEvent(
                actor_id=actor.account_id,
                action="roster.upload",
                target=f"roster_batch:{batch.id}",
                detail={"filename": filename, "rows": len(checked), "error_rows": errors},
            )
        )
        batch_id = batch.id
    progress(f"花名册导入·{steps[2]}", 3, len(steps))
    async with ctx.db() as s:
        return await batch_detail(s, actor, batch_id)


async def _flag_known_people(s: AsyncSession, vault: PiiVault, rows: list[CheckedRow]) -> None:
    hash_of = {r.id_number.value: vault.lookup_hash(r.id_number.value) for r in rows if r.id_number}
    learners = await lookups.learner_hashes(s, hash_of.values())
    pending = await lookups.pending_hashes(s, set(hash_of.values()) - learners)
    reasons: dict[str, str] = {}
    for number, digest in hash_of.items():
        if digest in learners:
            reasons[number] = lookups.ALREADY_LEARNER
        elif digest in pending:
            reasons[number] = lookups.IN_PENDING_BATCH
    flag_existing(rows, reasons)


async def list_batches(ctx: Context, actor: Actor) -> list[BatchView]:
    """Batches uploaded within the actor's subtree, newest first."""
    actor.require(ADMIN_ROLES, "查看花名册")
    async with ctx.db() as s:
        return await batch_views(s, actor)


async def get_batch(ctx: Context, actor: Actor, batch_id: int) -> BatchDetail:
    """A batch in scope with its per-row report (identifiers masked)."""
    actor.require(ADMIN_ROLES, "查看花名册")
    async with ctx.db() as s:
        return await batch_detail(s, actor, batch_id)


async def load_for_decision(s: AsyncSession, actor: Actor, batch_id: int) -> RosterBatch:
    """A pending batch in the approver's subtree, locked against a concurrent decision."""
    actor.require(APPROVER_ROLES, "审批花名册")
    batch = await s.scalar(select(RosterBatch).where(RosterBatch.id == batch_id).with_for_update())
    if batch is None or not actor.covers(batch.org_path):
        raise NotFound("花名册批次不存在或不在您的管理范围内")
    refuse_decided(batch)
    return batch


def refuse_decided(batch: RosterBatch) -> None:
    """A batch is decided once (a returned one again after its rows are fixed)."""
    if batch.status is not BatchStatus.PENDING:
        reason = {
            BatchStatus.APPROVED: "该批次已被审批通过，不能再次审批",
            BatchStatus.REJECTED: "该批次已被驳回，不能再次审批",
            BatchStatus.RETURNED: "该批次的问题行已退回上传人修改，修改后才能再次审批",
            BatchStatus.WITHDRAWN: "该批次已被上传人撤回",
        }[batch.status]
        raise Conflict(reason, field="status")


def decision_note(note: str, *, required: bool) -> str:
    """The approver's note, trimmed; a rejection must say why."""
    note = (note or "").strip()
    if required and not note:
        raise InvalidInput("请填写驳回原因，便于上传人修改后重新上传", field="note")
    if len(note) > NOTE_MAX:
        raise InvalidInput(f"审批意见过长（最多 {NOTE_MAX} 个字）", field="note")
    return note


async def reject(ctx: Context, actor: Actor, batch_id: int, note: str) -> BatchView:
    """Reject a pending batch with a reason; nothing is created."""
    actor.require(APPROVER_ROLES, "驳回花名册")
    note = decision_note(note, required=True)
    async with ctx.db.begin() as s:
        batch = await load_for_decision(s, actor, batch_id)
        batch.status = BatchStatus.REJECTED
        batch.decided_by = actor.account_id
        batch.decided_at = utcnow()
        batch.decision_note = note
        s.add(
            AuditEvent(
                actor_id=actor.account_id,
                action="roster.reject",
                target=f"roster_batch:{batch.id}",
                detail={"note": note},
            )
        )
    async with ctx.db() as s:
        return await batch_view(s, actor, batch_id)
