"""Review of work under supervision (issue 7): a trainee names only a supervisor who can act
on the step (else it waits for good: nobody else may sign, countersign or decline it), and a
decline is not dated before the trainee's signature."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from kanat.core.errors import RuleViolation
from kanat.core.roles import Role
from kanat.work import services as work
from kanat.work.models import StepKind, SupervisedStep, SupervisionDecline
from tests import factories as f
from tests.training.ladder import days_ago, ladder, open_card, supervised_trainee

pytestmark = pytest.mark.django_db


def _value(step):
    return 1.2 if step.kind == StepKind.MEASURE else None


def _setup():
    lad = ladder()
    trainee = supervised_trainee(lad)
    card = open_card(lad, at=days_ago(2))
    return lad, trainee, card, card.steps.order_by("seq").first()


def _authorised(user, lad):
    atype = lad.h.aircraft.variant.aircraft_type
    f.authorisation(user, f.qualification(user, [atype]), ["task"])
    return user


def test_a_supervisor_whose_role_signs_no_work_is_refused():
    lad, trainee, card, step = _setup()
    planner = _authorised(f.user(role=Role.PLANNER), lad)  # holds a task authorisation
    with pytest.raises(RuleViolation, match="signs no work: they cannot countersign") as exc:
        work.sign_step_supervised(actor=trainee, step=step, supervisor=planner, value=_value(step))
    assert exc.value.field == "supervisor"
    assert not SupervisedStep.objects.exists()
    # the step stays open: a named supervisor who can act is accepted
    entry = work.sign_step_supervised(
        actor=trainee, step=step, supervisor=lad.h.tech, value=_value(step)
    )
    assert work.countersign_step(actor=lad.h.tech, entry=entry).performed_by == trainee


def test_api_refuses_a_supervisor_who_could_never_countersign():
    lad, trainee, card, step = _setup()
    planner = _authorised(f.user(role=Role.PLANNER), lad)
    api = APIClient()
    api.force_authenticate(trainee)
    r = api.post(
        f"/api/task-steps/{step.pk}/sign-supervised/",
        {"supervisor": planner.username, "value": _value(step)},
        format="json",
    )
    assert r.status_code == 400, r.content
    assert r.json()["field"] == "supervisor"
    assert not SupervisedStep.objects.exists()


def test_a_decline_is_not_dated_before_the_trainee_signed():
    lad, trainee, card, step = _setup()
    entry = work.sign_step_supervised(
        actor=trainee, step=step, supervisor=lad.h.tech, value=_value(step), at=days_ago(1)
    )
    with pytest.raises(RuleViolation, match="is before the trainee signed") as exc:
        work.decline_supervised_step(
            actor=lad.h.tech, entry=entry, reason="not watched", at=days_ago(1.5)
        )
    assert exc.value.field == "at"
    assert not SupervisionDecline.objects.exists()
    row = work.decline_supervised_step(actor=lad.h.tech, entry=entry, reason="not watched")
    assert row.declined_at >= entry.performed_at


# --- races (real threads) --------------------------------------------------------------------


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_countersign_and_decline_at_once_one_wins():
    from kanat.records import chain
    from kanat.work.models import SignOff
    from tests.threads import race

    lad, trainee, card, step = _setup()
    entry = work.sign_step_supervised(
        actor=trainee, step=step, supervisor=lad.h.tech, value=_value(step)
    )
    outcomes = race(
        lambda: work.countersign_step(actor=lad.h.tech, entry=entry),
        lambda: work.decline_supervised_step(actor=lad.h.tech, entry=entry, reason="no"),
    )
    assert outcomes.count("won") == 1, outcomes
    signed = SignOff.objects.filter(supervised=entry).count()
    declined = SupervisionDecline.objects.filter(entry=entry).count()
    assert signed + declined == 1
    assert chain.verify() == []


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_two_trainees_and_a_technician_on_one_step_at_once_one_wins():
    from kanat.records import chain
    from kanat.work.models import SignOff
    from tests.threads import race

    lad, trainee, card, step = _setup()
    second = f.user(role=Role.TECHNICIAN)
    from kanat.training import services as training

    training.register_trainee(
        actor=lad.manager, person=second, origin="local", joined_on=days_ago(400).date()
    )
    supervised_trainee(lad, second)
    v = _value(step)
    outcomes = race(
        lambda: work.sign_step_supervised(actor=trainee, step=step, supervisor=lad.h.tech, value=v),
        lambda: work.sign_step_supervised(actor=second, step=step, supervisor=lad.h.tech2, value=v),
        lambda: work.sign_step(actor=lad.h.inspector, step=step, value=v),
    )
    assert outcomes.count("won") == 1, outcomes
    assert (
        SupervisedStep.objects.filter(step=step).count() + SignOff.objects.filter(step=step).count()
        == 1
    )
    assert chain.verify() == []


def test_a_corrected_countersignature_drops_out_of_the_trainees_logbook():
    from kanat.records import chain
    from kanat.training import selectors

    lad = ladder()
    trainee = supervised_trainee(lad)
    card = open_card(lad, at=days_ago(2))
    measured = next(s for s in card.steps.order_by("seq") if s.kind == StepKind.MEASURE)
    entry = work.sign_step_supervised(
        actor=trainee, step=measured, supervisor=lad.h.tech, value=1.2, at=days_ago(1)
    )
    signed = work.countersign_step(actor=lad.h.tech, entry=entry, at=days_ago(1))
    assert [s.pk for s in selectors.logbook(lad.manager, trainee)] == [signed.pk]
    fixed = work.sign_step(
        actor=lad.h.tech, step=measured, value=1.3, corrects=signed, correction_reason="typo"
    )
    assert list(selectors.logbook(lad.manager, trainee)) == []
    assert fixed.performed_by is None and fixed.supervised is None
    assert chain.verify() == []


@pytest.mark.parametrize(
    "data",
    [
        {"action": "sign_supervised", "step": "²"},
        {"action": "countersign", "entry": "²"},
        {"action": "decline", "entry": "²", "reason": "no"},
        {"action": "countersign", "entry": "9" * 30},
    ],
)
def test_card_page_posted_ids_that_are_no_number_are_a_404_not_a_500(data):
    from django.test import Client

    lad, trainee, card, step = _setup()
    c = Client(raise_request_exception=False)
    c.force_login(trainee)
    r = c.post(f"/work/cards/{card.pk}/", data)
    assert r.status_code == 404
    assert not SupervisedStep.objects.exists()


def test_the_trainee_withdraws_an_awaiting_signature_when_the_supervisor_is_away():
    """A supervisor deactivated after the trainee signed could never act: the trainee
    withdraws their own signature (on the page too), and the step is open again."""
    from django.test import Client

    from kanat.core import services as core_services

    lad = ladder()
    trainee = supervised_trainee(lad)
    h = lad.h
    card = open_card(lad, "GVI")
    step = card.steps.get()
    entry = work.sign_step_supervised(actor=trainee, step=step, supervisor=h.tech)
    core_services.update_user(actor=None, user=h.tech, is_active=False)
    c = Client()
    c.force_login(trainee)
    page = c.get(f"/work/cards/{card.pk}/").content.decode()
    assert "Withdraw my signature" in page
    with pytest.raises(RuleViolation, match="only they countersign"):
        work.countersign_step(actor=h.tech2, entry=entry)
    r = c.post(
        f"/work/cards/{card.pk}/",
        {"action": "decline", "entry": entry.pk, "reason": "supervisor left the hub"},
    )
    assert r.status_code == 302
    decline = SupervisionDecline.objects.get(entry=entry)
    assert decline.declined_by == trainee
    from kanat.records import chain
    from kanat.records.models import ChainLink

    link = ChainLink.objects.get(subject_model="work.supervisiondecline", subject_id=decline.pk)
    assert link.chain == h.aircraft.operator.code and link.signer == trainee
    assert chain.verify() == []
    work.sign_step(actor=h.tech2, step=step)  # open again
