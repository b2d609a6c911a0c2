"""Pages of the maintenance forecast: fleet due list, an aircraft's due list with the
explanation of each item, and the planning timeline. Restricted through restrict()."""

from __future__ import annotations

import datetime as dt

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from kanat.core.models import Operator
from kanat.core.tenancy import get_restricted_or_404
from kanat.fleet.models import Aircraft
from kanat.fleet.views import parse_instant
from kanat.maintenance import forecasting
from kanat.maintenance.models import TaskRevision
from kanat.work import selectors as work_selectors
from kanat.work.models import Defect

STATUSES = ["overdue", "in_tolerance", "due_soon", "ok"]
ROW_LIMIT = 2000


def _horizon(request: HttpRequest) -> tuple[int, str]:
    raw = request.GET.get("horizon", "")
    if not raw:
        return 30, ""
    try:
        value = int(raw)
        if not 0 <= value <= 3650:
            raise ValueError
    except ValueError:
        return 30, f"“{raw}” is not a horizon in days (0–3650); using 30."
    return value, ""


def due_list(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    as_of, as_of_error = parse_instant(request.GET.get("as_of"), now)
    horizon, horizon_error = _horizon(request)
    aircraft = Aircraft.objects.restrict(request.user)
    f = {k: request.GET.get(k, "") for k in ("operator", "aircraft", "ata", "status")}
    if f["operator"]:
        aircraft = aircraft.filter(operator__code=f["operator"])
    if f["aircraft"]:
        aircraft = aircraft.filter(serial=f["aircraft"])
    if f["status"] in STATUSES:
        wanted: set[str] | None = {f["status"]}
    elif request.GET.get("all"):
        wanted = None
    else:
        wanted = {"overdue", "in_tolerance", "due_soon"}
    result = forecasting.forecast(
        user=request.user,
        as_of=as_of,
        horizon=horizon,
        aircraft=aircraft,
        statuses=wanted,
        ata=f["ata"] or None,
        limit=ROW_LIMIT,
    )
    deferred = work_selectors.deferred_within(
        Defect.objects.restrict(request.user)
        .filter(aircraft__in=aircraft)
        .select_related("aircraft"),
        as_of,
        horizon,
    )
    if f["ata"]:
        deferred = deferred.filter(ata__startswith=f["ata"][:2])
    return render(
        request,
        "maintenance/due_list.html",
        {
            "deferred": [(d, work_selectors.clock(d, as_of)) for d in deferred[:ROW_LIMIT]],
            "rows": result.rows,
            "truncated": result.total > ROW_LIMIT,
            "total": result.total,
            "limit": ROW_LIMIT,
            "counts": result.counts,
            "grounded": [a for a in result.aircraft_status if a.status == "grounded"],
            "as_of": as_of,
            "horizon": horizon,
            "errors": [e for e in (as_of_error, horizon_error) if e],
            "filters": f,
            "show_all": bool(request.GET.get("all")),
            "operators": Operator.objects.restrict(request.user),
            "atas": result.atas,
            "statuses": STATUSES,
        },
    )


def aircraft_due(request: HttpRequest, pk: int) -> HttpResponse:
    aircraft = get_restricted_or_404(
        Aircraft.objects.select_related("operator", "variant__aircraft_type"), request.user, pk=pk
    )
    now = timezone.now()
    as_of, as_of_error = parse_instant(request.GET.get("as_of"), now)
    horizon, horizon_error = _horizon(request)
    result = forecasting.forecast(
        user=request.user,
        as_of=as_of,
        horizon=horizon,
        aircraft=Aircraft.objects.filter(pk=aircraft.pk),
        stores=False,
        explain=True,
    )
    status = result.aircraft_status[0] if result.aircraft_status else None
    return render(
        request,
        "maintenance/aircraft_due.html",
        {
            "aircraft": aircraft,
            "rows": result.rows,
            "status": status,
            "as_of": as_of,
            "horizon": horizon,
            "errors": [e for e in (as_of_error, horizon_error) if e],
            "invented": TaskRevision.objects.filter(invented=True).exists(),
        },
    )


def planning(request: HttpRequest) -> HttpResponse:
    """A timeline of due dates per aircraft over a range of days (inline SVG); statuses
    use the usual due-soon horizon."""
    now = timezone.now()
    as_of, as_of_error = parse_instant(request.GET.get("as_of"), now)
    horizon, horizon_error = _horizon(request)
    days, days_error = _days(request)
    aircraft = Aircraft.objects.restrict(request.user)
    if request.GET.get("operator"):
        aircraft = aircraft.filter(operator__code=request.GET["operator"])
    result = forecasting.forecast(
        user=request.user, as_of=as_of, horizon=horizon, aircraft=aircraft, stores=False
    )
    chart = timeline_chart(result, as_of.date(), days)
    return render(
        request,
        "maintenance/planning.html",
        {
            "chart": chart,
            "as_of": as_of,
            "horizon": horizon,
            "days": days,
            "errors": [e for e in (as_of_error, horizon_error, days_error) if e],
            "operators": Operator.objects.restrict(request.user),
            "operator": request.GET.get("operator", ""),
        },
    )


def _days(request: HttpRequest) -> tuple[int, str]:
    raw = request.GET.get("days", "")
    if not raw:
        return 90, ""
    try:
        value = int(raw)
        if not 7 <= value <= 730:
            raise ValueError
    except ValueError:
        return 90, f"“{raw}” is not a range in days (7–730); showing 90."
    return value, ""


def timeline_chart(result: forecasting.Forecast, start: dt.date, horizon: int) -> dict[str, object]:
    """Geometry of the planning chart: one lane per aircraft, a mark per due item."""
    left, width, lane = 130, 900, 26
    days = max(horizon, 1)
    lanes: dict[str, list[forecasting.DueRow]] = {}
    for row in result.rows:
        due_in_view = row.due_date is not None and (row.due_date - start).days <= days
        if row.aircraft_serial and due_in_view:
            lanes.setdefault(row.aircraft_serial, []).append(row)
    status_of = {a.aircraft: a.status for a in result.aircraft_status}
    serials = sorted(status_of)
    marks, labels = [], []
    for i, serial in enumerate(serials):
        y = 30 + i * lane
        labels.append(
            {
                "serial": serial,
                "y": y + 4,
                "grounded": status_of[serial] == "grounded",
                "pk": result.aircraft_pk.get(serial),
            }
        )
        for row in lanes.get(serial, []):
            offset = max((row.due_date - start).days, 0)  # overdue items sit at the left edge
            marks.append(
                {
                    "x": left + width * offset / days,
                    "y": y,
                    "status": row.status,
                    "title": " ".join(filter(None, [serial, row.task_code, row.part_label]))
                    + f": due {row.due_date.isoformat()} ({row.status_label})",
                }
            )
    ticks = []
    step = 7 if days <= 60 else 14 if days <= 120 else 30
    for d in range(0, days + 1, step):
        day = start + dt.timedelta(days=d)
        ticks.append({"x": left + width * d / days, "label": day.strftime("%d %b")})
    return {
        "width": left + width + 20,
        "height": 40 + len(serials) * lane,
        "left": left,
        "right": left + width,
        "marks": marks,
        "labels": labels,
        "ticks": ticks,
        "bottom": 30 + len(serials) * lane,
    }
