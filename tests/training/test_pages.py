"""The training pages: the catalogue, a course, a session, the proposals queue. Each form
goes through its service; a refusal comes back next to the form (400, 409 for a conflict)
with nothing changed; a role without the capability sees no form and gets 403 on a post;
operator staff get 403 like on the production pages."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client

from kanat.core.models import AuditEvent
from kanat.core.roles import Role
from kanat.training import services as training
from kanat.training.models import (
    Assessment,
    Attendance,
    Certificate,
    Course,
    Enrolment,
    Session,
    StageGrant,
    StageWithdrawal,
)
from tests import factories as f
from tests.training.ladder import days_ago, ladder, pass_course

pytestmark = pytest.mark.django_db

PAGES = ["/training/courses/", "/training/proposals/", "/training/due/"]


def client(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


def _text(r) -> str:
    return r.content.decode()


def _session(lad, course, start: dt.date, end: dt.date, code: str = "") -> Session:
    return training.schedule_session(
        actor=lad.manager,
        course=course,
        code=code or f"S-{next(f._seq)}",
        starts_on=start,
        ends_on=end,
        location="Hub classroom 1",
        instructor="B. Teacher",
    )


# --- the catalogue ---------------------------------------------------------------------------


def test_catalogue_filters_by_kind_and_provider():
    lad = ladder()
    c = client(lad.manager)
    body = _text(c.get("/training/courses/"))
    assert lad.type_course.code in body and lad.hf.code in body and lad.hf_recurrent.code in body
    assert 'href="/training/courses/"' in body  # the sub-navigation
    assert 'href="/training/dashboard/"' in body
    body = _text(c.get("/training/courses/?kind=human_factors"))
    assert f"course-{lad.hf.code}" in body and f"course-{lad.type_course.code}" not in body
    body = _text(c.get("/training/courses/?provider=licensor"))
    assert f"course-{lad.type_course.code}" in body and f"course-{lad.hf.code}" not in body
    # an unknown filter value is no filter
    assert f"course-{lad.hf.code}" in _text(c.get("/training/courses/?kind=nonsense"))


def test_create_course_through_the_form():
    lad = ladder()
    c = client(lad.manager)
    r = c.post(
        "/training/courses/",
        {
            "code": "sms-1",
            "title": "Safety management",
            "kind": "safety",
            "provider": "local_school",
            "theory_hours": "6",
            "practical_hours": "",
            "pass_mark": "80",
            "validity_months": "36",
            "ata_chapters": "",
        },
    )
    course = Course.objects.get(code="SMS-1")
    assert r.status_code == 302 and r["Location"] == f"/training/courses/{course.pk}/"
    assert course.validity_months == 36 and course.pass_mark == 80
    assert AuditEvent.objects.filter(action="training.create_course", object_id=str(course.pk))
    page = c.get(r["Location"], follow=True)
    assert "Course SMS-1 added to the catalogue." in _text(page)


@pytest.mark.parametrize(
    "data, field, message",
    [
        ({"kind": "recurrent"}, "renews", "a recurrent course names the course it renews"),
        ({"theory_hours": "0"}, "theory_hours", "a course has theory or practical hours"),
        ({"pass_mark": "abc"}, "pass_mark", "Enter a whole number"),
        ({"theory_hours": "lots"}, "theory_hours", "is not a number"),
    ],
)
def test_refused_course_shows_the_error_and_changes_nothing(data, field, message):
    lad = ladder()
    c = client(lad.manager)
    before = (Course.objects.count(), AuditEvent.objects.count())
    post = {
        "code": "BAD-1",
        "title": "Bad",
        "kind": "safety",
        "provider": "local_school",
        "theory_hours": "4",
        "pass_mark": "75",
    } | data
    r = c.post("/training/courses/", post)
    assert r.status_code == 400
    body = _text(r)
    assert message in body and 'role="alert"' in body
    assert 'value="BAD-1"' in body  # what was typed stays in the form
    assert (Course.objects.count(), AuditEvent.objects.count()) == before


def test_duplicate_course_code_is_named():
    lad = ladder()
    r = client(lad.manager).post(
        "/training/courses/",
        {
            "code": lad.hf.code,
            "title": "Again",
            "kind": "safety",
            "provider": "local_school",
            "theory_hours": "4",
            "pass_mark": "75",
        },
    )
    assert r.status_code == 400 and f"course {lad.hf.code} already exists" in _text(r)


def test_technician_sees_no_forms_and_gets_403_on_posts():
    lad = ladder()
    tech = client(lad.trainee)
    enrolment = pass_course(lad, lad.hf, lad.trainee, start=days_ago(30))
    session = enrolment.session
    for url in [*PAGES, f"/training/courses/{lad.hf.pk}/", f"/training/sessions/{session.pk}/"]:
        r = tech.get(url)
        assert r.status_code == 200, url
        assert '<form method="post"' not in _text(r).split("</header>")[1], url
    before = (
        Course.objects.count(),
        Session.objects.count(),
        Enrolment.objects.count(),
        StageGrant.objects.count(),
        AuditEvent.objects.count(),
    )
    posts = [
        ("/training/courses/", {"code": "X-1", "title": "X", "kind": "safety"}),
        (f"/training/courses/{lad.hf.pk}/", {"code": "S-X"}),
        (f"/training/sessions/{session.pk}/", {"action": "cancel", "reason": "no"}),
        (
            "/training/proposals/",
            {"action": "grant", "person": lad.trainee.pk, "stage": lad.supervised.pk},
        ),
    ]
    for url, data in posts:
        assert tech.post(url, data).status_code == 403, url
    assert (
        Course.objects.count(),
        Session.objects.count(),
        Enrolment.objects.count(),
        StageGrant.objects.count(),
        AuditEvent.objects.count(),
    ) == before


def test_operator_staff_get_403_like_the_production_pages():
    lad = ladder()
    session = _session(lad, lad.hf, days_ago(3).date(), days_ago(1).date())
    op_user = client(f.user(operator=f.operator(), role=Role.OPERATOR_FLEET_MANAGER))
    urls = [*PAGES, f"/training/courses/{lad.hf.pk}/", f"/training/sessions/{session.pk}/"]
    for url in [*urls, "/production/boms/"]:
        assert op_user.get(url).status_code == 403, url
        assert op_user.post(url, {"action": "cancel", "reason": "x"}).status_code == 403, url
    assert Session.objects.get(pk=session.pk).cancelled_at is None
    # and the nav offers them no Training link
    assert "/training/courses/" not in _text(op_user.get("/"))
    assert "/training/courses/" in _text(client(lad.manager).get("/"))


def test_missing_objects_are_404():
    lad = ladder()
    c = client(lad.manager)
    assert c.get("/training/courses/999999/").status_code == 404
    assert c.get("/training/sessions/999999/").status_code == 404


# --- a course --------------------------------------------------------------------------------


def test_course_page_shows_sessions_requirements_and_certificate_counts():
    lad = ladder()
    past = pass_course(lad, lad.hf, lad.trainee, start=days_ago(40)).session
    other = f.user(role=Role.TECHNICIAN)
    training.record_certificate(
        actor=lad.manager,
        person=other,
        course=lad.hf,
        number="HF-PAPER-1",
        issued_on=days_ago(800).date(),
        expires_on=days_ago(70).date(),
    )
    planned = _session(lad, lad.hf, days_ago(-10).date(), days_ago(-12).date())
    body = _text(client(lad.manager).get(f"/training/courses/{lad.hf.pk}/"))
    planned_part, past_part = body.split('id="planned"')[1].split('id="past"')
    assert planned.code in planned_part and past.code not in planned_part
    assert past.code in past_part
    requirements = body.split('id="requirements"')[1].split("</table>")[0]
    for stage in (lad.supervised, lad.independent, lad.certifying):
        assert f"stage {stage.name}" in requirements
    assert "2 issued: 1 in force, 1 expired" in body
    assert lad.hf_recurrent.code in body  # renewed by
    # the recurrent course lists the requirements of the course it renews
    rec = _text(client(lad.manager).get(f"/training/courses/{lad.hf_recurrent.pk}/"))
    assert "stage Supervised" in rec and f'href="/training/courses/{lad.hf.pk}/"' in rec


def test_schedule_a_session_through_the_form():
    lad = ladder()
    c = client(lad.manager)
    r = c.post(
        f"/training/courses/{lad.hf.pk}/",
        {
            "code": "hf-2027-1",
            "starts_on": "2027-02-01",
            "ends_on": "2027-02-02",
            "location": "Hub classroom 2",
            "instructor": "C. Teacher",
            "capacity": "8",
        },
    )
    session = Session.objects.get(code="HF-2027-1")
    assert r.status_code == 302 and r["Location"] == f"/training/sessions/{session.pk}/"
    assert session.course == lad.hf and session.capacity == 8


def test_refused_session_changes_nothing():
    lad = ladder()
    before = (Session.objects.count(), AuditEvent.objects.count())
    r = client(lad.manager).post(
        f"/training/courses/{lad.hf.pk}/",
        {
            "code": "HF-BAD",
            "starts_on": "2027-02-05",
            "ends_on": "2027-02-01",
            "location": "Hub",
            "instructor": "C. Teacher",
            "capacity": "8",
        },
    )
    assert r.status_code == 400
    assert "ends on 2027-02-01, before it starts (2027-02-05)" in _text(r)
    assert (Session.objects.count(), AuditEvent.objects.count()) == before


# --- a session -------------------------------------------------------------------------------


def test_enrol_attend_assess_correct_and_certify_through_the_forms():
    lad = ladder()
    c = client(lad.manager)
    # a session running now: enrol through the form
    now_session = _session(lad, lad.hf, days_ago(2).date(), days_ago(-2).date())
    url = f"/training/sessions/{now_session.pk}/"
    body = _text(c.get(url))
    assert f'value="{lad.trainee.pk}"' in body  # active hub staff in the drop-down
    r = c.post(url, {"action": "enrol", "person": lad.trainee.pk})
    assert r.status_code == 302
    assert Enrolment.objects.filter(session=now_session, person=lad.trainee).exists()
    assert f"{lad.trainee.username} enrolled on {now_session.code}." in _text(c.get(url))
    again = c.post(url, {"action": "enrol", "person": lad.trainee.pk})
    assert again.status_code == 409 and "is already enrolled" in _text(again)
    # a session that ended: the person enrolled beforehand
    session = _session(lad, lad.hf, days_ago(10).date(), days_ago(9).date())
    enrolment = training.enrol(
        actor=lad.manager, session=session, person=lad.trainee, at=days_ago(12)
    )
    url = f"/training/sessions/{session.pk}/"
    for day in (days_ago(10).date(), days_ago(9).date()):
        r = c.post(
            url,
            {"action": "attendance", "enrolment": enrolment.pk, "day": day, "hours": "4"},
        )
        assert r.status_code == 302, _text(r)
    assert Attendance.objects.filter(enrolment=enrolment).count() == 2
    r = c.post(
        url, {"action": "assessment", "enrolment": enrolment.pk, "element": "theory", "score": "60"}
    )
    assert r.status_code == 302
    wrong = Assessment.objects.get(enrolment=enrolment)
    assert not wrong.passed
    # certifying on a failed result is refused, with the reason, and nothing is issued
    r = c.post(url, {"action": "certificate", "enrolment": enrolment.pk})
    assert r.status_code == 400 and "below the pass mark" in _text(r)
    assert not Certificate.objects.exists()
    # the result is corrected (the wrong one stays, struck through with the reason)
    r = c.post(
        url,
        {
            "action": "assessment",
            "enrolment": enrolment.pk,
            "element": "theory",
            "score": "86",
            "corrects": wrong.pk,
            "correction_reason": "marking sheet misread",
        },
    )
    assert r.status_code == 302
    r = c.post(url, {"action": "certificate", "enrolment": enrolment.pk})
    assert r.status_code == 302
    cert = Certificate.objects.get(enrolment=enrolment)
    body = _text(c.get(url))
    assert f"Certificate {cert.number} issued to {lad.trainee.username}." in body
    assert "<del>Theory 60%</del>" in body and "corrected: marking sheet misread" in body
    assert "Theory 86% passed" in body
    assert cert.number in body and f"expires {cert.expires_on:%Y-%m-%d}" in body


@pytest.mark.parametrize(
    "data, status, message",
    [
        ({"action": "attendance", "day": "2020-01-01", "hours": "4"}, 400, "is outside session"),
        ({"action": "attendance", "day": "{start}", "hours": "30"}, 400, "is not a day"),
        ({"action": "attendance", "day": "{start}", "hours": "4"}, 409, "is already recorded"),
        ({"action": "assessment", "element": "practical", "score": "80"}, 400, "assesses theory"),
        ({"action": "assessment", "element": "theory", "score": "101"}, 400, "not a percentage"),
        ({"action": "certificate"}, 400, "attended 4.0 of 8.0 hours"),
        ({"action": "withdraw", "reason": " "}, 400, "reason"),
        ({"action": "cancel", "reason": "no room"}, 400, "has attendance recorded"),
        ({"action": "explode"}, 400, "unknown action"),
    ],
)
def test_refused_session_forms_show_the_error_and_change_nothing(data, status, message):
    lad = ladder()
    session = _session(lad, lad.hf, days_ago(10).date(), days_ago(9).date())
    enrolment = training.enrol(
        actor=lad.manager, session=session, person=lad.trainee, at=days_ago(12)
    )
    start = days_ago(10).date()
    training.record_attendance(actor=lad.manager, enrolment=enrolment, day=start, hours=4)
    before = (
        Attendance.objects.count(),
        Assessment.objects.count(),
        Certificate.objects.count(),
        AuditEvent.objects.count(),
    )
    post = {"enrolment": enrolment.pk} | {
        k: (v.format(start=start) if isinstance(v, str) else v) for k, v in data.items()
    }
    r = client(lad.manager).post(f"/training/sessions/{session.pk}/", post)
    assert r.status_code == status, _text(r)
    assert message in _text(r)
    assert (
        Attendance.objects.count(),
        Assessment.objects.count(),
        Certificate.objects.count(),
        AuditEvent.objects.count(),
    ) == before
    assert Enrolment.objects.get(pk=enrolment.pk).withdrawn_at is None
    assert Session.objects.get(pk=session.pk).cancelled_at is None


def test_withdraw_and_cancel_through_the_forms():
    lad = ladder()
    c = client(lad.manager)
    session = _session(lad, lad.hf, days_ago(-5).date(), days_ago(-6).date())
    enrolment = training.enrol(actor=lad.manager, session=session, person=lad.trainee)
    url = f"/training/sessions/{session.pk}/"
    r = c.post(url, {"action": "withdraw", "enrolment": enrolment.pk, "reason": "on leave"})
    assert r.status_code == 302
    assert Enrolment.objects.get(pk=enrolment.pk).withdrawal_reason == "on leave"
    r = c.post(url, {"action": "cancel", "reason": "instructor ill"})
    assert r.status_code == 302
    session.refresh_from_db()
    assert session.cancel_reason == "instructor ill" and session.cancelled_at is not None
    body = _text(c.get(url))
    assert "cancelled" in body and 'id="form-enrol"' not in body  # no forms once cancelled
    assert "withdrawn" in body and "on leave" in body


def test_operator_staff_are_not_offered_for_enrolment():
    lad = ladder()
    session = _session(lad, lad.hf, days_ago(-5).date(), days_ago(-6).date())
    op_person = f.user(operator=f.operator(), role=Role.OPERATOR_FLEET_MANAGER)
    body = _text(client(lad.manager).get(f"/training/sessions/{session.pk}/"))
    form = body.split('id="form-enrol"')[1].split("</form>")[0]
    assert f'value="{lad.trainee.pk}"' in form and f'value="{op_person.pk}"' not in form
    r = client(lad.manager).post(
        f"/training/sessions/{session.pk}/", {"action": "enrol", "person": op_person.pk}
    )
    assert r.status_code == 400 and "Select a valid choice" in _text(r)
    assert not Enrolment.objects.exists()


# --- the proposals queue ---------------------------------------------------------------------


def _ready_for_supervised(lad) -> None:
    training.record_certificate(
        actor=lad.manager,
        person=lad.trainee,
        course=lad.hf,
        number=f"HF-P-{next(f._seq)}",
        issued_on=days_ago(100).date(),
    )
    pass_course(lad, lad.type_course, lad.trainee, start=days_ago(60))


def test_proposals_list_the_evidence_and_grant_through_the_form():
    lad = ladder()
    _ready_for_supervised(lad)
    c = client(lad.manager)
    body = _text(c.get("/training/proposals/"))
    row = body.split(f'id="proposal-{lad.trainee.username}-{lad.supervised.code}"')[1]
    row = row.split("</tr>")[0]
    assert "evidence met" in row and f"{lad.hf.code} in force" in row
    assert f"{lad.type_course.code} in force" in row
    r = c.post(
        "/training/proposals/",
        {
            "action": "grant",
            "person": lad.trainee.pk,
            "stage": lad.supervised.pk,
            "note": "steady work in the hangar",
        },
    )
    assert r.status_code == 302
    grant = StageGrant.objects.get(person=lad.trainee, stage=lad.supervised)
    assert grant.granted_by == lad.manager and grant.note == "steady work in the hangar"
    body = _text(c.get("/training/proposals/"))
    assert f"{grant.number}: Supervised granted to {lad.trainee.username}." in body
    grants = body.split('id="grant-list"')[1]
    assert f"grant-{grant.number}" in grants and "in force" in grants
    # now the next rung is not met: the trainee is only shown when asked who is close
    assert f"proposal-{lad.trainee.username}-{lad.independent.code}" not in body
    close = _text(c.get("/training/proposals/?close=1"))
    row = close.split(f'id="proposal-{lad.trainee.username}-{lad.independent.code}"')[1]
    row = row.split("</tr>")[0]
    assert "missing" in row and "no passed practical assessment" not in row
    assert "0 of 3 logged" in row and 'name="action" value="grant"' not in row


def test_refused_grant_shows_why_and_changes_nothing():
    lad = ladder()
    c = client(lad.manager)
    before = (StageGrant.objects.count(), AuditEvent.objects.count())
    r = c.post(
        "/training/proposals/",
        {"action": "grant", "person": lad.trainee.pk, "stage": lad.supervised.pk},
    )
    assert r.status_code == 400
    assert f"{lad.trainee.username} does not meet Supervised yet" in _text(r)
    r = c.post("/training/proposals/", {"action": "grant", "person": "x", "stage": "1"})
    assert r.status_code == 400 and "is not a trainee" in _text(r)
    assert (StageGrant.objects.count(), AuditEvent.objects.count()) == before


def test_withdraw_a_grant_through_the_form():
    lad = ladder()
    _ready_for_supervised(lad)
    grant = training.grant_stage(actor=lad.manager, person=lad.trainee, stage=lad.supervised)
    c = client(lad.manager)
    r = c.post("/training/proposals/", {"action": "withdraw", "grant": grant.pk, "reason": ""})
    assert r.status_code == 400 and not StageWithdrawal.objects.exists()
    row = r.content.decode().split(f'id="grant-{grant.number}"')[1].split("</tr>")[0]
    assert 'role="alert"' in row and "reason: This field is required" in row  # by its form
    r = c.post("/training/proposals/", {"action": "withdraw", "grant": grant.pk, "reason": "left"})
    assert r.status_code == 302
    assert StageWithdrawal.objects.get(grant=grant).reason == "left"
    body = _text(c.get("/training/proposals/"))
    row = body.split(f'id="grant-{grant.number}"')[1].split("</tr>")[0]
    assert "withdrawn" in row and "form-withdraw" not in row
    again = c.post(
        "/training/proposals/", {"action": "withdraw", "grant": grant.pk, "reason": "again"}
    )
    assert again.status_code == 409


def test_technician_sees_the_queue_without_grant_forms():
    lad = ladder()
    _ready_for_supervised(lad)
    body = _text(client(lad.trainee).get("/training/proposals/"))
    assert f"proposal-{lad.trainee.username}-{lad.supervised.code}" in body
    assert 'value="grant"' not in body
