"""Counters exactly as ../shared/spec/forecast.md defines them, through the database."""

from __future__ import annotations

import datetime as dt

import pytest

from kanat.fleet import selectors, services
from tests import factories as f
from tests.factories import utc

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_aircraft():
    pn = f.part_number(pn="ENG-1")
    v = f.variant(positions={"ENG": [pn]})
    op = f.operator()
    a1 = f.aircraft(operator_=op, variant_=v, serial="A1", opening_fh=100.5, opening_fc=40)
    a2 = f.aircraft(operator_=op, variant_=v, serial="A2")
    return pn, a1, a2


def test_aircraft_counters_count_landed_flights_only(two_aircraft):
    _, a1, _ = two_aircraft
    f.flight(a1, utc(2025, 3, 2, 6), 12.5)  # lands 18:30
    f.flight(a1, utc(2025, 3, 3, 6), 2.0, cycles=3)
    c = selectors.aircraft_counters([a1], utc(2025, 3, 2, 18, 30))[a1.pk]
    assert c.fh == pytest.approx(113.0) and c.fc == 41  # landing exactly at t counts
    airborne = selectors.aircraft_counters([a1], utc(2025, 3, 3, 7))[a1.pk]
    assert airborne.fh == pytest.approx(113.0) and airborne.fc == 41  # in the air: nothing yet
    later = selectors.aircraft_counters([a1], utc(2025, 4, 1))[a1.pk]
    assert later.fh == pytest.approx(115.0) and later.fc == 44


def test_part_counters_follow_the_part_across_airframes(two_aircraft):
    pn, a1, a2 = two_aircraft
    p = f.part(pn=pn, opening_fh=10.0, opening_fc=2)
    f.install(p, a1, utc(2025, 1, 1))
    f.flight(a1, utc(2025, 1, 5, 8), 4)  # on a1: counts
    services.remove_part(actor=None, part=p, removed_at=utc(2025, 1, 10), reason="scheduled")
    f.flight(a1, utc(2025, 1, 12, 8), 7)  # after removal: not the part's
    f.install(p, a2, utc(2025, 1, 15))
    f.flight(a2, utc(2025, 1, 20, 8), 3, cycles=2)  # on a2: counts
    c = selectors.part_counters([p], utc(2025, 2, 1))[p.pk]
    assert c.fh == pytest.approx(10 + 4 + 3) and c.fc == 2 + 1 + 2


def test_flight_landing_exactly_at_removal_belongs_to_the_next_part(two_aircraft):
    pn, a1, _ = two_aircraft
    old, new = f.part(pn=pn, serial="OLD"), f.part(pn=pn, serial="NEW")
    f.install(old, a1, utc(2025, 1, 1))
    f.flight(a1, utc(2025, 1, 5, 8), 4)  # lands 12:00
    services.remove_part(actor=None, part=old, removed_at=utc(2025, 1, 5, 12), reason="scheduled")
    # installed_at <= landing < removed_at: the flight landed at the removal instant
    # does not count for OLD, and counts for NEW installed at that same instant
    f.install(new, a1, utc(2025, 1, 5, 12))
    got = selectors.part_counters([old, new], utc(2025, 2, 1))
    assert got[old.pk].fh == 0 and got[old.pk].fc == 0
    assert got[new.pk].fh == pytest.approx(4) and got[new.pk].fc == 1


def test_counters_at_an_instant_with_offset(two_aircraft):
    _, a1, _ = two_aircraft
    f.flight(a1, utc(2025, 3, 1, 0), 1)  # lands 01:00Z
    tz = dt.timezone(dt.timedelta(hours=5))
    at = dt.datetime(2025, 3, 1, 6, 0, tzinfo=tz)  # == 01:00Z
    assert selectors.aircraft_counters([a1], at)[a1.pk].fc == 41


def test_microsecond_exact_hours(two_aircraft):
    _, a1, _ = two_aircraft
    services.record_flight(
        actor=None, aircraft=a1, takeoff=utc(2025, 1, 1), landing=utc(2025, 1, 1, 0, 0, 1, 1)
    )
    c = selectors.aircraft_counters([a1], utc(2025, 2, 1))[a1.pk]
    assert c.fh == pytest.approx(100.5 + 1.000001 / 3600, abs=1e-12)
