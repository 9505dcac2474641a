"""Real-name roster upload and approval (Art. 10): JSON API and admin pages."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from aiohttp import BodyPartReader, web

from proctor.authz import ADMIN_ROLES
from proctor.errors import InvalidInput, ProctorError, TooLarge
from proctor.rosters import approval, credentials, service
from proctor.rosters.workbooks import XLSX_MIME, template_xlsx
from proctor.web import parse
from proctor.web.handlers.catalog import created
from proctor.web.keys import actor_of, ctx_of
from proctor.web.openapi import BOOL, INT, STR, obj, op, path_id
from proctor.web.render import json_response, page

routes = web.RouteTableDef()

BATCH = r"/{batch_id:\d+}"
# Multipart framing around the file; the file itself is held to max_upload_bytes.
FRAMING_BYTES = 64 * 1024
PAGE_ROWS = 1000
MESSAGES = {
    "uploaded": "花名册已上传，请核对下方逐行检查结果。",
    "approved": "已审批通过：学员及其账号已创建。请下载初始账号（只能下载一次）并妥善分发。",
    "rejected": "已驳回该批次。",
}


async def read_upload(
    request: web.Request, what: str = "花名册", formats: str = "Excel .xlsx 或 CSV"
) -> tuple[str, bytes]:
    """The uploaded file's name and bytes (multipart field ``file``), held to the size limit."""
    actor_of(request).require(ADMIN_ROLES, f"上传{what}")
    limit = ctx_of(request).settings.max_upload_bytes
    if request.content_length is not None and request.content_length > limit + FRAMING_BYTES:
        raise TooLarge(service.too_large_message(limit), field="file")
    if not request.content_type.startswith("multipart/form-data"):
        raise InvalidInput("请以 multipart/form-data 方式上传文件，字段名为 file", field="file")
    try:
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader) or part.name != "file":
                continue
            chunks: list[bytes] = []
            size = 0
            while chunk := await part.read_chunk(256 * 1024):
                size += len(chunk)
                if size > limit:
                    raise TooLarge(service.too_large_message(limit), field="file")
                chunks.append(chunk)
            if not part.filename and not size:
                break
            return part.filename or "", b"".join(chunks)
    except ValueError as exc:
        raise InvalidInput("上传内容格式有误，请重新选择文件上传", field="file") from exc
    raise InvalidInput(f"请选择要上传的{what}文件（{formats}）", field="file")


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


async def _note(request: web.Request) -> str:
    if not request.can_read_body:
        return ""
    data = await parse.form_or_json(request)
    return parse.text(data, "note", required=False, max_len=service.NOTE_MAX)


# ---------------------------------------------------------------- API


@routes.get("/api/v1/rosters")
async def list_api(request: web.Request) -> web.Response:
    rows = await service.list_batches(ctx_of(request), actor_of(request))
    return json_response({"items": [r.as_dict() for r in rows]})


@routes.post("/api/v1/rosters")
async def upload_api(request: web.Request) -> web.Response:
    filename, data = await read_upload(request)
    detail = await service.upload(ctx_of(request), actor_of(request), filename, data)
    return json_response(detail.as_dict(), status=201)


@routes.get("/api/v1/rosters/template.xlsx")
async def template_api(request: web.Request) -> web.Response:
    actor_of(request).require(ADMIN_ROLES, "下载花名册模板")
    return xlsx_response(template_xlsx(), "花名册模板.xlsx", "roster-template.xlsx")


@routes.get("/api/v1/rosters" + BATCH)
async def get_api(request: web.Request) -> web.Response:
    detail = await service.get_batch(
        ctx_of(request), actor_of(request), parse.path_int(request, "batch_id")
    )
    return json_response(detail.as_dict())


@routes.post("/api/v1/rosters" + BATCH + "/approve")
async def approve_api(request: web.Request) -> web.Response:
    batch_id = parse.path_int(request, "batch_id")
    view = await approval.approve(
        ctx_of(request), actor_of(request), batch_id, await _note(request)
    )
    return json_response(view.as_dict())


@routes.post("/api/v1/rosters" + BATCH + "/reject")
async def reject_api(request: web.Request) -> web.Response:
    batch_id = parse.path_int(request, "batch_id")
    view = await service.reject(ctx_of(request), actor_of(request), batch_id, await _note(request))
    return json_response(view.as_dict())


@routes.get("/api/v1/rosters" + BATCH + "/credentials.xlsx")
async def credentials_api(request: web.Request) -> web.Response:
    batch_id = parse.path_int(request, "batch_id")
    name, content = await credentials.take_credentials(ctx_of(request), actor_of(request), batch_id)
    return xlsx_response(content, f"花名册{batch_id}-初始账号.xlsx", name)


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
        filename, data = await read_upload(request)
        detail = await service.upload(ctx_of(request), actor_of(request), filename, data)
    except ProctorError as exc:
        return await _list_page(request, error=exc.message, status=exc.status)
    raise web.HTTPSeeOther(f"/admin/rosters/{detail.batch.id}?msg=uploaded")


async def _detail_page(
    request: web.Request, batch_id: int, *, error: str | None = None, status: int = 200
) -> web.Response:
    detail = await service.get_batch(ctx_of(request), actor_of(request), batch_id)
    only_errors = request.query.get("errors") == "1"
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
            "message": MESSAGES.get(request.query.get("msg", "")),
            "error": error,
        },
        status=status,
    )


@routes.get("/admin/rosters" + BATCH)
async def detail_page(request: web.Request) -> web.Response:
    return await _detail_page(request, parse.path_int(request, "batch_id"))


