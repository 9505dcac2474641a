"""The frame of every server-drawn chart: inline SVG, no script, no CDN.

Text goes through escape(); numbers are formatted here. Feature charts (review evidence,
exam timelines, report curves) draw their bodies and hand them to :func:`svg_frame`.
"""

from __future__ import annotations

from markupsafe import Markup, escape

VERIFIED = "#2e7d32"
UNVERIFIED = "#e53935"
MUTED = "#90a4ae"
FONT = 'font-family="Noto Sans CJK SC, sans-serif" font-size="11"'


def svg_frame(width: int, height: int, body: list[str], label: str, chart: str) -> Markup:
    """An accessible, scalable <svg> around ``body``."""
    # Every piece of text in ``body`` went through escape(); the rest are our own numbers.
    return Markup(  # noqa: S704
        f'<svg class="chart" data-chart="{chart}" role="img" aria-label="{escape(label)}" '
        f'viewBox="0 0 {width} {height}" width="100%" preserveAspectRatio="xMinYMin meet" '
        f'xmlns="http://www.w3.org/2000/svg">{"".join(body)}</svg>'
    )


def svg_text(x: float, y: float, s: str, anchor: str = "start", extra: str = "") -> str:
    """An escaped text element in the charts' font."""
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" {FONT} {extra}>{escape(s)}</text>'
