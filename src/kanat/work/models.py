"""Maintenance execution: work packages, task cards and their steps, defects with their
deferrals, and the signed records of the work (sign-offs, releases, deferrals, closures).

Packages, cards, steps and defects are working documents: their state moves only through
``kanat.work.services``. What is *signed* is append-only (``AppendOnly``; on PostgreSQL a
trigger refuses UPDATE and DELETE too, migration 0002) and signed into the operator's hash
chain (``kanat.records.chain``). A correction is a new sign-off that names the one it
corrects and says why; the corrected one then no longer counts.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from kanat.core.models import AppendOnly, User
from kanat.core.tenancy import AppendOnlyManager, TenantManager
from kanat.fleet.models import Aircraft, Installation, Part, Position
from kanat.maintenance.models import Compliance, Task, TaskRevision
from kanat.people.models import Authorisation


class PackageStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    OPEN = "open", "Open"
    IN_WORK = "in_work", "In work"
    COMPLETED = "completed", "Completed"
    RELEASED = "released", "Released"


class WorkPackage(models.Model):
    """The work planned for one aircraft at one visit: task cards from due items and defects."""

    TENANT_PATH = "aircraft__operator"

    number = models.CharField(max_length=24, unique=True)
    aircraft = models.ForeignKey(Aircraft, on_delete=models.PROTECT, related_name="packages")
    title = models.CharField(max_length=200)
    status = models.CharField(
        max_length=10, choices=PackageStatus.choices, default=PackageStatus.DRAFT
    )
    planned_start = models.DateField(null=True, blank=True)
    planned_end = models.DateField(null=True, blank=True)
    created_by = models.ForeignKey(User, null=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()
    opened_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    released_at = models.DateTimeField(null=True, blank=True)

    objects = TenantManager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(planned_end__isnull=True)
                | Q(planned_start__isnull=True)
                | Q(planned_end__gte=models.F("planned_start")),
                name="package_planned_end_after_start",
            )
        ]

    def __str__(self) -> str:
        return self.number


class CardStatus(models.TextChoices):
    OPEN = "open", "Open"
    IN_WORK = "in_work", "In work"
    SIGNED = "signed", "Signed"  # every step and the card signed; inspection may be due
    DONE = "done", "Done"  # signed, and inspected when critical


class TaskCard(models.Model):
    """One task in a package: from a task definition (a due item, or a task added by hand)
    or the rectification of a defect. Its instructions are copied from the task revision
    when the card is made, so a later revision does not change work already issued."""

    TENANT_PATH = "package__aircraft__operator"

    package = models.ForeignKey(WorkPackage, on_delete=models.PROTECT, related_name="cards")
    seq = models.PositiveIntegerField()
    task = models.ForeignKey(Task, null=True, blank=True, on_delete=models.PROTECT)
    revision = models.ForeignKey(TaskRevision, null=True, blank=True, on_delete=models.PROTECT)
    part = models.ForeignKey(
        Part, null=True, blank=True, on_delete=models.PROTECT, help_text="for a part's task"
    )
    defect = models.ForeignKey(
        "Defect", null=True, blank=True, on_delete=models.PROTECT, related_name="cards"
    )
    title = models.CharField(max_length=200)
    ata = models.CharField("ATA chapter", max_length=8)
    critical = models.BooleanField(
        default=False, help_text="needs an independent inspection by a different person"
    )
    tools = models.JSONField(default=list, blank=True)
    parts_required = models.JSONField(default=list, blank=True)
    references = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=10, choices=CardStatus.choices, default=CardStatus.OPEN)

    objects = TenantManager()

    class Meta:
        ordering = ["package_id", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["package", "seq"], name="card_seq_per_package"),
            models.CheckConstraint(
                condition=Q(task__isnull=False) | Q(defect__isnull=False),
                name="card_has_task_or_defect",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.package.number}/{self.seq}"


class StepKind(models.TextChoices):
    ACTION = "action", "Action"
    MEASURE = "measure", "Measure"
    REMOVE = "remove", "Remove a part"
    INSTALL = "install", "Install a part"


class TaskStep(models.Model):
    TENANT_PATH = "card__package__aircraft__operator"

    card = models.ForeignKey(TaskCard, on_delete=models.PROTECT, related_name="steps")
    seq = models.PositiveIntegerField()
    kind = models.CharField(max_length=8, choices=StepKind.choices, default=StepKind.ACTION)
    text = models.CharField(max_length=500)
    reference = models.CharField(max_length=120, blank=True, help_text="manual reference")
    measure_name = models.CharField(max_length=80, blank=True)
    measure_unit = models.CharField(max_length=20, blank=True)
    measure_min = models.FloatField(null=True, blank=True)
    measure_max = models.FloatField(null=True, blank=True)
    position = models.ForeignKey(
        Position, null=True, blank=True, on_delete=models.PROTECT, help_text="remove / install"
    )

    objects = TenantManager()

    class Meta:
        ordering = ["card_id", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["card", "seq"], name="step_seq_per_card"),
        ]

    def __str__(self) -> str:
        return f"{self.card}.{self.seq}"

    @property
    def limits_text(self) -> str:
        lo, hi, unit = self.measure_min, self.measure_max, self.measure_unit
        if lo is not None and hi is not None:
            return f"{lo:g} to {hi:g} {unit}".strip()
        if lo is not None:
            return f"at least {lo:g} {unit}".strip()
        if hi is not None:
            return f"at most {hi:g} {unit}".strip()
        return ""


class DefectSource(models.TextChoices):
    FLIGHT = "flight", "Flight finding"
    INSPECTION = "inspection", "Inspection"
    CREW = "crew", "Crew report"
    MEASUREMENT = "measurement", "Out-of-limit measurement"
    OTHER = "other", "Other"


class DefectStatus(models.TextChoices):
    OPEN = "open", "Open"
    DEFERRED = "deferred", "Deferred"
    CLOSED = "closed", "Closed"


class MelCategory(models.TextChoices):
    A = "A", "A (its own limit)"
    B = "B", "B (3 days)"
    C = "C", "C (10 days)"
    D = "D", "D (120 days)"


MEL_DAYS = {"B": 3, "C": 10, "D": 120}


class Defect(models.Model):
    """A fault found on an aircraft. Open and not deferred, or deferred past its deadline,
    it grounds the aircraft; closed by the signed rectification card."""

    TENANT_PATH = "aircraft__operator"

    number = models.CharField(max_length=24, unique=True)
    aircraft = models.ForeignKey(Aircraft, on_delete=models.PROTECT, related_name="defects")
    ata = models.CharField("ATA chapter", max_length=8)
    description = models.CharField(max_length=1000)
    source = models.CharField(max_length=12, choices=DefectSource.choices)
    source_ref = models.CharField(max_length=200, blank=True)
    found_at = models.DateTimeField()
    raised_by = models.ForeignKey(User, null=True, on_delete=models.PROTECT, related_name="+")
    raised_at = models.DateTimeField()
    step = models.ForeignKey(
        TaskStep, null=True, blank=True, on_delete=models.PROTECT, related_name="defects"
    )
    status = models.CharField(max_length=10, choices=DefectStatus.choices, default="open")
    deadline = models.DateTimeField(null=True, blank=True, help_text="of the deferral in force")
    closed_at = models.DateTimeField(null=True, blank=True)

    objects = TenantManager()

    class Meta:
        ordering = ["-found_at", "-id"]
        indexes = [models.Index(fields=["aircraft", "status"])]

    def __str__(self) -> str:
        return self.number


class SignedRecord(AppendOnly):
    """What every signed record carries: the signer, the authorisation and qualification
    they signed under, the UTC instant, and a correction link with its reason."""

    signer = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    authorisation = models.ForeignKey(
        Authorisation, null=True, on_delete=models.PROTECT, related_name="+"
    )
    qualification_ref = models.CharField(max_length=300, blank=True)
    signed_at = models.DateTimeField()

    class Meta:
        abstract = True


class SignOffKind(models.TextChoices):
    STEP = "step", "Step performed"
    CARD = "card", "Card signed"
    INSPECTION = "inspection", "Independent inspection"


class SignOff(SignedRecord):
    """A signature on a step, on a card, or an independent inspection of a card. A
    correction (``corrects``) withdraws the one it names, with its reason."""

    TENANT_PATH = "card__package__aircraft__operator"

    kind = models.CharField(max_length=10, choices=SignOffKind.choices)
    card = models.ForeignKey(TaskCard, on_delete=models.PROTECT, related_name="signoffs")
    step = models.ForeignKey(
        TaskStep, null=True, blank=True, on_delete=models.PROTECT, related_name="signoffs"
    )
    value = models.FloatField(null=True, blank=True, help_text="measured value")
    within_limits = models.BooleanField(null=True, blank=True)
    remark = models.CharField(max_length=1000, blank=True)
    installation = models.ForeignKey(
        Installation, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    part = models.ForeignKey(Part, null=True, blank=True, on_delete=models.PROTECT)
    removal_reason = models.CharField(max_length=12, blank=True)
    corrects = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="corrected_by"
    )
    correction_reason = models.CharField(max_length=500, blank=True)
    performed_by = models.ForeignKey(
        User,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="a trainee who performed the step under the signer's supervision",
    )
    supervised = models.OneToOneField(
        "SupervisedStep",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="countersignature",
        help_text="the trainee's signature this sign-off countersigns",
    )

    objects = AppendOnlyManager()

    class Meta:
        ordering = ["signed_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="step", step__isnull=False) | ~Q(kind="step"),
                name="signoff_step_names_step",
            ),
            models.CheckConstraint(
                condition=Q(performed_by__isnull=True, supervised__isnull=True)
                | Q(kind="step", performed_by__isnull=False, supervised__isnull=False),
                name="signoff_countersigns_a_step",
            ),
            models.CheckConstraint(
                condition=Q(corrects__isnull=True) | ~Q(correction_reason=""),
                name="signoff_correction_has_reason",
            ),
        ]

    def __str__(self) -> str:
        what = f"step {self.step.seq} of " if self.step_id else ""
        return f"{self.get_kind_display()}: {what}{self.card} by {self.signer}"


class SupervisedStep(AppendOnly):
    """A trainee's signature on a step performed under supervision, naming the supervisor who
    watched. It counts once that supervisor countersigns it (a ``SignOff`` with
    ``supervised`` set); a supervisor who does not accept it declines it with a reason
    (``SupervisionDecline``) and the step is open again."""

    TENANT_PATH = "card__package__aircraft__operator"

    card = models.ForeignKey(TaskCard, on_delete=models.PROTECT, related_name="supervised")
    step = models.ForeignKey(TaskStep, on_delete=models.PROTECT, related_name="supervised")
    trainee = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    supervisor = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    stage_ref = models.CharField(
        max_length=200, help_text="the trainee's stage grant that allows supervised work"
    )
    value = models.FloatField(null=True, blank=True, help_text="measured value")
    remark = models.CharField(max_length=1000, blank=True)
    part = models.ForeignKey(Part, null=True, blank=True, on_delete=models.PROTECT)
    removal_reason = models.CharField(max_length=12, blank=True)
    performed_at = models.DateTimeField()

    objects = AppendOnlyManager()

    class Meta:
        ordering = ["performed_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(trainee=models.F("supervisor")),
                name="supervisedstep_supervisor_is_another",
            ),
        ]

    def __str__(self) -> str:
        return f"step {self.step.seq} of {self.card} by {self.trainee} under {self.supervisor}"


class SupervisionDecline(AppendOnly):
    """The supervisor did not accept a trainee's step: it does not count, the step is open."""

    TENANT_PATH = "entry__card__package__aircraft__operator"

    entry = models.OneToOneField(SupervisedStep, on_delete=models.PROTECT, related_name="decline")
    declined_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    declined_at = models.DateTimeField()
    reason = models.CharField(max_length=500)

    objects = AppendOnlyManager()


