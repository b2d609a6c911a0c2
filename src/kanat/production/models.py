"""Engineering data for production: part masters, products, bills of materials (BOMs)
and routings.

All of it is reference data of the hub (``TENANT_PATH = None``): what the joint venture
builds and how, whichever operator the serials are later delivered to. Products are not
only aircraft: a ground segment, a SATCOM terminal or a satellite subsystem has a part
number, a BOM and a routing the same way.

A BOM is revisioned: a draft is edited, released, and from then on never changed; a
change is a new revision (optionally copied from the latest), whose release supersedes
the previous one. ``Bom.save`` and the line model refuse edits to a released revision
(the services refuse them first, with a message naming the field). Routings are
append-only revisions: a change is a new ``Routing`` with its operations.

Rows are written by ``kanat.production.services`` only.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.models import Q

from kanat.core.models import AppendOnly, User
from kanat.core.tenancy import AppendOnlyManager, TenantManager, TenantQuerySet
from kanat.fleet.models import PartNumber, Variant


class MakeBuy(models.TextChoices):
    MAKE = "make", "Make"
    BUY = "buy", "Buy"


class Origin(models.TextChoices):
    LOCAL = "local", "Local"
    IMPORTED = "imported", "Imported"


class UnitOfMeasure(models.TextChoices):
    EACH = "ea", "each"
    SET = "set", "set"
    KIT = "kit", "kit"
    KILOGRAM = "kg", "kilogram"
    GRAM = "g", "gram"
    METRE = "m", "metre"
    MILLIMETRE = "mm", "millimetre"
    SQUARE_METRE = "m2", "square metre"
    LITRE = "l", "litre"
    MILLILITRE = "ml", "millilitre"


class PartMaster(models.Model):
    """The production side of a part number (``kanat.fleet.models.PartNumber``: part
    number, description and tracking serial / batch / consumable live there)."""

    TENANT_PATH = None

    part_number = models.OneToOneField(PartNumber, on_delete=models.PROTECT, related_name="master")
    revision = models.CharField(max_length=10, help_text="The part's drawing revision")
    make_buy = models.CharField(max_length=4, choices=MakeBuy.choices)
    origin = models.CharField(max_length=8, choices=Origin.choices)
    uom = models.CharField("unit of measure", max_length=4, choices=UnitOfMeasure.choices)
    shelf_life_days = models.PositiveIntegerField(
        null=True, blank=True, help_text="Empty: no shelf life"
    )
    updated_at = models.DateTimeField()
    updated_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    objects = TenantManager()

    class Meta:
        ordering = ["part_number__pn"]
        constraints = [
            models.CheckConstraint(
                condition=Q(shelf_life_days__isnull=True) | Q(shelf_life_days__gt=0),
                name="partmaster_shelf_life_gt_0",
            ),
            models.CheckConstraint(condition=~Q(revision=""), name="partmaster_revision_not_empty"),
        ]

    def __str__(self) -> str:
        return f"{self.part_number.pn} rev {self.revision}"


class ProductKind(models.TextChoices):
    AIRCRAFT = "aircraft", "Aircraft"
    GROUND_SEGMENT = "ground_segment", "Ground segment"
    SATCOM_TERMINAL = "satcom_terminal", "SATCOM terminal"
    SATELLITE_SUBSYSTEM = "satellite_subsystem", "Satellite subsystem"
    OTHER = "other", "Other"


class Product(models.Model):
    """Something the hub builds and delivers: its BOMs and routing are those of the part
    number it produces."""

    TENANT_PATH = None

    code = models.CharField(max_length=40, unique=True)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=ProductKind.choices)
    part_number = models.OneToOneField(PartNumber, on_delete=models.PROTECT, related_name="product")
    variant = models.ForeignKey(
        Variant,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="products",
        help_text="For an aircraft: the fleet variant its serials are registered as",
    )
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    objects = TenantManager()

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(variant__isnull=True) | Q(kind="aircraft"),
                name="product_variant_only_for_aircraft",
            )
        ]

    def __str__(self) -> str:
        return self.code


class BomStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    RELEASED = "released", "Released"
    SUPERSEDED = "superseded", "Superseded"


class ReleasedBomEdit(PermissionError):
    """A released or superseded BOM (or one of its lines) was about to be changed."""


class _DraftsOnlyQuerySet(TenantQuerySet):
    """Bulk updates and deletes reach rows of draft BOMs only (``save`` guards single rows):
    ``status_field`` names the BOM status, ``refusal`` says why not."""

    status_field = "status"
    refusal = ""

    def _check_drafts(self) -> None:
        if self.exclude(**{self.status_field: BomStatus.DRAFT}).exists():
            raise ReleasedBomEdit(self.refusal)

    def update(self, **kwargs: Any) -> int:
        self._check_drafts()
        return super().update(**kwargs)

    def delete(self) -> Any:  # type: ignore[override]
        self._check_drafts()
        return super().delete()

    def bulk_update(self, objs: Any, fields: Any, batch_size: int | None = None) -> int:
        objs = list(objs)
        self.model.objects.filter(pk__in=[o.pk for o in objs])._check_drafts()
        return super().bulk_update(objs, fields, batch_size=batch_size)


class BomQuerySet(_DraftsOnlyQuerySet):
    """Bulk updates and deletes reach draft BOMs only (``Bom.save`` guards single rows)."""

    refusal = "a released BOM is never changed: a change is a new revision"


BomManager = models.Manager.from_queryset(BomQuerySet)


class Bom(models.Model):
    """One revision of the bill of materials of an assembly (a part number; a product's
    BOM is the BOM of the part number it produces)."""

    TENANT_PATH = None

    part_number = models.ForeignKey(PartNumber, on_delete=models.PROTECT, related_name="boms")
    number = models.PositiveIntegerField(help_text="1, 2, 3... in the order made")
    revision = models.CharField(max_length=10, help_text="The revision label (A, B, C...)")
    status = models.CharField(max_length=10, choices=BomStatus.choices, default=BomStatus.DRAFT)
    based_on = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    effectivity = models.CharField(
        max_length=200, blank=True, help_text="From which serial or date it applies"
    )
    reason = models.CharField(max_length=200, blank=True, help_text="Why this revision")
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    released_at = models.DateTimeField(null=True, blank=True)
    released_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    superseded_at = models.DateTimeField(null=True, blank=True)

    objects = BomManager()

    class Meta:
        ordering = ["part_number__pn", "number"]
        constraints = [
            models.UniqueConstraint(fields=["part_number", "number"], name="bom_number"),
            models.UniqueConstraint(fields=["part_number", "revision"], name="bom_revision"),
            # one revision in force and one being prepared per assembly, whatever races
            models.UniqueConstraint(
                fields=["part_number"],
                condition=Q(status="released"),
                name="bom_one_released_per_part",
            ),
            models.UniqueConstraint(
                fields=["part_number"],
                condition=Q(status="draft"),
                name="bom_one_draft_per_part",
            ),
            models.CheckConstraint(
                condition=Q(status="draft") | Q(released_at__isnull=False),
                name="bom_released_has_released_at",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.part_number.pn} BOM rev {self.revision}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        """A released BOM is never edited: the only changes to a stored non-draft row are
        released → superseded (with ``superseded_at``)."""
        if self.pk is not None and not self._state.adding:
            stored = type(self).objects.filter(pk=self.pk).values("status").first()
            if stored is not None and stored["status"] != BomStatus.DRAFT:
                allowed = (
                    stored["status"] == BomStatus.RELEASED
                    and self.status == BomStatus.SUPERSEDED
                    and set(kwargs.get("update_fields") or ()) == {"status", "superseded_at"}
                )
                if not allowed:
                    raise ReleasedBomEdit(
                        f"{self} is {stored['status']}: a change is a new revision"
                    )
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        stored = type(self).objects.filter(pk=self.pk).values("status").first()
        if stored is not None and stored["status"] != BomStatus.DRAFT:
            raise ReleasedBomEdit(f"{self} is {stored['status']}: it is never deleted")
        return super().delete(*args, **kwargs)

    @property
    def is_draft(self) -> bool:
        return self.status == BomStatus.DRAFT


class BomLineQuerySet(_DraftsOnlyQuerySet):
    """Bulk updates and deletes of lines are refused when any of them is on a BOM that
    is no longer a draft."""

    status_field = "bom__status"
    refusal = "lines of a released BOM are never changed"

    def bulk_create(self, objs: Any, *args: Any, **kwargs: Any) -> Any:
        objs = list(objs)
        bom_ids = {o.bom_id for o in objs}
        if Bom.objects.filter(pk__in=bom_ids).exclude(status=BomStatus.DRAFT).exists():
            raise ReleasedBomEdit("lines are added to a draft BOM only")
        return super().bulk_create(objs, *args, **kwargs)


BomLineManager = models.Manager.from_queryset(BomLineQuerySet)


class BomLine(models.Model):
    """``quantity`` (in ``uom``) of ``child`` per one assembly, at ``find_number``."""

    TENANT_PATH = None

    bom = models.ForeignKey(Bom, on_delete=models.PROTECT, related_name="lines")
    find_number = models.PositiveIntegerField()
    child = models.ForeignKey(PartNumber, on_delete=models.PROTECT, related_name="used_on")
    quantity = models.DecimalField(max_digits=14, decimal_places=4)
    uom = models.CharField("unit of measure", max_length=4, choices=UnitOfMeasure.choices)
    ref_des = models.CharField(
        "reference designator / position", max_length=120, blank=True, default=""
    )
    note = models.CharField(max_length=200, blank=True, default="")

    objects = BomLineManager()

    class Meta:
        ordering = ["bom", "find_number"]
        constraints = [
            models.UniqueConstraint(fields=["bom", "find_number"], name="bomline_find_number"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="bomline_quantity_gt_0"),
        ]

    def __str__(self) -> str:
        return f"{self.bom} #{self.find_number} {self.child.pn}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        self._refuse_unless_draft()
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        self._refuse_unless_draft()
        return super().delete(*args, **kwargs)

    def _refuse_unless_draft(self) -> None:
        status = Bom.objects.filter(pk=self.bom_id).values_list("status", flat=True).first()
        if status is not None and status != BomStatus.DRAFT:
            raise ReleasedBomEdit(f"{self.bom} is {status}: its lines are never changed")
        if self.pk is not None and not self._state.adding:
            stored = BomLine.objects.filter(pk=self.pk).values_list("bom__status", flat=True)
            if stored and stored[0] != BomStatus.DRAFT:
                raise ReleasedBomEdit("lines of a released BOM are never changed")


class WorkCentre(models.Model):
    """Where operations are done: a cell, a bench, a test stand, a clean room."""

    TENANT_PATH = None

    code = models.CharField(max_length=40, unique=True)
    name = models.CharField(max_length=200)
    local = models.BooleanField(
        default=True,
        help_text="Work here is done by the hub's own (locally trained) staff; "
        "untick for the licensor's or another foreign site",
    )

    objects = TenantManager()

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code


class Routing(AppendOnly):
    """One revision of how a part number is made: its ordered operations. The latest
    revision is in force; earlier ones stay for the serials built to them."""

    TENANT_PATH = None

    part_number = models.ForeignKey(PartNumber, on_delete=models.PROTECT, related_name="routings")
    number = models.PositiveIntegerField()
    reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    objects = AppendOnlyManager()

    class Meta:
        ordering = ["part_number__pn", "number"]
        constraints = [
            models.UniqueConstraint(fields=["part_number", "number"], name="routing_number")
        ]

    def __str__(self) -> str:
        return f"{self.part_number.pn} routing {self.number}"


class Operation(AppendOnly):
    """One step of a routing at a work centre; an inspection point says what is
    inspected before the work goes on."""

    TENANT_PATH = None

    routing = models.ForeignKey(Routing, on_delete=models.PROTECT, related_name="operations")
    seq = models.PositiveIntegerField(help_text="10, 20, 30...: the order of work")
    work_centre = models.ForeignKey(WorkCentre, on_delete=models.PROTECT, related_name="operations")
    description = models.CharField(max_length=300)
    standard_hours = models.DecimalField(max_digits=8, decimal_places=2)
    inspection_point = models.BooleanField(default=False)
    inspection = models.CharField(
        max_length=300, blank=True, default="", help_text="What is inspected (inspection points)"
    )

    objects = AppendOnlyManager()

    class Meta:
        ordering = ["routing", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["routing", "seq"], name="operation_seq"),
            models.CheckConstraint(
                condition=Q(standard_hours__gte=0), name="operation_standard_hours_gte_0"
            ),
            models.CheckConstraint(
                condition=Q(inspection_point=False) | ~Q(inspection=""),
                name="operation_inspection_point_says_what",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.routing} op {self.seq}"


# --- build orders ------------------------------------------------------------------------


class BuildStatus(models.TextChoices):
    PLANNED = "planned", "Planned"
    RELEASED = "released", "Released"
    IN_PROGRESS = "in_progress", "In progress"
    COMPLETED = "completed", "Completed"
    ACCEPTED = "accepted", "Accepted"


class BuildOrder(models.Model):
    """An order to build ``quantity`` of a product to one released BOM revision and one
    routing revision, both recorded when the order is made and never changed. For an
    aircraft, ``operator`` is the customer it is built for (and who may see the order);
    the hub's own orders have none."""

    TENANT_PATH = "operator"

    number = models.CharField(max_length=24, unique=True)
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="build_orders")
    bom = models.ForeignKey(Bom, on_delete=models.PROTECT, related_name="build_orders")
    routing = models.ForeignKey(Routing, on_delete=models.PROTECT, related_name="build_orders")
    quantity = models.PositiveIntegerField()
    status = models.CharField(
        max_length=12, choices=BuildStatus.choices, default=BuildStatus.PLANNED
    )
    operator = models.ForeignKey(
        "core.Operator",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="build_orders",
        help_text="The customer an aircraft is built for; empty: the hub's own",
    )
    planned_start = models.DateField(null=True, blank=True)
    planned_end = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    released_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    completed_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    objects = TenantManager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="buildorder_quantity_gt_0"),
            models.CheckConstraint(
                condition=Q(planned_start__isnull=True)
                | Q(planned_end__isnull=True)
                | Q(planned_end__gte=models.F("planned_start")),
                name="buildorder_planned_end_after_start",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=["completed", "accepted"]) | Q(completed_at__isnull=False),
                name="buildorder_completed_has_completed_at",
            ),
        ]

    def __str__(self) -> str:
        return self.number


