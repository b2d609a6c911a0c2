"""Imported flight logs and the findings (exceedances) read from them.

Both are records: written once by ``services.import_flight_log`` and never changed. The
flights a log gives are ordinary ``fleet.Flight`` rows (source "log", ``source_ref``
``flightlog:<id>``), so counters and the forecast move with them.
"""

from __future__ import annotations

from django.db import models

from kanat.core.models import AppendOnly, Operator, User
from kanat.core.tenancy import AppendOnlyManager
from kanat.fleet.models import Aircraft, Flight
from kanat.maintenance.models import RaisedItem


class FlightLog(AppendOnly):
    TENANT_PATH = "operator"

    operator = models.ForeignKey(Operator, on_delete=models.PROTECT, related_name="flight_logs")
    aircraft = models.ForeignKey(Aircraft, on_delete=models.PROTECT, related_name="flight_logs")
    sha256 = models.CharField(max_length=64, help_text="of the file's content")
    name = models.CharField(max_length=255, help_text="file name as uploaded")
    size = models.BigIntegerField()
    format = models.CharField(max_length=20)
    vehicle_id = models.CharField(max_length=200, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    duration_s = models.FloatField()
    flight_rule = models.CharField(max_length=40)
    summary = models.JSONField(help_text="kanat flightlog summarize output")
    plot = models.JSONField(help_text="down-sampled series for the log page")
    imported_at = models.DateTimeField(auto_now_add=True)
    imported_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    objects = AppendOnlyManager()

    class Meta:
        ordering = ["-imported_at", "-id"]
        constraints = [
            # per operator: whether another operator holds a file is not disclosed
            models.UniqueConstraint(fields=["operator", "sha256"], name="flightlog_once")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.aircraft.serial})"

    @property
    def source_ref(self) -> str:
        return f"flightlog:{self.pk}"

    def flights(self) -> models.QuerySet[Flight]:
        return Flight.objects.filter(aircraft_id=self.aircraft_id, source_ref=self.source_ref)


class Finding(AppendOnly):
    TENANT_PATH = "operator"

    operator = models.ForeignKey(Operator, on_delete=models.PROTECT, related_name="+")
    log = models.ForeignKey(FlightLog, on_delete=models.PROTECT, related_name="findings")
    aircraft = models.ForeignKey(Aircraft, on_delete=models.PROTECT, related_name="findings")
    flight = models.ForeignKey(
        Flight, null=True, blank=True, on_delete=models.PROTECT, related_name="findings"
    )
    code = models.CharField(max_length=40)
    message = models.CharField(max_length=300)
    at = models.DateTimeField(null=True, blank=True)
    t_s = models.FloatField(help_text="seconds from the log's start")
    series = models.CharField(max_length=40)
    sample = models.BigIntegerField(help_text="index of the sample in that series")
    value = models.FloatField()
    limit = models.FloatField()
    raised = models.ForeignKey(
        RaisedItem, null=True, blank=True, on_delete=models.PROTECT, related_name="findings"
    )

    objects = AppendOnlyManager()

    class Meta:
        ordering = ["log", "t_s", "id"]

    def __str__(self) -> str:
        return f"{self.code} at {self.t_s:.1f} s of {self.log.name}"
