"""The training API under /api/training/: reads (restricted, hub staff only), writes through
the services, refusals as 400 naming the field, 409, 403."""

from __future__ import annotations

import pytest
from django.test import Client

from kanat.core.models import AuditEvent
from kanat.core.roles import Role
from kanat.training import services as training
from kanat.training.models import (
    Assessment,
    Certificate,
    Course,
    Enrolment,
    Session,
    StageGrant,
    Trainee,
)
from tests import factories as f
from tests.training.ladder import days_ago, ladder, pass_course

pytestmark = pytest.mark.django_db

API = "/api/training"


def client(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


def post(c: Client, url: str, data: dict):
    return c.post(url, data, content_type="application/json")


def test_create_course_session_and_take_a_person_to_a_certificate():
    lad = ladder()
    c = client(lad.manager)
    r = post(
        c,
        f"{API}/courses/",
        {
            "code": "sms-1",
            "title": "Safety management",
            "kind": "safety",
            "provider": "local_school",
            "theory_hours": "8",
            "validity_months": 36,
        },
    )
    assert r.status_code == 201, r.json()
    course = r.json()
    assert course["code"] == "SMS-1" and course["validity_months"] == 36
    start, end = days_ago(10).date(), days_ago(9).date()
    r = post(
        c,
        f"{API}/sessions/",
        {
            "course": course["id"],
            "code": "sms-a",
            "starts_on": str(start),
            "ends_on": str(end),
            "location": "Hub",
            "instructor": "D. Teacher",
        },
    )
    assert r.status_code == 201, r.json()
    session = Session.objects.get(code="SMS-A")
    # the API enrols now: the session has ended, so that is refused with the field
    r = post(c, f"{API}/enrolments/", {"session": session.pk, "person": lad.trainee.pk})
    assert r.status_code == 400 and r.json()["field"] == "session"
    enrolment = training.enrol(
        actor=lad.manager, session=session, person=lad.trainee, at=days_ago(12)
    )
    base = f"{API}/enrolments/{enrolment.pk}"
    for day in (start, end):
        r = post(c, f"{base}/attendance/", {"day": str(day), "hours": "4"})
        assert r.status_code == 201, r.json()
    r = post(c, f"{base}/attendance/", {"day": str(start), "hours": "4"})
    assert r.status_code == 409 and r.json()["field"] == "day"
    r = post(c, f"{base}/assessment/", {"element": "theory", "score": 70})
    assert r.status_code == 201 and r.json()["passed"] is False
    wrong = r.json()["id"]
    r = post(c, f"{base}/certificate/", {})
    assert r.status_code == 400 and r.json()["field"] == "assessments"
    r = post(
        c,
        f"{base}/assessment/",
        {"element": "theory", "score": 90, "corrects": wrong, "correction_reason": "recount"},
    )
    assert r.status_code == 201 and r.json()["corrects"] == wrong
    r = post(c, f"{base}/certificate/", {})
    assert r.status_code == 201, r.json()
    cert = r.json()
    assert cert["person"] == lad.trainee.pk and cert["covers_code"] == "SMS-1"
    assert cert["expires_on"] is not None
    # the enrolment read back: attendance, results (the wrong one marked corrected), cert
    body = c.get(f"{base}/").json()
    assert len(body["attendance"]) == 2
    assert [(a["score"], a["corrected"]) for a in body["assessments"]] == [(70, True), (90, False)]
    assert body["certificate"]["number"] == cert["number"]
    listed = c.get(f"{API}/sessions/{session.pk}/").json()
    assert [e["person_username"] for e in listed["enrolments"]] == [lad.trainee.username]
    assert c.get(f"{API}/attendance/?enrolment={enrolment.pk}").json()["count"] == 2
    assert c.get(f"{API}/assessments/?enrolment={enrolment.pk}").json()["count"] == 2
    assert c.get(f"{API}/certificates/?person={lad.trainee.pk}").json()["count"] == 1


def test_course_filters_and_errors():
    lad = ladder()
    c = client(lad.manager)
    body = c.get(f"{API}/courses/?kind=recurrent").json()
    assert [r["code"] for r in body["results"]] == [lad.hf_recurrent.code]
    assert body["results"][0]["renews_code"] == lad.hf.code
    before = (Course.objects.count(), AuditEvent.objects.count())
    r = post(
        c,
        f"{API}/courses/",
        {
            "code": "R-1",
            "title": "R",
            "kind": "recurrent",
            "provider": "local_school",
            "theory_hours": "2",
        },
    )
    assert r.status_code == 400 and r.json() == {
        "detail": "a recurrent course names the course it renews",
        "field": "renews",
    }
    r = post(c, f"{API}/courses/", {"code": "R-1", "kind": "nonsense"})
    assert r.status_code == 400 and "kind" in r.json() and "title" in r.json()
    assert (Course.objects.count(), AuditEvent.objects.count()) == before


def test_enrol_cancel_and_withdraw():
    lad = ladder()
    c = client(lad.manager)
    session = training.schedule_session(
        actor=lad.manager,
        course=lad.hf,
        code="HF-NEXT",
        starts_on=days_ago(-5).date(),
        ends_on=days_ago(-6).date(),
        location="Hub",
        instructor="E. Teacher",
    )
    r = post(c, f"{API}/enrolments/", {"session": session.pk, "person": lad.trainee.pk})
    assert r.status_code == 201 and r.json()["person_username"] == lad.trainee.username
    again = post(c, f"{API}/enrolments/", {"session": session.pk, "person": lad.trainee.pk})
    assert again.status_code == 409 and again.json()["field"] == "person"
    enrolment = Enrolment.objects.get(session=session)
    r = post(c, f"{API}/enrolments/{enrolment.pk}/withdraw/", {"reason": "leave"})
    assert r.status_code == 200 and r.json()["withdrawal_reason"] == "leave"
    r = post(c, f"{API}/sessions/{session.pk}/cancel/", {"reason": ""})
    assert r.status_code == 400 and r.json()["field"] == "reason"
    r = post(c, f"{API}/sessions/{session.pk}/cancel/", {"reason": "no instructor"})
    assert r.status_code == 200 and r.json()["cancel_reason"] == "no instructor"


def test_register_trainee_record_certificate_grant_and_withdraw():
    lad = ladder()
    c = client(lad.manager)
    newcomer = f.user(role=Role.TECHNICIAN)
    r = post(
        c,
        f"{API}/trainees/",
        {"person": newcomer.pk, "origin": "local", "joined_on": "2026-03-01"},
    )
    assert r.status_code == 201 and r.json()["origin"] == "local"
    r = post(
        c,
        f"{API}/trainees/",
        {"person": newcomer.pk, "origin": "local", "joined_on": "2026-03-01"},
    )
    assert r.status_code == 409
    assert Trainee.objects.filter(person=newcomer).count() == 1
    r = post(
        c,
        f"{API}/certificates/",
        {
            "person": lad.trainee.pk,
            "course": lad.hf.pk,
            "number": "HF-PAPER-9",
            "issued_on": str(days_ago(100).date()),
        },
    )
    assert r.status_code == 201 and r.json()["expires_on"] is not None  # the course's validity
    # not met yet: the grant is refused with what is missing
    r = post(c, f"{API}/stage-grants/", {"person": lad.trainee.pk, "stage": lad.supervised.pk})
    assert r.status_code == 400 and r.json()["field"] == "evidence"
    assert "no " + lad.type_course.code + " certificate" in r.json()["detail"]
    pass_course(lad, lad.type_course, lad.trainee, start=days_ago(60))
    proposals = c.get(f"{API}/proposals/").json()["results"]
    mine = [p for p in proposals if p["person"] == lad.trainee.pk]
    assert [p["stage_code"] for p in mine] == [lad.supervised.code] and mine[0]["met"]
    assert all(check["met"] for check in mine[0]["checks"])
    r = post(
        c,
        f"{API}/stage-grants/",
        {"person": lad.trainee.pk, "stage": lad.supervised.pk, "note": "ready"},
    )
    assert r.status_code == 201, r.json()
    grant = r.json()
    assert grant["standing"] == "in force" and grant["note"] == "ready"
    assert grant["evidence"] and all(e["met"] for e in grant["evidence"])
    close = c.get(f"{API}/proposals/?include_unmet=true").json()["results"]
    nxt = next(p for p in close if p["person"] == lad.trainee.pk)
    assert nxt["stage_code"] == lad.independent.code and not nxt["met"]
    assert nxt["current_grant"] == grant["number"]
    r = post(c, f"{API}/stage-grants/{grant['id']}/withdraw/", {"reason": "moved"})
    assert r.status_code == 200
    assert r.json()["standing"] == "withdrawn" and r.json()["withdrawal_reason"] == "moved"
    r = post(c, f"{API}/stage-grants/{grant['id']}/withdraw/", {"reason": "again"})
    assert r.status_code == 409
    listed = c.get(f"{API}/stage-grants/?person={lad.trainee.pk}").json()
    assert [g["standing"] for g in listed["results"]] == ["withdrawn"]


def test_stages_with_requirements_and_reminders():
    lad = ladder()
    c = client(lad.manager)
    stage = c.get(f"{API}/stages/{lad.supervised.pk}/").json()
    labels = {r["label"] for r in stage["requirements"]}
    assert labels == {f"{lad.hf.code} in force", f"{lad.type_course.code} in force"}
    assert stage["supervised_work"] is True
    training.record_certificate(
        actor=lad.manager,
        person=lad.trainee,
        course=lad.hf,
        number="HF-SOON",
        issued_on=days_ago(700).date(),
        expires_on=days_ago(-30).date(),
    )
    body = c.get(f"{API}/reminders/").json()
    assert body["days"] == 90
    (person,) = body["results"]
    assert person["person"] == lad.trainee.pk
    assert person["due"][0]["certificate"] == "HF-SOON" and person["due"][0]["days_left"] == 30
    assert c.get(f"{API}/reminders/?days=10").json()["results"] == []
    bad = c.get(f"{API}/reminders/?days=-2")
    assert bad.status_code == 400 and "days" in bad.json()


def test_technician_reads_but_may_not_write():
    lad = ladder()
    tech = client(lad.trainee)
    assert tech.get(f"{API}/courses/").status_code == 200
    before = (Course.objects.count(), StageGrant.objects.count(), AuditEvent.objects.count())
    r = post(
        tech,
        f"{API}/courses/",
        {
            "code": "X-1",
            "title": "X",
            "kind": "safety",
            "provider": "local_school",
            "theory_hours": "1",
        },
    )
    assert r.status_code == 403
    r = post(tech, f"{API}/stage-grants/", {"person": lad.trainee.pk, "stage": lad.supervised.pk})
    assert r.status_code == 403
    assert (Course.objects.count(), StageGrant.objects.count(), AuditEvent.objects.count()) == (
        before
    )


def test_operator_staff_get_403_everywhere():
    lad = ladder()
    pass_course(lad, lad.hf, lad.trainee, start=days_ago(30))
    op = client(f.user(operator=f.operator(), role=Role.OPERATOR_FLEET_MANAGER))
    enrolment = Enrolment.objects.get()
    for url in [
        f"{API}/courses/",
        f"{API}/courses/{lad.hf.pk}/",
        f"{API}/sessions/",
        f"{API}/enrolments/{enrolment.pk}/",
        f"{API}/attendance/",
        f"{API}/assessments/",
        f"{API}/certificates/",
        f"{API}/trainees/",
        f"{API}/stages/",
        f"{API}/stage-grants/",
        f"{API}/proposals/",
        f"{API}/reminders/",
    ]:
        assert op.get(url).status_code == 403, url
    r = post(op, f"{API}/enrolments/{enrolment.pk}/assessment/", {"element": "theory", "score": 99})
    assert r.status_code == 403
    assert Assessment.objects.count() == 1 and Certificate.objects.count() == 1
