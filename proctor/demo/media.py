"""Small real lesson videos (WebM: VP8 + Opus) generated with Debian's ffmpeg.

Lessons share a few standard lengths, so one file per length serves every lesson of that
length; files that exist are not generated again.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
from pathlib import Path

log = logging.getLogger(__name__)


def video_url(seconds: int) -> str:
    """Where the app serves the demo video of a given length."""
    return f"/media/lessons/lesson-{seconds}s.webm"


def _ffmpeg(args: list[str], out: Path) -> bool:
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        log.warning("ffmpeg not found: demo lessons have no video files")
        return False
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".part.webm")
    try:
        subprocess.run(  # noqa: S603 - fixed program and arguments, no shell
            [ffmpeg, "-y", "-loglevel", "error", *args, str(tmp)], check=True, timeout=600
        )
    except (subprocess.SubprocessError, OSError) as exc:
        log.warning("could not generate %s: %s", out, exc)
        tmp.unlink(missing_ok=True)
        return False
    tmp.rename(out)
    return True


def ensure_video(path: Path, seconds: int) -> bool:
    """Make a tiny playable video of ``seconds`` (1 fps test pattern, quiet tone)."""
    if path.exists():
        return True
    return _ffmpeg(
        [
            "-f",
            "lavfi",
            "-i",
            f"testsrc=size=192x108:rate=1:duration={seconds}",
            "-f",
            "lavfi",
            "-i",
            f"sine=frequency=330:sample_rate=48000:duration={seconds}",
            "-filter:a",
            "volume=0.05",
            "-c:v",
            "libvpx",
            "-b:v",
            "15k",
            "-deadline",
            "realtime",
            "-cpu-used",
            "8",
            "-g",
            "10",
            "-c:a",
            "libopus",
            "-b:a",
            "6k",
            "-ac",
            "1",
            "-shortest",
        ],
        path,
    )


def ensure_videos(media_dir: Path, lengths: set[int]) -> int:
    """One video per lesson length: the longest is encoded, the others cut from it."""
    if not lengths:
        return 0
    folder = media_dir / "lessons"
    longest = max(lengths)
    if not ensure_video(folder / f"lesson-{longest}s.webm", longest):
        return 0
    made = 1
    for seconds in sorted(lengths - {longest}):
        out = folder / f"lesson-{seconds}s.webm"
        if out.exists() or _ffmpeg(
            ["-i", str(folder / f"lesson-{longest}s.webm"), "-t", str(seconds), "-c", "copy"], out
        ):
            made += 1
    return made
