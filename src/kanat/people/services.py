"""Write path for qualifications and authorisations, and the check every sign-off makes.

Every change runs in one transaction with its audit event. Rows are never edited: a changed
scope is a new row; a withdrawal is stamped on the row with its reason and time.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from kanat.core import audit
from kanat.core.errors import NoAuthority, RuleViolation
from kanat.core.models import User
from kanat.core.roles import Capability
from kanat.core.services import require
from kanat.fleet.models import AircraftType
from kanat.people.models import Authorisation, Privilege, Qualification

_CHAPTER = re.compile(r"^\d{2}$")


def _chapters(values: Iterable[str], field: str) -> list[str]:
    """ATA chapters as two-digit strings, sorted, without repeats."""
    out = set()
    for value in values:
        text = str(value).strip()
        if not _CHAPTER.match(text):
            raise RuleViolation(
                f"ATA chapter {value!r} is not two digits (e.g. 05, 32)", field=field
            )
        out.add(text)
    return sorted(out)


def _types(types: Iterable[AircraftType], field: str) -> list[AircraftType]:
    out = list(dict.fromkeys(types))
    if not out:
        raise RuleViolation("name at least one aircraft type", field=field)
    return out


@transaction.atomic
def grant_qualification(
    *,
    actor: User | None,
    holder: User,
    category: str,
    reference: str,
    issuing_authority: str,
    aircraft_types: Iterable[AircraftType],
    issued_on: dt.date,
    expires_on: dt.date | None = None,
    ata_chapters: Iterable[str] = (),
) -> Qualification:
    """Record a licence or qualification the holder has been issued."""
    require(actor, Capability.MANAGE_AUTHORISATIONS)
    category, reference = category.strip(), reference.strip()
    issuing_authority = issuing_authority.strip()
    for name, value in (
        ("category", category),
        ("reference", reference),
        ("issuing_authority", issuing_authority),
    ):
        if not value:
            raise RuleViolation(f"a qualification needs its {name.replace('_', ' ')}", field=name)
    if expires_on is not None and expires_on < issued_on:
        raise RuleViolation(
            f"expires on {expires_on} before it was issued ({issued_on})", field="expires_on"
        )
    if not holder.is_active:
        raise RuleViolation(f"{holder.get_username()} is not an active user", field="holder")
    types = _types(aircraft_types, "aircraft_types")
    chapters = _chapters(ata_chapters, "ata_chapters")
    if Qualification.objects.filter(
        issuing_authority=issuing_authority, reference=reference, category=category
    ).exists():
        raise RuleViolation(
            f"{category} {reference} of {issuing_authority} is already recorded", field="reference"
        )
    qualification = Qualification.objects.create(
        holder=holder,
        category=category,
        reference=reference,
        issuing_authority=issuing_authority,
        ata_chapters=chapters,
        issued_on=issued_on,
        expires_on=expires_on,
        created_at=timezone.now(),
    )
    _granted(qualification, types, actor=actor, action="people.grant_qualification")
    return qualification


@transaction.atomic
def grant_authorisation(
    *,
    actor: User | None,
    holder: User,
    number: str,
    qualification: Qualification,
    privileges: Iterable[str],
    aircraft_types: Iterable[AircraftType],
    valid_from: dt.datetime,
    valid_until: dt.datetime | None = None,
    ata_chapters: Iterable[str] = (),
) -> Authorisation:
    """Issue a certification authorisation. Its scope must lie within the qualification it
    rests on (types and chapters), and the holder must be the qualification's holder."""
    require(actor, Capability.MANAGE_AUTHORISATIONS)
    number = number.strip()
    if not number:
        raise RuleViolation("an authorisation needs its number", field="number")
    if Authorisation.objects.filter(number=number).exists():
        raise RuleViolation(f"authorisation {number} already exists", field="number")
    if qualification.holder_id != holder.pk:
        raise RuleViolation(
            f"{qualification} is held by someone else, not {holder.get_username()}",
            field="qualification",
        )
    if qualification.withdrawn_at is not None:
        raise RuleViolation(f"{qualification} was withdrawn", field="qualification")
    privs = list(dict.fromkeys(str(p) for p in privileges))
    if not privs:
        raise RuleViolation("name at least one privilege", field="privileges")
    unknown = [p for p in privs if p not in Privilege.values]
    if unknown:
        raise RuleViolation(
            f"unknown privilege {unknown[0]!r} (known: {', '.join(Privilege.values)})",
            field="privileges",
        )
    if valid_from.tzinfo is None or (valid_until is not None and valid_until.tzinfo is None):
        raise RuleViolation("validity instants need a time zone", field="valid_from")
    if valid_until is not None and valid_until <= valid_from:
        raise RuleViolation(
            f"valid until {valid_until.isoformat()} is not after {valid_from.isoformat()}",
            field="valid_until",
        )
    types = _types(aircraft_types, "aircraft_types")
    covered = set(qualification.aircraft_types.values_list("pk", flat=True))
    outside = [t.code for t in types if t.pk not in covered]
    if outside:
        raise RuleViolation(
            f"{qualification} does not cover type {outside[0]}", field="aircraft_types"
        )
    chapters = _chapters(ata_chapters, "ata_chapters")
    if qualification.ata_chapters:
        if not chapters:
            raise RuleViolation(
                f"{qualification} covers chapters {', '.join(qualification.ata_chapters)} only:"
                " name them",
                field="ata_chapters",
            )
        extra = [c for c in chapters if c not in qualification.ata_chapters]
        if extra:
            raise RuleViolation(
                f"{qualification} does not cover chapter {extra[0]}", field="ata_chapters"
            )
    authorisation = Authorisation.objects.create(
        number=number,
        holder=holder,
        qualification=qualification,
        privileges=sorted(privs),
        ata_chapters=chapters,
        valid_from=valid_from,
        valid_until=valid_until,
        issued_by=actor,
        created_at=timezone.now(),
    )
    _granted(authorisation, types, actor=actor, action="people.grant_authorisation")
    return authorisation


