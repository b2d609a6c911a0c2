"""The stores' rules: receiving against a purchase order (all or nothing, certificates,
over-receipt, retries), transfers, reservations, issues, status, scrap, the rotable loop,
reorder suggestions, roles, and the ledger that balances to the stock."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from kanat.core.errors import Conflict, NotAllowed, RuleViolation
from kanat.core.models import AuditEvent
from kanat.fleet.models import Part, PartTracking
from kanat.inventory import selectors
from kanat.inventory import services as inv
from kanat.inventory.models import (
    GoodsReceipt,
    MovementKind,
    POStatus,
    StockItem,
    StockMovement,
    StockStatus,
)
from kanat.work import services as work
from tests import factories as f
from tests.factories import utc

pytestmark = pytest.mark.django_db

D = Decimal


def _balanced() -> None:
    """Every item's movements add up to its quantity."""
    for item in StockItem.objects.all():
        assert selectors.ledger_balance(item) == item.quantity, item


def _order(*specs):
    """A PO with a line per (tracking, quantity)."""
    pns = [f.part_number(tracking=t) for t, _ in specs]
    po = f.purchase_order([(pn, q) for pn, (_, q) in zip(pns, specs, strict=True)])
    return po, list(po.lines.order_by("line"))


# --- receiving -------------------------------------------------------------------------


def test_receive_a_delivery_makes_items_movements_and_parts():
    po, (ser, bat, con) = _order(("serial", 2), ("batch", 10), ("consumable", 5))
    loc = f.location()
    storekeeper = f.user(role="storekeeper")
    receipt = inv.receive_against_po(
        actor=storekeeper,
        order=po,
        delivery_ref="DN-1",
        location=loc,
        receipts=[
            inv.Receipt(line=ser, serial="S-1", certificate_ref="EASA F1 123"),
            inv.Receipt(line=bat, quantity="4.5", batch="LOT-9", certificate_ref="COC-9"),
            inv.Receipt(line=con, quantity=5, expires_on=dt.date(2099, 1, 1)),
        ],
    )
    items = list(receipt.items.order_by("id"))
    assert [i.quantity for i in items] == [D(1), D("4.5"), D(5)]
    assert items[0].part == Part.objects.get(serial="S-1", part_number=ser.part_number)
    assert items[0].part.operator is None
    assert {i.status for i in items} == {StockStatus.SERVICEABLE}
    assert StockMovement.objects.filter(kind=MovementKind.RECEIVE).count() == 3
    po.refresh_from_db()
    assert po.status == POStatus.PARTIAL
    ser.refresh_from_db()
    assert ser.received == 1
    assert AuditEvent.objects.filter(action="inventory.receive", actor=storekeeper).count() == 1
    _balanced()


def test_receiving_everything_closes_the_order():
    po, (bat,) = _order(("batch", 3))
    inv.receive_against_po(
        actor=None,
        order=po,
        delivery_ref="DN-1",
        location=f.location(),
        receipts=[inv.Receipt(line=bat, quantity=3, batch="L", certificate_ref="C")],
    )
    po.refresh_from_db()
    assert po.status == POStatus.RECEIVED
    with pytest.raises(Conflict) as e:
        inv.receive_against_po(
            actor=None,
            order=po,
            delivery_ref="DN-2",
            location=f.location(),
            receipts=[inv.Receipt(line=bat, quantity=1, batch="L", certificate_ref="C")],
        )
    assert e.value.field == "order"


@pytest.mark.parametrize("tracking", ["serial", "batch"])
def test_a_flight_part_needs_its_certificate(tracking):
    po, (line,) = _order((tracking, 1))
    r = inv.Receipt(
        line=line, serial="S" if tracking == "serial" else "", batch="B" * (tracking == "batch")
    )
    with pytest.raises(RuleViolation) as e:
        inv.receive_against_po(
            actor=None, order=po, delivery_ref="DN", location=f.location(), receipts=[r]
        )
    assert e.value.field == "receipts[0].certificate_ref"
    assert "certificate" in str(e.value)


