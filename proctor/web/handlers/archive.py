"""The learner's home and archive; staff view of a learner's archive; exports."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal
from urllib.parse import quote

from aiohttp import web
from pydantic import Field

from models import Role, utcnow
from proctor.archive import export
from proctor.archive.service import KIND_NAMES, SOURCE_NAMES, Archive, learner_archive
from proctor.catalog.enrolment import my_courses
from proctor.kernel.authz import STAFF_ROLES
from proctor.kernel.calendar import study_year
from proctor.kernel.errors import Forbidden
from proctor.review.learner_cases import unread_notices
from proctor.study.resume import my_standings
from proctor.web.endpoint import Binary, Routes
from proctor.web.fields import DecimalText, Input, Output, RecordId, Year
from proctor.web.keys import actor_of, ctx_of
from proctor.web.render import json_response, page

routes = Routes(tag="archive")

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV = "text/csv"


class YearQuery(Input):
    year: Year | None = Field(
        None, description="credit year (default: the current year, China time)"
    )


class LearnerPath(Input):
    learner_id: RecordId


class Credits(Output):
    required: DecimalText
    elective: DecimalText
    bonus: DecimalText
    total: DecimalText


class Quota(Output):
    total: DecimalText
    required: DecimalText


class Entry(Output):
    id: int
    date: dt.date
    posted_at: dt.datetime
    course_id: int | None
    course: str
    kind: Literal["required", "elective", "bonus"]
    source: Literal["attention", "designated", "exam", "legacy", "reversal"]
    amount: DecimalText
    reason: str
    case_id: int | None
    reverses_id: int | None
    reversed_by: int | None
    evidence: dict[str, Any]


class Completion(Output):
    course_id: int
    title: str
    category: str
    kind: Literal["required", "elective"]
    completed_at: dt.datetime
    date: dt.date
    credits: DecimalText
    revoked: bool


class FindingOut(Output):
    kind: str
    text: str
    case_id: int | None
    date: dt.date


class ArchiveOut(Output):
    learner_id: int
    name: str
    unit: str
    rank: str
    year: int
    years: list[int]
    target_group: str | None = Field(description="null: 非本年度参学对象")
    in_target_group: bool
    credits: Credits
    quota: Quota | None
    quota_met: bool
    total_met: bool
    required_met: bool
    remaining: Quota
    courses_completed: list[Completion]
    exams: list[Entry]
    entries: list[Entry]
    findings: list[FindingOut]


def _year(query: YearQuery) -> int:
    return query.year if query.year is not None else study_year(utcnow())


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
        charset="utf-8" if content_type == CSV else None,
        headers={
            "Content-Disposition": (
                f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name)}"
            )
        },
    )


async def _export(request: web.Request, learner_id: int, year: int, fmt: str) -> web.Response:
    archive = await learner_archive(ctx_of(request), actor_of(request), learner_id, year)
    name = f"学习档案-{archive.name}-{archive.year}.{fmt}"
    fallback = f"archive-{archive.learner_id}-{archive.year}.{fmt}"
    if fmt == "xlsx":
        return _file(export.to_xlsx(archive), name, fallback, XLSX)
    return _file(export.to_csv(archive), name, fallback, CSV)


@routes.get(
    "/api/v1/me/archive",
    summary="My archive for a year (learners only)",
    query=YearQuery,
    response=ArchiveOut,
)
async def my_archive_api(request: web.Request, query: YearQuery) -> web.Response:
    archive = await learner_archive(
        ctx_of(request), actor_of(request), _own_id(request), _year(query)
    )
    return json_response(archive.as_dict())


@routes.get(
    "/api/v1/me/archive.xlsx", summary="My archive as XLSX", query=YearQuery, response=Binary(XLSX)
)
async def my_archive_xlsx(request: web.Request, query: YearQuery) -> web.Response:
    return await _export(request, _own_id(request), _year(query), "xlsx")


@routes.get(
    "/api/v1/me/archive.csv",
    summary="My archive's ledger as CSV (UTF-8 with BOM)",
    query=YearQuery,
    response=Binary(CSV),
)
async def my_archive_csv(request: web.Request, query: YearQuery) -> web.Response:
    return await _export(request, _own_id(request), _year(query), "csv")


@routes.get(
    "/api/v1/learners/{learner_id}/archive",
    summary="A learner's archive for a year (own, or within my authority)",
    path=LearnerPath,
    query=YearQuery,
    response=ArchiveOut,
)
async def archive_api(request: web.Request, path: LearnerPath, query: YearQuery) -> web.Response:
    archive = await learner_archive(
        ctx_of(request), actor_of(request), path.learner_id, _year(query)
    )
    return json_response(archive.as_dict())


@routes.get(
    "/api/v1/learners/{learner_id}/archive.xlsx",
    summary="A learner's archive as XLSX",
    path=LearnerPath,
    query=YearQuery,
    response=Binary(XLSX),
)
async def archive_xlsx(request: web.Request, path: LearnerPath, query: YearQuery) -> web.Response:
    return await _export(request, path.learner_id, _year(query), "xlsx")


@routes.get(
    "/api/v1/learners/{learner_id}/archive.csv",
    summary="A learner's archive ledger as CSV (UTF-8 with BOM)",
    path=LearnerPath,
    query=YearQuery,
    response=Binary(CSV),
)
async def archive_csv(request: web.Request, path: LearnerPath, query: YearQuery) -> web.Response:
    return await _export(request, path.learner_id, _year(query), "csv")


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


@routes.get("/archive", query=YearQuery)
async def my_archive_page(request: web.Request, query: YearQuery) -> web.Response:
    _staff_home_unless_learner(request)
    archive = await learner_archive(
        ctx_of(request), actor_of(request), _own_id(request), _year(query)
    )
    return _page(request, archive, "/api/v1/me/archive", True)


@routes.get("/admin/learners/{learner_id}/archive", path=LearnerPath, query=YearQuery)
async def archive_page(request: web.Request, path: LearnerPath, query: YearQuery) -> web.Response:
    actor_of(request).require(STAFF_ROLES, "查看学员档案")
    archive = await learner_archive(
        ctx_of(request), actor_of(request), path.learner_id, _year(query)
    )
    return _page(request, archive, f"/api/v1/learners/{path.learner_id}/archive", False)


@routes.get("/learn")
async def learner_home(request: web.Request) -> web.Response:
    _staff_home_unless_learner(request)
    ctx, actor = ctx_of(request), actor_of(request)
    archive = await learner_archive(ctx, actor, _own_id(request), study_year(utcnow()))
    courses = await my_courses(ctx, actor)
    notices = await unread_notices(ctx, actor)
    resume = await my_standings(ctx, actor, [e.course.id for e in courses])
    return page(
        request,
        "learn/home.html",
        {"a": archive, "courses": courses, "notices": notices, "resume": resume},
    )
