"""Lesson videos (Art. 6-7): an upload is probed at once, then transcoded in the background.

The server asks ffprobe what the file is (refusing anything without a moving picture), stores
a job, and a worker in each server process transcodes queued jobs with ffmpeg to H.264/AAC in
MP4, which every browser and phone plays. Both tools run as asyncio subprocesses, so the event
loop keeps answering beats meanwhile. The job's state and progress live in SQL: a reload shows
them, and a job whose process died (no update for ``STALE``) is taken up by another worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import CursorResult, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from models import AuditEvent, Course, Lesson, MediaJob, MediaState, utcnow
from proctor.catalog.visibility import can_manage, load_visible, viewer_of
from proctor.kernel.authz import APPROVER_ROLES, Actor
from proctor.kernel.context import Context
from proctor.kernel.errors import Forbidden, InvalidInput, NotFound

log = logging.getLogger(__name__)

UPLOADS = "uploads"
OUTPUTS = "lessons/uploaded"
# A running job not updated for this long lost its process: another worker takes it up.
STALE = dt.timedelta(minutes=2)
PROBE_TIMEOUT_S = 60
# ffmpeg's progress lines arrive a few times a second; the database hears of them at most once
# a second (and at least that often while running, which keeps the job from looking stale).
PROGRESS_EVERY_S = 1.0
MIN_SECONDS = 1
STATE_LABELS = {
    MediaState.QUEUED: "排队等待转码",
    MediaState.RUNNING: "正在转码",
    MediaState.READY: "转码完成，可以播放",
    MediaState.FAILED: "处理失败",
}
NOT_A_VIDEO = "上传的文件不是视频：无法识别其中的视频画面。请上传 MP4、WebM、MOV、AVI、FLV、WMV 等格式的课程视频"


@dataclass(frozen=True)
class Probe:
    """What ffprobe found in a file."""

    seconds: int
    width: int
    height: int
    format_name: str


def parse_probe(raw: bytes) -> Probe | str:
    """ffprobe's JSON: a video with a duration, or the reason (Chinese) it is not one."""
    try:
        data: Any = json.loads(raw or b"{}")
    except ValueError:
        return NOT_A_VIDEO
    streams = data.get("streams") or []
    fmt = data.get("format") or {}
    name = str(fmt.get("format_name", ""))
    pictures = [
        s
        for s in streams
        if s.get("codec_type") == "video" and not (s.get("disposition") or {}).get("attached_pic")
    ]
    if not pictures:
        if any(s.get("codec_type") == "audio" for s in streams):
            return "上传的文件只有声音、没有画面，请上传课程视频"
        return NOT_A_VIDEO
    if "image2" in name or name.endswith("_pipe"):
        return "上传的是图片，不是视频，请上传课程视频"
    try:
        seconds = float(fmt.get("duration") or pictures[0].get("duration") or 0)
    except ValueError:
        seconds = 0
    if seconds < MIN_SECONDS:
        return "无法读出视频时长（文件可能不完整或已损坏），请重新导出后上传"
    video = pictures[0]
    return Probe(round(seconds), int(video.get("width") or 0), int(video.get("height") or 0), name)


