"""Purchase-order unit prices and the order's currency: validated, stored, nullable."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from django.db import IntegrityError, transaction

from kanat.core.errors import RuleViolation
from kanat.fleet.models import PartTracking
from kanat.inventory import services as inv
from kanat.inventory.models import PurchaseOrderLine
from tests import factories as f

pytestmark = pytest.mark.django_db


def test_lines_carry_a_unit_price_in_the_orders_currency():
    a = f.part_number(tracking=PartTracking.CONSUMABLE)
    b = f.part_number(tracking=PartTracking.CONSUMABLE)
    po = inv.create_purchase_order(
        actor=None,
        number="PO-P1",
        supplier=f.supplier(),
        lines=[(a, 10, "12.5"), (b, 2, 0), (a, 1)],
        currency="usd",
    )
    assert po.currency == "USD"
    assert [ln.unit_price for ln in po.lines.order_by("line")] == [D("12.5"), D(0), None]


def test_the_default_currency_is_kzt_and_old_lines_are_unpriced():
    po = f.purchase_order([(f.part_number(tracking=PartTracking.CONSUMABLE), 1)])
    assert po.currency == "KZT" and po.lines.get().unit_price is None


@pytest.mark.parametrize(
    ("price", "message"),
    [
        (-1, "must not be negative"),
        ("-0.01", "must not be negative"),
        ("twelve", "is not a number"),
        ("NaN", "is not a number"),
        ("Infinity", "is not a number"),
        (True, "is not a number"),
        ([1], "is not a number"),
        ("1.00001", "more than four decimals"),
        ("1e15", "too large"),
    ],
)
def test_a_bad_unit_price_names_its_line(price, message):
    pn = f.part_number(tracking=PartTracking.CONSUMABLE)
    with pytest.raises(RuleViolation) as e:
        inv.create_purchase_order(
            actor=None,
            number="PO-BAD",
            supplier=f.supplier(),
            lines=[(pn, 1, 5), (pn, 1, price)],
        )
    assert e.value.field == "lines[1].unit_price" and message in str(e.value)
    assert not PurchaseOrderLine.objects.exists()


@pytest.mark.parametrize("currency", ["", "KZ", "TENGE", "K2T", None])
def test_a_bad_currency_is_refused(currency):
    with pytest.raises(RuleViolation) as e:
        inv.create_purchase_order(
            actor=None,
            number="PO-CUR",
            supplier=f.supplier(),
            lines=[(f.part_number(tracking=PartTracking.CONSUMABLE), 1, 5)],
            currency=currency,
        )
    assert e.value.field == "currency"


def test_the_database_refuses_a_negative_price():
    po = f.purchase_order([(f.part_number(tracking=PartTracking.CONSUMABLE), 1, 3)])
    with pytest.raises(IntegrityError), transaction.atomic():
        PurchaseOrderLine.objects.filter(order=po).update(unit_price=-1)
