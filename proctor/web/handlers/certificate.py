"""Study certificates (学时证明): the PDF from the archive, and the public page that checks
a certificate's verification code (reachable without signing in)."""

from __future__ import annotations

import asyncio
from typing import Annotated
from urllib.parse import quote

from aiohttp import web
from pydantic import Field

from models import utcnow
from proctor.archive import certificate, verification
from proctor.archive.service import KIND_NAMES
from proctor.kernel.calendar import local_day, study_year
from proctor.web.endpoint import Binary, Routes
from proctor.web.fields import Input, RecordId, Year, chars
from proctor.web.handlers.archive import _own_id
from proctor.web.keys import actor_of, ctx_of
from proctor.web.render import page

routes = Routes(tag="archive")
PDF = "application/pdf"


class YearQuery(Input):
    year: Year | None = Field(
        None, description="credit year (default: the current year, China time)"
    )


class LearnerPath(Input):
    learner_id: RecordId


class CodeQuery(Input):
    code: Annotated[str, chars(64, required=False, description="verification code")] = ""


class CodePath(Input):
    code: Annotated[str, chars(64, description="verification code")]


def _origin(request: web.Request) -> str:
    configured = ctx_of(request).settings.public_origin
    return configured or f"{request.scheme}://{request.host}"


async def _pdf(request: web.Request, learner_id: int, year: int | None) -> web.Response:
    ctx = ctx_of(request)
    now = utcnow()
    archive, issued = await verification.issue(
        ctx,
        actor_of(request),
        learner_id,
        year if year is not None else study_year(now),
        origin=_origin(request),
        today=local_day(now),
    )
    # Laying out and subsetting the font takes a moment of CPU: keep the event loop free.
    data = await asyncio.to_thread(
        certificate.render, archive, issued, ctx.settings.certificate_font
    )
    name = f"学时证明-{archive.name}-{archive.year}.pdf"
    return web.Response(
        body=data,
        content_type=PDF,
        headers={
            "Content-Disposition": (
                f'inline; filename="certificate-{archive.learner_id}-{archive.year}.pdf"; '
                f"filename*=UTF-8''{quote(name)}"
            )
        },
    )


@routes.get(
    "/api/v1/me/certificate.pdf",
    summary="My study certificate for a year (PDF with a verification code; learners only)",
    query=YearQuery,
    response=Binary(PDF),
    errors=(503,),
)
async def my_certificate(request: web.Request, query: YearQuery) -> web.Response:
    return await _pdf(request, _own_id(request), query.year)


@routes.get(
    "/api/v1/learners/{learner_id}/certificate.pdf",
    summary="A learner's study certificate for a year (own, or within my authority)",
    path=LearnerPath,
    query=YearQuery,
    response=Binary(PDF),
    errors=(503,),
)
async def learner_certificate(
    request: web.Request, path: LearnerPath, query: YearQuery
) -> web.Response:
    return await _pdf(request, path.learner_id, query.year)


async def _verify_page(request: web.Request, code: str) -> web.Response:
    result = await verification.verify(ctx_of(request), code) if code else None
    return page(
        request,
        "archive/verify.html",
        {"code": code, "v": result, "kinds": KIND_NAMES},
        status=404 if code and result is None else 200,
    )


@routes.get("/verify", query=CodeQuery)
async def verify_form(request: web.Request, query: CodeQuery) -> web.Response:
    return await _verify_page(request, query.code)


@routes.get("/verify/{code}", path=CodePath)
async def verify_code(request: web.Request, path: CodePath) -> web.Response:
    return await _verify_page(request, path.code)
