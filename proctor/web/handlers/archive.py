"""The learner's home and archive; staff view of a learner's archive; exports."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from aiohttp import web

from models import Role, utcnow
from proctor.archive import export
from proctor.archive.service import KIND_NAMES, SOURCE_NAMES, Archive, learner_archive
from proctor.authz import STAFF_ROLES
from proctor.catalog.service import my_courses
from proctor.errors import Forbidden
from proctor.review.learner_cases import unread_notices
from proctor.study.completion import study_year
from proctor.web import parse
from proctor.web.keys import actor_of, ctx_of
from proctor.web.openapi import BOOL, DECIMAL, INT, STR, obj, op, path_id, query
from proctor.web.render import json_response, page

routes = web.RouteTableDef()

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _year(request: web.Request) -> int:
    default = study_year(utcnow())
    year = parse.integer(
        dict(request.query), "year", required=False, minimum=2000, maximum=2100, default=default
    )
    return default if year is None else year


def _own_id(request: web.Request) -> int:
    actor = actor_of(request)
    if actor.role is not Role.LEARNER or actor.learner_id is None:
        raise Forbidden("只有学员本人有个人学习档案；管理人员请从学员查询进入")
    return actor.learner_id


def _staff_home_unless_learner(request: web.Request) -> None:
    # Staff following a learner link land on their own home page instead of an error.
    if actor_of(request).role is not Role.LEARNER:
        raise web.HTTPSeeOther("/")


def _file(data: bytes, name: str, fallback: str, content_type: str) -> web.Response:
    return web.Response(
        body=data,
        content_type=content_type,
        charset="utf-8" if content_type == "text/csv" else None,
        headers={
            "Content-Disposition": (
                f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name)}"
            )
        },
    )


async def _export(request: web.Request, learner_id: int, fmt: str) -> web.Response:
    archive = await learner_archive(ctx_of(request), actor_of(request), learner_id, _year(request))
    name = f"学习档案-{archive.name}-{archive.year}.{fmt}"
    fallback = f"archive-{archive.learner_id}-{archive.year}.{fmt}"
    if fmt == "xlsx":
        return _file(export.to_xlsx(archive), name, fallback, XLSX)
    return _file(export.to_csv(archive), name, fallback, "text/csv")


@routes.get("/api/v1/me/archive")
async def my_archive_api(request: web.Request) -> web.Response:
    archive = await learner_archive(
        ctx_of(request), actor_of(request), _own_id(request), _year(request)
    )
    return json_response(archive.as_dict())


@routes.get("/api/v1/me/archive.xlsx")
async def my_archive_xlsx(request: web.Request) -> web.Response:
    return await _export(request, _own_id(request), "xlsx")


@routes.get("/api/v1/me/archive.csv")
async def my_archive_csv(request: web.Request) -> web.Response:
    return await _export(request, _own_id(request), "csv")


@routes.get("/api/v1/learners/{learner_id}/archive")
async def archive_api(request: web.Request) -> web.Response:
    archive = await learner_archive(
        ctx_of(request), actor_of(request), parse.path_int(request, "learner_id"), _year(request)
    )
    return json_response(archive.as_dict())


@routes.get("/api/v1/learners/{learner_id}/archive.xlsx")
async def archive_xlsx(request: web.Request) -> web.Response:
    return await _export(request, parse.path_int(request, "learner_id"), "xlsx")


@routes.get("/api/v1/learners/{learner_id}/archive.csv")
async def archive_csv(request: web.Request) -> web.Response:
    return await _export(request, parse.path_int(request, "learner_id"), "csv")


def _page(request: web.Request, archive: Archive, export_base: str, own: bool) -> web.Response:
    return page(
        request,
        "archive/archive.html",
        {
            "a": archive,
            "kinds": KIND_NAMES,
            "sources": SOURCE_NAMES,
            "export_base": export_base,
            "own": own,
        },
    )


@routes.get("/archive")
async def my_archive_page(request: web.Request) -> web.Response:
    _staff_home_unless_learner(request)
    archive = await learner_archive(
        ctx_of(request), actor_of(request), _own_id(request), _year(request)
    )
    return _page(request, archive, "/api/v1/me/archive", True)


@routes.get("/admin/learners/{learner_id}/archive")
async def archive_page(request: web.Request) -> web.Response:
    actor_of(request).require(STAFF_ROLES, "查看学员档案")
    learner_id = parse.path_int(request, "learner_id")
    archive = await learner_archive(ctx_of(request), actor_of(request), learner_id, _year(request))
    return _page(request, archive, f"/api/v1/learners/{learner_id}/archive", False)


@routes.get("/learn")
async def learner_home(request: web.Request) -> web.Response:
    _staff_home_unless_learner(request)
    ctx, actor = ctx_of(request), actor_of(request)
    archive = await learner_archive(ctx, actor, _own_id(request), study_year(utcnow()))
    courses = await my_courses(ctx, actor)
    notices = await unread_notices(ctx, actor)
    return page(request, "learn/home.html", {"a": archive, "courses": courses, "notices": notices})


_YEAR = query("year", INT, "credit year (default: the current year, China time)")
_NULLABLE_INT: dict[str, Any] = {"type": ["integer", "null"]}
_DATE: dict[str, Any] = {"type": "string", "format": "date"}
_DATETIME: dict[str, Any] = {"type": "string", "format": "date-time"}
_ENTRY = obj(
    id=INT,
    date=_DATE,
    posted_at=_DATETIME,
    course_id=_NULLABLE_INT,
    course=STR,
    kind={"enum": ["required", "elective", "bonus"]},
    source={"enum": ["attention", "designated", "exam", "legacy", "reversal"]},
    amount=DECIMAL,
    reason=STR,
    case_id=_NULLABLE_INT,
    reverses_id=_NULLABLE_INT,
    reversed_by=_NULLABLE_INT,
    evidence={"type": "object"},
)
_ARCHIVE = obj(
    learner_id=INT,
    name=STR,
    unit=STR,
    rank=STR,
    year=INT,
    years={"type": "array", "items": INT},
    target_group={"type": ["string", "null"], "description": "null: 非本年度参学对象"},
    in_target_group=BOOL,
    credits=obj(required=DECIMAL, elective=DECIMAL, bonus=DECIMAL, total=DECIMAL),
    quota={"oneOf": [obj(total=DECIMAL, required=DECIMAL), {"type": "null"}]},
    quota_met=BOOL,
    total_met=BOOL,
    required_met=BOOL,
    remaining=obj(total=DECIMAL, required=DECIMAL),
    courses_completed={
        "type": "array",
        "items": obj(
            course_id=INT,
            title=STR,
            category=STR,
            kind={"enum": ["required", "elective"]},
            completed_at=_DATETIME,
            date=_DATE,
            credits=DECIMAL,
            revoked=BOOL,
        ),
    },
    exams={"type": "array", "items": _ENTRY},
    entries={"type": "array", "items": _ENTRY},
    findings={
        "type": "array",
        "items": obj(kind=STR, text=STR, case_id=_NULLABLE_INT, date=_DATE),
    },
)


def _json_op(summary: str, params: list[dict[str, Any]]) -> dict[str, Any]:
    return op(summary, tag="archive", params=params, response=_ARCHIVE)


def _file_op(summary: str, params: list[dict[str, Any]], mime: str) -> dict[str, Any]:
    operation = op(summary, tag="archive", params=params)
    operation["responses"]["200"]["content"] = {
        mime: {"schema": {"type": "string", "format": "binary"}}
    }
    return operation


_LEARNER = [path_id("learner_id"), _YEAR]

OPENAPI: dict[str, dict[str, Any]] = {
    "/api/v1/me/archive": {"get": _json_op("My archive for a year (learners only)", [_YEAR])},
    "/api/v1/me/archive.xlsx": {"get": _file_op("My archive as XLSX", [_YEAR], XLSX)},
    "/api/v1/me/archive.csv": {
        "get": _file_op("My archive's ledger as CSV (UTF-8 with BOM)", [_YEAR], "text/csv")
    },
    "/api/v1/learners/{learner_id}/archive": {
        "get": _json_op("A learner's archive for a year (own, or within my authority)", _LEARNER)
    },
    "/api/v1/learners/{learner_id}/archive.xlsx": {
        "get": _file_op("A learner's archive as XLSX", _LEARNER, XLSX)
    },
    "/api/v1/learners/{learner_id}/archive.csv": {
        "get": _file_op("A learner's archive ledger as CSV (UTF-8 with BOM)", _LEARNER, "text/csv")
    },
}
