"""The transfer dashboard page, its CSV and its PDF for the venture's steering committee.

Charts are server-rendered inline SVG (no JavaScript, no CDN: the page works offline and
prints), each followed by a table of the same figures. The production localisation chart is
production's own (``kanat.production.views_transfer.chart``).
"""

from __future__ import annotations

import csv
import datetime as dt
import math
from collections.abc import Sequence
from decimal import Decimal
from html import escape
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.viewsets import ViewSet

from kanat.production.views_transfer import chart as localisation_chart
from kanat.training import dashboard as dash
from kanat.training.trend import HUB

WIDTH, HEIGHT = 720, 240
LEFT, RIGHT, TOP, BOTTOM = 48, 12, 14, 34
PALETTE = ("#1f4e79", "#b8860b", "#2e7d32", "#8e24aa", "#c62828", "#00838f", "#6d4c41")

CSV_COLUMNS = ("month", "series", "operator", "numerator", "denominator", "value")


# --- charts ---------------------------------------------------------------------------------


def _frame(label: str, css: str) -> list[str]:
    return [
        f'<svg class="chart {css}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(label)}">',
        f"<title>{escape(label)}</title>",
    ]


def _x_labels(labels: Sequence[str], centre: Any) -> list[str]:
    step = max(1, len(labels) // 12)
    return [
        f'<text class="tick" x="{centre(i):.1f}" y="{HEIGHT - BOTTOM + 16}" '
        f'text-anchor="middle">{escape(lab)}</text>'
        for i, lab in enumerate(labels)
        if i % step == 0
    ]


def _axis_title(text: str) -> str:
    """The y axis's unit, written up the left edge (what the tick numbers count)."""
    if not text:
        return ""
    cy = TOP + (HEIGHT - TOP - BOTTOM) / 2
    return (
        f'<text class="axis-title" x="11" y="{cy:.1f}" text-anchor="middle" '
        f'transform="rotate(-90 11 {cy:.1f})">{escape(text)}</text>'
    )


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    magnitude = 10 ** (len(str(int(value))) - 1)
    for nice in (1, 2, 2.5, 5, 10):
        if value <= nice * magnitude:
            return float(nice * magnitude)
    return float(10 * magnitude)


def line_chart(
    label: str,
    months: Sequence[str],
    lines: Sequence[tuple[str, Sequence[float | None]]],
    *,
    axis: str = "",
) -> SafeString:
    """Shares (0–1) against months, one line per series; a month without a share leaves a
    gap; each point has a tooltip; ``axis`` names what the y axis measures."""
    w, h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    n = len(months)

    def x(i: int) -> float:
        return LEFT + (w / 2 if n < 2 else 16 + i / (n - 1) * (w - 32))

    def y(ratio: float) -> float:
        return TOP + (1 - ratio) * h

    parts = _frame(label, "dashboard-line")
    parts.append(_axis_title(axis))
    for pct in (0, 25, 50, 75, 100):
        parts.append(
            f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(pct / 100):.1f}" '
            f'y2="{y(pct / 100):.1f}"/><text class="tick" x="{LEFT - 4}" '
            f'y="{y(pct / 100) + 4:.1f}" text-anchor="end">{pct}%</text>'
        )
    parts += _x_labels(months, x)
    for k, (name, values) in enumerate(lines):
        colour = PALETTE[k % len(PALETTE)]
        runs: list[list[tuple[float, float]]] = [[]]
        for i, v in enumerate(values):
            if v is None:
                runs.append([])
                continue
            runs[-1].append((x(i), y(v)))
            parts.append(
                f'<circle class="dash-point" cx="{x(i):.1f}" cy="{y(v):.1f}" r="3.5" '
                f'style="fill:{colour}">'
                f"<title>{escape(name)} {escape(months[i])}: {v * 100:.0f}% local</title></circle>"
            )
        for run in runs:
            if len(run) > 1:
                path = " ".join(f"{a:.1f},{b:.1f}" for a, b in run)
                parts.append(
                    f'<polyline class="dash-line" style="fill:none;stroke:{colour};'
                    f'stroke-width:2" points="{path}"/>'
                )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every text above is escaped


