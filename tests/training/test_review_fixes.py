"""Review of issue 7's training records: a stage withdrawal is not dated in the future, before
its grant or before work signed under it; values too long or too large for their column are
refused naming the field (PostgreSQL would refuse them with a 500), and nothing changes."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client

from kanat.core.errors import RuleViolation
from kanat.people.services import signing_authority
from kanat.training import services as training
from kanat.training.models import Course, Session, StageWithdrawal
from kanat.work import services as work
from kanat.work.models import StepKind
from tests.training.ladder import days_ago, ladder, open_card, supervised_trainee

pytestmark = pytest.mark.django_db

API = "/api/training"


def _client(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


def _post(c: Client, url: str, data: dict):
    return c.post(url, data, content_type="application/json")


# --- stage withdrawal instants ---------------------------------------------------------------


def test_a_withdrawal_is_not_dated_before_its_grant_nor_in_the_future():
    lad = ladder()
    trainee = supervised_trainee(lad, at=days_ago(60))
    grant = trainee.stage_grants.get()
    with pytest.raises(RuleViolation, match="before .* was granted") as exc:
        training.withdraw_stage(actor=lad.manager, grant=grant, reason="x", at=days_ago(365))
    assert exc.value.field == "at"
    with pytest.raises(RuleViolation, match="not withdrawn in the future"):
        training.withdraw_stage(actor=lad.manager, grant=grant, reason="x", at=days_ago(-30))
    assert not StageWithdrawal.objects.exists()
    row = training.withdraw_stage(actor=lad.manager, grant=grant, reason="left the programme")
    assert row.withdrawn_at >= grant.granted_at


def test_a_withdrawal_is_not_backdated_before_supervised_work_signed_under_it():
    lad = ladder()
    trainee = supervised_trainee(lad, at=days_ago(60))
    grant = trainee.stage_grants.get()
    card = open_card(lad, at=days_ago(10))
    step = card.steps.order_by("seq").first()
    value = 1.2 if step.kind == StepKind.MEASURE else None
    work.sign_step_supervised(
        actor=trainee, step=step, supervisor=lad.h.tech, value=value, at=days_ago(5)
    )
    with pytest.raises(RuleViolation, match="signed work under .* after") as exc:
        training.withdraw_stage(actor=lad.manager, grant=grant, reason="x", at=days_ago(20))
    assert exc.value.field == "at"
    assert not StageWithdrawal.objects.exists()
    training.withdraw_stage(actor=lad.manager, grant=grant, reason="x", at=days_ago(4))
    assert StageWithdrawal.objects.filter(grant=grant).exists()


def test_a_withdrawal_is_not_backdated_before_a_sign_off_under_its_authorisation():
    lad = ladder(steps=1)
    trainee = supervised_trainee(lad, at=days_ago(60))
    card = open_card(lad, at=days_ago(40))
    step = card.steps.order_by("seq").first()
    value = 1.2 if step.kind == StepKind.MEASURE else None
    entry = work.sign_step_supervised(
        actor=trainee, step=step, supervisor=lad.h.tech, value=value, at=days_ago(40)
    )
    work.countersign_step(actor=lad.h.tech, entry=entry, at=days_ago(40))
    from tests.training.ladder import pass_course

    pass_course(lad, lad.type_course, trainee, start=days_ago(35))  # the practical assessment
    independent = training.grant_stage(
        actor=lad.manager, person=trainee, stage=lad.independent, at=days_ago(20)
    )
    assert independent.authorisation is not None
    card2 = open_card(lad, "GVI", at=days_ago(15))
    step2 = card2.steps.order_by("seq").first()
    signoff = work.sign_step(
        actor=trainee,
        step=step2,
        at=days_ago(10),
        value=1.2 if step2.kind == StepKind.MEASURE else None,
    )
    assert signoff.authorisation_id == independent.authorisation_id
    with pytest.raises(RuleViolation, match="signed work under"):
        training.withdraw_stage(actor=lad.manager, grant=independent, reason="x", at=days_ago(15))
    # the signature stands as made in force
    atype = lad.h.aircraft.variant.aircraft_type
    assert signing_authority(
        signer=trainee, privilege="task", aircraft_type=atype, ata=card2.ata, at=days_ago(10)
    )
    assert not StageWithdrawal.objects.exists()


# --- sizes that the columns hold -------------------------------------------------------------


def _course(**over):
    body = {
        "code": "RV-1",
        "title": "Review course",
        "kind": "safety",
        "provider": "local_school",
        "theory_hours": "4",
    }
    return body | over


@pytest.mark.parametrize(
    "over, field",
    [
        ({"code": "RV-" + "X" * 40}, "code"),
        ({"title": "T" * 201}, "title"),
        ({"validity_months": 100000}, "validity_months"),
    ],
)
def test_api_course_values_too_long_or_large_are_refused_naming_the_field(over, field):
    lad = ladder()
    before = Course.objects.count()
    r = _post(_client(lad.manager), f"{API}/courses/", _course(**over))
    assert r.status_code == 400, r.content
    assert r.json()["field"] == field
    assert Course.objects.count() == before


def test_page_course_hours_beyond_the_column_are_refused_on_the_form():
    lad = ladder()
    before = Course.objects.count()
    r = _client(lad.manager).post(
        "/training/courses/",
        {
            "code": "RV-2",
            "title": "Review",
            "kind": "safety",
            "provider": "local_school",
            "theory_hours": "9999999.9",
            "practical_hours": "0",
            "pass_mark": "75",
        },
    )
    assert r.status_code == 400
    assert "is more than 99999.9" in r.content.decode()
    assert Course.objects.count() == before


@pytest.mark.parametrize(
    "over, field",
    [
        ({"capacity": 100000}, "capacity"),
        ({"code": "S-" + "9" * 40}, "code"),
        ({"location": "L" * 201}, "location"),
    ],
)
def test_api_session_values_too_long_or_large_are_refused(over, field):
    lad = ladder()
    body = {
        "course": lad.hf.pk,
        "code": "S-RV-1",
        "starts_on": str(dt.date.today()),
        "ends_on": str(dt.date.today()),
        "location": "Hub",
        "instructor": "A. Instructor",
    } | over
    r = _post(_client(lad.manager), f"{API}/sessions/", body)
    assert r.status_code == 400, r.content
    assert r.json()["field"] == field
    assert not Session.objects.filter(course=lad.hf).exists()


def test_api_certificate_number_too_long_is_refused():
    lad = ladder()
    r = _post(
        _client(lad.manager),
        f"{API}/certificates/",
        {
            "person": lad.trainee.pk,
            "course": lad.hf.pk,
            "number": "N" * 41,
            "issued_on": str(dt.date.today() - dt.timedelta(days=3)),
        },
    )
    assert r.status_code == 400, r.content
    assert r.json()["field"] == "number"
    assert not lad.trainee.certificates.exists()


# --- the dashboard's period ------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    ["/training/dashboard/", "/training/dashboard.csv", "/api/training/dashboard/"],
)
@pytest.mark.parametrize("query", ["from=9999-01&to=9999-12", "to=9999-12", "from=9999-12"])
def test_dashboard_months_beyond_the_calendar_are_refused_not_a_500(url, query):
    lad = ladder()
    r = _client(lad.manager).get(f"{url}?{query}")
    assert r.status_code == 400
    assert "is after 9000" in r.content.decode()


# --- posted ids that are digits to Python but no number --------------------------------------


@pytest.mark.parametrize(
    "data, field",
    [
        ({"action": "grant", "person": "²", "stage": "1"}, "person"),
        ({"action": "grant", "person": "PERSON", "stage": "²"}, "stage"),
        ({"action": "withdraw", "grant": "²", "reason": "x"}, "grant"),
        ({"action": "grant", "person": "9" * 30, "stage": "1"}, "person"),
    ],
)
def test_proposals_page_refuses_an_id_that_is_no_number_naming_it(data, field):
    from kanat.training.models import StageGrant

    lad = ladder()
    if data.get("person") == "PERSON":
        data = data | {"person": str(lad.trainee.pk)}
    r = Client(raise_request_exception=False)
    r.force_login(lad.manager)
    resp = r.post("/training/proposals/", data)
    assert resp.status_code == 400
    assert "does not exist" in resp.content.decode() or "is not a trainee" in resp.content.decode()
    assert not StageGrant.objects.exists()


# --- check-then-insert races: a named conflict, not an IntegrityError ------------------------


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_two_registrations_of_one_person_at_once():
    from kanat.training.models import Trainee
    from tests.threads import race

    lad = ladder()
    person = lad.h.tech2
    outcomes = race(
        *[
            (
                lambda: training.register_trainee(
                    actor=lad.manager, person=person, origin="local", joined_on=dt.date(2026, 1, 5)
                )
            )
            for _ in range(3)
        ]
    )
    assert outcomes.count("won") == 1, outcomes
    assert all("already registered" in o for o in outcomes if o != "won")
    assert Trainee.objects.filter(person=person).count() == 1


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_two_courses_with_one_code_at_once():
    from tests.threads import race

    lad = ladder()

    def create():
        from kanat.core.errors import Conflict

        try:
            return training.create_course(
                actor=lad.manager,
                code="RACE-1",
                title="Race",
                kind="safety",
                provider="local_school",
                theory_hours=2,
            )
        except RuleViolation as exc:  # seen by the check (a Conflict when both checked first)
            raise Conflict(str(exc)) from exc

    outcomes = race(create, create, create)
    assert outcomes.count("won") == 1, outcomes
    assert all("already exists" in o for o in outcomes if o != "won")
    assert Course.objects.filter(code="RACE-1").count() == 1


def test_a_certificate_is_not_issued_in_the_future():
    from tests.training.ladder import pass_course

    lad = ladder()
    enrolment = pass_course(lad, lad.hf, lad.trainee, start=days_ago(30))
    cert = enrolment.certificate
    assert cert.issued_on <= dt.date.today()
    other = _another_trainee(lad)
    session = enrolment.session
    second = training.enrol(actor=lad.manager, session=session, person=other, at=days_ago(31))
    for d in range(5):
        training.record_attendance(
            actor=lad.manager,
            enrolment=second,
            day=(days_ago(30) + dt.timedelta(days=d)).date(),
            hours="2",
        )
    training.record_assessment(
        actor=lad.manager, enrolment=second, element="theory", score=90, at=days_ago(26)
    )
    with pytest.raises(RuleViolation, match="not issued in the future") as exc:
        training.issue_certificate(actor=lad.manager, enrolment=second, at=days_ago(-400))
    assert exc.value.field == "at"
    assert not other.certificates.exists()


def _another_trainee(lad):
    from kanat.core.roles import Role
    from tests import factories as f

    person = f.user(role=Role.TECHNICIAN)
    training.register_trainee(
        actor=lad.manager, person=person, origin="local", joined_on=dt.date(2026, 1, 5)
    )
    return person


# --- nobody assesses or certifies themselves -------------------------------------------------


def test_a_training_manager_does_not_assess_or_certify_themselves():
    from kanat.training.models import Assessment, Certificate
    from tests.training.ladder import pass_course

    lad = ladder()
    me = lad.manager
    other = _another_trainee(lad)
    enrolment = pass_course(lad, lad.hf, other, start=days_ago(30))  # the session exists
    mine = training.enrol(actor=me, session=enrolment.session, person=me, at=days_ago(31))
    with pytest.raises(RuleViolation, match="nobody assesses themselves"):
        training.record_assessment(
            actor=me, enrolment=mine, element="theory", score=100, at=days_ago(26)
        )
    with pytest.raises(RuleViolation, match="nobody certifies themselves"):
        training.issue_certificate(actor=me, enrolment=mine)
    with pytest.raises(RuleViolation, match="nobody records a certificate of themselves"):
        training.record_certificate(
            actor=me, person=me, course=lad.hf, number="SELF-1", issued_on=days_ago(3).date()
        )
    assert not Assessment.objects.filter(enrolment=mine).exists()
    assert not Certificate.objects.filter(person=me).exists()


# --- one stage held once -----------------------------------------------------------------------


def test_a_stage_is_not_granted_again_backdated_before_its_grant():
    from kanat.core.errors import Conflict
    from kanat.training.models import StageGrant

    lad = ladder()
    trainee = supervised_trainee(lad, at=days_ago(10))
    first = trainee.stage_grants.get()
    with pytest.raises(Conflict, match=f"already holds Supervised \\({first.number}\\)") as exc:
        training.grant_stage(
            actor=lad.manager, person=trainee, stage=lad.supervised, at=days_ago(20)
        )
    assert exc.value.field == "stage"
    assert StageGrant.objects.filter(person=trainee).count() == 1
