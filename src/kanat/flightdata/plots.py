"""Server-rendered SVG charts of a log's series with its findings marked (no JavaScript,
no CDN: the page works offline and prints)."""

from __future__ import annotations

import bisect
from typing import Any

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

WIDTH, HEIGHT = 760, 170
LEFT, RIGHT, TOP, BOTTOM = 56, 10, 12, 26


def _ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    if hi <= lo:
        return [lo]
    step = (hi - lo) / n
    magnitude = 10 ** int(f"{step:e}".split("e")[1])
    for nice in (1, 2, 2.5, 5, 10):
        if step <= nice * magnitude:
            step = nice * magnitude
            break
    first = (lo // step) * step
    out = []
    for k in range(n + 3):  # bounded: a step below the float spacing would never advance
        v = first + k * step
        if v > hi + 1e-9:
            break
        if v >= lo - 1e-9:
            out.append(round(v, 10))
    return out


def chart(
    name: str,
    data: dict[str, Any],
    t_range: tuple[float, float],
    findings: list[dict[str, Any]],
    flights: list[tuple[float, float]],
) -> SafeString:
    """One series against time (s from the log's start): airborne stretches shaded,
    findings on this series marked with a red ring at their sample and a label."""
    t, v = data["t"], data["v"]
    t0, t1 = t_range
    if t1 <= t0:
        t1 = t0 + 1
    lo, hi = min(v), max(v)
    if not hi - lo > abs(lo) * 1e-9:  # flat (or too flat for floats): a band around it
        hi = lo + max(1.0, abs(lo) * 1e-6)
        lo = hi - 2 * max(1.0, abs(lo) * 1e-6)
    pad = (hi - lo) * 0.05
    lo, hi = lo - pad, hi + pad
    w, h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(s: float) -> float:
        return LEFT + (s - t0) / (t1 - t0) * w

    def y(val: float) -> float:
        return TOP + (hi - val) / (hi - lo) * h

    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(name)} against time">',
        f"<title>{escape(name)} ({escape(data['unit'])})</title>",
    ]
    for a, b in flights:
        parts.append(
            f'<rect class="airborne" x="{x(a):.1f}" y="{TOP}" width="{max(x(b) - x(a), 1):.1f}" '
            f'height="{h}"><title>airborne {a:.1f}–{b:.1f} s</title></rect>'
        )
    for tick in _ticks(lo, hi, 4):
        parts.append(
            f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(tick):.1f}" '
            f'y2="{y(tick):.1f}"/><text class="tick" x="{LEFT - 4}" y="{y(tick) + 4:.1f}" '
            f'text-anchor="end">{tick:g}</text>'
        )
    for tick in _ticks(t0, t1, 8):
        parts.append(
            f'<text class="tick" x="{x(tick):.1f}" y="{HEIGHT - 8}" text-anchor="middle">'
            f"{tick:g} s</text>"
        )
    points = " ".join(f"{x(a):.1f},{y(b):.1f}" for a, b in zip(t, v, strict=True))
    parts.append(f'<polyline class="series" points="{points}"/>')
    parts.append(
        f'<text class="label" x="{LEFT + 4}" y="{TOP + 12}">{escape(name)} '
        f"({escape(data['unit'])})</text>"
    )
    for f in findings:
        at = bisect.bisect_left(t, f["t_s"])  # on the line, at the finding's instant
        fy = y(v[min(at, len(v) - 1)])
        parts.append(
            f'<g class="finding"><circle cx="{x(f["t_s"]):.1f}" cy="{fy:.1f}" r="6"/>'
            f'<text x="{x(f["t_s"]) + 8:.1f}" y="{fy - 8:.1f}">{escape(f["code"])}</text>'
            f"<title>{escape(f['message'])} at {f['t_s']:.2f} s (sample {f['sample']})</title></g>"
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every text above is escaped


#: which chart a finding's series is marked on
SERIES_CHART = {
    "accel": "acceleration",
    "climb": "altitude",
    "temperature": "temperature",
    "speed": "speed",
}


def charts(log: Any) -> list[SafeString]:
    plot = log.plot or {}
    if not plot:
        return []
    t0 = min(d["t"][0] for d in plot.values())
    t1 = max(d["t"][-1] for d in plot.values())
    flights = [(f["takeoff_s"], f["landing_s"]) for f in log.summary.get("flights", [])]
    findings = log.summary.get("findings", [])
    out = []
    for name, data in plot.items():
        mine = [f for f in findings if SERIES_CHART.get(f["series"]) == name]
        out.append(chart(name, data, (t0, t1), mine, flights))
    return out
