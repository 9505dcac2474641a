"""Every feature's routes, and the OpenAPI document generated from their declarations."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from proctor.web.endpoint import Routes
from proctor.web.handlers import (
    accounts,
    archive,
    auth,
    authoring,
    catalog,
    certificate,
    classes,
    exams,
    flags,
    health,
    home,
    jobs,
    learners,
    orgtree,
    recovery,
    reminders,
    reports,
    review,
    rosters,
    study,
)
from proctor.web.openapi import build_document
from tracker.web import handlers as tracker_handlers

FEATURES: list[Routes] = [
    auth.routes,
    health.routes,
    home.routes,
    learners.routes,
    catalog.routes,
    classes.routes,
    study.routes,
    exams.routes,
    rosters.routes,
    archive.routes,
    certificate.routes,
    flags.routes,
    review.routes,
    reports.routes,
    accounts.routes,
    orgtree.routes,
    recovery.routes,
    authoring.routes,
    reminders.routes,
    jobs.routes,
]


def setup_routes(app: web.Application) -> dict[str, Any]:
    """Add every feature's routes and the tracker's; return the OpenAPI document."""
    operations = []
    for feature in FEATURES:
        app.router.add_routes(feature.route_defs())
        operations.extend(feature.operations)
    app.router.add_routes(tracker_handlers.routes)
    # The tracker declares its operations by hand: it cannot import the request layer above it.
    return build_document(operations, tracker_handlers.OPENAPI)
