"""Supervised work through the task card page and the API: a trainee performs a step naming
the supervisor, only that supervisor countersigns or declines it, and the countersigned
step appears in the trainee's logbook on their person page."""

from __future__ import annotations

import base64

import pytest
from django.test import Client

from kanat.core.models import AuditEvent
from kanat.training import services as training
from kanat.work.models import SignOff, SupervisedStep, SupervisionDecline
from tests import factories as f
from tests.training.ladder import ladder, open_card, supervised_trainee

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


def api_for(user) -> Client:
    user.set_password("pw-api-123456")
    user.save()
    token = base64.b64encode(f"{user.username}:pw-api-123456".encode()).decode()
    return Client(HTTP_AUTHORIZATION=f"Basic {token}")


@pytest.fixture
def setup():
    lad = ladder()
    supervised_trainee(lad)
    card = open_card(lad)
    return lad, card


def _url(card) -> str:
    return f"/work/cards/{card.pk}/"


def _perform(client, card, step, supervisor, **extra):
    data = {"action": "sign_supervised", "step": step.pk, "supervisor": supervisor.pk}
    data.update(extra)
    return client.post(_url(card), data)


def test_trainee_performs_and_supervisor_countersigns_through_the_page(setup):
    lad, card = setup
    h, trainee = lad.h, lad.trainee
    first = card.steps.get(seq=1)
    page = client_for(trainee).get(_url(card)).content.decode()
    assert "Perform under supervision" in page
    assert 'id="supervised-notice"' in page and "may perform this card" in page
    assert f'<option value="{h.tech.pk}">' in page  # the supervisor drop-down
    assert f'<option value="{h.planner.pk}">' not in page  # a planner does not supervise

    r = _perform(client_for(trainee), card, first, h.tech)
    assert r.status_code == 302 and r["Location"].endswith("#step-1")
    entry = SupervisedStep.objects.get(step=first)
    assert entry.trainee == trainee and entry.supervisor == h.tech
    assert not SignOff.objects.filter(step=first).exists()

    # awaiting: the named supervisor sees countersign and decline, nobody else a form on it
    awaiting = f"Performed by <strong>{trainee.username}</strong>"
    body = client_for(h.tech).get(_url(card)).content.decode()
    assert awaiting in body and "awaiting countersignature" in body
    assert f'name="entry" value="{entry.pk}"' in body
    assert "Countersign step 1" in body and "Decline this work" in body
    other = client_for(h.tech2).get(_url(card)).content.decode()
    assert "awaiting countersignature" in other
    assert "Countersign step 1" not in other and "Sign step 1" not in other
    # the trainee's own page: no second form on the step
    mine = client_for(trainee).get(_url(card)).content.decode()
    assert "Sign step 1 as performed under supervision" not in mine
    assert "Sign step 2 as performed under supervision" in mine

    # the wrong supervisor is refused with the reason, and nothing changes
    before = AuditEvent.objects.count()
    r = client_for(h.tech2).post(_url(card), {"action": "countersign", "entry": entry.pk})
    assert r.status_code == 400
    assert f"named {h.tech.username} as supervisor: only they countersign" in r.content.decode()
    assert AuditEvent.objects.count() == before
    assert not SignOff.objects.filter(step=first).exists()

    r = client_for(h.tech).post(
        _url(card), {"action": "countersign", "entry": entry.pk, "remark": "watched it"}
    )
    assert r.status_code == 302
    signed = SignOff.objects.get(step=first)
    assert signed.signer == h.tech and signed.performed_by == trainee
    assert signed.supervised == entry and signed.remark == "watched it"
    body = client_for(h.tech2).get(_url(card)).content.decode()
    assert (
        f"Performed by <strong>{trainee.username}</strong> ({trainee.username}) under "
        "supervision; countersigned</span>"
    ) in body
    signature = body.split("under supervision; countersigned</span>")[1].split("</p>")[0]
    assert f'<span class="who">{h.tech.username}</span>' in signature  # named once, signing

    # the person page's logbook shows it, supervised by the technician
    person = client_for(lad.manager).get(f"/people/{trainee.pk}/").content.decode()
    logbook = person.split('id="logbook"')[1]
    assert card.task.code in logbook and f"({h.tech.username})" in logbook
    assert "alone" not in logbook.split("<tbody>")[1]


