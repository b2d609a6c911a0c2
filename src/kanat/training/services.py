"""Write path for training: the catalogue, sessions, enrolments, attendance, assessments,
certificates, trainees, stages with their requirements, and stage grants.

Every function runs in one transaction with its audit event, checks the actor's capability,
and names what is wrong when it refuses (nothing is changed then). Evidence rows are never
edited: an assessment is corrected by a new one that names it; a grant ends with a withdrawal.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone

from kanat.core import audit
from kanat.core.errors import Conflict, RuleViolation
from kanat.core.models import User
from kanat.core.roles import Capability, Role
from kanat.core.services import at_or_now, require
from kanat.fleet.models import AircraftType
from kanat.people import services as people
from kanat.people.models import IN_FORCE, Privilege, Qualification
from kanat.records import chain
from kanat.training import selectors
from kanat.training.models import (
    Assessment,
    Attendance,
    Certificate,
    Course,
    CourseKind,
    Element,
    Enrolment,
    Origin,
    Provider,
    Requirement,
    RequirementKind,
    Session,
    Stage,
    StageGrant,
    StageWithdrawal,
    Trainee,
)
from kanat.work.services import next_number

ATTENDANCE_SHARE = Decimal("0.9")  # of the course's hours, for a certificate
_CODE = re.compile(r"^[A-Z0-9][A-Z0-9._/-]*$")


def _fits(text: str, name: str, limit: int) -> str:
    """Refuse text longer than its column holds (PostgreSQL would refuse it with a 500)."""
    if len(text) > limit:
        raise RuleViolation(
            f"{name.replace('_', ' ')} is {len(text)} characters long: at most {limit}",
            field=name,
        )
    return text


def _text(value: str, name: str, what: str, limit: int = 500) -> str:
    text = (value or "").strip()
    if not text:
        raise RuleViolation(f"{what} needs its {name.replace('_', ' ')}", field=name)
    return _fits(text, name, limit)


def _code(value: str, name: str = "code", limit: int = 30) -> str:
    code = (value or "").strip().upper()
    if not _CODE.match(code):
        raise RuleViolation(
            f"{name} {value!r} is not a code (letters, digits, . _ / -)", field=name
        )
    return _fits(code, name, limit)


MAX_HOURS = Decimal("99999.9")  # the hours columns (6 digits, one decimal)
MAX_VALIDITY_MONTHS = 1200  # a hundred years: more is a typing error
MAX_CAPACITY = 1000  # seats of one session


def _hours(value: Any, name: str) -> Decimal:
    try:
        hours = Decimal(str(value))
    except (InvalidOperation, ValueError) as exc:
        raise RuleViolation(
            f"{name.replace('_', ' ')} {value!r} is not a number", field=name
        ) from exc
    if not hours.is_finite() or hours < 0:
        raise RuleViolation(f"{name.replace('_', ' ')} {value!r} is not 0 or more", field=name)
    if hours > MAX_HOURS:
        raise RuleViolation(
            f"{name.replace('_', ' ')} {value!r} is more than {MAX_HOURS}", field=name
        )
    return hours.quantize(Decimal("0.1"))


def _audit(actor: User | None, action: str, instance: Any, person: User | None = None) -> None:
    audit.record(
        actor=actor,
        action=f"training.{action}",
        instance=instance,
        operator=person.operator_id if person is not None else None,
        after=audit.snapshot(instance),
    )


def _insert(model: Any, conflict: str, field: str, **values: Any) -> Any:
    """Create the row in a savepoint: a unique value someone else took since it was checked
    (two writers at once) is a ``Conflict`` naming the field, not an IntegrityError."""
    try:
        with transaction.atomic():
            return model.objects.create(**values)
    except IntegrityError as exc:
        raise Conflict(conflict, field=field) from exc


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day ``months`` later (the month's last day when it is shorter)."""
    total = day.month - 1 + months
    year, month = day.year + total // 12, total % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _not_own(actor: User | None, person: User, what: str) -> None:
    """Nobody assesses or certifies themselves: the evidence a stage rests on is someone
    else's word."""
    if actor is not None and actor.pk == person.pk:
        raise RuleViolation(f"nobody {what} themselves", field="person")


