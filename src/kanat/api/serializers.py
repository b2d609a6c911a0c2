from __future__ import annotations

from typing import Any

from rest_framework import serializers

from kanat.api.base import RestrictedPrimaryKeyRelatedField
from kanat.core.models import Operator
from kanat.fleet.models import (
    Aircraft,
    AircraftType,
    Flight,
    Installation,
    Part,
    PartNumber,
    Position,
    RemovalReason,
    Variant,
)


class OperatorSerializer(serializers.ModelSerializer):
    class Meta:
        model = Operator
        fields = ["id", "code", "name", "country"]


class AircraftTypeSerializer(serializers.ModelSerializer):
    class Meta:
        model = AircraftType
        fields = ["id", "code", "name", "manufacturer", "kind", "notes"]


class PositionSerializer(serializers.ModelSerializer):
    parent = serializers.SlugRelatedField(slug_field="code", read_only=True)
    part_numbers = serializers.SlugRelatedField(slug_field="pn", many=True, read_only=True)

    class Meta:
        model = Position
        fields = ["id", "code", "name", "ata", "parent", "part_numbers"]


class VariantSerializer(serializers.ModelSerializer):
    type = serializers.SlugRelatedField(source="aircraft_type", slug_field="code", read_only=True)
    positions = PositionSerializer(many=True, read_only=True)

    class Meta:
        model = Variant
        fields = ["id", "code", "type", "name", "description", "figures", "positions"]


class PartNumberSerializer(serializers.ModelSerializer):
    class Meta:
        model = PartNumber
        fields = ["id", "pn", "description", "tracking", "manufacturer", "ata", "invented"]


class CountersMixin(serializers.Serializer):
    """``fh``/``fc``: counters at the request's instant (``?at=``, default now), computed
    for the whole page at once by the view and passed in the context."""

    fh = serializers.SerializerMethodField(help_text="Flight hours at the instant (default now)")
    fc = serializers.SerializerMethodField(help_text="Flight cycles at the instant")

    def _counters(self, obj: Any) -> Any:
        return self.context["counters"][obj.pk]

    def get_fh(self, obj: Any) -> float:
        return self._counters(obj).fh

    def get_fc(self, obj: Any) -> int:
        return self._counters(obj).fc


class AircraftSerializer(CountersMixin, serializers.ModelSerializer):
    variant = serializers.SlugRelatedField(slug_field="code", read_only=True)
    type = serializers.CharField(source="variant.aircraft_type.code", read_only=True)
    kind = serializers.CharField(source="variant.aircraft_type.kind", read_only=True)
    operator = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = Aircraft
        fields = [
            "id",
            "serial",
            "type",
            "kind",
            "variant",
            "operator",
            "delivered",
            "status",
            "opening_fh",
            "opening_fc",
            "planned_fh_per_day",
            "planned_fc_per_day",
            "fh",
            "fc",
        ]


class PartSerializer(CountersMixin, serializers.ModelSerializer):
    pn = serializers.CharField(source="part_number.pn", read_only=True)
    invented = serializers.BooleanField(
        source="part_number.invented", read_only=True, help_text="an invented (demo) part number"
    )
    operator = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = Part
        fields = [
            "id",
            "pn",
            "invented",
            "serial",
            "manufactured",
            "operator",
            "opening_fh",
            "opening_fc",
            "fh",
            "fc",
        ]


class InstallationSerializer(serializers.ModelSerializer):
    part = RestrictedPrimaryKeyRelatedField(queryset=Part.objects.all())
    aircraft = RestrictedPrimaryKeyRelatedField(queryset=Aircraft.objects.all())
    # every reference goes through restrict(user) (positions are shared reference data)
    position = RestrictedPrimaryKeyRelatedField(queryset=Position.objects.all())
    part_label = serializers.CharField(source="part.__str__", read_only=True)
    aircraft_serial = serializers.CharField(source="aircraft.serial", read_only=True)
    position_code = serializers.CharField(source="position.code", read_only=True)

    class Meta:
        model = Installation
        fields = [
            "id",
            "part",
            "part_label",
            "aircraft",
            "aircraft_serial",
            "position",
            "position_code",
            "installed_at",
            "removed_at",
            "removal_reason",
            "reference",
        ]
        read_only_fields = ["removed_at", "removal_reason"]


class RemovalSerializer(serializers.Serializer):
    removed_at = serializers.DateTimeField()
    reason = serializers.ChoiceField(choices=RemovalReason.choices)
    reference = serializers.CharField(required=False, allow_blank=True, default="")


class FlightSerializer(serializers.ModelSerializer):
    aircraft = RestrictedPrimaryKeyRelatedField(queryset=Aircraft.objects.all())
    aircraft_serial = serializers.CharField(source="aircraft.serial", read_only=True)
    hours = serializers.FloatField(source="airborne_hours", read_only=True)

    class Meta:
        model = Flight
        fields = [
            "id",
            "aircraft",
            "aircraft_serial",
            "takeoff",
            "landing",
            "cycles",
            "hours",
            "source",
            "source_ref",
        ]
        read_only_fields = ["source"]
