"""Stores: stock locations, suppliers and purchase orders, stock items and their ledger.

A ``StockItem`` is one serialised part (quantity 0 or 1, linked to ``fleet.Part``) or one
batch of a part number (a batch number and a quantity) in one location, with a status and
an owner (an operator, or the hub's own pool when empty). Every change of an item writes a
``StockMovement`` (append-only): the sum of an item's movement deltas is its quantity.
Rows are written by ``kanat.inventory.services`` only; the check constraints below are the
last guard (a quantity never goes negative, a reservation never exceeds the quantity).
"""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q

from kanat.core.models import AppendOnly, Operator, User
from kanat.core.tenancy import AppendOnlyManager, TenantManager
from kanat.fleet.models import Part, PartNumber

QTY = {"max_digits": 14, "decimal_places": 3}


class LocationKind(models.TextChoices):
    HUB_STORE = "hub_store", "Hub store"
    LINE_STATION = "line_station", "Line station"
    PRODUCTION_LINE = "production_line", "Production line"
    QUARANTINE = "quarantine", "Quarantine"


class StockLocation(models.Model):
    """A place stock is kept. Locations are the hub's (shared by every operator); who may
    see an item in one is decided by the item's owner."""

    TENANT_PATH = None

    code = models.CharField(max_length=40, unique=True)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=16, choices=LocationKind.choices)
    active = models.BooleanField(default=True)

    objects = TenantManager()

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code


class Supplier(models.Model):
    """A vendor or repair shop (reference data of the hub)."""

    TENANT_PATH = None

    code = models.CharField(max_length=40, unique=True)
    name = models.CharField(max_length=200)
    approval = models.CharField(
        max_length=120, blank=True, help_text="Approval reference (e.g. Part-145 / Part-21G)."
    )
    repairs = models.BooleanField(default=False, help_text="Repairs rotables.")

    objects = TenantManager()

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code


class POStatus(models.TextChoices):
    OPEN = "open", "Open"
    PARTIAL = "partial", "Partly received"
    RECEIVED = "received", "Received"
    CANCELLED = "cancelled", "Cancelled"


