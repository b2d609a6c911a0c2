"""From due items to a released package: cards, steps, measured values, inspection, CRS."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from kanat.core.errors import Conflict, NoAuthority, RuleViolation
from kanat.fleet.models import Installation
from kanat.maintenance.models import Compliance
from kanat.records import chain
from kanat.work import services as work
from kanat.work.models import (
    CardStatus,
    Defect,
    DefectSource,
    DefectStatus,
    PackageStatus,
    SignOff,
    StepKind,
)
from tests.work.scenario import hangar, sign_all_steps

pytestmark = pytest.mark.django_db


def _package(h, *keys, part_task=False):
    items = [work.DueRef(h.tasks[k]) for k in keys]
    if part_task:
        items.append(work.DueRef(h.tasks["ENG-LL"], h.engine))
    return work.create_package(actor=h.planner, aircraft=h.aircraft, title="A-check", items=items)


def test_due_items_to_released_package_makes_compliance_records():
    h = hangar()
    pkg = _package(h, "GVI", "PROP", part_task=True)
    cards = {c.task_id: c for c in pkg.cards.all()}
    assert [c.seq for c in pkg.cards.all()] == [1, 2, 3]
    prop = cards[h.tasks["PROP"].pk]
    assert prop.critical and prop.tools == ["Torque wrench 5-25 Nm", "Tracking stick"]
    assert [s.kind for s in prop.steps.all()] == ["action", "measure", "action"]
    life = cards[h.tasks["ENG-LL"].pk]
    assert [s.kind for s in life.steps.all()] == ["remove", "install"]

    with pytest.raises(RuleViolation, match="draft"):
        work.sign_step(actor=h.tech, step=prop.steps.first())
    work.open_package(actor=h.planner, package=pkg)

    for card in (cards[h.tasks["GVI"].pk], prop):
        sign_all_steps(card, h.tech)
        work.sign_card(actor=h.tech, card=card)
    sign_all_steps(life, h.tech, part=h.spare)
    work.sign_card(actor=h.tech, card=life)
    prop.refresh_from_db()
    assert prop.status == CardStatus.SIGNED  # critical: awaits its inspection
    pkg.refresh_from_db()
    assert pkg.status == PackageStatus.IN_WORK

    with pytest.raises(RuleViolation, match="not completed"):
        work.release_package(actor=h.certifier, package=pkg)
    work.inspect_card(actor=h.inspector, card=prop)
    pkg.refresh_from_db()
    assert pkg.status == PackageStatus.COMPLETED

    release = work.release_package(actor=h.certifier, package=pkg)
    pkg.refresh_from_db()
    assert pkg.status == PackageStatus.RELEASED
    made = Compliance.objects.filter(reference__startswith=pkg.number)
    assert made.count() == 3
    assert set(release.compliances.all()) == set(made)
    assert made.get(task=h.tasks["ENG-LL"]).part == h.engine
    # the removal moved the configuration and kept its reason; the spare is fitted
    removed = Installation.objects.get(part=h.engine)
    assert removed.removal_reason == "scheduled" and removed.reference.startswith(pkg.number)
    assert Installation.objects.get(part=h.spare, removed_at__isnull=True).aircraft == h.aircraft
    assert chain.verify() == []


def test_out_of_limit_measurement_raises_a_defect_that_blocks_release_until_deferred():
    h = hangar()
    pkg = _package(h, "PROP")
    work.open_package(actor=h.planner, package=pkg)
    card = pkg.cards.get()
    sign_all_steps(card, h.tech, value=3.1)
    signed = SignOff.objects.get(step__kind=StepKind.MEASURE)
    assert signed.within_limits is False
    defect = Defect.objects.get(aircraft=h.aircraft)
    assert defect.source == DefectSource.MEASUREMENT and "3.1 mm" in defect.description
    assert defect.status == DefectStatus.OPEN
    work.sign_card(actor=h.tech, card=card)
    work.inspect_card(actor=h.inspector, card=card)
    with pytest.raises(RuleViolation, match=defect.number):
        work.release_package(actor=h.certifier, package=pkg)
    work.defer_defect(
        actor=h.certifier, defect=defect, category="C", mel_item="61-10-01", reason="within MEL"
    )
    work.release_package(actor=h.certifier, package=pkg)


def test_critical_task_needs_an_inspector_who_did_not_do_the_work():
    h = hangar()
    pkg = _package(h, "PROP")
    work.open_package(actor=h.planner, package=pkg)
    card = pkg.cards.get()
    sign_all_steps(card, h.inspector)
    work.sign_card(actor=h.tech, card=card)
    with pytest.raises(RuleViolation, match="different person"):
        work.inspect_card(actor=h.inspector, card=card)
    with pytest.raises(NoAuthority, match="inspection"):
        work.inspect_card(actor=h.tech2, card=card)  # no inspection privilege
    work.inspect_card(actor=h.certifier, card=card)


def test_expired_qualification_is_refused_with_the_reason():
    h = hangar(expires_on=dt.date(2025, 6, 30))
    pkg = _package(h, "GVI")
    work.open_package(actor=h.planner, package=pkg)
    step = pkg.cards.get().steps.get()
    with pytest.raises(NoAuthority, match="expired: valid through 2025-06-30"):
        work.sign_step(actor=h.tech, step=step)
    assert not SignOff.objects.exists()


def test_a_step_is_signed_once_and_a_correction_names_its_reason():
    h = hangar()
    pkg = _package(h, "PROP")
    work.open_package(actor=h.planner, package=pkg)
    measure = pkg.cards.get().steps.get(kind=StepKind.MEASURE)
    first = work.sign_step(actor=h.tech, step=measure, value=1.0)
    with pytest.raises(Conflict, match="already signed by"):
        work.sign_step(actor=h.tech2, step=measure, value=1.1)
    with pytest.raises(RuleViolation, match="reason"):
        work.sign_step(actor=h.tech, step=measure, value=1.2, corrects=first)
    fixed = work.sign_step(
        actor=h.tech, step=measure, value=1.2, corrects=first, correction_reason="misread scale"
    )
    assert fixed.corrects == first
    with pytest.raises(PermissionError):
        first.delete()
    assert chain.verify() == []


def test_deferral_deadlines_by_category():
    found = dt.datetime(2026, 3, 10, 17, 30, tzinfo=dt.UTC)
    assert work.mel_deadline("B", found, None) == dt.datetime(2026, 3, 14, tzinfo=dt.UTC)
    assert work.mel_deadline("C", found, None) == dt.datetime(2026, 3, 21, tzinfo=dt.UTC)
    assert work.mel_deadline("D", found, None) == dt.datetime(2026, 7, 9, tzinfo=dt.UTC)
    own = dt.datetime(2026, 3, 11, 6, tzinfo=dt.UTC)
    assert work.mel_deadline("A", found, own) == own
    with pytest.raises(RuleViolation, match="own limit"):
        work.mel_deadline("A", found, None)
    with pytest.raises(RuleViolation, match="category must be"):
        work.mel_deadline("E", found, None)


def test_open_and_expired_defects_ground_the_aircraft():
    from kanat.work.selectors import grounding_defects

    h = hangar()
    now = timezone.now()
    d = work.raise_defect(
        actor=h.tech,
        aircraft=h.aircraft,
        ata="32",
        description="Nose gear shimmy",
        source="crew",
        found_at=now - dt.timedelta(days=5),
    )
    assert grounding_defects([h.aircraft.pk], now) == {
        h.aircraft.pk: [f"defect {d.number} open, not deferred"]
    }
    work.defer_defect(actor=h.certifier, defect=d, category="C", mel_item="32-1", reason="ok")
    deferred = timezone.now()
    assert grounding_defects([h.aircraft.pk], deferred) == {}
    # as of an instant before the deferral was signed, it was not deferred yet
    assert grounding_defects([h.aircraft.pk], now) == {
        h.aircraft.pk: [f"defect {d.number} open, not deferred"]
    }
    later = now + dt.timedelta(days=6)
    assert "deferral expired" in grounding_defects([h.aircraft.pk], later)[h.aircraft.pk][0]
    with pytest.raises(RuleViolation, match="keeps the category"):
        work.defer_defect(actor=h.certifier, defect=d, category="D", mel_item="32-1", reason="x")


def test_whoever_signed_a_corrected_step_may_not_inspect_the_card():
    h = hangar()
    pkg = _package(h, "PROP")
    work.open_package(actor=h.planner, package=pkg)
    card = pkg.cards.get()
    for step in card.steps.all():
        kw = {"value": 1.0} if step.kind == StepKind.MEASURE else {}
        first = work.sign_step(actor=h.inspector, step=step, **kw)
        work.sign_step(actor=h.tech, step=step, corrects=first, correction_reason="typo", **kw)
    work.sign_card(actor=h.tech, card=card)
    with pytest.raises(RuleViolation, match="different person"):
        work.inspect_card(actor=h.inspector, card=card)
    work.inspect_card(actor=h.certifier, card=card)


def test_signatures_outside_the_authorised_chapters_are_refused_with_the_reason():
    from kanat.core.roles import Role
    from tests import factories as f

    h = hangar()
    limited = f.user(role=Role.INSPECTOR)
    q = f.qualification(limited, [h.aircraft.variant.aircraft_type])
    f.authorisation(limited, q, ["task", "release"], ata_chapters=["05"])
    pkg = _package(h, "GVI", "PROP")  # chapters 05 and 61
    work.open_package(actor=h.planner, package=pkg)
    gvi, prop = pkg.cards.order_by("seq")
    with pytest.raises(NoAuthority, match="covers ATA chapters 05, not 61"):
        work.sign_step(actor=limited, step=prop.steps.first())
    sign_all_steps(gvi, limited)
    work.sign_card(actor=limited, card=gvi)
    sign_all_steps(prop, h.tech)
    work.sign_card(actor=h.tech, card=prop)
    work.inspect_card(actor=h.inspector, card=prop)
    # the release covers every chapter of the package: 05 alone is not enough
    with pytest.raises(NoAuthority, match="not 61"):
        work.release_package(actor=limited, package=pkg)
    release = work.release_package(actor=h.certifier, package=pkg)
    assert release.qualification_ref.startswith(release.authorisation.number)


def test_the_aircraft_is_under_maintenance_from_the_first_signature_until_its_release():
    from kanat.maintenance import forecasting
    from kanat.work.selectors import grounding

    h = hangar()
    pkg = _package(h, "GVI", part_task=True)
    work.open_package(actor=h.planner, package=pkg)
    assert grounding([h.aircraft.pk], timezone.now()) == {}  # issued, not started
    life = pkg.cards.get(task=h.tasks["ENG-LL"])
    work.sign_step(actor=h.tech, step=life.steps.get(kind="remove"), removal_reason="scheduled")
    reasons = grounding([h.aircraft.pk], timezone.now())[h.aircraft.pk]
    assert reasons == [f"{pkg.number} in work: not released to service"]
    (status,) = forecasting.forecast(
        as_of=timezone.now(), aircraft=type(h.aircraft).objects.filter(pk=h.aircraft.pk)
    ).aircraft_status
    assert status.status == "grounded" and reasons[0] in status.reasons
    work.sign_step(actor=h.tech, step=life.steps.get(kind="install"), part=h.spare)
    work.sign_card(actor=h.tech, card=life)
    gvi = pkg.cards.get(task=h.tasks["GVI"])
    sign_all_steps(gvi, h.tech)
    work.sign_card(actor=h.tech, card=gvi)
    work.release_package(actor=h.certifier, package=pkg)
    assert grounding([h.aircraft.pk], timezone.now()) == {}


def test_a_misread_value_corrected_within_limits_closes_the_defect_it_raised():
    h = hangar()
    pkg = _package(h, "PROP")
    work.open_package(actor=h.planner, package=pkg)
    card = pkg.cards.get()
    measure = card.steps.get(kind=StepKind.MEASURE)
    first = work.sign_step(actor=h.tech, step=measure, value=25.0)
    defect = Defect.objects.get(step=measure)
    # corrected, still outside: the defect stands, no second one
    second = work.sign_step(
        actor=h.tech, step=measure, value=2.6, corrects=first, correction_reason="re-measured"
    )
    assert Defect.objects.filter(step=measure).count() == 1
    work.sign_step(
        actor=h.tech, step=measure, value=2.4, corrects=second, correction_reason="misread"
    )
    defect.refresh_from_db()
    assert defect.status == DefectStatus.CLOSED
    assert "Raised in error" in defect.closure.action and "misread" in defect.closure.action
    assert chain.verify() == []


def test_an_empty_package_is_refused():
    h = hangar()
    with pytest.raises(RuleViolation, match="at least one due item or defect"):
        work.create_package(actor=h.planner, aircraft=h.aircraft, title="nothing")


def test_the_fleet_due_list_shows_deferred_defects_within_the_horizon():
    from django.test import Client

    h = hangar()
    d = work.raise_defect(
        actor=h.tech, aircraft=h.aircraft, ata="33", description="Nav light out", source="crew"
    )
    work.defer_defect(actor=h.certifier, defect=d, category="C", mel_item="33-1", reason="day")
    c = Client()
    c.force_login(h.planner)
    page = c.get("/due/?horizon=30").content.decode()
    assert d.number in page and "Nav light out" in page and "left" in page
    assert d.number not in c.get("/due/?horizon=5").content.decode()
    # another operator (with no aircraft at all: that page once failed) sees none of it
    from tests import factories as f

    outsider = Client()
    outsider.force_login(f.user(operator=f.operator()))
    page = outsider.get("/due/?horizon=30")
    assert page.status_code == 200 and d.number not in page.content.decode()


def test_a_completed_package_takes_a_rectification_card_and_goes_back_to_work():
    h = hangar()
    pkg = _package(h, "PROP")
    work.open_package(actor=h.planner, package=pkg)
    card = pkg.cards.get()
    sign_all_steps(card, h.tech, value=3.1)  # out of limits: a defect
    work.sign_card(actor=h.tech, card=card)
    work.inspect_card(actor=h.inspector, card=card)
    pkg.refresh_from_db()
    assert pkg.status == PackageStatus.COMPLETED
    defect = Defect.objects.get(step__card=card)
    with pytest.raises(RuleViolation, match="add a card that rectifies them"):
        work.release_package(actor=h.certifier, package=pkg)
    (fix,) = work.add_cards(actor=h.planner, package=pkg, defects=[defect])
    pkg.refresh_from_db()
    assert pkg.status == PackageStatus.IN_WORK and pkg.completed_at is None
    sign_all_steps(fix, h.tech)
    work.sign_card(actor=h.tech, card=fix)
    work.release_package(actor=h.certifier, package=pkg)
    defect.refresh_from_db()
    assert defect.status == DefectStatus.CLOSED


def test_a_spare_in_stores_is_fitted_only_once_the_stores_have_issued_it():
    from kanat.inventory import services as inv
    from tests import factories as f

    h = hangar()
    item = f.serial_stock(pn=h.engine.part_number)
    spare = item.part
    pkg = _package(h, part_task=True)
    work.open_package(actor=h.planner, package=pkg)
    card = pkg.cards.get()
    work.sign_step(actor=h.tech, step=card.steps.get(kind="remove"), removal_reason="scheduled")
    install = card.steps.get(kind="install")
    with pytest.raises(RuleViolation, match="in stores .*issue it to the work"):
        work.sign_step(actor=h.tech, step=install, part=spare)
    inv.issue(actor=None, item=item, quantity=1, reference=pkg.number)
    work.sign_step(actor=h.tech, step=install, part=spare)
    assert Installation.objects.get(part=spare, removed_at__isnull=True).aircraft == h.aircraft
