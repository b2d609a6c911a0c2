"""Parts coming into the stores other than against a purchase order: a serial taken off an
aircraft (``return_to_stores``, the start of the rotable loop) and a serialised output of a
completed build order (``receive_from_production``); reorder suggestions leave expired
stock out."""

from __future__ import annotations

from decimal import Decimal

import pytest

from kanat.core.errors import Conflict, NotAllowed, RuleViolation
from kanat.core.models import AuditEvent
from kanat.fleet import services as fleet
from kanat.fleet.models import PartTracking
from kanat.inventory import selectors
from kanat.inventory import services as inv
from kanat.inventory.models import MovementKind, StockItem, StockStatus
from kanat.production import build
from kanat.production import services as prod
from tests import factories as f
from tests.factories import utc

pytestmark = pytest.mark.django_db

D = Decimal


def _balanced() -> None:
    for item in StockItem.objects.all():
        assert selectors.ledger_balance(item) == item.quantity, item


# --- reorder suggestions and shelf life ------------------------------------------------


def test_expired_stock_is_not_available_for_reorder():
    hub = f.user(role="storekeeper")
    loc = f.location()
    pn = f.part_number(tracking=PartTracking.BATCH)
    inv.set_min_stock(actor=None, part_number=pn, location=loc, minimum=5)
    at = utc(2026, 6, 30)
    old = f.batch_stock(8, pn=pn, loc=loc, at=utc(2026, 1, 1), expires_on=utc(2026, 6, 29).date())
    assert old.quantity == 8
    (s,) = selectors.reorder_suggestions(hub, at=at)
    assert (s.on_hand, s.available, s.quantity) == (D(0), D(0), D(5))
    # the day before it expired it still counted; on its last day it still counts
    assert selectors.reorder_suggestions(hub, at=utc(2026, 6, 29, 23)) == []
    fresh = f.batch_stock(3, pn=pn, loc=loc, at=utc(2026, 6, 1), expires_on=utc(2027, 1, 1).date())
    (s,) = selectors.reorder_suggestions(hub, at=at)
    assert (s.on_hand, s.quantity) == (D(3), D(2))
    no_life = f.batch_stock(2, pn=pn, loc=loc, at=utc(2026, 6, 1))
    assert fresh.expires_on and no_life.expires_on is None
    assert selectors.reorder_suggestions(hub, at=at) == []


# --- a part taken off an aircraft --------------------------------------------------------


def _removed(owner=None):
    """A serial installed on an aircraft and taken off it."""
    pn = f.part_number(tracking=PartTracking.SERIAL)
    ac = f.aircraft(variant_=f.variant(positions={"ENG": [pn]}))
    part = f.part(pn=pn, operator=owner or ac.operator)
    f.install(part, ac, utc(2026, 1, 1))
    fleet.remove_part(actor=None, part=part, removed_at=utc(2026, 3, 1), reason="unscheduled")
    return part, ac


def test_a_part_taken_off_an_aircraft_returns_unserviceable_and_goes_for_repair():
    part, ac = _removed()
    loc = f.location()
    keeper = f.user(role="storekeeper")
    item = inv.return_to_stores(
        actor=keeper,
        part=part,
        location=loc,
        status=StockStatus.UNSERVICEABLE,
        reference="WP-26-0007",
        at=utc(2026, 3, 2),
    )
    assert (item.part, item.quantity, item.status, item.location, item.owner) == (
        part,
        1,
        "unserviceable",
        loc,
        ac.operator,
    )
    (move,) = item.movements.all()
    assert (move.kind, move.delta, move.to_status, move.reference) == (
        MovementKind.RETURN,
        D(1),
        "unserviceable",
        "WP-26-0007",
    )
    event = AuditEvent.objects.get(action="inventory.return_to_stores")
    assert event.actor == keeper
    # the rotable loop carries on from here
    inv.send_for_repair(actor=None, item=item, supplier=f.supplier(repairs=True), repair_order="R")
    inv.receive_from_repair(actor=None, item=item, location=loc, certificate_ref="F1")
    _balanced()


def test_a_part_issued_from_stock_comes_back_on_its_own_item():
    pn = f.part_number(tracking=PartTracking.SERIAL)
    po = f.purchase_order([(pn, 1)])
    (item,) = inv.receive_against_po(
        actor=None,
        order=po,
        delivery_ref="DN-1",
        location=f.location(),
        receipts=[
            inv.Receipt(
                line=po.lines.get(),
                serial="E-1",
                certificate_ref="F1",
                manufactured=utc(2025, 1, 1).date(),
            )
        ],
        at=utc(2025, 6, 1),
    ).items.all()
    ac = f.aircraft(variant_=f.variant(positions={"ENG": [pn]}))
    inv.issue(actor=None, item=item, quantity=1, reference="WP-1", at=utc(2026, 1, 1))
    f.install(item.part, ac, utc(2026, 1, 2))
    fleet.remove_part(actor=None, part=item.part, removed_at=utc(2026, 2, 1), reason="robbery")
    back = inv.return_to_stores(
        actor=None,
        part=item.part,
        location=f.location(),
        status=StockStatus.SERVICEABLE,
        reference="WP-2",
        at=utc(2026, 2, 1, 1),
    )
    assert back.pk == item.pk and (back.quantity, back.status) == (1, "serviceable")
    assert [m.kind for m in back.movements.all()] == ["receive", "issue", "return"]
    assert StockItem.objects.filter(part=item.part).count() == 1
    _balanced()
    with pytest.raises(Conflict) as e:  # already back
        inv.return_to_stores(
            actor=None, part=item.part, location=back.location, status="quarantine", reference="X"
        )
    assert e.value.field == "part"


