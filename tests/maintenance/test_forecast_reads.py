"""The forecast's bulk reads from the database: stated counters matched to their own
records, corrected records left out, instants exact (both backends)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kanat.bundles.importer import import_bundle
from kanat.engine.timebase import to_us
from kanat.fleet.models import Aircraft
from kanat.maintenance import forecasting, services
from kanat.maintenance.models import Compliance, Task
from tests import factories as f
from tests.maintenance.test_forecast_rules import bundle, flight, task

pytestmark = pytest.mark.django_db


def test_stated_counters_land_on_their_records_and_corrections_replace():
    doc = bundle(
        tasks=[task(interval={"FH": 100, "FC": 50}, schedule_from="last_due")],
        flights=[flight(f"2025-01-{d:02d}") for d in range(2, 9)],
    )
    import_bundle(json.dumps(doc).encode())
    ac = Aircraft.objects.get(serial="A1")
    t1 = Task.objects.get(code="T1")
    planner = f.user(role="planner")
    first = services.record_compliance(
        actor=planner, task=t1, aircraft=ac, done_at=f.utc(2025, 1, 3, 6), stated={"FC": 7}
    )
    services.record_compliance(
        actor=planner, task=t1, aircraft=ac, done_at=f.utc(2025, 1, 4, 7, 30, 0, 250)
    )
    last = services.record_compliance(
        actor=planner, task=t1, aircraft=ac, done_at=f.utc(2025, 1, 6), stated={"FH": 55.5}
    )
    fixed = services.record_compliance(
        actor=planner,
        task=t1,
        aircraft=ac,
        done_at=f.utc(2025, 1, 6),
        stated={"FH": 45.5},
        corrects=last,
        correction_reason="typo in the hours",
    )
    g = forecasting.gather(as_of=f.utc(2025, 2, 1), aircraft=None, parts_in_stores=True)
    # three records count, in time order; the corrected one is gone, its correction counts
    assert g.compliance_pk.tolist() == [first.pk, first.pk + 1, fixed.pk]
    assert g.compliance_done_at.tolist() == [
        to_us(f.utc(2025, 1, 3, 6)),
        to_us(f.utc(2025, 1, 4, 7, 30, 0, 250)),
        to_us(f.utc(2025, 1, 6)),
    ]
    assert g.compliance_stated_fc[0] == 7 and g.compliance_stated_fh[2] == 45.5
    assert [x != x for x in g.compliance_stated_fh.tolist()] == [True, True, False]
    bulk = forecasting.gather(
        as_of=f.utc(2025, 2, 1), aircraft=None, parts_in_stores=True, with_ids=False
    )
    assert bulk.compliance_pk.size == 0
    assert bulk.compliance_done_at.tolist() == g.compliance_done_at.tolist()
    assert Compliance.objects.count() == 4


def test_flight_instants_are_read_exactly():
    ac = f.aircraft()
    fl = f.flight(ac, f.utc(2025, 3, 1, 10, 0, 0, 1), 1.5)
    plain = f.flight(ac, f.utc(2025, 3, 2, 10), 2)
    g = forecasting.gather(as_of=f.utc(2025, 4, 1), aircraft=None, parts_in_stores=True)
    assert g.flights.takeoff.tolist() == [to_us(fl.takeoff), to_us(plain.takeoff)]
    assert g.flights.landing.tolist() == [to_us(fl.landing), to_us(plain.landing)]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.datetimes(min_value=dt.datetime(1900, 1, 1), max_value=dt.datetime(2200, 12, 31)).map(
            lambda d: d.replace(tzinfo=dt.UTC)
        ),
        min_size=1,
        max_size=40,
    ),
    st.booleans(),
)
def test_sqlite_instant_text_parses_exactly(instants, whole_seconds):
    from kanat.maintenance.loading import parse_sqlite_instants

    if whole_seconds:
        instants = [i.replace(microsecond=0) for i in instants]
    text = ",".join(str(i.replace(tzinfo=None)) for i in instants)  # as Django stores them
    assert parse_sqlite_instants(text, len(instants)).tolist() == [to_us(i) for i in instants]
    assert parse_sqlite_instants(text).tolist() == [to_us(i) for i in instants]


@pytest.mark.parametrize(
    "text", ["2024-02-29T23:59:5x", "yesterday", "2024-02-29 23:59:59.12345x", "2024-2-9 1:2:3"]
)
def test_sqlite_instant_text_that_is_not_an_instant_is_refused(text):
    from kanat.maintenance.loading import parse_sqlite_instants

    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        parse_sqlite_instants(text)
