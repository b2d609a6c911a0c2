"""The stores under /api/: locations, stock items, movements, purchase orders; POST
``receive`` (a delivery against a purchase order), ``transfer`` and ``issue``.

Reads go through ``restrict(user)``: an operator's user sees its operator's stock, orders
and movements only (another operator's is a 404, and absent from every list). Writes call
``kanat.inventory.services``: a broken rule is a 400 naming the field, asking for more
than is free a 409.
"""

from __future__ import annotations

from typing import Any

import django_filters as filters
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter
from rest_framework.viewsets import GenericViewSet

from kanat.api.base import RestrictedPrimaryKeyRelatedField, RestrictedViewSetMixin
from kanat.inventory import services
from kanat.inventory.models import (
    GoodsReceipt,
    PurchaseOrder,
    PurchaseOrderLine,
    StockItem,
    StockLocation,
    StockMovement,
)

QTY = {"max_digits": 14, "decimal_places": 3}

# --- read shapes -------------------------------------------------------------------------


class StockLocationSerializer(serializers.ModelSerializer):
    class Meta:
        model = StockLocation
        fields = ["id", "code", "name", "kind", "active"]


class StockItemSerializer(serializers.ModelSerializer):
    pn = serializers.CharField(source="part_number.pn", read_only=True)
    serial = serializers.CharField(source="part.serial", read_only=True, default=None)
    location_code = serializers.CharField(source="location.code", read_only=True)
    owner_code = serializers.CharField(source="owner.code", read_only=True, default=None)
    available = serializers.DecimalField(**QTY, read_only=True)

    class Meta:
        model = StockItem
        fields = [
            "id",
            "part_number",
            "pn",
            "part",
            "serial",
            "batch",
            "quantity",
            "reserved",
            "available",
            "status",
            "location",
            "location_code",
            "owner",
            "owner_code",
            "expires_on",
            "certificate_ref",
            "po_line",
            "repair_supplier",
            "repair_order",
            "received_at",
        ]


class StockMovementSerializer(serializers.ModelSerializer):
    class Meta:
        model = StockMovement
        fields = [
            "id",
            "item",
            "kind",
            "quantity",
            "delta",
            "from_location",
            "to_location",
            "from_status",
            "to_status",
            "reference",
            "supplier",
            "actor",
            "at",
            "note",
        ]


class PurchaseOrderLineSerializer(serializers.ModelSerializer):
    pn = serializers.CharField(source="part_number.pn", read_only=True)

    class Meta:
        model = PurchaseOrderLine
        fields = ["id", "line", "part_number", "pn", "quantity", "received"]


class PurchaseOrderSerializer(serializers.ModelSerializer):
    supplier_code = serializers.CharField(source="supplier.code", read_only=True)
    lines = PurchaseOrderLineSerializer(many=True, read_only=True)

    class Meta:
        model = PurchaseOrder
        fields = [
            "id",
            "number",
            "supplier",
            "supplier_code",
            "operator",
            "status",
            "created_at",
            "notes",
            "lines",
        ]


class GoodsReceiptSerializer(serializers.ModelSerializer):
    items = StockItemSerializer(many=True, read_only=True)

    class Meta:
        model = GoodsReceipt
        fields = ["id", "order", "delivery_ref", "location", "received_at", "items"]


# --- request shapes ----------------------------------------------------------------------


class ReceiptLineRequestSerializer(serializers.Serializer):
    line = RestrictedPrimaryKeyRelatedField(queryset=PurchaseOrderLine.objects.all())
    quantity = serializers.DecimalField(**QTY, default=1)
    serial = serializers.CharField(required=False, allow_blank=True, default="")
    batch = serializers.CharField(required=False, allow_blank=True, default="")
    certificate_ref = serializers.CharField(required=False, allow_blank=True, default="")
    expires_on = serializers.DateField(required=False, allow_null=True, default=None)
    manufactured = serializers.DateField(required=False, allow_null=True, default=None)


class ReceiveRequestSerializer(serializers.Serializer):
    delivery_ref = serializers.CharField()
    location = RestrictedPrimaryKeyRelatedField(queryset=StockLocation.objects.all())
    receipts = ReceiptLineRequestSerializer(many=True)


class TransferRequestSerializer(serializers.Serializer):
    to_location = RestrictedPrimaryKeyRelatedField(queryset=StockLocation.objects.all())
    quantity = serializers.DecimalField(**QTY, required=False, allow_null=True, default=None)
    reference = serializers.CharField(required=False, allow_blank=True, default="")