def _granted(
    row: Qualification | Authorisation,
    types: list[AircraftType],
    *,
    actor: User | None,
    action: str,
) -> None:
    """The new row's aircraft types, and its audit event (in the caller's transaction)."""
    row.aircraft_types.set(types)
    after = audit.snapshot(row) | {"aircraft_types": [t.code for t in types]}
    audit.record(
        actor=actor, action=action, instance=row, operator=row.holder.operator_id, after=after
    )


def _withdraw(
    row: Qualification | Authorisation, *, actor: User | None, reason: str, action: str
) -> None:
    reason = reason.strip()
    if not reason:
        raise RuleViolation("say why it is withdrawn", field="reason")
    model = type(row)
    locked = model.objects.select_for_update().get(pk=row.pk)
    if locked.withdrawn_at is not None:
        raise RuleViolation(
            f"{locked} was already withdrawn at {locked.withdrawn_at:%Y-%m-%d %H:%M}"
        )
    before = audit.snapshot(locked)
    locked.withdrawn_at = timezone.now()
    locked.withdrawal_reason = reason
    locked.save(update_fields=["withdrawn_at", "withdrawal_reason"])
    row.withdrawn_at, row.withdrawal_reason = locked.withdrawn_at, reason
    audit.record(
        actor=actor,
        action=action,
        instance=locked,
        operator=locked.holder.operator_id,
        before=before,
        after=audit.snapshot(locked),
    )


@transaction.atomic
def withdraw_qualification(
    *, actor: User | None, qualification: Qualification, reason: str
) -> Qualification:
    """From now on the qualification (and every authorisation resting on it) signs nothing;
    what was signed before stays signed."""
    require(actor, Capability.MANAGE_AUTHORISATIONS)
    _withdraw(qualification, actor=actor, reason=reason, action="people.withdraw_qualification")
    return qualification


