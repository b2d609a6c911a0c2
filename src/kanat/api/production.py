"""The production API (registered on the router by ``register``): read endpoints of the
engineering data (part masters, products, BOM revisions with their explosion and
comparison, work centres, routings) and of production (build orders, non-conformance
reports), and production's writes: build orders and NCRs created and moved on through
``kanat.production.build`` (POST actions; refusals as ``kanat.api.base`` maps them).

Engineering data is the hub's own (the joint venture's manufacturing data under licence):
hub staff read it; operator staff get 403 on every endpoint, whatever the id.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, permissions, serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter
from rest_framework.viewsets import ViewSet

from kanat.api.base import RestrictedPrimaryKeyRelatedField, RestrictedReadOnlyViewSet
from kanat.core.models import Operator
from kanat.production import build, selectors
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
from kanat.production.views_transfer import localisation_series, point


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


class BuildOrderCreateSerializer(serializers.Serializer):
    product = RestrictedPrimaryKeyRelatedField(queryset=Product.objects.all())
    quantity = serializers.IntegerField()
    serials = serializers.ListField(
        child=serializers.CharField(allow_blank=True), required=False, default=list
    )
    operator = RestrictedPrimaryKeyRelatedField(
        queryset=Operator.objects.all(), required=False, allow_null=True, default=None
    )
    planned_start = serializers.DateField(required=False, allow_null=True, default=None)
    planned_end = serializers.DateField(required=False, allow_null=True, default=None)


class SignOperationSerializer(serializers.Serializer):
    operation = serializers.IntegerField(help_text="The operation's sequence number")
    note = serializers.CharField(required=False, allow_blank=True, default="")


class MeasurementSerializer(serializers.Serializer):
    name = serializers.CharField()
    value = serializers.JSONField()
    lower = serializers.JSONField(required=False, allow_null=True, default=None)
    upper = serializers.JSONField(required=False, allow_null=True, default=None)
    unit = serializers.CharField(required=False, allow_blank=True, default="")


class InspectSerializer(SignOperationSerializer):
    measurements = MeasurementSerializer(many=True, required=False, default=list)
    passed = serializers.BooleanField(required=False, allow_null=True, default=None)


class NcrCreateSerializer(serializers.Serializer):
    order = RestrictedPrimaryKeyRelatedField(queryset=BuildOrder.objects.all())
    operation = serializers.IntegerField(
        required=False, allow_null=True, default=None, help_text="Sequence number, if any"
    )
    description = serializers.CharField(allow_blank=True)


class DispositionSerializer(serializers.Serializer):
    disposition = serializers.CharField()
    concession = serializers.BooleanField(required=False, default=False)
    note = serializers.CharField(required=False, allow_blank=True, default="")


class EmptySerializer(serializers.Serializer):
    pass


def _operation_of(order: BuildOrder, seq: int | None) -> Operation | None:
    """The operation of the order's routing with that sequence number (400 if none)."""
    if seq is None:
        return None
    found = order.routing.operations.filter(seq=seq).first()
    if found is None:
        raise exceptions.ValidationError(
            {"operation": f"{order.number}'s routing has no operation {seq}"}
        )
    return found


