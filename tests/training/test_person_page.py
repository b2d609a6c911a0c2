"""The person page: qualifications and authorisations now, the trainee's origin, stage grants
with their standing on each ladder, certificates with their expiry, the experience logbook
(paginated) and the person's competence; scoped like every page."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from kanat.people import views
from kanat.training import services as training
from kanat.work import services as work
from tests import factories as f
from tests.training.ladder import days_ago, ladder, open_card, supervised_trainee

pytestmark = pytest.mark.django_db


def page(user, person, query=""):
    c = Client()
    c.force_login(user)
    return c.get(f"/people/{person.pk}/{query}")


def section(body: str, name: str) -> str:
    return body.split(f'<section id="{name}">')[1].split("</section>")[0]


def test_a_trainees_page(monkeypatch):
    lad = ladder(steps=1)
    h, trainee = lad.h, lad.trainee
    supervised_trainee(lad)
    card = open_card(lad)
    steps = list(card.steps.order_by("seq"))
    for step in steps:
        entry = work.sign_step_supervised(
            actor=trainee, step=step, supervisor=h.tech, value=1.0 if step.seq == 2 else None
        )
        work.countersign_step(actor=h.tech, entry=entry)
    independent = training.grant_stage(actor=lad.manager, person=trainee, stage=lad.independent)
    alone = open_card(lad, "GVI").steps.get()
    work.sign_step(actor=trainee, step=alone)
    training.record_certificate(
        actor=lad.manager,
        person=trainee,
        course=lad.hf_recurrent,
        number="HFR-OLD",
        issued_on=days_ago(900).date(),
        expires_on=days_ago(200).date(),
    )

    r = page(lad.manager, trainee)
    assert r.status_code == 200
    body = r.content.decode()
    assert "Training: <strong>Locally trained</strong>" in body
    # qualifications and authorisations now: the type training and the stage's authorisation
    assert "Type training" in section(body, "qualifications")
    auths = section(body, "authorisations")
    assert independent.number in auths and "in force" in auths
    # the ladder: current stage Independent, next Certifying; both grants in force
    stages = section(body, "stages")
    assert re.search(r'class="current-stage">Independent</span>.*next: Certifying', stages)
    assert stages.count(">in force<") == 2 and "not granted" in stages
    # certificates: human factors expires within the warning window, the old recurrent expired
    certs = section(body, "certificates")
    assert re.search(r'class="badge due_soon">expires in \d+ days', certs)
    old = certs.split("HFR-OLD")[1].split("</tr>")[0]
    assert re.search(r'class="badge">expired \S+</span> superseded by HF-', old)
    # competence: the certifying stage's requirements, what was done
    competence = section(body, "matrix")
    assert "no B1 in force" in competence and "4 of 50 logged" in competence
    done = competence.split('id="done"')[1]
    assert re.search(r"<td>61</td><td>3</td><td>0</td><td>3</td>", done)
    assert re.search(r"<td>05</td><td>0</td><td>1</td><td>1</td>", done)
    # the logbook: newest first, the supervisor named or "alone"
    logbook = section(body, "logbook").split("<tbody>")[1]
    rows = logbook.split("</tr>")[:-1]
    assert len(rows) == 4
    assert "alone" in rows[0] and h.tech.username not in rows[0]
    assert all(f"({h.tech.username})" in row for row in rows[1:])
    assert all(h.aircraft.serial in row for row in rows)
    assert "<td>61</td>" in rows[1] and "<td>05</td>" in rows[0]

    # paginated: 50 a page (two here, to keep the test small)
    monkeypatch.setattr(views, "LOGBOOK_PAGE_SIZE", 2)
    second = page(lad.manager, trainee, "?page=2").content.decode()
    assert "3–4 of 4" in second and 'rel="prev"' in second
    assert len(section(second, "logbook").split("<tbody>")[1].split("</tr>")[:-1]) == 2


def test_lapsed_and_withdrawn_grants_show_why():
    lad = ladder()
    trainee = lad.trainee
    supervised_trainee(lad, hf_days=300 + 55)  # human factors expired 5 days ago
    grant = trainee.stage_grants.get()
    body = page(lad.manager, trainee).content.decode()
    stages = section(body, "stages")
    assert "lapsed" in stages and f"{lad.hf.code} expired on" in stages
    assert "recurrent training is needed" in stages
    assert 'class="current-stage">no stage in force' in stages
    expired = section(body, "certificates").split(f"HF-{trainee.pk}-")[1].split("</tr>")[0]
    assert 'class="badge overdue">expired ' in expired
    training.withdraw_stage(actor=lad.manager, grant=grant, reason="left the programme")
    stages = section(page(lad.manager, trainee).content.decode(), "stages")
    assert "withdrawn" in stages and "left the programme" in stages


def test_operator_users_see_only_their_own_people():
    op, other = f.operator(), f.operator()
    fm = f.user(operator=op)
    colleague = f.user(operator=op)
    stranger = f.user(operator=other)
    hub_tech = f.user(role="technician")
    assert page(fm, colleague).status_code == 200
    assert page(fm, stranger).status_code == 404
    assert page(fm, hub_tech).status_code == 404
    assert page(fm, colleague, "?page=9").status_code == 200  # past the end: the last page
    body = page(fm, colleague).content.decode()
    assert "Not registered as a trainee." in body and "No logged task-card steps." in body
    # hub staff see everyone; the people list links each holder to their page
    hub = f.user(role="planner")
    assert page(hub, stranger).status_code == 200
    f.qualification(hub_tech, [f.aircraft_type()])
    c = Client()
    c.force_login(hub)
    assert f'href="/people/{hub_tech.pk}/"' in c.get("/people/").content.decode()
    assert page(hub, hub_tech).status_code == 200
    c.force_login(fm)
    assert c.get("/people/999999/").status_code == 404


def test_person_page_queries_do_not_grow_with_the_logbook():
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    lad = ladder()
    h, trainee = lad.h, lad.trainee
    supervised_trainee(lad)
    steps = list(open_card(lad).steps.order_by("seq"))

    def perform(step):
        value = 1.0 if step.kind == "measure" else None
        entry = work.sign_step_supervised(actor=trainee, step=step, supervisor=h.tech, value=value)
        work.countersign_step(actor=h.tech, entry=entry)

    def queries():
        with CaptureQueriesContext(connection) as ctx:
            assert page(lad.manager, trainee).status_code == 200
        return len(ctx.captured_queries)

    perform(steps[0])
    small = queries()
    for step in steps[1:]:
        perform(step)
    assert queries() == small
