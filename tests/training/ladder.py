"""A training set-up on the hangar's aircraft type: the licensor's type course, the local
school's human factors course and its recurrent, and a three-rung ladder (supervised,
independent, certifying), with a training manager and a local trainee."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.utils import timezone

from kanat.core.models import User
from kanat.core.roles import Role
from kanat.training import services as training
from kanat.training.models import Course, Enrolment, Stage
from tests import factories as f
from tests.work.scenario import Hangar, hangar


@dataclass
class Ladder:
    h: Hangar
    manager: User
    trainee: User
    type_course: Course
    hf: Course
    hf_recurrent: Course
    supervised: Stage
    independent: Stage
    certifying: Stage


def days_ago(n: float) -> dt.datetime:
    return timezone.now() - dt.timedelta(days=n)


def ladder(*, steps: int = 3, chapter: str = "61", **kw: Any) -> Ladder:
    h = hangar(**kw)
    atype = h.aircraft.variant.aircraft_type
    tm = f.user(role=Role.TRAINING_MANAGER)
    n = next(f._seq)
    type_course = training.create_course(
        actor=tm,
        code=f"TT-{n}",
        title=f"{atype.code} type training",
        kind="type",
        provider="licensor",
        theory_hours=40,
        practical_hours=16,
        aircraft_type=atype,
    )
    hf = training.create_course(
        actor=tm,
        code=f"HF-{n}",
        title="Human factors",
        kind="human_factors",
        provider="local_school",
        theory_hours=8,
        validity_months=24,
    )
    hf_rec = training.create_course(
        actor=tm,
        code=f"HFR-{n}",
        title="Human factors recurrent",
        kind="recurrent",
        provider="local_school",
        theory_hours=4,
        validity_months=24,
        renews=hf,
    )
    sup = training.create_stage(
        actor=tm,
        aircraft_type=atype,
        rank=1,
        code=f"SUP-{n}",
        name="Supervised",
        supervised_work=True,
    )
    ind = training.create_stage(
        actor=tm,
        aircraft_type=atype,
        rank=2,
        code=f"IND-{n}",
        name="Independent",
        privileges=["task"],
    )
    cert = training.create_stage(
        actor=tm,
        aircraft_type=atype,
        rank=3,
        code=f"CRT-{n}",
        name="Certifying",
        privileges=["task", "inspection", "release"],
    )
    for stage in (sup, ind, cert):
        training.add_requirement(actor=tm, stage=stage, kind="course", course=hf)
    training.add_requirement(actor=tm, stage=sup, kind="course", course=type_course)
    training.add_requirement(actor=tm, stage=ind, kind="assessment", course=type_course)
    training.add_requirement(
        actor=tm, stage=ind, kind="experience", ata_chapter=chapter, min_steps=steps
    )
    training.add_requirement(
        actor=tm, stage=cert, kind="qualification", qualification_category="B1"
    )
    training.add_requirement(actor=tm, stage=cert, kind="experience", min_steps=50)
    trainee = f.user(role=Role.TECHNICIAN)
    training.register_trainee(
        actor=tm, person=trainee, origin="local", joined_on=dt.date(2026, 1, 5)
    )
    return Ladder(h, tm, trainee, type_course, hf, hf_rec, sup, ind, cert)


def pass_course(
    lad: Ladder,
    course: Course,
    person: User,
    *,
    start: dt.datetime,
    days: int = 5,
    scores: tuple[int, int] = (88, 91),
) -> Enrolment:
    """Schedule a session of ``course`` starting ``start``, enrol ``person``, record full
    attendance and passing results, and issue the certificate the day after it ends."""
    n = next(f._seq)
    session = training.schedule_session(
        actor=lad.manager,
        course=course,
        code=f"S-{course.code}-{n}",
        starts_on=start.date(),
        ends_on=(start + dt.timedelta(days=days - 1)).date(),
        location="Astana hub, classroom 2",
        instructor="A. Instructor",
    )
    enrolment = training.enrol(
        actor=lad.manager, session=session, person=person, at=start - dt.timedelta(days=1)
    )
    per_day = (course.hours / days).quantize(Decimal("0.1")) + Decimal("0.1")
    for d in range(days):
        training.record_attendance(
            actor=lad.manager,
            enrolment=enrolment,
            day=(start + dt.timedelta(days=d)).date(),
            hours=min(per_day, Decimal("24")),
        )
    end = start + dt.timedelta(days=days - 1, hours=8)
    for element, score in zip(course.elements, scores, strict=False):
        training.record_assessment(
            actor=lad.manager, enrolment=enrolment, element=element, score=score, at=end
        )
    training.issue_certificate(
        actor=lad.manager, enrolment=enrolment, at=end + dt.timedelta(days=1)
    )
    return enrolment


def supervised_trainee(
    lad: Ladder, person: User | None = None, *, at: dt.datetime | None = None, hf_days: int = 400
) -> User:
    """``person`` (the ladder's trainee by default) with human factors (issued 300 days
    before ``at``, valid ``hf_days`` from then), the type course passed and the supervised
    stage granted at ``at`` (60 days ago by default)."""
    person = person or lad.trainee
    at = at or days_ago(60)
    issued = (at - dt.timedelta(days=300)).date()
    training.record_certificate(
        actor=lad.manager,
        person=person,
        course=lad.hf,
        number=f"HF-{person.pk}-{next(f._seq)}",
        issued_on=issued,
        expires_on=issued + dt.timedelta(days=hf_days),
    )
    pass_course(lad, lad.type_course, person, start=at - dt.timedelta(days=20))
    training.grant_stage(actor=lad.manager, person=person, stage=lad.supervised, at=at)
    return person


def open_card(lad: Ladder, key: str = "PROP", *, at: dt.datetime | None = None) -> Any:
    """A package for one of the hangar's tasks, opened at ``at`` (a day ago): its card."""
    from kanat.work import services as work

    h, at = lad.h, at or days_ago(1)
    pkg = work.create_package(
        actor=h.planner,
        aircraft=h.aircraft,
        title=f"{key} visit {next(f._seq)}",
        items=[work.DueRef(h.tasks[key])],
        at=at,
    )
    work.open_package(actor=h.planner, package=pkg, at=at)
    return pkg.cards.get()
