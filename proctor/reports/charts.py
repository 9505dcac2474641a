"""Report pictures as inline SVG drawn on the server: no script, no CDN.

Each function takes plain numbers and labels and returns markup; every label is escaped.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from markupsafe import Markup, escape

from proctor.kernel.charts import svg_frame, svg_text

THIS_YEAR = "#b71c1c"
LAST_YEAR = "#90a4ae"
SCHEDULE = "#1565c0"
BAR = "#c62828"
PALETTE = ("#b71c1c", "#1565c0", "#2e7d32", "#f9a825", "#6a1b9a", "#00838f", "#ef6c00", "#5d4037")


def completion_curve(
    average: Sequence[Decimal],
    previous: Sequence[Decimal],
    schedule: Sequence[Decimal],
    quota: Decimal,
    months_elapsed: int,
    year: int,
) -> Markup:
    """Cumulative credits per target learner by month: this year (to date), last year, the
    linear schedule, and the quota as a horizontal line."""
    w, h, left, bottom, top = 640, 250, 44, 40, 16
    peak = float(max([*average, *previous, quota, Decimal(1)]))
    sx = (w - left - 16) / 11
    sy = (h - bottom - top) / peak

    def pt(m: int, v: Decimal) -> str:
        return f"{left + m * sx:.1f},{h - bottom - float(v) * sy:.1f}"

    body = [
        f'<line x1="{left}" y1="{h - bottom}" x2="{w - 8}" y2="{h - bottom}" stroke="#999"/>',
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{h - bottom}" stroke="#999"/>',
        svg_text(left - 4, top + 4, f"{peak:.0f}", "end"),
        svg_text(left - 4, h - bottom, "0", "end"),
    ]
    for m in range(12):
        body.append(svg_text(left + m * sx, h - bottom + 14, f"{m + 1}月", "middle"))
    qy = h - bottom - float(quota) * sy
    body.append(
        f'<line class="quota" x1="{left}" y1="{qy:.1f}" x2="{w - 8}" y2="{qy:.1f}" '
        f'stroke="{THIS_YEAR}" stroke-dasharray="2,4"><title>年度要求 {quota} 学分</title></line>'
    )
    body.append(
        f'<polyline class="schedule" points="{" ".join(pt(m, v) for m, v in enumerate(schedule))}" '
        f'fill="none" stroke="{SCHEDULE}" stroke-dasharray="6,3" stroke-width="1.5"/>'
    )
    body.append(
        f'<polyline class="previous" points="{" ".join(pt(m, v) for m, v in enumerate(previous))}" '
        f'fill="none" stroke="{LAST_YEAR}" stroke-width="2"/>'
    )
    shown = list(average[: max(1, min(12, months_elapsed + 1))])
    body.append(
        f'<polyline class="current" points="{" ".join(pt(m, v) for m, v in enumerate(shown))}" '
        f'fill="none" stroke="{THIS_YEAR}" stroke-width="2.5"/>'
    )
    for m, v in enumerate(shown):
        cx, cy = pt(m, v).split(",")
        body.append(
            f'<circle class="point" cx="{cx}" cy="{cy}" r="3" fill="{THIS_YEAR}">'
            f"<title>{year}年{m + 1}月底 人均 {v} 学分</title></circle>"
        )
    legend = [
        (THIS_YEAR, f"{year}年人均学分"),
        (LAST_YEAR, f"{year - 1}年同期"),
        (SCHEDULE, "按月进度要求"),
    ]
    for i, (colour, name) in enumerate(legend):
        x = left + i * 150
        body.append(f'<rect x="{x}" y="{h - 14}" width="10" height="10" fill="{colour}"/>')
        body.append(svg_text(x + 14, h - 5, name))
    return svg_frame(w, h, body, "年度学习进度曲线", "curve")


def bars(
    items: Sequence[tuple[str, float, str]], label: str, chart: str, *, unit: str = ""
) -> Markup:
    """Horizontal bars with a label and a value each (distribution, ranking, category mix)."""
    if not items:
        return Markup("")
    row, left, top = 24, 150, 8
    w = 640
    h = top + row * len(items) + 8
    peak = max([v for _, v, _ in items] + [1e-9])
    scale = (w - left - 80) / peak
    body = []
    for i, (name, value, tip) in enumerate(items):
        y = top + i * row
        width = max(0.0, value * scale)
        colour = PALETTE[i % len(PALETTE)] if chart == "categories" else BAR
        body.append(svg_text(left - 6, y + 15, name[:14], "end"))
        body.append(
            f'<rect class="bar" x="{left}" y="{y + 4}" width="{width:.1f}" height="{row - 8}" '
            f'fill="{colour}"><title>{escape(tip)}</title></rect>'
        )
        body.append(svg_text(left + width + 4, y + 15, f"{value:g}{unit}"))
    return svg_frame(w, h, body, label, chart)
