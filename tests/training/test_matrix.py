"""The competence matrix: rows are people, columns the requirements of their role and of
their next stage, cells met or not with the detail, and what each has done, how often; the
team page; its queries do not grow with the team."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from kanat.core.roles import Role
from kanat.training import matrix as competence
from kanat.training import selectors
from kanat.training import services as training
from kanat.work import services as work
from tests import factories as f
from tests.training.ladder import days_ago, ladder, open_card, supervised_trainee

pytestmark = pytest.mark.django_db


def _value(step):
    return 1.2 if step.kind == "measure" else None


def _supervise(lad, card, trainee, supervisor, steps=None):
    """The trainee performs the card's steps (all, or the first ``steps``) under the
    supervisor, who countersigns each."""
    for step in list(card.steps.order_by("seq"))[:steps]:
        _step(step, trainee, supervisor)


def _step(step, trainee, supervisor):
    entry = work.sign_step_supervised(
        actor=trainee, step=step, supervisor=supervisor, value=_value(step)
    )
    work.countersign_step(actor=supervisor, entry=entry)


@pytest.fixture
def lad():
    lad = ladder(steps=3)
    supervised_trainee(lad)
    # every technician must hold human factors in force
    training.add_requirement(actor=lad.manager, role=Role.TECHNICIAN, kind="course", course=lad.hf)
    return lad


def test_rows_columns_and_cells_of_a_trainee(lad):
    h, trainee = lad.h, lad.trainee
    _supervise(lad, open_card(lad), trainee, h.tech, steps=2)  # two ATA 61 steps
    now = timezone.now()
    mx = competence.matrix(lad.manager, [trainee], now)
    independent = f"next stage Independent ({h.aircraft.variant.aircraft_type.code})"
    cells = {(col.label, col.applies_to): cell for col, cell in mx.person_cells(trainee)}
    hf = f"{lad.hf.code} in force"
    assert cells[(hf, "role Technician")].met and cells[(hf, independent)].met
    assert "until" in cells[(hf, "role Technician")].detail
    experience = cells[("3 logged steps, ATA 61", independent)]
    assert not experience.met and experience.detail == "2 of 3 logged (ATA 61)"
    practical = cells[(f"{lad.type_course.code} practical assessment passed", independent)]
    assert practical.met and practical.detail.startswith("practical passed 91%")
    # the certifying stage is not next: its requirements are not columns
    assert {label for label, _ in cells} == {
        hf,
        "3 logged steps, ATA 61",
        f"{lad.type_course.code} practical assessment passed",
    }
    row = mx.row_of(trainee)
    assert [(lad_.current.stage, lad_.next) for lad_ in row.ladders] == [
        (lad.supervised, lad.independent)
    ]
    # the same verdicts as the grant's evaluation
    ev = selectors.evaluate(trainee, lad.independent, now)
    for check in ev.checks:
        if check.kind != "stage":
            assert cells[(check.requirement, independent)].met == check.met, check
    # what the trainee has done
    assert [(d.chapter, d.supervised, d.alone) for d in row.done] == [("61", 2, 0)]


def test_team_of_a_role_counts_supervised_and_alone_work_by_type_and_chapter(lad):
    h, trainee = lad.h, lad.trainee
    card = open_card(lad)
    _supervise(lad, card, trainee, h.tech, steps=1)
    gvi = open_card(lad, "GVI")
    work.sign_step(actor=h.tech, step=gvi.steps.get())  # ATA 05, alone
    people = competence.team(lad.manager, role=Role.TECHNICIAN)
    assert {h.tech, h.tech2, trainee} <= set(people)
    assert all(p.role == Role.TECHNICIAN for p in people)
    mx = competence.matrix(lad.manager, people, timezone.now())
    code = h.aircraft.variant.aircraft_type.code
    tech = mx.row_of(h.tech)
    assert [(d.aircraft_type, d.chapter, d.supervised, d.alone) for d in tech.done] == [
        (code, "05", 0, 1)
    ]  # countersigning the trainee's step is the trainee's experience, not the supervisor's
    assert [(d.chapter, d.supervised, d.alone) for d in mx.row_of(trainee).done] == [("61", 1, 0)]
    assert mx.done_keys == [(code, "05"), (code, "61")]
    # tech2 is on no ladder: only the role's column, and it is not met (no certificate)
    tech2 = mx.row_of(h.tech2)
    assert tech2.ladders == []
    applied = [(c.label, cell) for c, cell in zip(mx.columns, tech2.ordered, strict=True) if cell]
    assert [(label, cell.met) for label, cell in applied] == [(f"{lad.hf.code} in force", False)]
    assert applied[0][1].detail == f"no {lad.hf.code} certificate"
    # a trainee: the next stage's columns apply, "—" for others
    assert len([c for c in mx.row_of(trainee).ordered if c is not None]) > 1


def test_expired_course_and_withdrawn_grant_in_the_matrix():
    lad = ladder()
    supervised_trainee(lad, hf_days=300 + 55)  # human factors expired 5 days ago
    mx = competence.matrix(lad.manager, [lad.trainee], timezone.now())
    row = mx.row_of(lad.trainee)
    # the supervised stage lapsed: nothing in force, the next stage is the first rung again
    assert row.ladders[0].current is None and row.ladders[0].next == lad.supervised
    # and says what lapsed, on the page too
    [(grant, state, why)] = row.ladders[0].fallen
    assert grant.stage == lad.supervised and state == "lapsed" and "expired on" in why
    c = Client()
    c.force_login(lad.manager)
    page = c.get("/training/matrix/").content.decode()
    assert f"{lad.supervised.name} lapsed" in page
    hf = dict((c.label, cell) for c, cell in mx.person_cells(lad.trainee))[
        f"{lad.hf.code} in force"
    ]
    assert not hf.met and "expired on" in hf.detail


def test_team_matrix_queries_do_not_grow_per_person(lad):
    h = lad.h

    def count(people):
        with CaptureQueriesContext(connection) as ctx:
            mx = competence.matrix(lad.manager, people, timezone.now())
            # touch everything a page renders
            for row in mx.rows:
                [c.detail for c in row.ordered if c]
                [d.total for d in row.done]
                [(lad_.current, lad_.next) for lad_ in row.ladders]
        return len(ctx.captured_queries)

    steps = list(open_card(lad).steps.order_by("seq"))
    _step(steps[0], lad.trainee, h.tech)
    small = count([lad.trainee])
    others = []
    for step in steps[1:]:  # two more trainees, each with a certificate and a logged step
        person = f.user(role=Role.TECHNICIAN)
        training.register_trainee(
            actor=lad.manager, person=person, origin="local", joined_on=days_ago(400).date()
        )
        supervised_trainee(lad, person)
        _step(step, person, h.tech)
        others.append(person)
    assert count([lad.trainee, *others]) == small


def test_matrix_page_is_for_hub_staff_and_its_queries_do_not_grow(lad):
    h = lad.h
    c = Client()
    c.force_login(lad.manager)
    body = c.get("/training/matrix/").content.decode()
    assert f'href="/people/{lad.trainee.pk}/"' in body
    assert "All trainees" in body and "Supervised" in body and "→ Independent" in body
    body = c.get("/training/matrix/?role=technician").content.decode()
    assert h.tech.username in body and h.inspector.username not in body
    assert f"{lad.hf.code} in force" in body
    r = c.get("/training/matrix/?role=pilot")
    assert r.status_code == 400 and "no role &#x27;pilot&#x27;" in r.content.decode()

    def queries():
        with CaptureQueriesContext(connection) as ctx:
            assert c.get("/training/matrix/?role=technician").status_code == 200
        return len(ctx.captured_queries)

    work.sign_step(actor=h.tech, step=open_card(lad, "GVI").steps.get())
    small = queries()
    for step in open_card(lad).steps.order_by("seq"):
        person = f.user(role=Role.TECHNICIAN)
        supervised_trainee(lad, person)
        _step(step, person, h.tech)
    assert queries() == small

    operator_user = Client()
    operator_user.force_login(f.user(operator=h.operator))
    assert operator_user.get("/training/matrix/").status_code == 403
