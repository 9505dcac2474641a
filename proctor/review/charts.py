"""The case page's pictures as inline SVG, drawn on the server: no script, no CDN.

Each function takes plain data and returns markup; text is escaped, numbers are formatted.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math

from markupsafe import Markup, escape

from proctor.kernel.charts import MUTED, UNVERIFIED, VERIFIED, svg_frame, svg_text
from proctor.review.evidence import Lane, Linked, Trace, local


def daily_bars(days: list[tuple[dt.date, float, float]]) -> Markup:
    """Stacked bars: verified (green) and unverified (red) study hours per day."""
    w, h, left, bottom, top = 640, 220, 40, 36, 14
    n = max(1, len(days))
    peak = max([v + u for _, v, u in days] + [1.0])
    scale = (h - bottom - top) / peak
    bw = (w - left - 10) / n
    body = [
        f'<line x1="{left}" y1="{h - bottom}" x2="{w - 6}" y2="{h - bottom}" stroke="#999"/>',
        svg_text(4, top + 4, f"{peak:.1f} 小时"),
    ]
    for i, (day, verified, unverified) in enumerate(days):
        x = left + i * bw + 2
        hv, hu = verified * scale, unverified * scale
        y = h - bottom
        body.append(
            f'<rect class="verified" x="{x:.1f}" y="{y - hv:.1f}" width="{bw - 4:.1f}" '
            f'height="{hv:.1f}" fill="{VERIFIED}"><title>{day} 有效学习 {verified:.2f} 小时</title></rect>'
        )
        body.append(
            f'<rect class="unverified" x="{x:.1f}" y="{y - hv - hu:.1f}" width="{bw - 4:.1f}" '
            f'height="{hu:.1f}" fill="{UNVERIFIED}"><title>{day} 未核验时长 {unverified:.2f} 小时</title></rect>'
        )
        if n <= 16 or i % math.ceil(n / 16) == 0:
            body.append(svg_text(x + bw / 2 - 2, h - bottom + 14, f"{day:%m-%d}", "middle"))
    body.append(f'<rect x="{left}" y="{h - 14}" width="10" height="10" fill="{VERIFIED}"/>')
    body.append(svg_text(left + 14, h - 5, "服务器核验的有效学习"))
    body.append(f'<rect x="{left + 150}" y="{h - 14}" width="10" height="10" fill="{UNVERIFIED}"/>')
    body.append(svg_text(left + 164, h - 5, "在线但未核验（倍速、后台、跳转、并行等）"))
    return svg_frame(w, h, body, "每日有效与未核验学习时长", "daily")


WEEKDAYS = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")


def heat_map(grid: list[list[float]]) -> Markup:
    """Weekday by hour of day, darker where more was studied (Beijing time)."""
    cell, left, top = 22, 36, 18
    w, h = left + 24 * cell + 8, top + 7 * cell + 8
    peak = max([v for row in grid for v in row] + [0.01])
    body = [
        svg_text(left + hour * cell + cell / 2, 12, f"{hour}", "middle") for hour in range(0, 24, 2)
    ]
    for d, row in enumerate(grid):
        body.append(svg_text(2, top + d * cell + 15, WEEKDAYS[d]))
        for hour, v in enumerate(row):
            alpha = 0.06 + 0.94 * (v / peak) if v else 0.0
            body.append(
                f'<rect x="{left + hour * cell}" y="{top + d * cell}" width="{cell - 2}" '
                f'height="{cell - 2}" fill="#1565c0" fill-opacity="{alpha:.2f}" stroke="#eceff1">'
                f"<title>{WEEKDAYS[d]} {hour}:00 学习 {v:.2f} 小时</title></rect>"
            )
    return svg_frame(w, h, body, "学习时段分布（星期 × 小时）", "heat")


def trace_chart(trace: Trace) -> Markup:
    """Position in the lesson against server time: seeks, rate, pauses, hidden periods, challenges."""
    w, h, left, bottom, top = 640, 260, 48, 40, 14
    pts = trace.points
    t_max = max([p.t_s for p in pts] + [e.t_s for e in trace.events] + [1.0])
    p_max = max([p.position_s for p in pts] + [1.0])
    sx = (w - left - 10) / t_max
    sy = (h - bottom - top) / p_max

    def xy(t: float, pos: float) -> tuple[float, float]:
        return left + t * sx, h - bottom - pos * sy

    body = [
        f'<line x1="{left}" y1="{h - bottom}" x2="{w - 6}" y2="{h - bottom}" stroke="#999"/>',
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{h - bottom}" stroke="#999"/>',
        svg_text(4, top + 8, f"{p_max / 60:.0f}分"),
        svg_text(w - 8, h - bottom + 14, f"{t_max / 60:.0f} 分钟（服务器时间）", "end"),
        svg_text(left + 2, h - bottom + 14, "0"),
    ]
    # Shade stretches where the page was hidden or the player paused.
    for a, b in itertools.pairwise(pts):
        if not b.visible or b.paused:
            x0, _ = xy(a.t_s, 0)
            x1, _ = xy(b.t_s, 0)
            colour = "#ffe082" if not b.visible else "#cfd8dc"
            what = "页面在后台" if not b.visible else "暂停"
            body.append(
                f'<rect class="{"hidden" if not b.visible else "paused"}" x="{x0:.1f}" y="{top}" '
                f'width="{max(1.0, x1 - x0):.1f}" height="{h - bottom - top}" fill="{colour}" '
                f'fill-opacity="0.6"><title>{what}</title></rect>'
            )
    line = " ".join(f"{x:.1f},{y:.1f}" for x, y in (xy(p.t_s, p.position_s) for p in pts))
    if line:
        body.append(f'<polyline points="{line}" fill="none" stroke="#1565c0" stroke-width="1.5"/>')
    for p in pts:
        x, y = xy(p.t_s, p.position_s)
        if p.seek:
            body.append(
                f'<circle class="seek" cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{UNVERIFIED}">'
                f"<title>跳转：{p.t_s:.0f} 秒时进度到 {p.position_s:.0f} 秒</title></circle>"
            )
        elif p.rate > 1.0 or not p.accepted:
            body.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="#fb8c00">'
                f"<title>倍速 {p.rate:g}，{escape(p.codes or '未计学时')}</title></circle>"
            )
    for e in trace.events:
        x, _ = xy(e.t_s, 0)
        if e.kind == "challenge_issued":
            body.append(
                f'<line class="challenge" x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{h - bottom}" '
                f'stroke="#6a1b9a" stroke-dasharray="3,3"><title>弹出确认提示</title></line>'
            )
        elif e.kind == "challenge_answered":
            ok = "正确" if e.correct else "错误"
            lat = f"，用时 {e.latency_s:.1f} 秒" if e.latency_s is not None else ""
            body.append(
                f'<polygon points="{x:.1f},{top} {x - 5:.1f},{top - 8 + 8} {x + 5:.1f},{top}" '
                f'fill="#6a1b9a"><title>回答确认提示：{ok}{lat}</title></polygon>'
            )
            body.append(svg_text(x + 3, top + 10, f"{e.latency_s:.0f}s" if e.latency_s else ok))
    legend = [
        ("#1565c0", "播放进度"),
        (UNVERIFIED, "跳转"),
        ("#fb8c00", "倍速/未计时"),
        ("#ffe082", "后台"),
        ("#cfd8dc", "暂停"),
        ("#6a1b9a", "确认提示"),
    ]
    for i, (colour, name) in enumerate(legend):
        x = left + i * 92
        body.append(f'<rect x="{x}" y="{h - 14}" width="10" height="10" fill="{colour}"/>')
        body.append(svg_text(x + 14, h - 5, name))
    return svg_frame(w, h, body, "会话播放进度与时间", "trace")


def lanes_chart(lanes: list[Lane]) -> Markup:
    """Sessions side by side on one time axis: overlaps show as bars above one another."""
    if not lanes:
        return Markup("")
    row, left, top = 22, 170, 20
    w = 640
    h = top + row * len(lanes) + 24
    lo = min(x.start for x in lanes)
    hi = max(x.end for x in lanes)
    span = max(60.0, (hi - lo).total_seconds())
    sx = (w - left - 10) / span
    body = [
        svg_text(left, 12, f"{local(lo):%H:%M}"),
        svg_text(w - 8, 12, f"{local(hi):%H:%M}", "end"),
    ]
    for i, lane in enumerate(lanes):
        y = top + i * row
        x0 = left + (lane.start - lo).total_seconds() * sx
        x1 = left + (lane.end - lo).total_seconds() * sx
        colour = "#1565c0" if lane.own else UNVERIFIED
        body.append(svg_text(2, y + 14, lane.label[:16]))
        body.append(
            f'<rect class="lane" x="{x0:.1f}" y="{y + 3}" width="{max(2.0, x1 - x0):.1f}" '
            f'height="{row - 6}" fill="{colour}" fill-opacity="0.8">'
            f"<title>{escape(lane.label)} {local(lane.start):%H:%M}–{local(lane.end):%H:%M}</title></rect>"
        )
    return svg_frame(w, h, body, "同一时间的学习会话", "lanes")


def link_graph(name: str, devices: list[str], linked: list[Linked]) -> Markup:
    """The learner in the middle, other accounts around, joined by shared devices or addresses."""
    if not linked:
        return Markup("")
    w, h = 640, 300
    cx, cy, r = w / 2, h / 2, 115
    body = []
    shown = linked[:12]
    for i, other in enumerate(shown):
        angle = 2 * math.pi * i / len(shown) - math.pi / 2
        x, y = cx + r * 1.9 * math.cos(angle) * 0.75, cy + r * math.sin(angle)
        colour = UNVERIFIED if other.devices and not other.same_unit else MUTED
        width = 1 + 2 * min(3, other.devices)
        dash = "" if other.devices else 'stroke-dasharray="4,3"'
        what = f"共用设备 {other.devices} 台" if other.devices else f"共用网络地址 {other.ips} 个"
        body.append(
            f'<line x1="{cx:.1f}" y1="{cy:.1f}" x2="{x:.1f}" y2="{y:.1f}" stroke="{colour}" '
            f'stroke-width="{width}" {dash}><title>{escape(what)}</title></line>'
        )
        body.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="16" fill="#fff" stroke="{colour}" stroke-width="2"/>'
        )
        body.append(svg_text(x, y + 30, other.name[:10], "middle"))
        body.append(svg_text(x, y + 4, "同单位" if other.same_unit else "他单位", "middle"))
    body.append(f'<circle cx="{cx}" cy="{cy}" r="22" fill="#1565c0"/>')
    body.append(svg_text(cx, cy + 4, name[:4], "middle", 'fill="#fff"'))
    body.append(
        svg_text(
            6, h - 6, f"本人设备 {len(set(devices))} 台；实线 = 共用设备，虚线 = 仅共用网络地址"
        )
    )
    return svg_frame(w, h, body, "关联账号（共用设备或网络地址）", "graph")
