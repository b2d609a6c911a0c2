"""The demo's engineering data and stores: released BOMs for every kind of product, a
superseded revision to compare, routings with inspection points, purchase orders in every
state, an expired batch, a part at the repair station, reorder suggestions, consumption by
work packages, a ledger that balances, and no fitted serial in stock."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db.models import Q
from django.test import Client
from django.utils import timezone

from kanat.core.errors import RuleViolation
from kanat.core.models import User
from kanat.fleet.models import Installation
from kanat.inventory import selectors as stock_selectors
from kanat.inventory import services as stores
from kanat.inventory.models import (
    MovementKind,
    POStatus,
    PurchaseOrder,
    StockItem,
    StockMovement,
    StockStatus,
)
from kanat.production import selectors
from kanat.production.models import (
    Bom,
    BomStatus,
    Operation,
    PartMaster,
    Product,
    ProductKind,
)
from kanat.work.models import WorkPackage

pytestmark = pytest.mark.django_db


def test_demo_engineering_data_and_stores(capsys):
    call_command("demo")
    hub = User.objects.get(username="hub")
    now = timezone.now()

    # engineering: every product released, the kit's older revision superseded
    products = Product.objects.select_related("part_number", "variant")
    assert {
        ProductKind.AIRCRAFT,
        ProductKind.SATCOM_TERMINAL,
        ProductKind.SATELLITE_SUBSYSTEM,
        ProductKind.GROUND_SEGMENT,
    } <= {p.kind for p in products}
    for product in products:
        bom = selectors.released_bom(product.part_number)
        assert bom is not None, product
        assert len(selectors.explode_bom(bom)) > bom.lines.count()  # more than one level
    assert products.get(kind=ProductKind.AIRCRAFT).variant.code == "ANKA-S"
    old = Bom.objects.get(status=BomStatus.SUPERSEDED)
    new = Bom.objects.get(part_number=old.part_number, status=BomStatus.RELEASED)
    diff = selectors.compare_revisions(old, new)
    assert diff.added and diff.removed and diff.changed
    masters = PartMaster.objects.all()
    assert {m.origin for m in masters} == {"local", "imported"}
    assert {m.make_buy for m in masters} == {"make", "buy"}
    assert masters.filter(part_number__pn="KN-72100", origin="imported", make_buy="buy").exists()
    for product in products:
        routing = selectors.routing_in_force(product.part_number)
        assert routing is not None and routing.operations.filter(inspection_point=True).exists()
    assert {"COMPOSITE", "HARNESS", "FINAL", "TEST"} <= set(
        Operation.objects.filter(inspection_point=True).values_list("work_centre__code", flat=True)
    )

    # stores: orders open, partly received and received; certificates on flight parts
    assert {POStatus.OPEN, POStatus.PARTIAL, POStatus.RECEIVED} <= set(
        PurchaseOrder.objects.values_list("status", flat=True)
    )
    received = StockItem.objects.filter(receipt__isnull=False)
    assert received.exists()
    assert not received.filter(part_number__tracking__in=["serial", "batch"], certificate_ref="")

    # the ledger balances for every item; no quantity below zero
    for item in StockItem.objects.all():
        assert stock_selectors.ledger_balance(item) == item.quantity, item
        assert 0 <= item.reserved <= item.quantity

    # no serial fitted to an aircraft is also in stock
    live = StockItem.objects.filter(part__isnull=False).filter(
        Q(quantity__gt=0) | Q(repair_supplier__isnull=False)
    )
    assert live.exists()
    fitted = set(
        Installation.objects.filter(removed_at__isnull=True).values_list("part_id", flat=True)
    )
    assert not fitted & set(live.values_list("part_id", flat=True))

    # one part out at the repair station (and one back from it)
    out = StockItem.objects.get(repair_supplier__isnull=False)
    assert out.repair_supplier.repairs and out.quantity == 0 and out.part_id
    assert StockMovement.objects.filter(kind=MovementKind.REPAIR_IN).exists()
    assert StockItem.objects.filter(status=StockStatus.QUARANTINE, quantity__gt=0).exists()

    # an expired batch on the shelf: issuing it is refused and changes nothing
    expired = StockItem.objects.get(
        expires_on__lt=now.date(), quantity__gt=0, status=StockStatus.SERVICEABLE
    )
    assert expired.part_number.master.shelf_life_days
    with pytest.raises(RuleViolation, match="expired"):
        stores.issue(actor=hub, item=expired, quantity="0.1", reference="ANKA-S kit 04")
    assert StockItem.objects.get(pk=expired.pk).quantity == expired.quantity

    # consumption: issues to work packages and to kit builds; reorder suggestions follow
    numbers = set(WorkPackage.objects.values_list("number", flat=True))
    issues = StockMovement.objects.filter(kind=MovementKind.ISSUE)
    assert numbers & set(issues.values_list("reference", flat=True))
    assert issues.filter(reference__startswith="ANKA-S kit").exists()
    suggestions = stock_selectors.reorder_suggestions(hub)
    assert suggestions
    assert any(s.owner_id is None for s in suggestions)
    assert any(s.owner_id is not None for s in suggestions)
    viewer = User.objects.get(username="operator-c")
    assert {s.owner_id for s in stock_selectors.reorder_suggestions(viewer)} <= {viewer.operator_id}

    # the pages show it
    client = Client()
    client.force_login(hub)
    page = client.get("/stores/reorder/")
    assert page.status_code == 200 and suggestions[0].part_number.pn in page.content.decode()
    assert client.get(f"/production/boms/{new.pk}/?with={old.pk}").status_code == 200
    assert client.get("/stores/orders/").status_code == 200

    # the signed records are untouched
    capsys.readouterr()
    call_command("records", "verify")
    assert capsys.readouterr().out.startswith("intact: 3 chains")