def test_return_to_stores_errors_name_the_field():
    part, ac = _removed()
    loc = f.location()
    ok = {"part": part, "location": loc, "status": "quarantine", "reference": "WP-3"}
    for bad, field in (
        ({"status": "scrapped"}, "status"),
        ({"status": "lost"}, "status"),
        ({"reference": "  "}, "reference"),
        ({"part": f.part()}, "part"),  # never fitted
    ):
        with pytest.raises(RuleViolation) as e:
            inv.return_to_stores(actor=None, **(ok | bad))
        assert e.value.field == field, bad
    f.install(part, ac, utc(2026, 4, 1))
    with pytest.raises(RuleViolation) as e:  # fitted again
        inv.return_to_stores(actor=None, **ok)
    assert e.value.field == "part" and "fitted" in str(e.value)
    fleet.remove_part(actor=None, part=part, removed_at=utc(2026, 5, 1), reason="scheduled")
    closed = f.location()
    closed.active = False
    closed.save()
    with pytest.raises(RuleViolation) as e:
        inv.return_to_stores(actor=None, **(ok | {"location": closed}))
    assert e.value.field == "location"
    with pytest.raises(NotAllowed):
        inv.return_to_stores(actor=f.user(role="technician"), **ok)
    assert not StockItem.objects.exists()
    inv.return_to_stores(actor=None, **ok)
    assert StockItem.objects.get().status == "quarantine"


# --- a sub-assembly built here ------------------------------------------------------------


def _built(kind="satcom_terminal"):
    """A completed build order of a serialised product, from a batch of stock."""
    resin = f.part_number(tracking=PartTracking.BATCH)
    f.part_master(pn=resin, make_buy="buy")
    f.batch_stock(5, pn=resin, batch="R-1")
    assembly = f.part_master().part_number
    kw = {"variant": f.variant(positions={})} if kind == "aircraft" else {}
    product = prod.define_product(
        actor=None, code=f"P-{assembly.pn}", name="Unit", kind=kind, part_number=assembly, **kw
    )
    f.bom(assembly, [(resin, 2)])
    wc = f.work_centre()
    prod.define_routing(
        actor=None,
        part_number=assembly,
        operations=[
            {"seq": 10, "work_centre": wc.code, "description": "Make", "standard_hours": 1}
        ],
    )
    order = build.create_build_order(
        actor=None,
        product=product,
        quantity=1,
        serials=["U-1"],
        operator=f.operator() if kind == "aircraft" else None,
    )
    build.release_build_order(actor=None, order=order)
    build.issue_material(actor=None, order=order)
    build.record_operation(
        actor=f.user(role="technician"), order=order, operation=order.routing.operations.get()
    )
    return order


def test_a_sub_assembly_built_here_enters_the_stores_and_goes_to_another_order():
    order = _built()
    part = order.outputs.get().part
    loc = f.location()
    with pytest.raises(RuleViolation) as e:  # not completed yet
        inv.receive_from_production(
            actor=None, part=part or f.part(), location=loc, reference=order.number
        )
    assert e.value.field == "part"
    build.complete_build_order(actor=None, order=order)
    part = order.outputs.get().part
    keeper = f.user(role="storekeeper")
    item = inv.receive_from_production(
        actor=keeper, part=part, location=loc, reference=order.number, at=utc(2026, 5, 1)
    )
    assert (item.part, item.quantity, item.status, item.owner, item.location) == (
        part,
        1,
        "serviceable",
        None,
        loc,
    )
    assert order.number in item.certificate_ref
    (move,) = item.movements.all()
    assert (move.kind, move.delta, move.reference) == ("receive", D(1), order.number)
    assert AuditEvent.objects.get(action="inventory.receive_from_production").actor == keeper
    with pytest.raises(Conflict) as e:
        inv.receive_from_production(actor=None, part=part, location=loc, reference=order.number)
    assert e.value.field == "part"
    inv.reserve(actor=None, item=item, quantity=1, reference="BO-NEXT")
    inv.issue(actor=None, item=item, quantity=1, reference="BO-NEXT")
    with pytest.raises(Conflict) as e:  # issued on: it was received once
        inv.receive_from_production(actor=None, part=part, location=loc, reference=order.number)
    assert e.value.field == "part"
    _balanced()


def test_receive_from_production_errors_name_the_field():
    order = _built()
    build.complete_build_order(actor=None, order=order)
    part = order.outputs.get().part
    loc = f.location()
    ok = {"part": part, "location": loc, "reference": order.number}
    with pytest.raises(RuleViolation) as e:
        inv.receive_from_production(actor=None, **(ok | {"reference": "BO-2099-0001"}))
    assert e.value.field == "reference"
    with pytest.raises(RuleViolation) as e:
        inv.receive_from_production(actor=None, **(ok | {"reference": ""}))
    assert e.value.field == "reference"
    with pytest.raises(RuleViolation) as e:  # bought in, not built here
        inv.receive_from_production(actor=None, **(ok | {"part": f.part()}))
    assert e.value.field == "part"
    with pytest.raises(NotAllowed):
        inv.receive_from_production(actor=f.user(role="planner"), **ok)
    aircraft = _built(kind="aircraft")
    build.complete_build_order(actor=None, order=aircraft)
    with pytest.raises(RuleViolation) as e:
        inv.receive_from_production(
            actor=None,
            part=aircraft.outputs.get().part,
            location=loc,
            reference=aircraft.number,
        )
    assert e.value.field == "part" and "aircraft" in str(e.value)
    assert not StockItem.objects.filter(part__isnull=False).exists()
