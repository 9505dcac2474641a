"""Changing the org tree (Art. 2, 14): add, rename, move and close a node.

The academy's administrators and the province's and cities' org administrators shape the tree
below their own node; county administrators and everyone else only read it. A node's
materialised path is copied onto every record that is scoped by it (learners, courses,
classes, rosters, cases, target groups, evaluations, reminders), so a move rewrites those
prefixes in the same transaction and no record is ever outside the tree it belongs to.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, delete, func, literal, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from models import (
    Account,
    AuditEvent,
    BatchStatus,
    Course,
    EvaluationSnapshot,
    Learner,
    OrgLevel,
    OrgUnit,
    Reminder,
    ReviewCase,
    Role,
    RosterBatch,
    TargetGroup,
    TrainingClass,
    report_unit,
    utcnow,
)
from proctor.kernel.authz import Actor
from proctor.kernel.context import Context
from proctor.kernel.errors import Conflict, Forbidden, InvalidInput, NotFound
from proctor.orgs.service import CHILD_LEVEL, LEVEL_NAMES, add_org, get_in_scope

CODE_RE = re.compile(r"^[A-Za-z0-9]{1,32}$")
# Records that carry a copy of their node's path (the column holding it).
PATH_COPIES: tuple[InstrumentedAttribute[str], ...] = (
    Learner.org_path,
    Course.owner_path,
    TrainingClass.org_path,
    RosterBatch.org_path,
    ReviewCase.org_path,
    TargetGroup.org_path,
    EvaluationSnapshot.org_path,
    Reminder.org_path,
)
OUT_OF_REACH = "目标上级机构不存在或不在您的管理范围内"


@dataclass(frozen=True)
class NodeRef:
    """An org node as pickers and the tree page show it: its name and where it sits."""

    id: int
    name: str
    code: str
    level: str
    level_name: str
    trail: str  # "湖南省 / 长沙市 / 芙蓉区"
    closed: bool

    def as_dict(self) -> dict[str, Any]:
        """JSON shape."""
        return dict(self.__dict__)


async def require_shaper(s: AsyncSession, actor: Actor) -> OrgUnit:
    """The actor's own node, if they may shape the tree below it."""
    own = await s.get_one(OrgUnit, actor.org_id)
    if actor.role is Role.ACADEMY_ADMIN:
        return own
    if actor.role is Role.ORG_ADMIN and own.level in (OrgLevel.PROVINCE, OrgLevel.CITY):
        return own
    raise Forbidden("只有学院管理员和省、市州组织管理员可以调整机构")


async def can_shape(ctx: Context, actor: Actor) -> bool:
    """Whether the actor may change the tree below their node (pages show the forms)."""
    try:
        async with ctx.db() as s:
            await require_shaper(s, actor)
    except Forbidden:
        return False
    return True


async def _below(s: AsyncSession, actor: Actor, org_id: int) -> OrgUnit:
    """A node strictly below the actor's own (their own node is shaped from above)."""
    node = await get_in_scope(s, actor, org_id)
    if node.id == actor.org_id:
        raise Forbidden("不能调整自己所在的机构，请由上级管理员操作")
    return node


async def _next_code(s: AsyncSession, parent: OrgUnit, level: OrgLevel) -> str:
    width = 3 if level is OrgLevel.UNIT else 2
    codes = (
        await s.scalars(select(OrgUnit.code).where(OrgUnit.code.startswith(parent.code)))
    ).all()
    used = [
        int(c[len(parent.code) :])
        for c in codes
        if len(c) == len(parent.code) + width and c[len(parent.code) :].isdigit()
    ]
    return f"{parent.code}{max(used, default=0) + 1:0{width}d}"


async def _refuse_taken(s: AsyncSession, parent_id: int, name: str, *, but: int = 0) -> None:
    clash = await s.scalar(
        select(OrgUnit.id).where(
            OrgUnit.parent_id == parent_id, OrgUnit.name == name, OrgUnit.id != but
        )
    )
    if clash is not None:
        raise Conflict(f"同一上级机构下已有名为“{name}”的机构", field="name")


def _audit(actor: Actor, action: str, org: OrgUnit, **detail: Any) -> AuditEvent:
    return AuditEvent(
        actor_id=actor.account_id, action=action, target=f"org_unit:{org.id}", detail=detail
    )


