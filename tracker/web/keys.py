"""Typed app keys of the tracker."""

from __future__ import annotations

from aiohttp import web

from tracker.service import Tracker

TRACKER = web.AppKey("tracker", Tracker)
