"""Uploading rosters through the API: the per-row report, and files refused whole."""

from __future__ import annotations

from pathlib import Path

import pytest
from aiohttp import FormData
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from models import AuditEvent, Learner, RosterRow
from proctor.kernel.context import Context
from tests.factories import World, login
from tests.proctor.rosters.helpers import (
    counts,
    csv_bytes,
    errors_of,
    id_number,
    person,
    upload,
    upload_ok,
    xlsx,
)

ROWS = [
    person("张三", 1, post="科长/乡科级正职"),
    person("李四", 2, unit="430102002", post="副处"),
]


@pytest.mark.parametrize(
    ("content", "filename"),
    [
        (xlsx(ROWS), "芙蓉区花名册.xlsx"),
        (csv_bytes(ROWS), "芙蓉区花名册.csv"),
        (csv_bytes(ROWS, "utf-8-sig"), "芙蓉区花名册.csv"),
        (csv_bytes(ROWS, "gbk"), "芙蓉区花名册.csv"),
    ],
    ids=["xlsx", "csv-utf8", "csv-utf8-bom", "csv-gbk"],
)
async def test_upload_reports_every_row(
    client: TestClient, ctx: Context, world: World, content: bytes, filename: str
) -> None:
    """XLSX and CSV (UTF-8, with BOM, GBK) give the same report; only a pending batch is made."""
    before = await counts(ctx)
    headers = await login(client, "fr_admin")
    report = await upload_ok(client, headers, content, filename)
    assert (report["status"], report["total_rows"], report["error_rows"]) == ("pending", 2, 0)
    assert report["filename"] == filename
    assert [
        (r["row_no"], r["name"], r["unit_name"], r["position"], r["rank"], r["ok"])
        for r in report["rows"]
    ] == [
        (2, "张三", "芙蓉区财政局", "科长", "乡科级正职", True),
        (3, "李四", "430102002", "", "县处级副职", True),
    ]
    assert report["rows"][1]["unit_id"] == world.org("芙蓉区教育局").id
    # Identifiers are masked in the report and encrypted in the database.
    number = id_number(1)
    assert report["rows"][0]["id_masked"] == number[:4] + "*" * 10 + number[-4:]
    assert report["rows"][0]["phone_masked"] == "139****0001"
    async with ctx.db() as s:
        stored = await s.scalar(select(RosterRow).where(RosterRow.row_no == 2))
        assert stored is not None and stored.id_cipher is not None
        assert number.encode() not in stored.id_cipher
        assert ctx.vault.decrypt(stored.id_cipher) == number
        assert stored.id_hash == ctx.vault.lookup_hash(number)
        audit = (await s.scalars(select(AuditEvent.action))).all()
    assert "roster.upload" in audit
    after = await counts(ctx)
    assert after == before | {"batches": 1, "rows": 2}

    # The batch appears in the list, and its detail repeats the report.
    listed = await (await client.get("/api/v1/rosters", headers=headers)).json()
    assert [b["id"] for b in listed["items"]] == [report["id"]]
    detail = await (await client.get(f"/api/v1/rosters/{report['id']}", headers=headers)).json()
    assert detail["rows"] == report["rows"]
    assert detail["can_approve"] is True


def _wrong_check(number: str) -> str:
    return number[:-1] + ("1" if number[-1] != "1" else "2")


async def test_row_errors_are_reported_in_chinese(client: TestClient, world: World) -> None:
    """Each refused row lists every reason; the batch is stored with its error count."""
    headers = await login(client, "fr_liaison")  # a liaison administers only 芙蓉区财政局
    rows = [
        person("张三", 1),
        person("李四", 2, unit="芙蓉区教育局"),  # outside the liaison's subtree
        person("王五", 3, id_number=_wrong_check(id_number(3))),  # wrong check digit
        person("赵六", 4, phone="1391234"),
        person("钱七", 5, post="办公室主任"),  # no rank
        person("孙八", 6, id_number="430103198502300015"),  # 30 February
    ]
    report = await upload_ok(client, headers, xlsx(rows))
    assert (report["total_rows"], report["error_rows"]) == (6, 5)
    errors = errors_of(report)
    assert set(errors) == {3, 4, 5, 6, 7}
    assert "单位“芙蓉区教育局”不存在或不在您的管理范围内" in errors[3][0]
    assert "校验位错误" in errors[4][0]
    assert "手机号格式不正确" in errors[5][0]
    assert report["rows"][3]["phone_masked"] == "139****"  # even a wrong number is masked
    assert "无法识别的职级“办公室主任”" in errors[6][0]
    assert "出生日期无效" in errors[7][0]
    assert report["can_approve"] is False


async def test_duplicates_in_file_and_in_system(
    client: TestClient, ctx: Context, world: World
) -> None:
    """Both rows of an in-file duplicate are refused; so are people who already are learners,
    and people on another pending batch that could still be approved."""
    zhang = world.learners["zhang"]
    async with ctx.db() as s:
        existing = ctx.vault.decrypt((await s.get_one(Learner, zhang.id)).id_cipher)
    headers = await login(client, "fr_admin")
    first = await upload_ok(client, headers, xlsx([person("周九", 9)]))
    rows = [
        person("张三", 1),
        person("张伟", 11, id_number=existing),
        person("张三", 1),
        person("周九", 9),
    ]
    report = await upload_ok(client, headers, xlsx(rows))
    errors = errors_of(report)
    assert errors[2] == ["身份证号与第 4 行重复（同一文件中每人只能出现一次）"]
    assert errors[4] == ["身份证号与第 2 行重复（同一文件中每人只能出现一次）"]
    assert errors[3] == ["该身份证号已有学员档案（已在系统中），不能重复导入"]
    assert "另一批待审批的花名册" in errors[5][0]
    # Once the first batch is rejected, its people may be uploaded again.
    resp = await client.post(
        f"/api/v1/rosters/{first['id']}/reject", json={"note": "重新整理"}, headers=headers
    )
    assert resp.status == 200, await resp.text()
    again = await upload_ok(client, headers, xlsx([person("周九", 9)]))
    assert again["error_rows"] == 0


