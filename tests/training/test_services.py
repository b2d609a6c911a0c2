"""The training write path: what it refuses (naming why, changing nothing), corrections,
certificate rules, withdrawal, and the records' append-only guard."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import DatabaseError, connection, transaction

from kanat.core.errors import Conflict, NoAuthority, NotAllowed, RuleViolation
from kanat.core.models import AuditEvent
from kanat.core.roles import Role
from kanat.people.models import Authorisation
from kanat.records import chain
from kanat.training import selectors
from kanat.training import services as training
from kanat.training.models import (
    Assessment,
    Attendance,
    Certificate,
    Course,
    Enrolment,
    StageGrant,
)
from kanat.work import services as work
from tests import factories as f
from tests.threads import race
from tests.training.ladder import days_ago, ladder, pass_course

pytestmark = pytest.mark.django_db


def _session(lad, course, start, days=5, capacity=12):
    return training.schedule_session(
        actor=lad.manager,
        course=course,
        code=f"S-{next(f._seq)}",
        starts_on=start.date(),
        ends_on=(start + dt.timedelta(days=days - 1)).date(),
        location="Hub",
        instructor="T.",
        capacity=capacity,
    )


def test_course_refusals_name_the_field_and_change_nothing():
    lad = ladder()
    before = Course.objects.count()
    cases = [
        (dict(kind="type", theory_hours=8), "aircraft_type"),
        (dict(kind="recurrent", theory_hours=8), "renews"),
        (dict(kind="safety", theory_hours=0), "theory_hours"),
        (dict(kind="safety", theory_hours="x"), "theory_hours"),
        (dict(kind="safety", theory_hours=8, pass_mark=0), "pass_mark"),
        (dict(kind="safety", theory_hours=8, validity_months=0), "validity_months"),
        (dict(kind="safety", theory_hours=8, renews=lad.hf), "renews"),
        (dict(kind="cooking", theory_hours=8), "kind"),
        (dict(kind="recurrent", theory_hours=8, renews=lad.hf_recurrent), "renews"),
    ]
    for kw, field in cases:
        with pytest.raises(RuleViolation) as err:
            training.create_course(
                actor=lad.manager, code="NEW-1", title="New", provider="licensor", **kw
            )
        assert err.value.field == field, (kw, err.value)
    with pytest.raises(RuleViolation, match="already exists"):
        training.create_course(
            actor=lad.manager,
            code=lad.hf.code,
            title="x",
            kind="safety",
            provider="licensor",
            theory_hours=1,
        )
    with pytest.raises(NotAllowed):
        training.create_course(
            actor=lad.h.tech,
            code="NEW-2",
            title="x",
            kind="safety",
            provider="licensor",
            theory_hours=1,
        )
    assert Course.objects.count() == before


def test_enrolment_capacity_operator_staff_and_repeats():
    lad = ladder()
    session = _session(lad, lad.hf, days_ago(-10), capacity=1)
    training.enrol(actor=lad.manager, session=session, person=lad.trainee)
    with pytest.raises(Conflict, match="already enrolled"):
        training.enrol(actor=lad.manager, session=session, person=lad.trainee)
    with pytest.raises(Conflict, match="full"):
        training.enrol(actor=lad.manager, session=session, person=lad.h.tech)
    outsider = f.user(operator=lad.h.operator, role=Role.OPERATOR_VIEWER)
    with pytest.raises(RuleViolation, match="operator staff"):
        training.enrol(
            actor=lad.manager, session=_session(lad, lad.hf, days_ago(-20)), person=outsider
        )
    past = _session(lad, lad.hf, days_ago(30))
    with pytest.raises(RuleViolation, match="ended"):
        training.enrol(actor=lad.manager, session=past, person=lad.h.tech)


def test_attendance_and_certificate_rules():
    lad = ladder()
    session = _session(lad, lad.hf, days_ago(10), days=2)
    e = training.enrol(actor=lad.manager, session=session, person=lad.trainee, at=days_ago(11))
    with pytest.raises(RuleViolation, match="outside session"):
        training.record_attendance(actor=lad.manager, enrolment=e, day=days_ago(20).date(), hours=4)
    with pytest.raises(RuleViolation, match="not a day's attendance"):
        training.record_attendance(
            actor=lad.manager, enrolment=e, day=days_ago(10).date(), hours=25
        )
    training.record_attendance(actor=lad.manager, enrolment=e, day=days_ago(10).date(), hours=4)
    with pytest.raises(Conflict, match="already recorded"):
        training.record_attendance(actor=lad.manager, enrolment=e, day=days_ago(10).date(), hours=4)
    # 4 of 8 hours: not enough
    with pytest.raises(RuleViolation, match="attended 4.0 of 8.0 hours"):
        training.issue_certificate(actor=lad.manager, enrolment=e, at=days_ago(8))
    training.record_attendance(actor=lad.manager, enrolment=e, day=days_ago(9).date(), hours=4)
    with pytest.raises(RuleViolation, match="no theory result"):
        training.issue_certificate(actor=lad.manager, enrolment=e, at=days_ago(8))
    with pytest.raises(RuleViolation, match="assesses theory, not 'practical'"):
        training.record_assessment(
            actor=lad.manager, enrolment=e, element="practical", score=90, at=days_ago(9)
        )
    failed = training.record_assessment(
        actor=lad.manager, enrolment=e, element="theory", score=60, at=days_ago(9)
    )
    assert failed.passed is False
    with pytest.raises(RuleViolation, match="below the pass mark"):
        training.issue_certificate(actor=lad.manager, enrolment=e, at=days_ago(8))
    with pytest.raises(RuleViolation, match="needs its reason"):
        training.record_assessment(
            actor=lad.manager,
            enrolment=e,
            element="theory",
            score=80,
            at=days_ago(9),
            corrects=failed,
        )
    fixed = training.record_assessment(
        actor=lad.manager,
        enrolment=e,
        element="theory",
        score=80,
        at=days_ago(9),
        corrects=failed,
        correction_reason="marked against the wrong key",
    )
    with pytest.raises(Conflict, match="already corrected"):
        training.record_assessment(
            actor=lad.manager,
            enrolment=e,
            element="theory",
            score=81,
            at=days_ago(9),
            corrects=failed,
            correction_reason="again",
        )
    cert = training.issue_certificate(actor=lad.manager, enrolment=e, at=days_ago(8))
    assert cert.covers == lad.hf and cert.issued_on == days_ago(8).date()
    assert cert.expires_on == training.add_months(cert.issued_on, 24)
    assert training.standing_assessments(e)["theory"] == fixed
    with pytest.raises(Conflict, match="already has the certificate"):
        training.issue_certificate(actor=lad.manager, enrolment=e, at=days_ago(7))
    with pytest.raises(RuleViolation, match="certificate was issued"):
        training.withdraw_enrolment(actor=lad.manager, enrolment=e, reason="left")


def test_add_months_clips_to_the_month_end():
    assert training.add_months(dt.date(2026, 1, 31), 1) == dt.date(2026, 2, 28)
    assert training.add_months(dt.date(2024, 2, 29), 24) == dt.date(2026, 2, 28)
    assert training.add_months(dt.date(2026, 11, 15), 14) == dt.date(2028, 1, 15)


def test_a_recurrent_certificate_renews_the_course_it_names():
    lad = ladder()
    old = training.record_certificate(
        actor=lad.manager,
        person=lad.trainee,
        course=lad.hf,
        number="P-1",
        issued_on=days_ago(800).date(),
    )
    assert old.expires_on == training.add_months(days_ago(800).date(), 24)
    day = days_ago(0).date()
    certs = selectors.latest_certificates([lad.trainee.pk], day)
    assert selectors.course_currency(certs, lad.trainee.pk, lad.hf, day)[0] is False
    pass_course(lad, lad.hf_recurrent, lad.trainee, start=days_ago(3), days=1)
    certs = selectors.latest_certificates([lad.trainee.pk], day)
    ok, why = selectors.course_currency(certs, lad.trainee.pk, lad.hf, day)
    assert ok and lad.hf.code in why


def test_withdrawn_stage_withdraws_its_authorisation_and_refuses_signing():
    lad = ladder(steps=1)
    h, trainee = lad.h, lad.trainee
    training.record_certificate(
        actor=lad.manager,
        person=trainee,
        course=lad.hf,
        number="HF-W",
        issued_on=days_ago(200).date(),
    )
    pass_course(lad, lad.type_course, trainee, start=days_ago(100))
    training.grant_stage(actor=lad.manager, person=trainee, stage=lad.supervised, at=days_ago(80))
    pkg = work.create_package(
        actor=h.planner,
        aircraft=h.aircraft,
        title="x",
        items=[work.DueRef(h.tasks["PROP"])],
        at=days_ago(70),
    )
    work.open_package(actor=h.planner, package=pkg, at=days_ago(70))
    card = pkg.cards.get()
    entry = work.sign_step_supervised(
        actor=trainee, step=card.steps.first(), supervisor=h.tech, at=days_ago(70)
    )
    work.countersign_step(actor=h.tech, entry=entry, at=days_ago(70))
    grant = training.grant_stage(
        actor=lad.manager, person=trainee, stage=lad.independent, at=days_ago(60)
    )
    training.withdraw_stage(actor=lad.manager, grant=grant, reason="left the programme")
    assert Authorisation.objects.get(pk=grant.authorisation_id).withdrawn_at is not None
    with pytest.raises(NoAuthority, match="withdrawn"):
        work.sign_step(actor=trainee, step=card.steps.all()[1], value=1.0)
    with pytest.raises(Conflict, match="already withdrawn"):
        training.withdraw_stage(actor=lad.manager, grant=grant, reason="again")
    assert AuditEvent.objects.filter(action="training.withdraw_stage").count() == 1
    # signed into the hub's chain like the grant it ends
    from kanat.records.models import ChainLink

    links = ChainLink.objects.filter(chain="hub").values_list("subject_model", "kind")
    assert set(links) >= {
        ("training.stagegrant", "stage_grant"),
        ("training.stagewithdrawal", "stage_withdrawal"),
    }
    assert chain.verify() == []


def test_nobody_grants_a_stage_to_themselves():
    lad = ladder()
    other_manager = f.user(role=Role.TRAINING_MANAGER)
    training.register_trainee(
        actor=lad.manager, person=other_manager, origin="local", joined_on=dt.date(2026, 1, 1)
    )
    with pytest.raises(RuleViolation, match="themselves"):
        training.grant_stage(actor=other_manager, person=other_manager, stage=lad.supervised)


def test_training_evidence_is_append_only_in_the_app():
    lad = ladder()
    e = pass_course(lad, lad.hf, lad.trainee, start=days_ago(20), days=1)
    for model in (Attendance, Assessment, Certificate):
        row = model.objects.filter(**({"enrolment": e})).first()
        with pytest.raises(PermissionError, match="append-only"):
            row.save()
        with pytest.raises(PermissionError, match="append-only"):
            model.objects.filter(pk=row.pk).delete()
    assert Enrolment.objects.get(pk=e.pk)


@pytest.mark.postgres
def test_postgresql_refuses_changes_to_training_evidence_and_supervised_steps():
    lad = ladder(steps=1)
    training.record_certificate(
        actor=lad.manager,
        person=lad.trainee,
        course=lad.hf,
        number="HF-PG",
        issued_on=days_ago(200).date(),
    )
    pass_course(lad, lad.type_course, lad.trainee, start=days_ago(100))
    training.grant_stage(
        actor=lad.manager, person=lad.trainee, stage=lad.supervised, at=days_ago(80)
    )
    h = lad.h
    pkg = work.create_package(
        actor=h.planner,
        aircraft=h.aircraft,
        title="x",
        items=[work.DueRef(h.tasks["GVI"])],
        at=days_ago(70),
    )
    work.open_package(actor=h.planner, package=pkg, at=days_ago(70))
    entry = work.sign_step_supervised(
        actor=lad.trainee, step=pkg.cards.get().steps.get(), supervisor=h.tech, at=days_ago(70)
    )
    work.decline_supervised_step(actor=h.tech, entry=entry, reason="redo", at=days_ago(70))
    for table in (
        "training_attendance",
        "training_assessment",
        "training_certificate",
        "training_stagegrant",
        "work_supervisedstep",
        "work_supervisiondecline",
    ):
        for sql in (f"UPDATE {table} SET id = id", f"DELETE FROM {table}"):
            with (
                pytest.raises(DatabaseError, match="append-only"),
                transaction.atomic(),
                connection.cursor() as cur,
            ):
                cur.execute(sql)
    assert chain.verify() == []


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_two_managers_grant_the_same_stage_at_once():
    lad = ladder()
    training.record_certificate(
        actor=lad.manager,
        person=lad.trainee,
        course=lad.hf,
        number="HF-R",
        issued_on=days_ago(200).date(),
    )
    pass_course(lad, lad.type_course, lad.trainee, start=days_ago(100))
    second = f.user(role=Role.TRAINING_MANAGER)
    outcomes = race(
        lambda: training.grant_stage(actor=lad.manager, person=lad.trainee, stage=lad.supervised),
        lambda: training.grant_stage(actor=second, person=lad.trainee, stage=lad.supervised),
    )
    assert outcomes.count("won") == 1, outcomes
    assert "already holds" in next(o for o in outcomes if o != "won")
    assert StageGrant.objects.filter(person=lad.trainee).count() == 1
    assert chain.verify() == []


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_the_last_seat_goes_to_one_enrolment():
    lad = ladder()
    session = _session(lad, lad.hf, days_ago(-10), capacity=1)
    outcomes = race(
        lambda: training.enrol(actor=lad.manager, session=session, person=lad.trainee),
        lambda: training.enrol(actor=lad.manager, session=session, person=lad.h.tech),
    )
    assert outcomes.count("won") == 1, outcomes
    assert "full" in next(o for o in outcomes if o != "won")