def test_a_consumable_needs_no_certificate():
    po, (line,) = _order(("consumable", 2))
    inv.receive_against_po(
        actor=None,
        order=po,
        delivery_ref="DN",
        location=f.location(),
        receipts=[inv.Receipt(line=line, quantity=2)],
    )
    assert StockItem.objects.get().quantity == 2


def test_receiving_is_all_or_nothing():
    """The second receipt is over the line: nothing of the first is written either."""
    po, (ser, bat) = _order(("serial", 1), ("batch", 10))
    before = (StockItem.objects.count(), Part.objects.count(), AuditEvent.objects.count())
    with pytest.raises(RuleViolation) as e:
        inv.receive_against_po(
            actor=None,
            order=po,
            delivery_ref="DN",
            location=f.location(),
            receipts=[
                inv.Receipt(line=ser, serial="S-9", certificate_ref="F1"),
                inv.Receipt(line=bat, quantity=6, batch="A", certificate_ref="C"),
                inv.Receipt(line=bat, quantity=5, batch="B", certificate_ref="C"),
            ],
        )
    assert e.value.field == "receipts[2].quantity"
    assert "outstanding" in str(e.value)
    after_loc = AuditEvent.objects.count() - 1  # the location factory's own event
    assert (StockItem.objects.count(), Part.objects.count(), after_loc) == before
    assert not GoodsReceipt.objects.exists()
    bat.refresh_from_db()
    assert bat.received == 0


def test_over_receipt_across_deliveries_is_refused():
    po, (bat,) = _order(("batch", 10))
    loc = f.location()
    r = inv.Receipt(line=bat, quantity=8, batch="A", certificate_ref="C")
    inv.receive_against_po(actor=None, order=po, delivery_ref="DN-1", location=loc, receipts=[r])
    with pytest.raises(RuleViolation) as e:
        inv.receive_against_po(
            actor=None, order=po, delivery_ref="DN-2", location=loc, receipts=[r]
        )
    assert e.value.field == "receipts[0].quantity"
    assert "2 outstanding" in str(e.value)


def test_the_same_delivery_note_twice_receives_once():
    po, (bat,) = _order(("batch", 10))
    loc = f.location()
    r = inv.Receipt(line=bat, quantity=4, batch="A", certificate_ref="C")
    first = inv.receive_against_po(
        actor=None, order=po, delivery_ref="DN-1", location=loc, receipts=[r]
    )
    again = inv.receive_against_po(
        actor=None, order=po, delivery_ref=" DN-1 ", location=loc, receipts=[r]
    )
    assert again == first
    bat.refresh_from_db()
    assert bat.received == 4
    assert StockItem.objects.count() == 1
    assert StockMovement.objects.count() == 1


@pytest.mark.parametrize(
    ("receipt", "field"),
    [
        ({"quantity": 2, "serial": "S", "certificate_ref": "C"}, "receipts[0].quantity"),
        ({"certificate_ref": "C"}, "receipts[0].serial"),
        ({"serial": "S", "batch": "B", "certificate_ref": "C"}, "receipts[0].batch"),
        ({"quantity": 0, "serial": "S", "certificate_ref": "C"}, "receipts[0].quantity"),
        ({"quantity": "-1", "serial": "S", "certificate_ref": "C"}, "receipts[0].quantity"),
        ({"quantity": "abc", "serial": "S", "certificate_ref": "C"}, "receipts[0].quantity"),
    ],
)
def test_receipt_errors_name_the_field(receipt, field):
    po, (line,) = _order(("serial", 3))
    with pytest.raises(RuleViolation) as e:
        inv.receive_against_po(
            actor=None,
            order=po,
            delivery_ref="DN",
            location=f.location(),
            receipts=[inv.Receipt(line=line, **receipt)],
        )
    assert e.value.field == field


