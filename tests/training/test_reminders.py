"""Recurrent-training reminders (``kanat.training.reminders`` and ``/training/due/``):
certificates running out within the horizon or out with no renewal, per person, with the
stage grants that lapse with them; a renewal (a later certificate covering the same course)
clears the reminder; bulk queries."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from kanat.core.roles import Role
from kanat.training import reminders
from kanat.training import services as training
from tests import factories as f
from tests.training.ladder import days_ago, ladder, pass_course

pytestmark = pytest.mark.django_db


def _cert(lad, person, course, *, issued: int, expires: int | None, number: str = ""):
    """A certificate issued ``issued`` days ago, expiring ``expires`` days from today
    (negative: in the past; None: never)."""
    return training.record_certificate(
        actor=lad.manager,
        person=person,
        course=course,
        number=number or f"C-{next(f._seq)}",
        issued_on=days_ago(issued).date(),
        expires_on=days_ago(-expires).date() if expires is not None else None,
    )


def _today():
    return days_ago(0).date()


def _supervised(lad):
    """The trainee holds Supervised, which requires HF in force (expiring in 20 days)."""
    hf = _cert(lad, lad.trainee, lad.hf, issued=700, expires=20, number="HF-OLD")
    pass_course(lad, lad.type_course, lad.trainee, start=days_ago(60))
    grant = training.grant_stage(actor=lad.manager, person=lad.trainee, stage=lad.supervised)
    return hf, grant


def test_expiring_certificate_is_due_with_the_grants_that_lapse_with_it():
    lad = ladder()
    hf, grant = _supervised(lad)
    due = reminders.due(lad.manager, _today())
    assert [p.person for p in due] == [lad.trainee]
    (row,) = due[0].rows
    assert row.certificate == hf and row.course == lad.hf
    assert not row.expired and row.days_left == 20
    assert row.grants == [grant]
    # outside a shorter horizon it is not due yet
    assert reminders.due(lad.manager, _today(), within_days=10) == []
    # the type course (no expiry) is never due
    assert all(r.course != lad.type_course for p in due for r in p.rows)


def test_expired_without_renewal_is_due_and_a_renewal_clears_it():
    lad = ladder()
    other = f.user(role=Role.TECHNICIAN)
    _cert(lad, other, lad.hf, issued=800, expires=-5, number="HF-GONE")
    (row,) = reminders.due(lad.manager, _today())[0].rows
    assert row.expired and row.days_over == 5 and row.grants == []
    # renewed by the recurrent course (it covers HF): no longer due
    _cert(lad, other, lad.hf_recurrent, issued=2, expires=700, number="HFR-1")
    assert reminders.due(lad.manager, _today()) == []


def test_an_older_certificate_does_not_shadow_a_later_one():
    lad = ladder()
    _cert(lad, lad.trainee, lad.hf, issued=300, expires=400)
    _cert(lad, lad.trainee, lad.hf, issued=800, expires=30)  # recorded later, older paper
    assert reminders.due(lad.manager, _today()) == []


def test_withdrawn_grants_do_not_lapse_again():
    lad = ladder()
    _, grant = _supervised(lad)
    training.withdraw_stage(actor=lad.manager, grant=grant, reason="moved to stores")
    (row,) = reminders.due(lad.manager, _today())[0].rows
    assert row.grants == []


def test_inactive_people_and_operator_viewers_see_nothing():
    lad = ladder()
    _cert(lad, lad.trainee, lad.hf, issued=700, expires=20)
    op_user = f.user(operator=f.operator(), role=Role.OPERATOR_FLEET_MANAGER)
    assert reminders.due(op_user, _today()) == []
    lad.trainee.is_active = False
    lad.trainee.save()
    assert reminders.due(lad.manager, _today()) == []


def test_the_query_is_a_fixed_number_of_bulk_queries():
    lad = ladder()
    _supervised(lad)

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            due = reminders.due(lad.manager, _today())
            for p in due:
                for r in p.rows:
                    _ = (r.course.code, r.certificate.course.code, p.person.username)
                    _ = [(g.stage.name, g.stage.aircraft_type.code) for g in r.grants]
        return len(ctx.captured_queries)

    small = count()
    for _ in range(4):
        person = f.user(role=Role.TECHNICIAN)
        _cert(lad, person, lad.hf, issued=700, expires=-3)
        _cert(lad, person, lad.type_course, issued=100, expires=30)
    assert len(reminders.due(lad.manager, _today())) == 5
    assert count() == small <= 4


def test_parse_days():
    assert reminders.parse_days(None) == 90 and reminders.parse_days(" ") == 90
    assert reminders.parse_days("30") == 30 and reminders.parse_days("0") == 0
    for bad in ("-1", "abc", "1.5", "99999"):
        with pytest.raises(ValueError, match="is not a whole number of days"):
            reminders.parse_days(bad)


def test_due_page():
    lad = ladder()
    _, grant = _supervised(lad)
    c = Client()
    c.force_login(lad.manager)
    body = c.get("/training/due/").content.decode()
    row = body.split(f'id="due-{lad.trainee.username}-{lad.hf.code}"')[1].split("</tr>")[0]
    assert "HF-OLD" in row and "in 20 days" in row
    assert f"Supervised ({lad.h.aircraft.variant.aircraft_type.code}, {grant.number})" in row
    assert "lapses after" in row
    assert f"due-{lad.trainee.username}" not in c.get("/training/due/?days=5").content.decode()
    bad = c.get("/training/due/?days=soon")
    assert bad.status_code == 400 and "days &#x27;soon&#x27; is not a whole number" in (
        bad.content.decode()
    )