class Release(SignedRecord):
    """The certificate of release to service of a package: signed last, when every card is
    done; it makes the compliance records the forecast uses."""

    TENANT_PATH = "package__aircraft__operator"

    package = models.OneToOneField(WorkPackage, on_delete=models.PROTECT, related_name="release")
    statement = models.CharField(max_length=1000)
    compliances = models.ManyToManyField(Compliance, related_name="+", blank=True)

    objects = AppendOnlyManager()

    def __str__(self) -> str:
        return f"CRS {self.package.number}"


class Deferral(SignedRecord):
    """A defect deferred under a minimum-equipment-list category, until ``deadline``. A
    later deferral of the same defect (an extension, or a correction) supersedes it."""

    TENANT_PATH = "defect__aircraft__operator"

    defect = models.ForeignKey(Defect, on_delete=models.PROTECT, related_name="deferrals")
    category = models.CharField(max_length=1, choices=MelCategory.choices)
    mel_item = models.CharField("MEL item", max_length=40)
    deadline = models.DateTimeField()
    reason = models.CharField(max_length=1000)
    supersedes = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="superseded_by"
    )

    objects = AppendOnlyManager()

    class Meta:
        ordering = ["signed_at", "id"]

    def __str__(self) -> str:
        return f"{self.defect.number} deferred ({self.category}) to {self.deadline:%Y-%m-%d %H:%M}Z"


class DefectClosure(SignedRecord):
    """A defect closed by its signed rectification card."""

    TENANT_PATH = "defect__aircraft__operator"

    defect = models.OneToOneField(Defect, on_delete=models.PROTECT, related_name="closure")
    card = models.ForeignKey(TaskCard, on_delete=models.PROTECT, related_name="+")
    action = models.CharField(max_length=1000, help_text="rectification done")

    objects = AppendOnlyManager()

    def __str__(self) -> str:
        return f"{self.defect.number} closed by {self.card}"


class NumberSeries(models.Model):
    """The last number given in a series (work packages, defects per year): locked while the
    next one is taken, so two writers never take the same number."""

    TENANT_PATH = None

    name = models.CharField(max_length=40, primary_key=True)
    last = models.PositiveIntegerField(default=0)

    objects = TenantManager()

    def __str__(self) -> str:
        return f"{self.name} at {self.last}"