def test_batch_errors_and_foreign_lines():
    po, (line,) = _order(("batch", 3))
    other, (other_line,) = _order(("batch", 3))
    loc = f.location()
    cases = [
        (inv.Receipt(line=line, quantity=1, certificate_ref="C"), "receipts[0].batch"),
        (
            inv.Receipt(line=line, quantity="0.0001", batch="B", certificate_ref="C"),
            "receipts[0].quantity",
        ),
        (
            inv.Receipt(line=other_line, quantity=1, batch="B", certificate_ref="C"),
            "receipts[0].line",
        ),
        (
            inv.Receipt(
                line=line,
                quantity=1,
                batch="B",
                certificate_ref="C",
                expires_on=dt.date(2000, 1, 1),
            ),
            "receipts[0].expires_on",
        ),
    ]
    for r, field in cases:
        with pytest.raises(RuleViolation) as e:
            inv.receive_against_po(
                actor=None, order=po, delivery_ref="DN", location=loc, receipts=[r]
            )
        assert e.value.field == field, (r, e.value)
    with pytest.raises(RuleViolation) as e:
        inv.receive_against_po(actor=None, order=po, delivery_ref=" ", location=loc, receipts=[])
    assert e.value.field == "delivery_ref"
    with pytest.raises(RuleViolation) as e:
        inv.receive_against_po(actor=None, order=po, delivery_ref="X", location=loc, receipts=[])
    assert e.value.field == "receipts"


def test_a_serial_already_in_stock_is_not_received_again():
    item = f.serial_stock()
    po = f.purchase_order([(item.part_number, 1)])
    with pytest.raises(Conflict) as e:
        inv.receive_against_po(
            actor=None,
            order=po,
            delivery_ref="DN",
            location=f.location(),
            receipts=[
                inv.Receipt(line=po.lines.get(), serial=item.part.serial, certificate_ref="C")
            ],
        )
    assert e.value.field == "receipts[0].serial"


def test_receiving_for_an_operator_makes_its_stock():
    alpha = f.operator()
    item = f.serial_stock(owner=alpha)
    assert item.owner == alpha and item.part.operator == alpha


def test_roles():
    viewer = f.user(role="technician")
    po, (line,) = _order(("consumable", 1))
    with pytest.raises(NotAllowed):
        inv.receive_against_po(
            actor=viewer,
            order=po,
            delivery_ref="DN",
            location=f.location(),
            receipts=[inv.Receipt(line=line)],
        )
    with pytest.raises(NotAllowed):
        inv.create_purchase_order(
            actor=viewer, number="X", supplier=f.supplier(), lines=[(line.part_number, 1)]
        )
    planner = f.user(role="planner")
    inv.create_purchase_order(
        actor=planner, number="X", supplier=f.supplier(), lines=[(line.part_number, 1)]
    )
    with pytest.raises(NotAllowed):
        inv.issue(actor=planner, item=f.batch_stock(), quantity=1, reference="BO-1")


def test_purchase_order_errors():
    pn = f.part_number(tracking=PartTracking.SERIAL)
    s = f.supplier()
    f.purchase_order([(pn, 1)], number="PO-A")
    for kw, field in [
        ({"number": "PO-A", "lines": [(pn, 1)]}, "number"),
        ({"number": "PO-B", "lines": []}, "lines"),
        ({"number": "PO-B", "lines": [(pn, "1.5")]}, "lines[0].quantity"),
        ({"number": "PO-B", "lines": [(pn, 0)]}, "lines[0].quantity"),
    ]:
        with pytest.raises(RuleViolation) as e:
            inv.create_purchase_order(actor=None, supplier=s, **kw)
        assert e.value.field == field


# --- moving, reserving, issuing ----------------------------------------------------------


def test_issue_takes_stock_and_records_it():
    item = f.batch_stock(10)
    move = inv.issue(actor=None, item=item, quantity="2.5", reference="BO-7")
    item.refresh_from_db()
    assert item.quantity == D("7.5")
    assert (move.kind, move.quantity, move.delta, move.reference) == (
        "issue",
        D("2.5"),
        D("-2.5"),
        "BO-7",
    )
    _balanced()


def test_issue_never_more_than_there_is():
    item = f.batch_stock(3)
    with pytest.raises(Conflict) as e:
        inv.issue(actor=None, item=item, quantity=4, reference="BO-1")
    assert e.value.field == "quantity"
    assert "only 3 free" in str(e.value)
    inv.issue(actor=None, item=item, quantity=3, reference="BO-1")
    with pytest.raises(RuleViolation) as e:
        inv.issue(actor=None, item=item, quantity=1, reference="BO-1")
    assert e.value.field == "item"
    item.refresh_from_db()
    assert item.quantity == 0
    _balanced()


