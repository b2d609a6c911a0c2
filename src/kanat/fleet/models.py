"""Fleet and configuration: types, variants and their position trees, part numbers,
serialised parts, aircraft (and ground assets), installations and flights.

Rows are written by ``kanat.fleet.services`` only. Installations are time-bounded
and never overwritten: closing one (setting ``removed_at``) is the only change.
"""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q

from kanat.core.models import Operator
from kanat.core.tenancy import TenantManager


class AssetKind(models.TextChoices):
    AIRCRAFT = "aircraft", "Aircraft"
    GROUND_STATION = "ground_station", "Ground control station"
    DATALINK_TERMINAL = "datalink_terminal", "Datalink terminal"


class AircraftType(models.Model):
    """A type (ANKA, Wing Loong...) or a ground asset type (GCS, ground datalink terminal)."""

    TENANT_PATH = None

    code = models.CharField(max_length=40, unique=True)
    name = models.CharField(max_length=200)
    manufacturer = models.CharField(max_length=200, blank=True)
    kind = models.CharField(max_length=20, choices=AssetKind.choices, default=AssetKind.AIRCRAFT)
    notes = models.TextField(blank=True, help_text="Sources of figures; invented ones say so.")
    limits = models.JSONField(
        default=dict,
        blank=True,
        help_text="Envelope and limits flight logs are checked against, e.g. "
        '{"oat_min_c": -54, "oat_max_c": 54, "max_speed_ms": 60, '
        '"hard_landing_accel_ms2": 29.4} (kanat.flightlogs.findings.Limits).',
    )
    finding_tasks = models.JSONField(
        default=dict,
        blank=True,
        help_text="The task a finding raises on the aircraft, by finding code, e.g. "
        '{"HARD_LANDING": "05-51-01"}.',
    )

    objects = TenantManager()

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code


class Variant(models.Model):
    TENANT_PATH = None

    aircraft_type = models.ForeignKey(
        AircraftType, on_delete=models.PROTECT, related_name="variants"
    )
    code = models.CharField(max_length=40, unique=True)
    name = models.CharField(max_length=200, blank=True)
    description = models.TextField(blank=True)
    figures = models.JSONField(
        default=dict, blank=True, help_text="Public figures (wingspan, endurance...) with sources."
    )

    objects = TenantManager()

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code


class PartTracking(models.TextChoices):
    SERIAL = "serial", "Serialised"
    BATCH = "batch", "Batch"
    CONSUMABLE = "consumable", "Consumable"


class PartNumber(models.Model):
    TENANT_PATH = None

    pn = models.CharField("part number", max_length=60, unique=True)
    description = models.CharField(max_length=200)
    tracking = models.CharField(max_length=12, choices=PartTracking.choices)
    manufacturer = models.CharField(max_length=200, blank=True)
    ata = models.CharField("ATA chapter", max_length=8, blank=True)
    invented = models.BooleanField(
        default=False, help_text="An invented part number (demo data): the UI marks it."
    )

    objects = TenantManager()

    class Meta:
        ordering = ["pn"]

    def __str__(self) -> str:
        return self.pn


class Position(models.Model):
    """A named slot in a variant's position tree (ATA-chapter coded) that accepts
    listed part numbers."""

    TENANT_PATH = None

    variant = models.ForeignKey(Variant, on_delete=models.PROTECT, related_name="positions")
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    code = models.CharField(max_length=40)
    name = models.CharField(max_length=200, blank=True)
    ata = models.CharField("ATA chapter", max_length=8)
    part_numbers = models.ManyToManyField(PartNumber, related_name="positions", blank=True)

    objects = TenantManager()

    class Meta:
        ordering = ["variant", "ata", "code"]
        constraints = [
            models.UniqueConstraint(fields=["variant", "code"], name="position_code_per_variant")
        ]

    def __str__(self) -> str:
        return f"{self.variant.code}/{self.code}"


class AircraftStatus(models.TextChoices):
    ACTIVE = "active", "In service"
    STORED = "stored", "Stored"
    RETIRED = "retired", "Retired"


class Aircraft(models.Model):
    """A tracked asset of an operator: an aircraft, or a ground control station /
    datalink terminal (its type's ``kind`` says which)."""

    TENANT_PATH = "operator"

    serial = models.CharField(max_length=40, unique=True)
    variant = models.ForeignKey(Variant, on_delete=models.PROTECT, related_name="aircraft")
    operator = models.ForeignKey(Operator, on_delete=models.PROTECT, related_name="aircraft")
    delivered = models.DateField(help_text="Entry into service (UTC date): calendar age base.")
    opening_fh = models.FloatField(default=0.0, help_text="Flight hours when entered in Kanat")
    opening_fc = models.PositiveIntegerField(default=0, help_text="Cycles when entered in Kanat")
    planned_fh_per_day = models.FloatField(null=True, blank=True)
    planned_fc_per_day = models.FloatField(null=True, blank=True)
    status = models.CharField(
        max_length=10, choices=AircraftStatus.choices, default=AircraftStatus.ACTIVE
    )

    objects = TenantManager()

    class Meta:
        ordering = ["serial"]
        verbose_name_plural = "aircraft"
        constraints = [
            models.CheckConstraint(
                condition=Q(opening_fh__gte=0), name="aircraft_opening_fh_gte_0"
            ),
            models.CheckConstraint(
                condition=Q(planned_fh_per_day__isnull=True) | Q(planned_fh_per_day__gte=0),
                name="aircraft_planned_fh_gte_0",
            ),
            models.CheckConstraint(
                condition=Q(planned_fc_per_day__isnull=True) | Q(planned_fc_per_day__gte=0),
                name="aircraft_planned_fc_gte_0",
            ),
        ]

    def __str__(self) -> str:
        return self.serial