@transaction.atomic
def withdraw_authorisation(
    *, actor: User | None, authorisation: Authorisation, reason: str
) -> Authorisation:
    require(actor, Capability.MANAGE_AUTHORISATIONS)
    _withdraw(authorisation, actor=actor, reason=reason, action="people.withdraw_authorisation")
    return authorisation


@dataclass(frozen=True)
class Authority:
    """What a sign-off rests on: the authorisation and the qualification it is based on."""

    authorisation: Authorisation
    qualification: Qualification

    @property
    def reference(self) -> str:
        """The signer's qualification reference a signature binds."""
        q = self.qualification
        return f"{self.authorisation.number} / {q.category} {q.reference} ({q.issuing_authority})"


def chapter_of(ata: str) -> str:
    """The two-digit chapter of an ATA reference ("32", "32-11-00", "3211")."""
    digits = re.sub(r"\D", "", str(ata))
    if len(digits) < 2:
        raise RuleViolation(
            f"ATA reference {ata!r} has no chapter: give it as digits, e.g. 32 or 32-10",
            field="ata",
        )
    return digits[:2]


def _covers(row: Qualification | Authorisation, type_id: int, chapter: str) -> str | None:
    if type_id not in {t.pk for t in row.aircraft_types.all()}:
        codes = ", ".join(sorted(t.code for t in row.aircraft_types.all()))
        return f"{row} covers type {codes}, not this aircraft's type"
    if row.ata_chapters and chapter not in row.ata_chapters:
        return f"{row} covers ATA chapters {', '.join(row.ata_chapters)}, not {chapter}"
    return None


def _training_lapse(auth: Authorisation, at: dt.datetime) -> str | None:
    """An authorisation issued with a training stage lapses with it (recurrent training
    expired) and ends with its withdrawal: ``kanat.training`` says why, or None."""
    if not hasattr(auth, "stage_grant"):  # read with the authorisation: no grant, no query
        return None
    from kanat.training.selectors import lapse_reason  # training builds on people

    return lapse_reason(auth, at)


def signing_authority(
    *,
    signer: User,
    privilege: str,
    aircraft_type: AircraftType,
    ata: str,
    at: dt.datetime,
) -> Authority:
    """The authorisation and qualification under which ``signer`` may sign ``privilege`` on
    this type and ATA chapter at instant ``at``; raises NoAuthority naming every reason when
    none covers it (expired, withdrawn, out of scope, not yet valid, none held).

    A qualification is in force from its issue date (00:00 UTC) through its expiry date."""
    if privilege not in Privilege.values:
        raise RuleViolation(f"unknown privilege {privilege!r}", field="privilege")
    if at.tzinfo is None:
        raise RuleViolation("the signing instant needs a time zone", field="at")
    chapter = chapter_of(ata)
    name = signer.get_username()
    if not signer.is_active:
        raise NoAuthority(f"{name} is not an active user")
    label = Privilege(privilege).label.lower()
    candidates = [
        a
        for a in Authorisation.objects.filter(holder=signer)
        .select_related("qualification", "stage_grant")
        .prefetch_related("aircraft_types", "qualification__aircraft_types")
        .order_by("valid_from", "id")
        if privilege in a.privileges
    ]
    if not candidates:
        raise NoAuthority(f"{name} holds no authorisation to sign: {label}")
    reasons = []
    for auth in candidates:
        q = auth.qualification
        reason = (
            auth.standing(at)[1]
            or _covers(auth, aircraft_type.pk, chapter)
            or q.standing(at)[1]
            or _covers(q, aircraft_type.pk, chapter)
            or _training_lapse(auth, at)
        )
        if reason is None:
            return Authority(auth, q)
        reasons.append(reason)
    raise NoAuthority(
        f"{name} may not sign ({label}, {aircraft_type.code}, ATA {chapter}) at "
        f"{at.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC: " + "; ".join(reasons)
    )
