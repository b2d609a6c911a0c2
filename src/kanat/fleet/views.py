"""Pages of the fleet: overview, aircraft, parts. Every query goes through restrict()."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from django.core.paginator import Paginator
from django.db.models import Count, Max, Min
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from kanat.core.models import Operator
from kanat.core.tenancy import get_restricted_or_404
from kanat.fleet import selectors
from kanat.fleet.models import Aircraft as AircraftModel
from kanat.fleet.models import AircraftType, AssetKind, Flight, Installation, Part, Variant
from kanat.maintenance import forecasting

PAGE_SIZE = 100


def parse_instant(value: str | None, default: dt.datetime) -> tuple[dt.datetime, str]:
    """An instant from a query parameter: a date (its end, UTC) or a datetime (UTC if naive).

    Returns the instant and an error message ('' when the value was understood)."""
    if not value:
        return default, ""
    try:
        day = parse_date(value) if len(value) == 10 else None
        if day is not None:  # a date alone: the end of that day (its changes included)
            moment = dt.datetime.combine(day, dt.time.max, tzinfo=dt.UTC)
        else:
            moment = parse_datetime(value)
            if moment is None:
                raise ValueError
    except ValueError:
        return default, f"“{value}” is not a date (YYYY-MM-DD) or a date and time; showing now."
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC), ""


def overview(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    qs = AircraftModel.objects.restrict(request.user).select_related(
        "operator", "variant__aircraft_type"
    )
    operators = Operator.objects.restrict(request.user)
    op = request.GET.get("operator", "")
    variant = request.GET.get("variant", "")
    kind = request.GET.get("kind", AssetKind.AIRCRAFT)
    if op:
        qs = qs.filter(operator__code=op)
    if variant:
        qs = qs.filter(variant__code=variant)
    if kind in AssetKind.values:
        qs = qs.filter(variant__aircraft_type__kind=kind)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = list(page.object_list)
    count_of = selectors.aircraft_counters(rows, now)
    flying = selectors.airborne_now([a.pk for a in rows], now)
    last = dict(
        Flight.objects.filter(aircraft__in=rows, landing__lte=now)
        .values("aircraft_id")
        .annotate(last=Max("landing"))
        .values_list("aircraft_id", "last")
    )
    airworthiness = {
        s.pk: s
        for s in forecasting.forecast(
            user=request.user,
            as_of=now,
            aircraft=AircraftModel.objects.filter(pk__in=[a.pk for a in rows]),
            stores=False,
        ).aircraft_status
    }
    table = [
        {
            "aircraft": a,
            "airworthiness": airworthiness.get(a.pk),
            "counters": count_of[a.pk],
            "airborne": a.pk in flying,
            "last_flight": last.get(a.pk),
        }
        for a in rows
    ]
    return render(
        request,
        "fleet/overview.html",
        {
            "rows": table,
            "page": page,
            "operators": operators,
            "variants": Variant.objects.restrict(request.user).select_related("aircraft_type"),
            "kinds": AssetKind.choices,
            "filters": {"operator": op, "variant": variant, "kind": kind},
            "now": now,
            "types": AircraftType.objects.restrict(request.user),
        },
    )


def _monthly_hours(aircraft: AircraftModel, now: dt.datetime) -> list[dict[str, object]]:
    """Flight hours per UTC month over the last 12 months, as bars for an inline SVG."""
    start = (
        now.replace(day=1, hour=0, minute=0, second=0, microsecond=0) - dt.timedelta(days=335)
    ).replace(day=1)
    hours: dict[tuple[int, int], float] = defaultdict(float)
    for takeoff, landing in Flight.objects.filter(
        aircraft=aircraft, landing__gte=start, landing__lte=now
    ).values_list("takeoff", "landing"):
        hours[(landing.year, landing.month)] += (landing - takeoff).total_seconds() / 3600
    months = []
    y, m = start.year, start.month
    for _ in range(12):
        months.append((y, m))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    peak = max([hours[k] for k in months] + [1.0])
    return [
        {
            "label": dt.date(k[0], k[1], 1).strftime("%b %y"),
            "hours": hours[k],
            "x": 10 + i * 50,
            "height": round(140 * hours[k] / peak, 1),
            "y": round(160 - 140 * hours[k] / peak, 1),
        }
        for i, k in enumerate(months)
    ]


def aircraft_detail(request: HttpRequest, pk: int) -> HttpResponse:
    aircraft = get_restricted_or_404(
        AircraftModel.objects.select_related("operator", "variant__aircraft_type"),
        request.user,
        pk=pk,
    )
    now = timezone.now()
    at, at_error = parse_instant(request.GET.get("at"), now)
    slots = selectors.configuration(aircraft, at)
    fitted_parts = [s.installation.part for s in slots if s.installation]
    part_counts = selectors.part_counters(fitted_parts, at)
    config = [
        {"slot": s, "counters": part_counts.get(s.installation.part_id) if s.installation else None}
        for s in slots
    ]
    airworthiness = forecasting.forecast(
        user=request.user,
        as_of=now,
        aircraft=AircraftModel.objects.filter(pk=aircraft.pk),
        stores=False,
        limit=0,
    ).aircraft_status
    context = {
        "aircraft": aircraft,
        "airworthiness": airworthiness[0] if airworthiness else None,
        "at": at,
        "at_error": at_error,
        "is_now": at == now,
        "config": config,
        "counters_now": selectors.aircraft_counters([aircraft], now)[aircraft.pk],
        "counters_at": selectors.aircraft_counters([aircraft], at)[aircraft.pk],
    }
    if request.htmx and request.GET.get("panel") == "configuration":
        return render(request, "fleet/_configuration.html", context)
    history = (
        Installation.objects.restrict(request.user)
        .filter(aircraft=aircraft)
        .select_related("part__part_number", "position")
        .order_by("-installed_at", "-id")
    )
    flights = Flight.objects.restrict(request.user).filter(aircraft=aircraft)
    stats = flights.aggregate(n=Count("id"), first=Min("takeoff"), last=Max("landing"))
    context |= {
        "work": _work_of(aircraft, request.user),
        "history": history,
        "flights": flights.order_by("-takeoff")[:30],
        "flight_stats": stats,
        "monthly": _monthly_hours(aircraft, now),
        "airborne": bool(selectors.airborne_now([aircraft.pk], now)),
    }
    return render(request, "fleet/aircraft_detail.html", context)


def _work_of(aircraft: AircraftModel, user: Any) -> dict[str, int]:
    """Counts for the links to the aircraft's work packages and defects (the work pages)."""
    from kanat.work.models import Defect, DefectStatus, PackageStatus, WorkPackage

    packages = WorkPackage.objects.restrict(user).filter(aircraft=aircraft)
    return {
        "packages": packages.count(),
        "in_hand": packages.exclude(status=PackageStatus.RELEASED).count(),
        "defects": Defect.objects.restrict(user)
        .filter(aircraft=aircraft, status__in=[DefectStatus.OPEN, DefectStatus.DEFERRED])
        .count(),
    }


