"""The localisation page (hub staff only; operator staff get 403): per product, the share
of parts (by count and by value) and of production hours that are local, at each of its
BOM revisions' release dates, as a server-rendered SVG chart and a table, or as CSV
(``?format=csv``). Values are in one currency, the one most priced purchase-order lines
are in; prices in other currencies are not converted, only counted and named (``Prices``).

``localisation_series`` is the thin selector: it reads the BOM revisions, part masters,
routings and (when purchase-order lines carry a unit price) prices in a few bulk queries
and hands plain data to the Django-free ``kanat.production.localisation``.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from html import escape
from typing import Any

from django.core.exceptions import FieldDoesNotExist, PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.safestring import SafeString, mark_safe

from kanat.production.localisation import Measure, Op, PartRow, Series, Share, measure, series
from kanat.production.models import (
    Bom,
    BomLine,
    BomStatus,
    Operation,
    Origin,
    PartMaster,
    Product,
)
from kanat.production.selectors import as_line
from kanat.production.structure import CycleError, Line, explode

PRICE_FIELD = "unit_price"
CURRENCY_FIELD = "currency"  # on the purchase order


@dataclass(frozen=True)
class Prices:
    """The unit prices the value shares use: the latest purchase-order unit price by part
    number in one ``currency``, the one most priced purchase-order lines are in. Prices in
    other currencies are not converted (no exchange rate is kept): they are left out and
    counted in ``left_out`` (lines by currency), and a part priced only in another currency
    is an unpriced leaf."""

    currency: str
    by_pn: dict[str, Decimal]
    left_out: dict[str, int] = field(default_factory=dict)


def _prices() -> Prices | None:
    """The prices by part number, or ``None`` while no purchase-order line carries a price
    (then value shares are unknown)."""
    from kanat.inventory.models import PurchaseOrderLine

    try:
        PurchaseOrderLine._meta.get_field(PRICE_FIELD)
    except FieldDoesNotExist:
        return None
    by_currency: dict[str, dict[str, Decimal]] = defaultdict(dict)
    lines: Counter[str] = Counter()
    for pn, currency, price in (
        PurchaseOrderLine.objects.exclude(**{f"{PRICE_FIELD}__isnull": True})
        .order_by("order__created_at", "order_id", "line")
        .values_list("part_number__pn", f"order__{CURRENCY_FIELD}", PRICE_FIELD)
    ):
        by_currency[currency][pn] = price  # later orders overwrite earlier ones
        lines[currency] += 1
    if not lines:
        return None
    # the most lines; a tie goes to the hub's own KZT, then alphabetically
    currency = min(lines, key=lambda c: (-lines[c], c != "KZT", c))
    return Prices(
        currency=currency,
        by_pn=by_currency[currency],
        left_out={c: n for c, n in sorted(lines.items()) if c != currency},
    )


def _in_force(boms: list[Bom], at: dt.datetime) -> Bom | None:
    for bom in boms:
        released = bom.released_at is not None and bom.released_at <= at
        if released and (bom.superseded_at is None or bom.superseded_at > at):
            return bom
    return None


def localisation_series() -> tuple[list[Series], Prices | None]:
    """Every product's localisation at each of its released or superseded BOM
    revisions (at its release date), and the prices the values use (``None``: no
    purchase-order line is priced, values are unknown)."""
    products = list(Product.objects.select_related("part_number").order_by("code"))
    boms_by_pn: dict[str, list[Bom]] = defaultdict(list)
    for bom in (
        Bom.objects.exclude(status=BomStatus.DRAFT)
        .select_related("part_number")
        .order_by("part_number__pn", "number")
    ):
        boms_by_pn[bom.part_number.pn].append(bom)
    lines_by_bom: dict[int, list[Line]] = defaultdict(list)
    for line in (
        BomLine.objects.exclude(bom__status=BomStatus.DRAFT)
        .select_related("child")
        .order_by("bom_id", "find_number")
    ):
        lines_by_bom[line.bom_id].append(as_line(line))
    local = {
        pn: origin == Origin.LOCAL
        for pn, origin in PartMaster.objects.values_list("part_number__pn", "origin")
    }
    routings: dict[str, list[tuple[dt.datetime, int, list[Op]]]] = defaultdict(list)
    current: dict[int, list[Op]] = {}
    for op in Operation.objects.select_related("routing__part_number", "work_centre").order_by(
        "routing__part_number__pn", "routing__number", "seq"
    ):
        if op.routing_id not in current:
            current[op.routing_id] = []
            routings[op.routing.part_number.pn].append(
                (op.routing.created_at, op.routing.number, current[op.routing_id])
            )
        current[op.routing_id].append(
            Op(op.work_centre.code, op.standard_hours, bool(op.work_centre.local))
        )
    prices = _prices()

    def routing_at(pn: str, at: dt.datetime) -> list[Op]:
        revisions = routings.get(pn, [])
        before = [ops for created, _, ops in revisions if created <= at]
        if before:
            return before[-1]
        return revisions[0][2] if revisions else []  # defined after: its first revision

    out: list[Series] = []
    for product in products:
        top = product.part_number.pn
        points: list[Measure] = []
        for bom in boms_by_pn.get(top, []):
            at = bom.released_at
            assert at is not None  # not a draft
            structure: dict[str, list[Line]] = {}
            for pn, revisions in boms_by_pn.items():
                in_force = _in_force(revisions, at)
                if in_force is not None:
                    structure[pn] = lines_by_bom.get(in_force.pk, [])
            structure[top] = lines_by_bom.get(bom.pk, [])
            try:
                rows = explode(top, structure)
            except CycleError:
                continue
            part_rows = [
                PartRow(
                    part_number=row.child,
                    extended=row.extended,
                    is_assembly=row.is_assembly,
                    local=local.get(row.child, False),
                    unit_value=prices.by_pn.get(row.child) if prices is not None else None,
                )
                for row in rows
            ]
            pns = {top} | {row.child for row in rows}
            points.append(
                measure(
                    top,
                    part_rows,
                    {pn: routing_at(pn, at) for pn in pns},
                    label=bom.revision,
                    at=at.date(),
                )
            )
        out.append(series(top, f"{product.code} — {product.name}", points))
    return out, prices


# --- the chart ---------------------------------------------------------------------------

WIDTH, HEIGHT = 640, 220
LEFT, RIGHT, TOP, BOTTOM = 44, 16, 14, 40
LINES = (
    ("parts", "parts by count", "loc-count"),
    ("value", "parts by value", "loc-value"),
    ("hours", "production hours", "loc-hours"),
)


def chart(s: Series) -> SafeString:
    """The three shares (0–100 %) against the revisions' release dates: one line each,
    a dot with a tooltip per revision."""
    points = [p for p in s.points if p.at is not None]
    w, h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    if points:
        first = points[0].at.toordinal()  # type: ignore[union-attr]
        last = points[-1].at.toordinal()  # type: ignore[union-attr]
    else:
        first = last = 0

    # a time scale, unless two revisions share a date: then evenly spaced in order
    by_index = len({p.at for p in points}) < len(points)
    position = {id(p): i for i, p in enumerate(points)}

    pad = 40  # the date labels under the first and last points stay inside

    def x(p: Measure) -> float:
        if len(points) < 2:
            return LEFT + w / 2
        if by_index:
            return LEFT + pad + position[id(p)] / (len(points) - 1) * (w - 2 * pad)
        assert p.at is not None
        return LEFT + pad + (p.at.toordinal() - first) / (last - first) * (w - 2 * pad)

    def y(ratio: float) -> float:
        return TOP + (1 - ratio) * h

    parts = [
        f'<svg class="chart localisation" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="share local over time: {escape(s.name)}">',
        f"<title>Share local over time: {escape(s.name)}</title>",
    ]
    for pct in (0, 25, 50, 75, 100):
        parts.append(
            f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(pct / 100):.1f}" '
            f'y2="{y(pct / 100):.1f}"/><text class="tick" x="{LEFT - 4}" '
            f'y="{y(pct / 100) + 4:.1f}" text-anchor="end">{pct}%</text>'
        )
    for p in points:
        assert p.at is not None
        parts.append(
            f'<text class="tick" x="{x(p):.1f}" y="{HEIGHT - BOTTOM + 14}" '
            f'text-anchor="middle">rev {escape(p.label)}</text>'
            f'<text class="tick" x="{x(p):.1f}" y="{HEIGHT - BOTTOM + 27}" '
            f'text-anchor="middle">{p.at.isoformat()}</text>'
        )
    for key, label, css in LINES:
        coords: list[tuple[float, float, Measure, float]] = []
        for p in points:
            share = getattr(p, key)
            ratio = share.ratio if share is not None else None
            if ratio is not None:
                coords.append((x(p), y(ratio), p, ratio))
        if len(coords) > 1:
            path = " ".join(f"{cx:.1f},{cy:.1f}" for cx, cy, _, _ in coords)
            parts.append(f'<polyline class="{css}" fill="none" points="{path}"/>')
        for cx, cy, p, ratio in coords:
            parts.append(
                f'<circle class="{css}" cx="{cx:.1f}" cy="{cy:.1f}" r="3.5">'
                f"<title>rev {escape(p.label)}: {label} {ratio * 100:.0f}% local</title></circle>"
            )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every text above is escaped


def _ratio(share: Share | None) -> float | None:
    ratio = share.ratio if share is not None else None
    return None if ratio is None else round(ratio, 4)


def _num(value: Decimal) -> str:
    return format(value.normalize(), "f") if value else "0"


def point(m: Measure, prices: Prices | None) -> dict[str, Any]:
    """One measure as plain data (the API's and the CSV's row): ratios 0–1 rounded to four
    places, ``None`` when unknown; the value share in ``value_currency``."""
    return {
        "revision": m.label,
        "date": m.at.isoformat() if m.at else None,
        "share_by_count": _ratio(m.parts),
        "parts_local": _num(m.parts.local),
        "parts_total": _num(m.parts.total),
        "share_by_value": _ratio(m.value),
        "value_local": _num(m.value.local) if m.value else None,
        "value_total": _num(m.value.total) if m.value else None,
        "value_currency": prices.currency if prices is not None and m.value else None,
        "unpriced_leaves": m.unpriced,
        "share_by_hours": _ratio(m.hours),
        "hours_local": _num(m.hours.local),
        "hours_total": _num(m.hours.total),
    }


CSV_COLUMNS = ("pn", "product", *point(measure("", [], {}), None).keys())


def _csv(all_series: list[Series], prices: Prices | None) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="localisation.csv"'
    writer = csv.writer(response)
    writer.writerow(CSV_COLUMNS)
    for s in all_series:
        for m in s.points:
            row = {"pn": s.product, "product": s.name} | point(m, prices)
            writer.writerow(["" if row[c] is None else row[c] for c in CSV_COLUMNS])
    return response


def localisation(request: HttpRequest) -> HttpResponse:
    if request.user.operator_id is not None:  # type: ignore[union-attr]
        raise PermissionDenied("the localisation measure is read by hub staff only")
    all_series, prices = localisation_series()
    if request.GET.get("format") == "csv":
        return _csv(all_series, prices)
    products: list[dict[str, Any]] = [
        {"series": s, "chart": chart(s) if s.points else None} for s in all_series
    ]
    return render(
        request,
        "production/localisation.html",
        {
            "products": products,
            "value_known": prices is not None,
            "prices": prices,
            "left_out": sorted(prices.left_out.items()) if prices else [],
            "lines": LINES,
        },
    )
