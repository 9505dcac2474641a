"""Pictures of exam evidence for the case page, as inline SVG drawn on the server.

Each function takes the JSON evidence an exam flag carries, so a case shows exactly what the
flag was raised on, even after the attempt's rows change.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from markupsafe import Markup, escape

from proctor.exams.rules import EVENT_NAMES
from proctor.kernel.charts import MUTED, UNVERIFIED, VERIFIED, svg_frame, svg_text

# Lanes of the invigilation timeline: what a reviewer weighs together.
LANES: list[tuple[str, frozenset[str], str]] = [
    ("离开页面/失去焦点", frozenset({"hidden", "blur"}), "#e53935"),
    ("回到页面", frozenset({"visible", "focus"}), "#90a4ae"),
    ("退出全屏", frozenset({"fullscreen_exit"}), "#fb8c00"),
    ("复制粘贴", frozenset({"copy", "paste", "cut", "menu"}), "#8e24aa"),
    ("地址/设备变化", frozenset({"ip_change", "device_change"}), "#1e88e5"),
    ("并发学习或考试", frozenset({"concurrent_study", "concurrent_attempt"}), "#6d4c41"),
    ("打开/刷新页面", frozenset({"start", "resume"}), "#2e7d32"),
]


def _moment(value: Any) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(str(value))
    except ValueError:
        return None


def event_timeline(evidence: dict[str, Any]) -> Markup | None:
    """Invigilation events on the attempt's time axis, one lane per kind of event."""
    start = _moment(evidence.get("started_at"))
    end = _moment(evidence.get("finished_at")) or _moment(evidence.get("deadline_at"))
    events = evidence.get("events") or []
    if start is None or end is None or not events:
        return None
    span = max(60.0, (end - start).total_seconds())
    w, left, lane_h, top = 640, 120, 22, 10
    h = top + lane_h * len(LANES) + 30
    body: list[str] = []
    for i, (name, kinds, colour) in enumerate(LANES):
        y = top + i * lane_h
        body.append(svg_text(4, y + 14, name))
        body.append(f'<line x1="{left}" y1="{y + 10}" x2="{w - 10}" y2="{y + 10}" stroke="#eee"/>')
        for e in events:
            at = _moment(e.get("at"))
            if at is None or e.get("kind") not in kinds:
                continue
            x = left + (w - left - 10) * min(1.0, max(0.0, (at - start).total_seconds() / span))
            label = f"{(at - start).total_seconds() / 60:.1f} 分钟 {EVENT_NAMES.get(e['kind'], e['kind'])}"
            body.append(
                f'<rect class="event" data-kind="{e["kind"]}" x="{x - 2:.1f}" y="{y + 3}" '
                f'width="4" height="14" fill="{colour}"><title>{svg_label(label)}</title></rect>'
            )
    axis_y = top + lane_h * len(LANES) + 4
    body.append(f'<line x1="{left}" y1="{axis_y}" x2="{w - 10}" y2="{axis_y}" stroke="#999"/>')
    minutes = span / 60
    step = max(1, math.ceil(minutes / 8))
    for m in range(0, int(minutes) + 1, step):
        x = left + (w - left - 10) * (m * 60 / span)
        body.append(svg_text(x, axis_y + 14, f"{m} 分", "middle"))
    return svg_frame(w, h, body, "考试过程时间线", "exam-timeline")


def svg_label(s: str) -> str:
    """Escaped text for a <title> element."""
    return str(escape(s))