def part_list(request: HttpRequest) -> HttpResponse:
    qs = Part.objects.restrict(request.user).select_related("part_number", "operator")
    q = request.GET.get("q", "").strip()
    if q:
        qs = qs.filter(serial__icontains=q) | qs.filter(part_number__pn__icontains=q)
    page = Paginator(qs.order_by("part_number__pn", "serial"), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    rows = list(page.object_list)
    now = timezone.now()
    where = selectors.current_installations(Part.objects.filter(pk__in=[p.pk for p in rows]))
    count_of = selectors.part_counters(rows, now)
    table = [{"part": p, "where": where.get(p.pk), "counters": count_of[p.pk]} for p in rows]
    return render(request, "fleet/part_list.html", {"rows": table, "page": page, "q": q})


def part_detail(request: HttpRequest, pk: int) -> HttpResponse:
    part = get_restricted_or_404(
        Part.objects.select_related("part_number", "operator"), request.user, pk=pk
    )
    now = timezone.now()
    visible = (
        set(AircraftModel.objects.restrict(request.user).values_list("pk", flat=True))
        if request.user.operator_id
        else None
    )
    story = []
    installations = list(
        Installation.objects.filter(part=part)
        .select_related("aircraft__variant", "aircraft__operator", "position")
        .order_by("installed_at", "id")
    )
    # the part's counters at every fitting and removal, and now: one batch
    instants = (
        [i.installed_at for i in installations]
        + [i.removed_at for i in installations if i.removed_at]
        + [now]
    )
    at = dict(zip(instants, selectors.part_counters_at(part, instants), strict=True))
    for inst in installations:
        story.append(
            {
                "inst": inst,
                # another operator's aircraft is not disclosed, only that the part was away
                "hidden": visible is not None and inst.aircraft_id not in visible,
                "at_fit": at[inst.installed_at],
                "at_off": at[inst.removed_at] if inst.removed_at else None,
            }
        )
    return render(
        request,
        "fleet/part_detail.html",
        {
            "part": part,
            "story": story,
            "counters": at[now],
            "now": now,
        },
    )
