"""Reads of the training evidence: course currency, the experience logbook, where a person
stands on each authorisation ladder, what a stage's evidence says of them, and the proposals
queue. Page reads take the viewer and go through ``restrict``; the sign-off checks
(``supervised_work_grant``, ``lapse_reason``) read for the signer.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q, QuerySet

from kanat.core.errors import NoAuthority
from kanat.core.models import User
from kanat.fleet.models import AircraftType
from kanat.people.models import IN_FORCE, Authorisation, Qualification
from kanat.training.models import (
    Assessment,
    Certificate,
    Element,
    Requirement,
    RequirementKind,
    Stage,
    StageGrant,
)
from kanat.work.models import SignOff, SignOffKind

IN_FORCE_STAGE, LAPSED, WITHDRAWN, NOT_YET = "in force", "lapsed", "withdrawn", "not yet granted"


def utc_day(at: dt.datetime) -> dt.date:
    return at.astimezone(dt.UTC).date()


# --- currency of course certificates --------------------------------------------------------


def latest_certificates(person_ids: Iterable[int], day: dt.date) -> dict[tuple[int, int], Any]:
    """For each (person, course) the certificate issued by ``day`` that gives currency the
    longest (a recurrent course's certificate counts for the course it renews)."""
    out: dict[tuple[int, int], Certificate] = {}
    rows = Certificate.objects.filter(person_id__in=list(person_ids), issued_on__lte=day)
    for cert in rows.order_by("issued_on", "id"):
        key = (cert.person_id, cert.covers_id)
        best = out.get(key)
        if best is None or _lasts_longer(cert, best):
            out[key] = cert
    return out


def _lasts_longer(a: Certificate, b: Certificate) -> bool:
    if a.expires_on is None:
        return True
    return b.expires_on is not None and a.expires_on >= b.expires_on


def course_currency(
    certs: dict[tuple[int, int], Any], person_id: int, course: Any, day: dt.date
) -> tuple[bool, str]:
    """(current, why): the person's currency in ``course`` on ``day``."""
    cert = certs.get((person_id, course.pk))
    if cert is None:
        return False, f"no {course.code} certificate"
    if cert.expires_on is not None and day > cert.expires_on:
        return False, f"{course.code} expired on {cert.expires_on} (certificate {cert.number})"
    until = f"until {cert.expires_on}" if cert.expires_on else "no expiry"
    return True, f"{course.code} certificate {cert.number} ({until})"


# --- the experience logbook -----------------------------------------------------------------


def logbook_rows(person: User, base: QuerySet[SignOff] | None = None) -> QuerySet[SignOff]:
    """Every standing step sign-off that is the person's own work: performed under
    supervision (countersigned by the signer) or signed alone. Corrected signatures drop out;
    nobody types a logbook."""
    qs = SignOff.objects.all() if base is None else base
    return (
        qs.filter(kind=SignOffKind.STEP, corrected_by__isnull=True)
        .filter(Q(performed_by=person) | Q(signer=person, performed_by__isnull=True))
        .select_related(
            "card__package__aircraft__variant__aircraft_type",
            "card__task",
            "step",
            "signer",
            "performed_by",
        )
        .order_by("-signed_at", "-id")
    )


def logbook(viewer: Any, person: User) -> QuerySet[SignOff]:
    """The person's logbook as the viewer may see it (the aircraft's operator scopes it)."""
    return logbook_rows(person, SignOff.objects.restrict(viewer))


def chapter(ata: str) -> str:
    digits = "".join(ch for ch in str(ata) if ch.isdigit())
    return digits[:2]


def experience(person: User, aircraft_type: AircraftType, at: dt.datetime) -> Counter[str]:
    """Logged steps on the type by ATA chapter, signed by ``at``."""
    atas = logbook_rows(person).filter(
        card__package__aircraft__variant__aircraft_type=aircraft_type, signed_at__lte=at
    )
    return Counter(chapter(a) for a in atas.values_list("card__ata", flat=True))


# --- stage grants ---------------------------------------------------------------------------


def grant_standing(
    grant: StageGrant, at: dt.datetime, certs: dict | None = None
) -> tuple[str, str]:
    """(state, why) of a stage grant at ``at``: withdrawn, lapsed (a required course out of
    date: recurrent training expired), or in force."""
    if at < grant.granted_at:
        return NOT_YET, f"{grant.number} was granted on {grant.granted_at:%Y-%m-%d}"
    withdrawal = getattr(grant, "withdrawal", None)
    if withdrawal is not None and withdrawal.withdrawn_at <= at:
        return WITHDRAWN, (
            f"stage {grant.stage.name} ({grant.number}) was withdrawn on "
            f"{withdrawal.withdrawn_at:%Y-%m-%d} ({withdrawal.reason})"
        )
    day = utc_day(at)
    courses = [
        r.course
        for r in grant.stage.requirements.all()
        if r.kind == RequirementKind.COURSE and r.course is not None
    ]
    if courses:
        if certs is None:
            certs = latest_certificates([grant.person_id], day)
        for course in courses:
            ok, why = course_currency(certs, grant.person_id, course, day)
            if not ok:
                return LAPSED, (
                    f"stage {grant.stage.name} ({grant.number}) lapsed: {why}; "
                    f"recurrent training is needed"
                )
    return IN_FORCE_STAGE, ""


def _grants(person_ids: Iterable[int]) -> QuerySet[StageGrant]:
    return (
        StageGrant.objects.filter(person_id__in=list(person_ids))
        .select_related("stage__aircraft_type", "withdrawal", "person")
        .prefetch_related("stage__requirements__course")
        .order_by("granted_at", "id")
    )


def standing_grants(person: User, at: dt.datetime) -> list[tuple[StageGrant, str, str]]:
    """Every grant the person ever had, with its state at ``at``."""
    grants = [g for g in _grants([person.pk]) if g.granted_at <= at]
    certs = latest_certificates([person.pk], utc_day(at))
    return [(g, *grant_standing(g, at, certs)) for g in grants]


def current_stage(
    grants: list[tuple[StageGrant, str, str]], aircraft_type_id: int
) -> StageGrant | None:
    """The highest-ranked grant in force on the type."""
    live = [
        g
        for g, state, _ in grants
        if state == IN_FORCE_STAGE and g.stage.aircraft_type_id == aircraft_type_id
    ]
    return max(live, key=lambda g: (g.stage.rank, g.granted_at), default=None)


def supervised_work_grant(person: User, aircraft_type: AircraftType, at: dt.datetime) -> StageGrant:
    """The stage grant under which ``person`` may perform a step under supervision on the
    type at ``at``; NoAuthority naming why not (none held, lapsed, withdrawn)."""
    grants = [
        (g, state, why)
        for g, state, why in standing_grants(person, at)
        if g.stage.aircraft_type_id == aircraft_type.pk
    ]
    ok = [g for g, state, _ in grants if state == IN_FORCE_STAGE and g.stage.supervised_work]
    if ok:
        return max(ok, key=lambda g: g.stage.rank)
    name = person.get_username()
    reasons = [why for _, state, why in grants if state != IN_FORCE_STAGE]
    if reasons:
        raise NoAuthority(
            f"{name} may not perform work under supervision on {aircraft_type.code}: "
            + "; ".join(reasons)
        )
    raise NoAuthority(
        f"{name} holds no stage on {aircraft_type.code} that allows work under supervision"
    )


def lapse_reason(authorisation: Authorisation, at: dt.datetime) -> str | None:
    """Why an authorisation issued with a stage grant does not sign at ``at`` (the stage
    lapsed or was withdrawn); None when it was not issued with a stage or the stage stands."""
    grant = _grants([authorisation.holder_id]).filter(authorisation=authorisation).first()
    if grant is None:
        return None
    state, why = grant_standing(grant, at)
    return None if state == IN_FORCE_STAGE else why


# --- evidence -------------------------------------------------------------------------------


@dataclass
class Check:
    requirement: str
    met: bool
    detail: str
    kind: str = ""


@dataclass
class Evaluation:
    person: User
    stage: Stage
    checks: list[Check] = field(default_factory=list)

    @property
    def met(self) -> bool:
        return all(c.met for c in self.checks)

    @property
    def missing(self) -> list[Check]:
        return [c for c in self.checks if not c.met]

    def as_json(self) -> list[dict[str, Any]]:
        return [
            {"requirement": c.requirement, "kind": c.kind, "met": c.met, "detail": c.detail}
            for c in self.checks
        ]


def passed_practicals(
    person_ids: Iterable[int], course_ids: Iterable[int], at: dt.datetime
) -> dict[tuple[int, int], tuple[int, dt.datetime]]:
    """(person, course) -> (score, when) of the latest standing passed practical assessment
    by ``at``: one query for any number of people."""
    out: dict[tuple[int, int], tuple[int, dt.datetime]] = {}
    people, courses = list(person_ids), sorted(set(course_ids))
    if not people or not courses:
        return out
    rows = (
        Assessment.objects.filter(
            enrolment__person_id__in=people,
            enrolment__session__course_id__in=courses,
            element=Element.PRACTICAL,
            passed=True,
            corrected_by__isnull=True,
            assessed_at__lte=at,
        )
        .order_by("assessed_at", "id")
        .values_list(
            "enrolment__person_id", "enrolment__session__course_id", "score", "assessed_at"
        )
    )
    for person_id, course_id, score, when in rows:
        out[(person_id, course_id)] = (score, when)  # the latest wins
    return out


def qualifications_in_force(
    person_ids: Iterable[int], at: dt.datetime
) -> dict[int, list[Qualification]]:
    """Each person's qualifications in force at ``at``, latest first (two queries)."""
    out: dict[int, list[Qualification]] = {}
    people = list(person_ids)
    if not people:
        return out
    rows = (
        Qualification.objects.filter(holder_id__in=people)
        .prefetch_related("aircraft_types")
        .order_by("-issued_on", "-id")
    )
    for q in rows:
        if q.standing(at)[0] == IN_FORCE:
            out.setdefault(q.holder_id, []).append(q)
    return out


def requirement_check(
    req: Requirement,
    person: User,
    type_id: int | None,
    at: dt.datetime,
    certs: dict[tuple[int, int], Any],
    logged: Counter[str] | None,
    practicals: dict[tuple[int, int], tuple[int, dt.datetime]] | None = None,
    quals: dict[int, list[Qualification]] | None = None,
) -> Check:
    """One requirement against the person's evidence at ``at``. ``type_id`` None (a role's
    requirement): a qualification on any type. The bulk reads (``certs``, ``logged``,
    ``practicals``, ``quals``) are the caller's when it checks many people; the last two are
    read for this person when not given."""
    label = str(req)
    if req.kind == RequirementKind.COURSE:
        ok, why = course_currency(certs, person.pk, req.course, utc_day(at))
        return Check(label, ok, why, req.kind)
    if req.kind == RequirementKind.ASSESSMENT:
        if practicals is None:
            practicals = passed_practicals([person.pk], [req.course_id], at)  # type: ignore[list-item]
        hit = practicals.get((person.pk, req.course_id))  # type: ignore[arg-type]
        if hit is None:
            return Check(label, False, "no passed practical assessment", req.kind)
        return Check(label, True, f"passed {hit[0]}% on {hit[1]:%Y-%m-%d}", req.kind)
    if req.kind == RequirementKind.QUALIFICATION:
        if quals is None:
            quals = qualifications_in_force([person.pk], at)
        category = req.qualification_category.lower()
        for q in quals.get(person.pk, []):
            types = {t.pk for t in q.aircraft_types.all()}
            if q.category.lower() == category and (type_id is None or type_id in types):
                return Check(label, True, str(q), req.kind)
        return Check(label, False, f"no {req.qualification_category} in force", req.kind)
    logged = logged or Counter()
    count = logged[req.ata_chapter] if req.ata_chapter else sum(logged.values())
    need = req.min_steps or 0
    return Check(label, count >= need, f"{count} of {need} logged", req.kind)


def evaluate(person: User, stage: Stage, at: dt.datetime) -> Evaluation:
    """What the stage's evidence says of the person at ``at``: the stage below held and in
    force, then each requirement."""
    ev = Evaluation(person, stage)
    grants = standing_grants(person, at)
    below = (
        Stage.objects.filter(aircraft_type_id=stage.aircraft_type_id, rank__lt=stage.rank)
        .order_by("-rank")
        .first()
    )
    if below is not None:
        held = [g for g, state, _ in grants if g.stage_id == below.pk and state == IN_FORCE_STAGE]
        ev.checks.append(
            Check(
                f"stage {below.name} held",
                bool(held),
                held[-1].number if held else f"{below.name} not in force",
                "stage",
            )
        )
    certs = latest_certificates([person.pk], utc_day(at))
    reqs = list(stage.requirements.select_related("course").order_by("kind", "id"))
    logged = (
        experience(person, stage.aircraft_type, at)
        if any(r.kind == RequirementKind.EXPERIENCE for r in reqs)
        else None
    )
    for req in reqs:
        ev.checks.append(requirement_check(req, person, stage.aircraft_type_id, at, certs, logged))
    return ev


@dataclass
class Proposal:
    evaluation: Evaluation
    current: StageGrant | None