class PurchaseOrder(models.Model):
    """An order to a supplier; stock received against it belongs to ``operator`` (empty:
    the hub's pool)."""

    TENANT_PATH = "operator"

    number = models.CharField(max_length=24, unique=True)
    supplier = models.ForeignKey(Supplier, on_delete=models.PROTECT, related_name="orders")
    operator = models.ForeignKey(
        Operator,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="purchase_orders",
        help_text="Owner of the stock received; empty for the hub's own pool.",
    )
    status = models.CharField(max_length=10, choices=POStatus.choices, default=POStatus.OPEN)
    created_by = models.ForeignKey(User, null=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()
    notes = models.TextField(blank=True)
    currency = models.CharField(
        max_length=3,
        default="KZT",
        help_text="ISO 4217 code of the lines' unit prices (KZT: the hub's own currency).",
    )

    objects = TenantManager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.number


class PurchaseOrderLine(models.Model):
    TENANT_PATH = "order__operator"

    order = models.ForeignKey(PurchaseOrder, on_delete=models.PROTECT, related_name="lines")
    line = models.PositiveIntegerField()
    part_number = models.ForeignKey(PartNumber, on_delete=models.PROTECT, related_name="+")
    quantity = models.DecimalField(**QTY)
    received = models.DecimalField(**QTY, default=0)
    unit_price = models.DecimalField(
        max_digits=18,
        decimal_places=4,
        null=True,
        blank=True,
        help_text="Price of one unit in the order's currency; empty on lines ordered unpriced.",
    )

    objects = TenantManager()

    class Meta:
        ordering = ["order_id", "line"]
        constraints = [
            models.CheckConstraint(
                condition=Q(unit_price__isnull=True) | Q(unit_price__gte=0),
                name="po_line_unit_price_gte_0",
            ),
            models.UniqueConstraint(fields=["order", "line"], name="po_line_number_per_order"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="po_line_quantity_gt_0"),
            models.CheckConstraint(
                condition=Q(received__gte=0) & Q(received__lte=F("quantity")),
                name="po_line_received_within_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.order.number}/{self.line}"

    @property
    def outstanding(self):  # noqa: ANN201 - Decimal
        return self.quantity - self.received


class GoodsReceipt(models.Model):
    """One delivery received against a purchase order (its delivery note): receiving the
    same delivery note again returns this receipt instead of receiving twice."""

    TENANT_PATH = "order__operator"

    order = models.ForeignKey(PurchaseOrder, on_delete=models.PROTECT, related_name="receipts")
    delivery_ref = models.CharField(max_length=80)
    location = models.ForeignKey("StockLocation", on_delete=models.PROTECT, related_name="+")
    received_by = models.ForeignKey(User, null=True, on_delete=models.PROTECT, related_name="+")
    received_at = models.DateTimeField()

    objects = TenantManager()

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["order", "delivery_ref"], name="receipt_delivery_ref_per_order"
            )
        ]

    def __str__(self) -> str:
        return f"{self.order.number} {self.delivery_ref}"


class StockStatus(models.TextChoices):
    SERVICEABLE = "serviceable", "Serviceable"
    UNSERVICEABLE = "unserviceable", "Unserviceable"
    QUARANTINE = "quarantine", "Quarantine"
    SCRAPPED = "scrapped", "Scrapped"


class StockItem(models.Model):
    """A serialised part or a batch in one location. ``reserved`` is the total held by
    reservations; what others may take is ``quantity - reserved``. A serialised item out
    for repair has quantity 0 and names the repair supplier."""

    TENANT_PATH = "owner"

    part_number = models.ForeignKey(PartNumber, on_delete=models.PROTECT, related_name="stock")
    part = models.ForeignKey(
        Part, null=True, blank=True, on_delete=models.PROTECT, related_name="stock_items"
    )
    batch = models.CharField("batch number", max_length=60, blank=True)
    quantity = models.DecimalField(**QTY)
    reserved = models.DecimalField(**QTY, default=0)
    status = models.CharField(max_length=14, choices=StockStatus.choices)
    location = models.ForeignKey(StockLocation, on_delete=models.PROTECT, related_name="items")
    owner = models.ForeignKey(
        Operator,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="stock",
        help_text="Owning operator; empty for the hub's own pool.",
    )
    expires_on = models.DateField(null=True, blank=True, help_text="Shelf life ends (UTC date).")
    certificate_ref = models.CharField(
        max_length=120, blank=True, help_text="Certificate of conformity / release certificate"
    )
    receipt = models.ForeignKey(
        GoodsReceipt, null=True, blank=True, on_delete=models.PROTECT, related_name="items"
    )
    po_line = models.ForeignKey(
        PurchaseOrderLine, null=True, blank=True, on_delete=models.PROTECT, related_name="items"
    )
    repair_supplier = models.ForeignKey(
        Supplier, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    repair_order = models.CharField(max_length=80, blank=True)
    received_at = models.DateTimeField()

    objects = TenantManager()

    class Meta:
        ordering = ["part_number__pn", "location__code", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=0), name="stock_quantity_gte_0"),
            models.CheckConstraint(
                condition=Q(reserved__gte=0) & Q(reserved__lte=F("quantity")),
                name="stock_reserved_within_quantity",
            ),
            models.CheckConstraint(
                condition=Q(part__isnull=True) | Q(quantity__lte=1),
                name="stock_serial_quantity_lte_1",
            ),
            models.CheckConstraint(
                condition=Q(repair_supplier__isnull=True) | Q(quantity=0),
                name="stock_at_repair_not_on_hand",
            ),
            # one live item per serialised part (in stock, or out for repair)
            models.UniqueConstraint(
                fields=["part"],
                condition=Q(part__isnull=False)
                & (Q(quantity__gt=0) | Q(repair_supplier__isnull=False)),
                name="stock_one_live_item_per_part",
            ),
        ]
        indexes = [models.Index(fields=["part_number", "location"])]

    def __str__(self) -> str:
        if self.part_id is not None:
            return str(self.part)
        return f"{self.part_number.pn} batch {self.batch or '-'}"

    @property
    def available(self):  # noqa: ANN201 - Decimal
        return self.quantity - self.reserved