def bar_chart(
    label: str,
    months: Sequence[str],
    series: Sequence[tuple[str, Sequence[float]]],
    *,
    stacked: bool,
    unit: str,
    axis: str = "",
) -> SafeString:
    """Bars per month: stacked (one segment per series) or side by side; ``axis`` names
    what the y axis counts."""
    w, h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    n = max(len(months), 1)
    slot = w / n
    if stacked:
        top = max((sum(vals[i] for _, vals in series) for i in range(len(months))), default=0)
    else:
        top = max((v for _, vals in series for v in vals), default=0)
    # whole people: a scale in steps of whole numbers
    hi = 4.0 * math.ceil(max(top, 1) / 4) if unit == "people" else _nice_max(float(top))

    def y(value: float) -> float:
        return TOP + (1 - value / hi) * h

    def centre(i: int) -> float:
        return LEFT + (i + 0.5) * slot

    parts = _frame(label, "dashboard-bars")
    parts.append(_axis_title(axis))
    for k in range(5):
        tick = hi * k / 4
        parts.append(
            f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(tick):.1f}" '
            f'y2="{y(tick):.1f}"/><text class="tick" x="{LEFT - 4}" y="{y(tick) + 4:.1f}" '
            f'text-anchor="end">{tick:g}</text>'
        )
    parts += _x_labels(months, centre)
    bar = slot * 0.7
    for i, month in enumerate(months):
        base = 0.0
        for k, (name, values) in enumerate(series):
            value = float(values[i])
            colour = PALETTE[k % len(PALETTE)]
            if stacked:
                x0, width, y0, y1 = centre(i) - bar / 2, bar, y(base + value), y(base)
                base += value
            else:
                width = bar / max(len(series), 1)
                x0, y0, y1 = centre(i) - bar / 2 + k * width, y(value), y(0)
            if value <= 0:
                continue
            parts.append(
                f'<rect class="dash-bar" x="{x0:.1f}" y="{y0:.1f}" width="{width:.1f}" '
                f'height="{max(y1 - y0, 0.5):.1f}" style="fill:{colour}"><title>{escape(month)}: '
                f"{escape(name)} {value:g} {escape(unit)}</title></rect>"
            )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every text above is escaped


def legend(names: Sequence[str]) -> list[dict[str, str]]:
    return [{"name": n, "colour": PALETTE[k % len(PALETTE)]} for k, n in enumerate(names)]


# --- the page -------------------------------------------------------------------------------


def _dashboard(request: HttpRequest) -> dash.Dashboard:
    first, last = dash.period(request.GET, timezone.now().date())
    operator = request.GET.get("operator", "").strip()
    if operator in ("all", "hub"):
        operator = ""
    try:
        return dash.build(request.user, first, last, operator=operator)
    except LookupError as e:
        raise Http404(str(e)) from e


def _error(request: HttpRequest, e: dash.DashboardError) -> HttpResponse:
    return render(
        request,
        "training/dashboard_error.html",
        {"error": str(e), "field": e.field},
        status=400,
    )


def _rows(d: dash.Dashboard) -> list[dict[str, Any]]:
    steps, releases = d.steps[d.selected], d.releases[d.selected]
    return [
        {"month": m.label, "steps": s, "releases": r}
        for (m, s), (_, r) in zip(steps.points, releases.points, strict=True)
    ]


def dashboard_page(request: HttpRequest) -> HttpResponse:
    try:
        d = _dashboard(request)
    except dash.DashboardError as e:
        return _error(request, e)
    labels = [m.label for m in d.months]
    steps, releases = d.steps[d.selected], d.releases[d.selected]
    share_chart = line_chart(
        f"Share of task-card steps and releases signed by locally trained staff, {d.scope_label}",
        labels,
        [
            ("task-card steps", [s.value for _, s in steps.points]),
            ("releases", [s.value for _, s in releases.points]),
        ],
        axis="share signed locally",
    )
    stage_names = [s.label for s in d.stage_list]
    stage_chart = bar_chart(
        "People at each authorisation stage at month end",
        labels,
        [
            (name, [float(snap.counts[k][1]) for snap in d.stages])
            for k, name in enumerate(stage_names)
        ],
        stacked=True,
        unit="people",
        axis="people",
    )
    providers = [dash.PROVIDER_LABELS[p] for p in dash.PROVIDERS]
    hours_chart = bar_chart(
        "Training hours delivered by the licensor and the local school",
        labels,
        [
            (name, [float(point.hours(p)) for point in d.hours])
            for name, p in zip(providers, dash.PROVIDERS, strict=True)
        ],
        stacked=False,
        unit="h",
        axis="hours",
    )
    query = {"from": d.months[0].label, "to": d.months[-1].label}
    if d.selected != HUB:
        query["operator"] = d.selected
    qs = "&".join(f"{k}={v}" for k, v in query.items())
    return render(
        request,
        "training/dashboard.html",
        {
            "d": d,
            "rows": _rows(d),
            "share_chart": share_chart,
            "share_legend": legend(["task-card steps", "releases"]),
            "stage_chart": stage_chart,
            "stage_legend": legend(stage_names),
            "stage_rows": [
                {
                    "month": s.month.label,
                    "at": s.at,
                    "counts": [n for _, n in s.counts],
                    "total": s.total,
                }
                for s in d.stages
            ],
            # nothing to plot (an operator whose staff the hub does not train): say so
            "stages_empty": all(s.total == 0 for s in d.stages),
            "hours_empty": all(p.total == 0 for p in d.hours),
            "hours_chart": hours_chart,
            "hours_legend": legend(providers),
            "hours_rows": [
                {
                    "month": p.month.label,
                    "values": [p.hours(prov) for prov in dash.PROVIDERS],
                    "total": p.total,
                }
                for p in d.hours
            ],
            "providers": providers,
            "localisation": [
                {"series": s, "chart": localisation_chart(s) if s.points else None}
                for s in d.localisation
            ],
            "query": qs,
            "first": d.months[0].label,
            "last": d.months[-1].label,
        },
    )


