"""The study certificate (学时证明): a PDF whose text (read back with pdftotext) carries the
year's credits by kind, the quota, the courses and exams that count, and a verification code
that the public page accepts, rejects when altered, and answers with a masked name only."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient

from proctor.archive.verification import make_code, mask_name, read_code
from proctor.credits import ledger
from proctor.kernel.context import Context
from tests.factories import World, login
from tests.proctor.archive.helpers import YEAR, add_course, seed_boundary

needs_pdftotext = pytest.mark.skipif(
    shutil.which("pdftotext") is None, reason="poppler-utils (pdftotext) not installed"
)
needs_font = pytest.mark.skipif(
    not Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc").exists(),
    reason="fonts-noto-cjk not installed",
)


def test_codes_round_trip_and_any_change_is_rejected() -> None:
    secret = "s" * 32
    code = make_code(secret, 1234, 2026, dt.date(2026, 12, 3))
    assert re.fullmatch(r"([A-Z2-7]{4}-){5}[A-Z2-7]{4}", code)
    claim = read_code(secret, code)
    assert claim is not None and (claim.learner_id, claim.year) == (1234, 2026)
    assert claim.issued == dt.date(2026, 12, 3)
    assert read_code(secret, code.lower().replace("-", " ")) == claim  # typed loosely
    raw = code.replace("-", "")
    for i in range(len(raw)):
        for other in "A7":
            if raw[i] != other:
                assert read_code(secret, raw[:i] + other + raw[i + 1 :]) is None
    assert read_code("t" * 32, code) is None  # another installation's secret
    for junk in ["", "ABCD", "<script>", "é" * 24, raw + "A", "0" * 24, "8" * 24]:
        assert read_code(secret, junk) is None
    # Neighbouring learners' codes share nothing visible (no record id shows through).
    near = make_code(secret, 1235, 2026, dt.date(2026, 12, 3)).replace("-", "")
    assert sum(a == b for a, b in zip(near, raw, strict=True)) < 8
    assert mask_name("张伟") == "张*" and mask_name("欧阳娜娜") == "欧***"


def pdf_text(tmp_path: Path, data: bytes) -> str:
    path = tmp_path / "certificate.pdf"
    path.write_bytes(data)
    out = subprocess.run(  # noqa: S603 - fixed arguments, no shell
        [shutil.which("pdftotext") or "pdftotext", "-layout", str(path), "-"],
        check=True,
        capture_output=True,
        text=True,
    )
    return out.stdout


@needs_pdftotext
@needs_font
async def test_certificate_pdf_and_its_public_verification(
    client: TestClient, ctx: Context, world: World, tmp_path: Path
) -> None:
    await seed_boundary(ctx, world)  # 23 required + 17 elective, 数字经济 revoked
    zhang = world.learners["zhang"]
    exam_course = await add_course(ctx, world, "X1", "廉洁从政专题")
    async with ctx.db.begin() as s:
        await ledger.post_exam_bonus(
            s,
            learner_id=zhang.id,
            course_id=exam_course.id,
            year=YEAR,
            amount=Decimal("1.50"),
            evidence={"exam_id": 1, "attempt_id": 1, "score": 90},
        )
    me = await login(client, "zhang")
    archive = await (await client.get(f"/archive?year={YEAR}", headers=me)).text()
    assert f'href="/api/v1/me/certificate.pdf?year={YEAR}"' in archive

    resp = await client.get(f"/api/v1/me/certificate.pdf?year={YEAR}", headers=me)
    assert resp.status == 200, await resp.text()
    assert resp.content_type == "application/pdf"
    data = await resp.read()
    assert data.startswith(b"%PDF-") and len(data) < 300_000  # a font subset, not the font
    text = pdf_text(tmp_path, data)
    flat = re.sub(r"\s+", " ", text)
    assert "学时证明" in flat and f"{YEAR} 年度" in flat
    assert "张伟" in flat and zhang.id_masked in flat and "芙蓉区财政局" in flat
    assert re.search(r"必修课程学分 +选修课程学分 +考试奖励学分 +合计", text)
    assert re.search(r"23\.00 +17\.00 +1\.50 +41\.50", text)
    assert "未完成年度学分要求" in flat and "必修还差 1.00" in flat
    assert "党章学习" in flat and "数字经济" not in flat  # revoked: it no longer counts
    assert "廉洁从政专题" in flat and "1.50" in flat
    found = re.search(r"校验码：(([A-Z2-7]{4}-){5}[A-Z2-7]{4})", text)
    assert found, text
    code = found.group(1)
    assert "核验网址：" in flat and f"/verify/{code}" in flat

    # The HR officer, not signed in, checks the code.
    client.session.cookie_jar.clear()
    page = await client.get(f"/verify/{code}")
    assert page.status == 200
    html = await page.text()
    assert 'data-valid="1"' in html and "校验码有效" in html
    assert ">张*<" in html and "张伟" not in html
    assert zhang.id_masked not in html and "芙蓉区财政局" not in html and "县处级" not in html
    assert f"{YEAR} 年度" in html
    assert 'data-credits="total"><strong>41.50<' in html
    assert "未完成" in html
    form = await client.get("/verify", params={"code": code.lower()})
    assert form.status == 200 and 'data-valid="1"' in await form.text()

    # One character changed, another learner's id swapped in, or junk: invalid, never a 500.
    raw = code.replace("-", "")
    tampered = raw[:3] + ("B" if raw[3] != "B" else "C") + raw[4:]
    for bad in [tampered, raw[:-1], "<script>alert(1)</script>", "A" * 24]:
        resp = await client.get("/verify", params={"code": bad})
        assert resp.status == 404
        body = await resp.text()
        assert (
            'data-valid="0"' in body
            and "校验码无效" in body
            and "张" not in body.split("<main>")[1]
        )
    assert (await client.get("/verify")).status == 200


async def test_certificate_is_within_authority(
    client: TestClient, ctx: Context, world: World
) -> None:
    """A learner gets only their own; staff only learners in their subtree (404 otherwise)."""
    zhang = world.learners["zhang"].id
    li = await login(client, "li")
    assert (await client.get(f"/api/v1/learners/{zhang}/certificate.pdf", headers=li)).status == 404
    tx = await login(client, "tx_admin")  # 天心区; zhang is in 芙蓉区
    assert (await client.get(f"/api/v1/learners/{zhang}/certificate.pdf", headers=tx)).status == 404
    staff = await login(client, "academy")
    assert (await client.get("/api/v1/me/certificate.pdf", headers=staff)).status == 403
    bad_year = await client.get("/api/v1/me/certificate.pdf?year=1999", headers=li)
    assert bad_year.status == 422
