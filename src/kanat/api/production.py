"""The production API (registered on the router by ``register``): read endpoints of the
engineering data (part masters, products, BOM revisions with their explosion and
comparison, work centres, routings) and of production (build orders, non-conformance
reports, AS9102 first articles with their forms 2 and 3), and production's writes: build
orders and NCRs created and moved on through ``kanat.production.build``, first articles
opened, filled and signed off through ``kanat.production.fai`` (POST actions; refusals
as ``kanat.api.base`` maps them).

Engineering data is the hub's own (the joint venture's manufacturing data under licence):
hub staff read it; operator staff get 403 on every endpoint, whatever the id.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

import django_filters as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import exceptions, permissions, serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter
from rest_framework.viewsets import ViewSet

from kanat.api.base import RestrictedPrimaryKeyRelatedField, RestrictedReadOnlyViewSet
from kanat.core.ids import as_id
from kanat.core.models import Operator
from kanat.fleet.models import PartNumber
from kanat.production import build, fai, selectors
from kanat.production.models import (
    Bom,
    BuildConsumption,
    BuildOrder,
    BuildOutput,
    FaiReason,
    FaiScope,
    FaiStatus,
    FirstArticle,
    FirstArticleCharacteristic,
    FirstArticleMaterial,
    Form2Kind,
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
        other = self.get_queryset().filter(pk=as_id(request.query_params.get("with"))).first()
        if other is None:
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


class BuildOutputSerializer(serializers.ModelSerializer):
    scrapped_by = serializers.CharField(
        source="scrapped_by.number", default=None, help_text="The NCR that scrapped the unit"
    )

    class Meta:
        model = BuildOutput
        fields = ["id", "serial", "part", "scrapped_by"]


class BuildOrderDetailSerializer(BuildOrderSerializer):
    """An order with its units and what was issued into it: the ids an NCR names
    (``consumption`` or ``output``)."""

    outputs = serializers.SerializerMethodField()
    consumptions = serializers.SerializerMethodField()

    class Meta(BuildOrderSerializer.Meta):
        fields = [*BuildOrderSerializer.Meta.fields, "outputs", "consumptions"]

    @extend_schema_field(BuildOutputSerializer(many=True))
    def get_outputs(self, obj: BuildOrder) -> Any:
        rows = obj.outputs.select_related("scrapped_by").order_by("id")
        return BuildOutputSerializer(rows, many=True).data

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_consumptions(self, obj: BuildOrder) -> list[dict[str, Any]]:
        rows = (
            BuildConsumption.objects.filter(order=obj)
            .select_related("bom_line", "part_number", "part", "output", "scrap__ncr")
            .order_by("bom_line__find_number", "id")
        )
        return [
            {
                "id": c.pk,
                "find_number": c.bom_line.find_number,
                "pn": c.part_number.pn,
                "serial": c.part.serial if c.part_id else None,
                "batch": c.batch or None,
                "quantity": _num(c.quantity),
                "output": c.output.serial if c.output_id else None,
                "at": c.at,
                "scrapped_by": c.scrap.ncr.number if hasattr(c, "scrap") else None,
            }
            for c in rows
        ]


class NcrListSerializer(serializers.ListSerializer):
    """Reads what a page of NCRs names and scrapped in a few queries."""

    def to_representation(self, data: Any) -> Any:
        items = list(data.all() if hasattr(data, "all") else data)
        self.context["material"] = build.ncr_material(items)
        return super().to_representation(items)


class NonConformanceSerializer(serializers.ModelSerializer):
    """An NCR with what it names (``consumption``: material issued into the order, or
    ``output``: a unit; ``names`` describes it), what its scrap disposition scrapped
    (``scrapped``; ``scrapped_output``: the unit's serial) and ``replacement``: null when
    nothing scrapped needs one, else whether it is issued (``by`` what, ``pending``)."""

    order_number = serializers.CharField(source="order.number")
    operation_seq = serializers.IntegerField(source="operation.seq", default=None)
    names = serializers.SerializerMethodField()
    scrapped = serializers.SerializerMethodField()
    scrapped_output = serializers.SerializerMethodField()
    replacement = serializers.SerializerMethodField()

    def _material(self, obj: NonConformance) -> dict[str, Any]:
        found = self.context.get("material", {}).get(obj.pk)
        return found if found is not None else build.ncr_material([obj])[obj.pk]

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_names(self, obj: NonConformance) -> dict[str, Any] | None:
        return self._material(obj)["names"]

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_scrapped(self, obj: NonConformance) -> list[dict[str, Any]]:
        return self._material(obj)["scrapped"]

    def get_scrapped_output(self, obj: NonConformance) -> str | None:
        return self._material(obj)["scrapped_output"]

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_replacement(self, obj: NonConformance) -> dict[str, Any] | None:
        return self._material(obj)["replacement"]

    class Meta:
        model = NonConformance
        fields = [
            "id",
            "number",
            "order",
            "order_number",
            "operation_seq",
            "consumption",
            "output",
            "names",
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
            "scrapped",
            "scrapped_output",
            "replacement",
        ]
        list_serializer_class = NcrListSerializer


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
    consumption = RestrictedPrimaryKeyRelatedField(
        queryset=BuildConsumption.objects.all(),
        required=False,
        allow_null=True,
        default=None,
        help_text="The material issued into the order that does not conform (an id of the "
        "order's consumptions); a scrap disposition scraps it",
    )
    output = RestrictedPrimaryKeyRelatedField(
        queryset=BuildOutput.objects.all(),
        required=False,
        allow_null=True,
        default=None,
        help_text="The unit (an id of the order's outputs) that does not conform; a scrap "
        "disposition scraps it with everything in it",
    )


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
        if self.action == "retrieve":
            return BuildOrderDetailSerializer
        return self.request_serializers.get(self.action, BuildOrderSerializer)

    def _body(self, request: Request) -> dict[str, Any]:
        body = self.get_serializer(data=request.data)
        body.is_valid(raise_exception=True)
        return body.validated_data

    def _detail(self, pk: int, code: int = status.HTTP_200_OK, **extra: Any) -> Response:
        order = self.get_queryset().get(pk=pk)
        data = BuildOrderDetailSerializer(order, context=self.get_serializer_context()).data
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
                    "id": c.pk,
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
            consumption=body.validated_data["consumption"],
            output=body.validated_data["output"],
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


# --- first-article inspection (AS9102) ---------------------------------------------------


class FirstArticleMaterialSerializer(serializers.ModelSerializer):
    class Meta:
        model = FirstArticleMaterial
        fields = ["id", "kind", "name", "specification", "code", "supplier", "certificate_ref"]


class FirstArticleCharacteristicSerializer(serializers.ModelSerializer):
    recorded_by = serializers.CharField(source="recorded_by.username", default=None)

    class Meta:
        model = FirstArticleCharacteristic
        fields = [
            "id",
            "number",
            "reference_location",
            "requirement",
            "nominal",
            "tolerance_minus",
            "tolerance_plus",
            "unit",
            "result",
            "passed",
            "tool",
            "ncr_ref",
            "recorded_by",
            "recorded_at",
        ]


class FirstArticleSummarySerializer(serializers.ModelSerializer):
    """Form 1 (part number accountability) and the sign-off."""

    pn = serializers.CharField(source="part_number.pn")
    bom_revision = serializers.CharField(source="bom.revision", default=None)
    build_order_number = serializers.CharField(source="build_order.number", default=None)
    baseline_number = serializers.CharField(source="baseline.number", default=None)
    opened_by = serializers.CharField(source="opened_by.username", default=None)
    signed_by = serializers.CharField(source="signed_by.username", default=None)
    # plain strings: an enum named after these fields would collide with other apps' ones
    status = serializers.CharField(read_only=True, help_text=", ".join(FaiStatus.values))
    reason = serializers.CharField(read_only=True, help_text=", ".join(FaiReason.values))

    class Meta:
        model = FirstArticle
        fields = [
            "id",
            "number",
            "part_number",
            "pn",
            "part_name",
            "part_revision",
            "drawing_number",
            "drawing_revision",
            "serial",
            "organisation",
            "detail_or_assembly",
            "bom",
            "bom_revision",
            "build_order",
            "build_order_number",
            "reason",
            "scope",
            "partial_reason",
            "baseline",
            "baseline_number",
            "status",
            "opened_by",
            "opened_at",
            "signed_by",
            "signed_at",
            "rejection_reason",
        ]


class FirstArticleSerializer(FirstArticleSummarySerializer):
    """Forms 1-3: Form 2 entries (``materials``) and Form 3 ``characteristics`` nested,
    and (while open) what stands between it and its acceptance."""

    materials = FirstArticleMaterialSerializer(many=True, read_only=True)
    characteristics = FirstArticleCharacteristicSerializer(many=True, read_only=True)
    open_problems = serializers.SerializerMethodField()

    class Meta(FirstArticleSummarySerializer.Meta):
        fields = [
            *FirstArticleSummarySerializer.Meta.fields,
            "materials",
            "characteristics",
            "open_problems",
        ]

    def get_open_problems(self, obj: FirstArticle) -> list[dict[str, str]]:
        if obj.status != FaiStatus.OPEN:
            return []
        return [{"field": f, "message": m} for f, m in fai.open_problems(obj)]


class FirstArticleFilter(filters.FilterSet):
    pn = filters.CharFilter(field_name="part_number__pn")
    product = filters.CharFilter(field_name="part_number__product__code")
    order = filters.CharFilter(field_name="build_order__number")
    status = filters.ChoiceFilter(choices=FaiStatus.choices)
    reason = filters.ChoiceFilter(choices=FaiReason.choices)
    scope = filters.ChoiceFilter(choices=FaiScope.choices)

    class Meta:
        model = FirstArticle
        fields = ["status", "part_number", "pn", "product", "build_order", "order", "bom"]


class FirstArticleOpenSerializer(serializers.Serializer):
    part_number = RestrictedPrimaryKeyRelatedField(queryset=PartNumber.objects.all())
    serial = serializers.CharField(allow_blank=True)
    reason = serializers.CharField(help_text=", ".join(FaiReason.values))
    organisation = serializers.CharField(allow_blank=True)
    bom = RestrictedPrimaryKeyRelatedField(
        queryset=Bom.objects.all(), required=False, allow_null=True, default=None
    )
    build_order = RestrictedPrimaryKeyRelatedField(
        queryset=BuildOrder.objects.all(), required=False, allow_null=True, default=None
    )
    scope = serializers.CharField(required=False, default=FaiScope.FULL)
    partial_reason = serializers.CharField(required=False, allow_blank=True, default="")
    baseline = RestrictedPrimaryKeyRelatedField(
        queryset=FirstArticle.objects.all(), required=False, allow_null=True, default=None
    )
    drawing_number = serializers.CharField(required=False, allow_blank=True, default="")


class Form2EntrySerializer(serializers.Serializer):
    kind = serializers.CharField(help_text=", ".join(Form2Kind.values))
    name = serializers.CharField(allow_blank=True)
    specification = serializers.CharField(allow_blank=True)
    code = serializers.CharField(required=False, allow_blank=True, default="")
    supplier = serializers.CharField(required=False, allow_blank=True, default="")
    certificate_ref = serializers.CharField(required=False, allow_blank=True, default="")


def _decimal_text() -> serializers.CharField:
    """A decimal as given (a JSON number or a string); the service checks it."""
    return serializers.CharField(required=False, allow_null=True, allow_blank=True, default=None)


class CharacteristicAddSerializer(serializers.Serializer):
    number = serializers.IntegerField(help_text="The balloon number on the drawing")
    requirement = serializers.CharField(allow_blank=True)
    reference_location = serializers.CharField(required=False, allow_blank=True, default="")
    nominal = _decimal_text()
    tolerance_minus = _decimal_text()
    tolerance_plus = _decimal_text()
    unit = serializers.CharField(required=False, allow_blank=True, default="")
    result = serializers.CharField(required=False, allow_blank=True, default="")
    passed = serializers.BooleanField(required=False, allow_null=True, default=None)
    tool = serializers.CharField(required=False, allow_blank=True, default="")


class ResultSerializer(serializers.Serializer):
    characteristic = serializers.IntegerField(help_text="Its number on this first article")
    result = serializers.CharField(allow_blank=True)
    passed = serializers.BooleanField(
        required=False,
        allow_null=True,
        default=None,
        help_text="Empty: judged from the nominal and tolerances",
    )
    tool = serializers.CharField(required=False, allow_blank=True, default="")
    ncr_ref = serializers.CharField(required=False, allow_blank=True, default="")


class RejectSerializer(serializers.Serializer):
    reason = serializers.CharField(allow_blank=True)


class FirstArticleViewSet(EngineeringViewSet):
    """AS9102 first-article inspections (hub staff only). The list is Form 1 of each
    (filter by ``status``, ``pn``, ``product``, ``order``...); one is forms 1-3. ``POST``
    opens one; ``form2``, ``characteristics`` and ``record-result`` fill it while open;
    ``accept`` and ``reject`` sign it off (quality or a hub administrator other than the
    preparer). Each is a ``kanat.production.fai`` service."""

    queryset_base = FirstArticle.objects.select_related(
        "part_number", "bom", "build_order", "baseline", "opened_by", "signed_by"
    )
    filterset_class = FirstArticleFilter
    request_serializers = {
        "create": FirstArticleOpenSerializer,
        "form2": Form2EntrySerializer,
        "characteristics": CharacteristicAddSerializer,
        "record_result": ResultSerializer,
        "accept": EmptySerializer,
        "reject": RejectSerializer,
    }

    def get_queryset(self) -> Any:
        qs = super().get_queryset()
        if self.action != "list":
            qs = qs.prefetch_related("materials", "characteristics__recorded_by")
        return qs

    def get_serializer_class(self) -> Any:
        if self.action == "list":
            return FirstArticleSummarySerializer
        return self.request_serializers.get(self.action, FirstArticleSerializer)

    def _body(self, request: Request) -> dict[str, Any]:
        body = self.get_serializer(data=request.data)
        body.is_valid(raise_exception=True)
        return body.validated_data

    def _detail(self, pk: int, code: int = status.HTTP_200_OK) -> Response:
        record = self.get_queryset().get(pk=pk)
        data = FirstArticleSerializer(record, context=self.get_serializer_context()).data
        return Response(data, status=code)

    @extend_schema(request=FirstArticleOpenSerializer, responses={201: FirstArticleSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        record = fai.open_first_article(actor=request.user, **self._body(request))
        return self._detail(record.pk, status.HTTP_201_CREATED)

    @extend_schema(request=Form2EntrySerializer, responses={201: FirstArticleMaterialSerializer})
    @action(detail=True, methods=["post"])
    def form2(self, request: Request, pk: Any = None) -> Response:
        entry = fai.add_form2_entry(
            actor=request.user, fai=self.get_object(), **self._body(request)
        )
        return Response(FirstArticleMaterialSerializer(entry).data, status.HTTP_201_CREATED)

    @extend_schema(
        request=CharacteristicAddSerializer,
        responses={201: FirstArticleCharacteristicSerializer},
    )
    @action(detail=True, methods=["post"])
    def characteristics(self, request: Request, pk: Any = None) -> Response:
        c = fai.add_characteristic(actor=request.user, fai=self.get_object(), **self._body(request))
        return Response(FirstArticleCharacteristicSerializer(c).data, status.HTTP_201_CREATED)

    @extend_schema(request=ResultSerializer, responses=FirstArticleCharacteristicSerializer)
    @action(detail=True, methods=["post"], url_path="record-result")
    def record_result(self, request: Request, pk: Any = None) -> Response:
        record = self.get_object()
        body = self._body(request)
        number = body.pop("characteristic")
        c = record.characteristics.filter(number=number).first()
        if c is None:
            raise exceptions.ValidationError(
                {"characteristic": f"{record.number} has no characteristic {number}"}
            )
        c = fai.record_result(actor=request.user, characteristic=c, **body)
        return Response(FirstArticleCharacteristicSerializer(c).data)

    @extend_schema(request=None, responses=FirstArticleSerializer)
    @action(detail=True, methods=["post"])
    def accept(self, request: Request, pk: Any = None) -> Response:
        record = fai.accept_first_article(actor=request.user, fai=self.get_object())
        return self._detail(record.pk)

    @extend_schema(request=RejectSerializer, responses=FirstArticleSerializer)
    @action(detail=True, methods=["post"])
    def reject(self, request: Request, pk: Any = None) -> Response:
        record = fai.reject_first_article(
            actor=request.user, fai=self.get_object(), **self._body(request)
        )
        return self._detail(record.pk)


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
    router.register("first-articles", FirstArticleViewSet, basename="firstarticle")
    router.register("localisation", LocalisationViewSet, basename="localisation")
