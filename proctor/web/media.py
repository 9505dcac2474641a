"""Lesson videos from the data folder (generated for the demo, uploaded in production).

Served by a handler that resolves the path when asked, so the app factory touches no file;
behind nginx, /media/ is served by nginx itself (docs/deploy.md).
"""

from __future__ import annotations

from aiohttp import web

from proctor.web.keys import ctx_of


async def serve_media(request: web.Request) -> web.StreamResponse:
    """A file under the data folder's media/, never outside it (HTTP ranges for seeking)."""
    root = (ctx_of(request).settings.data_dir / "media").resolve()
    target = (root / request.match_info["path"]).resolve()
    if not target.is_relative_to(root) or not target.is_file():
        raise web.HTTPNotFound()
    return web.FileResponse(target)