def dashboard_csv(request: HttpRequest) -> HttpResponse:
    try:
        d = _dashboard(request)
    except dash.DashboardError as e:
        return HttpResponse(f"{e}\n", status=400, content_type="text/plain; charset=utf-8")
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    name = f"transfer-dashboard-{d.months[0].label}-{d.months[-1].label}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    writer = csv.DictWriter(response, fieldnames=CSV_COLUMNS)
    writer.writeheader()
    writer.writerows(dash.tidy_rows(d))
    return response


# --- the PDF --------------------------------------------------------------------------------


def _pdf_bars(
    doc: Any,
    title: str,
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float]]],
    *,
    stacked: bool,
    ratio: bool = False,
    whole: bool = False,
) -> None:
    """A small bar chart drawn with fpdf2 primitives: bars per month (stacked or side by
    side), the scale on the left, a legend below."""
    height, left = 46.0, 14.0
    doc.heading(title, room=height + 30)
    x0, y0 = doc.l_margin + left, doc.get_y() + 2
    w = doc.epw - left
    n = max(len(labels), 1)
    slot = w / n
    if ratio:
        hi = 1.0
    elif whole:  # people: ticks in whole numbers, as on the page
        top = max((sum(v[i] for _, v in series) for i in range(len(labels))), default=0)
        hi = 4.0 * math.ceil(max(top, 1) / 4)
    elif stacked:
        hi = _nice_max(max((sum(v[i] for _, v in series) for i in range(len(labels))), default=0))
    else:
        hi = _nice_max(max((x for _, v in series for x in v), default=0))
    doc.set_draw_color(200)
    doc.font(6.5)
    for k in range(5):
        tick = hi * k / 4
        yy = y0 + height - tick / hi * height
        doc.line(x0, yy, x0 + w, yy)
        doc.set_xy(doc.l_margin, yy - 1.5)
        doc.cell(left - 1, 3, f"{tick * 100:.0f}%" if ratio else f"{tick:g}", align="R")
    for i, lab in enumerate(labels):
        base = 0.0
        bar = slot * 0.7
        for k, (_, values) in enumerate(series):
            value = float(values[i])
            r, g, b = (int(PALETTE[k % len(PALETTE)][j : j + 2], 16) for j in (1, 3, 5))
            doc.set_fill_color(r, g, b)
            if stacked:
                bx, bw = x0 + i * slot + (slot - bar) / 2, bar
                top = y0 + height - (base + value) / hi * height
                base += value
            else:
                bw = bar / len(series)
                bx = x0 + i * slot + (slot - bar) / 2 + k * bw
                top = y0 + height - value / hi * height
            hgt = value / hi * height
            if hgt > 0:
                doc.rect(bx, top, bw, hgt, style="F")
        doc.set_xy(x0 + i * slot, y0 + height + 0.5)
        doc.cell(slot, 3, lab[2:] if n > 8 else lab, align="C")
    doc.set_xy(doc.l_margin, y0 + height + 5)
    for k, (name, _) in enumerate(series):
        r, g, b = (int(PALETTE[k % len(PALETTE)][j : j + 2], 16) for j in (1, 3, 5))
        doc.set_fill_color(r, g, b)
        doc.rect(doc.get_x(), doc.get_y() + 0.8, 3, 2, style="F")
        doc.set_x(doc.get_x() + 4)
        doc.cell(doc.get_string_width(doc.t(name)) + 5, 3.6, doc.t(name))
    doc.set_draw_color(0)
    doc.set_fill_color(255)
    doc.ln(6)
    doc.font(9)


def _pct(share: Any) -> str:
    return "-" if share.value is None else f"{share.value * 100:.0f}%"


