"""Initial credentials of approved rosters: usernames, passwords, and the one-time download.

Usernames are ``<unit code>-<sequence>``, e.g. ``430102001-0007``: readable over the phone,
unique because unit codes are, deterministic (rows in file order take the next free numbers
of their unit), and free of personal data. The sequence has at least four digits and grows
past 9999 when a unit needs it.

The plain passwords exist only in ``roster_batch.credentials_cipher`` (encrypted) until the
uploader or an approver downloads the sheet once; the cipher is then erased.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from models import Account, AuditEvent, BatchStatus, RosterBatch, utcnow
from proctor.kernel.authz import ADMIN_ROLES, Actor
from proctor.kernel.context import Context
from proctor.kernel.errors import Conflict, Forbidden, NotFound
from proctor.kernel.security.passwords import Passwords, generate_initial_password
from proctor.kernel.security.pii import PiiVault
from proctor.rosters.views import beijing_text, may_download
from proctor.rosters.workbooks import credentials_xlsx

SEQUENCE_DIGITS = 4


class CredentialsGone(Conflict):
    """The one-time credentials sheet was already downloaded."""

    status = 410
    code = "gone"


def username(unit_code: str, sequence: int) -> str:
    """The login of the ``sequence``-th learner account of a unit."""
    return f"{unit_code}-{sequence:0{SEQUENCE_DIGITS}d}"


async def allocate_usernames(session: AsyncSession, needed: dict[str, int]) -> dict[str, list[str]]:
    """``needed[code]`` fresh usernames per unit code, after the highest one already issued."""
    out: dict[str, list[str]] = {}
    for code, count in sorted(needed.items()):
        prefix = f"{code}-"
        taken = (
            await session.scalars(
                select(Account.username).where(Account.username.startswith(prefix, autoescape=True))
            )
        ).all()
        last = max((int(u[len(prefix) :]) for u in taken if u[len(prefix) :].isdigit()), default=0)
        out[code] = [username(code, last + i) for i in range(1, count + 1)]
    return out


def issue_passwords(passwords: Passwords, count: int) -> list[tuple[str, str]]:
    """(plain, argon2 hash) pairs; hashing runs on every core since argon2 releases the GIL."""
    plain = [generate_initial_password() for _ in range(count)]
    if count == 0:
        return []
    with ThreadPoolExecutor(max_workers=min(count, os.cpu_count() or 1)) as pool:
        hashes = list(pool.map(passwords.hash, plain))
    return list(zip(plain, hashes, strict=True))


def seal(entries: Iterable[dict[str, str]], vault: PiiVault) -> bytes:
    """The credentials as stored until their download."""
    return vault.encrypt(json.dumps(list(entries), ensure_ascii=False))


def add_sealed(
    cipher: bytes | None, entries: list[dict[str, str]], vault: PiiVault
) -> bytes | None:
    """The stored credentials with ``entries`` added: a batch approved in parts keeps every
    part's passwords until the next download."""
    if not entries:
        return cipher
    return seal((unseal(cipher, vault) if cipher is not None else []) + entries, vault)


def unseal(cipher: bytes, vault: PiiVault) -> list[dict[str, str]]:
    """The stored credentials."""
    data: Any = json.loads(vault.decrypt(cipher))
    return cast(list[dict[str, str]], data)


async def take_credentials(ctx: Context, actor: Actor, batch_id: int) -> tuple[str, bytes]:
    """The credentials sheet of an approved batch, exactly once; (file name, XLSX bytes)."""
    actor.require(ADMIN_ROLES, "下载初始账号")
    async with ctx.db.begin() as s:
        batch = await s.get(RosterBatch, batch_id)
        if batch is None or not actor.covers(batch.org_path):
            raise NotFound("花名册批次不存在或不在您的管理范围内")
        if not may_download(actor, batch):
            raise Forbidden("只有上传人或审批人可以下载初始账号")
        if batch.status not in (BatchStatus.APPROVED, BatchStatus.RETURNED):
            raise Conflict("该批次尚未审批通过，还没有生成初始账号", field="status")
        if batch.credentials_cipher is None:
            raise _gone(batch)
        content = credentials_xlsx(unseal(batch.credentials_cipher, ctx.vault))
        # Erase only if nobody erased it meanwhile: of two simultaneous downloads, one wins.
        result = cast(
            CursorResult[Any],
            await s.execute(
                update(RosterBatch)
                .where(RosterBatch.id == batch_id, RosterBatch.credentials_cipher.is_not(None))
                .values(credentials_cipher=None, credentials_downloaded_at=utcnow())
                .execution_options(synchronize_session=False)
            ),
        )
        if result.rowcount != 1:
            raise _gone(batch)
        s.add(
            AuditEvent(
                actor_id=actor.account_id,
                action="roster.credentials_download",
                target=f"roster_batch:{batch_id}",
                detail={"accounts": batch.total_rows},
            )
        )
    return f"roster-{batch_id}-credentials.xlsx", content


def _gone(batch: RosterBatch) -> CredentialsGone:
    when = beijing_text(batch.credentials_downloaded_at)
    done = f"已于 {when} 下载过" if when else "已被下载过"
    return CredentialsGone(
        f"本批次的初始账号{done}，为保护学员账号安全只能下载一次；如有遗失，请让学员联系管理员重置密码",
        field="credentials",
    )
