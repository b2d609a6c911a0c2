"""Issue 7's done-when: a trainee from enrolment through a passed course and supervised steps
to a proposed and granted authorisation, then signing alone; lapsed recurrent training blocks
a sign-off with the reason."""

from __future__ import annotations

import datetime as dt

import pytest

from kanat.core.errors import Conflict, NoAuthority, NotAllowed, RuleViolation
from kanat.records import chain
from kanat.training import matrix, selectors
from kanat.training import services as training
from kanat.training.models import Certificate, StageGrant
from kanat.work import services as work
from kanat.work.models import SignOff, StepKind
from tests.training.ladder import days_ago, ladder, pass_course

pytestmark = pytest.mark.django_db


def _open_package(lad, key, at):
    h = lad.h
    pkg = work.create_package(
        actor=h.planner,
        aircraft=h.aircraft,
        title=f"{key} visit",
        items=[work.DueRef(h.tasks[key])],
        at=at,
    )
    work.open_package(actor=h.planner, package=pkg, at=at)
    return pkg.cards.get()


def _value(step):
    return 1.2 if step.kind == StepKind.MEASURE else None


def test_trainee_from_enrolment_to_independent_signature():
    lad = ladder(steps=3)
    h, trainee = lad.h, lad.trainee
    # human factors at the local school long ago (expires in 20 days), type course recently
    training.record_certificate(
        actor=lad.manager,
        person=trainee,
        course=lad.hf,
        number="HF-OLD-1",
        issued_on=(days_ago(710)).date(),
        expires_on=(days_ago(-20)).date(),
    )
    nothing = matrix.proposals(lad.manager, days_ago(80))
    assert [p.evaluation.person for p in nothing] == []

    enrolment = pass_course(lad, lad.type_course, trainee, start=days_ago(75))
    cert = Certificate.objects.get(enrolment=enrolment)
    assert cert.qualification is not None  # type training is a qualification
    assert cert.qualification.category == "Type training"

    # proposed for the first rung, granted by the training manager
    proposed = matrix.proposals(lad.manager, days_ago(60))
    assert [(p.evaluation.person, p.evaluation.stage) for p in proposed] == [
        (trainee, lad.supervised)
    ]
    sup = training.grant_stage(
        actor=lad.manager, person=trainee, stage=lad.supervised, at=days_ago(60)
    )
    assert sup.authorisation is None
    assert chain.verify() == []

    # supervised steps: the trainee signs, the named supervisor countersigns
    card = _open_package(lad, "PROP", days_ago(50))
    steps = list(card.steps.all())
    with pytest.raises(NoAuthority, match="holds no authorisation"):
        work.sign_step(actor=trainee, step=steps[0], at=days_ago(50))
    for i, step in enumerate(steps):
        at = days_ago(50 - i)
        entry = work.sign_step_supervised(
            actor=trainee, step=step, supervisor=h.tech, at=at, value=_value(step)
        )
        with pytest.raises(Conflict, match="awaits"):
            work.sign_step(actor=h.tech2, step=step, at=at)
        with pytest.raises(RuleViolation, match="only they countersign"):
            work.countersign_step(actor=h.tech2, entry=entry, at=at)
        signed = work.countersign_step(actor=h.tech, entry=entry, at=at + dt.timedelta(hours=1))
        assert signed.signer == h.tech and signed.performed_by == trainee
        assert signed.authorisation.holder == h.tech
    log = list(selectors.logbook(lad.manager, trainee))
    assert len(log) == 3
    assert {(r.card.ata[:2], r.signer) for r in log} == {("61", h.tech)}
    assert all(
        r.card.package.aircraft.variant.aircraft_type == h.aircraft.variant.aircraft_type
        for r in log
    )
    # the trainee performed work on the card: not its independent inspector (nor the supervisor)
    work.sign_card(actor=h.tech, card=card, at=days_ago(46))
    with pytest.raises(RuleViolation, match="different person"):
        work.inspect_card(actor=h.tech, card=card, at=days_ago(46))

    # evidence met: proposed for independent, granted with an authorisation to sign tasks
    proposed = matrix.proposals(lad.manager, days_ago(40))
    assert [(p.evaluation.person, p.evaluation.stage) for p in proposed] == [
        (trainee, lad.independent)
    ]
    assert {c.kind for c in proposed[0].evaluation.checks} == {
        "stage",
        "course",
        "assessment",
        "experience",
    }
    ind = training.grant_stage(
        actor=lad.manager, person=trainee, stage=lad.independent, at=days_ago(40)
    )
    assert ind.authorisation is not None and ind.authorisation.privileges == ["task"]
    assert ind.authorisation.qualification == cert.qualification
    assert {e["requirement"] for e in ind.evidence} >= {"3 logged steps, ATA 61"}
    with pytest.raises(Conflict, match="already holds"):
        training.grant_stage(
            actor=lad.manager, person=trainee, stage=lad.independent, at=days_ago(39)
        )

    # and signs alone
    gvi = _open_package(lad, "GVI", days_ago(30))
    alone = work.sign_step(actor=trainee, step=gvi.steps.first(), at=days_ago(30))
    assert alone.signer == trainee and alone.performed_by is None
    assert alone.authorisation == ind.authorisation
    assert len(selectors.logbook(lad.manager, trainee)) == 4
    assert chain.verify() == []