def _trainable(person: User) -> None:
    if not person.is_active:
        raise RuleViolation(f"{person.get_username()} is not an active user", field="person")
    if person.operator_id is not None:
        raise RuleViolation(
            f"{person.get_username()} is operator staff: the hub trains its own staff",
            field="person",
        )


# --- catalogue -------------------------------------------------------------------------------


@transaction.atomic
def create_course(
    *,
    actor: User | None,
    code: str,
    title: str,
    kind: str,
    provider: str,
    theory_hours: Any = 0,
    practical_hours: Any = 0,
    aircraft_type: AircraftType | None = None,
    ata_chapters: Iterable[str] = (),
    pass_mark: int = 75,
    validity_months: int | None = None,
    renews: Course | None = None,
    description: str = "",
) -> Course:
    require(actor, Capability.MANAGE_TRAINING)
    code = _code(code)
    title = _text(title, "title", "a course", 200)
    if kind not in CourseKind.values:
        raise RuleViolation(
            f"unknown course kind {kind!r} (known: {', '.join(CourseKind.values)})", field="kind"
        )
    if provider not in Provider.values:
        raise RuleViolation(
            f"unknown provider {provider!r} (known: {', '.join(Provider.values)})",
            field="provider",
        )
    theory, practical = (
        _hours(theory_hours, "theory_hours"),
        _hours(practical_hours, "practical_hours"),
    )
    if theory + practical <= 0:
        raise RuleViolation("a course has theory or practical hours", field="theory_hours")
    if isinstance(pass_mark, bool) or not isinstance(pass_mark, int) or not 1 <= pass_mark <= 100:
        raise RuleViolation(
            f"pass mark {pass_mark!r} is not a percentage (1-100)", field="pass_mark"
        )
    if validity_months is not None and (
        isinstance(validity_months, bool)
        or not isinstance(validity_months, int)
        or not 1 <= validity_months <= MAX_VALIDITY_MONTHS
    ):
        raise RuleViolation(
            f"validity {validity_months!r} is not a number of months (1-{MAX_VALIDITY_MONTHS})",
            field="validity_months",
        )
    if kind == CourseKind.TYPE and aircraft_type is None:
        raise RuleViolation("type training names its aircraft type", field="aircraft_type")
    if renews is not None:
        if kind != CourseKind.RECURRENT:
            raise RuleViolation("only a recurrent course renews another", field="renews")
        if renews.renews_id is not None:
            raise RuleViolation(
                f"{renews.code} is itself a renewal: renew {renews.renews.code}", field="renews"
            )
    elif kind == CourseKind.RECURRENT:
        raise RuleViolation("a recurrent course names the course it renews", field="renews")
    if Course.objects.filter(code=code).exists():
        raise RuleViolation(f"course {code} already exists", field="code")
    course = _insert(
        Course,
        f"course {code} already exists",
        "code",
        code=code,
        title=title,
        kind=kind,
        provider=provider,
        aircraft_type=aircraft_type,
        ata_chapters=people._chapters(ata_chapters, "ata_chapters"),
        theory_hours=theory,
        practical_hours=practical,
        pass_mark=pass_mark,
        validity_months=validity_months,
        renews=renews,
        description=description.strip(),
        created_at=timezone.now(),
    )
    _audit(actor, "create_course", course)
    return course


@transaction.atomic
def schedule_session(
    *,
    actor: User | None,
    course: Course,
    code: str,
    starts_on: dt.date,
    ends_on: dt.date,
    location: str,
    instructor: str,
    capacity: int = 12,
) -> Session:
    require(actor, Capability.MANAGE_TRAINING)
    code = _code(code, limit=40)
    if ends_on < starts_on:
        raise RuleViolation(f"ends on {ends_on}, before it starts ({starts_on})", field="ends_on")
    if (
        isinstance(capacity, bool)
        or not isinstance(capacity, int)
        or not 1 <= capacity <= MAX_CAPACITY
    ):
        raise RuleViolation(
            f"capacity {capacity!r} is not a number of seats (1-{MAX_CAPACITY})",
            field="capacity",
        )
    if Session.objects.filter(code=code).exists():
        raise RuleViolation(f"session {code} already exists", field="code")
    session = _insert(
        Session,
        f"session {code} already exists",
        "code",
        code=code,
        course=course,
        starts_on=starts_on,
        ends_on=ends_on,
        location=_text(location, "location", "a session", 200),
        instructor=_text(instructor, "instructor", "a session", 200),
        capacity=capacity,
        created_at=timezone.now(),
    )
    _audit(actor, "schedule_session", session)
    return session


