"""Every feature's routes and OpenAPI operations, in one list."""

from __future__ import annotations

from types import ModuleType
from typing import Any

from aiohttp import web

from proctor.web.handlers import (
    archive,
    auth,
    catalog,
    classes,
    exams,
    flags,
    health,
    home,
    learners,
    reports,
    review,
    rosters,
    study,
)
from tracker.web import handlers as tracker_handlers

FEATURES: list[ModuleType] = [
    auth,
    health,
    home,
    learners,
    catalog,
    classes,
    study,
    exams,
    tracker_handlers,
    rosters,
    archive,
    flags,
    review,
    reports,
]


def setup_routes(app: web.Application) -> dict[str, dict[str, Any]]:
    """Add every feature's routes; return the OpenAPI paths they declare."""
    paths: dict[str, dict[str, Any]] = {}
    for feature in FEATURES:
        app.router.add_routes(feature.routes)
        for path, operations in getattr(feature, "OPENAPI", {}).items():
            paths.setdefault(path, {}).update(operations)
    return paths
