"""Authoring a course in the pages: a draft, lessons, real video uploads probed and transcoded
in the background, credits while editing, publishing and retiring; scope and bad input."""

from __future__ import annotations

import asyncio
import io
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from aiohttp import FormData
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from models import Lesson, MediaJob
from proctor.catalog.media import parse_probe, progress_percent
from proctor.kernel.context import Context
from tests.factories import World, login

needs_ffmpeg = pytest.mark.skipif(
    shutil.which("ffmpeg") is None or shutil.which("ffprobe") is None,
    reason="ffmpeg and ffprobe make and read the test videos",
)


def tool(name: str, *args: str) -> str:
    """Run ffmpeg or ffprobe with fixed arguments; its standard output."""
    done = subprocess.run(  # noqa: S603 - fixed arguments, no shell
        [shutil.which(name) or name, *args], check=True, capture_output=True, text=True
    )
    return done.stdout


def make_video(path: Path, seconds: int = 3) -> bytes:
    """A tiny real WebM (VP8 + Opus)."""
    subprocess.run(  # noqa: S603 - fixed arguments, no shell
        [
            shutil.which("ffmpeg") or "ffmpeg",
            "-y",
            "-loglevel",
            "error",
            "-f",
            "lavfi",
            "-i",
            f"testsrc=size=160x90:rate=5:duration={seconds}",
            "-f",
            "lavfi",
            "-i",
            f"sine=frequency=440:duration={seconds}",
            "-c:v",
            "libvpx",
            "-b:v",
            "50k",
            "-c:a",
            "libopus",
            "-shortest",
            str(path),
        ],
        check=True,
    )
    return path.read_bytes()


async def _upload(
    client: TestClient, headers: dict[str, str], lesson_id: int, data: bytes, name: str
) -> Any:
    form = FormData()
    form.add_field("file", io.BytesIO(data), filename=name, content_type="video/webm")
    return await client.post(f"/api/v1/lessons/{lesson_id}/video", data=form, headers=headers)


async def _draft(client: TestClient, headers: dict[str, str]) -> int:
    resp = await client.post(
        "/admin/courses",
        data={
            "title": "长沙城市更新案例",
            "category": "economy",
            "kind": "elective",
            "lecture_minutes": "90",
            "lecturer": "周教授",
        },
        headers=headers,
        allow_redirects=False,
    )
    assert resp.status == 303, await resp.text()
    return int(resp.headers["Location"].split("/")[-1].split("?")[0])


async def _wait_ready(client: TestClient, headers: dict[str, str], job_id: int) -> dict[str, Any]:
    for _ in range(300):
        job: dict[str, Any] = await (
            await client.get(f"/api/v1/media-jobs/{job_id}", headers=headers)
        ).json()
        if job["state"] in ("ready", "failed"):
            return job
        await asyncio.sleep(0.1)
    raise AssertionError("transcoding did not finish")


@needs_ffmpeg
async def test_upload_transcode_publish_and_retire(
    client: TestClient, ctx: Context, world: World, tmp_path: Path
) -> None:
    """长沙市 writes a local course: the video's duration is probed, it is transcoded to MP4
    in the background, the course is published to the city's learners and retired again."""
    city = await login(client, "cs_admin")
    categories = await (await client.get("/api/v1/categories", headers=city)).json()
    assert "economy" in {c["code"] for c in categories["items"]}
    course_id = await _draft(client, city)
    resp = await client.post(
        f"/api/v1/courses/{course_id}/lessons", json={"title": "第一讲"}, headers=city
    )
    assert resp.status == 201, await resp.text()
    lesson = await resp.json()
    early = await client.post(f"/api/v1/courses/{course_id}/publish", headers=city)
    assert early.status == 409 and "还没有视频" in (await early.json())["detail"]

    resp = await _upload(client, city, lesson["id"], make_video(tmp_path / "v.webm"), "第一讲.webm")
    assert resp.status == 202, await resp.text()
    job = await resp.json()
    assert job["duration_seconds"] == 3 and job["state"] in ("queued", "running", "ready")
    done = await _wait_ready(client, city, job["id"])
    assert done["state"] == "ready", done
    assert done["video_url"].endswith(".mp4")
    async with ctx.db() as s:
        stored = await s.get_one(Lesson, lesson["id"])
    assert (stored.duration_seconds, stored.video_url) == (3, done["video_url"])
    mp4 = ctx.settings.data_dir / "media" / done["video_url"].removeprefix("/media/")
    probe = await asyncio.to_thread(
        tool,
        "ffprobe",
        "-v",
        "error",
        "-show_entries",
        "stream=codec_name",
        "-of",
        "csv=p=0",
        str(mp4),
    )
    assert set(probe.split()) == {"h264", "aac"}
    assert not any((ctx.settings.data_dir / "media" / "uploads").iterdir())

    published = await client.post(f"/api/v1/courses/{course_id}/publish", headers=city)
    assert published.status == 200, await published.text()
    learner = await login(client, "zhang")
    assert (await client.get(f"/api/v1/courses/{course_id}", headers=learner)).status == 200
    other_city = await login(client, "zhao")
    assert (await client.get(f"/api/v1/courses/{course_id}", headers=other_city)).status == 404
    retired = await client.post(f"/api/v1/courses/{course_id}/retire", headers=city)
    assert retired.status == 200
    assert (await client.get(f"/api/v1/courses/{course_id}", headers=learner)).status == 404
    listed = await (
        await client.get("/api/v1/authoring/courses?status=retired", headers=city)
    ).json()
    assert [c["id"] for c in listed["items"]] == [course_id]