@transaction.atomic
def cancel_session(*, actor: User | None, session: Session, reason: str) -> Session:
    require(actor, Capability.MANAGE_TRAINING)
    reason = _text(reason, "reason", "a cancellation")
    locked = Session.objects.select_for_update().get(pk=session.pk)
    if locked.cancelled_at is not None:
        raise Conflict(f"session {locked.code} was already cancelled", field="session")
    if Attendance.objects.filter(enrolment__session=locked).exists():
        raise RuleViolation(
            f"session {locked.code} has attendance recorded: it was held", field="session"
        )
    before = audit.snapshot(locked)
    Session.objects.filter(pk=locked.pk).update(cancelled_at=timezone.now(), cancel_reason=reason)
    locked.refresh_from_db()
    audit.record(
        actor=actor,
        action="training.cancel_session",
        instance=locked,
        before=before,
        after=audit.snapshot(locked),
    )
    return locked


@transaction.atomic
def register_trainee(
    *, actor: User | None, person: User, origin: str, joined_on: dt.date
) -> Trainee:
    """Put a person on the transfer's books: locally trained staff, or the licensor's."""
    require(actor, Capability.MANAGE_TRAINING)
    _trainable(person)
    if origin not in Origin.values:
        raise RuleViolation(
            f"unknown origin {origin!r} (known: {', '.join(Origin.values)})", field="origin"
        )
    if Trainee.objects.filter(person=person).exists():
        raise Conflict(f"{person.get_username()} is already registered", field="person")
    trainee = _insert(
        Trainee,
        f"{person.get_username()} is already registered",
        "person",
        person=person,
        origin=origin,
        joined_on=joined_on,
        created_at=timezone.now(),
    )
    _audit(actor, "register_trainee", trainee, person)
    return trainee


# --- enrolment, attendance, assessment -------------------------------------------------------


@transaction.atomic
def enrol(
    *, actor: User | None, session: Session, person: User, at: dt.datetime | None = None
) -> Enrolment:
    require(actor, Capability.MANAGE_TRAINING)
    now = at_or_now(future=True, value=at)
    _trainable(person)
    locked = Session.objects.select_for_update().select_related("course").get(pk=session.pk)
    if locked.cancelled_at is not None:
        raise RuleViolation(f"session {locked.code} was cancelled", field="session")
    if selectors.utc_day(now) > locked.ends_on:
        raise RuleViolation(f"session {locked.code} ended on {locked.ends_on}", field="session")
    if Enrolment.objects.filter(session=locked, person=person).exists():
        raise Conflict(
            f"{person.get_username()} is already enrolled on {locked.code}", field="person"
        )
    taken = Enrolment.objects.filter(session=locked, withdrawn_at__isnull=True).count()
    if taken >= locked.capacity:
        raise Conflict(f"session {locked.code} is full ({locked.capacity} seats)", field="session")
    enrolment = Enrolment.objects.create(
        session=locked, person=person, enrolled_at=now, enrolled_by=actor
    )
    _audit(actor, "enrol", enrolment, person)
    return enrolment


def _locked_enrolment(enrolment: Enrolment) -> Enrolment:
    locked = (
        Enrolment.objects.select_for_update(of=("self",))
        .select_related("session__course", "person")
        .get(pk=enrolment.pk)
    )
    if locked.withdrawn_at is not None:
        raise RuleViolation(
            f"{locked.person.get_username()} was withdrawn from {locked.session.code}",
            field="enrolment",
        )
    return locked


