"""Two people signing the same step, card or release, or taking the same part, at the same
instant: exactly one wins, the other gets a clear conflict. Real threads, on PostgreSQL and
on a SQLite database file (make test's second pass)."""

from __future__ import annotations

import pytest

from kanat.fleet.models import Installation
from kanat.records import chain
from kanat.work import services as work
from kanat.work.models import Release, SignOff, StepKind
from tests import factories as f
from tests.factories import utc
from tests.threads import race
from tests.work.scenario import hangar

pytestmark = [pytest.mark.concurrency, pytest.mark.django_db(transaction=True)]


def _opened(h, *keys):
    pkg = work.create_package(
        actor=h.planner,
        aircraft=h.aircraft,
        title="race",
        items=[work.DueRef(h.tasks[k]) for k in keys],
    )
    return work.open_package(actor=h.planner, package=pkg)


def test_two_people_sign_the_same_step_at_once():
    h = hangar()
    step = _opened(h, "GVI").cards.get().steps.get()
    outcomes = race(
        lambda: work.sign_step(actor=h.tech, step=step),
        lambda: work.sign_step(actor=h.tech2, step=step),
        lambda: work.sign_step(actor=h.inspector, step=step),
    )
    assert outcomes.count("won") == 1, outcomes
    assert all("already signed by" in o for o in outcomes if o != "won")
    assert SignOff.objects.filter(step=step).count() == 1
    assert chain.verify() == []


def test_two_people_sign_the_same_card_at_once():
    h = hangar()
    card = _opened(h, "GVI").cards.get()
    work.sign_step(actor=h.tech, step=card.steps.get())
    outcomes = race(
        lambda: work.sign_card(actor=h.tech, card=card),
        lambda: work.sign_card(actor=h.tech2, card=card),
    )
    assert outcomes.count("won") == 1, outcomes
    assert "already signed by" in next(o for o in outcomes if o != "won")
    assert SignOff.objects.filter(card=card, kind="card").count() == 1


def test_two_releases_of_one_package_at_once():
    h = hangar()
    pkg = _opened(h, "GVI")
    card = pkg.cards.get()
    work.sign_step(actor=h.tech, step=card.steps.get())
    work.sign_card(actor=h.tech, card=card)
    outcomes = race(
        lambda: work.release_package(actor=h.certifier, package=pkg),
        lambda: work.release_package(actor=h.certifier, package=pkg),
    )
    assert outcomes.count("won") == 1, outcomes
    assert "already released" in next(o for o in outcomes if o != "won")
    assert Release.objects.filter(package=pkg).count() == 1
    assert chain.verify() == []


def test_two_cards_install_the_same_spare_at_once():
    h = hangar()
    other = f.aircraft(operator_=h.operator, variant_=h.aircraft.variant)
    other_engine = f.part(pn=h.engine.part_number)
    f.install(other_engine, other, utc(2025, 1, 1))
    installs = []
    for ac, engine in ((h.aircraft, h.engine), (other, other_engine)):
        pkg = work.create_package(
            actor=h.planner,
            aircraft=ac,
            title="engine change",
            items=[work.DueRef(h.tasks["ENG-LL"], engine)],
        )
        work.open_package(actor=h.planner, package=pkg)
        card = pkg.cards.get()
        work.sign_step(
            actor=h.tech, step=card.steps.get(kind=StepKind.REMOVE), removal_reason="scheduled"
        )
        installs.append(card.steps.get(kind=StepKind.INSTALL))
    outcomes = race(
        lambda: work.sign_step(actor=h.tech, step=installs[0], part=h.spare),
        lambda: work.sign_step(actor=h.tech2, step=installs[1], part=h.spare),
    )
    assert outcomes.count("won") == 1, outcomes
    assert "already installed" in next(o for o in outcomes if o != "won")
    assert Installation.objects.filter(part=h.spare).count() == 1
    assert SignOff.objects.filter(step__in=installs).count() == 1
