"""Technology transfer: courses and their sessions, enrolments, attendance, assessments and
certificates; competence requirements; authorisation stages and their grants.

On-the-job evidence is not typed here: a trainee's supervised step is a work record
(``kanat.work.models.SupervisedStep`` countersigned by a ``SignOff``), and the experience
logbook is read from the standing step sign-offs (``kanat.training.selectors.logbook``).

Courses, sessions and stages are the hub's reference data. What is evidence (attendance,
assessments, certificates, stage grants and their withdrawals) is append-only: a correction is
a new row that names the one it corrects. Rows are written by ``kanat.training.services`` only.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from kanat.core.models import AppendOnly, User
from kanat.core.roles import Role
from kanat.core.tenancy import AppendOnlyManager, TenantManager
from kanat.fleet.models import AircraftType
from kanat.people.models import Authorisation, Qualification


class Provider(models.TextChoices):
    LICENSOR = "licensor", "Licensor"
    LOCAL_SCHOOL = "local_school", "Local school"


class CourseKind(models.TextChoices):
    TYPE = "type", "Type training"
    PRACTICAL = "practical", "Practical training"
    RECURRENT = "recurrent", "Recurrent training"
    HUMAN_FACTORS = "human_factors", "Human factors"
    SAFETY = "safety", "Safety"


class Element(models.TextChoices):
    THEORY = "theory", "Theory"
    PRACTICAL = "practical", "Practical"


class Course(models.Model):
    """A course in the catalogue. Its certificate is valid ``validity_months`` (empty: for
    good); a recurrent course ``renews`` another course's certificate."""

    TENANT_PATH = None

    code = models.CharField(max_length=30, unique=True)
    title = models.CharField(max_length=200)
    kind = models.CharField(max_length=16, choices=CourseKind.choices)
    provider = models.CharField(max_length=16, choices=Provider.choices)
    aircraft_type = models.ForeignKey(
        AircraftType, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    ata_chapters = models.JSONField(default=list, blank=True)
    theory_hours = models.DecimalField(max_digits=6, decimal_places=1, default=Decimal("0"))
    practical_hours = models.DecimalField(max_digits=6, decimal_places=1, default=Decimal("0"))
    pass_mark = models.PositiveSmallIntegerField(
        default=75, validators=[MinValueValidator(1), MaxValueValidator(100)]
    )
    validity_months = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="empty: the certificate does not expire"
    )
    renews = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="renewed_by",
        help_text="a recurrent course: the course whose certificate it renews",
    )
    description = models.TextField(blank=True)
    created_at = models.DateTimeField()

    objects = TenantManager()

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(theory_hours__gte=0) & Q(practical_hours__gte=0),
                name="course_hours_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(theory_hours__gt=0) | Q(practical_hours__gt=0),
                name="course_has_hours",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.title}"

    @property
    def hours(self) -> Decimal:
        return self.theory_hours + self.practical_hours

    @property
    def elements(self) -> list[str]:
        """What is assessed: theory and practical, as the course has hours of each."""
        out = []
        if self.theory_hours > 0:
            out.append(Element.THEORY.value)
        if self.practical_hours > 0:
            out.append(Element.PRACTICAL.value)
        return out

    @property
    def currency_course_id(self) -> int:
        """The course whose currency a certificate of this one gives."""
        return self.renews_id or self.pk


class Session(models.Model):
    """One delivery of a course: dates, place, instructor, capacity."""

    TENANT_PATH = None

    code = models.CharField(max_length=40, unique=True)
    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="sessions")
    starts_on = models.DateField()
    ends_on = models.DateField()
    location = models.CharField(max_length=200)
    instructor = models.CharField(max_length=200)
    capacity = models.PositiveSmallIntegerField(default=12)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancel_reason = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField()

    objects = TenantManager()

    class Meta:
        ordering = ["-starts_on", "code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__gte=models.F("starts_on")), name="session_ends_after_start"
            ),
            models.CheckConstraint(condition=Q(capacity__gt=0), name="session_capacity_positive"),
        ]

    def __str__(self) -> str:
        return self.code


class Enrolment(models.Model):
    """A person on a session. A withdrawal is stamped with its reason."""

    TENANT_PATH = "person__operator"

    session = models.ForeignKey(Session, on_delete=models.PROTECT, related_name="enrolments")
    person = models.ForeignKey(User, on_delete=models.PROTECT, related_name="enrolments")
    enrolled_at = models.DateTimeField()
    enrolled_by = models.ForeignKey(User, null=True, on_delete=models.PROTECT, related_name="+")
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    withdrawal_reason = models.CharField(max_length=500, blank=True)

    objects = TenantManager()

    class Meta:
        ordering = ["session_id", "person__username"]
        constraints = [
            models.UniqueConstraint(fields=["session", "person"], name="enrolment_once"),
        ]

    def __str__(self) -> str:
        return f"{self.person} on {self.session}"


