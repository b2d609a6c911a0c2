"""Forecast endpoints: the fleet forecast in the bundle.md JSON, and one aircraft's due
list with the explanation of each item. Restricted to the caller's aircraft."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import StreamingHttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from kanat.core.tenancy import get_restricted_or_404
from kanat.fleet.models import Aircraft
from kanat.maintenance import forecasting
from kanat.maintenance.jsonout import write_json

PARAMS = [
    OpenApiParameter("as_of", OpenApiTypes.DATETIME, description="instant (default now)"),
    OpenApiParameter("horizon", OpenApiTypes.INT, description="days (default 30)"),
]


def _params(request: Request) -> tuple[dt.datetime, int]:
    raw = request.query_params.get("as_of")
    as_of = timezone.now()
    if raw:
        try:
            as_of = dt.datetime.fromisoformat(raw)
        except ValueError:
            raise exceptions.ValidationError(
                {"as_of": f"{raw!r} is not an ISO 8601 instant"}
            ) from None
        if as_of.tzinfo is None:
            raise exceptions.ValidationError({"as_of": f"{raw!r} has no time zone offset (add Z)"})
    raw_h = request.query_params.get("horizon", "30")
    try:
        horizon = int(raw_h)
        if horizon < 0:
            raise ValueError
    except ValueError:
        raise exceptions.ValidationError(
            {"horizon": f"{raw_h!r} is not a number of days"}
        ) from None
    return as_of, horizon


class ForecastView(APIView):
    """The forecast of the caller's fleet as of an instant, exactly as
    ``kanat forecast --format json`` prints it (bundle.md)."""

    @extend_schema(
        parameters=PARAMS
        + [
            OpenApiParameter("aircraft", OpenApiTypes.STR, description="one aircraft's serial"),
            OpenApiParameter("operator", OpenApiTypes.STR, description="operator code"),
        ],
        responses=OpenApiTypes.OBJECT,
    )
    def get(self, request: Request) -> StreamingHttpResponse:
        as_of, horizon = _params(request)
        serial = request.query_params.get("aircraft")
        code = request.query_params.get("operator")
        aircraft = None  # hub staff, whole fleet: every aircraft and part
        if request.user.operator_id or serial or code:
            aircraft = Aircraft.objects.restrict(request.user)
            if serial:
                aircraft = aircraft.filter(serial=serial)
            if code:
                aircraft = aircraft.filter(operator__code=code)
        g = forecasting.gather(
            as_of=as_of, aircraft=aircraft, parts_in_stores=not serial, with_ids=False
        )
        r = forecasting.run_core(g, horizon=horizon)
        statuses = [
            {"aircraft": s.aircraft, "status": s.status, "reasons": s.reasons}
            for s in forecasting.aircraft_statuses(g, r)
        ]
        # streamed: a whole fleet's forecast is hundreds of megabytes
        return StreamingHttpResponse(write_json(g, r, statuses), content_type="application/json")


class AircraftDueView(APIView):
    """One aircraft's due items with their explanations, and its airworthiness."""

    @extend_schema(parameters=PARAMS, responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, pk: int, **kwargs: Any) -> Response:
        aircraft = get_restricted_or_404(Aircraft.objects.all(), request.user, pk=pk)
        as_of, horizon = _params(request)
        result = forecasting.forecast(
            user=request.user,
            as_of=as_of,
            horizon=horizon,
            aircraft=Aircraft.objects.filter(pk=aircraft.pk),
            stores=False,
            explain=True,
        )
        body = forecasting.as_json(result)
        for item, row in zip(body["items"], result.rows, strict=True):
            item["title"] = row.title
            item["ata"] = row.ata
            item["explanation"] = row.explanation
        return Response(body)
