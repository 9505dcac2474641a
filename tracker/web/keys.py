"""Typed app keys of the tracker."""

from __future__ import annotations

from aiohttp import web

from tracker.service import Tracker


class LoginBinding:
    """How the host application names the login a request comes with.

    Study tokens may be bound to the login that started the session (tracker/tokens.py);
    the tracker-only app has no logins, so by default a request comes with none.
    """

    def credential(self, request: web.Request) -> str:
        """The login credential presented with the request ("" when none)."""
        return ""


TRACKER = web.AppKey("tracker", Tracker)
BINDING = web.AppKey("tracker_binding", LoginBinding)
