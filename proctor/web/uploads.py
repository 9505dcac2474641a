"""Large uploads (lesson videos) streamed to a file, never held in memory.

The request layer's ``read_upload`` keeps a roster or an item bank in memory; a lecture video
may be a gigabyte, so it goes to disk chunk by chunk, held to its own limit, and a refused or
broken upload leaves no file behind.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from aiohttp import BodyPartReader, web

from proctor.kernel.errors import InvalidInput, TooLarge
from proctor.web.endpoint import FRAMING_BYTES, MALFORMED_PARTS, MULTIPART

CHUNK = 1024 * 1024


async def save_upload(
    request: web.Request,
    target: Path,
    limit: int,
    *,
    too_large: str,
    missing: str,
    field_name: str = "file",
) -> str:
    """Stream the multipart field ``field_name`` into ``target``; the client's file name."""
    if request.content_length is not None and request.content_length > limit + FRAMING_BYTES:
        raise TooLarge(too_large, field=field_name)
    if not request.content_type.startswith(MULTIPART):
        raise InvalidInput(
            f"请以 {MULTIPART} 方式上传文件，字段名为 {field_name}", field=field_name
        )
    await asyncio.to_thread(target.parent.mkdir, parents=True, exist_ok=True)
    saved = False
    try:
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader) or part.name != field_name:
                continue
            size = 0
            out = await asyncio.to_thread(target.open, "wb")
            try:
                while chunk := await part.read_chunk(CHUNK):
                    size += len(chunk)
                    if size > limit:
                        raise TooLarge(too_large, field=field_name)
                    await asyncio.to_thread(out.write, chunk)
            finally:
                await asyncio.to_thread(out.close)
            if not size:
                break
            saved = True
            return part.filename or ""
    except MALFORMED_PARTS as exc:
        raise InvalidInput("上传内容格式有误，请重新选择文件上传", field=field_name) from exc
    finally:
        if not saved:
            await asyncio.to_thread(target.unlink, missing_ok=True)
    raise InvalidInput(missing, field=field_name)