class BuildOrderViewSet(EngineeringViewSet):
    """Build orders, hub staff only for now (see the module docstring). ``POST`` creates
    one; the actions (each a ``kanat.production.build`` service, refusals naming the field)
    release it, reserve and issue its material, sign an operation, record an inspection,
    complete it and accept an aircraft into its operator's fleet."""

    queryset_base = BuildOrder.objects.select_related(
        "product", "bom", "routing", "operator"
    ).prefetch_related("outputs")
    serializer_class = BuildOrderSerializer
    request_serializers = {
        "create": BuildOrderCreateSerializer,
        "sign_operation": SignOperationSerializer,
        "inspect": InspectSerializer,
        "release": EmptySerializer,
        "reserve": EmptySerializer,
        "issue": EmptySerializer,
        "complete": EmptySerializer,
        "accept": EmptySerializer,
    }

    def get_serializer_class(self) -> Any:
        return self.request_serializers.get(self.action, BuildOrderSerializer)

    def _body(self, request: Request) -> dict[str, Any]:
        body = self.get_serializer(data=request.data)
        body.is_valid(raise_exception=True)
        return body.validated_data

    def _detail(self, pk: int, code: int = status.HTTP_200_OK, **extra: Any) -> Response:
        order = self.get_queryset().get(pk=pk)
        data = BuildOrderSerializer(order, context=self.get_serializer_context()).data
        return Response({**data, **extra}, status=code)

    @extend_schema(request=BuildOrderCreateSerializer, responses={201: BuildOrderSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        order = build.create_build_order(actor=request.user, **self._body(request))
        return self._detail(order.pk, status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=BuildOrderSerializer)
    @action(detail=True, methods=["post"])
    def release(self, request: Request, pk: Any = None) -> Response:
        order = build.release_build_order(actor=request.user, order=self.get_object())
        return self._detail(order.pk)

    @extend_schema(request=None, responses=BuildOrderSerializer)
    @action(detail=True, methods=["post"])
    def reserve(self, request: Request, pk: Any = None) -> Response:
        order = self.get_object()
        made = build.reserve_material(actor=request.user, order=order)
        return self._detail(order.pk, reservations=len(made))

    @extend_schema(request=None, responses=BuildOrderSerializer)
    @action(detail=True, methods=["post"])
    def issue(self, request: Request, pk: Any = None) -> Response:
        order = self.get_object()
        made = build.issue_material(actor=request.user, order=order)
        return self._detail(
            order.pk,
            issued=[
                {
                    "pn": c.part_number.pn,
                    "serial": c.part.serial if c.part_id else None,
                    "batch": c.batch,
                    "quantity": _num(c.quantity),
                    "output": c.output.serial if c.output_id else None,
                }
                for c in made
            ],
        )

    @extend_schema(request=SignOperationSerializer, responses={201: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["post"], url_path="sign-operation")
    def sign_operation(self, request: Request, pk: Any = None) -> Response:
        order = self.get_object()
        body = self._body(request)
        row = build.record_operation(
            actor=request.user,
            order=order,
            operation=_operation_of(order, body["operation"]),
            note=body["note"],
        )
        return Response(
            {
                "order": order.pk,
                "operation": body["operation"],
                "signed_by": request.user.get_username(),
                "at": row.at,
                "note": row.note,
            },
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(request=InspectSerializer, responses={201: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["post"])
    def inspect(self, request: Request, pk: Any = None) -> Response:
        order = self.get_object()
        body = self._body(request)
        row = build.record_inspection(
            actor=request.user,
            order=order,
            operation=_operation_of(order, body["operation"]),
            measurements=[build.Measurement(**m) for m in body["measurements"]],
            passed=body["passed"],
            note=body["note"],
        )
        return Response(
            {
                "order": order.pk,
                "operation": body["operation"],
                "passed": row.passed,
                "measurements": row.measurements,
                "inspector": request.user.get_username(),
                "at": row.at,
            },
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(request=None, responses=BuildOrderSerializer)
    @action(detail=True, methods=["post"])
    def complete(self, request: Request, pk: Any = None) -> Response:
        order = build.complete_build_order(actor=request.user, order=self.get_object())
        return self._detail(order.pk)

    @extend_schema(request=None, responses=BuildOrderSerializer)
    @action(detail=True, methods=["post"])
    def accept(self, request: Request, pk: Any = None) -> Response:
        order = self.get_object()
        made = build.accept_build_order(actor=request.user, order=order)
        return self._detail(order.pk, aircraft=[{"id": ac.pk, "serial": ac.serial} for ac in made])


class NonConformanceViewSet(EngineeringViewSet):
    """Non-conformance reports. ``POST`` raises one on a build order (optionally at an
    operation of its routing, by sequence number); ``disposition``,
    ``approve-concession`` and ``close`` are the ``kanat.production.build`` services."""

    queryset_base = NonConformance.objects.select_related("order", "operation")
    serializer_class = NonConformanceSerializer
    request_serializers = {
        "create": NcrCreateSerializer,
        "disposition": DispositionSerializer,
        "approve_concession": EmptySerializer,
        "close": EmptySerializer,
    }

    def get_serializer_class(self) -> Any:
        return self.request_serializers.get(self.action, NonConformanceSerializer)

    def _detail(self, pk: int, code: int = status.HTTP_200_OK) -> Response:
        ncr = self.get_queryset().get(pk=pk)
        data = NonConformanceSerializer(ncr, context=self.get_serializer_context()).data
        return Response(data, status=code)

    @extend_schema(request=NcrCreateSerializer, responses={201: NonConformanceSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        body = self.get_serializer(data=request.data)
        body.is_valid(raise_exception=True)
        order = body.validated_data["order"]
        ncr = build.raise_ncr(
            actor=request.user,
            order=order,
            description=body.validated_data["description"],
            operation=_operation_of(order, body.validated_data["operation"]),
        )
        return self._detail(ncr.pk, status.HTTP_201_CREATED)

    @extend_schema(request=DispositionSerializer, responses=NonConformanceSerializer)
    @action(detail=True, methods=["post"])
    def disposition(self, request: Request, pk: Any = None) -> Response:
        ncr = self.get_object()
        body = self.get_serializer(data=request.data)
        body.is_valid(raise_exception=True)
        build.disposition_ncr(actor=request.user, ncr=ncr, **body.validated_data)
        return self._detail(ncr.pk)

    @extend_schema(request=None, responses=NonConformanceSerializer)
    @action(detail=True, methods=["post"], url_path="approve-concession")
    def approve_concession(self, request: Request, pk: Any = None) -> Response:
        ncr = self.get_object()
        build.approve_concession(actor=request.user, ncr=ncr)
        return self._detail(ncr.pk)

    @extend_schema(request=None, responses=NonConformanceSerializer)
    @action(detail=True, methods=["post"])
    def close(self, request: Request, pk: Any = None) -> Response:
        ncr = self.get_object()
        build.close_ncr(actor=request.user, ncr=ncr)
        return self._detail(ncr.pk)


class LocalisationViewSet(ViewSet):
    """The localisation measure per product (hub staff only): at each released BOM
    revision, the share local by part count, by value (``null`` while unknown; in
    ``value_currency``, other currencies not converted) and by production hours."""

    permission_classes = [IsHubStaff]

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def list(self, request: Request) -> Response:
        all_series, prices = localisation_series()
        return Response(
            {
                "value_currency": prices.currency if prices is not None else None,
                "left_out_lines_by_currency": prices.left_out if prices is not None else {},
                "results": [
                    {
                        "pn": s.product,
                        "product": s.name,
                        "points": [point(m, prices) for m in s.points],
                    }
                    for s in all_series
                ],
            }
        )


def register(router: DefaultRouter) -> None:
    """Add this app's viewsets to the API router."""
    router.register("part-masters", PartMasterViewSet, basename="partmaster")
    router.register("products", ProductViewSet, basename="product")
    router.register("boms", BomViewSet, basename="bom")
    router.register("work-centres", WorkCentreViewSet, basename="workcentre")
    router.register("routings", RoutingViewSet, basename="routing")
    router.register("build-orders", BuildOrderViewSet, basename="buildorder")
    router.register("ncrs", NonConformanceViewSet, basename="nonconformance")
    router.register("localisation", LocalisationViewSet, basename="localisation")
