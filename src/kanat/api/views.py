"""REST endpoints. Reads go through restrict(user); writes call the fleet services."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.viewsets import GenericViewSet

from kanat.api import filters, serializers
from kanat.api.base import RestrictedReadOnlyViewSet, RestrictedViewSetMixin
from kanat.core.models import Operator
from kanat.fleet import selectors, services
from kanat.fleet.models import (
    Aircraft,
    AircraftType,
    Flight,
    FlightSource,
    Installation,
    Part,
    PartNumber,
    Variant,
)

AT_PARAM = OpenApiParameter(
    "at", OpenApiTypes.DATETIME, description="Counters as of this instant (ISO 8601; default now)"
)


def _instant(request: Request) -> dt.datetime:
    raw = request.query_params.get("at")
    if not raw:
        return timezone.now()
    try:
        value = dt.datetime.fromisoformat(raw)
    except ValueError:
        raise exceptions.ValidationError({"at": f"{raw!r} is not an ISO 8601 instant"}) from None
    if value.tzinfo is None:
        raise exceptions.ValidationError({"at": f"{raw!r} has no time zone offset (add Z)"})
    return value


class CountersListMixin:
    """Compute the counters of the whole page in one batch (queries do not grow with it)."""

    counters_fn: Any = None

    def get_serializer_context(self) -> dict[str, Any]:
        context = super().get_serializer_context()  # type: ignore[misc]
        context.setdefault("counters", {})
        return context

    def _with_counters(self, objects: list[Any]) -> dict[str, Any]:
        context = self.get_serializer_context()
        context["counters"] = type(self).counters_fn(objects, _instant(self.request))  # type: ignore[attr-defined]
        return context

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        queryset = self.filter_queryset(self.get_queryset())  # type: ignore[attr-defined]
        page = self.paginate_queryset(queryset)  # type: ignore[attr-defined]
        objects = list(page if page is not None else queryset)
        data = self.get_serializer_class()(  # type: ignore[attr-defined]
            objects, many=True, context=self._with_counters(objects)
        ).data
        return self.get_paginated_response(data) if page is not None else Response(data)  # type: ignore[attr-defined]

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        obj = self.get_object()  # type: ignore[attr-defined]
        return Response(
            self.get_serializer_class()(obj, context=self._with_counters([obj])).data  # type: ignore[attr-defined]
        )


class OperatorViewSet(RestrictedReadOnlyViewSet):
    """Operators (tenants). Operator staff see their own only."""

    queryset_base = Operator.objects.all()
    serializer_class = serializers.OperatorSerializer
    filterset_fields = ["code"]


class AircraftTypeViewSet(RestrictedReadOnlyViewSet):
    queryset_base = AircraftType.objects.all()
    serializer_class = serializers.AircraftTypeSerializer
    filterset_fields = ["code", "kind"]


class VariantViewSet(RestrictedReadOnlyViewSet):
    """Variants with their position trees (reference data shared by every operator)."""

    queryset_base = Variant.objects.select_related("aircraft_type").prefetch_related(
        "positions__part_numbers", "positions__parent"
    )
    serializer_class = serializers.VariantSerializer
    filterset_fields = ["code"]


class PartNumberViewSet(RestrictedReadOnlyViewSet):
    queryset_base = PartNumber.objects.all()
    serializer_class = serializers.PartNumberSerializer
    filterset_fields = ["pn", "tracking"]


@extend_schema_view(
    list=extend_schema(parameters=[AT_PARAM]), retrieve=extend_schema(parameters=[AT_PARAM])
)
class AircraftViewSet(CountersListMixin, RestrictedReadOnlyViewSet):
    """Aircraft and ground assets with their counters (FH/FC) as of ``at``."""

    queryset_base = Aircraft.objects.select_related("variant__aircraft_type", "operator")
    serializer_class = serializers.AircraftSerializer
    filterset_class = filters.AircraftFilter
    ordering_fields = ["serial", "delivered"]
    counters_fn = staticmethod(selectors.aircraft_counters)


@extend_schema_view(
    list=extend_schema(parameters=[AT_PARAM]), retrieve=extend_schema(parameters=[AT_PARAM])
)
class PartViewSet(CountersListMixin, RestrictedReadOnlyViewSet):
    """Serialised parts with their counters since new as of ``at``."""

    queryset_base = Part.objects.select_related("part_number", "operator")
    serializer_class = serializers.PartSerializer
    filterset_class = filters.PartFilter
    ordering_fields = ["serial", "manufactured"]
    counters_fn = staticmethod(selectors.part_counters)


class InstallationViewSet(
    RestrictedViewSetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    GenericViewSet,
):
    """Time-bounded installations. POST fits a part (through the fleet service);
    ``remove`` closes an open installation. Rows are never edited or deleted."""

    queryset_base = Installation.objects.select_related("part__part_number", "aircraft", "position")
    serializer_class = serializers.InstallationSerializer
    filterset_class = filters.InstallationFilter
    ordering_fields = ["installed_at"]

    def perform_create(self, serializer: Any) -> None:
        closing = sorted({"removed_at", "removal_reason"} & set(self.request.data))
        if closing:
            raise exceptions.ValidationError(
                {
                    f: "an installation is created open; close it with its remove action"
                    for f in closing
                }
            )
        data = serializer.validated_data
        serializer.instance = services.install_part(
            actor=self.request.user,
            part=data["part"],
            aircraft=data["aircraft"],
            position=data["position"],
            installed_at=data["installed_at"],
            reference=data.get("reference", ""),
        )

    @extend_schema(
        request=serializers.RemovalSerializer, responses=serializers.InstallationSerializer
    )
    @action(detail=True, methods=["post"])
    def remove(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        installation = self.get_object()
        body = serializers.RemovalSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        closed = services.remove_part(
            actor=request.user,
            part=installation.part,
            removed_at=body.validated_data["removed_at"],
            reason=body.validated_data["reason"],
            reference=body.validated_data["reference"],
            installation=installation,
        )
        return Response(self.get_serializer(closed).data)


class FlightViewSet(
    RestrictedViewSetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    GenericViewSet,
):
    """Flights. POST records one (through the fleet service; overlaps are refused)."""

    queryset_base = Flight.objects.select_related("aircraft")
    serializer_class = serializers.FlightSerializer
    filterset_class = filters.FlightFilter
    ordering_fields = ["takeoff", "landing"]

    def perform_create(self, serializer: Any) -> None:
        data = serializer.validated_data
        serializer.instance = services.record_flight(
            actor=self.request.user,
            aircraft=data["aircraft"],
            takeoff=data["takeoff"],
            landing=data["landing"],
            cycles=data.get("cycles", 1),
            source=FlightSource.MANUAL,
            source_ref=data.get("source_ref", ""),
        )