def pdf_bytes(d: dash.Dashboard, generated: dt.datetime) -> bytes:
    from kanat.records.pdf import Document

    first, last = d.months[0].label, d.months[-1].label
    doc = Document(
        "Transfer dashboard",
        f"{first} to {last} · {d.scope_label} · generated {generated:%Y-%m-%d %H:%MZ}",
    )
    doc.title_block(f"Technology transfer: {first} to {last}")
    doc.para(
        "For the steering committee of the joint venture: the share of task-card steps and "
        "of releases signed by locally trained staff, the people at each authorisation stage "
        "at each month end, training hours delivered by the licensor and by the local school"
        + (", and the localisation of production." if d.hub_view else ".")
    )
    labels = [m.label for m in d.months]
    keys = d.series_keys()
    for title, data in (
        ("Task-card steps signed by locally trained staff", d.steps),
        ("Releases signed by locally trained staff", d.releases),
    ):
        series = data[d.selected]
        _pdf_bars(
            doc,
            f"{title} ({d.scope_label})",
            labels,
            [("share local", [s.value or 0.0 for _, s in series.points])],
            stacked=False,
            ratio=True,
        )
        names = [k or "hub" for k in keys]
        rows = []
        for i, m in enumerate(d.months):
            row = [m.label]
            for k in keys:
                s = data[k].points[i][1]
                row.append(f"{_pct(s)} ({s.numerator}/{s.denominator})")
            rows.append(row)
        widths = [18] + [max(20, (doc.epw - 18) / max(len(names), 1))] * len(names)
        doc.grid(["Month", *names], rows, widths[: len(names) + 1])
    stage_names = [s.label for s in d.stage_list]
    _pdf_bars(
        doc,
        "People at each authorisation stage (month end)",
        labels,
        [(name, [float(s.counts[k][1]) for s in d.stages]) for k, name in enumerate(stage_names)],
        stacked=True,
        whole=True,
    )
    doc.grid(
        ["Month", *stage_names, "Total"],
        [[s.month.label, *[n for _, n in s.counts], s.total] for s in d.stages],
        [18] + [(doc.epw - 36) / max(len(stage_names), 1)] * len(stage_names) + [18],
    )
    providers = [dash.PROVIDER_LABELS[p] for p in dash.PROVIDERS]
    _pdf_bars(
        doc,
        "Training hours: licensor and local school",
        labels,
        [
            (name, [float(p.hours(prov)) for p in d.hours])
            for name, prov in zip(providers, dash.PROVIDERS, strict=True)
        ],
        stacked=False,
    )
    doc.grid(
        ["Month", *providers, "Total"],
        [
            [p.month.label, *[_dec(p.hours(x)) for x in dash.PROVIDERS], _dec(p.total)]
            for p in d.hours
        ],
        [30, 50, 50, 52],
    )
    if d.hub_view:
        doc.heading("Localisation of production")
        rows = []
        for s in d.localisation:
            for m in s.points:
                rows.append(
                    [
                        s.name,
                        m.label,
                        m.at.isoformat() if m.at else "",
                        f"{m.parts.percent} ({m.parts.local}/{m.parts.total})",
                        m.value.percent if m.value else "unknown",
                        f"{m.hours.percent} ({_dec(m.hours.local)}/{_dec(m.hours.total)} h)",
                    ]
                )
        doc.grid(
            ["Product", "BOM rev", "Released", "Parts (count)", "Parts (value)", "Hours"],
            rows,
            [50, 16, 22, 32, 26, 36],
            empty="No released BOM revision yet.",
        )
    return bytes(doc.output())


def _dec(value: Decimal) -> str:
    return f"{value:.1f}"


def dashboard_pdf(request: HttpRequest) -> HttpResponse:
    try:
        d = _dashboard(request)
    except dash.DashboardError as e:
        return HttpResponse(f"{e}\n", status=400, content_type="text/plain; charset=utf-8")
    response = HttpResponse(pdf_bytes(d, timezone.now()), content_type="application/pdf")
    name = f"transfer-dashboard-{d.months[0].label}-{d.months[-1].label}.pdf"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


# --- the API --------------------------------------------------------------------------------


class TransferDashboardViewSet(ViewSet):
    """``/api/training/dashboard/``: the transfer dashboard's figures as JSON (``from``,
    ``to``, ``operator`` query parameters as on the page): local shares of step and release
    signatures per month (per operator and the hub total for hub staff; the caller's operator
    only for operator staff), people at each stage at month end, training hours by provider,
    and (hub staff only) the localisation of production."""

    @extend_schema(
        parameters=[
            OpenApiParameter("from", str, description="first month, YYYY-MM"),
            OpenApiParameter("to", str, description="last month, YYYY-MM"),
            OpenApiParameter("operator", str, description="an operator code"),
        ],
        responses=OpenApiTypes.OBJECT,
    )
    def list(self, request: Request, format: str | None = None) -> Response:  # noqa: A002
        try:
            first, last = dash.period(request.query_params, timezone.now().date())
        except dash.DashboardError as e:
            raise exceptions.ValidationError({e.field: str(e)}) from None
        operator = request.query_params.get("operator", "").strip()
        try:
            d = dash.build(
                request.user, first, last, operator="" if operator in ("all", "hub") else operator
            )
        except LookupError as e:
            raise exceptions.NotFound(str(e)) from None
        return Response(dash.as_json(d))
