"""The maintenance programme (tasks and their revisions) and compliance records.

A task's definition is kept as revisions: a change is a new ``TaskRevision`` in force
from an instant on, so the forecast as of any past instant uses the rules known then.
Compliance records are append-only; a correction is a new record that points at the
one it corrects (which then no longer counts).
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from kanat.core.models import AppendOnly, Operator, User
from kanat.core.tenancy import AppendOnlyManager, TenantManager
from kanat.fleet.models import Aircraft, Part, PartNumber, Variant

UNITS = ("FH", "FC", "DY", "MO")
TOLERANCE_UNITS = ("FH", "FC", "DY")


class TaskKind(models.TextChoices):
    REPEAT = "repeat", "Repeating"
    ONCE = "once", "Once (directive, service bulletin)"
    LIFE_LIMIT = "life_limit", "Life limit"


class ScheduleFrom(models.TextChoices):
    LAST_DONE = "last_done", "From the last compliance"
    LAST_DUE = "last_due", "From the last due (within tolerance)"


class Task(models.Model):
    """A task's identity: its code. What it says lives in its revisions."""

    TENANT_PATH = None

    code = models.CharField(max_length=40, unique=True)

    objects = TenantManager()

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code


class TaskRevision(AppendOnly):
    """One revision of a task, in force from ``effective_from`` until the next one."""

    TENANT_PATH = None

    task = models.ForeignKey(Task, on_delete=models.PROTECT, related_name="revisions")
    number = models.PositiveIntegerField()
    effective_from = models.DateTimeField()
    title = models.CharField(max_length=200)
    ata = models.CharField("ATA chapter", max_length=8)
    kind = models.CharField(max_length=12, choices=TaskKind.choices)
    variants = models.ManyToManyField(Variant, blank=True, related_name="task_revisions")
    part_number = models.ForeignKey(
        PartNumber, null=True, blank=True, on_delete=models.PROTECT, related_name="task_revisions"
    )
    threshold_fh = models.FloatField(null=True, blank=True)
    threshold_fc = models.FloatField(null=True, blank=True)
    threshold_dy = models.FloatField(null=True, blank=True)
    threshold_mo = models.FloatField(null=True, blank=True)
    interval_fh = models.FloatField(null=True, blank=True)
    interval_fc = models.FloatField(null=True, blank=True)
    interval_dy = models.FloatField(null=True, blank=True)
    interval_mo = models.FloatField(null=True, blank=True)
    tolerance_fh = models.FloatField(null=True, blank=True)
    tolerance_fc = models.FloatField(null=True, blank=True)
    tolerance_dy = models.FloatField(null=True, blank=True)
    schedule_from = models.CharField(
        max_length=10, choices=ScheduleFrom.choices, default=ScheduleFrom.LAST_DONE
    )
    invented = models.BooleanField(default=False, help_text="Invented demo interval: marked")
    critical = models.BooleanField(
        default=False, help_text="Critical task: an independent inspection by another person"
    )
    instructions = models.JSONField(
        default=dict,
        blank=True,
        help_text="The task card: steps, tools, parts required, manual references",
    )
    reason = models.CharField(max_length=200, blank=True, help_text="Why this revision")
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT)

    objects = AppendOnlyManager()

    class Meta:
        ordering = ["task__code", "number"]
        constraints = [
            models.UniqueConstraint(fields=["task", "number"], name="task_revision_number"),
            models.CheckConstraint(
                condition=Q(threshold_fh__gte=0) | Q(threshold_fh__isnull=True),
                name="taskrev_threshold_fh_gte_0",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.task.code} rev {self.number}"

    def units(self, prefix: str) -> dict[str, float]:
        """{'FH': 100.0, 'MO': 6.0} for prefix 'threshold' / 'interval' / 'tolerance'."""
        out = {}
        for unit in TOLERANCE_UNITS if prefix == "tolerance" else UNITS:
            value = getattr(self, f"{prefix}_{unit.lower()}")
            if value is not None:
                out[unit] = value
        return out


class Compliance(AppendOnly):
    """A task done on an aircraft or on a serialised part, at an instant, by someone."""

    TENANT_PATH = "operator"

    task = models.ForeignKey(Task, on_delete=models.PROTECT, related_name="compliances")
    aircraft = models.ForeignKey(
        Aircraft, null=True, blank=True, on_delete=models.PROTECT, related_name="compliances"
    )
    part = models.ForeignKey(
        Part, null=True, blank=True, on_delete=models.PROTECT, related_name="compliances"
    )
    operator = models.ForeignKey(
        Operator,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Owner of the aircraft or part when recorded (tenancy).",
    )
    done_at = models.DateTimeField()
    stated_fh = models.FloatField(
        null=True, blank=True, help_text="Counters stated by a migrated record (win over flights)"
    )
    stated_fc = models.FloatField(null=True, blank=True)
    performed_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT)
    performed_by_label = models.CharField(max_length=150, blank=True)
    reference = models.CharField(max_length=200, blank=True, help_text="Work order, task card")
    corrects = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="corrected_by"
    )
    correction_reason = models.CharField(max_length=200, blank=True)
    recorded_at = models.DateTimeField()

    objects = AppendOnlyManager()

    class Meta:
        ordering = ["done_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(aircraft__isnull=False, part__isnull=True)
                    | Q(aircraft__isnull=True, part__isnull=False)
                ),
                name="compliance_one_target",
            ),
        ]
        # the forecast reads the history in (task, target, done_at) order from these
        # alone (covering: the stated counters are in them too)
        indexes = [
            models.Index(
                fields=["task", "aircraft", "done_at", "stated_fh", "stated_fc"],
                name="compliance_task_aircraft",
            ),
            models.Index(
                fields=["task", "part", "done_at", "stated_fh", "stated_fc"],
                name="compliance_task_part",
            ),
            # the few records stating counters, read again on their own
            models.Index(
                fields=["task", "aircraft", "part", "done_at", "stated_fh", "stated_fc"],
                condition=Q(stated_fh__isnull=False) | Q(stated_fc__isnull=False),
                name="compliance_stated",
            ),
        ]

    def __str__(self) -> str:
        target = self.aircraft.serial if self.aircraft_id else str(self.part)
        return f"{self.task.code} on {target} at {self.done_at:%Y-%m-%d %H:%M}Z"


class RaisedItem(AppendOnly):
    """A task raised on one aircraft by an event (a flight finding such as a hard landing):
    due by a day, closed by a compliance record of that task on that aircraft made after
    it was raised. Append-only like the records it comes from."""

    TENANT_PATH = "aircraft__operator"

    aircraft = models.ForeignKey(Aircraft, on_delete=models.PROTECT, related_name="raised_items")
    task = models.ForeignKey(Task, on_delete=models.PROTECT, related_name="raised_items")
    raised_at = models.DateTimeField()
    due_by = models.DateField(help_text="UTC date it is due by (the task's DY tolerance applies)")
    reason = models.CharField(max_length=300)
    source_ref = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    objects = AppendOnlyManager()

    class Meta:
        ordering = ["raised_at", "id"]
        indexes = [models.Index(fields=["aircraft", "task", "raised_at"])]

    def __str__(self) -> str:
        return f"{self.task.code} on {self.aircraft.serial} (raised {self.raised_at:%Y-%m-%d})"