def _macro_xlsx() -> bytes:
    import io
    import zipfile

    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(xlsx(ROWS))) as src,
        zipfile.ZipFile(out, "w") as dst,
    ):
        for item in src.infolist():
            dst.writestr(item, src.read(item.filename))
        dst.writestr("xl/vbaProject.bin", b"macro")
    return out.getvalue()


@pytest.mark.parametrize(
    ("content", "filename", "status", "reason"),
    [
        (
            xlsx([], header=("姓名", "单位")),
            "r.xlsx",
            422,
            "缺少必需的列：身份证号、职务/职级、手机号",
        ),
        (b"", "r.csv", 422, "空文件"),
        (xlsx([]), "r.xlsx", 422, "只有表头"),
        (_macro_xlsx(), "r.xlsx", 422, "含宏"),
        (xlsx(ROWS), "r.xlsm", 422, "含宏"),
        (b"%PDF-1.4\n\xe2\xe3\xcf\xd3\n" + bytes(range(256)), "r.pdf", 422, "无法识别文件"),
        ("姓名,身份证号\r\n".encode("utf-16"), "r.csv", 422, "UTF-16"),
        (bytes(range(128, 256)) * 8, "r.csv", 422, "无法识别文件"),
    ],
    ids=["columns", "empty", "header-only", "vba", "xlsm", "pdf", "utf16", "garbage"],
)
async def test_bad_files_create_nothing(
    client: TestClient,
    ctx: Context,
    world: World,
    content: bytes,
    filename: str,
    status: int,
    reason: str,
) -> None:
    before = await counts(ctx)
    headers = await login(client, "fr_admin")
    resp = await upload(client, headers, content, filename)
    assert resp.status == status, await resp.text()
    assert resp.content_type == "application/problem+json"
    body = await resp.json()
    assert reason in body["detail"]
    assert body["field"] == "file"
    assert await counts(ctx) == before


async def test_a_50_mb_body_is_refused_with_413(
    client: TestClient, ctx: Context, world: World
) -> None:
    before = await counts(ctx)
    headers = await login(client, "fr_admin")
    resp = await upload(client, headers, b"a" * (50 * 1024 * 1024), "huge.csv")
    assert resp.status == 413
    body = await resp.json()
    assert "10 MB" in body["detail"]
    assert await counts(ctx) == before


@pytest.fixture
async def small_client(
    ctx: Context, world: World, aiohttp_client: object, tmp_path: Path
) -> TestClient:
    """The app with tight limits (3 rows, 2 KB) on the same database."""
    from proctor.kernel.context import open_context
    from proctor.web.app import create_app

    settings = ctx.settings.model_copy(update={"max_roster_rows": 3, "max_upload_bytes": 2048})
    small = open_context(settings)
    client: TestClient = await aiohttp_client(create_app(ctx=small))  # type: ignore[operator]
    yield client  # type: ignore[misc]
    await client.close()  # the app stops before the context it borrows closes
    await small.close()


async def test_limits_on_rows_and_streamed_size(small_client: TestClient, ctx: Context) -> None:
    """Over max_roster_rows, or over max_upload_bytes inside the multipart body: nothing made."""
    before = await counts(ctx)
    headers = await login(small_client, "fr_admin")
    rows = [person(name, i) for i, name in enumerate(["张三", "李四", "王五", "赵六"], 1)]
    resp = await upload(small_client, headers, csv_bytes(rows), "r.csv")
    assert resp.status == 413
    assert "超过 3 行" in (await resp.json())["detail"]
    # Small enough for the Content-Length pre-check, too big once the file part is read.
    resp = await upload(small_client, headers, csv_bytes(rows * 10), "r.csv")
    assert resp.status == 413
    assert "不能超过 2 KB" in (await resp.json())["detail"]
    assert await counts(ctx) == before


async def test_upload_needs_a_file_and_an_admin(client: TestClient, world: World) -> None:
    headers = await login(client, "fr_admin")
    form = FormData(default_to_multipart=True)
    form.add_field("other", "x")
    resp = await client.post("/api/v1/rosters", data=form, headers=headers)
    assert resp.status == 422
    assert "请选择要上传的花名册文件" in (await resp.json())["detail"]
    resp = await client.post("/api/v1/rosters", json={"file": "x"}, headers=headers)
    assert resp.status == 422
    resp = await client.post(
        "/api/v1/rosters",
        data=b"garbage",
        headers=headers | {"Content-Type": "multipart/form-data; boundary=xyz"},
    )
    assert resp.status == 422
    assert "上传内容格式有误" in (await resp.json())["detail"]
    for who in ("cs_reviewer", "zhang"):
        resp = await upload(client, await login(client, who), xlsx(ROWS))
        assert resp.status == 403
        resp = await client.get("/api/v1/rosters", headers=await login(client, who))
        assert resp.status == 403
