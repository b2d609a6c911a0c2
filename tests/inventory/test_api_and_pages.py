"""The stores' API (reads, receive, transfer, issue) and pages."""

from __future__ import annotations

import pytest
from django.test import Client

from kanat.core.models import AuditEvent
from kanat.fleet.models import PartTracking
from kanat.inventory import services as inv
from kanat.inventory.models import StockItem, StockMovement
from tests import factories as f

pytestmark = pytest.mark.django_db


def _client(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


@pytest.fixture
def store():
    return _client(f.user(role="storekeeper"))


def test_receive_through_the_api(store):
    pn = f.part_number(tracking=PartTracking.BATCH)
    po = f.purchase_order([(pn, 10)])
    line, loc = po.lines.get(), f.location()
    url = f"/api/purchase-orders/{po.pk}/receive/"
    body = {
        "delivery_ref": "DN-1",
        "location": loc.pk,
        "receipts": [{"line": line.pk, "quantity": "4", "batch": "L1"}],
    }
    r = store.post(url, body, content_type="application/json")
    assert r.status_code == 400 and r.json()["field"] == "receipts[0].certificate_ref"
    body["receipts"][0]["certificate_ref"] = "COC-1"
    r = store.post(url, body, content_type="application/json")
    assert r.status_code == 201, r.content
    assert [i["quantity"] for i in r.json()["items"]] == ["4.000"]
    r = store.post(url, body, content_type="application/json")  # a retry receives nothing
    assert r.status_code == 201
    assert StockItem.objects.count() == 1
    body |= {"delivery_ref": "DN-2", "receipts": [{**body["receipts"][0], "quantity": "7"}]}
    r = store.post(url, body, content_type="application/json")
    assert r.status_code == 400 and r.json()["field"] == "receipts[0].quantity"
    detail = store.get(f"/api/purchase-orders/{po.pk}/").json()
    assert detail["status"] == "partial" and detail["lines"][0]["received"] == "4.000"


def test_transfer_and_issue_through_the_api(store):
    item = f.batch_stock(5)
    dest = f.location()
    r = store.post(
        f"/api/stock-items/{item.pk}/transfer/",
        {"to_location": dest.pk, "quantity": "2"},
        content_type="application/json",
    )
    assert r.status_code == 200, r.content
    moved = r.json()
    assert (moved["location"], moved["quantity"]) == (dest.pk, "2.000")
    r = store.post(
        f"/api/stock-items/{item.pk}/issue/",
        {"quantity": "4", "reference": "BO-1"},
        content_type="application/json",
    )
    assert r.status_code == 409 and r.json()["field"] == "quantity"
    r = store.post(
        f"/api/stock-items/{item.pk}/issue/",
        {"quantity": "3", "reference": "BO-1"},
        content_type="application/json",
    )
    assert r.status_code == 201 and r.json()["delta"] == "-3.000"
    listed = store.get("/api/stock-items/", {"location": dest.code}).json()
    assert [i["id"] for i in listed["results"]] == [moved["id"]]
    moves = store.get("/api/stock-movements/", {"item": item.pk}).json()
    assert [m["kind"] for m in moves["results"]] == ["receive", "transfer", "issue"]


def test_a_role_without_stock_may_not_issue():
    item = f.batch_stock(5)
    planner = _client(f.user(role="planner"))
    before = AuditEvent.objects.count()
    r = planner.post(
        f"/api/stock-items/{item.pk}/issue/",
        {"quantity": "1", "reference": "BO-1"},
        content_type="application/json",
    )
    assert r.status_code == 403
    assert AuditEvent.objects.count() == before
    assert StockMovement.objects.filter(kind="issue").count() == 0


def test_operator_users_see_only_their_stock_in_the_api_and_pages():
    alpha, beta = f.operator(), f.operator()
    loc = f.location()
    mine = f.batch_stock(5, loc=loc, owner=alpha, batch="MINE")
    theirs = f.batch_stock(5, loc=loc, owner=beta, batch="THEIRS")
    c = _client(f.user(operator=alpha))
    ids = [i["id"] for i in c.get("/api/stock-items/").json()["results"]]
    assert ids == [mine.pk]
    assert c.get(f"/api/stock-items/{theirs.pk}/").status_code == 404
    assert c.get(f"/api/purchase-orders/{theirs.po_line.order_id}/").status_code == 404
    page = c.get("/stores/", {"location": loc.code}).content.decode()
    assert "MINE" in page and "THEIRS" not in page
    assert theirs.po_line.order.number not in c.get("/stores/orders/").content.decode()
    assert c.get(f"/stores/orders/{theirs.po_line.order_id}/").status_code == 404
    assert c.get(f"/stores/orders/{mine.po_line.order_id}/").status_code == 200


def test_pages_render(store):
    item = f.batch_stock(5, batch="LOT-77")
    inv.set_min_stock(actor=None, part_number=item.part_number, location=item.location, minimum=9)
    serial = f.serial_stock()
    assert "LOT-77" in store.get("/stores/").content.decode()
    by_pn = store.get("/stores/", {"pn": serial.part_number.pn}).content.decode()
    assert serial.part.serial in by_pn and "LOT-77" not in by_pn
    assert store.get("/stores/", {"pn": "NO-SUCH"}).status_code == 200
    order = item.po_line.order
    assert order.number in store.get("/stores/orders/").content.decode()
    detail = store.get(f"/stores/orders/{order.pk}/").content.decode()
    assert "LOT-77" in detail and "Receive" in detail
    reorder = store.get("/stores/reorder/").content.decode()
    assert item.part_number.pn in reorder
