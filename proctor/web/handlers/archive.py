"""The learner's home and archive; staff view of a learner's archive; exports."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from aiohttp import web

from models import Role, utcnow
from proctor.archive import export
from proctor.archive.service import KIND_NAMES, SOURCE_NAMES, learner_archive
from proctor.catalog.service import my_courses
from proctor.errors import Forbidden
from proctor.study.completion import study_year
from proctor.web import parse
from proctor.web.keys import actor_of, ctx_of
from proctor.web.openapi import INT, op, path_id, query
from proctor.web.render import json_response, page

routes = web.RouteTableDef()


def _year(request: web.Request) -> int:
    default = study_year(utcnow())
    return (
        parse.integer(
            dict(request.query), "year", required=False, minimum=2000, maximum=2100, default=default
        )
        or default
    )


def _own_id(request: web.Request) -> int:
    actor = actor_of(request)
    if actor.role is not Role.LEARNER or actor.learner_id is None:
        raise Forbidden("只有学员本人有个人学习档案；管理人员请从学员查询进入")
    return actor.learner_id


def _file(data: bytes, name: str, content_type: str) -> web.Response:
    return web.Response(
        body=data,
        content_type=content_type,
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"},
    )


async def _export(request: web.Request, learner_id: int, fmt: str) -> web.Response:
    archive = await learner_archive(ctx_of(request), actor_of(request), learner_id, _year(request))
    name = f"学习档案-{archive.name}-{archive.year}"
    if fmt == "xlsx":
        return _file(
            export.to_xlsx(archive),
            f"{name}.xlsx",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    return _file(export.to_csv(archive), f"{name}.csv", "text/csv")


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


def _page(request: web.Request, archive: Any, export_base: str, own: bool) -> web.Response:
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
    archive = await learner_archive(
        ctx_of(request), actor_of(request), _own_id(request), _year(request)
    )
    return _page(request, archive, "/api/v1/me/archive", True)


@routes.get("/admin/learners/{learner_id}/archive")
async def archive_page(request: web.Request) -> web.Response:
    learner_id = parse.path_int(request, "learner_id")
    archive = await learner_archive(ctx_of(request), actor_of(request), learner_id, _year(request))
    return _page(request, archive, f"/api/v1/learners/{learner_id}/archive", False)


@routes.get("/learn")
async def learner_home(request: web.Request) -> web.Response:
    ctx, actor = ctx_of(request), actor_of(request)
    archive = await learner_archive(ctx, actor, _own_id(request), _year(request))
    courses = await my_courses(ctx, actor)
    return page(request, "learn/home.html", {"a": archive, "courses": courses})


_YEAR = query("year", INT, "credit year (default: the current year, China time)")
_ARCHIVE = {
    "type": "object",
    "description": "credits by kind (exact decimal strings), quota, completion, courses, every ledger entry including revocations",
}

OPENAPI: dict[str, dict[str, Any]] = {
    "/api/v1/me/archive": {
        "get": op("My archive for a year", tag="archive", params=[_YEAR], response=_ARCHIVE)
    },
    "/api/v1/me/archive.xlsx": {"get": op("My archive as XLSX", tag="archive", params=[_YEAR])},
    "/api/v1/me/archive.csv": {
        "get": op("My archive as CSV (UTF-8 with BOM)", tag="archive", params=[_YEAR])
    },
    "/api/v1/learners/{learner_id}/archive": {
        "get": op(
            "A learner's archive (within my authority)",
            tag="archive",
            params=[path_id("learner_id"), _YEAR],
            response=_ARCHIVE,
        )
    },
    "/api/v1/learners/{learner_id}/archive.xlsx": {
        "get": op(
            "A learner's archive as XLSX", tag="archive", params=[path_id("learner_id"), _YEAR]
        )
    },
    "/api/v1/learners/{learner_id}/archive.csv": {
        "get": op(
            "A learner's archive as CSV", tag="archive", params=[path_id("learner_id"), _YEAR]
        )
    },
}