@transaction.atomic
def withdraw_enrolment(*, actor: User | None, enrolment: Enrolment, reason: str) -> Enrolment:
    require(actor, Capability.MANAGE_TRAINING)
    reason = _text(reason, "reason", "a withdrawal")
    locked = _locked_enrolment(enrolment)
    if Certificate.objects.filter(enrolment=locked).exists():
        raise RuleViolation("a certificate was issued for this enrolment", field="enrolment")
    before = audit.snapshot(locked)
    Enrolment.objects.filter(pk=locked.pk).update(
        withdrawn_at=timezone.now(), withdrawal_reason=reason
    )
    locked.refresh_from_db()
    audit.record(
        actor=actor,
        action="training.withdraw_enrolment",
        instance=locked,
        operator=locked.person.operator_id,
        before=before,
        after=audit.snapshot(locked),
    )
    return locked


@transaction.atomic
def record_attendance(
    *, actor: User | None, enrolment: Enrolment, day: dt.date, hours: Any
) -> Attendance:
    require(actor, Capability.MANAGE_TRAINING)
    locked = _locked_enrolment(enrolment)
    session = locked.session
    if session.cancelled_at is not None:
        raise RuleViolation(f"session {session.code} was cancelled", field="day")
    if not session.starts_on <= day <= session.ends_on:
        raise RuleViolation(
            f"{day} is outside session {session.code} ({session.starts_on} to {session.ends_on})",
            field="day",
        )
    if day > selectors.utc_day(timezone.now()):
        raise RuleViolation(f"{day} has not come yet", field="day")
    amount = _hours(hours, "hours")
    if not Decimal("0") < amount <= Decimal("24"):
        raise RuleViolation(f"{hours!r} hours is not a day's attendance (0-24)", field="hours")
    if Attendance.objects.filter(enrolment=locked, day=day).exists():
        raise Conflict(
            f"attendance of {locked.person.get_username()} on {day} is already recorded",
            field="day",
        )
    row = Attendance.objects.create(
        enrolment=locked, day=day, hours=amount, recorded_by=actor, recorded_at=timezone.now()
    )
    _audit(actor, "record_attendance", row, locked.person)
    return row


def standing_assessments(enrolment: Enrolment) -> dict[str, Assessment]:
    """The latest uncorrected result of each element."""
    out: dict[str, Assessment] = {}
    for a in Assessment.objects.filter(enrolment=enrolment, corrected_by__isnull=True).order_by(
        "assessed_at", "id"
    ):
        out[a.element] = a
    return out


@transaction.atomic
def record_assessment(
    *,
    actor: User,
    enrolment: Enrolment,
    element: str,
    score: int,
    at: dt.datetime | None = None,
    remark: str = "",
    corrects: Assessment | None = None,
    correction_reason: str = "",
) -> Assessment:
    """A theory or practical result; passed when the score reaches the course's pass mark. A
    wrong result is corrected by a new one naming it (``corrects``) with the reason."""
    require(actor, Capability.MANAGE_TRAINING)
    now = at_or_now(future=True, value=at)
    locked = _locked_enrolment(enrolment)
    _not_own(actor, locked.person, "assesses")
    course = locked.session.course
    if element not in course.elements:
        raise RuleViolation(
            f"{course.code} assesses {', '.join(course.elements)}, not {element!r}",
            field="element",
        )
    if isinstance(score, bool) or not isinstance(score, int) or not 0 <= score <= 100:
        raise RuleViolation(f"score {score!r} is not a percentage (0-100)", field="score")
    if selectors.utc_day(now) < locked.session.starts_on:
        raise RuleViolation(
            f"{now:%Y-%m-%d} is before session {locked.session.code} starts", field="at"
        )
    if now > timezone.now():
        raise RuleViolation("an assessment is not recorded in the future", field="at")
    if Certificate.objects.filter(enrolment=locked).exists() and corrects is None:
        raise RuleViolation(
            "a certificate was already issued for this enrolment", field="enrolment"
        )
    if corrects is not None:
        if corrects.enrolment_id != locked.pk or corrects.element != element:
            raise RuleViolation(
                "a correction corrects a result of the same enrolment and element",
                field="corrects",
            )
        if Assessment.objects.filter(corrects=corrects).exists():
            raise Conflict("that result was already corrected", field="corrects")
        if not correction_reason.strip():
            raise RuleViolation("a correction needs its reason", field="correction_reason")
        if Certificate.objects.filter(enrolment=locked).exists():
            raise RuleViolation(
                "a certificate was issued on this result: it stands", field="corrects"
            )
    elif correction_reason.strip():
        raise RuleViolation("a correction reason needs the result it corrects", field="corrects")
    row = Assessment.objects.create(
        enrolment=locked,
        element=element,
        score=score,
        passed=score >= course.pass_mark,
        assessor=actor,
        assessed_at=now,
        remark=_fits(remark.strip(), "remark", 1000),
        corrects=corrects,
        correction_reason=_fits(correction_reason.strip(), "correction_reason", 500),
    )
    _audit(actor, "record_assessment", row, locked.person)
    return row


