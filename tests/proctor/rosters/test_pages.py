"""The roster pages an administrator or liaison uses in the browser."""

from __future__ import annotations

import io
import re

from aiohttp import FormData
from aiohttp.test_utils import TestClient

from proctor.kernel.context import Context
from tests.factories import World, login
from tests.proctor.rosters.helpers import XLSX_MIME, counts, person, read_xlsx, xlsx


def _form(content: bytes, filename: str = "花名册.xlsx") -> FormData:
    form = FormData()
    form.add_field("file", io.BytesIO(content), filename=filename, content_type=XLSX_MIME)
    return form


async def test_upload_review_and_approve_in_the_browser(client: TestClient, world: World) -> None:
    liaison = await login(client, "fr_liaison")
    html = await (await client.get("/admin/rosters", headers=liaison)).text()
    assert 'enctype="multipart/form-data"' in html
    assert 'href="/api/v1/rosters/template.xlsx"' in html
    assert "管理范围内还没有上传过花名册" in html

    rows = [person("张三", 1), person("李四", 2, phone="123")]
    resp = await client.post(
        "/admin/rosters", data=_form(xlsx(rows)), headers=liaison, allow_redirects=False
    )
    assert resp.status == 303
    location = resp.headers["Location"]
    assert location.endswith("?msg=uploaded")
    html = await (await client.get(location, headers=liaison)).text()
    assert "花名册已上传" in html
    assert '<tr class="row-bad">' in html
    assert "手机号格式不正确" in html
    assert "审批通过，创建" not in html  # a liaison does not decide

    admin = await login(client, "fr_admin")
    batch_url = location.split("?")[0]
    html = await (await client.get(batch_url, headers=admin)).text()
    assert "1 行存在问题，不能审批通过" in html
    assert f'action="{batch_url}/reject"' in html
    # Approving anyway shows why not, in Chinese, on the page.
    resp = await client.post(f"{batch_url}/approve", data={"note": ""}, headers=admin)
    assert resp.status == 409
    assert "不能审批通过" in await resp.text()
    resp = await client.post(
        f"{batch_url}/reject", data={"note": "李四手机号有误"}, headers=admin, allow_redirects=False
    )
    assert resp.headers["Location"].endswith("?msg=rejected")
    html = await (await client.get("/admin/rosters", headers=liaison)).text()
    assert "已驳回" in html

    # The corrected file goes through.
    rows[1] = person("李四", 2)
    resp = await client.post(
        "/admin/rosters", data=_form(xlsx(rows)), headers=liaison, allow_redirects=False
    )
    batch_url = resp.headers["Location"].split("?")[0]
    resp = await client.post(
        f"{batch_url}/approve", data={"note": "同意"}, headers=admin, allow_redirects=False
    )
    assert resp.status == 303
    html = await (await client.get(resp.headers["Location"], headers=admin)).text()
    assert "已审批通过" in html
    assert f'href="{batch_url}/credentials.xlsx"' in html
    resp = await client.get(f"{batch_url}/credentials.xlsx", headers=liaison)
    assert resp.status == 200
    assert [r[0] for r in read_xlsx(await resp.read())[1:]] == ["张三", "李四"]
    resp = await client.get(f"{batch_url}/credentials.xlsx", headers=admin)
    assert resp.status == 410
    refusal = await resp.text()
    assert "只能下载一次" in refusal
    html = await (await client.get(batch_url, headers=admin)).text()
    assert "credentials.xlsx" not in html
    # The page and the refusal name the same moment, both in academy local time.
    shown = re.search(r"初始账号已于 (\d{4}-\d{2}-\d{2} \d{2}:\d{2}) 下载", html)
    assert shown is not None and f"已于 {shown.group(1)} 下载过" in refusal


async def test_a_refused_file_shows_the_reason_and_creates_nothing(
    client: TestClient, ctx: Context, world: World
) -> None:
    before = await counts(ctx)
    admin = await login(client, "fr_admin")
    resp = await client.post(
        "/admin/rosters", data=_form(b"\xff\xfe\x00\x00garbage", "r.csv"), headers=admin
    )
    assert resp.status == 422
    assert "不支持 UTF-16 编码" in await resp.text()
    assert await counts(ctx) == before


async def test_template_and_access(client: TestClient, world: World) -> None:
    admin = await login(client, "fr_admin")
    resp = await client.get("/api/v1/rosters/template.xlsx", headers=admin)
    assert resp.status == 200
    assert resp.content_type == XLSX_MIME
    assert read_xlsx(await resp.read())[0] == ["姓名", "身份证号", "单位", "职务/职级", "手机号"]
    reviewer = await login(client, "cs_reviewer")
    assert (await client.get("/admin/rosters", headers=reviewer)).status == 403
    tx = await login(client, "tx_admin")
    resp = await client.get("/admin/rosters/999", headers=tx)
    assert resp.status == 404
    assert "不存在或不在您的管理范围内" in await resp.text()


async def test_the_api_is_declared(client: TestClient) -> None:
    doc = await (await client.get("/api/openapi.json")).json()
    declared = {(path, method) for path, ops in doc["paths"].items() for method in ops}
    assert {
        ("/api/v1/rosters", "get"),
        ("/api/v1/rosters", "post"),
        ("/api/v1/rosters/template.xlsx", "get"),
        ("/api/v1/rosters/{batch_id}", "get"),
        ("/api/v1/rosters/{batch_id}/approve", "post"),
        ("/api/v1/rosters/{batch_id}/reject", "post"),
        ("/api/v1/rosters/{batch_id}/credentials.xlsx", "get"),
    } <= declared
    upload = doc["paths"]["/api/v1/rosters"]["post"]
    assert "multipart/form-data" in upload["requestBody"]["content"]
    assert {"201", "413", "422"} <= set(upload["responses"])