@needs_ffmpeg
async def test_what_is_not_a_video_is_refused(
    client: TestClient, ctx: Context, world: World, tmp_path: Path
) -> None:
    """A text file named .mp4, a picture and a sound file are refused with the reason; no job
    and no file are left."""
    city = await login(client, "cs_admin")
    course_id = await _draft(client, city)
    lesson = await (
        await client.post(
            f"/api/v1/courses/{course_id}/lessons", json={"title": "第一讲"}, headers=city
        )
    ).json()
    picture = tmp_path / "p.png"
    sound = tmp_path / "s.mp3"
    for args, path in (
        (["-f", "lavfi", "-i", "testsrc=size=64x64:duration=1", "-frames:v", "1"], picture),
        (["-f", "lavfi", "-i", "sine=duration=3"], sound),
    ):
        await asyncio.to_thread(tool, "ffmpeg", "-y", "-loglevel", "error", *args, str(path))
    for data, name, reason in (
        ("讲稿：城市更新\n".encode(), "讲稿.mp4", "不是视频"),
        (picture.read_bytes(), "p.png", "图片"),
        (sound.read_bytes(), "s.mp3", "只有声音"),
    ):
        resp = await _upload(client, city, lesson["id"], data, name)
        assert resp.status == 422, name
        body = await resp.json()
        assert body["field"] == "file" and reason in body["detail"], body
    async with ctx.db() as s:
        assert await s.scalar(select(func.count()).select_from(MediaJob)) == 0
    uploads = ctx.settings.data_dir / "media" / "uploads"
    assert not uploads.exists() or not any(uploads.iterdir())


async def test_scope_roles_and_credits_preview(
    client: TestClient, ctx: Context, world: World
) -> None:
    """Another city's administrator cannot see the draft (404), a reviewer may not author (403),
    a county cannot develop courses; the preview follows the policy of Art. 12."""
    city = await login(client, "cs_admin")
    course_id = await _draft(client, city)
    lesson = await (
        await client.post(
            f"/api/v1/courses/{course_id}/lessons", json={"title": "第一讲"}, headers=city
        )
    ).json()
    other = await login(client, "ht_admin")
    assert (await client.post(f"/api/v1/courses/{course_id}/publish", headers=other)).status == 404
    assert (
        await client.patch(f"/api/v1/lessons/{lesson['id']}", json={"title": "x"}, headers=other)
    ).status == 404
    reviewer = await login(client, "cs_reviewer")
    assert (await client.delete(f"/api/v1/lessons/{lesson['id']}", headers=reviewer)).status == 403
    county = await login(client, "fr_admin")
    resp = await client.post(
        "/admin/courses",
        data={
            "title": "区本课程",
            "category": "economy",
            "kind": "required",
            "lecture_minutes": "45",
        },
        headers=county,
    )
    assert resp.status == 403
    for kind, minutes, credits in (
        ("required", 45, "1.00"),
        ("required", 22, "0.00"),
        ("elective", 90, "1.00"),
        ("required", 68, "2.00"),
    ):
        resp = await client.get(
            "/api/v1/credits/preview",
            params={"kind": kind, "lecture_seconds": str(minutes * 60)},
            headers=city,
        )
        assert (await resp.json())["credits"] == credits, (kind, minutes)
    designated = await client.get(
        "/api/v1/credits/preview",
        params={"kind": "required", "lecture_seconds": "2700", "designated_credits": "3.5"},
        headers=city,
    )
    assert (await designated.json())["credits"] == "3.50"


@pytest.mark.parametrize(
    ("raw", "seconds"),
    [
        (
            b'{"streams":[{"codec_type":"video","width":640,"height":360}],"format":{"format_name":"mov,mp4","duration":"125.6"}}',
            126,
        ),
        (
            b'{"streams":[{"codec_type":"audio"}],"format":{"format_name":"mp3","duration":"60"}}',
            None,
        ),
        (b'{"streams":[{"codec_type":"video"}],"format":{"format_name":"png_pipe"}}', None),
        (
            b'{"streams":[{"codec_type":"video","disposition":{"attached_pic":1}},{"codec_type":"audio"}],"format":{"format_name":"mp3","duration":"60"}}',
            None,
        ),
        (
            b'{"streams":[{"codec_type":"video"}],"format":{"format_name":"matroska","duration":"0.2"}}',
            None,
        ),
        (b"not json", None),
    ],
)
def test_probe_reading(raw: bytes, seconds: int | None) -> None:
    found = parse_probe(raw)
    assert (found if isinstance(found, str) else found.seconds) == (
        seconds if seconds is not None else found
    )
    assert isinstance(found, str) is (seconds is None)


def test_progress_lines() -> None:
    assert progress_percent("out_time_us=1500000\n", 3) == 50
    assert progress_percent("out_time_ms=3000000", 3) == 99
    assert progress_percent("frame=15", 3) is None
    assert progress_percent("out_time_us=N/A", 3) is None
