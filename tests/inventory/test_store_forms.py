"""The stores' forms on the pages: receiving a delivery on a purchase order, and on a stock
item's page transferring, changing status, scrapping and the rotable repair loop. Each
posts through the service (a ledger movement), redirects with a message, shows the
service's error next to the form with nothing changed, is offered only to a role that
manages stock (others get a 403 on a post), and another operator's object is a 404."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from kanat.core.models import AuditEvent
from kanat.fleet.models import Part, PartTracking
from kanat.inventory import services as inv
from kanat.inventory.models import (
    GoodsReceipt,
    MovementKind,
    StockItem,
    StockMovement,
    StockStatus,
)
from tests import factories as f

pytestmark = pytest.mark.django_db

D = Decimal


def _client(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


def _state():
    """What a refused post must leave as it was."""
    return (
        StockMovement.objects.count(),
        AuditEvent.objects.count(),
        list(StockItem.objects.order_by("pk").values_list("quantity", "status", "location_id")),
    )


@pytest.fixture
def keeper():
    return f.user(role="storekeeper")


@pytest.fixture
def store(keeper):
    return _client(keeper)


def _item_url(item) -> str:
    return reverse("inventory:item_detail", args=[item.pk])


def _section(html: str, form_id: str) -> str:
    return html.split(f'id="{form_id}"')[1].split("</form>")[0]


# --- receiving on the purchase order page ------------------------------------------------


def _delivery(line, loc, rows, ref="DN-1"):
    data = {
        "delivery_ref": ref,
        "location": loc.pk,
        "form-TOTAL_FORMS": "4",
        "form-INITIAL_FORMS": "0",
        "form-MIN_NUM_FORMS": "0",
        "form-MAX_NUM_FORMS": "50",
    }
    for i, row in enumerate(rows):
        data |= {f"form-{i}-line": line.pk} | {f"form-{i}-{k}": v for k, v in row.items()}
    return data


def test_receiving_a_delivery_on_the_order_page(store):
    pn = f.part_number(tracking=PartTracking.SERIAL)
    po = f.purchase_order([(pn, 3)])
    line, loc = po.lines.get(), f.location()
    url = reverse("inventory:po_detail", args=[po.pk])
    html = store.get(url).content.decode()
    assert 'id="form-receive"' in html and f"line 1: {pn.pn}" in html
    rows = [
        {"quantity": "1", "serial": "SN-A", "certificate_ref": "EASA-1-A"},
        {"quantity": "1", "serial": "SN-B", "certificate_ref": "EASA-1-B"},
    ]
    r = store.post(url, _delivery(line, loc, rows))
    assert r.status_code == 302 and r["Location"] == url
    items = list(StockItem.objects.filter(po_line=line).order_by("part__serial"))
    assert [(i.part.serial, i.certificate_ref, i.location) for i in items] == [
        ("SN-A", "EASA-1-A", loc),
        ("SN-B", "EASA-1-B", loc),
    ]
    moves = StockMovement.objects.filter(item__in=items, kind=MovementKind.RECEIVE)
    assert moves.count() == 2 and {m.reference for m in moves} == {po.number}
    page = store.get(url).content.decode()
    assert "Delivery DN-1 received at" in page and "2 items" in page
    assert _item_url(items[0]) in page
    line.refresh_from_db()
    assert line.received == 2
    # the same delivery note again (a double click): nothing received twice, and said so
    r = store.post(url, _delivery(line, loc, [{"serial": "SN-C", "certificate_ref": "X"}]))
    assert r.status_code == 302
    assert StockItem.objects.filter(po_line=line).count() == 2
    assert "was received already" in store.get(url).content.decode()


def test_a_flight_part_without_its_certificate_is_refused_at_its_row(store):
    pn = f.part_number(tracking=PartTracking.BATCH)
    po = f.purchase_order([(pn, 10)])
    line, loc = po.lines.get(), f.location()
    url = reverse("inventory:po_detail", args=[po.pk])
    before = _state()
    rows = [
        {"quantity": "4", "batch": "L1", "certificate_ref": "COC-1"},
        {"quantity": "2", "batch": "L2"},
    ]
    r = store.post(url, _delivery(line, loc, rows))
    assert r.status_code == 400
    html = r.content.decode()
    row = html.split('id="receipt-row-1"')[1].split("</tr>")[0]
    assert "is a flight part" in row and "certificate" in row
    assert "is a flight part" not in html.split('id="receipt-row-0"')[1].split("</tr>")[0]
    assert 'value="L2"' in row  # what was typed stays
    assert _state() == before and not GoodsReceipt.objects.exists()
    # more than is outstanding: the quantity of its row
    rows = [{"quantity": "11", "batch": "L1", "certificate_ref": "COC-1"}]
    r = store.post(url, _delivery(line, loc, rows))
    assert r.status_code == 400
    row = r.content.decode().split('id="receipt-row-0"')[1].split("</tr>")[0]
    assert "10 outstanding" in row
    # no delivery note: named on the delivery
    r = store.post(url, _delivery(line, loc, [rows[0] | {"quantity": "1"}], ref=""))
    assert r.status_code == 400 and "the delivery note reference is required" in r.content.decode()
    assert _state() == before


def test_only_a_stock_role_receives(store):
    pn = f.part_number(tracking=PartTracking.CONSUMABLE)
    po = f.purchase_order([(pn, 5)])
    url = reverse("inventory:po_detail", args=[po.pk])
    planner = _client(f.user(role="planner"))
    assert 'id="form-receive"' not in planner.get(url).content.decode()
    data = _delivery(po.lines.get(), f.location(), [{"quantity": "5"}])
    before = _state()
    assert planner.post(url, data).status_code == 403
    assert _state() == before
    # a received order offers no form any more
    assert store.post(url, data).status_code == 302
    assert 'id="form-receive"' not in store.get(url).content.decode()


def test_the_location_drop_down_offers_open_locations_only(store):
    pn = f.part_number(tracking=PartTracking.CONSUMABLE)
    po = f.purchase_order([(pn, 5)])
    shut = f.location(code="SHUT-1")
    shut.active = False
    shut.save()
    open_ = f.location(code="OPEN-1")
    html = store.get(reverse("inventory:po_detail", args=[po.pk])).content.decode()
    assert "OPEN-1" in html and "SHUT-1" not in html
    assert open_.pk


# --- a stock item's page -----------------------------------------------------------------


def test_item_page_shows_its_ledger_and_links(store):
    item = f.batch_stock(5)
    html = store.get(_item_url(item)).content.decode()
    movements = html.split('id="movements"')[1]
    assert "Receive" in movements and item.po_line.order.number in movements
    assert store.get(reverse("inventory:stock")).content.decode().count(_item_url(item)) >= 1


def test_transfer_part_of_a_batch(store, keeper):
    item = f.batch_stock(5)
    dest = f.location(code="LINE-9")
    r = store.post(
        _item_url(item),
        {"action": "transfer", "to_location": dest.pk, "quantity": "2", "reference": "MOVE-1"},
    )
    assert r.status_code == 302
    moved = StockItem.objects.get(location=dest)
    assert r["Location"] == _item_url(moved)
    item.refresh_from_db()
    assert (item.quantity, moved.quantity) == (D(3), D(2))
    move = StockMovement.objects.get(item=moved, kind=MovementKind.TRANSFER)
    assert (move.delta, move.reference, move.actor) == (D(2), "MOVE-1", keeper)
    html = store.get(r["Location"]).content.decode()
    assert "2 of" in html and "moved to LINE-9" in html


def test_transfer_error_is_shown_and_changes_nothing(store):
    item = f.batch_stock(5)
    dest = f.location()
    before = _state()
    r = store.post(_item_url(item), {"action": "transfer", "to_location": dest.pk, "quantity": "9"})
    assert r.status_code == 409
    form = _section(r.content.decode(), "form-transfer")
    assert "only 5 free" in form and 'value="9"' in form
    r = store.post(
        _item_url(item), {"action": "transfer", "to_location": dest.pk, "quantity": "two"}
    )
    assert r.status_code == 400
    assert "is not a number" in _section(r.content.decode(), "form-transfer")
    r = store.post(_item_url(item), {"action": "transfer", "to_location": item.location_id})
    assert r.status_code == 400  # where it is already: not offered
    assert "Select a valid choice" in _section(r.content.decode(), "form-transfer")
    assert _state() == before


def test_status_change_and_its_error(store):
    item = f.batch_stock(5)
    r = store.post(_item_url(item), {"action": "status", "status": "quarantine", "reason": "dent"})
    assert r.status_code == 302
    item.refresh_from_db()
    assert item.status == StockStatus.QUARANTINE
    move = StockMovement.objects.get(item=item, kind=MovementKind.STATUS)
    assert (move.from_status, move.to_status, move.note) == ("serviceable", "quarantine", "dent")
    before = _state()
    r = store.post(_item_url(item), {"action": "status", "status": "quarantine"})
    assert r.status_code == 400
    assert "is already quarantine" in _section(r.content.decode(), "form-status")
    r = store.post(_item_url(item), {"action": "status", "status": "scrapped"})
    assert r.status_code == 400  # scrapping has its own form, with its reason
    assert _state() == before


def test_scrap_needs_its_reason(store):
    item = f.batch_stock(5)
    before = _state()
    r = store.post(_item_url(item), {"action": "scrap", "reason": "  "})
    assert r.status_code == 400
    assert "the reason for scrapping is required" in _section(r.content.decode(), "form-scrap")
    assert _state() == before
    r = store.post(_item_url(item), {"action": "scrap", "reason": "corroded"})
    assert r.status_code == 302
    item.refresh_from_db()
    assert (item.status, item.quantity) == (StockStatus.SCRAPPED, D(0))
    move = StockMovement.objects.get(item=item, kind=MovementKind.SCRAP)
    assert (move.delta, move.note) == (D(-5), "corroded")
    html = store.get(_item_url(item)).content.decode()
    assert 'id="form-scrap"' not in html and 'id="form-transfer"' not in html


def test_the_rotable_loop_on_the_item_page(store):
    item = f.serial_stock()
    shop = f.supplier(code="SHOP-1", repairs=True)
    f.supplier(code="VENDOR-1", repairs=False)
    assert 'id="form-repair-out"' not in store.get(_item_url(item)).content.decode()
    inv.set_status(actor=None, item=item, status=StockStatus.UNSERVICEABLE)
    html = store.get(_item_url(item)).content.decode()
    form = _section(html, "form-repair-out")
    assert "SHOP-1" in form and "VENDOR-1" not in form  # only repair shops
    before = _state()
    r = store.post(_item_url(item), {"action": "repair_out", "supplier": shop.pk})
    assert r.status_code == 400
    assert "the repair order reference is required" in _section(
        r.content.decode(), "form-repair-out"
    )
    assert _state() == before
    r = store.post(
        _item_url(item), {"action": "repair_out", "supplier": shop.pk, "repair_order": "RO-7"}
    )
    assert r.status_code == 302
    item.refresh_from_db()
    assert (item.quantity, item.repair_supplier, item.repair_order) == (D(0), shop, "RO-7")
    html = store.get(_item_url(item)).content.decode()
    assert "out for repair at SHOP-1" in html and 'id="form-transfer"' not in html
    back = f.location(code="BACK-1")
    before = _state()
    r = store.post(
        _item_url(item), {"action": "repair_in", "location": back.pk, "status": "serviceable"}
    )
    assert r.status_code == 400
    assert "release certificate reference is required" in _section(
        r.content.decode(), "form-repair-in"
    )
    assert _state() == before
    r = store.post(
        _item_url(item),
        {
            "action": "repair_in",
            "location": back.pk,
            "status": "serviceable",
            "certificate_ref": "EASA-1-RO7",
        },
    )
    assert r.status_code == 302
    item.refresh_from_db()
    assert (item.quantity, item.location, item.status) == (D(1), back, StockStatus.SERVICEABLE)
    kinds = list(StockMovement.objects.filter(item=item).values_list("kind", flat=True))
    assert kinds == ["receive", "status", "repair_out", "repair_in"]
    assert "back from repair at BACK-1" in store.get(_item_url(item)).content.decode()


def test_without_the_stock_role_no_form_and_403(store):
    item = f.batch_stock(5)
    planner = _client(f.user(role="planner"))
    html = planner.get(_item_url(item)).content.decode()
    assert 'id="movements"' in html and 'id="actions"' not in html
    assert 'name="action"' not in html
    dest = f.location()
    before = _state()
    for data in (
        {"action": "transfer", "to_location": dest.pk},
        {"action": "status", "status": "quarantine"},
        {"action": "scrap", "reason": "x"},
    ):
        assert planner.post(_item_url(item), data).status_code == 403
    assert _state() == before
    assert 'id="form-transfer"' in store.get(_item_url(item)).content.decode()


def test_another_operators_item_and_order_are_404():
    alpha, beta = f.operator(), f.operator()
    item = f.batch_stock(5, owner=alpha)
    order = item.po_line.order
    mine = _client(f.user(operator=alpha))
    theirs = _client(f.user(operator=beta))
    assert mine.get(_item_url(item)).status_code == 200
    assert theirs.get(_item_url(item)).status_code == 404
    assert theirs.post(_item_url(item), {"action": "scrap", "reason": "x"}).status_code == 404
    assert theirs.get(reverse("inventory:po_detail", args=[order.pk])).status_code == 404
    assert theirs.post(reverse("inventory:po_detail", args=[order.pk]), {}).status_code == 404
    # the owner's own user reads the ledger but has no stock role: no form, 403 on a post
    assert 'id="form-scrap"' not in mine.get(_item_url(item)).content.decode()
    assert mine.post(_item_url(item), {"action": "scrap", "reason": "x"}).status_code == 403
    assert Part.objects.count() == 0