def response_times(rows: list[dict[str, Any]]) -> Markup | None:
    """Per item: seconds taken (bar, log scale) against the model's expected time (tick).

    Green bars were answered correctly, red ones wrongly; an outlined bar is aberrantly fast.
    """
    rows = [r for r in rows if _num(r.get("seconds")) is not None]
    if not rows:
        return None
    w, h, left, bottom, top = 640, 220, 44, 30, 12
    peak = max(
        [
            max(
                _num(r.get("seconds")) or 1.0,
                _num(r.get("expected_seconds", r.get("expected"))) or 1.0,
            )
            for r in rows
        ]
        + [10.0]
    )
    log_peak = math.log10(peak * 1.2)
    floor = -0.3  # half a second at the bottom of the axis

    def y_of(seconds: float) -> float:
        v = (math.log10(max(seconds, 0.5)) - floor) / (log_peak - floor)
        return h - bottom - v * (h - bottom - top)

    bw = (w - left - 10) / len(rows)
    body = [f'<line x1="{left}" y1="{h - bottom}" x2="{w - 6}" y2="{h - bottom}" stroke="#999"/>']
    for tick in (1, 10, 100, 1000):
        if tick <= peak * 1.2:
            y = y_of(tick)
            body.append(f'<line x1="{left}" y1="{y:.1f}" x2="{w - 6}" y2="{y:.1f}" stroke="#eee"/>')
            body.append(svg_text(left - 4, y + 4, f"{tick} 秒", "end"))
    for i, r in enumerate(rows):
        secs = _num(r.get("seconds")) or 0.0
        expected = _num(r.get("expected_seconds", r.get("expected")))
        x = left + i * bw + 1
        y = y_of(secs)
        colour = VERIFIED if r.get("correct") else UNVERIFIED
        fast = bool(r.get("fast_correct") or r.get("rapid") or r.get("aberrant"))
        stroke = ' stroke="#000" stroke-width="2"' if fast else ""
        z = _num(r.get("z"))
        title = (
            f"第 {r.get('n', i + 1)} 题 用时 {secs:.1f} 秒"
            + (f"，预期 {expected:.1f} 秒" if expected else "")
            + (f"，z={z:.2f}" if z is not None else "")
            + ("，答对" if r.get("correct") else "，答错")
        )
        body.append(
            f'<rect class="{"aberrant" if fast else "item"}" x="{x:.1f}" y="{y:.1f}" '
            f'width="{max(1.0, bw - 2):.1f}" height="{h - bottom - y:.1f}" fill="{colour}"{stroke}>'
            f"<title>{svg_label(title)}</title></rect>"
        )
        if expected:
            ye = y_of(expected)
            body.append(
                f'<line x1="{x:.1f}" y1="{ye:.1f}" x2="{x + bw - 2:.1f}" y2="{ye:.1f}" '
                f'stroke="{MUTED}" stroke-width="2"/>'
            )
    body.append(
        svg_text(
            left,
            h - 8,
            "柱：实际用时（对数刻度；绿=答对，红=答错，黑框=异常快）；灰线：按本人速度的预期用时",
        )
    )
    return svg_frame(w, h, body, "逐题作答用时", "exam-times")


def _num(v: Any) -> float | None:
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        return None
    return float(v)


def pictures(evidence: dict[str, Any]) -> list[Markup]:
    """Every picture an exam flag's evidence supports."""
    out = [event_timeline(evidence)]
    rows = evidence.get("items") or []
    if isinstance(rows, list) and rows and isinstance(rows[0], dict) and "seconds" in rows[0]:
        out.append(response_times(rows))
    return [p for p in out if p is not None]


BEIJING = dt.timezone(dt.timedelta(hours=8))


def event_rows(evidence: dict[str, Any]) -> list[tuple[str, str, str]]:
    """The timeline as a table: Beijing time, what happened, and any detail worth reading."""
    rows = []
    for e in evidence.get("events") or []:
        at = _moment(e.get("at"))
        detail = e.get("detail") or {}
        extra = ""
        if "from" in detail and "to" in detail:
            extra = f"{detail['from']} → {detail['to']}"
        elif "other" in detail:
            extra = f"另一会话 {str(detail['other'])[:12]}"
        rows.append(
            (
                at.astimezone(BEIJING).strftime("%H:%M:%S") if at else "",
                EVENT_NAMES.get(str(e.get("kind")), str(e.get("kind"))),
                extra,
            )
        )
    return rows
