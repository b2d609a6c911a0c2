"""What a walk through the demo in a browser tripped over on the training and people pages,
each fixed and pinned here (Django test client):

- an authorisation issued with a stage grant read "in force" on the people pages while the
  sign-off check refused it (the grant lapsed: recurrent training expired);
- the person page of a trainee at the supervised stage said only "No authorisation issued";
- the training pages did not load the stylesheet that styles their error alerts and forms;
- the competence matrix was missing from the training sub-navigation, and the dashboard and
  the matrix had none;
- people on the session, proposals and reminders pages did not lead to their person page;
- a reminder (and an expired certificate) did not say which recurrent course renews it;
- the dashboard's charts had no y-axis title, an operator with no trained staff got empty
  charts scaled in quarter hours, and the PDF printed hours as ``9.60000000000000`` and
  people on a scale of quarter persons.
"""

from __future__ import annotations

import re

import pytest
from django.test import Client

from kanat.records import pdf as pdf_module
from kanat.training import services as training
from kanat.work import services as work
from tests import factories as f
from tests.training.ladder import days_ago, ladder, open_card, pass_course, supervised_trainee
from tests.training.test_dashboard import transfer_world

pytestmark = pytest.mark.django_db


def client(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


def section(body: str, name: str) -> str:
    return body.split(f'<section id="{name}">')[1].split("</section>")[0]


def lapsed_independent():
    """The ladder's trainee, granted Independent (which issues an authorisation) while human
    factors was current; human factors expired five days ago, so the grant lapsed."""
    lad = ladder(steps=1)
    h, trainee = lad.h, lad.trainee
    training.record_certificate(
        actor=lad.manager,
        person=trainee,
        course=lad.hf,
        number=f"HF-WALK-{trainee.pk}",
        issued_on=days_ago(700).date(),
        expires_on=days_ago(5).date(),
    )
    pass_course(lad, lad.type_course, trainee, start=days_ago(90))
    training.grant_stage(actor=lad.manager, person=trainee, stage=lad.supervised, at=days_ago(70))
    card = open_card(lad, at=days_ago(60))
    entry = work.sign_step_supervised(
        actor=trainee, step=card.steps.first(), supervisor=h.tech, at=days_ago(60)
    )
    work.countersign_step(actor=h.tech, entry=entry, at=days_ago(60))
    grant = training.grant_stage(
        actor=lad.manager, person=trainee, stage=lad.independent, at=days_ago(50)
    )
    assert grant.authorisation is not None
    return lad, grant


# --- the people pages --------------------------------------------------------------------------


def test_an_authorisation_whose_stage_lapsed_is_not_shown_in_force():
    lad, grant = lapsed_independent()
    trainee, number = lad.trainee, grant.authorisation.number
    c = client(lad.manager)
    body = c.get(f"/people/{trainee.pk}/").content.decode()
    row = section(body, "authorisations").split(number, 1)[1].split("</tr>")[0]
    assert ">stage lapsed</span>" in row and ">in force<" not in row
    assert f"{lad.hf.code} expired on" in row and "recurrent training is needed" in row
    # the ladder's heading says why nothing is in force; the expired certificate what renews it
    stages = section(body, "stages")
    assert 'no stage in force</span> <span class="badge due_soon">lapsed' in stages
    expired = section(body, "certificates").split(f"HF-WALK-{trainee.pk}")[1].split("</tr>")[0]
    assert f"renew with {lad.hf_recurrent.code}" in expired
    # the people list, which says a sign-off is checked against it, agrees
    listing = c.get("/people/").content.decode()
    row = listing.split(f"<td>{number}</td>", 1)[1].split("</tr>")[0]
    assert "stage lapsed: " in row and "recurrent training is needed" in row
    # renewed by the recurrent course: in force again on both pages, nothing more to renew
    pass_course(lad, lad.hf_recurrent, trainee, start=days_ago(4), days=1)
    body = c.get(f"/people/{trainee.pk}/").content.decode()
    row = section(body, "authorisations").split(number, 1)[1].split("</tr>")[0]
    assert ">in force</span>" in row and "lapsed" not in row
    assert "renew with" not in section(body, "certificates")
    listing = c.get("/people/").content.decode()
    assert "stage lapsed" not in listing.split(f"<td>{number}</td>", 1)[1].split("</tr>")[0]


def test_people_list_queries_do_not_grow_with_lapsed_authorisations():
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    lad, _ = lapsed_independent()
    c = client(lad.manager)

    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert c.get("/people/").status_code == 200
        return len(ctx.captured_queries)

    small = queries()
    lapsed_independent()
    lapsed_independent()
    assert queries() == small


def test_a_supervised_trainee_is_told_what_they_work_under():
    lad = ladder()
    supervised_trainee(lad)
    body = client(lad.manager).get(f"/people/{lad.trainee.pk}/").content.decode()
    auths = section(body, "authorisations")
    assert "No authorisation issued." in auths and 'id="supervised-note"' in auths
    # someone on no ladder gets no such note
    other = f.user(role="technician")
    f.qualification(other, [lad.h.aircraft.variant.aircraft_type])
    body = client(lad.manager).get(f"/people/{other.pk}/").content.decode()
    assert 'id="supervised-note"' not in body


# --- the training pages ------------------------------------------------------------------------


def test_training_pages_load_the_styles_of_their_alerts_and_forms():
    lad = ladder()
    session = training.schedule_session(
        actor=lad.manager,
        course=lad.hf,
        code="S-WALK",
        starts_on=days_ago(3).date(),
        ends_on=days_ago(1).date(),
        location="Hub classroom 1",
        instructor="B. Teacher",
    )
    c = client(lad.manager)
    pages = {
        "/training/courses/": 1,
        f"/training/courses/{lad.hf.pk}/": 1,
        f"/training/sessions/{session.pk}/": 6,
        "/training/proposals/": 0,
        "/training/due/": 0,
    }
    for url, forms in pages.items():
        html = c.get(url).content.decode()
        assert "/static/work/work.css" in html, url  # .alert, .panel, form.stacked
        assert html.count('class="stacked"') == forms, url
    # a refused form: its alert is styled, the input is kept
    r = c.post(
        f"/training/sessions/{session.pk}/",
        {"action": "enrol", "person": "999999"},
    )
    assert r.status_code == 400 and 'class="alert"' in r.content.decode()
    html = c.get("/training/proposals/").content.decode()
    assert '<label class="check"><input type="checkbox" name="close"' in html


def test_every_training_page_leads_to_the_others():
    lad = ladder()
    c = client(lad.manager)
    for url in (
        "/training/courses/",
        "/training/proposals/",
        "/training/due/",
        "/training/matrix/",
        "/training/dashboard/",
    ):
        nav = c.get(url).content.decode().split('id="training-nav"')[1].split("</nav>")[0]
        for target in ("courses/", "proposals/", "due/", "matrix/", "dashboard/"):
            assert f'href="/training/{target}"' in nav, (url, target)
        assert nav.count('aria-current="page"') == 1, url
    # operator staff, who may open only the dashboard, are not shown links to 403 pages
    op_user = f.user(operator=lad.h.operator)
    html = client(op_user).get("/training/dashboard/").content.decode()
    assert 'id="training-nav"' not in html and "/training/courses/" not in html


def test_people_on_training_pages_link_to_their_person_page():
    lad = ladder()
    supervised_trainee(lad, hf_days=320)  # human factors runs out in 20 days
    trainee = lad.trainee
    session = training.schedule_session(
        actor=lad.manager,
        course=lad.hf_recurrent,
        code="S-WALK-R",
        starts_on=days_ago(-5).date(),
        ends_on=days_ago(-5).date(),
        location="Hub classroom 1",
        instructor="B. Teacher",
    )
    training.enrol(actor=lad.manager, session=session, person=trainee)
    c = client(lad.manager)
    link = f'href="/people/{trainee.pk}/"'
    assert link in section_of(c.get(f"/training/sessions/{session.pk}/"), 'id="enrolments"')
    assert link in section_of(c.get("/training/proposals/"), 'id="grant-list"')
    assert link in section_of(c.get("/training/due/"), 'id="due"')


def section_of(response, marker: str) -> str:
    return response.content.decode().split(marker)[1].split("</table>")[0]


def test_a_reminder_names_the_recurrent_course_that_renews_it():
    lad = ladder()
    supervised_trainee(lad, hf_days=320)
    other = f.user(role="technician")
    training.record_certificate(
        actor=lad.manager,
        person=other,
        course=lad.type_course,
        number="TT-OLD",
        issued_on=days_ago(400).date(),
        expires_on=days_ago(-10).date(),
    )
    html = client(lad.manager).get("/training/due/").content.decode()
    assert "<th>Renew with</th>" in html
    hf_row = html.split(f'id="due-{lad.trainee.username}-{lad.hf.code}"')[1].split("</tr>")[0]
    renew = hf_row.split('class="renew"')[1]
    assert f'href="/training/courses/{lad.hf_recurrent.pk}/">{lad.hf_recurrent.code}</a>' in renew
    # a course that nothing renews: a new session of itself
    tt_row = html.split(f'id="due-{other.username}-{lad.type_course.code}"')[1].split("</tr>")[0]
    assert f'a new <a href="/training/courses/{lad.type_course.pk}/">' in tt_row


# --- the dashboard -----------------------------------------------------------------------------


def test_dashboard_charts_name_their_y_axis():
    w = transfer_world()
    html = client(w.hub).get("/training/dashboard/").content.decode()
    titles = re.findall(r'<text class="axis-title"[^>]*>([^<]+)</text>', html)
    assert titles == ["share signed locally", "people", "hours"]


def test_an_operator_without_trained_staff_gets_a_sentence_not_empty_charts():
    w = transfer_world()
    html = client(w.a_user).get("/training/dashboard/").content.decode()
    assert 'id="stages-empty"' in html and "None of your organisation's staff" in html
    assert 'id="hours-empty"' in html
    assert "dashboard-bars" not in html  # no chart of zeros
    assert "dashboard-line" in html  # the shares of their aircraft's signatures stay
    hub = client(w.hub).get("/training/dashboard/").content.decode()
    assert 'id="stages-empty"' not in hub and 'id="hours-empty"' not in hub
    assert hub.count("dashboard-bars") == 2


def test_the_pdf_prints_hours_to_a_tenth_and_people_in_whole_numbers(monkeypatch):
    w = transfer_world()
    grids: list[tuple[list, list]] = []
    cells: list[str] = []
    grid, cell = pdf_module.Document.grid, pdf_module.Document.cell

    def record_grid(self, headings, rows, widths, *args, **kwargs):
        rows = [list(r) for r in rows]
        grids.append((list(headings), rows))
        return grid(self, headings, rows, widths, *args, **kwargs)

    def record_cell(self, *args, **kwargs):
        text = kwargs.get("text", args[2] if len(args) > 2 else "")
        cells.append(str(text))
        return cell(self, *args, **kwargs)

    monkeypatch.setattr(pdf_module.Document, "grid", record_grid)
    monkeypatch.setattr(pdf_module.Document, "cell", record_cell)
    r = client(w.hub).get("/training/dashboard.pdf")
    assert r.status_code == 200 and r.content.startswith(b"%PDF")
    hours = [rows for headings, rows in grids if headings[-1] == "Total" and "Licensor" in headings]
    assert len(hours) == 1
    figures = [cell for row in hours[0] for cell in row[1:]]
    assert figures and all(re.fullmatch(r"\d+\.\d", str(c)) for c in figures), figures
    assert any(c != "0.0" for c in figures)
    # one person at most at a stage: the people scale is 0 1 2 3 4, not quarters
    assert "0.25" not in cells and "0.5" not in cells
    assert {"1", "2", "3", "4"} <= set(cells)