def test_the_database_refuses_a_negative_quantity():
    item = f.batch_stock(1)
    with pytest.raises(IntegrityError), transaction.atomic():
        StockItem.objects.filter(pk=item.pk).update(quantity=D("-1"))
    with pytest.raises(IntegrityError), transaction.atomic():
        StockItem.objects.filter(pk=item.pk).update(reserved=D("2"))


def test_reservations_hold_stock_for_their_reference():
    item = f.batch_stock(10)
    inv.reserve(actor=None, item=item, quantity=6, reference="WP-1")
    with pytest.raises(Conflict) as e:
        inv.issue(actor=None, item=item, quantity=5, reference="BO-2")
    assert "only 4 free" in str(e.value)
    with pytest.raises(Conflict):
        inv.reserve(actor=None, item=item, quantity=5, reference="BO-2")
    # the reference's own reservation first, then free stock
    inv.issue(actor=None, item=item, quantity=8, reference="WP-1")
    item.refresh_from_db()
    assert (item.quantity, item.reserved) == (D(2), D(0))
    assert item.reservations.get(reference="WP-1").quantity == 0
    _balanced()


def test_unreserve():
    item = f.batch_stock(10)
    inv.reserve(actor=None, item=item, quantity=6, reference="WP-1")
    with pytest.raises(RuleViolation) as e:
        inv.unreserve(actor=None, item=item, reference="WP-2")
    assert e.value.field == "reference"
    with pytest.raises(RuleViolation) as e:
        inv.unreserve(actor=None, item=item, reference="WP-1", quantity=7)
    assert e.value.field == "quantity"
    inv.unreserve(actor=None, item=item, reference="WP-1", quantity=2)
    inv.unreserve(actor=None, item=item, reference="WP-1")
    item.refresh_from_db()
    assert item.reserved == 0
    assert list(item.movements.values_list("kind", flat=True)) == [
        "receive",
        "reserve",
        "unreserve",
        "unreserve",
    ]


def test_issue_errors_name_the_field():
    item = f.batch_stock(10, expires_on=dt.date(2026, 1, 1), at=utc(2025, 6, 1))
    with pytest.raises(RuleViolation) as e:
        inv.issue(actor=None, item=item, quantity=1, reference=" ")
    assert e.value.field == "reference"
    with pytest.raises(RuleViolation) as e:
        inv.issue(actor=None, item=item, quantity=0, reference="BO")
    assert e.value.field == "quantity"
    with pytest.raises(RuleViolation) as e:
        inv.issue(actor=None, item=item, quantity=1, reference="BO", at=utc(2026, 1, 2))
    assert e.value.field == "item" and "expired" in str(e.value)
    inv.set_status(actor=None, item=item, status="quarantine", reason="suspect")
    with pytest.raises(RuleViolation) as e:
        inv.issue(actor=None, item=item, quantity=1, reference="BO", at=utc(2025, 7, 1))
    assert e.value.field == "item" and "quarantine" in str(e.value)
    serial = f.serial_stock()
    with pytest.raises(RuleViolation) as e:
        inv.issue(actor=None, item=serial, quantity=2, reference="BO")
    assert e.value.field == "quantity"


def test_operator_stock_goes_only_to_its_own_work_packages():
    alpha, beta = f.operator(), f.operator()
    ac_beta = f.aircraft(operator_=beta)
    defect = work.raise_defect(
        actor=None, aircraft=ac_beta, ata="32", description="shimmy", source="crew"
    )
    pkg = work.create_package(actor=None, aircraft=ac_beta, title="visit", defects=[defect])
    item = f.batch_stock(5, owner=alpha)
    with pytest.raises(RuleViolation) as e:
        inv.issue(actor=None, item=item, quantity=1, reference=pkg.number)
    assert e.value.field == "reference"
    hub_item = f.batch_stock(5)
    inv.issue(actor=None, item=hub_item, quantity=1, reference=pkg.number)
    beta_item = f.batch_stock(5, owner=beta)
    inv.issue(actor=None, item=beta_item, quantity=1, reference=pkg.number)


