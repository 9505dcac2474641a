"""Learner search, detail and changes, scoped to the actor's org subtree."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from models import Account, AuditEvent, Learner, OrgUnit, Role
from proctor.kernel.authz import ADMIN_ROLES, APPROVER_ROLES, Actor
from proctor.kernel.context import Context
from proctor.kernel.errors import Forbidden, InvalidInput, NotFound
from proctor.kernel.identity import validate_phone
from proctor.kernel.security.pii import mask_phone
from proctor.learners.names import check_name
from proctor.learners.ranks import normalise_rank
from proctor.orgs.service import get_in_scope


@dataclass(frozen=True)
class LearnerView:
    """A learner as staff see them: identifiers masked."""

    id: int
    name: str
    id_masked: str
    gender: str
    birth_date: str
    phone_masked: str
    unit_id: int
    unit_name: str
    rank: str
    position: str
    active: bool
    username: str | None

    def as_dict(self) -> dict[str, Any]:
        """JSON shape."""
        return dict(self.__dict__)


def _view(learner: Learner, unit_name: str, username: str | None) -> LearnerView:
    return LearnerView(
        id=learner.id,
        name=learner.name,
        id_masked=learner.id_masked,
        gender=learner.gender,
        birth_date=learner.birth_date.isoformat(),
        phone_masked=learner.phone_masked,
        unit_id=learner.unit_id,
        unit_name=unit_name,
        rank=learner.rank,
        position=learner.position,
        active=learner.active,
        username=username,
    )


def _can_read(actor: Actor, learner: Learner) -> bool:
    if actor.role is Role.LEARNER:
        return actor.learner_id == learner.id
    return actor.covers(learner.org_path)


async def load_in_scope(session: AsyncSession, actor: Actor, learner_id: int) -> Learner:
    """A learner the actor may read, or 404 (never revealing that the id exists)."""
    learner = await session.get(Learner, learner_id)
    if learner is None or not _can_read(actor, learner):
        raise NotFound("学员不存在或不在您的管理范围内")
    return learner


async def search(
    ctx: Context,
    actor: Actor,
    *,
    q: str = "",
    org_id: int | None = None,
    rank: str = "",
    page: int = 1,
    per_page: int = 50,
) -> tuple[int, list[LearnerView]]:
    """Learners in scope matching a name, username or unit; total and one page."""
    if not actor.is_staff:
        raise Forbidden("学员不能查询他人信息")
    async with ctx.db() as s:
        stmt = (
            select(Learner, OrgUnit.name, Account.username)
            .join(OrgUnit, OrgUnit.id == Learner.unit_id)
            .outerjoin(Account, Account.learner_id == Learner.id)
            .where(actor.in_scope(Learner.org_path))
        )
        if org_id is not None:
            org = await get_in_scope(s, actor, org_id)
            stmt = stmt.where(Learner.org_path.startswith(org.path))
        if q:
            like = f"%{q.replace('%', '').replace('_', '')}%"
            ors: list[ColumnElement[bool]] = [
                Learner.name.like(like),
                Account.username.like(like),
                OrgUnit.name.like(like),
            ]
            if len(q) == 18 or len(q) == 15:
                ors.append(Learner.id_hash == ctx.vault.lookup_hash(q))
            stmt = stmt.where(or_(*ors))
        if rank:
            stmt = stmt.where(Learner.rank == rank)
        total = await s.scalar(select(func.count()).select_from(stmt.subquery())) or 0
        rows = (
            await s.execute(
                stmt.order_by(Learner.org_path, Learner.id)
                .limit(per_page)
                .offset((max(page, 1) - 1) * per_page)
            )
        ).all()
    return total, [_view(learner, unit, username) for learner, unit, username in rows]


async def get(ctx: Context, actor: Actor, learner_id: int) -> LearnerView:
    """One learner, if in scope (a learner may read only themselves)."""
    async with ctx.db() as s:
        learner = await load_in_scope(s, actor, learner_id)
        unit = await s.get_one(OrgUnit, learner.unit_id)
        username = await s.scalar(select(Account.username).where(Account.learner_id == learner.id))
    return _view(learner, unit.name, username)


async def update(
    ctx: Context, actor: Actor, learner_id: int, changes: dict[str, Any]
) -> LearnerView:
    """Change a learner's name, rank, position, phone, unit or active flag, within scope; the
    audit event keeps each value before and after (identifiers masked)."""
    actor.require(ADMIN_ROLES, "修改学员信息")
    async with ctx.db.begin() as s:
        learner = await load_in_scope(s, actor, learner_id)
        account = await s.scalar(select(Account).where(Account.learner_id == learner.id))
        audit: dict[str, Any] = {}
        if "name" in changes:
            name, problem = check_name(str(changes["name"]))
            if problem is not None:
                raise InvalidInput(problem, field="name")
            audit["name"] = [learner.name, name]
            learner.name = name
            if account is not None:
                account.display_name = name
        if "rank" in changes:
            rank = normalise_rank(str(changes["rank"]))
            if rank is None:
                raise InvalidInput(f"无法识别的职级：{changes['rank']}", field="rank")
            audit["rank"] = [learner.rank, rank]
            learner.rank = rank
        if "position" in changes:
            position = str(changes["position"]).strip()[:60]
            audit["position"] = [learner.position, position]
            learner.position = position
        if "phone" in changes:
            phone = validate_phone(str(changes["phone"]))
            if phone is None:
                raise InvalidInput("手机号格式不正确（应为 11 位中国大陆手机号）", field="phone")
            audit["phone"] = [learner.phone_masked, mask_phone(phone)]
            learner.phone_cipher = ctx.vault.encrypt(phone)
            learner.phone_masked = mask_phone(phone)
        if "unit_id" in changes:
            try:
                unit_id = int(changes["unit_id"])
            except (TypeError, ValueError) as exc:
                raise InvalidInput("unit_id 应为整数", field="unit_id") from exc
            unit = await get_in_scope(s, actor, unit_id)
            if unit.level.value != "unit":
                raise InvalidInput("学员只能调入具体单位", field="unit_id")
            if unit.closed_at is not None:
                raise InvalidInput("该单位已撤销，不能调入", field="unit_id")
            audit["unit_id"] = [learner.unit_id, unit.id]
            learner.unit_id = unit.id
            learner.org_path = unit.path
            if account is not None:
                # The account sits where the learner works: scope and contacts follow it.
                account.org_id = unit.id
        if "active" in changes:
            if not isinstance(changes["active"], bool):
                raise InvalidInput("active 应为 true 或 false", field="active")
            learner.active = changes["active"]
            if account is not None:
                account.active = learner.active
            audit["active"] = learner.active
        if not audit:
            raise InvalidInput("没有可修改的字段", field="body")
        s.add(
            AuditEvent(
                actor_id=actor.account_id,
                action="learner.update",
                target=f"learner:{learner.id}",
                detail=audit,
            )
        )
        unit = await s.get_one(OrgUnit, learner.unit_id)
        username = await s.scalar(select(Account.username).where(Account.learner_id == learner.id))
    return _view(learner, unit.name, username)


async def reveal_identifiers(ctx: Context, actor: Actor, learner_id: int) -> dict[str, str]:
    """Full identity number and phone, for org administrators only; every reveal is audited."""
    async with ctx.db.begin() as s:
        learner = await load_in_scope(s, actor, learner_id)
        if actor.role is not Role.LEARNER:
            actor.require(APPROVER_ROLES, "查看完整身份证号")
        s.add(
            AuditEvent(
                actor_id=actor.account_id,
                action="learner.reveal_pii",
                target=f"learner:{learner.id}",
            )
        )
        return {
            "id_number": ctx.vault.decrypt(learner.id_cipher),
            "phone": ctx.vault.decrypt(learner.phone_cipher),
        }