@routes.post("/admin/rosters" + BATCH + "/approve")
async def approve_form(request: web.Request) -> web.Response:
    batch_id = parse.path_int(request, "batch_id")
    try:
        await approval.approve(ctx_of(request), actor_of(request), batch_id, await _note(request))
    except ProctorError as exc:
        return await _detail_page(request, batch_id, error=exc.message, status=exc.status)
    raise web.HTTPSeeOther(f"/admin/rosters/{batch_id}?msg=approved")


@routes.post("/admin/rosters" + BATCH + "/reject")
async def reject_form(request: web.Request) -> web.Response:
    batch_id = parse.path_int(request, "batch_id")
    try:
        await service.reject(ctx_of(request), actor_of(request), batch_id, await _note(request))
    except ProctorError as exc:
        return await _detail_page(request, batch_id, error=exc.message, status=exc.status)
    raise web.HTTPSeeOther(f"/admin/rosters/{batch_id}?msg=rejected")


@routes.get("/admin/rosters" + BATCH + "/credentials.xlsx")
async def credentials_page(request: web.Request) -> web.Response:
    batch_id = parse.path_int(request, "batch_id")
    try:
        name, content = await credentials.take_credentials(
            ctx_of(request), actor_of(request), batch_id
        )
    except ProctorError as exc:
        return await _detail_page(request, batch_id, error=exc.message, status=exc.status)
    return xlsx_response(content, f"花名册{batch_id}-初始账号.xlsx", name)


# ---------------------------------------------------------------- OpenAPI

_BATCH_PROPS: dict[str, Any] = {
    "id": INT,
    "filename": STR,
    "org_id": INT,
    "org_name": STR,
    "uploaded_by": STR,
    "status": {"type": "string", "enum": ["pending", "approved", "rejected"]},
    "status_label": STR,
    "total_rows": INT,
    "error_rows": INT,
    "created_at": {"type": "string", "format": "date-time"},
    "decided_by": {"type": ["string", "null"]},
    "decided_at": {"type": ["string", "null"], "format": "date-time"},
    "decision_note": STR,
    "credentials_ready": BOOL,
    "credentials_downloaded_at": {"type": ["string", "null"], "format": "date-time"},
}
BATCH_SCHEMA = obj(**_BATCH_PROPS)
ROW_SCHEMA = obj(
    row_no={"type": "integer", "description": "row number in the spreadsheet (header = 1)"},
    ok=BOOL,
    errors={"type": "array", "items": STR, "description": "reasons, in Chinese"},
    name=STR,
    id_masked=STR,
    unit_name=STR,
    unit_id={"type": ["integer", "null"]},
    rank=STR,
    position=STR,
    phone_masked=STR,
    learner_id={"type": ["integer", "null"]},
)
DETAIL_SCHEMA = obj(
    **_BATCH_PROPS,
    can_decide=BOOL,
    can_approve=BOOL,
    can_download=BOOL,
    rows={"type": "array", "items": ROW_SCHEMA},
)
NOTE_BODY = {"type": "object", "properties": {"note": {"type": "string", "maxLength": 500}}}
UPLOAD_ERRORS = (400, 401, 403, 413, 422)
DECIDE_ERRORS = (400, 401, 403, 404, 409, 422)


def _xlsx_op(summary: str, params: list[dict[str, Any]], errors: tuple[int, ...]) -> dict[str, Any]:
    operation = op(summary, tag="rosters", params=params, errors=errors)
    operation["responses"]["200"]["content"] = {
        XLSX_MIME: {"schema": {"type": "string", "format": "binary"}}
    }
    return operation


def _optional_body(operation: dict[str, Any]) -> dict[str, Any]:
    operation["requestBody"]["required"] = False
    return operation


OPENAPI: dict[str, dict[str, Any]] = {
    "/api/v1/rosters": {
        "get": op(
            "Roster batches uploaded within my authority, newest first",
            tag="rosters",
            response=obj(items={"type": "array", "items": BATCH_SCHEMA}),
        ),
        "post": created(
            op(
                "Upload a roster (XLSX, or CSV in UTF-8 / GBK) as a pending batch; returns the per-row report",
                tag="rosters",
                body={
                    "type": "object",
                    "properties": {"file": {"type": "string", "format": "binary"}},
                    "required": ["file"],
                },
                content_type="multipart/form-data",
                response=DETAIL_SCHEMA,
                errors=UPLOAD_ERRORS,
            )
        ),
    },
    "/api/v1/rosters/template.xlsx": {
        "get": _xlsx_op("The blank roster template", [], (401, 403)),
    },
    "/api/v1/rosters/{batch_id}": {
        "get": op(
            "A batch with its per-row report (identifiers masked; 404 outside my authority)",
            tag="rosters",
            params=[path_id("batch_id")],
            response=DETAIL_SCHEMA,
        )
    },
    "/api/v1/rosters/{batch_id}/approve": {
        "post": _optional_body(
            op(
                "Approve a batch without error rows: creates all its learners and accounts, or none (409)",
                tag="rosters",
                params=[path_id("batch_id")],
                body=NOTE_BODY,
                response=BATCH_SCHEMA,
                errors=DECIDE_ERRORS,
            )
        )
    },
    "/api/v1/rosters/{batch_id}/reject": {
        "post": op(
            "Reject a pending batch with a note",
            tag="rosters",
            params=[path_id("batch_id")],
            body=obj(note={"type": "string", "maxLength": 500}),
            response=BATCH_SCHEMA,
            errors=DECIDE_ERRORS,
        )
    },
    "/api/v1/rosters/{batch_id}/credentials.xlsx": {
        "get": _xlsx_op(
            "The initial usernames and passwords of an approved batch; downloadable once (then 410)",
            [path_id("batch_id")],
            (401, 403, 404, 409, 410),
        )
    },
}