# --- certificates ----------------------------------------------------------------------------


def _certificate(
    *,
    actor: User | None,
    person: User,
    course: Course,
    number: str,
    issued_on: dt.date,
    expires_on: dt.date | None,
    enrolment: Enrolment | None,
) -> Certificate:
    if Certificate.objects.filter(number=number).exists():
        raise RuleViolation(f"certificate {number} already exists", field="number")
    if expires_on is not None and expires_on < issued_on:
        raise RuleViolation(
            f"expires on {expires_on}, before it was issued ({issued_on})", field="expires_on"
        )
    covers = course.renews or course
    qualification = None
    if course.kind == CourseKind.TYPE and course.aircraft_type_id is not None:
        # type training is a qualification an authorisation can rest on
        qualification = people.grant_qualification(
            actor=actor,
            holder=person,
            category="Type training",
            reference=number,
            issuing_authority=f"{course.get_provider_display()}: {course.code}",
            aircraft_types=[course.aircraft_type],  # type: ignore[list-item]
            ata_chapters=course.ata_chapters,
            issued_on=issued_on,
            expires_on=expires_on,
        )
    cert = _insert(
        Certificate,
        f"certificate {number} already exists",
        "number",
        number=number,
        person=person,
        course=course,
        covers=covers,
        enrolment=enrolment,
        issued_on=issued_on,
        expires_on=expires_on,
        issued_by=actor,
        qualification=qualification,
        created_at=timezone.now(),
    )
    _audit(actor, "issue_certificate", cert, person)
    return cert


@transaction.atomic
def issue_certificate(
    *, actor: User | None, enrolment: Enrolment, at: dt.datetime | None = None
) -> Certificate:
    """The certificate of a passed enrolment: the session has ended, attendance covers 90 %
    of the course's hours, and every element's standing result is a pass. It is valid the
    course's ``validity_months`` from the issue date."""
    require(actor, Capability.MANAGE_TRAINING)
    now = at_or_now(future=True, value=at)
    if now > timezone.now() + dt.timedelta(minutes=5):
        raise RuleViolation("a certificate is not issued in the future", field="at")
    locked = _locked_enrolment(enrolment)
    session, course, person = locked.session, locked.session.course, locked.person
    _not_own(actor, person, "certifies")
    if Certificate.objects.filter(enrolment=locked).exists():
        raise Conflict(
            f"{person.get_username()} already has the certificate of {session.code}",
            field="enrolment",
        )
    day = selectors.utc_day(now)
    if day < session.ends_on:
        raise RuleViolation(
            f"session {session.code} ends on {session.ends_on}: certify after", field="at"
        )
    attended = Attendance.objects.filter(enrolment=locked).aggregate(h=Sum("hours"))["h"]
    attended = Decimal(attended or 0).quantize(Decimal("0.1"))
    if attended < course.hours * ATTENDANCE_SHARE:
        raise RuleViolation(
            f"{person.get_username()} attended {attended} of {course.hours} hours of "
            f"{session.code}: 90 % is needed",
            field="attendance",
        )
    results = standing_assessments(locked)
    for element in course.elements:
        result = results.get(element)
        if result is None:
            raise RuleViolation(f"no {element} result recorded", field="assessments")
        if not result.passed:
            raise RuleViolation(
                f"{element} result {result.score}% is below the pass mark ({course.pass_mark}%)",
                field="assessments",
            )
    validity = course.validity_months or (course.renews.validity_months if course.renews else None)
    expires = add_months(day, validity) if validity else None
    return _certificate(
        actor=actor,
        person=person,
        course=course,
        number=next_number("CRT", now),
        issued_on=day,
        expires_on=expires,
        enrolment=locked,
    )


