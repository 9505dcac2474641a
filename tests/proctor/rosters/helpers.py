"""Roster files built at test time (openpyxl, csv) and uploads through the HTTP API."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Sequence
from typing import Any

import openpyxl
from aiohttp import FormData
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from models import Account, Learner, RosterBatch, RosterRow
from proctor.kernel.context import Context
from proctor.kernel.identity import make_id_number

HEADER = ("姓名", "身份证号", "单位", "职务/职级", "手机号")
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def id_number(seq: int, birth: dt.date = dt.date(1985, 3, 4), region: str = "430103") -> str:
    """A valid identity number nobody in the shared world has."""
    return make_id_number(region, birth, seq)


def person(
    name: str, seq: int, unit: str = "芙蓉区财政局", post: str = "科长/乡科级正职", **kw: Any
) -> list[Any]:
    """One roster row: 姓名, 身份证号, 单位, 职务/职级, 手机号."""
    return [
        name,
        kw.get("id_number", id_number(seq)),
        unit,
        post,
        kw.get("phone", f"1391234{seq:04d}"),
    ]


def xlsx(rows: Sequence[Sequence[Any]], header: Sequence[str] = HEADER) -> bytes:
    """A workbook whose first sheet holds the header and rows (identity numbers as text)."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(list(header))
    for row in rows:
        sheet.append(list(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def csv_bytes(
    rows: Sequence[Sequence[Any]], encoding: str = "utf-8", header: Sequence[str] = HEADER
) -> bytes:
    """A CSV file as Excel writes one, in the given encoding."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


async def upload(
    client: TestClient, headers: dict[str, str], content: bytes, filename: str = "花名册.xlsx"
) -> Any:
    """POST the file as multipart field ``file``; the raw response."""
    form = FormData()
    # A file object, as a browser streams it (raw bytes over 1 MB make aiohttp warn).
    form.add_field(
        "file", io.BytesIO(content), filename=filename, content_type="application/octet-stream"
    )
    return await client.post("/api/v1/rosters", data=form, headers=headers)


async def upload_ok(
    client: TestClient, headers: dict[str, str], content: bytes, filename: str = "花名册.xlsx"
) -> dict[str, Any]:
    """Upload a file that must be accepted as a batch; its per-row report."""
    resp = await upload(client, headers, content, filename)
    assert resp.status == 201, await resp.text()
    body: dict[str, Any] = await resp.json()
    return body


def errors_of(report: dict[str, Any]) -> dict[int, list[str]]:
    """Reasons per spreadsheet row number, only for refused rows."""
    return {r["row_no"]: r["errors"] for r in report["rows"] if not r["ok"]}


async def count(ctx: Context, model: Any) -> int:
    """Rows of a table."""
    async with ctx.db() as s:
        return await s.scalar(select(func.count()).select_from(model)) or 0


async def counts(ctx: Context) -> dict[str, int]:
    """What an upload or approval may create."""
    return {
        "batches": await count(ctx, RosterBatch),
        "rows": await count(ctx, RosterRow),
        "learners": await count(ctx, Learner),
        "accounts": await count(ctx, Account),
    }


def read_xlsx(content: bytes) -> list[list[Any]]:
    """Values of the first sheet of a downloaded workbook."""
    book = openpyxl.load_workbook(io.BytesIO(content), read_only=True)
    try:
        return [list(r) for r in book.worksheets[0].iter_rows(values_only=True)]
    finally:
        book.close()
