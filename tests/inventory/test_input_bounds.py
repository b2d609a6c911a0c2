"""A quantity or a price too large for its column is refused naming its field, on the
stores' pages and by the services, and nothing changes (it was a 500: the check came
after ``quantize``, which cannot hold such a number and raised
``decimal.InvalidOperation``)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from kanat.core.errors import RuleViolation
from kanat.inventory import services as inv
from kanat.inventory.models import PurchaseOrder, StockItem
from tests import factories as f
from tests.inventory.test_store_forms import _delivery, _state

pytestmark = pytest.mark.django_db


def _client(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


@pytest.mark.parametrize("typed", ["1e30", "1E+25"])
def test_a_transfer_of_a_huge_quantity_is_refused_on_the_item_page(typed):
    store = _client(f.user(role="storekeeper"))
    item = f.batch_stock(10)
    to = f.location()
    before = _state()
    r = store.post(
        reverse("inventory:item_detail", args=[item.pk]),
        {"action": "transfer", "to_location": to.pk, "quantity": typed},
    )
    assert r.status_code == 400
    assert "quantity" in r.content.decode() and "too large" in r.content.decode()
    assert _state() == before


def test_a_delivery_of_a_huge_batch_is_refused_at_its_row():
    store = _client(f.user(role="storekeeper"))
    pn = f.part_number(tracking="batch")
    po = f.purchase_order([(pn, 5)])
    line, loc = po.lines.get(), f.location()
    before = _state()
    r = store.post(
        reverse("inventory:po_detail", args=[po.pk]),
        _delivery(line, loc, [{"quantity": "1e30", "batch": "B1", "certificate_ref": "C"}]),
    )
    assert r.status_code == 400 and "too large" in r.content.decode()
    assert _state() == before and not StockItem.objects.filter(po_line=line).exists()


def test_a_huge_unit_price_is_refused_naming_its_line():
    pn = f.part_number(tracking="batch")
    with pytest.raises(RuleViolation) as refused:
        inv.create_purchase_order(
            actor=None,
            number="PO-HUGE",
            supplier=f.supplier(),
            lines=[(pn, 1, "1e30")],
        )
    assert "price" in (refused.value.field or "") and "too large" in str(refused.value)
    assert not PurchaseOrder.objects.filter(number="PO-HUGE").exists()