@transaction.atomic
def record_certificate(
    *,
    actor: User | None,
    person: User,
    course: Course,
    number: str,
    issued_on: dt.date,
    expires_on: dt.date | None = None,
) -> Certificate:
    """A certificate earned outside this system (e.g. at the licensor's school abroad),
    recorded from the paper: its expiry as printed, or the course's validity."""
    require(actor, Capability.MANAGE_TRAINING)
    _trainable(person)
    _not_own(actor, person, "records a certificate of")
    number = _text(number, "number", "a certificate", 40)
    if issued_on > selectors.utc_day(timezone.now()):
        raise RuleViolation(f"issued on {issued_on}: that day has not come", field="issued_on")
    if expires_on is None:
        validity = course.validity_months or (
            course.renews.validity_months if course.renews else None
        )
        expires_on = add_months(issued_on, validity) if validity else None
    return _certificate(
        actor=actor,
        person=person,
        course=course,
        number=number,
        issued_on=issued_on,
        expires_on=expires_on,
        enrolment=None,
    )


# --- stages ----------------------------------------------------------------------------------


@transaction.atomic
def create_stage(
    *,
    actor: User | None,
    aircraft_type: AircraftType,
    rank: int,
    code: str,
    name: str,
    supervised_work: bool = False,
    privileges: Iterable[str] = (),
    ata_chapters: Iterable[str] = (),
    description: str = "",
) -> Stage:
    require(actor, Capability.MANAGE_TRAINING)
    code = _code(code)
    name = _text(name, "name", "a stage", 100)
    if isinstance(rank, bool) or not isinstance(rank, int) or rank < 1:
        raise RuleViolation(f"rank {rank!r} is not 1 or more", field="rank")
    privs = sorted(dict.fromkeys(str(p) for p in privileges))
    unknown = [p for p in privs if p not in Privilege.values]
    if unknown:
        raise RuleViolation(f"unknown privilege {unknown[0]!r}", field="privileges")
    if Stage.objects.filter(code=code).exists():
        raise RuleViolation(f"stage {code} already exists", field="code")
    if Stage.objects.filter(aircraft_type=aircraft_type, rank=rank).exists():
        raise RuleViolation(
            f"{aircraft_type.code} already has a stage of rank {rank}", field="rank"
        )
    stage = _insert(
        Stage,
        f"stage {code} already exists, or {aircraft_type.code} already has a stage of rank {rank}",
        "code",
        code=code,
        name=name,
        aircraft_type=aircraft_type,
        rank=rank,
        supervised_work=supervised_work,
        privileges=privs,
        ata_chapters=people._chapters(ata_chapters, "ata_chapters"),
        description=description.strip(),
        created_at=timezone.now(),
    )
    _audit(actor, "create_stage", stage)
    return stage


