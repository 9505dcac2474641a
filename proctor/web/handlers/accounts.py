"""Accounts for administrators (Art. 10, 14): staff accounts, password resets with a printable
sheet, unlocking, deactivating and reactivating; learners' details. Pages and JSON API."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from aiohttp import web
from pydantic import Field

from models import Role
from proctor.accounts import admin
from proctor.accounts.admin import AccountView, IssuedPassword
from proctor.kernel.errors import ProctorError
from proctor.learners import service as learners
from proctor.learners.ranks import RANKS
from proctor.learners.staff import create_staff
from proctor.orgs import tree
from proctor.web.endpoint import Form, Routes
from proctor.web.fields import Input, Offset, Output, Page, RecordId, chars
from proctor.web.keys import actor_of, ctx_of
from proctor.web.render import ROLE_NAMES, json_response, page

routes = Routes(tag="accounts")
PER_PAGE = 50
StaffRole = Literal["liaison", "reviewer", "org_admin", "academy_admin"]
MESSAGES = {
    "unlocked": "已解除锁定。",
    "deactivated": "账号已停用，该账号的登录已全部退出。",
    "reactivated": "账号已重新启用。",
    "saved": "已保存。",
}
Email = Annotated[str, chars(120, required=False)]


class AccountPath(Input):
    account_id: RecordId


class LearnerPath(Input):
    learner_id: RecordId


class StaffQuery(Input):
    role: StaffRole | None = None
    org_id: RecordId | None = Field(None, alias="org", description="org node (my authority)")
    q: Annotated[str, chars(50, required=False, description="username or name")] = ""
    offset: Offset = 0
    limit: Annotated[int, Field(ge=1, le=200)] = PER_PAGE


class StaffPageQuery(Input):
    role: StaffRole | None = None
    org_id: RecordId | None = Field(None, alias="org")
    q: Annotated[str, chars(50, required=False)] = ""
    page: Page = 1


class NewStaff(Input):
    username: Annotated[str, chars(64)]
    display_name: Annotated[str, chars(50)]
    role: StaffRole
    org_id: RecordId
    email: Email | None = None
    phone: Annotated[str, chars(20, required=False)] | None = Field(
        None, description="required for liaisons: shown (masked) to their unit's learners"
    )


class StaffChanges(Input):
    display_name: Annotated[str, chars(50)] | None = None
    email: Email | None = None


class AccountForm(Input):
    display_name: Annotated[str, chars(50)]
    email: Email = ""


class BackForm(Input):
    next: Annotated[str, chars(2000, required=False)] = ""


class DetailQuery(Input):
    msg: Annotated[str, chars(16, required=False)] = ""


class LearnerForm(Input):
    name: Annotated[str, chars(50)]
    rank: Annotated[str, chars(20)]
    position: Annotated[str, chars(60, required=False)] = ""
    phone: Annotated[str, chars(20, required=False)] = ""
    unit_id: RecordId


class Account(Output):
    id: int
    username: str
    display_name: str
    role: Role
    org_id: int
    org_name: str
    email: str | None
    active: bool
    locked: bool
    must_change_password: bool
    learner_id: int | None
    created_at: dt.datetime


class AccountPage(Output):
    total: int
    capped: bool = Field(description="more match than total (counting stops at the cap)")
    items: list[Account]


class Issued(Output):
    account_id: int
    username: str
    display_name: str
    org_name: str
    password: str = Field(description="the initial password, shown this once")
    issued_at: dt.datetime


def _local(target: str, default: str) -> str:
    # Only local paths: a form field must never send the browser off-site.
    return target if target.startswith("/") and not target.startswith("//") else default


def _no_store(response: web.Response) -> web.Response:
    # A page with a password must not stay in any cache.
    response.headers["Cache-Control"] = "no-store"
    return response


# ---------------------------------------------------------------- API


@routes.get(
    "/api/v1/accounts",
    summary="Staff accounts in my authority (administrators), by org then username",
    query=StaffQuery,
    response=AccountPage,
)
async def list_api(request: web.Request, query: StaffQuery) -> web.Response:
    ctx, actor = ctx_of(request), actor_of(request)
    org_path = None
    if query.org_id is not None:
        _, org_path = await tree.picked(ctx, actor, query.org_id)
    total, rows = await admin.list_staff(
        ctx,
        actor,
        role=Role(query.role) if query.role else None,
        org_path=org_path,
        q=query.q,
        offset=query.offset,
        limit=query.limit,
    )
    return json_response(
        {"total": total.value, "capped": total.capped, "items": [r.as_dict() for r in rows]}
    )


@routes.post(
    "/api/v1/accounts",
    summary="Open a staff account at a node of my authority; the initial password is in the "
    "answer only (409: username taken)",
    body=NewStaff,
    response=Issued,
    status=201,
    errors=(409,),
)
async def create_api(request: web.Request, body: NewStaff) -> web.Response:
    issued = await create_staff(
        ctx_of(request), actor_of(request), **(body.model_dump() | {"role": Role(body.role)})
    )
    return _no_store(json_response(issued.as_dict(), status=201))


@routes.get(
    "/api/v1/accounts/{account_id}",
    summary="An account I manage (404 outside my authority)",
    path=AccountPath,
    response=Account,
)
async def get_api(request: web.Request, path: AccountPath) -> web.Response:
    view = await admin.get(ctx_of(request), actor_of(request), path.account_id)
    return json_response(view.as_dict())


@routes.patch(
    "/api/v1/accounts/{account_id}",
    summary="Change a staff account's shown name or e-mail",
    path=AccountPath,
    body=StaffChanges,
    response=Account,
)
async def update_api(request: web.Request, path: AccountPath, body: StaffChanges) -> web.Response:
    view = await admin.update(
        ctx_of(request), actor_of(request), path.account_id, body.model_dump(exclude_unset=True)
    )
    return json_response(view.as_dict())


@routes.post(
    "/api/v1/accounts/{account_id}/password-reset",
    summary="A new initial password, shown once; changed at next sign-in; signs the account out",
    path=AccountPath,
    response=Issued,
)
async def reset_api(request: web.Request, path: AccountPath) -> web.Response:
    issued = await admin.reset_password(ctx_of(request), actor_of(request), path.account_id)
    return _no_store(json_response(issued.as_dict()))


@routes.post(
    "/api/v1/accounts/{account_id}/unlock",
    summary="Lift the lock after repeated failed sign-ins",
    path=AccountPath,
    response=Account,
)
async def unlock_api(request: web.Request, path: AccountPath) -> web.Response:
    view = await admin.unlock(ctx_of(request), actor_of(request), path.account_id)
    return json_response(view.as_dict())


@routes.post(
    "/api/v1/accounts/{account_id}/deactivate",
    summary="Deactivate an account (signs it out everywhere; a learner's record follows)",
    path=AccountPath,
    response=Account,
)
async def deactivate_api(request: web.Request, path: AccountPath) -> web.Response:
    view = await admin.set_active(ctx_of(request), actor_of(request), path.account_id, False)
    return json_response(view.as_dict())


@routes.post(
    "/api/v1/accounts/{account_id}/reactivate",
    summary="Reactivate an account",
    path=AccountPath,
    response=Account,
)
async def reactivate_api(request: web.Request, path: AccountPath) -> web.Response:
    view = await admin.set_active(ctx_of(request), actor_of(request), path.account_id, True)
    return json_response(view.as_dict())


# ---------------------------------------------------------------- pages


def _issued_page(request: web.Request, issued: IssuedPassword, back: str) -> web.Response:
    return _no_store(page(request, "accounts/issued.html", {"i": issued, "back": back}))


async def _list_page(
    request: web.Request,
    query: StaffPageQuery,
    *,
    form: dict[str, str] | None = None,
    error: str | None = None,
    status: int = 200,
) -> web.Response:
    ctx, actor = ctx_of(request), actor_of(request)
    org = None
    org_path = None
    if query.org_id is not None:
        org, org_path = await tree.picked(ctx, actor, query.org_id)
    total, rows = await admin.list_staff(
        ctx,
        actor,
        role=Role(query.role) if query.role else None,
        org_path=org_path,
        q=query.q,
        offset=(query.page - 1) * PER_PAGE,
        limit=PER_PAGE,
    )
    return page(
        request,
        "accounts/list.html",
        {
            "rows": rows,
            "total": total,
            "f": query,
            "org": org,
            "form": form or {},
            "error": error,
            "pages": total.pages(PER_PAGE),
            "staff_roles": [r for r in ROLE_NAMES if r is not Role.LEARNER],
            "can_create_academy": actor.role is Role.ACADEMY_ADMIN,
        },
        status=status,
    )


@routes.get("/admin/accounts", query=StaffPageQuery)
async def list_page(request: web.Request, query: StaffPageQuery) -> web.Response:
    return await _list_page(request, query)


@routes.post("/admin/accounts", form=NewStaff)
async def create_form(request: web.Request, form: Form[NewStaff]) -> web.Response:
    try:
        new = form.valid()
        issued = await create_staff(
            ctx_of(request), actor_of(request), **(new.model_dump() | {"role": Role(new.role)})
        )
    except ProctorError as exc:
        return await _list_page(
            request, StaffPageQuery(), form=form.fields, error=exc.message, status=exc.status
        )
    return _issued_page(request, issued, f"/admin/accounts/{issued.account_id}")


async def _detail_page(
    request: web.Request,
    account_id: int,
    *,
    message: str | None = None,
    error: str | None = None,
    status: int = 200,
) -> web.Response:
    view = await admin.get(ctx_of(request), actor_of(request), account_id)
    if view.learner_id is not None:
        raise web.HTTPSeeOther(f"/admin/learners/{view.learner_id}")
    return page(
        request,
        "accounts/detail.html",
        {"a": view, "message": message, "error": error},
        status=status,
    )


@routes.get("/admin/accounts/{account_id}", path=AccountPath, query=DetailQuery)
async def detail_page(request: web.Request, path: AccountPath, query: DetailQuery) -> web.Response:
    return await _detail_page(request, path.account_id, message=MESSAGES.get(query.msg))


@routes.post("/admin/accounts/{account_id}/edit", path=AccountPath, form=AccountForm)
async def edit_form(
    request: web.Request, path: AccountPath, form: Form[AccountForm]
) -> web.Response:
    try:
        changes = form.valid()
        await admin.update(
            ctx_of(request),
            actor_of(request),
            path.account_id,
            {"display_name": changes.display_name, "email": changes.email},
        )
    except ProctorError as exc:
        return await _detail_page(request, path.account_id, error=exc.message, status=exc.status)
    raise web.HTTPSeeOther(f"/admin/accounts/{path.account_id}?msg=saved")


@routes.post("/admin/accounts/{account_id}/reset", path=AccountPath, form=BackForm)
async def reset_form(request: web.Request, path: AccountPath, form: Form[BackForm]) -> web.Response:
    issued = await admin.reset_password(ctx_of(request), actor_of(request), path.account_id)
    return _issued_page(
        request, issued, _local(form.get("next"), f"/admin/accounts/{path.account_id}")
    )


async def _status_action(
    request: web.Request, account_id: int, form: Form[BackForm], action: str
) -> web.Response:
    ctx, actor = ctx_of(request), actor_of(request)
    back = _local(form.get("next"), f"/admin/accounts/{account_id}")
    if action == "unlocked":
        await admin.unlock(ctx, actor, account_id)
    else:
        await admin.set_active(ctx, actor, account_id, action == "reactivated")
    separator = "&" if "?" in back else "?"
    raise web.HTTPSeeOther(f"{back}{separator}msg={action}")


@routes.post("/admin/accounts/{account_id}/unlock", path=AccountPath, form=BackForm)
async def unlock_form(
    request: web.Request, path: AccountPath, form: Form[BackForm]
) -> web.Response:
    return await _status_action(request, path.account_id, form, "unlocked")


@routes.post("/admin/accounts/{account_id}/deactivate", path=AccountPath, form=BackForm)
async def deactivate_form(
    request: web.Request, path: AccountPath, form: Form[BackForm]
) -> web.Response:
    return await _status_action(request, path.account_id, form, "deactivated")


@routes.post("/admin/accounts/{account_id}/reactivate", path=AccountPath, form=BackForm)
async def reactivate_form(
    request: web.Request, path: AccountPath, form: Form[BackForm]
) -> web.Response:
    return await _status_action(request, path.account_id, form, "reactivated")


# ---------------------------------------------------------------- a learner's record


async def learner_page(
    request: web.Request,
    learner_id: int,
    *,
    message: str | None = None,
    error: str | None = None,
    form: dict[str, str] | None = None,
    status: int = 200,
) -> web.Response:
    """A learner's record with the administrator's forms (details, account actions)."""
    ctx, actor = ctx_of(request), actor_of(request)
    learner = await learners.get(ctx, actor, learner_id)
    account: AccountView | None = None
    if actor.role in (Role.LIAISON, Role.ORG_ADMIN, Role.ACADEMY_ADMIN):
        # Reviewers read the record; they manage no account.
        account = await admin.learner_account(ctx, actor, learner_id)
    return page(
        request,
        "learners/detail.html",
        {
            "learner": learner,
            "account": account,
            "ranks": RANKS,
            "message": message,
            "error": error,
            "form": form or {},
            "can_edit": actor.role in (Role.LIAISON, Role.ORG_ADMIN, Role.ACADEMY_ADMIN),
            "can_switch": actor.role in (Role.ORG_ADMIN, Role.ACADEMY_ADMIN),
        },
        status=status,
    )


@routes.post("/admin/learners/{learner_id}/edit", path=LearnerPath, form=LearnerForm)
async def learner_form(
    request: web.Request, path: LearnerPath, form: Form[LearnerForm]
) -> web.Response:
    try:
        values = form.valid()
        changes = values.model_dump(exclude={"phone"})
        if values.phone:
            changes["phone"] = values.phone
        current = await learners.get(ctx_of(request), actor_of(request), path.learner_id)
        if changes["unit_id"] == current.unit_id:
            del changes["unit_id"]
        await learners.update(ctx_of(request), actor_of(request), path.learner_id, changes)
    except ProctorError as exc:
        return await learner_page(
            request, path.learner_id, error=exc.message, form=form.fields, status=exc.status
        )
    raise web.HTTPSeeOther(f"/admin/learners/{path.learner_id}?msg=saved")
