"""The demo's engineering data and stores: released BOMs for every kind of product, a
superseded revision to compare, routings with inspection points, purchase orders in every
state, an expired batch, a part at the repair station, reorder suggestions, consumption by
work packages, a ledger that balances, and no fitted serial in stock; and a production line
with build orders in every state, the first airframe accepted into its operator's fleet."""

from __future__ import annotations

import io
import json
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db.models import Q
from django.test import Client
from django.utils import timezone

from kanat.core.errors import RuleViolation
from kanat.core.models import User
from kanat.fleet.models import Aircraft, Installation
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
from kanat.production import build, selectors
from kanat.production.models import (
    Bom,
    BomStatus,
    BuildConsumption,
    BuildOrder,
    BuildStatus,
    InspectionResult,
    NcrStatus,
    Operation,
    PartMaster,
    Product,
    ProductKind,
)
from kanat.work.models import WorkPackage

pytestmark = pytest.mark.django_db


def test_demo_engineering_data_and_stores(demo_log, capsys):
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
    assert capsys.readouterr().out.startswith("intact: 4 chains")


def test_demo_production_line_has_orders_in_every_state(demo_log, capsys):
    orders = {
        o.outputs.get().serial: o
        for o in BuildOrder.objects.select_related("product", "operator", "bom")
    }
    kit = {s: o for s, o in orders.items() if o.product.kind == ProductKind.AIRCRAFT}
    assert {s: o.status for s, o in kit.items()} == {
        "KZ-013": BuildStatus.ACCEPTED,
        "KZ-014": BuildStatus.COMPLETED,
        "PB-009": BuildStatus.IN_PROGRESS,
        "KZ-015": BuildStatus.RELEASED,
        "PB-010": BuildStatus.PLANNED,
    }
    assert all(o.bom.revision == "B" for o in kit.values())
    satcom, tracker = orders["SAT-L001"], orders["ST-0001"]
    assert satcom.product.kind == ProductKind.SATCOM_TERMINAL
    assert satcom.status == BuildStatus.COMPLETED
    assert tracker.product.kind == ProductKind.SATELLITE_SUBSYSTEM
    assert tracker.status == BuildStatus.RELEASED

    # in progress: an open NCR, an inspection failed then passed
    wip = kit["PB-009"]
    assert wip.ncrs.filter(status=NcrStatus.OPEN).exists()
    results = list(InspectionResult.objects.filter(order=wip).order_by("at"))
    assert [r.passed for r in results] == [False, True]
    assert results[0].operation_id == results[1].operation_id
    assert ("ncrs", f"{wip.ncrs.get().number} is open") in build.blockers(wip)
    # completed: nothing stands in the way; its NCR closed on an approved concession
    done = kit["KZ-014"]
    assert build.blockers(done) == []
    (concession,) = done.ncrs.all()
    assert concession.status == NcrStatus.CLOSED and concession.concession_approved_by_id
    # released: every line held for it; planned: short of the V-tail still on order
    assert all(
        n.to_reserve == 0 and n.reserved == n.required for n in build.material(kit["KZ-015"])
    )
    planned = kit["PB-010"]
    free = {}
    for need in build.material(planned):
        free[need.line.child.pn] = sum(
            (i.available for i in build._candidates(planned, need.line, timezone.now())),
            Decimal(0),
        )
        short = free[need.line.child.pn] < need.required
        assert short == (need.line.child.pn == "KN-55100"), need.line.child.pn
    assert PurchaseOrder.objects.filter(
        lines__part_number__pn="KN-55100", status=POStatus.PARTIAL
    ).exists()

    # the SATCOM terminal built here went through the stores into the first airframe
    built = satcom.outputs.get().part
    assert StockMovement.objects.filter(
        item__part=built, kind=MovementKind.RECEIVE, reference=satcom.number
    ).exists()
    # the accepted airframe is an aircraft of its operator with its as-built configuration
    accepted = kit["KZ-013"]
    aircraft = Aircraft.objects.get(serial="KZ-013")
    assert aircraft.operator == accepted.operator and aircraft.variant.code == "ANKA-S"
    fitted = {
        i.position.code: i.part
        for i in Installation.objects.filter(
            aircraft=aircraft, removed_at__isnull=True
        ).select_related("position", "part")
    }
    assert set(fitted) == {"ENG", "PROP", "MLG", "LOS", "SATCOM"}
    assert fitted["SATCOM"] == built
    consumed = set(
        BuildConsumption.objects.filter(order=accepted, part__isnull=False).values_list(
            "part_id", flat=True
        )
    )
    assert {p.pk for p in fitted.values()} <= consumed
    engine = fitted["ENG"]
    out = io.StringIO()
    call_command("genealogy", engine.serial, "--pn", "KN-72100", "--format", "json", stdout=out)
    story = json.loads(out.getvalue())
    assert any(accepted.number in d["what"] for d in story["maintenance"])
    client = Client()
    client.force_login(User.objects.get(username="operator-kz"))
    assert "KZ-013" in client.get("/").content.decode()
    page = client.get(f"/aircraft/{aircraft.pk}/")
    assert page.status_code == 200 and engine.serial in page.content.decode()

    # the material came from stock received in the demo; the ledger still balances
    for c in BuildConsumption.objects.select_related("stock_item", "movement"):
        assert c.stock_item.receipt_id or c.stock_item.part_id == built.pk
        assert c.movement.reference == c.order.number
    for item in StockItem.objects.all():
        assert stock_selectors.ledger_balance(item) == item.quantity, item
        assert 0 <= item.reserved <= item.quantity
    capsys.readouterr()
    call_command("records", "verify")
    assert capsys.readouterr().out.startswith("intact: 4 chains")


def test_the_demo_shows_the_kits_value_share(demo_log):
    from tests import factories as f
    from tests.production.test_api import client_for

    body = client_for(f.user(role="planner")).get("/api/localisation/").json()
    assert body["value_currency"] == "KZT" and body["left_out_lines_by_currency"] == {"USD": 2}
    kit = next(p for p in body["results"] if p["product"].startswith("ANKA-S-KIT"))
    assert kit["points"] and all(p["share_by_value"] is not None for p in kit["points"])
    # rev B: local are the machined frame set (2 450 000) and four wing spars (4 × 1 850 000)
    latest = kit["points"][-1]
    assert latest["value_local"] == "9850000" and latest["value_currency"] == "KZT"
    assert latest["share_by_value"] == round(9_850_000 / int(latest["value_total"]), 4)
    page = client_for(f.user(role="planner")).get("/production/localisation/").content.decode()
    assert 'id="value-basis"' in page and "2 lines in USD" in page
