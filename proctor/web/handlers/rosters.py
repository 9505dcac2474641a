"""Real-name roster upload and approval (Art. 10): JSON API and admin pages."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal
from urllib.parse import quote

from aiohttp import web
from pydantic import Field

from proctor.kernel.authz import ADMIN_ROLES
from proctor.kernel.errors import ProctorError
from proctor.rosters import approval, credentials, returns, service
from proctor.rosters.workbooks import XLSX_MIME, template_xlsx
from proctor.web.endpoint import Binary, Form, Routes, Upload, read_upload
from proctor.web.fields import MAX_ID, Input, Output, RecordId, chars
from proctor.web.keys import actor_of, ctx_of
from proctor.web.render import json_response, page

routes = Routes(tag="rosters")

XLSX = XLSX_MIME
PAGE_ROWS = 1000
MESSAGES = {
    "uploaded": "花名册已上传，请核对下方逐行检查结果。",
    "approved": "已审批通过：学员及其账号已创建。请下载初始账号（只能下载一次）并妥善分发。",
    "rejected": "已驳回该批次。",
    "partial": "已审批通过检查无误的行并创建学员账号；有问题的行已连同原因退回上传人修改。",
    "withdrawn": "已撤回该批次。",
    "fixed": "已修改并重新检查该行。",
}
RowNo = Annotated[int, Field(ge=1, le=MAX_ID, description="row number in the spreadsheet")]
Note = Annotated[str, chars(service.NOTE_MAX, required=False)]


class BatchPath(Input):
    batch_id: RecordId


class Approval(Input):
    note: Note = ""


class Rejection(Input):
    note: Note


class NoteForm(Input):
    note: Note = ""


class RowPath(Input):
    batch_id: RecordId
    row_no: RowNo


class RowFixIn(Input):
    """A row as corrected; an empty identity number or phone keeps the stored one."""

    name: Annotated[str, chars(50)]
    id_number: Annotated[str, chars(32, required=False)] = ""
    unit: Annotated[str, chars(100, description="unit name or code")]
    position: Annotated[str, chars(60, required=False)] = ""
    rank: Annotated[str, chars(40)]
    phone: Annotated[str, chars(32, required=False)] = ""


class DetailQuery(Input):
    errors: Literal["0", "1"] = "0"
    msg: Annotated[str, chars(16, required=False)] = ""


class Batch(Output):
    id: int
    filename: str
    org_id: int
    org_name: str
    uploaded_by: str
    status: Literal["pending", "approved", "rejected", "returned", "withdrawn"]
    status_label: str
    total_rows: int
    error_rows: int
    created_at: dt.datetime
    decided_by: str | None
    decided_at: dt.datetime | None
    decision_note: str
    credentials_ready: bool
    credentials_downloaded_at: dt.datetime | None


class Batches(Output):
    items: list[Batch]


class Row(Output):
    row_no: int = Field(description="row number in the spreadsheet (header = 1)")
    ok: bool
    errors: list[str] = Field(description="reasons, in Chinese")
    name: str
    id_masked: str
    unit_name: str
    unit_id: int | None
    rank: str
    position: str
    phone_masked: str
    learner_id: int | None


class BatchDetail(Batch):
    can_decide: bool
    can_approve: bool
    can_download: bool
    can_approve_valid: bool
    can_fix: bool
    can_withdraw: bool
    approved_rows: int
    rows: list[Row]


class FixedRow(Output):
    batch: Batch
    row: Row


async def upload_of(
    request: web.Request, what: str = "花名册", formats: str = "Excel .xlsx 或 CSV"
) -> Upload:
    """The uploaded file, refused before reading it from anyone who may not upload."""
    actor_of(request).require(ADMIN_ROLES, f"上传{what}")
    limit = ctx_of(request).settings.max_upload_bytes
    return await read_upload(
        request,
        limit,
        too_large=service.too_large_message(limit),
        missing=f"请选择要上传的{what}文件（{formats}）",
    )


def xlsx_response(content: bytes, filename: str, ascii_name: str) -> web.Response:
    """An XLSX attachment that no proxy or browser cache keeps."""
    return web.Response(
        body=content,
        content_type=XLSX_MIME,
        headers={
            "Content-Disposition": f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}",
            "Cache-Control": "no-store",
        },
    )


# ---------------------------------------------------------------- API


@routes.get(
    "/api/v1/rosters",
    summary="Roster batches uploaded within my authority, newest first",
    response=Batches,
)
async def list_api(request: web.Request) -> web.Response:
    rows = await service.list_batches(ctx_of(request), actor_of(request))
    return json_response({"items": [r.as_dict() for r in rows]})


@routes.post(
    "/api/v1/rosters",
    summary="Upload a roster (XLSX, or CSV in UTF-8 / GBK) as a pending batch; "
    "returns the per-row report",
    upload="file",
    response=BatchDetail,
    status=201,
)
async def upload_api(request: web.Request) -> web.Response:
    upload = await upload_of(request)
    detail = await service.upload(ctx_of(request), actor_of(request), upload.filename, upload.data)
    return json_response(detail.as_dict(), status=201)


@routes.get(
    "/api/v1/rosters/template.xlsx",
    summary="The blank roster template",
    response=Binary(XLSX),
)
async def template_api(request: web.Request) -> web.Response:
    actor_of(request).require(ADMIN_ROLES, "下载花名册模板")
    return xlsx_response(template_xlsx(), "花名册模板.xlsx", "roster-template.xlsx")


@routes.get(
    "/api/v1/rosters/{batch_id}",
    summary="A batch with its per-row report (identifiers masked; 404 outside my authority)",
    path=BatchPath,
    response=BatchDetail,
)
async def get_api(request: web.Request, path: BatchPath) -> web.Response:
    detail = await service.get_batch(ctx_of(request), actor_of(request), path.batch_id)
    return json_response(detail.as_dict())


@routes.post(
    "/api/v1/rosters/{batch_id}/approve",
    summary="Approve a batch without error rows: creates all its learners and accounts, "
    "or none (409)",
    path=BatchPath,
    body=Approval,
    body_required=False,
    response=Batch,
    errors=(409,),
)
async def approve_api(request: web.Request, path: BatchPath, body: Approval) -> web.Response:
    view = await approval.approve(ctx_of(request), actor_of(request), path.batch_id, body.note)
    return json_response(view.as_dict())


@routes.post(
    "/api/v1/rosters/{batch_id}/reject",
    summary="Reject a pending batch with a note",
    path=BatchPath,
    body=Rejection,
    response=Batch,
    errors=(409,),
)
async def reject_api(request: web.Request, path: BatchPath, body: Rejection) -> web.Response:
    view = await service.reject(ctx_of(request), actor_of(request), path.batch_id, body.note)
    return json_response(view.as_dict())


@routes.post(
    "/api/v1/rosters/{batch_id}/approve-valid",
    summary="Approve the rows that passed every check (their learners and accounts are "
    "created) and return the others to the uploader with their reasons",
    path=BatchPath,
    body=Approval,
    body_required=False,
    response=Batch,
    errors=(409,),
)
async def approve_valid_api(request: web.Request, path: BatchPath, body: Approval) -> web.Response:
    view = await approval.approve_valid(
        ctx_of(request), actor_of(request), path.batch_id, body.note
    )
    return json_response(view.as_dict())


@routes.post(
    "/api/v1/rosters/{batch_id}/withdraw",
    summary="Withdraw a batch not yet (wholly) approved (the uploader or an approver)",
    path=BatchPath,
    body=Approval,
    body_required=False,
    response=Batch,
    errors=(409,),
)
async def withdraw_api(request: web.Request, path: BatchPath, body: Approval) -> web.Response:
    view = await returns.withdraw(ctx_of(request), actor_of(request), path.batch_id, body.note)
    return json_response(view.as_dict())


@routes.patch(
    "/api/v1/rosters/{batch_id}/rows/{row_no}",
    summary="Fix a row of a waiting batch in place; it is checked again like an upload, and "
    "a returned batch goes back to the approver",
    path=RowPath,
    body=RowFixIn,
    response=FixedRow,
    errors=(409,),
)
async def fix_row_api(request: web.Request, path: RowPath, body: RowFixIn) -> web.Response:
    view, row = await returns.fix_row(
        ctx_of(request),
        actor_of(request),
        path.batch_id,
        path.row_no,
        returns.RowFix(**body.model_dump()),
    )
    return json_response({"batch": view.as_dict(), "row": row.as_dict()})


@routes.get(
    "/api/v1/rosters/{batch_id}/credentials.xlsx",
    summary="The initial usernames and passwords of an approved batch; downloadable once "
    "(then 410)",
    path=BatchPath,
    response=Binary(XLSX),
    errors=(409, 410),
)
async def credentials_api(request: web.Request, path: BatchPath) -> web.Response:
    name, content = await credentials.take_credentials(
        ctx_of(request), actor_of(request), path.batch_id
    )
    return xlsx_response(content, f"花名册{path.batch_id}-初始账号.xlsx", name)


# ---------------------------------------------------------------- pages


async def _list_page(request: web.Request, *, error: str | None, status: int = 200) -> web.Response:
    rows = await service.list_batches(ctx_of(request), actor_of(request))
    limit = ctx_of(request).settings
    return page(
        request,
        "rosters/list.html",
        {
            "rows": rows,
            "error": error,
            "max_size": service.size_text(limit.max_upload_bytes),
            "max_rows": limit.max_roster_rows,
        },
        status=status,
    )


@routes.get("/admin/rosters")
async def list_page(request: web.Request) -> web.Response:
    return await _list_page(request, error=None)


@routes.post("/admin/rosters")
async def upload_form(request: web.Request) -> web.Response:
    try:
        upload = await upload_of(request)
        detail = await service.upload(
            ctx_of(request), actor_of(request), upload.filename, upload.data
        )
    except ProctorError as exc:
        return await _list_page(request, error=exc.message, status=exc.status)
    raise web.HTTPSeeOther(f"/admin/rosters/{detail.batch.id}?msg=uploaded")


async def _detail_page(
    request: web.Request,
    batch_id: int,
    *,
    query: DetailQuery | None = None,
    error: str | None = None,
    status: int = 200,
) -> web.Response:
    query = query or DetailQuery()
    detail = await service.get_batch(ctx_of(request), actor_of(request), batch_id)
    only_errors = query.errors == "1"
    rows = [r for r in detail.rows if not r.ok] if only_errors else detail.rows
    return page(
        request,
        "rosters/detail.html",
        {
            "d": detail,
            "b": detail.batch,
            "rows": rows[:PAGE_ROWS],
            "hidden_rows": max(0, len(rows) - PAGE_ROWS),
            "only_errors": only_errors,
            "message": MESSAGES.get(query.msg),
            "error": error,
        },
        status=status,
    )


@routes.get("/admin/rosters/{batch_id}", path=BatchPath, query=DetailQuery)
async def detail_page(request: web.Request, path: BatchPath, query: DetailQuery) -> web.Response:
    return await _detail_page(request, path.batch_id, query=query)


@routes.post("/admin/rosters/{batch_id}/approve", path=BatchPath, form=NoteForm)
async def approve_form(request: web.Request, path: BatchPath, form: Form[NoteForm]) -> web.Response:
    try:
        note = form.valid().note
        await approval.approve(ctx_of(request), actor_of(request), path.batch_id, note)
    except ProctorError as exc:
        return await _detail_page(request, path.batch_id, error=exc.message, status=exc.status)
    raise web.HTTPSeeOther(f"/admin/rosters/{path.batch_id}?msg=approved")


@routes.post("/admin/rosters/{batch_id}/reject", path=BatchPath, form=NoteForm)
async def reject_form(request: web.Request, path: BatchPath, form: Form[NoteForm]) -> web.Response:
    try:
        note = form.valid().note
        await service.reject(ctx_of(request), actor_of(request), path.batch_id, note)
    except ProctorError as exc:
        return await _detail_page(request, path.batch_id, error=exc.message, status=exc.status)
    raise web.HTTPSeeOther(f"/admin/rosters/{path.batch_id}?msg=rejected")


@routes.post("/admin/rosters/{batch_id}/approve-valid", path=BatchPath, form=NoteForm)
async def approve_valid_form(
    request: web.Request, path: BatchPath, form: Form[NoteForm]
) -> web.Response:
    try:
        note = form.valid().note
        await approval.approve_valid(ctx_of(request), actor_of(request), path.batch_id, note)
    except ProctorError as exc:
        return await _detail_page(request, path.batch_id, error=exc.message, status=exc.status)
    raise web.HTTPSeeOther(f"/admin/rosters/{path.batch_id}?msg=partial")


@routes.post("/admin/rosters/{batch_id}/withdraw", path=BatchPath, form=NoteForm)
async def withdraw_form(
    request: web.Request, path: BatchPath, form: Form[NoteForm]
) -> web.Response:
    try:
        note = form.valid().note
        await returns.withdraw(ctx_of(request), actor_of(request), path.batch_id, note)
    except ProctorError as exc:
        return await _detail_page(request, path.batch_id, error=exc.message, status=exc.status)
    raise web.HTTPSeeOther(f"/admin/rosters/{path.batch_id}?msg=withdrawn")


async def _row_page(
    request: web.Request,
    batch_id: int,
    row_no: int,
    *,
    form: dict[str, str] | None = None,
    error: str | None = None,
    status: int = 200,
) -> web.Response:
    detail = await service.get_batch(ctx_of(request), actor_of(request), batch_id)
    row = next((r for r in detail.rows if r.row_no == row_no), None)
    if row is None:
        raise web.HTTPNotFound()
    return page(
        request,
        "rosters/row.html",
        {"b": detail.batch, "d": detail, "r": row, "form": form or {}, "error": error},
        status=status,
    )


@routes.get("/admin/rosters/{batch_id}/rows/{row_no}", path=RowPath)
async def row_page(request: web.Request, path: RowPath) -> web.Response:
    return await _row_page(request, path.batch_id, path.row_no)


@routes.post("/admin/rosters/{batch_id}/rows/{row_no}", path=RowPath, form=RowFixIn)
async def row_form(request: web.Request, path: RowPath, form: Form[RowFixIn]) -> web.Response:
    try:
        fix = form.valid()
        _, row = await returns.fix_row(
            ctx_of(request),
            actor_of(request),
            path.batch_id,
            path.row_no,
            returns.RowFix(**fix.model_dump()),
        )
    except ProctorError as exc:
        return await _row_page(
            request,
            path.batch_id,
            path.row_no,
            form=form.fields,
            error=exc.message,
            status=exc.status,
        )
    if not row.ok:
        return await _row_page(
            request,
            path.batch_id,
            path.row_no,
            form=form.fields,
            error="已保存，但该行仍有问题：" + "；".join(row.errors),
        )
    raise web.HTTPSeeOther(f"/admin/rosters/{path.batch_id}?msg=fixed")


@routes.get("/admin/rosters/{batch_id}/credentials.xlsx", path=BatchPath)
async def credentials_page(request: web.Request, path: BatchPath) -> web.Response:
    try:
        name, content = await credentials.take_credentials(
            ctx_of(request), actor_of(request), path.batch_id
        )
    except ProctorError as exc:
        return await _detail_page(request, path.batch_id, error=exc.message, status=exc.status)
    return xlsx_response(content, f"花名册{path.batch_id}-初始账号.xlsx", name)
