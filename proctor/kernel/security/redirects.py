"""Where a user may be sent after signing in: only to a path on this site.

Browsers are lenient with what they take for a URL: they drop tabs and newlines, read a
backslash as a slash and resolve ``//host`` against the current scheme, so a target that
merely starts with one slash can still leave the site (``/\\t/evil.example`` arrives as
``//evil.example``). A target is accepted only when none of that leniency can apply.
"""

from __future__ import annotations

from urllib.parse import urlsplit

HOME = "/"
MAX_LENGTH = 2000


def local_target(target: str | None) -> str:
    """``target`` when it is a path on this site, else the home page."""
    if not target or len(target) > MAX_LENGTH:
        return HOME
    if not target.startswith("/") or target.startswith("//"):
        return HOME
    # Control characters and whitespace (browsers strip some of them before resolving) and
    # backslashes (read as slashes) have no place in a path we generated ourselves.
    if any(ch <= " " or ch == "\x7f" or ch == "\\" for ch in target):
        return HOME
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/"):
        return HOME
    return target