def test_transfer_part_of_a_batch_splits_it():
    a, b = f.location(), f.location(kind="line_station")
    item = f.batch_stock(10, loc=a)
    inv.reserve(actor=None, item=item, quantity=3, reference="WP")
    with pytest.raises(Conflict):
        inv.transfer(actor=None, item=item, to_location=b, quantity=8)
    moved = inv.transfer(actor=None, item=item, to_location=b, quantity=4)
    item.refresh_from_db()
    assert (item.quantity, item.location, moved.quantity, moved.location) == (D(6), a, D(4), b)
    assert moved.batch == item.batch and moved.certificate_ref == item.certificate_ref
    # the whole item moves with its reservation
    whole = inv.transfer(actor=None, item=item, to_location=b)
    assert whole.pk == item.pk and whole.location == b and whole.reserved == 3
    with pytest.raises(RuleViolation) as e:
        inv.transfer(actor=None, item=item, to_location=b)
    assert e.value.field == "to_location"
    _balanced()


def test_a_serialised_part_moves_whole():
    item = f.serial_stock()
    with pytest.raises(RuleViolation) as e:
        inv.transfer(actor=None, item=item, to_location=f.location(), quantity="0.5")
    assert e.value.field == "quantity"


# --- status, scrap, the rotable loop -----------------------------------------------------


def test_status_changes_and_scrap():
    item = f.batch_stock(4)
    with pytest.raises(RuleViolation) as e:
        inv.set_status(actor=None, item=item, status="broken")
    assert e.value.field == "status"
    with pytest.raises(RuleViolation) as e:
        inv.set_status(actor=None, item=item, status="serviceable")
    assert e.value.field == "status"
    inv.reserve(actor=None, item=item, quantity=1, reference="WP")
    with pytest.raises(RuleViolation) as e:
        inv.set_status(actor=None, item=item, status="unserviceable")
    assert e.value.field == "status"
    inv.unreserve(actor=None, item=item, reference="WP")
    inv.set_status(actor=None, item=item, status="unserviceable", reason="corroded")
    with pytest.raises(RuleViolation) as e:
        inv.set_status(actor=None, item=item, status="scrapped")
    assert e.value.field == "reason"
    inv.set_status(actor=None, item=item, status="scrapped", reason="corroded beyond limits")
    item.refresh_from_db()
    assert (item.status, item.quantity) == ("scrapped", 0)
    with pytest.raises(RuleViolation):
        inv.set_status(actor=None, item=item, status="serviceable")
    kinds = list(item.movements.values_list("kind", flat=True))
    assert kinds == ["receive", "reserve", "unreserve", "status", "scrap"]
    _balanced()


def test_the_rotable_loop():
    repairer = f.supplier(repairs=True)
    item = f.serial_stock()
    with pytest.raises(RuleViolation) as e:
        inv.send_for_repair(actor=None, item=item, supplier=repairer, repair_order="RO-1")
    assert e.value.field == "item"  # serviceable parts do not go for repair
    inv.set_status(actor=None, item=item, status="unserviceable", reason="removed u/s")
    with pytest.raises(RuleViolation) as e:
        inv.send_for_repair(actor=None, item=item, supplier=f.supplier(), repair_order="RO-1")
    assert e.value.field == "supplier"
    inv.send_for_repair(actor=None, item=item, supplier=repairer, repair_order="RO-1")
    item.refresh_from_db()
    assert (item.quantity, item.repair_supplier) == (0, repairer)
    assert item in selectors.stock(f.user(role="storekeeper"))
    with pytest.raises(RuleViolation):
        inv.issue(actor=None, item=item, quantity=1, reference="BO")
    with pytest.raises(RuleViolation) as e:
        inv.receive_from_repair(actor=None, item=item, location=item.location)
    assert e.value.field == "certificate_ref"
    back = f.location()
    inv.receive_from_repair(actor=None, item=item, location=back, certificate_ref="F1-RO-1")
    item.refresh_from_db()
    assert (item.quantity, item.status, item.location, item.repair_supplier) == (
        1,
        "serviceable",
        back,
        None,
    )
    assert item.certificate_ref == "F1-RO-1"
    with pytest.raises(RuleViolation) as e:
        inv.receive_from_repair(actor=None, item=item, location=back, certificate_ref="X")
    assert e.value.field == "item"
    kinds = list(item.movements.values_list("kind", "delta"))
    assert kinds == [
        ("receive", D(1)),
        ("status", D(0)),
        ("repair_out", D(-1)),
        ("repair_in", D(1)),
    ]
    inv.issue(actor=None, item=item, quantity=1, reference="BO")
    _balanced()


