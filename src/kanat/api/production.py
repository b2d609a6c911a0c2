"""The production API (registered on the router by ``register``): read endpoints of the
engineering data (part masters, products, BOM revisions with their explosion and
comparison, work centres, routings) and of production (build orders, non-conformance
reports).

Engineering data is the hub's own (the joint venture's manufacturing data under licence):
hub staff read it; operator staff get 403 on every endpoint, whatever the id.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, permissions, serializers
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter

from kanat.api.base import RestrictedReadOnlyViewSet
from kanat.production import selectors
from kanat.production.models import (
    Bom,
    BuildOrder,
    NonConformance,
    Operation,
    PartMaster,
    Product,
    Routing,
    WorkCentre,
)
from kanat.production.structure import CycleError, Line


class IsHubStaff(permissions.BasePermission):
    message = "Engineering data is read by hub staff only."

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.operator_id is None)


class PartMasterSerializer(serializers.ModelSerializer):
    pn = serializers.CharField(source="part_number.pn")
    description = serializers.CharField(source="part_number.description")
    tracking = serializers.CharField(source="part_number.tracking")

    class Meta:
        model = PartMaster
        fields = [
            "id",
            "part_number",
            "pn",
            "description",
            "tracking",
            "revision",
            "make_buy",
            "origin",
            "uom",
            "shelf_life_days",
            "updated_at",
        ]


class ProductSerializer(serializers.ModelSerializer):
    pn = serializers.CharField(source="part_number.pn")

    class Meta:
        model = Product
        fields = ["id", "code", "name", "kind", "part_number", "pn", "variant"]


class BomSummarySerializer(serializers.ModelSerializer):
    pn = serializers.CharField(source="part_number.pn")

    class Meta:
        model = Bom
        fields = [
            "id",
            "part_number",
            "pn",
            "number",
            "revision",
            "status",
            "based_on",
            "effectivity",
            "reason",
            "created_at",
            "released_at",
            "superseded_at",
        ]


class BomLineSerializer(serializers.Serializer):
    find_number = serializers.IntegerField()
    child = serializers.IntegerField(source="child_id")
    pn = serializers.CharField(source="child.pn")
    quantity = serializers.DecimalField(max_digits=14, decimal_places=4)
    uom = serializers.CharField()
    ref_des = serializers.CharField()
    note = serializers.CharField()


class BomSerializer(BomSummarySerializer):
    lines = BomLineSerializer(many=True, read_only=True)

    class Meta(BomSummarySerializer.Meta):
        fields = [*BomSummarySerializer.Meta.fields, "lines"]


class WorkCentreSerializer(serializers.ModelSerializer):
    class Meta:
        model = WorkCentre
        fields = ["id", "code", "name"]


class OperationSerializer(serializers.ModelSerializer):
    work_centre = serializers.CharField(source="work_centre.code")

    class Meta:
        model = Operation
        fields = [
            "seq",
            "work_centre",
            "description",
            "standard_hours",
            "inspection_point",
            "inspection",
        ]


class RoutingSerializer(serializers.ModelSerializer):
    pn = serializers.CharField(source="part_number.pn")
    operations = OperationSerializer(many=True, read_only=True)

    class Meta:
        model = Routing
        fields = ["id", "part_number", "pn", "number", "reason", "created_at", "operations"]


class EngineeringViewSet(RestrictedReadOnlyViewSet):
    permission_classes = [IsHubStaff]


class PartMasterViewSet(EngineeringViewSet):
    queryset_base = PartMaster.objects.select_related("part_number")
    serializer_class = PartMasterSerializer
    filterset_fields = ["make_buy", "origin", "uom"]


class ProductViewSet(EngineeringViewSet):
    queryset_base = Product.objects.select_related("part_number")
    serializer_class = ProductSerializer
    filterset_fields = ["code", "kind"]


def _num(value: Decimal) -> str:
    """A quantity without trailing zeros: 48.00000000 → "48", 0.10 → "0.1"."""
    return format(value.normalize(), "f")


def _line(line: Line) -> dict[str, Any]:
    return {
        "find_number": line.find_number,
        "pn": line.child,
        "quantity": str(line.quantity),
        "uom": line.uom,
        "ref_des": line.ref_des,
    }


class BomViewSet(EngineeringViewSet):
    """BOM revisions (filter by ``part_number`` and ``status``); a revision's lines, its
    multi-level explosion and its comparison with another revision."""

    queryset_base = Bom.objects.select_related("part_number").prefetch_related("lines__child")
    filterset_fields = ["part_number", "status"]

    def get_serializer_class(self) -> Any:
        return BomSummarySerializer if self.action == "list" else BomSerializer

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "quantity", OpenApiTypes.NUMBER, description="Assemblies to explode (default 1)"
            )
        ],
        responses=OpenApiTypes.OBJECT,
    )
    @action(detail=True, methods=["get"])
    def explode(self, request: Request, pk: Any = None) -> Response:
        bom = self.get_object()
        raw = request.query_params.get("quantity", "1")
        try:
            quantity = Decimal(raw)
        except InvalidOperation:
            raise exceptions.ValidationError({"quantity": f"{raw!r} is not a number"}) from None
        if not quantity.is_finite() or quantity <= 0:
            raise exceptions.ValidationError({"quantity": "more than 0"})
        try:
            rows = selectors.explode_bom(bom, quantity=quantity)
        except CycleError as exc:
            raise exceptions.ValidationError({"lines": str(exc)}) from None
        return Response(
            {
                "bom": bom.pk,
                "pn": bom.part_number.pn,
                "revision": bom.revision,
                "quantity": _num(quantity),
                "rows": [
                    {
                        "level": r.level,
                        "path": list(r.path),
                        "find_number": r.find_number,
                        "pn": r.child,
                        "quantity_per": _num(r.quantity_per),
                        "extended": _num(r.extended),
                        "uom": r.uom,
                        "ref_des": r.ref_des,
                        "is_assembly": r.is_assembly,
                    }
                    for r in rows
                ],
            }
        )

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "with", OpenApiTypes.INT, required=True, description="The other revision's id"
            )
        ],
        responses=OpenApiTypes.OBJECT,
    )
    @action(detail=True, methods=["get"])
    def compare(self, request: Request, pk: Any = None) -> Response:
        """From this revision to the one named by ``with``: lines added, removed, changed."""
        bom = self.get_object()
        other = self.get_queryset().filter(pk=request.query_params.get("with") or 0).first()
        if other is None or not str(request.query_params.get("with", "")).isdigit():
            raise exceptions.ValidationError({"with": "name another BOM revision by its id"})
        diff = selectors.compare_revisions(bom, other)
        return Response(
            {
                "from": bom.pk,
                "to": other.pk,
                "added": [_line(x) for x in diff.added],
                "removed": [_line(x) for x in diff.removed],
                "changed": [
                    {
                        "find_number": c.find_number,
                        "pn": c.child,
                        "fields": list(c.fields),
                        "before": _line(c.before),
                        "after": _line(c.after),
                    }
                    for c in diff.changed
                ],
            }
        )


class WorkCentreViewSet(EngineeringViewSet):
    queryset_base = WorkCentre.objects.all()
    serializer_class = WorkCentreSerializer
    filterset_fields = ["code"]


class RoutingViewSet(EngineeringViewSet):
    queryset_base = Routing.objects.select_related("part_number").prefetch_related(
        "operations__work_centre"
    )
    serializer_class = RoutingSerializer
    filterset_fields = ["part_number"]


class BuildOrderSerializer(serializers.ModelSerializer):
    product_code = serializers.CharField(source="product.code")
    bom_revision = serializers.CharField(source="bom.revision")
    routing_number = serializers.IntegerField(source="routing.number")
    operator_code = serializers.CharField(source="operator.code", default=None)
    serials = serializers.SerializerMethodField()

    class Meta:
        model = BuildOrder
        fields = [
            "id",
            "number",
            "product",
            "product_code",
            "bom",
            "bom_revision",
            "routing",
            "routing_number",
            "quantity",
            "serials",
            "status",
            "operator",
            "operator_code",
            "planned_start",
            "planned_end",
            "created_at",
            "released_at",
            "completed_at",
            "accepted_at",
        ]

    def get_serials(self, obj: BuildOrder) -> list[str]:
        return [o.serial for o in obj.outputs.all()]


class NonConformanceSerializer(serializers.ModelSerializer):
    order_number = serializers.CharField(source="order.number")
    operation_seq = serializers.IntegerField(source="operation.seq", default=None)

    class Meta:
        model = NonConformance
        fields = [
            "id",
            "number",
            "order",
            "order_number",
            "operation_seq",
            "description",
            "raised_at",
            "disposition",
            "disposition_note",
            "dispositioned_at",
            "concession",
            "concession_approved_by",
            "concession_approved_at",
            "status",
            "closed_at",
        ]


class BuildOrderViewSet(EngineeringViewSet):
    """Build orders, hub staff only for now (see the module docstring)."""

    queryset_base = BuildOrder.objects.select_related(
        "product", "bom", "routing", "operator"
    ).prefetch_related("outputs")
    serializer_class = BuildOrderSerializer


class NonConformanceViewSet(EngineeringViewSet):
    queryset_base = NonConformance.objects.select_related("order", "operation")
    serializer_class = NonConformanceSerializer


def register(router: DefaultRouter) -> None:
    """Add this app's viewsets to the API router."""
    router.register("part-masters", PartMasterViewSet, basename="partmaster")
    router.register("products", ProductViewSet, basename="product")
    router.register("boms", BomViewSet, basename="bom")
    router.register("work-centres", WorkCentreViewSet, basename="workcentre")
    router.register("routings", RoutingViewSet, basename="routing")
    router.register("build-orders", BuildOrderViewSet, basename="buildorder")
    router.register("ncrs", NonConformanceViewSet, basename="nonconformance")