class BuildOutput(models.Model):
    """One serial the order makes: claimed when the order is made (no other order may
    claim the same serial of the same part number, whatever races: ``part_number`` is the
    product's, copied here so the database can say so), registered as a fleet part
    (``part``) when the order is completed. ``scrapped_by``: the NCR whose scrap
    disposition scrapped the unit; it is then never completed (its serial stays claimed)."""

    TENANT_PATH = "order__operator"

    order = models.ForeignKey(BuildOrder, on_delete=models.PROTECT, related_name="outputs")
    part_number = models.ForeignKey(PartNumber, on_delete=models.PROTECT, related_name="+")
    serial = models.CharField(max_length=60)
    part = models.OneToOneField(
        "fleet.Part", null=True, blank=True, on_delete=models.PROTECT, related_name="build_output"
    )
    scrapped_by = models.OneToOneField(
        "NonConformance",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="scrapped_output",
    )

    objects = TenantManager()

    class Meta:
        ordering = ["order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["order", "serial"], name="buildoutput_serial"),
            # one claim per serial of a part number across every order (no order is ever
            # cancelled: a claim lasts, even for a scrapped unit)
            models.UniqueConstraint(
                fields=["part_number", "serial"], name="buildoutput_serial_per_pn"
            ),
            models.CheckConstraint(
                condition=Q(part__isnull=True) | Q(scrapped_by__isnull=True),
                name="buildoutput_scrapped_not_registered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.order.number} → {self.serial}"


class BuildConsumption(AppendOnly):
    """Stock issued into an order: for one output serial (when the product is serialised),
    the specific serialised part issued, or a batch and the quantity taken from it."""

    TENANT_PATH = "order__operator"

    order = models.ForeignKey(BuildOrder, on_delete=models.PROTECT, related_name="consumptions")
    output = models.ForeignKey(
        BuildOutput, null=True, blank=True, on_delete=models.PROTECT, related_name="consumptions"
    )
    bom_line = models.ForeignKey(BomLine, on_delete=models.PROTECT, related_name="+")
    part_number = models.ForeignKey(PartNumber, on_delete=models.PROTECT, related_name="+")
    stock_item = models.ForeignKey(
        "inventory.StockItem", on_delete=models.PROTECT, related_name="+"
    )
    part = models.ForeignKey(
        "fleet.Part", null=True, blank=True, on_delete=models.PROTECT, related_name="consumed_in"
    )
    batch = models.CharField(max_length=60, blank=True)
    quantity = models.DecimalField(max_digits=14, decimal_places=3)
    movement = models.ForeignKey(
        "inventory.StockMovement", on_delete=models.PROTECT, related_name="+"
    )
    at = models.DateTimeField()
    actor = models.ForeignKey(User, null=True, on_delete=models.PROTECT, related_name="+")

    objects = AppendOnlyManager()

    class Meta:
        ordering = ["order", "at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="consumption_quantity_gt_0"),
            # a serialised part goes into one build, once
            models.UniqueConstraint(
                fields=["part"], condition=Q(part__isnull=False), name="consumption_part_once"
            ),
        ]

    def __str__(self) -> str:
        what = str(self.part) if self.part_id else f"{self.part_number.pn} batch {self.batch}"
        return f"{self.order.number}: {what}"


class BuildScrap(AppendOnly):
    """Material issued into an order and scrapped there by an NCR's scrap disposition:
    the consumption it scrapped (whole), the stores' scrap movement of it. The quantity no
    longer satisfies the BOM line: the order needs a replacement issue, unless the output
    it went into was scrapped with it."""

    TENANT_PATH = "order__operator"

    order = models.ForeignKey(BuildOrder, on_delete=models.PROTECT, related_name="scraps")
    ncr = models.ForeignKey("NonConformance", on_delete=models.PROTECT, related_name="scraps")
    consumption = models.OneToOneField(
        BuildConsumption, on_delete=models.PROTECT, related_name="scrap"
    )
    quantity = models.DecimalField(max_digits=14, decimal_places=3)
    movement = models.ForeignKey(
        "inventory.StockMovement", on_delete=models.PROTECT, related_name="+"
    )
    at = models.DateTimeField()
    actor = models.ForeignKey(User, null=True, on_delete=models.PROTECT, related_name="+")

    objects = AppendOnlyManager()

    class Meta:
        ordering = ["order", "at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="buildscrap_quantity_gt_0"),
        ]

    def __str__(self) -> str:
        return f"{self.order.number}: {self.consumption} scrapped by {self.ncr.number}"


class OperationProgress(AppendOnly):
    """An operation of the order's routing done, signed by who did it."""

    TENANT_PATH = "order__operator"

    order = models.ForeignKey(BuildOrder, on_delete=models.PROTECT, related_name="progress")
    operation = models.ForeignKey(Operation, on_delete=models.PROTECT, related_name="+")
    signed_by = models.ForeignKey(User, null=True, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField()
    note = models.CharField(max_length=300, blank=True)

    objects = AppendOnlyManager()

    class Meta:
        ordering = ["order", "at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["order", "operation"], name="progress_once_per_op"),
        ]

    def __str__(self) -> str:
        return f"{self.order.number} op {self.operation.seq}"


class InspectionResult(AppendOnly):
    """The result of an inspection point of the order's routing: the measured values with
    their limits and the verdict. A re-inspection is a new row; the latest one counts."""

    TENANT_PATH = "order__operator"

    order = models.ForeignKey(BuildOrder, on_delete=models.PROTECT, related_name="inspections")
    operation = models.ForeignKey(Operation, on_delete=models.PROTECT, related_name="+")
    measurements = models.JSONField(
        default=list, blank=True, help_text="[{name, value, lower, upper, unit, within}]"
    )
    passed = models.BooleanField()
    inspector = models.ForeignKey(User, null=True, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField()
    note = models.CharField(max_length=300, blank=True)

    objects = AppendOnlyManager()

    class Meta:
        ordering = ["order", "at", "id"]

    def __str__(self) -> str:
        verdict = "pass" if self.passed else "fail"
        return f"{self.order.number} op {self.operation.seq}: {verdict}"


class Disposition(models.TextChoices):
    USE_AS_IS = "use_as_is", "Use as is"
    REWORK = "rework", "Rework"
    REPAIR = "repair", "Repair"
    SCRAP = "scrap", "Scrap"


class NcrStatus(models.TextChoices):
    OPEN = "open", "Open"
    CLOSED = "closed", "Closed"


class NonConformance(models.Model):
    """A non-conformance report raised on a build order: what is wrong, what is done with
    it, and (for a concession) who other than the raiser approved the deviation."""

    TENANT_PATH = "order__operator"

    number = models.CharField(max_length=24, unique=True)
    order = models.ForeignKey(BuildOrder, on_delete=models.PROTECT, related_name="ncrs")
    operation = models.ForeignKey(
        Operation, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    consumption = models.ForeignKey(
        BuildConsumption,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="ncrs",
        help_text="The issued material (serial or batch) that does not conform",
    )
    output = models.ForeignKey(
        BuildOutput,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="ncrs",
        help_text="The unit (output serial) that does not conform",
    )
    description = models.TextField()
    raised_by = models.ForeignKey(User, null=True, on_delete=models.PROTECT, related_name="+")
    raised_at = models.DateTimeField()
    disposition = models.CharField(max_length=10, choices=Disposition.choices, blank=True)
    disposition_note = models.CharField(max_length=300, blank=True)
    dispositioned_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    dispositioned_at = models.DateTimeField(null=True, blank=True)
    concession = models.BooleanField(default=False)
    concession_approved_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    concession_approved_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=8, choices=NcrStatus.choices, default=NcrStatus.OPEN)
    closed_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    closed_at = models.DateTimeField(null=True, blank=True)

    objects = TenantManager()

    class Meta:
        ordering = ["-raised_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status="open") | ~Q(disposition=""),
                name="ncr_closed_has_disposition",
            ),
        ]

    def __str__(self) -> str:
        return self.number


# --- first-article inspection (AS9102) ---------------------------------------------------


class FaiReason(models.TextChoices):
    NEW_PART = "new_part", "New part"
    NEW_BOM_REVISION = "new_bom_revision", "New BOM revision"
    CHANGE = "change", "Change (design, process, source or location)"
    LAPSE = "lapse", "Lapse in production"


class FaiStatus(models.TextChoices):
    OPEN = "open", "Open"
    ACCEPTED = "accepted", "Accepted"
    REJECTED = "rejected", "Rejected"


class FaiScope(models.TextChoices):
    FULL = "full", "Full FAI"
    PARTIAL = "partial", "Partial FAI"


class DetailOrAssembly(models.TextChoices):
    DETAIL = "detail", "Detail"
    ASSEMBLY = "assembly", "Assembly"


class FirstArticle(models.Model):
    """An AS9102 first-article inspection of one serial of a part number at a part
    (drawing) revision and, for an assembly, a BOM revision. The row is Form 1 (part
    number accountability); its ``materials`` are Form 2 (product accountability) and its
    ``characteristics`` Form 3 (characteristic accountability). Written by
    ``kanat.production.fai`` only; entries change only while it is open."""

    TENANT_PATH = None

    number = models.CharField("FAI report number", max_length=24, unique=True)
    part_number = models.ForeignKey(
        PartNumber, on_delete=models.PROTECT, related_name="first_articles"
    )
    part_revision = models.CharField(
        "part (drawing) revision", max_length=10, help_text="From the part master when opened"
    )
    bom = models.ForeignKey(
        Bom,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="first_articles",
        help_text="The BOM revision of an assembly's first article; empty for a detail",
    )
    build_order = models.ForeignKey(
        BuildOrder,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="first_articles",
    )
    serial = models.CharField("serial number inspected", max_length=60)
    reason = models.CharField(max_length=20, choices=FaiReason.choices)
    status = models.CharField(max_length=10, choices=FaiStatus.choices, default=FaiStatus.OPEN)
    # Form 1
    part_name = models.CharField(max_length=200)
    drawing_number = models.CharField(max_length=80)
    drawing_revision = models.CharField(max_length=10)
    organisation = models.CharField(
        "organisation name", max_length=200, help_text="Who made the first article"
    )
    detail_or_assembly = models.CharField(max_length=8, choices=DetailOrAssembly.choices)
    scope = models.CharField(max_length=8, choices=FaiScope.choices, default=FaiScope.FULL)
    partial_reason = models.CharField(
        max_length=300, blank=True, help_text="A partial FAI: what changed, and the baseline"
    )
    baseline = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="A partial FAI: the accepted FAI it is a delta to",
    )
    opened_by = models.ForeignKey(User, null=True, on_delete=models.PROTECT, related_name="+")
    opened_at = models.DateTimeField()
    signed_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    signed_at = models.DateTimeField(null=True, blank=True)
    rejection_reason = models.CharField(max_length=300, blank=True)

    objects = TenantManager()

    class Meta:
        ordering = ["-opened_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(scope="full") | ~Q(partial_reason=""),
                name="fai_partial_says_why",
            ),
            models.CheckConstraint(
                condition=Q(status="open") | Q(signed_at__isnull=False),
                name="fai_closed_is_signed",
            ),
            models.CheckConstraint(
                condition=~Q(status="rejected") | ~Q(rejection_reason=""),
                name="fai_rejected_says_why",
            ),
        ]

    def __str__(self) -> str:
        return self.number


class Form2Kind(models.TextChoices):
    MATERIAL = "material", "Material"
    SPECIAL_PROCESS = "special_process", "Special process"
    FUNCTIONAL_TEST = "functional_test", "Functional test"


class FirstArticleMaterial(models.Model):
    """A Form 2 entry: a material, special process or functional test of the first
    article, with its specification, code, supplier and certificate."""

    TENANT_PATH = None

    fai = models.ForeignKey(FirstArticle, on_delete=models.PROTECT, related_name="materials")
    kind = models.CharField(max_length=16, choices=Form2Kind.choices)
    name = models.CharField("material or process name", max_length=200)
    specification = models.CharField(max_length=200)
    code = models.CharField(max_length=80, blank=True, help_text="Specification or process code")
    supplier = models.CharField(max_length=200, blank=True)
    certificate_ref = models.CharField("certificate of conformance", max_length=120, blank=True)

    objects = TenantManager()

    class Meta:
        ordering = ["fai", "id"]

    def __str__(self) -> str:
        return f"{self.fai.number}: {self.get_kind_display()} {self.name}"


class FirstArticleCharacteristic(models.Model):
    """A Form 3 entry: one design characteristic (numbered on the ballooned drawing),
    where it is, what is required (nominal and tolerance, or a text requirement), the
    result, the verdict and the tool used. ``passed`` empty: no result yet."""

    TENANT_PATH = None

    fai = models.ForeignKey(FirstArticle, on_delete=models.PROTECT, related_name="characteristics")
    number = models.PositiveIntegerField("characteristic number")
    reference_location = models.CharField(max_length=80, blank=True, help_text="Sheet / zone")
    requirement = models.CharField("designed requirement", max_length=300)
    nominal = models.DecimalField(max_digits=14, decimal_places=4, null=True, blank=True)
    tolerance_minus = models.DecimalField(max_digits=14, decimal_places=4, null=True, blank=True)
    tolerance_plus = models.DecimalField(max_digits=14, decimal_places=4, null=True, blank=True)
    unit = models.CharField(max_length=16, blank=True)
    result = models.CharField(max_length=200, blank=True)
    passed = models.BooleanField(null=True, blank=True)
    tool = models.CharField("tool used", max_length=120, blank=True)
    ncr_ref = models.CharField("non-conformance reference", max_length=40, blank=True)
    recorded_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(null=True, blank=True)

    objects = TenantManager()

    class Meta:
        ordering = ["fai", "number"]
        constraints = [
            models.UniqueConstraint(fields=["fai", "number"], name="fai_characteristic_number"),
            models.CheckConstraint(
                condition=Q(passed__isnull=True) | ~Q(result=""),
                name="fai_characteristic_verdict_has_result",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.fai.number} #{self.number}"
