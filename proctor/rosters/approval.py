"""Approving a roster batch: every learner and account of the batch, or none of them."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from models import (
    Account,
    AuditEvent,
    BatchStatus,
    Learner,
    OrgLevel,
    OrgUnit,
    Role,
    RosterBatch,
    RosterRow,
    utcnow,
)
from proctor.kernel.authz import APPROVER_ROLES, Actor
from proctor.kernel.context import Context
from proctor.kernel.errors import Conflict, NotFound
from proctor.kernel.identity import IdNumber, parse_id_number
from proctor.kernel.security.passwords import Passwords
from proctor.rosters import credentials, lookups
from proctor.rosters.service import (
    decision_note,
    load_for_decision,
    refuse_decided,
    today_in_china,
)
from proctor.rosters.views import BatchView, batch_view


def initial_hasher(ctx: Context) -> Passwords:
    """Argon2 at OWASP's minimum for the random initial passwords.

    They carry about 57 bits and must be changed at first login, when the full-cost hash
    replaces them; a 20,000-person roster is then approved in minutes, not an hour.
    """
    return Passwords(time_cost=1, memory_kib=min(ctx.settings.argon2_memory_kib, 19_456))


NOTHING_CREATED = "本批次未导入任何学员"


def _rows_text(row_nos: Sequence[int]) -> str:
    shown = "、".join(str(n) for n in row_nos[:20])
    return shown + (f" 等 {len(row_nos)} 行" if len(row_nos) > 20 else " 行")


def _refuse_errors(batch: RosterBatch) -> None:
    if batch.error_rows:
        raise Conflict(
            f"该批次有 {batch.error_rows} 行存在问题，不能审批通过；请驳回本批次，由上传人修改花名册后重新上传",
            field="rows",
        )


async def approve(ctx: Context, actor: Actor, batch_id: int, note: str = "") -> BatchView:
    """Create the batch's learners and their accounts in one transaction, with initial
    passwords kept (encrypted) for a one-time download."""
    return await _approve(ctx, actor, batch_id, note, only_valid=False)


async def approve_valid(ctx: Context, actor: Actor, batch_id: int, note: str = "") -> BatchView:
    """Create the learners of the rows that passed every check; send the rest back to the
    uploader with their reasons (the batch is ``returned`` until they are fixed in place or
    withdrawn). The measures ask for real names, not for a whole sheet to be typed again
    because of one row."""
    return await _approve(ctx, actor, batch_id, note, only_valid=True)


async def _approve(
    ctx: Context, actor: Actor, batch_id: int, note: str, *, only_valid: bool
) -> BatchView:
    actor.require(APPROVER_ROLES, "审批花名册")
    note = decision_note(note, required=False)
    # Refuse cheaply before spending seconds on password hashing.
    async with ctx.db() as s:
        batch = await s.get(RosterBatch, batch_id)
        if batch is None or not actor.covers(batch.org_path):
            raise NotFound("花名册批次不存在或不在您的管理范围内")
        refuse_decided(batch)
        if not only_valid:
            _refuse_errors(batch)
        count = await _waiting(s, batch.id, only_valid=only_valid)
        if only_valid and not count:
            raise Conflict("本批次没有通过检查、等待审批的行", field="rows")
    issued = await asyncio.to_thread(credentials.issue_passwords, initial_hasher(ctx), count)
    try:
        async with ctx.db.begin() as s:
            batch = await load_for_decision(s, actor, batch_id)
            if not only_valid:
                _refuse_errors(batch)
            created = await _create_people(ctx, s, actor, batch, issued, only_valid=only_valid)
            returned = batch.error_rows if only_valid else 0
            batch.status = BatchStatus.RETURNED if returned else BatchStatus.APPROVED
            batch.decided_by = actor.account_id
            batch.decided_at = utcnow()
            batch.decision_note = note
            batch.credentials_cipher = credentials.add_sealed(
                batch.credentials_cipher, created, ctx.vault
            )
            batch.credentials_downloaded_at = None
            s.add(
                AuditEvent(
                    actor_id=actor.account_id,
                    action="roster.approve_valid" if only_valid else "roster.approve",
                    target=f"roster_batch:{batch.id}",
                    detail={"learners": len(created), "returned": returned, "note": note},
                )
            )
    except IntegrityError as exc:
        # Another approval took one of these identity numbers or usernames at the same moment.
        raise Conflict(
            f"审批时发现身份证号或用户名已被占用（可能同时审批了包含相同人员的批次），{NOTHING_CREATED}，请刷新后重试",
            field="rows",
        ) from exc
    async with ctx.db() as s:
        return await batch_view(s, actor, batch_id)


def _waiting_rows(batch_id: int, *, only_valid: bool) -> Any:
    """Rows of the batch with no learner yet (and, approving valid rows only, no problem)."""
    where = [RosterRow.batch_id == batch_id, RosterRow.learner_id.is_(None)]
    if only_valid:
        where.append(RosterRow.ok.is_(True))
    return where


async def _waiting(s: AsyncSession, batch_id: int, *, only_valid: bool) -> int:
    return int(
        await s.scalar(
            select(func.count())
            .select_from(RosterRow)
            .where(*_waiting_rows(batch_id, only_valid=only_valid))
        )
        or 0
    )


async def _create_people(
    ctx: Context,
    s: AsyncSession,
    actor: Actor,
    batch: RosterBatch,
    issued: list[tuple[str, str]],
    *,
    only_valid: bool = False,
) -> list[dict[str, str]]:
    rows = list(
        (
            await s.scalars(
                select(RosterRow)
                .where(*_waiting_rows(batch.id, only_valid=only_valid))
                .order_by(RosterRow.row_no)
            )
        ).all()
    )
    stored = [_stored(r) for r in rows]
    if len(issued) < len(rows):
        issued += credentials.issue_passwords(initial_hasher(ctx), len(rows) - len(issued))
    # Uniqueness again: another batch with the same people may have been approved meanwhile.
    taken = await lookups.learner_hashes(s, [v.id_hash for v in stored])
    if taken:
        clashes = [r.row_no for r in rows if r.id_hash in taken]
        raise Conflict(
            f"第 {_rows_text(clashes)}的身份证号在上传之后已被导入系统（已有学员档案），{NOTHING_CREATED}；请驳回本批次，删去这些行后重新上传",
            field="rows",
            rows=clashes,
        )
    units = await _units(s, actor, rows)
    allocated = await credentials.allocate_usernames(
        s, dict(Counter(units[r.unit_id].code for r in rows if r.unit_id is not None))
    )
    names = {code: iter(logins) for code, logins in allocated.items()}
    today = today_in_china()
    learners: list[dict[str, Any]] = []
    for row, values in zip(rows, stored, strict=True):
        parsed = parse_id_number(ctx.vault.decrypt(values.id_cipher), today=today)
        if not isinstance(parsed, IdNumber):
            raise Conflict(f"第 {row.row_no} 行：{parsed}；{NOTHING_CREATED}", field="rows")
        unit = units[values.unit_id]
        rank, position = row.rank, row.position
        learners.append(
            {
                "name": row.name,
                "id_hash": values.id_hash,
                "id_cipher": values.id_cipher,
                "id_masked": row.id_masked,
                "birth_date": parsed.birth_date,
                "gender": parsed.gender,
                "phone_cipher": values.phone_cipher,
                "phone_masked": row.phone_masked,
                "unit_id": unit.id,
                "org_path": unit.path,
                "rank": rank,
                "position": position,
            }
        )
    # One multi-row INSERT per page of rows; the new ids come back keyed by hash, so the ORM
    # need not insert row by row to learn them (which it would on SQLite).
    inserted = await s.execute(insert(Learner).returning(Learner.id_hash, Learner.id), learners)
    learner_ids = {digest: learner_id for digest, learner_id in inserted}
    created: list[dict[str, str]] = []
    accounts: list[dict[str, Any]] = []
    links: list[dict[str, int]] = []
    for row, values, (plain, hashed) in zip(rows, stored, issued, strict=False):
        unit = units[values.unit_id]
        login = next(names[unit.code])
        learner_id = learner_ids[values.id_hash]
        accounts.append(
            {
                "username": login,
                "display_name": row.name,
                "password_hash": hashed,
                "role": Role.LEARNER,
                "org_id": unit.id,
                "learner_id": learner_id,
                "must_change_password": True,
            }
        )
        links.append({"id": row.id, "learner_id": learner_id})
        created.append({"name": row.name, "unit": unit.name, "username": login, "password": plain})
    await s.execute(insert(Account), accounts)
    await s.execute(update(RosterRow), links)
    return created


@dataclass(frozen=True)
class _Stored:
    unit_id: int
    id_hash: str
    id_cipher: bytes
    phone_cipher: bytes


def _stored(row: RosterRow) -> _Stored:
    """The values a learner is made of; a row lacking any of them was never approvable."""
    if (
        not row.ok
        or row.unit_id is None
        or row.id_hash is None
        or row.id_cipher is None
        or row.phone_cipher is None
    ):
        raise Conflict(
            f"第 {row.row_no} 行未通过检查，不能审批通过；{NOTHING_CREATED}", field="rows"
        )
    return _Stored(row.unit_id, row.id_hash, row.id_cipher, row.phone_cipher)


async def _units(s: AsyncSession, actor: Actor, rows: Sequence[RosterRow]) -> dict[int, OrgUnit]:
    ids = {r.unit_id for r in rows if r.unit_id is not None}
    units = {u.id: u for u in (await s.scalars(select(OrgUnit).where(OrgUnit.id.in_(ids)))).all()}
    gone = [
        r.row_no
        for r in rows
        if r.unit_id is None
        or r.unit_id not in units
        or units[r.unit_id].level is not OrgLevel.UNIT
        or not actor.covers(units[r.unit_id].path)
    ]
    if gone:
        raise Conflict(
            f"第 {_rows_text(gone)}的单位已不在您的管理范围内，{NOTHING_CREATED}", field="rows"
        )
    return units