class Attendance(AppendOnly):
    """Hours a person attended on one day of a session (one row per day)."""

    TENANT_PATH = "enrolment__person__operator"

    enrolment = models.ForeignKey(Enrolment, on_delete=models.PROTECT, related_name="attendance")
    day = models.DateField()
    hours = models.DecimalField(max_digits=4, decimal_places=1)
    recorded_by = models.ForeignKey(User, null=True, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField()

    objects = AppendOnlyManager()

    class Meta:
        ordering = ["day", "id"]
        constraints = [
            models.UniqueConstraint(fields=["enrolment", "day"], name="attendance_once_a_day"),
            models.CheckConstraint(
                condition=Q(hours__gt=0) & Q(hours__lte=24), name="attendance_hours_in_a_day"
            ),
        ]


class Assessment(AppendOnly):
    """A theory or practical assessment of an enrolment: its score against the course's pass
    mark. A correction names the result it corrects."""

    TENANT_PATH = "enrolment__person__operator"

    enrolment = models.ForeignKey(Enrolment, on_delete=models.PROTECT, related_name="assessments")
    element = models.CharField(max_length=10, choices=Element.choices)
    score = models.PositiveSmallIntegerField(validators=[MaxValueValidator(100)])
    passed = models.BooleanField()
    assessor = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    assessed_at = models.DateTimeField()
    remark = models.CharField(max_length=1000, blank=True)
    corrects = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="corrected_by"
    )
    correction_reason = models.CharField(max_length=500, blank=True)

    objects = AppendOnlyManager()

    class Meta:
        ordering = ["assessed_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(score__lte=100), name="assessment_score_percent"),
            models.CheckConstraint(
                condition=Q(corrects__isnull=True) | ~Q(correction_reason=""),
                name="assessment_correction_has_reason",
            ),
        ]


class Certificate(AppendOnly):
    """A course certificate: issued from a passed enrolment, or recorded from elsewhere. It
    gives currency in ``course.currency_course_id`` until ``expires_on`` (through that day).
    A type course's certificate is also recorded as the holder's qualification."""

    TENANT_PATH = "person__operator"

    number = models.CharField(max_length=40, unique=True)
    person = models.ForeignKey(User, on_delete=models.PROTECT, related_name="certificates")
    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="certificates")
    covers = models.ForeignKey(
        Course,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="the course whose currency it gives (a recurrent course renews another)",
    )
    enrolment = models.OneToOneField(
        Enrolment, null=True, blank=True, on_delete=models.PROTECT, related_name="certificate"
    )
    issued_on = models.DateField()
    expires_on = models.DateField(null=True, blank=True)
    issued_by = models.ForeignKey(User, null=True, on_delete=models.PROTECT, related_name="+")
    qualification = models.OneToOneField(
        Qualification, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField()

    objects = AppendOnlyManager()

    class Meta:
        ordering = ["issued_on", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(expires_on__isnull=True) | Q(expires_on__gte=models.F("issued_on")),
                name="certificate_expires_after_issue",
            ),
        ]

    def __str__(self) -> str:
        return f"certificate {self.number}"

    def current(self, day: dt.date) -> bool:
        return self.issued_on <= day and (self.expires_on is None or day <= self.expires_on)


class Origin(models.TextChoices):
    LOCAL = "local", "Locally trained"
    LICENSOR = "licensor", "Licensor staff"


class Trainee(models.Model):
    """A person's place in the transfer: locally trained staff, or the licensor's staff who
    work here while the transfer lasts. The dashboard's shares count ``LOCAL`` people."""

    TENANT_PATH = "person__operator"

    person = models.OneToOneField(User, on_delete=models.PROTECT, related_name="trainee")
    origin = models.CharField(max_length=10, choices=Origin.choices)
    joined_on = models.DateField()
    created_at = models.DateTimeField()

    objects = TenantManager()

    class Meta:
        ordering = ["person__username"]

    def __str__(self) -> str:
        return f"{self.person} ({self.get_origin_display()})"


