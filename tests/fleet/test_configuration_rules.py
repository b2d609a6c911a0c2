"""Installations: time-bounded rows, never overwritten, and the three configuration rules."""

from __future__ import annotations

import datetime as dt

import pytest

from kanat.core.errors import Conflict, RuleViolation
from kanat.core.models import AuditEvent
from kanat.fleet import selectors, services
from kanat.fleet.models import Installation
from tests import factories as f
from tests.factories import utc

pytestmark = pytest.mark.django_db


@pytest.fixture
def setup():
    pn = f.part_number(pn="ENG-1")
    other_pn = f.part_number(pn="PROP-1")
    v = f.variant(positions={"ENG": [pn], "PROP": [other_pn]})
    op = f.operator()
    return {
        "pn": pn,
        "other_pn": other_pn,
        "a1": f.aircraft(operator_=op, variant_=v, serial="A1"),
        "a2": f.aircraft(operator_=op, variant_=v, serial="A2"),
        "op": op,
    }


def test_part_cannot_be_in_two_places(setup):
    p = f.part(pn=setup["pn"], serial="E1")
    f.install(p, setup["a1"], utc(2025, 1, 1))
    with pytest.raises(Conflict, match=r"ENG-1/E1 is already installed on A1 position ENG"):
        f.install(p, setup["a2"], utc(2025, 2, 1))
    assert Installation.objects.count() == 1


def test_position_cannot_hold_two_parts(setup):
    f.install(f.part(pn=setup["pn"], serial="E1"), setup["a1"], utc(2025, 1, 1))
    with pytest.raises(Conflict, match=r"A1 position ENG already holds ENG-1/E1"):
        f.install(f.part(pn=setup["pn"], serial="E2"), setup["a1"], utc(2025, 3, 1))


def test_part_number_must_be_allowed_in_position(setup):
    prop = f.part(pn=setup["other_pn"], serial="P1")
    with pytest.raises(
        RuleViolation, match=r"PROP-1 is not allowed in .* position ENG \(allowed: ENG-1\)"
    ):
        f.install(prop, setup["a1"], utc(2025, 1, 1), code="ENG")


def test_position_of_another_variant_refused(setup):
    foreign = f.aircraft(operator_=setup["op"])  # another variant with its own ENG position
    p = f.part(pn=setup["pn"])
    with pytest.raises(RuleViolation, match="belongs to"):
        services.install_part(
            actor=None,
            part=p,
            aircraft=setup["a1"],
            position=f.position(foreign),
            installed_at=utc(2025, 1, 1),
        )


def test_backdated_installation_overlapping_history_refused(setup):
    p = f.part(pn=setup["pn"], serial="E1")
    f.install(p, setup["a1"], utc(2025, 1, 1))
    services.remove_part(actor=None, part=p, removed_at=utc(2025, 3, 1), reason="scheduled")
    # a historical row on A2 over February overlaps the A1 row
    with pytest.raises(Conflict):
        f.install(p, setup["a2"], utc(2025, 2, 1), removed_at=utc(2025, 2, 20))
    # after the removal it is free
    f.install(p, setup["a2"], utc(2025, 3, 1))


def test_installation_rows_are_kept_and_history_follows_part(setup):
    p = f.part(pn=setup["pn"], serial="E1")
    first = f.install(p, setup["a1"], utc(2025, 1, 1))
    services.remove_part(actor=None, part=p, removed_at=utc(2025, 2, 1), reason="unscheduled")
    f.install(p, setup["a2"], utc(2025, 2, 2))
    rows = list(Installation.objects.filter(part=p).order_by("installed_at"))
    assert [r.aircraft.serial for r in rows] == ["A1", "A2"]
    assert rows[0].pk == first.pk and rows[0].removed_at == utc(2025, 2, 1)
    assert rows[0].removal_reason == "unscheduled"
    # configuration at any past instant
    jan = selectors.configuration(setup["a1"], utc(2025, 1, 15))
    assert [s.installation.part.serial for s in jan if s.installation] == ["E1"]
    feb = selectors.configuration(setup["a1"], utc(2025, 2, 15))
    assert all(s.installation is None for s in feb)
    # the instant of removal belongs to the next state: [installed_at, removed_at)
    at_removal = selectors.configuration(setup["a1"], utc(2025, 2, 1))
    assert all(s.installation is None for s in at_removal)


def test_removal_must_follow_installation(setup):
    p = f.part(pn=setup["pn"])
    f.install(p, setup["a1"], utc(2025, 1, 1))
    with pytest.raises(RuleViolation, match="not after its installation"):
        services.remove_part(actor=None, part=p, removed_at=utc(2025, 1, 1), reason="scheduled")


