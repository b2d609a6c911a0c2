"""The demo's people and maintenance execution: packages in every state, defects deferred
under every category, one expired and one open grounding their aircraft, intact chains; and
what a visitor tries works (the completed package releases, the open engine change runs)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import call_command
from django.utils import timezone

from kanat.core.errors import NoAuthority
from kanat.core.models import User
from kanat.fleet.models import Aircraft, AircraftType, Installation, Part
from kanat.maintenance import forecasting
from kanat.maintenance.models import Compliance
from kanat.people.services import signing_authority
from kanat.work import services as work
from kanat.work.models import (
    CardStatus,
    Defect,
    DefectSource,
    DefectStatus,
    PackageStatus,
    Release,
    SignOff,
    StepKind,
    WorkPackage,
)
from kanat.work.selectors import clock, grounding_defects

pytestmark = pytest.mark.django_db


def _user(name: str) -> User:
    return User.objects.get(username=name)


def _can(name: str, privilege: str, type_code: str, ata: str, at: dt.datetime) -> str:
    try:
        signing_authority(
            signer=_user(name),
            privilege=privilege,
            aircraft_type=AircraftType.objects.get(code=type_code),
            ata=ata,
            at=at,
        )
    except NoAuthority as exc:
        return str(exc)
    return "ok"


def _status(aircraft: Aircraft):
    qs = Aircraft.objects.filter(pk=aircraft.pk)
    (status,) = forecasting.forecast(as_of=timezone.now(), aircraft=qs).aircraft_status
    return status


def test_demo_work_in_every_state_with_defects_and_intact_chains(demo_log, capsys):
    now = timezone.now()
    packages = WorkPackage.objects.select_related("aircraft__operator")
    assert {p.status for p in packages} == set(PackageStatus.values)
    assert len({p.aircraft_id for p in packages}) >= 6
    assert {p.aircraft.operator.code for p in packages} == {"KZ-ADF", "RP-B", "RP-C"}
    released = packages.filter(status=PackageStatus.RELEASED)
    assert released.count() >= 3
    for p in released:
        crs = Release.objects.get(package=p)
        assert crs.signed_at < now
        assert crs.compliances.count() == p.cards.filter(task__isnull=False).count()
        assert crs.signer.username in {"hub", "inspector"}
    # signed by the demo people at past instants, critical cards inspected by someone else
    signers = set(SignOff.objects.values_list("signer__username", flat=True))
    assert {"technician", "inspector", "askar", "yerlan", "aliya"} <= signers
    for signoff in SignOff.objects.filter(kind="inspection").select_related("card"):
        performers = set(
            SignOff.objects.filter(card=signoff.card)
            .exclude(kind="inspection")
            .values_list("signer_id", flat=True)
        )
        assert signoff.card.critical and signoff.signer_id not in performers
    completed = packages.get(status=PackageStatus.COMPLETED)
    assert not completed.cards.exclude(status=CardStatus.DONE).exists()
    assert completed.cards.filter(critical=True).exists()

    # in work: some steps signed, one measured value out of limits raised an open defect
    in_work = packages.get(status=PackageStatus.IN_WORK)
    assert in_work.cards.filter(status=CardStatus.IN_WORK).exists()
    out = SignOff.objects.get(within_limits=False)
    assert out.card.package == in_work
    found = Defect.objects.get(step=out.step)
    assert found.status == DefectStatus.OPEN and found.source == DefectSource.MEASUREMENT

    # deferrals under every category, the clocks running; one ran out
    running = {}
    expired = []
    for d in Defect.objects.filter(status=DefectStatus.DEFERRED):
        c = clock(d, now)
        category = d.deferrals.get(superseded_by__isnull=True).category
        if c.expired:
            expired.append(d)
        else:
            running[category] = d
    assert set(running) == {"A", "B", "C", "D"}
    assert len(expired) == 1
    grounded = grounding_defects(None, now)
    assert any("deferral expired" in why for why in grounded[expired[0].aircraft_id])
    assert any("open, not deferred" in why for why in grounded[found.aircraft_id])
    for d in running.values():
        assert d.aircraft_id not in grounded
    # closed by rectification cards of released packages
    closed = Defect.objects.filter(status=DefectStatus.CLOSED)
    assert closed.count() >= 2
    for d in closed:
        assert d.closure.card.package.status == PackageStatus.RELEASED

    # the pages show both groundings (the forecast's airworthiness with defects)
    statuses = {s.pk: s for s in forecasting.forecast(as_of=now).aircraft_status}
    assert statuses[expired[0].aircraft_id].status == "grounded"
    assert statuses[found.aircraft_id].status == "grounded"
    assert Compliance.objects.filter(reference__contains="(CRS)").count() >= 8

    capsys.readouterr()
    call_command("records", "verify")
    assert capsys.readouterr().out.startswith("intact: 4 chains")


def test_demo_people_sign_what_they_may_and_a_visitor_can_finish_the_work(demo_log):
    now = timezone.now()
    types = list(AircraftType.objects.values_list("code", flat=True))
    assert {"ANKA", "WING-LOONG", "ORLAN-10"} <= set(types)
    for code in types:
        for ata in ("05", "32", "61", "72"):
            assert _can("technician", "task", code, ata, now) == "ok"
            for privilege in ("task", "inspection", "release"):
                assert _can("inspector", privilege, code, ata, now) == "ok"
                assert _can("hub", privilege, code, ata, now) == "ok"
    assert "holds no authorisation" in _can("technician", "inspection", "ANKA", "61", now)
    assert "holds no authorisation" in _can("planner", "task", "ANKA", "05", now)
    assert "expired: valid through" in _can("askar", "task", "ANKA", "05", now)
    assert "was withdrawn" in _can("yerlan", "inspection", "ANKA", "61", now)
    assert _can("yerlan", "inspection", "ANKA", "61", now - dt.timedelta(days=60)) == "ok"
    assert _can("aliya", "task", "ANKA", "46", now) == "ok"
    assert "covers ATA chapters" in _can("aliya", "task", "ANKA", "72", now)
    assert "not valid before" in _can("timur", "task", "ANKA", "05", now)

    inspector, technician = _user("inspector"), _user("technician")
    # the completed package: the inspector releases it
    completed = WorkPackage.objects.get(status=PackageStatus.COMPLETED)
    work.release_package(actor=inspector, package=completed)
    # the open engine change on the aircraft past its engine's hard time
    package = WorkPackage.objects.get(status=PackageStatus.OPEN)
    aircraft = package.aircraft
    before = _status(aircraft)
    assert before.status == "grounded"
    card = package.cards.get()
    assert card.critical and card.tools
    old = Installation.objects.get(aircraft=aircraft, position__code="ENG", removed_at__isnull=True)
    # the serviceable engine in the operator's stores
    spare = Part.objects.exclude(installations__removed_at__isnull=True).get(
        part_number__pn="KN-72100", operator=aircraft.operator
    )
    for step in card.steps.order_by("seq"):
        kw = {}
        if step.kind == StepKind.REMOVE:
            kw["removal_reason"] = "scheduled"
        elif step.kind == StepKind.INSTALL:
            kw["part"] = spare
        elif step.kind == StepKind.MEASURE:
            kw["value"] = 5000.0
        work.sign_step(actor=technician, step=step, **kw)
    work.sign_card(actor=technician, card=card)
    work.inspect_card(actor=inspector, card=card)
    work.release_package(actor=inspector, package=package)
    assert Installation.objects.get(pk=old.pk).removed_at is not None
    after = _status(aircraft)
    assert not any(r.startswith("72-00-01") for r in after.reasons)