class IssueRequestSerializer(serializers.Serializer):
    quantity = serializers.DecimalField(**QTY)
    reference = serializers.CharField()


# --- viewsets ----------------------------------------------------------------------------


class StockItemFilter(filters.FilterSet):
    location = filters.CharFilter(field_name="location__code")
    pn = filters.CharFilter(field_name="part_number__pn")
    status = filters.CharFilter()

    class Meta:
        model = StockItem
        fields = ["location", "pn", "status"]


class StockLocationViewSet(RestrictedViewSetMixin, mixins.ListModelMixin, GenericViewSet):
    """Stock locations (the hub's: hub stores, line stations, production line, quarantine)."""

    queryset_base = StockLocation.objects.all()
    serializer_class = StockLocationSerializer


class StockItemViewSet(
    RestrictedViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, GenericViewSet
):
    """Stock items (serialised parts and batches); filter by ``location`` code, ``pn`` and
    ``status``. ``transfer`` moves an item (or part of a batch); ``issue`` issues to a
    build order or work package (its reservation first)."""

    queryset_base = StockItem.objects.select_related("part_number", "part", "location", "owner")
    serializer_class = StockItemSerializer
    filterset_class = StockItemFilter
    request_serializers = {"transfer": TransferRequestSerializer, "issue": IssueRequestSerializer}

    def get_serializer_class(self) -> Any:
        return self.request_serializers.get(self.action, StockItemSerializer)

    def _item(self, pk: int, code: int = status.HTTP_200_OK) -> Response:
        item = self.queryset_base.get(pk=pk)
        return Response(StockItemSerializer(item).data, status=code)

    @extend_schema(request=TransferRequestSerializer, responses=StockItemSerializer)
    @action(detail=True, methods=["post"])
    def transfer(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        item = self.get_object()
        body = self.get_serializer(data=request.data)
        body.is_valid(raise_exception=True)
        moved = services.transfer(actor=request.user, item=item, **body.validated_data)
        return self._item(moved.pk)

    @extend_schema(request=IssueRequestSerializer, responses={201: StockMovementSerializer})
    @action(detail=True, methods=["post"])
    def issue(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        item = self.get_object()
        body = self.get_serializer(data=request.data)
        body.is_valid(raise_exception=True)
        move = services.issue(actor=request.user, item=item, **body.validated_data)
        return Response(StockMovementSerializer(move).data, status=status.HTTP_201_CREATED)


class StockMovementViewSet(
    RestrictedViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, GenericViewSet
):
    """The stock ledger: one row per change of an item, append-only."""

    queryset_base = StockMovement.objects.all()
    serializer_class = StockMovementSerializer
    filterset_fields = ["item", "kind", "reference"]


class PurchaseOrderViewSet(
    RestrictedViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, GenericViewSet
):
    """Purchase orders with their lines; ``receive`` receives a delivery against one (all or
    nothing; flight parts need their certificate reference; the same delivery note twice
    receives once)."""

    queryset_base = PurchaseOrder.objects.select_related("supplier").prefetch_related(
        "lines__part_number"
    )
    filterset_fields = ["status", "supplier"]

    def get_serializer_class(self) -> Any:
        return ReceiveRequestSerializer if self.action == "receive" else PurchaseOrderSerializer

    @extend_schema(request=ReceiveRequestSerializer, responses={201: GoodsReceiptSerializer})
    @action(detail=True, methods=["post"])
    def receive(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        order = self.get_object()
        body = self.get_serializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        receipt = services.receive_against_po(
            actor=request.user,
            order=order,
            delivery_ref=data["delivery_ref"],
            location=data["location"],
            receipts=[services.Receipt(**r) for r in data["receipts"]],
        )
        out = GoodsReceiptSerializer(
            GoodsReceipt.objects.prefetch_related("items__part_number", "items__part").get(
                pk=receipt.pk
            )
        )
        return Response(out.data, status=status.HTTP_201_CREATED)


def register(router: DefaultRouter) -> None:
    """Add this app's viewsets to the API router."""
    router.register("stock-locations", StockLocationViewSet, basename="stocklocation")
    router.register("stock-items", StockItemViewSet, basename="stockitem")
    router.register("stock-movements", StockMovementViewSet, basename="stockmovement")
    router.register("purchase-orders", PurchaseOrderViewSet, basename="purchaseorder")
