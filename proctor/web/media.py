"""Lesson videos from the data folder, and the application's own static files.

Served by handlers that resolve the path when asked, so the app factory touches no file;
behind nginx, /media/ is served by nginx itself (docs/deploy.md).

A missing file is a real 404 through the error middleware (the Chinese error page), never
an empty answer: aiohttp's own static route hands a missing file to ``FileResponse``, which
answers with no body and no page at all.
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from proctor.web.keys import ctx_of

STATIC = Path(__file__).parent / "static"


def _file_under(root: Path, relative: str) -> Path:
    """The file ``relative`` names under ``root``; 404 for anything else (.., dirs, absent)."""
    root = root.resolve()
    target = (root / relative).resolve()
    if not target.is_relative_to(root) or not target.is_file():
        raise web.HTTPNotFound()
    return target


async def serve_media(request: web.Request) -> web.StreamResponse:
    """A file under the data folder's media/, never outside it (HTTP ranges for seeking)."""
    root = ctx_of(request).settings.data_dir / "media"
    return web.FileResponse(_file_under(root, request.match_info["path"]))


async def serve_static(request: web.Request) -> web.StreamResponse:
    """Stylesheets, scripts and icons shipped with the application."""
    return web.FileResponse(_file_under(STATIC, request.match_info["path"]))


async def serve_favicon(request: web.Request) -> web.StreamResponse:
    """``/favicon.ico``, which browsers and bookmarks ask for whatever the page links."""
    return web.FileResponse(STATIC / "favicon.ico")