def test_movements_are_append_only():
    item = f.batch_stock(2)
    move = item.movements.get()
    with pytest.raises(PermissionError):
        move.save()
    with pytest.raises(PermissionError):
        StockMovement.objects.filter(pk=move.pk).delete()


# --- reorder suggestions -----------------------------------------------------------------


def test_reorder_suggestions_from_minimum_and_consumption():
    hub = f.user(role="storekeeper")
    loc = f.location()
    pn = f.part_number(tracking=PartTracking.CONSUMABLE)
    item = f.batch_stock(24, pn=pn, loc=loc, batch="", certificate_ref="", at=utc(2025, 1, 1))
    inv.set_min_stock(actor=None, part_number=pn, location=loc, minimum=5)
    now = utc(2026, 6, 30)
    # 12 issued over the last six months: 2 a month
    for month in range(1, 7):
        inv.issue(actor=None, item=item, quantity=2, reference="WP", at=utc(2026, month, 10))
    # an issue before the six-month window does not count
    inv.issue(actor=None, item=item, quantity=4, reference="WP", at=utc(2025, 12, 1))
    assert selectors.reorder_suggestions(hub, at=now) == []  # 8 on hand >= 5 + 2
    inv.reserve(actor=None, item=item, quantity=2, reference="BO-1")
    (s,) = selectors.reorder_suggestions(hub, at=now)
    assert (s.on_hand, s.reserved, s.available) == (D(8), D(2), D(6))
    assert (s.monthly_consumption, s.reorder_point, s.quantity) == (D(2), D(7), D(1))
    # unserviceable stock does not count as on hand
    inv.unreserve(actor=None, item=item, reference="BO-1")
    inv.set_status(actor=None, item=item, status="quarantine")
    (s,) = selectors.reorder_suggestions(hub, at=now)
    assert (s.on_hand, s.quantity) == (D(0), D(7))
    # min stock errors name the field; it can be changed
    with pytest.raises(RuleViolation) as e:
        inv.set_min_stock(actor=None, part_number=pn, location=loc, minimum=-1)
    assert e.value.field == "minimum"
    inv.set_min_stock(actor=None, part_number=pn, location=loc, minimum=0)
    (s,) = selectors.reorder_suggestions(hub, at=now)
    assert s.quantity == 2


@pytest.mark.postgres
def test_postgres_refuses_changing_a_movement():
    from django.db import DatabaseError, connection

    item = f.batch_stock(2)
    move = item.movements.get()
    for sql in ("UPDATE {t} SET quantity = 5 WHERE id = %s", "DELETE FROM {t} WHERE id = %s"):
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cur:
            cur.execute(sql.format(t=StockMovement._meta.db_table), [move.pk])


def test_every_change_writes_its_audit_event_with_the_actor():
    sk = f.user(role="storekeeper")
    item = f.batch_stock(10, actor=sk)
    other = f.location()
    inv.reserve(actor=sk, item=item, quantity=1, reference="WP")
    inv.unreserve(actor=sk, item=item, reference="WP")
    inv.issue(actor=sk, item=item, quantity=1, reference="WP")
    inv.transfer(actor=sk, item=item, to_location=other, quantity=2)
    inv.set_status(actor=sk, item=item, status="quarantine")
    inv.scrap(actor=sk, item=item, reason="contaminated")
    actions = list(
        AuditEvent.objects.filter(actor=sk).order_by("id").values_list("action", flat=True)
    )
    assert actions == [
        "inventory.receive",
        "inventory.reserve",
        "inventory.unreserve",
        "inventory.issue",
        "inventory.transfer",
        "inventory.set_status",
        "inventory.scrap",
    ]
    assert StockMovement.objects.filter(actor=sk).count() == 8  # the split writes two
    _balanced()
