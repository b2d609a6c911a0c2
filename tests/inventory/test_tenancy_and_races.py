"""Operator scoping of the stores, and N people issuing from one batch at once."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db.models import Sum

from kanat.inventory import selectors
from kanat.inventory import services as inv
from kanat.inventory.models import (
    PurchaseOrder,
    Reservation,
    StockItem,
    StockLevel,
    StockMovement,
)
from tests import factories as f
from tests.threads import race


@pytest.mark.django_db
def test_operator_users_see_only_their_operators_stock():
    alpha, beta = f.operator(), f.operator()
    loc = f.location()
    a_item = f.batch_stock(5, loc=loc, owner=alpha)
    b_item = f.batch_stock(5, loc=loc, owner=beta)
    hub_item = f.batch_stock(5, loc=loc)
    inv.reserve(actor=None, item=a_item, quantity=1, reference="WP-A")
    inv.set_min_stock(
        actor=None, part_number=a_item.part_number, location=loc, minimum=9, owner=alpha
    )
    inv.set_min_stock(actor=None, part_number=hub_item.part_number, location=loc, minimum=9)
    a_user = f.user(operator=alpha)
    hub_user = f.user(role="storekeeper")
    assert set(selectors.stock_by_location(a_user, loc)) == {a_item}
    assert set(selectors.stock_by_location(hub_user, loc)) == {a_item, b_item, hub_item}
    assert set(selectors.stock_by_part_number(a_user, b_item.part_number)) == set()
    assert set(StockMovement.objects.restrict(a_user).values_list("item", flat=True)) == {a_item.pk}
    assert set(PurchaseOrder.objects.restrict(a_user)) == {a_item.po_line.order}
    assert set(Reservation.objects.restrict(a_user)) == {a_item.reservations.get()}
    assert [s.part_number for s in selectors.reorder_suggestions(a_user)] == [a_item.part_number]
    assert len(selectors.reorder_suggestions(hub_user)) == 2
    assert StockLevel.objects.restrict(a_user).count() == 1
    assert [r["part_number__pn"] for r in selectors.totals(a_user)] == [a_item.part_number.pn]


N = 8


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_concurrent_issues_never_take_more_than_the_batch_holds():
    """8 people issue 3 each from a batch of 10 at once: exactly 3 win, the rest are told
    how much is left, nothing goes negative, one movement per win."""
    item = f.batch_stock(10)
    storekeepers = [f.user(role="storekeeper") for _ in range(N)]
    outcomes = race(
        *[
            (lambda u=u, k=k: inv.issue(actor=u, item=item, quantity=3, reference=f"BO-{k}"))
            for k, u in enumerate(storekeepers)
        ]
    )
    assert outcomes.count("won") == 3, outcomes
    assert all("free" in o for o in outcomes if o != "won"), outcomes
    item.refresh_from_db()
    assert item.quantity == Decimal(1)
    issues = StockMovement.objects.filter(item=item, kind="issue")
    assert issues.count() == 3
    assert issues.aggregate(s=Sum("quantity"))["s"] == Decimal(9)
    assert selectors.ledger_balance(item) == item.quantity


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_concurrent_issues_and_reservations_on_one_item():
    """Reservations and issues racing on one item: what is reserved plus what is issued
    never exceeds what was received."""
    item = f.batch_stock(5)
    calls = []
    for k in range(N):
        if k % 2:
            calls.append(
                lambda k=k: inv.reserve(actor=None, item=item, quantity=2, reference=f"R{k}")
            )
        else:
            calls.append(
                lambda k=k: inv.issue(actor=None, item=item, quantity=2, reference=f"I{k}")
            )
    outcomes = race(*calls)
    assert outcomes.count("won") == 2, outcomes
    item.refresh_from_db()
    issued = StockMovement.objects.filter(item=item, kind="issue").aggregate(s=Sum("quantity"))["s"]
    assert item.quantity + (issued or 0) == 5
    assert item.reserved == (
        Reservation.objects.filter(item=item).aggregate(s=Sum("quantity"))["s"] or 0
    )
    assert 0 <= item.reserved <= item.quantity
    assert selectors.ledger_balance(item) == item.quantity
    assert StockItem.objects.filter(quantity__lt=0).count() == 0


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_the_same_delivery_received_twice_at_once_is_received_once():
    pn = f.part_number(tracking="batch")
    po = f.purchase_order([(pn, 10)])
    loc, line = f.location(), po.lines.get()

    def receive():
        return inv.receive_against_po(
            actor=None,
            order=po,
            delivery_ref="DN-1",
            location=loc,
            receipts=[inv.Receipt(line=line, quantity=6, batch="L", certificate_ref="C")],
        )

    outcomes = race(*[receive for _ in range(4)])
    assert outcomes == ["won"] * 4
    line.refresh_from_db()
    assert line.received == 6
    assert StockItem.objects.filter(po_line=line).count() == 1
    assert StockMovement.objects.filter(kind="receive", item__po_line=line).count() == 1