@transaction.atomic
def add_requirement(
    *,
    actor: User | None,
    kind: str,
    stage: Stage | None = None,
    role: str = "",
    course: Course | None = None,
    ata_chapter: str = "",
    min_steps: int | None = None,
    qualification_category: str = "",
) -> Requirement:
    """What a stage's grant needs, or what every holder of a role must have."""
    require(actor, Capability.MANAGE_TRAINING)
    if (stage is None) == (not role):
        raise RuleViolation("a requirement is for a stage or for a role", field="stage")
    if role and role not in Role.values:
        raise RuleViolation(f"unknown role {role!r}", field="role")
    if kind not in RequirementKind.values:
        raise RuleViolation(
            f"unknown requirement {kind!r} (known: {', '.join(RequirementKind.values)})",
            field="kind",
        )
    if kind in (RequirementKind.COURSE, RequirementKind.ASSESSMENT) and course is None:
        raise RuleViolation(f"a {kind} requirement names its course", field="course")
    if kind == RequirementKind.ASSESSMENT and course is not None and not course.practical_hours:
        raise RuleViolation(f"{course.code} has no practical element", field="course")
    if kind == RequirementKind.EXPERIENCE:
        if isinstance(min_steps, bool) or not isinstance(min_steps, int) or min_steps < 1:
            raise RuleViolation(f"{min_steps!r} is not a number of logged steps", field="min_steps")
        if ata_chapter:
            ata_chapter = people._chapters([ata_chapter], "ata_chapter")[0]
    if kind == RequirementKind.QUALIFICATION:
        qualification_category = _text(
            qualification_category, "qualification_category", "a qualification requirement", 40
        )
    req = Requirement.objects.create(
        stage=stage,
        role=role,
        kind=kind,
        course=course if kind in (RequirementKind.COURSE, RequirementKind.ASSESSMENT) else None,
        ata_chapter=ata_chapter if kind == RequirementKind.EXPERIENCE else "",
        min_steps=min_steps if kind == RequirementKind.EXPERIENCE else None,
        qualification_category=qualification_category,
        created_at=timezone.now(),
    )
    _audit(actor, "add_requirement", req)
    return req


def _basis(person: User, stage: Stage, at: dt.datetime) -> Qualification:
    """The qualification an authorisation issued with the stage rests on: the person's
    latest in force covering the type (and the stage's chapters)."""
    for q in (
        Qualification.objects.filter(holder=person)
        .prefetch_related("aircraft_types")
        .order_by("-issued_on", "-id")
    ):
        if q.standing(at)[0] != IN_FORCE:
            continue
        if stage.aircraft_type_id not in {t.pk for t in q.aircraft_types.all()}:
            continue
        if q.ata_chapters and (
            not stage.ata_chapters or set(stage.ata_chapters) - set(q.ata_chapters)
        ):
            continue
        return q
    raise RuleViolation(
        f"{person.get_username()} holds no qualification in force covering "
        f"{stage.aircraft_type.code}: stage {stage.name} issues an authorisation that rests on one",
        field="person",
    )


def _sign_hub(row: Any, kind: str, actor: User, at: dt.datetime) -> None:
    """A stage record signed into the hub's chain (a person's authority is the hub's)."""
    chain.sign(
        row,
        kind=kind,
        operator_id=None,
        signer=actor,
        signer_label=actor.get_username(),
        qualification_ref="",
        at=at,
    )


@transaction.atomic
def grant_stage(
    *,
    actor: User,
    person: User,
    stage: Stage,
    at: dt.datetime | None = None,
    note: str = "",
) -> StageGrant:
    """A training manager grants a stage whose evidence the person meets at ``at`` (the
    evidence is kept with the grant). A stage with privileges issues the authorisation to
    sign them alone, resting on the person's qualification. Signed into the hub's chain."""
    require(actor, Capability.GRANT_STAGE)
    now = at_or_now(future=True, value=at)
    if now > timezone.now():
        raise RuleViolation("a stage is not granted in the future", field="at")
    _trainable(person)
    User.objects.select_for_update().get(pk=person.pk)  # one grant at a time per person
    if actor.pk == person.pk:
        raise RuleViolation("nobody grants a stage to themselves", field="person")
    held = [
        g
        for g, state, _ in selectors.standing_grants(person, now)
        if g.stage_id == stage.pk and state == selectors.IN_FORCE_STAGE
    ]
    # a grant of the stage dated after ``now``: a backdated grant, or one a concurrent writer
    # made an instant later (its clock read after ours), would hold it twice
    held += StageGrant.objects.filter(person=person, stage=stage, granted_at__gt=now).order_by(
        "granted_at", "id"
    )
    if held:
        raise Conflict(
            f"{person.get_username()} already holds {stage.name} ({held[-1].number})",
            field="stage",
        )
    evaluation = selectors.evaluate(person, stage, now)
    if not evaluation.met:
        missing = "; ".join(f"{c.requirement}: {c.detail}" for c in evaluation.missing)
        raise RuleViolation(
            f"{person.get_username()} does not meet {stage.name} yet: {missing}", field="evidence"
        )
    number = next_number("STG", now)
    authorisation = None
    if stage.privileges:
        authorisation = people.grant_authorisation(
            actor=actor,
            holder=person,
            number=number,
            qualification=_basis(person, stage, now),
            privileges=stage.privileges,
            aircraft_types=[stage.aircraft_type],
            valid_from=now,
            ata_chapters=stage.ata_chapters,
        )
    grant = StageGrant.objects.create(
        number=number,
        person=person,
        stage=stage,
        granted_by=actor,
        granted_at=now,
        evidence=evaluation.as_json(),
        authorisation=authorisation,
        note=_fits(note.strip(), "note", 1000),
    )
    _sign_hub(grant, "stage_grant", actor, now)
    _audit(actor, "grant_stage", grant, person)
    return grant


