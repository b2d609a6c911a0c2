from __future__ import annotations

from typing import Any

import django_filters as filters
from django.db.models import Q, QuerySet

from kanat.fleet.models import Aircraft, Flight, Installation, Part


class AircraftFilter(filters.FilterSet):
    operator = filters.CharFilter(field_name="operator__code")
    variant = filters.CharFilter(field_name="variant__code")
    type = filters.CharFilter(field_name="variant__aircraft_type__code")
    kind = filters.CharFilter(field_name="variant__aircraft_type__kind")
    serial = filters.CharFilter(lookup_expr="icontains")

    class Meta:
        model = Aircraft
        fields = ["operator", "variant", "type", "kind", "serial", "status"]


class PartFilter(filters.FilterSet):
    pn = filters.CharFilter(field_name="part_number__pn")
    serial = filters.CharFilter(lookup_expr="icontains")
    operator = filters.CharFilter(field_name="operator__code")
    installed = filters.BooleanFilter(method="filter_installed")

    class Meta:
        model = Part
        fields = ["pn", "serial", "operator", "installed"]

    def filter_installed(self, qs: QuerySet[Part], name: str, value: Any) -> QuerySet[Part]:
        fitted = Installation.objects.filter(removed_at__isnull=True).values("part_id")
        return qs.filter(pk__in=fitted) if value else qs.exclude(pk__in=fitted)


class InstallationFilter(filters.FilterSet):
    aircraft = filters.NumberFilter(field_name="aircraft_id")
    serial = filters.CharFilter(field_name="aircraft__serial")
    part = filters.NumberFilter(field_name="part_id")
    open = filters.BooleanFilter(field_name="removed_at", lookup_expr="isnull")
    at = filters.IsoDateTimeFilter(method="filter_at", label="in force at this instant")

    class Meta:
        model = Installation
        fields = ["aircraft", "serial", "part", "open", "at"]

    def filter_at(
        self, qs: QuerySet[Installation], name: str, value: Any
    ) -> QuerySet[Installation]:
        return qs.filter(
            Q(installed_at__lte=value) & (Q(removed_at__isnull=True) | Q(removed_at__gt=value))
        )


class FlightFilter(filters.FilterSet):
    aircraft = filters.NumberFilter(field_name="aircraft_id")
    serial = filters.CharFilter(field_name="aircraft__serial")
    landed_after = filters.IsoDateTimeFilter(field_name="landing", lookup_expr="gte")
    landed_before = filters.IsoDateTimeFilter(field_name="landing", lookup_expr="lte")

    class Meta:
        model = Flight
        fields = ["aircraft", "serial", "source", "landed_after", "landed_before"]