def test_lapsed_recurrent_training_blocks_a_signoff_with_the_reason():
    lad = ladder(steps=1)
    h, trainee = lad.h, lad.trainee
    hf_expiry = days_ago(5).date()
    training.record_certificate(
        actor=lad.manager,
        person=trainee,
        course=lad.hf,
        number="HF-OLD-2",
        issued_on=days_ago(700).date(),
        expires_on=hf_expiry,
    )
    pass_course(lad, lad.type_course, trainee, start=days_ago(90))
    training.grant_stage(actor=lad.manager, person=trainee, stage=lad.supervised, at=days_ago(70))
    card = _open_package(lad, "PROP", days_ago(60))
    first = card.steps.first()
    entry = work.sign_step_supervised(actor=trainee, step=first, supervisor=h.tech, at=days_ago(60))
    work.countersign_step(actor=h.tech, entry=entry, at=days_ago(60))
    training.grant_stage(actor=lad.manager, person=trainee, stage=lad.independent, at=days_ago(50))
    second = card.steps.all()[1]
    # human factors expired five days ago: the stage lapsed, so did its authorisation
    with pytest.raises(NoAuthority, match=rf"lapsed: {lad.hf.code} expired on {hf_expiry}"):
        work.sign_step(actor=trainee, step=second, value=1.0)
    with pytest.raises(NoAuthority, match="recurrent training"):
        work.sign_step_supervised(actor=trainee, step=second, supervisor=h.tech, value=1.0)
    assert not SignOff.objects.filter(step=second).exists()
    # before it expired it signed
    assert work.sign_step(actor=trainee, step=second, value=1.0, at=days_ago(7)).signer == trainee
    # the recurrent course renews it: signing again
    pass_course(lad, lad.hf_recurrent, trainee, start=days_ago(4), days=1)
    third = card.steps.all()[2]
    assert work.sign_step(actor=trainee, step=third).signer == trainee
    grants = {g.stage: state for g, state, _ in selectors.standing_grants(trainee, days_ago(0))}
    assert grants[lad.independent] == selectors.IN_FORCE_STAGE


def test_grant_refused_names_missing_evidence_and_changes_nothing():
    lad = ladder(steps=5)
    with pytest.raises(RuleViolation, match="does not meet Supervised yet") as err:
        training.grant_stage(actor=lad.manager, person=lad.trainee, stage=lad.supervised)
    assert "no HF-" in str(err.value) and "no TT-" in str(err.value)
    with pytest.raises(NotAllowed):
        training.grant_stage(actor=lad.h.tech, person=lad.trainee, stage=lad.supervised)
    assert not StageGrant.objects.exists()


def test_supervisor_must_hold_authority_and_declined_step_does_not_count():
    lad = ladder(steps=1)
    h, trainee = lad.h, lad.trainee
    training.record_certificate(
        actor=lad.manager,
        person=trainee,
        course=lad.hf,
        number="HF-3",
        issued_on=days_ago(100).date(),
    )
    pass_course(lad, lad.type_course, trainee, start=days_ago(90))
    training.grant_stage(actor=lad.manager, person=trainee, stage=lad.supervised, at=days_ago(70))
    card = _open_package(lad, "PROP", days_ago(60))
    step = card.steps.first()
    with pytest.raises(NoAuthority, match=h.planner.get_username()):
        work.sign_step_supervised(actor=trainee, step=step, supervisor=h.planner, at=days_ago(60))
    with pytest.raises(RuleViolation, match="someone else"):
        work.sign_step_supervised(actor=trainee, step=step, supervisor=trainee, at=days_ago(60))
    entry = work.sign_step_supervised(actor=trainee, step=step, supervisor=h.tech, at=days_ago(60))
    work.decline_supervised_step(
        actor=h.tech, entry=entry, reason="wrong torque sequence", at=days_ago(60)
    )
    with pytest.raises(Conflict, match="declined"):
        work.countersign_step(actor=h.tech, entry=entry, at=days_ago(59))
    assert list(selectors.logbook(lad.manager, trainee)) == []
    # the step is open again: performed again and countersigned
    again = work.sign_step_supervised(actor=trainee, step=step, supervisor=h.tech, at=days_ago(59))
    work.countersign_step(actor=h.tech, entry=again, at=days_ago(59))
    assert len(selectors.logbook(lad.manager, trainee)) == 1
