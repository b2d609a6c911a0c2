"""Recurrent-training reminders: the course certificates that run out within a horizon, or
ran out with no renewal, per person, with the stage grants that lapse with them.

A certificate is renewed by a later one covering the same course (its own course again, or
the recurrent course that renews it): for each person and covered course only the
certificate that gives currency the longest counts (``selectors.latest_certificates``'
rule). Reads go through ``restrict(viewer)`` and are a fixed number of bulk queries
(certificates, grants with their stages' requirements), whatever the number of rows.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Prefetch

from kanat.training.models import Certificate, Requirement, RequirementKind, StageGrant
from kanat.training.selectors import _lasts_longer

DEFAULT_DAYS = 90
MAX_DAYS = 3660


@dataclass
class Due:
    """One person's currency in one course running out (``expired``: already out)."""

    certificate: Certificate
    expires_on: dt.date
    expired: bool
    days_left: int
    #: stage grants standing on this course: they lapse with it (or have lapsed)
    grants: list[StageGrant] = field(default_factory=list)

    @property
    def days_over(self) -> int:
        return -self.days_left

    @property
    def course(self) -> Any:
        return self.certificate.covers


@dataclass
class PersonDue:
    person: Any
    rows: list[Due] = field(default_factory=list)


def due(viewer: Any, day: dt.date, *, within_days: int = DEFAULT_DAYS) -> list[PersonDue]:
    """Per active person the viewer may see: each course whose currency (the certificate
    lasting the longest) ends by ``day + within_days`` or ended before ``day`` without a
    renewal, with the grants in force (not withdrawn) whose stage requires that course."""
    horizon = day + dt.timedelta(days=within_days)
    best: dict[tuple[int, int], Certificate] = {}
    certs = (
        Certificate.objects.restrict(viewer)
        .filter(person__is_active=True, issued_on__lte=day)
        .select_related("person", "course", "covers")
        .order_by("issued_on", "id")
    )
    for cert in certs:
        key = (cert.person_id, cert.covers_id)
        held = best.get(key)
        if held is None or _lasts_longer(cert, held):
            best[key] = cert
    rows = [c for c in best.values() if c.expires_on is not None and c.expires_on <= horizon]
    if not rows:
        return []
    people = {c.person_id for c in rows}
    grants = (
        StageGrant.objects.restrict(viewer)
        .filter(person_id__in=people, withdrawal__isnull=True, granted_at__date__lte=day)
        .select_related("stage__aircraft_type")
        .prefetch_related(
            Prefetch(
                "stage__requirements",
                queryset=Requirement.objects.filter(kind=RequirementKind.COURSE),
                to_attr="course_requirements",
            )
        )
        .order_by("granted_at", "id")
    )
    by_course: dict[tuple[int, int], list[StageGrant]] = {}
    for grant in grants:
        for req in grant.stage.course_requirements:  # type: ignore[attr-defined]
            by_course.setdefault((grant.person_id, req.course_id), []).append(grant)
    out: dict[int, PersonDue] = {}
    for cert in sorted(rows, key=lambda c: (c.person.username, c.expires_on, c.covers.code)):
        expires = cert.expires_on
        assert expires is not None
        entry = out.setdefault(cert.person_id, PersonDue(cert.person))
        entry.rows.append(
            Due(
                certificate=cert,
                expires_on=expires,
                expired=expires < day,
                days_left=(expires - day).days,
                grants=by_course.get((cert.person_id, cert.covers_id), []),
            )
        )
    return list(out.values())


def parse_days(raw: str | None) -> int:
    """The horizon from a query parameter: a whole number of days 0..MAX_DAYS; ValueError
    naming what is wrong otherwise."""
    if raw is None or raw.strip() == "":
        return DEFAULT_DAYS
    text = raw.strip()
    if not text.isdigit() or int(text) > MAX_DAYS:
        raise ValueError(f"days {raw!r} is not a whole number of days from 0 to {MAX_DAYS}")
    return int(text)