async def add_child(
    ctx: Context, actor: Actor, parent_id: int, name: str, code: str | None = None
) -> NodeRef:
    """A new node under ``parent_id`` at the level below it; the code follows the parent's
    (GB/T 2260 style) unless given."""
    name = name.strip()
    if not name:
        raise InvalidInput("机构名称不能为空", field="name")
    try:
        async with ctx.db.begin() as s:
            await require_shaper(s, actor)
            parent = await get_in_scope(s, actor, parent_id)
            if parent.closed_at is not None:
                raise InvalidInput("该机构已撤销，不能再设下级", field="parent_id")
            level = CHILD_LEVEL.get(parent.level)
            if level is None:
                raise InvalidInput("单位下不能再设下级机构", field="parent_id")
            await _refuse_taken(s, parent.id, name)
            if code:
                if not CODE_RE.match(code):
                    raise InvalidInput("机构代码只能包含字母和数字（最多 32 位）", field="code")
                if await s.scalar(select(OrgUnit.id).where(OrgUnit.code == code)) is not None:
                    raise Conflict(f"机构代码已被使用：{code}", field="code")
            else:
                code = await _next_code(s, parent, level)
            org = await add_org(s, parent, level, name, code)
            s.add(_audit(actor, "org.add", org, parent_id=parent.id, name=name, code=code))
            return await node_ref(s, org)
    except IntegrityError as exc:
        # Another administrator took the name or the code at the same moment.
        raise Conflict("机构名称或代码刚被占用，请刷新后重试", field="name") from exc


async def rename(ctx: Context, actor: Actor, org_id: int, name: str) -> NodeRef:
    """A node's new name (unique among its siblings)."""
    name = name.strip()
    if not name:
        raise InvalidInput("机构名称不能为空", field="name")
    async with ctx.db.begin() as s:
        await require_shaper(s, actor)
        org = await _below(s, actor, org_id)
        if org.parent_id is not None:
            await _refuse_taken(s, org.parent_id, name, but=org.id)
        s.add(_audit(actor, "org.rename", org, name=[org.name, name]))
        org.name = name
        await s.flush()
        return await node_ref(s, org)


def _learners_below(path: str) -> Any:
    return (
        select(func.count())
        .select_from(Learner)
        .where(Learner.org_path.startswith(path), Learner.active.is_(True))
    )


async def move(ctx: Context, actor: Actor, org_id: int, parent_id: int) -> NodeRef:
    """Put a node (and everything below it) under another parent of the right level.

    The new parent must lie inside the mover's own subtree: a move that would carry the
    node's learners out of the mover's authority is refused before anything changes.
    """
    async with ctx.db.begin() as s:
        await require_shaper(s, actor)
        org = await _below(s, actor, org_id)
        target = await s.get(OrgUnit, parent_id)
        if target is None or not actor.covers(target.path):
            learners = int(await s.scalar(_learners_below(org.path)) or 0)
            raise NotFound(
                f"{OUT_OF_REACH}；{org.name}的 {learners} 名学员移动后将不在您的管理范围内，未作任何更改",
                field="parent_id",
                learners=learners,
            )
        if target.path.startswith(org.path):
            raise InvalidInput("不能移到自己的下级机构之下", field="parent_id")
        if CHILD_LEVEL.get(target.level) is not org.level:
            wanted = [lvl for lvl, child in CHILD_LEVEL.items() if child is org.level]
            where = LEVEL_NAMES[wanted[0]] if wanted else "上级"
            raise InvalidInput(f"{LEVEL_NAMES[org.level]}只能设在{where}之下", field="parent_id")
        if target.closed_at is not None:
            raise InvalidInput("目标上级机构已撤销", field="parent_id")
        if target.id == org.parent_id:
            raise InvalidInput("该机构已在这个上级机构之下", field="parent_id")
        await _refuse_taken(s, target.id, org.name)
        old, new = org.path, f"{target.path}{org.id}/"
        moved_units = list(
            await s.scalars(
                select(OrgUnit.id).where(
                    OrgUnit.path.startswith(old), OrgUnit.level == OrgLevel.UNIT
                )
            )
        )
        learners = int(await s.scalar(_learners_below(old)) or 0)
        from_parent = org.parent_id
        org.parent_id = target.id
        await s.flush()
        await _rewrite(s, OrgUnit.path, old, new)
        for column in PATH_COPIES:
            await _rewrite(s, column, old, new)
        # Unit rollups were built under the old ancestors' target groups: recompute them.
        if moved_units:
            await s.execute(delete(report_unit).where(report_unit.c.unit_id.in_(moved_units)))
        s.add(
            _audit(
                actor,
                "org.move",
                org,
                parent_id=[from_parent, target.id],
                path=[old, new],
                learners=learners,
            )
        )
        await s.refresh(org)
        return await node_ref(s, org)


async def _rewrite(s: AsyncSession, column: InstrumentedAttribute[str], old: str, new: str) -> None:
    """Replace the ``old`` prefix with ``new`` wherever the column starts with it."""
    table = column.class_
    moved: ColumnElement[str] = literal(new) + func.substr(column, len(old) + 1)
    await s.execute(
        update(table)
        .where(column.startswith(old))
        .values({column.key: moved})
        .execution_options(synchronize_session=False)
    )