def test_removing_a_part_in_stores_is_a_clear_error(setup):
    p = f.part(pn=setup["pn"], serial="E9")
    with pytest.raises(Conflict, match="ENG-1/E9 is not installed anywhere"):
        services.remove_part(actor=None, part=p, removed_at=utc(2025, 1, 1), reason="scheduled")


def test_naive_times_are_refused(setup):
    p = f.part(pn=setup["pn"])
    with pytest.raises(RuleViolation, match="no time zone"):
        f.install(p, setup["a1"], dt.datetime(2025, 1, 1))


def test_installation_before_manufacture_refused(setup):
    p = f.part(pn=setup["pn"], manufactured=dt.date(2025, 6, 1))
    with pytest.raises(RuleViolation, match="manufactured on 2025-06-01"):
        f.install(p, setup["a1"], utc(2025, 1, 1))


def test_part_of_another_operator_refused(setup):
    p = f.part(pn=setup["pn"], operator=f.operator())
    with pytest.raises(RuleViolation, match="belongs to another operator"):
        f.install(p, setup["a1"], utc(2025, 1, 1))


def test_pool_part_takes_aircraft_operator_on_install(setup):
    p = f.part(pn=setup["pn"])
    assert p.operator_id is None
    f.install(p, setup["a1"], utc(2025, 1, 1))
    p.refresh_from_db()
    assert p.operator_id == setup["op"].pk


def test_every_change_writes_an_audit_event_in_its_transaction(setup):
    p = f.part(pn=setup["pn"], serial="E1")
    before = AuditEvent.objects.count()
    inst = f.install(p, setup["a1"], utc(2025, 1, 1))
    services.remove_part(actor=None, part=p, removed_at=utc(2025, 2, 1), reason="scheduled")
    events = list(AuditEvent.objects.order_by("id"))[before:]
    assert [e.action for e in events] == [
        "fleet.assign_part_owner",
        "fleet.install_part",
        "fleet.remove_part",
    ]
    removal = events[-1]
    assert removal.object_id == str(inst.pk)
    assert removal.before["removed_at"] is None
    assert removal.after["removed_at"].startswith("2025-02-01T00:00:00")
    assert removal.operator_id == setup["op"].pk


def test_failed_change_writes_nothing(setup):
    p = f.part(pn=setup["pn"])
    f.install(p, setup["a1"], utc(2025, 1, 1))
    events = AuditEvent.objects.count()
    with pytest.raises(Conflict):
        f.install(p, setup["a2"], utc(2025, 1, 2))
    assert AuditEvent.objects.count() == events
    assert Installation.objects.count() == 1


def test_database_refuses_two_open_rows_for_one_part(setup):
    """Behind the services' back, the partial unique constraints still hold."""
    from django.db import IntegrityError, transaction

    p = f.part(pn=setup["pn"])
    inst = f.install(p, setup["a1"], utc(2025, 1, 1))
    with pytest.raises(IntegrityError), transaction.atomic():
        Installation.objects.create(
            part=p,
            aircraft=setup["a2"],
            position=f.position(setup["a2"]),
            installed_at=utc(2025, 2, 1),
        )
    assert inst.removed_at is None


def test_flights_overlapping_are_refused_touching_allowed(setup):
    ac = setup["a1"]
    f.flight(ac, utc(2025, 1, 1, 6), 10)
    with pytest.raises(Conflict, match="overlaps"):
        f.flight(ac, utc(2025, 1, 1, 15), 2)
    f.flight(ac, utc(2025, 1, 1, 16), 2)  # lands-then-takes-off at the same instant is fine
    with pytest.raises(RuleViolation, match="not after takeoff"):
        services.record_flight(
            actor=None, aircraft=ac, takeoff=utc(2025, 1, 3), landing=utc(2025, 1, 3)
        )


def test_ground_assets_do_not_fly(setup):
    gcs = f.aircraft(operator_=setup["op"], variant_=f.variant(kind="ground_station"))
    with pytest.raises(RuleViolation, match="ground asset"):
        f.flight(gcs, utc(2025, 1, 1), 1)


def test_batch_flight_import_is_all_or_nothing(setup):
    ac = setup["a1"]
    good = services.FlightInput(utc(2025, 1, 1, 6), utc(2025, 1, 1, 8))
    bad = services.FlightInput(utc(2025, 1, 1, 7), utc(2025, 1, 1, 9))
    with pytest.raises(RuleViolation, match="overlap"):
        services.record_flights(actor=None, aircraft=ac, flights=[good, bad])
    assert not ac.flights.exists()