def _withdrawal_instant(grant: StageGrant, at: dt.datetime) -> None:
    """A withdrawal is not in the future, nor before the grant, nor before work signed under
    it (that would turn signatures made in force into ones made without authority)."""
    if at > timezone.now() + dt.timedelta(minutes=5):
        raise RuleViolation("a stage is not withdrawn in the future", field="at")
    if at < grant.granted_at:
        raise RuleViolation(
            f"{at:%Y-%m-%d %H:%M} UTC is before {grant.number} was granted "
            f"({grant.granted_at:%Y-%m-%d %H:%M} UTC)",
            field="at",
        )
    from kanat.work import models as work  # work reads training's grants

    later = work.SupervisedStep.objects.filter(
        trainee_id=grant.person_id, stage_ref__startswith=f"{grant.number} ", performed_at__gt=at
    ).exists() or (
        grant.authorisation_id is not None
        and any(
            model.objects.filter(authorisation_id=grant.authorisation_id, signed_at__gt=at).exists()
            for model in (work.SignOff, work.Release, work.Deferral, work.DefectClosure)
        )
    )
    if later:
        raise RuleViolation(
            f"{grant.person.get_username()} signed work under {grant.number} after "
            f"{at:%Y-%m-%d %H:%M} UTC: a withdrawal is not backdated before it",
            field="at",
        )


@transaction.atomic
def withdraw_stage(
    *, actor: User, grant: StageGrant, reason: str, at: dt.datetime | None = None
) -> StageWithdrawal:
    """The grant ends now (what was signed under it stays signed); its authorisation is
    withdrawn with it."""
    require(actor, Capability.GRANT_STAGE)
    now = at_or_now(future=True, value=at)
    reason = _text(reason, "reason", "a withdrawal")
    User.objects.select_for_update().get(pk=grant.person_id)
    if StageWithdrawal.objects.filter(grant=grant).exists():
        raise Conflict(f"{grant.number} was already withdrawn", field="grant")
    _withdrawal_instant(grant, now)
    row = StageWithdrawal.objects.create(
        grant=grant, withdrawn_by=actor, withdrawn_at=now, reason=reason
    )
    _sign_hub(row, "stage_withdrawal", actor, now)
    if grant.authorisation is not None and grant.authorisation.withdrawn_at is None:
        people.withdraw_authorisation(
            actor=actor,
            authorisation=grant.authorisation,
            reason=f"stage {grant.number} withdrawn: {reason}",
        )
    _audit(actor, "withdraw_stage", row, grant.person)
    return row


__all__ = [
    "add_months",
    "add_requirement",
    "cancel_session",
    "create_course",
    "create_stage",
    "enrol",
    "grant_stage",
    "issue_certificate",
    "record_assessment",
    "record_attendance",
    "record_certificate",
    "register_trainee",
    "schedule_session",
    "withdraw_enrolment",
    "withdraw_stage",
    "Element",
]