def test_a_measured_step_needs_its_value_and_a_supervisor(setup):
    lad, card = setup
    h, trainee = lad.h, lad.trainee
    measure = card.steps.get(seq=2)
    c = client_for(trainee)
    r = c.post(_url(card), {"action": "sign_supervised", "step": measure.pk, "value": "1.1"})
    assert r.status_code == 400 and "name the supervisor who watches the work" in r.content.decode()
    r = _perform(c, card, measure, h.tech)
    assert r.status_code == 400 and "enter the measured blade track" in r.content.decode()
    r = _perform(c, card, measure, trainee)  # not offered, and not themselves
    assert r.status_code == 400
    assert not SupervisedStep.objects.exists()
    assert _perform(c, card, measure, h.tech, value="1.1").status_code == 302
    assert SupervisedStep.objects.get().value == 1.1


def test_supervisor_declines_with_a_reason_and_the_step_opens_again(setup):
    lad, card = setup
    h, trainee = lad.h, lad.trainee
    first = card.steps.get(seq=1)
    _perform(client_for(trainee), card, first, h.tech)
    entry = SupervisedStep.objects.get()
    c = client_for(h.tech)
    r = c.post(_url(card), {"action": "decline", "entry": entry.pk, "reason": "  "})
    assert r.status_code == 400 and "say why the step is declined" in r.content.decode()
    assert not SupervisionDecline.objects.exists()
    r = c.post(_url(card), {"action": "decline", "entry": entry.pk, "reason": "spinner scratched"})
    assert r.status_code == 302
    assert SupervisionDecline.objects.get().reason == "spinner scratched"
    page = client_for(trainee).get(_url(card)).content.decode()
    assert "was declined by" in page and "spinner scratched" in page
    assert "Sign step 1 as performed under supervision" in page
    # declined work is not logged
    person = client_for(lad.manager).get(f"/people/{trainee.pk}/").content.decode()
    assert "No logged task-card steps." in person


def test_non_trainee_gets_no_supervised_form_and_lapsed_trainee_sees_why():
    lad = ladder()
    h = lad.h
    supervised_trainee(lad, hf_days=300 + 55)  # human factors ran out 5 days ago
    card = open_card(lad)
    page = client_for(h.tech).get(_url(card)).content.decode()
    assert "Perform under supervision" not in page and 'id="supervised-notice"' not in page
    assert "Sign step 1" in page  # the ordinary form is there
    lapsed = client_for(lad.trainee).get(_url(card)).content.decode()
    assert "Perform under supervision" not in lapsed
    assert "You cannot perform steps under supervision here" in lapsed
    assert "lapsed" in lapsed and "recurrent training is needed" in lapsed
    # posting anyway is refused with the reason, nothing written
    r = _perform(client_for(lad.trainee), card, card.steps.get(seq=1), h.tech)
    assert r.status_code == 400 and "recurrent training is needed" in r.content.decode()
    assert not SupervisedStep.objects.exists()
    # a technician with no stage: the service's reason
    r = _perform(client_for(h.tech2), card, card.steps.get(seq=1), h.tech)
    assert r.status_code == 400 and "holds no stage" in r.content.decode()