class Stage(models.Model):
    """One rung of an aircraft type's authorisation ladder (trainee, supervised, independent,
    certifying). ``supervised_work``: its holder may perform task-card steps under a
    supervisor's countersignature. ``privileges``: what a grant authorises the holder to sign
    alone (an authorisation is issued with the grant)."""

    TENANT_PATH = None

    code = models.CharField(max_length=30, unique=True)
    name = models.CharField(max_length=100)
    aircraft_type = models.ForeignKey(AircraftType, on_delete=models.PROTECT, related_name="+")
    rank = models.PositiveSmallIntegerField()
    supervised_work = models.BooleanField(default=False)
    privileges = models.JSONField(default=list, blank=True)
    ata_chapters = models.JSONField(default=list, blank=True)
    description = models.TextField(blank=True)
    created_at = models.DateTimeField()

    objects = TenantManager()

    class Meta:
        ordering = ["aircraft_type_id", "rank"]
        constraints = [
            models.UniqueConstraint(fields=["aircraft_type", "rank"], name="stage_rank_per_type"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.aircraft_type.code})"


class RequirementKind(models.TextChoices):
    COURSE = "course", "Course certificate in force"
    ASSESSMENT = "assessment", "Practical assessment passed"
    EXPERIENCE = "experience", "Logged task-card steps"
    QUALIFICATION = "qualification", "Qualification held"


class Requirement(models.Model):
    """What a person must have: for a stage (the evidence a grant needs) or for a role (the
    competence matrix). A course requirement lapses with the certificate."""

    TENANT_PATH = None

    stage = models.ForeignKey(
        Stage, null=True, blank=True, on_delete=models.PROTECT, related_name="requirements"
    )
    role = models.CharField(max_length=32, choices=Role.choices, blank=True)
    kind = models.CharField(max_length=16, choices=RequirementKind.choices)
    course = models.ForeignKey(
        Course, null=True, blank=True, on_delete=models.PROTECT, related_name="requirements"
    )
    ata_chapter = models.CharField(max_length=2, blank=True, help_text="empty: any chapter")
    min_steps = models.PositiveIntegerField(null=True, blank=True)
    qualification_category = models.CharField(max_length=40, blank=True)
    created_at = models.DateTimeField()

    objects = TenantManager()

    class Meta:
        ordering = ["stage_id", "role", "kind", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(stage__isnull=False) & Q(role=""))
                | (Q(stage__isnull=True) & ~Q(role="")),
                name="requirement_for_stage_or_role",
            ),
            models.CheckConstraint(
                condition=~Q(kind__in=["course", "assessment"]) | Q(course__isnull=False),
                name="requirement_course_names_course",
            ),
            models.CheckConstraint(
                condition=~Q(kind="experience") | Q(min_steps__gt=0),
                name="requirement_experience_counts_steps",
            ),
            models.CheckConstraint(
                condition=~Q(kind="qualification") | ~Q(qualification_category=""),
                name="requirement_qualification_names_category",
            ),
        ]

    def __str__(self) -> str:
        if self.kind == RequirementKind.COURSE:
            return f"{self.course.code} in force"  # type: ignore[union-attr]
        if self.kind == RequirementKind.ASSESSMENT:
            return f"{self.course.code} practical assessment passed"  # type: ignore[union-attr]
        if self.kind == RequirementKind.QUALIFICATION:
            return f"{self.qualification_category} qualification in force"
        chapter = f"ATA {self.ata_chapter}" if self.ata_chapter else "any chapter"
        return f"{self.min_steps} logged steps, {chapter}"


class StageGrant(AppendOnly):
    """A stage granted by a training manager, with the evidence it rested on (as evaluated at
    the grant) and the authorisation issued with it. Signed into the hub's record chain. It
    lapses while a course certificate the stage requires is out of date, and ends with its
    withdrawal (``StageWithdrawal``)."""

    TENANT_PATH = "person__operator"

    number = models.CharField(max_length=40, unique=True)
    person = models.ForeignKey(User, on_delete=models.PROTECT, related_name="stage_grants")
    stage = models.ForeignKey(Stage, on_delete=models.PROTECT, related_name="grants")
    granted_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    granted_at = models.DateTimeField()
    evidence = models.JSONField()
    authorisation = models.OneToOneField(
        Authorisation, null=True, blank=True, on_delete=models.PROTECT, related_name="stage_grant"
    )
    note = models.CharField(max_length=1000, blank=True)

    objects = AppendOnlyManager()

    class Meta:
        ordering = ["granted_at", "id"]

    def __str__(self) -> str:
        return f"{self.number}: {self.stage} to {self.person}"


class StageWithdrawal(AppendOnly):
    TENANT_PATH = "grant__person__operator"

    grant = models.OneToOneField(StageGrant, on_delete=models.PROTECT, related_name="withdrawal")
    withdrawn_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    withdrawn_at = models.DateTimeField()
    reason = models.CharField(max_length=500)

    objects = AppendOnlyManager()