class Part(models.Model):
    """A serialised part: one physical item with its own life."""

    TENANT_PATH = "operator"

    part_number = models.ForeignKey(PartNumber, on_delete=models.PROTECT, related_name="parts")
    serial = models.CharField(max_length=60)
    manufactured = models.DateField(help_text="Manufacture date (UTC): calendar age base.")
    opening_fh = models.FloatField(default=0.0, help_text="Hours since new when entered")
    opening_fc = models.PositiveIntegerField(default=0, help_text="Cycles since new when entered")
    operator = models.ForeignKey(
        Operator,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="parts",
        help_text="Owner; empty for the hub's own pool.",
    )

    objects = TenantManager()

    class Meta:
        ordering = ["part_number__pn", "serial"]
        constraints = [
            models.UniqueConstraint(fields=["part_number", "serial"], name="part_serial_per_pn"),
            models.CheckConstraint(condition=Q(opening_fh__gte=0), name="part_opening_fh_gte_0"),
        ]

    def __str__(self) -> str:
        return f"{self.part_number.pn}/{self.serial}"


class RemovalReason(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    UNSCHEDULED = "unscheduled", "Unscheduled (failure)"
    ROBBERY = "robbery", "Robbery (cannibalisation)"
    TRANSFER = "transfer", "Configuration change / transfer"
    RECORD = "record", "Historical record"


class Installation(models.Model):
    """A part in a position of an aircraft over [installed_at, removed_at)."""

    TENANT_PATH = "aircraft__operator"

    part = models.ForeignKey(Part, on_delete=models.PROTECT, related_name="installations")
    aircraft = models.ForeignKey(Aircraft, on_delete=models.PROTECT, related_name="installations")
    position = models.ForeignKey(Position, on_delete=models.PROTECT, related_name="installations")
    installed_at = models.DateTimeField()
    removed_at = models.DateTimeField(null=True, blank=True)
    removal_reason = models.CharField(max_length=12, choices=RemovalReason.choices, blank=True)
    reference = models.CharField(max_length=120, blank=True, help_text="Work order, task card...")

    objects = TenantManager()

    class Meta:
        ordering = ["installed_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(removed_at__isnull=True) | Q(removed_at__gt=F("installed_at")),
                name="installation_removed_after_installed",
            ),
            # The database itself refuses two open rows for one part or one position;
            # the services refuse overlaps of closed (historical) rows too.
            models.UniqueConstraint(
                fields=["part"],
                condition=Q(removed_at__isnull=True),
                name="installation_one_open_per_part",
            ),
            models.UniqueConstraint(
                fields=["aircraft", "position"],
                condition=Q(removed_at__isnull=True),
                name="installation_one_open_per_position",
            ),
        ]
        indexes = [
            models.Index(fields=["aircraft", "installed_at"]),
            models.Index(fields=["part", "installed_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.part} on {self.aircraft} at {self.position.code}"


class FlightSource(models.TextChoices):
    MANUAL = "manual", "Entered by hand"
    BUNDLE = "bundle", "Bundle import"
    LOG = "log", "Flight log"
    CSV = "csv", "CSV import"
    DEMO = "demo", "Demo data"


class Flight(models.Model):
    TENANT_PATH = "aircraft__operator"

    aircraft = models.ForeignKey(Aircraft, on_delete=models.PROTECT, related_name="flights")
    takeoff = models.DateTimeField()
    landing = models.DateTimeField()
    cycles = models.PositiveIntegerField(default=1)
    source = models.CharField(max_length=10, choices=FlightSource.choices)
    source_ref = models.CharField(max_length=200, blank=True)

    objects = TenantManager()

    class Meta:
        ordering = ["takeoff", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(landing__gt=F("takeoff")), name="flight_lands_after_takeoff"
            ),
        ]
        indexes = [models.Index(fields=["aircraft", "landing"])]

    def __str__(self) -> str:
        return f"{self.aircraft.serial} {self.takeoff:%Y-%m-%d %H:%M}Z"

    @property
    def airborne_hours(self) -> float:
        return (self.landing - self.takeoff).total_seconds() / 3600.0