def test_api_sign_supervised_countersign_decline_and_read(setup):
    lad, card = setup
    h, trainee = lad.h, lad.trainee
    steps = list(card.steps.order_by("seq"))
    api = api_for(trainee)
    r = api.post(
        f"/api/task-steps/{steps[0].pk}/sign-supervised/",
        {"supervisor": h.tech.username, "remark": "first go"},
        content_type="application/json",
    )
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["trainee"] == trainee.username and body["supervisor"] == h.tech.username
    assert body["state"] == "awaiting" and body["countersignature"] is None
    entry_id = body["id"]
    # someone else signing the step alone: 409 naming the countersignature awaited
    r = api_for(h.tech2).post(
        f"/api/task-steps/{steps[0].pk}/sign/", {}, content_type="application/json"
    )
    assert r.status_code == 409 and "awaits" in r.json()["detail"]
    listed = api_for(h.tech).get("/api/supervised-steps/?awaiting=true").json()
    rows = listed["results"] if isinstance(listed, dict) else listed
    assert [row["id"] for row in rows] == [entry_id]
    # the wrong supervisor: 400 with the reason
    r = api_for(h.tech2).post(
        f"/api/supervised-steps/{entry_id}/countersign/", {}, content_type="application/json"
    )
    assert r.status_code == 400 and "only they countersign" in r.json()["detail"]
    r = api_for(h.tech).post(
        f"/api/supervised-steps/{entry_id}/countersign/",
        {"remark": "ok"},
        content_type="application/json",
    )
    assert r.status_code == 201, r.content
    signed = r.json()
    assert signed["signer"] == h.tech.username and signed["performed_by"] == trainee.username
    assert signed["supervised"] == entry_id
    assert api.get(f"/api/sign-offs/{signed['id']}/").json()["performed_by"] == trainee.username
    step = api.get(f"/api/task-steps/{steps[0].pk}/").json()
    assert step["signoffs"][0]["performed_by"] == trainee.username
    assert api.get(f"/api/supervised-steps/{entry_id}/").json()["state"] == "countersigned"

    # a measured step without its value: 400 naming the field; then declined
    r = api.post(
        f"/api/task-steps/{steps[1].pk}/sign-supervised/",
        {"supervisor": h.tech.username},
        content_type="application/json",
    )
    assert r.status_code == 400 and r.json()["field"] == "value"
    r = api.post(
        f"/api/task-steps/{steps[1].pk}/sign-supervised/",
        {"supervisor": h.tech.username, "value": 3.0},
        content_type="application/json",
    )
    assert r.status_code == 201
    second = r.json()["id"]
    r = api_for(h.tech).post(
        f"/api/supervised-steps/{second}/decline/",
        {"reason": "out of limits, remeasure"},
        content_type="application/json",
    )
    assert r.status_code == 201
    assert r.json()["state"] == "declined" and r.json()["declined_by"] == h.tech.username
    # a supervisor the caller may not name (no such user): 400
    r = api.post(
        f"/api/task-steps/{steps[1].pk}/sign-supervised/",
        {"supervisor": "nobody-here", "value": 1.0},
        content_type="application/json",
    )
    assert r.status_code == 400 and "supervisor" in r.json()


def test_api_supervised_steps_are_restricted_to_the_operator(setup):
    lad, card = setup
    supervised = card.steps.get(seq=1)
    from kanat.work import services as work

    entry = work.sign_step_supervised(actor=lad.trainee, step=supervised, supervisor=lad.h.tech)
    own = api_for(f.user(operator=lad.h.aircraft.operator))
    other = api_for(f.user(operator=f.operator()))
    assert own.get(f"/api/supervised-steps/{entry.pk}/").status_code == 200
    assert other.get(f"/api/supervised-steps/{entry.pk}/").status_code == 404
    listed = other.get("/api/supervised-steps/").json()
    rows = listed["results"] if isinstance(listed, dict) else listed
    assert rows == []
    # an operator's user cannot perform under supervision: a 403 for the role
    r = own.post(
        f"/api/task-steps/{card.steps.get(seq=3).pk}/sign-supervised/",
        {"supervisor": lad.h.tech.username},
        content_type="application/json",
    )
    assert r.status_code in (400, 403)
    assert SupervisedStep.objects.count() == 1
    # and the grant does not outlive its withdrawal on the page
    grant = lad.trainee.stage_grants.get()
    training.withdraw_stage(actor=lad.manager, grant=grant, reason="left the programme")
    page = client_for(lad.trainee).get(_url(card)).content.decode()
    assert "withdrawn" in page and "Perform under supervision" not in page