class Reservation(models.Model):
    """Quantity of an item held for one reference (a build order or work package number)."""

    TENANT_PATH = "item__owner"

    item = models.ForeignKey(StockItem, on_delete=models.PROTECT, related_name="reservations")
    reference = models.CharField(max_length=80)
    quantity = models.DecimalField(**QTY)

    objects = TenantManager()

    class Meta:
        ordering = ["item_id", "reference"]
        constraints = [
            models.UniqueConstraint(fields=["item", "reference"], name="reservation_per_reference"),
            models.CheckConstraint(condition=Q(quantity__gte=0), name="reservation_quantity_gte_0"),
        ]

    def __str__(self) -> str:
        return f"{self.item} for {self.reference}"


class MovementKind(models.TextChoices):
    RECEIVE = "receive", "Receive"
    ISSUE = "issue", "Issue"
    TRANSFER = "transfer", "Transfer"
    RESERVE = "reserve", "Reserve"
    UNRESERVE = "unreserve", "Unreserve"
    STATUS = "status", "Status change"
    SCRAP = "scrap", "Scrap"
    REPAIR_OUT = "repair_out", "Sent for repair"
    REPAIR_IN = "repair_in", "Received from repair"
    RETURN = "return", "Returned to stores"


class StockMovement(AppendOnly):
    """One change of one stock item, written once. ``delta`` is the change of the item's
    quantity (negative when stock leaves it), ``quantity`` the amount the movement is about
    (moved, reserved, issued, or the item's quantity for a status change)."""

    TENANT_PATH = "item__owner"

    item = models.ForeignKey(StockItem, on_delete=models.PROTECT, related_name="movements")
    kind = models.CharField(max_length=12, choices=MovementKind.choices)
    quantity = models.DecimalField(**QTY)
    delta = models.DecimalField(**QTY)
    from_location = models.ForeignKey(
        StockLocation, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    to_location = models.ForeignKey(
        StockLocation, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    from_status = models.CharField(max_length=14, blank=True)
    to_status = models.CharField(max_length=14, blank=True)
    reference = models.CharField(
        max_length=80, blank=True, help_text="PO, build order, work package, repair order..."
    )
    supplier = models.ForeignKey(
        Supplier, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor = models.ForeignKey(User, null=True, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField()
    note = models.CharField(max_length=200, blank=True)

    objects = AppendOnlyManager()

    class Meta:
        ordering = ["at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=0), name="movement_quantity_gte_0"),
        ]
        indexes = [
            models.Index(fields=["item", "at"]),
            models.Index(fields=["kind", "at"]),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.quantity} of {self.item}"


class StockLevel(models.Model):
    """The minimum stock of a part number at a location for one owner (empty: the hub)."""

    TENANT_PATH = "owner"

    part_number = models.ForeignKey(PartNumber, on_delete=models.PROTECT, related_name="+")
    location = models.ForeignKey(StockLocation, on_delete=models.PROTECT, related_name="levels")
    owner = models.ForeignKey(
        Operator, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    minimum = models.DecimalField(**QTY)

    objects = TenantManager()

    class Meta:
        ordering = ["part_number__pn", "location__code"]
        constraints = [
            models.CheckConstraint(condition=Q(minimum__gte=0), name="level_minimum_gte_0"),
            models.UniqueConstraint(
                fields=["part_number", "location", "owner"],
                condition=Q(owner__isnull=False),
                name="level_per_pn_location_owner",
            ),
            models.UniqueConstraint(
                fields=["part_number", "location"],
                condition=Q(owner__isnull=True),
                name="level_per_pn_location_hub",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.part_number.pn} at {self.location.code}: min {self.minimum}"