async def close(ctx: Context, actor: Actor, org_id: int) -> NodeRef:
    """Close a node that no longer serves anyone: no active learners, staff, open children or
    pending rosters below it. Its history stays; it takes nothing new."""
    async with ctx.db.begin() as s:
        await require_shaper(s, actor)
        org = await _below(s, actor, org_id)
        if org.closed_at is not None:
            raise Conflict("该机构已撤销", field="org_id")
        learners = int(await s.scalar(_learners_below(org.path)) or 0)
        if learners:
            raise Conflict(
                f"{org.name}仍有 {learners} 名在学学员，请先将他们调至其他单位", field="org_id"
            )
        children = await s.scalar(
            select(func.count()).where(OrgUnit.parent_id == org.id, OrgUnit.closed_at.is_(None))
        )
        if children:
            raise Conflict(f"请先撤销{org.name}的 {children} 个下级机构", field="org_id")
        staff = await s.scalar(
            select(func.count())
            .select_from(Account)
            .join(OrgUnit, OrgUnit.id == Account.org_id)
            .where(OrgUnit.path.startswith(org.path), Account.active.is_(True))
        )
        if staff:
            raise Conflict(f"{org.name}仍有 {staff} 个启用的账号，请先停用", field="org_id")
        batches = await s.scalar(
            select(func.count()).where(
                RosterBatch.org_path.startswith(org.path),
                RosterBatch.status.in_([BatchStatus.PENDING, BatchStatus.RETURNED]),
            )
        )
        if batches:
            raise Conflict(f"{org.name}有 {batches} 批待处理的花名册", field="org_id")
        org.closed_at = utcnow()
        s.add(_audit(actor, "org.close", org))
        return await node_ref(s, org)


async def reopen(ctx: Context, actor: Actor, org_id: int) -> NodeRef:
    """Undo a closing (the parent must be open)."""
    async with ctx.db.begin() as s:
        await require_shaper(s, actor)
        org = await _below(s, actor, org_id)
        if org.closed_at is None:
            raise Conflict("该机构未撤销", field="org_id")
        parent = await s.get(OrgUnit, org.parent_id) if org.parent_id else None
        if parent is not None and parent.closed_at is not None:
            raise Conflict("上级机构已撤销，请先恢复上级机构", field="org_id")
        org.closed_at = None
        s.add(_audit(actor, "org.reopen", org))
        return await node_ref(s, org)


async def trails(s: AsyncSession, orgs: list[OrgUnit]) -> dict[int, str]:
    """Each node's full name path ("湖南省 / 长沙市 / 芙蓉区"), in one query."""
    ids = {int(p) for o in orgs for p in o.path.strip("/").split("/") if p}
    names = dict(
        (await s.execute(select(OrgUnit.id, OrgUnit.name).where(OrgUnit.id.in_(ids)))).all()
    )
    return {
        o.id: " / ".join(names.get(int(p), "?") for p in o.path.strip("/").split("/") if p)
        for o in orgs
    }


async def node_ref(s: AsyncSession, org: OrgUnit) -> NodeRef:
    """One node as pickers show it."""
    return _ref(org, (await trails(s, [org]))[org.id])


def _ref(org: OrgUnit, trail: str) -> NodeRef:
    return NodeRef(
        org.id,
        org.name,
        org.code,
        org.level.value,
        LEVEL_NAMES[org.level],
        trail,
        org.closed_at is not None,
    )


async def search(
    ctx: Context,
    actor: Actor,
    q: str,
    *,
    level: OrgLevel | None = None,
    open_only: bool = False,
    limit: int = 20,
) -> list[NodeRef]:
    """Nodes of the actor's subtree whose name contains ``q`` (or code starts with it),
    shallowest first: the tree picker's name search."""
    if not actor.is_staff:
        raise Forbidden("学员不能查询机构")
    words = q.replace("%", "").replace("_", "").strip()
    stmt = select(OrgUnit).where(actor.in_scope(OrgUnit.path))
    if words:
        stmt = stmt.where(OrgUnit.name.contains(words) | OrgUnit.code.startswith(words))
    if level is not None:
        stmt = stmt.where(OrgUnit.level == level)
    if open_only:
        stmt = stmt.where(OrgUnit.closed_at.is_(None))
    async with ctx.db() as s:
        rows = list(
            await s.scalars(stmt.order_by(func.length(OrgUnit.path), OrgUnit.code).limit(limit))
        )
        names = await trails(s, rows)
    return [_ref(o, names[o.id]) for o in rows]


async def node_refs(ctx: Context, actor: Actor, org_id: int) -> tuple[NodeRef, list[NodeRef]]:
    """A node in scope and its children, as the tree page and picker browse them."""
    async with ctx.db() as s:
        node = await get_in_scope(s, actor, org_id)
        kids = list(
            await s.scalars(
                select(OrgUnit).where(OrgUnit.parent_id == node.id).order_by(OrgUnit.code)
            )
        )
        names = await trails(s, [node, *kids])
    return _ref(node, names[node.id]), [_ref(k, names[k.id]) for k in kids]


async def picked(ctx: Context, actor: Actor, org_id: int) -> tuple[NodeRef, str]:
    """A node chosen in a picker (404 outside the actor's subtree) and its path, to filter by."""
    async with ctx.db() as s:
        org = await get_in_scope(s, actor, org_id)
        return await node_ref(s, org), org.path
