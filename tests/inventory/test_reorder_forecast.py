"""Reorder suggestions with the maintenance forecast: the parts the task cards of items
due within the horizon need add to the demand (one per due item, for the aircraft of the
stock's owner; hub stock covers every operator), and each suggestion says why."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from kanat.fleet.models import PartTracking
from kanat.inventory import selectors
from kanat.inventory import services as inv
from kanat.maintenance import services as mx
from tests import factories as f
from tests.factories import utc

pytestmark = pytest.mark.django_db

NOW = utc(2026, 6, 30, 12)


def setup_fleet(*, qty=4, due_in=10):
    """A consumable held at the hub (3 on hand, minimum 2), a 30-day task whose card needs
    ``qty`` of it, an operator's aircraft delivered so the task falls due in ``due_in``."""
    pn = f.part_number(tracking=PartTracking.CONSUMABLE)
    loc = f.location()
    f.batch_stock(3, pn=pn, loc=loc, batch="", certificate_ref="", at=utc(2026, 1, 1))
    inv.set_min_stock(actor=None, part_number=pn, location=loc, minimum=2)
    variant = f.variant()
    rev, _ = mx.define_task(
        actor=None,
        code="LUB-01",
        title="Lubricate landing gear",
        ata="12-20",
        kind="repeat",
        variants=[variant],
        interval={"DY": 30},
        instructions={"parts": [{"pn": pn.pn, "qty": qty}]},
    )
    op = f.operator()
    delivered = NOW.date() - dt.timedelta(days=30 - due_in)
    ac = f.aircraft(operator_=op, variant_=variant, serial="KZ-001", delivered=delivered)
    return pn, loc, variant, op, ac


def test_a_task_due_soon_adds_its_card_parts_and_says_why():
    pn, loc, variant, op, ac = setup_fleet()
    hub = f.user(role="storekeeper")
    (s,) = selectors.reorder_suggestions(hub, at=NOW)
    assert (s.minimum, s.monthly_consumption, s.forecast_demand) == (D(2), D(0), D(4))
    assert (s.reorder_point, s.available, s.quantity) == (D(6), D(3), D(3))
    (need,) = s.forecast_needs
    assert (need.task_code, need.aircraft, need.quantity) == ("LUB-01", "KZ-001", D(4))
    assert need.due_date == NOW.date() + dt.timedelta(days=10)
    assert s.reasons == [
        "minimum 2",
        f"forecast 4: LUB-01 on KZ-001 due {need.due_date.isoformat()} ×4",
    ]
    # without the forecast the 3 on hand cover the minimum of 2
    assert selectors.reorder_suggestions(hub, at=NOW, horizon=None) == []
    # a horizon shorter than the time to the due date leaves it out
    assert selectors.reorder_suggestions(hub, at=NOW, horizon=5) == []


def test_one_per_due_item_and_hub_stock_covers_every_operator():
    pn, loc, variant, op, ac = setup_fleet(qty=2)
    f.aircraft(operator_=op, variant_=variant, serial="KZ-002", delivered=ac.delivered)
    other = f.operator()
    f.aircraft(operator_=other, variant_=variant, serial="UZ-001", delivered=ac.delivered)
    # an aircraft whose task falls due after the horizon does not count
    f.aircraft(
        operator_=other,
        variant_=variant,
        serial="UZ-002",
        delivered=NOW.date() + dt.timedelta(days=60),
    )
    hub = f.user(role="storekeeper")
    (s,) = selectors.reorder_suggestions(hub, at=NOW)
    assert s.forecast_demand == D(6)  # three aircraft due × 2
    assert sorted(n.aircraft for n in s.forecast_needs) == ["KZ-001", "KZ-002", "UZ-001"]
    assert s.quantity == D(2 + 6 - 3)


def test_an_operators_stock_covers_only_its_own_aircraft():
    pn, loc, variant, op, ac = setup_fleet(qty=5)
    other = f.operator()
    f.aircraft(operator_=other, variant_=variant, serial="UZ-001", delivered=ac.delivered)
    f.batch_stock(1, pn=pn, loc=loc, owner=op, batch="", certificate_ref="")
    inv.set_min_stock(actor=None, part_number=pn, location=loc, minimum=1, owner=op)
    hub = f.user(role="storekeeper")
    by_owner = {s.owner_id: s for s in selectors.reorder_suggestions(hub, at=NOW)}
    assert by_owner[None].forecast_demand == D(10)
    assert by_owner[op.pk].forecast_demand == D(5)
    assert [n.aircraft for n in by_owner[op.pk].forecast_needs] == ["KZ-001"]
    assert by_owner[op.pk].quantity == D(1 + 5 - 1)
    # the operator's own staff see their stock and their aircraft only
    viewer = f.user(operator=op)
    (mine,) = selectors.reorder_suggestions(viewer, at=NOW)
    assert (mine.owner_id, mine.forecast_demand) == (op.pk, D(5))


def test_a_part_no_due_card_needs_is_left_alone():
    pn, loc, variant, op, ac = setup_fleet()
    spare = f.part_number(tracking=PartTracking.CONSUMABLE)
    f.batch_stock(5, pn=spare, loc=loc, batch="", certificate_ref="")
    inv.set_min_stock(actor=None, part_number=spare, location=loc, minimum=1)
    hub = f.user(role="storekeeper")
    assert [s.part_number for s in selectors.reorder_suggestions(hub, at=NOW)] == [pn]


def test_the_query_count_does_not_grow_with_the_fleet():
    pn, loc, variant, op, ac = setup_fleet()
    hub = f.user(role="storekeeper")
    selectors.reorder_suggestions(hub, at=NOW)
    with CaptureQueriesContext(connection) as small:
        (s,) = selectors.reorder_suggestions(hub, at=NOW)
    assert len(s.forecast_needs) == 1
    for n in range(5):
        f.aircraft(operator_=op, variant_=variant, serial=f"KZ-1{n}", delivered=ac.delivered)
    other = f.part_number(tracking=PartTracking.CONSUMABLE)
    f.batch_stock(1, pn=other, loc=loc, batch="", certificate_ref="")
    inv.set_min_stock(actor=None, part_number=other, location=loc, minimum=4)
    with CaptureQueriesContext(connection) as large:
        out = selectors.reorder_suggestions(hub, at=NOW)
    assert len(out) == 2 and len(out[0].forecast_needs) + len(out[1].forecast_needs) == 6
    assert len(large.captured_queries) == len(small.captured_queries)
