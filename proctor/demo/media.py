"""Small real lesson videos (WebM: VP8 + Opus) generated with Debian's ffmpeg.

Lessons share a few standard lengths, so one file per length serves every lesson of that
length. The longest is encoded once and the others are cut from it without re-encoding;
files that exist are never made again (they survive `proctor demo` restarts).

The picture is a flat background with a moving square and, when a font is available, the
running time, so a tester can see at a glance where the player is; the sound is a quiet
tone. 320x180 at 2 fps and a few kbit/s keep a 45-minute lesson at a few megabytes.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
from collections.abc import Iterable
from pathlib import Path

log = logging.getLogger(__name__)

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf")
FPS = 2


def video_url(seconds: int) -> str:
    """Where the app serves the demo video of a given length."""
    return f"/media/lessons/lesson-{seconds}s.webm"


def video_path(media_dir: Path, seconds: int) -> Path:
    """The file behind ``video_url(seconds)`` in the data folder's media directory."""
    return media_dir / "lessons" / f"lesson-{seconds}s.webm"


def _run_ffmpeg(args: list[str], out: Path) -> bool:
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        log.warning(
            "ffmpeg not found on PATH: demo lessons get no video files and the player tells "
            "learners the video is unavailable; install ffmpeg and rerun `proctor demo`"
        )
        return False
    out.parent.mkdir(parents=True, exist_ok=True)
    # Written aside and renamed, so an interrupted run never leaves a truncated "cached" file.
    tmp = out.with_name(out.stem + ".part.webm")
    try:
        subprocess.run(  # noqa: S603 - fixed program and arguments, no shell
            [ffmpeg, "-nostdin", "-y", "-loglevel", "error", *args, str(tmp)],
            check=True,
            timeout=900,
            capture_output=True,
        )
    except subprocess.CalledProcessError as exc:
        log.warning("could not generate %s: %s", out, exc.stderr.decode(errors="replace")[-500:])
        tmp.unlink(missing_ok=True)
        return False
    except (subprocess.SubprocessError, OSError) as exc:
        log.warning("could not generate %s: %s", out, exc)
        tmp.unlink(missing_ok=True)
        return False
    tmp.replace(out)
    return True


def _encode_args(seconds: int, clock: bool) -> list[str]:
    picture = (
        "[0:v][1:v]overlay=x='mod(t*24,280)':y=70:shortest=1"
        + (
            f",drawtext=fontfile={FONT}:text='%{{pts\\:hms}}':x=10:y=10:fontsize=20:fontcolor=white"
            if clock
            else ""
        )
        + "[v]"
    )
    return [
        "-f",
        "lavfi",
        "-i",
        f"color=c=0x1f4e79:size=320x180:rate={FPS}:duration={seconds}",
        "-f",
        "lavfi",
        "-i",
        f"color=c=0xf2c14e:size=40x40:rate={FPS}",
        "-f",
        "lavfi",
        "-i",
        f"sine=frequency=330:sample_rate=8000:duration={seconds}",
        "-filter_complex",
        picture,
        "-map",
        "[v]",
        "-map",
        "2:a",
        "-filter:a",
        "volume=0.05",
        "-c:v",
        "libvpx",
        "-b:v",
        "20k",
        "-deadline",
        "realtime",
        "-cpu-used",
        "16",
        # Unchanged blocks are skipped: the flat background costs next to nothing to encode.
        "-static-thresh",
        "1000",
        "-g",
        str(10 * FPS),  # a key frame every 10 s keeps seeking and cutting cheap
        "-c:a",
        "libopus",
        "-b:a",
        "6k",
        "-ac",
        "1",
        "-compression_level",
        "0",
        "-frame_duration",
        "60",
        "-shortest",
    ]


def ensure_video(path: Path, seconds: int) -> bool:
    """Make a small playable video of ``seconds`` at ``path`` unless it exists; True if present."""
    if path.exists():
        return True
    if FONT.exists() and _run_ffmpeg(_encode_args(seconds, clock=True), path):
        return True
    # drawtext depends on the font and on ffmpeg's build; the clock is a nicety, not a need.
    return _run_ffmpeg(_encode_args(seconds, clock=False), path)


def ensure_videos(media_dir: Path, lengths: Iterable[int]) -> int:
    """One video per lesson length under ``media_dir/lessons``; returns how many exist."""
    wanted = sorted(set(lengths))
    if not wanted:
        return 0
    missing = [s for s in wanted if not video_path(media_dir, s).exists()]
    if not missing:
        return len(wanted)
    longest = max(wanted)
    source = video_path(media_dir, longest)
    if not ensure_video(source, longest):
        return 0
    made = 1
    for seconds in wanted[:-1]:
        out = video_path(media_dir, seconds)
        if out.exists() or _run_ffmpeg(
            ["-i", str(source), "-t", str(seconds), "-c", "copy", "-f", "webm"], out
        ):
            made += 1
    return made