async def _run(args: list[str], limit_s: float) -> tuple[int, bytes, bytes]:
    process = await asyncio.create_subprocess_exec(
        *args,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        async with asyncio.timeout(limit_s):
            out, err = await process.communicate()
    except TimeoutError:
        process.kill()
        await process.wait()
        return -1, b"", b"timeout"
    return process.returncode or 0, out, err


async def probe(ffprobe: str, path: Path) -> Probe | str:
    """Ask ffprobe about a file (as a subprocess: the event loop keeps running)."""
    try:
        code, out, _ = await _run(
            [
                ffprobe,
                "-v",
                "error",
                "-print_format",
                "json",
                "-show_format",
                "-show_streams",
                str(path),
            ],
            PROBE_TIMEOUT_S,
        )
    except OSError as exc:
        log.error("ffprobe could not run: %s", exc)
        return "服务器无法检查视频文件（未安装 ffprobe），请联系系统管理员"
    if code != 0:
        return NOT_A_VIDEO
    return parse_probe(out)


@dataclass(frozen=True)
class JobView:
    """A video job as the authoring page and the API show it."""

    id: int
    lesson_id: int
    state: str
    state_label: str
    progress: int
    source_name: str
    duration_seconds: int | None
    message: str
    video_url: str
    created_at: dt.datetime
    finished_at: dt.datetime | None

    def as_dict(self) -> dict[str, Any]:
        """JSON shape."""
        return dict(self.__dict__)


def job_view(job: MediaJob) -> JobView:
    """The view of a stored job."""
    return JobView(
        id=job.id,
        lesson_id=job.lesson_id,
        state=job.state.value,
        state_label=STATE_LABELS[job.state],
        progress=job.progress,
        source_name=job.source_name,
        duration_seconds=job.duration_seconds,
        message=job.message,
        video_url=f"/media/{job.output_path}" if job.state is MediaState.READY else "",
        created_at=job.created_at,
        finished_at=job.finished_at,
    )


async def managed_lesson(s: AsyncSession, actor: Actor, lesson_id: int) -> tuple[Lesson, Course]:
    """A lesson of a course the actor manages: 404 when the course is not visible to them,
    403 when they may see but not change it."""
    actor.require(APPROVER_ROLES, "编辑课程")
    lesson = await s.get(Lesson, lesson_id)
    if lesson is None:
        raise NotFound("课时不存在或不在您的管理范围内")
    course = await load_visible(s, await viewer_of(s, actor), lesson.course_id)
    if not can_manage(actor, course):
        raise Forbidden("只有课程所属机构的管理员可以编辑课程")
    return lesson, course


async def course_of_lesson(ctx: Context, actor: Actor, lesson_id: int) -> int:
    """The course of a lesson the actor may change (404 / 403 otherwise)."""
    async with ctx.db() as s:
        _, course = await managed_lesson(s, actor, lesson_id)
        return course.id


def upload_path(media_dir: Path, filename: str) -> Path:
    """Where an upload is kept until transcoded: a random name, the client's suffix."""
    suffix = "".join(c for c in Path(filename).suffix.lower() if c.isalnum() or c == ".")[:8]
    return media_dir / UPLOADS / f"{secrets.token_hex(12)}{suffix}"


async def accept_upload(
    ctx: Context, actor: Actor, lesson_id: int, filename: str, stored: Path
) -> JobView:
    """Probe a stored upload: a video becomes a queued job for its lesson; anything else is
    refused with the reason, and the file deleted."""
    async with ctx.db() as s:
        await managed_lesson(s, actor, lesson_id)
    found = await probe(ctx.settings.ffprobe, stored)
    if isinstance(found, str):
        await asyncio.to_thread(stored.unlink, missing_ok=True)
        raise InvalidInput(found, field="file")
    media = ctx.settings.data_dir / "media"
    async with ctx.db.begin() as s:
        lesson, course = await managed_lesson(s, actor, lesson_id)
        job = MediaJob(
            lesson_id=lesson.id,
            state=MediaState.QUEUED,
            progress=0,
            source_name=Path(filename).name[:255] or "video",
            source_path=str(stored.relative_to(media)),
            duration_seconds=found.seconds,
            created_by=actor.account_id,
        )
        s.add(job)
        await s.flush()
        s.add(
            AuditEvent(
                actor_id=actor.account_id,
                action="lesson.video_upload",
                target=f"lesson:{lesson.id}",
                detail={"course_id": course.id, "job_id": job.id, "seconds": found.seconds},
            )
        )
        return job_view(job)


async def get_job(ctx: Context, actor: Actor, job_id: int) -> JobView:
    """A job of a lesson the actor manages."""
    async with ctx.db() as s:
        job = await s.get(MediaJob, job_id)
        if job is None:
            raise NotFound("转码任务不存在或不在您的管理范围内")
        await managed_lesson(s, actor, job.lesson_id)
        return job_view(job)


async def latest_jobs(s: AsyncSession, lesson_ids: list[int]) -> dict[int, JobView]:
    """Each lesson's most recent video job (the authoring page shows its state)."""
    if not lesson_ids:
        return {}
    jobs = await s.scalars(
        select(MediaJob).where(MediaJob.lesson_id.in_(lesson_ids)).order_by(MediaJob.id)
    )
    return {job.lesson_id: job_view(job) for job in jobs}


def transcode_args(ffmpeg: str, source: Path, target: Path, max_height: int) -> list[str]:
    """ffmpeg's arguments: H.264 + AAC in MP4 with the index first (plays while loading), no
    taller than ``max_height``, progress as key=value lines on stdout."""
    return [
        ffmpeg,
        "-nostdin",
        "-y",
        "-loglevel",
        "error",
        "-i",
        str(source),
        "-map",
        "0:v:0",
        "-map",
        "0:a:0?",
        "-vf",
        f"scale=-2:'min({max_height},ih)'",
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-crf",
        "26",
        "-pix_fmt",
        "yuv420p",
        "-c:a",
        "aac",
        "-b:a",
        "96k",
        "-ac",
        "2",
        "-movflags",
        "+faststart",
        "-f",
        "mp4",
        "-progress",
        "pipe:1",
        "-nostats",
        str(target),
    ]


def progress_percent(line: str, seconds: int) -> int | None:
    """The percent done in one ffmpeg progress line (``out_time_us=...``), if it says."""
    key, _, value = line.strip().partition("=")
    if key not in ("out_time_us", "out_time_ms") or not value.strip().isdigit() or seconds <= 0:
        return None
    # Both keys carry microseconds (out_time_ms is misnamed in ffmpeg).
    done = int(value) / 1_000_000
    return max(0, min(99, int(done * 100 / seconds)))


class Transcoder:
    """The background worker of one process: takes queued jobs one at a time."""

    def __init__(self, ctx: Context, *, poll_s: float = 30.0) -> None:
        self.ctx = ctx
        self.poll_s = poll_s
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """A job was queued in this process: look now rather than at the next poll."""
        self._wake.set()

    async def run_forever(self) -> None:
        """Take jobs until cancelled."""
        while True:
            try:
                while await self.run_once():
                    pass
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("video transcoding worker failed; retrying")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_s)
            self._wake.clear()

    async def run_once(self) -> bool:
        """Claim and transcode one job; False when none waits."""
        job_id = await self._claim()
        if job_id is None:
            return False
        await self._transcode(job_id)
        return True

    def _claimable(self, now: dt.datetime) -> Any:
        return or_(
            MediaJob.state == MediaState.QUEUED,
            (MediaJob.state == MediaState.RUNNING) & (MediaJob.updated_at < now - STALE),
        )

    async def _claim(self) -> int | None:
        now = utcnow()
        async with self.ctx.db.begin() as s:
            job_id = await s.scalar(
                select(MediaJob.id).where(self._claimable(now)).order_by(MediaJob.id).limit(1)
            )
            if job_id is None:
                return None
            # Compare-and-set: of two workers seeing the same job, one takes it.
            result = await s.execute(
                update(MediaJob)
                .where(MediaJob.id == job_id, self._claimable(now))
                .values(state=MediaState.RUNNING, started_at=now, updated_at=now, progress=0)
                .execution_options(synchronize_session=False)
            )
            if not isinstance(result, CursorResult) or result.rowcount != 1:
                return None
            return int(job_id)

    async def _progress(self, job_id: int, percent: int) -> None:
        async with self.ctx.db.begin() as s:
            await s.execute(
                update(MediaJob)
                .where(MediaJob.id == job_id, MediaJob.state == MediaState.RUNNING)
                .values(progress=percent, updated_at=utcnow())
                .execution_options(synchronize_session=False)
            )

    async def _transcode(self, job_id: int) -> None:
        settings = self.ctx.settings
        media = settings.data_dir / "media"
        async with self.ctx.db() as s:
            job = await s.get_one(MediaJob, job_id)
            source = media / job.source_path
            seconds = job.duration_seconds or 0
            output = f"{OUTPUTS}/{job.lesson_id}-{job.id}.mp4"
        target = media / output
        part = target.with_suffix(".part.mp4")
        await asyncio.to_thread(target.parent.mkdir, parents=True, exist_ok=True)
        try:
            code, errors = await self._ffmpeg(
                transcode_args(settings.ffmpeg, source, part, settings.video_max_height),
                job_id,
                seconds,
            )
        except asyncio.CancelledError:
            await asyncio.shield(asyncio.to_thread(part.unlink, missing_ok=True))
            # Shutting down: the job waits for the next start (or another process).
            await asyncio.shield(self._requeue(job_id))
            raise
        if code != 0:
            await asyncio.to_thread(part.unlink, missing_ok=True)
            log.warning("transcoding job %d failed: %s", job_id, errors[-500:])
            await self._finish(job_id, ok=False, message=_failure(errors))
            return
        await asyncio.to_thread(part.replace, target)
        await self._finish(job_id, ok=True, output=output)
        await asyncio.to_thread(source.unlink, missing_ok=True)

    async def _ffmpeg(self, args: list[str], job_id: int, seconds: int) -> tuple[int, str]:
        try:
            process = await asyncio.create_subprocess_exec(
                *args,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
        except OSError as exc:
            return -1, f"ffmpeg could not run: {exc}"
        # Both are pipes by the arguments above.
        assert process.stdout is not None  # noqa: S101
        assert process.stderr is not None  # noqa: S101
        errors = asyncio.ensure_future(process.stderr.read())
        last = 0.0
        try:
            while line := await process.stdout.readline():
                percent = progress_percent(line.decode(errors="replace"), seconds)
                now = asyncio.get_running_loop().time()
                if percent is not None and now - last >= PROGRESS_EVERY_S:
                    last = now
                    await self._progress(job_id, percent)
            code = await process.wait()
        except asyncio.CancelledError:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
            errors.cancel()
            raise
        return code, (await errors).decode(errors="replace")

    async def _requeue(self, job_id: int) -> None:
        async with self.ctx.db.begin() as s:
            await s.execute(
                update(MediaJob)
                .where(MediaJob.id == job_id, MediaJob.state == MediaState.RUNNING)
                .values(state=MediaState.QUEUED, progress=0, updated_at=utcnow())
                .execution_options(synchronize_session=False)
            )

    async def _finish(self, job_id: int, *, ok: bool, output: str = "", message: str = "") -> None:
        now = utcnow()
        async with self.ctx.db.begin() as s:
            job = await s.get_one(MediaJob, job_id)
            job.finished_at = now
            job.updated_at = now
            if not ok:
                job.state = MediaState.FAILED
                job.message = message
                return
            job.state = MediaState.READY
            job.progress = 100
            job.output_path = output
            lesson = await s.get_one(Lesson, job.lesson_id)
            lesson.video_url = f"/media/{output}"
            lesson.duration_seconds = job.duration_seconds or lesson.duration_seconds


def _failure(errors: str) -> str:
    if "could not run" in errors:
        return "服务器无法转码（未安装 ffmpeg），请联系系统管理员"
    return "视频转码失败：文件可能已损坏或编码不受支持，请重新导出为 MP4 后上传"
