"""What a person may sign: their licences and qualifications, and the hub's certification
authorisations (EASA Part-145.A.35, FAA 14 CFR 65 / repair-station rosters).

A sign-off (task step, independent inspection, release to service) is accepted only when the
signer holds, at the instant of signing, an authorisation with that privilege covering the
aircraft type and ATA chapter, based on a qualification that is itself in force and covers
them too (``kanat.people.services.signing_authority``).

Rows are written by ``kanat.people.services`` only. Neither is ever edited: a change is a new
row, and a withdrawal is recorded on the row with its reason (signatures keep pointing at the
authorisation and qualification that were in force when they were made).
"""

from __future__ import annotations

import datetime as dt

from django.db import models
from django.db.models import Q

from kanat.core.models import User
from kanat.core.tenancy import TenantManager
from kanat.fleet.models import AircraftType


class Privilege(models.TextChoices):
    TASK = "task", "Perform and sign task card steps and cards"
    INSPECTION = "inspection", "Independent inspection of critical tasks"
    RELEASE = "release", "Certificate of release to service"


IN_FORCE, NOT_YET_VALID, EXPIRED, WITHDRAWN = "in force", "not yet valid", "expired", "withdrawn"


def _withdrawn(row: Qualification | Authorisation, at: dt.datetime) -> tuple[str, str] | None:
    if row.withdrawn_at is not None and row.withdrawn_at <= at:
        when = f"{row.withdrawn_at:%Y-%m-%d %H:%M} UTC"
        return WITHDRAWN, f"{row} was withdrawn on {when} ({row.withdrawal_reason})"
    return None


class Qualification(models.Model):
    """A licence or qualification a person holds: e.g. a Part-66 B1 licence with its type
    ratings, or a type course certificate. ``ata_chapters`` empty: every chapter."""

    TENANT_PATH = "holder__operator"

    holder = models.ForeignKey(User, on_delete=models.PROTECT, related_name="qualifications")
    category = models.CharField(max_length=40, help_text="e.g. B1, B2, C, type course")
    reference = models.CharField(max_length=80, help_text="licence or certificate number")
    issuing_authority = models.CharField(max_length=200)
    aircraft_types = models.ManyToManyField(AircraftType, related_name="+")
    ata_chapters = models.JSONField(default=list, blank=True)
    issued_on = models.DateField()
    expires_on = models.DateField(null=True, blank=True, help_text="empty: no expiry")
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    withdrawal_reason = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField()

    objects = TenantManager()

    class Meta:
        ordering = ["holder_id", "issued_on", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["issuing_authority", "reference", "category"],
                name="qualification_unique_reference",
            ),
            models.CheckConstraint(
                condition=Q(expires_on__isnull=True) | Q(expires_on__gte=models.F("issued_on")),
                name="qualification_expires_after_issue",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.category} {self.reference} ({self.issuing_authority})"

    def standing(self, at: dt.datetime) -> tuple[str, str]:
        """(state, why) at ``at``: in force from the issue date through the expiry date
        (UTC dates)."""
        if (withdrawn := _withdrawn(self, at)) is not None:
            return withdrawn
        day = at.astimezone(dt.UTC).date()
        if day < self.issued_on:
            return NOT_YET_VALID, f"{self} is not valid before {self.issued_on}"
        if self.expires_on is not None and day > self.expires_on:
            return EXPIRED, f"{self} expired: valid through {self.expires_on}"
        return IN_FORCE, ""


class Authorisation(models.Model):
    """A certification authorisation the hub issues to a person: which privileges, on which
    types and ATA chapters (empty: every chapter), from when to when, based on which of the
    person's qualifications."""

    TENANT_PATH = "holder__operator"

    number = models.CharField(max_length=40, unique=True)
    holder = models.ForeignKey(User, on_delete=models.PROTECT, related_name="authorisations")
    qualification = models.ForeignKey(
        Qualification, on_delete=models.PROTECT, related_name="authorisations"
    )
    privileges = models.JSONField(help_text="a list of Privilege values")
    aircraft_types = models.ManyToManyField(AircraftType, related_name="+")
    ata_chapters = models.JSONField(default=list, blank=True)
    valid_from = models.DateTimeField()
    valid_until = models.DateTimeField(null=True, blank=True, help_text="empty: until withdrawn")
    issued_by = models.ForeignKey(User, null=True, on_delete=models.PROTECT, related_name="+")
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    withdrawal_reason = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField()

    objects = TenantManager()

    class Meta:
        ordering = ["holder_id", "valid_from", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_until__isnull=True) | Q(valid_until__gt=models.F("valid_from")),
                name="authorisation_valid_until_after_from",
            ),
        ]

    def __str__(self) -> str:
        return f"authorisation {self.number}"

    def standing(self, at: dt.datetime) -> tuple[str, str]:
        """(state, why) at ``at``: in force from ``valid_from`` until ``valid_until``."""
        if (withdrawn := _withdrawn(self, at)) is not None:
            return withdrawn
        if at < self.valid_from:
            return NOT_YET_VALID, f"{self} is not valid before {self.valid_from:%Y-%m-%d %H:%M} UTC"
        if self.valid_until is not None and at >= self.valid_until:
            return EXPIRED, f"{self} expired on {self.valid_until:%Y-%m-%d %H:%M} UTC"
        return IN_FORCE, ""
