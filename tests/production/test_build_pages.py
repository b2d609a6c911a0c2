"""The build order pages: the board by status, an order with its forms (each calling its
``build`` service and showing the refusal with 400/409), the NCR list; operator staff get
403 everywhere."""

from __future__ import annotations

import pytest

from kanat.production import build
from kanat.production.models import BuildStatus, InspectionResult, NcrStatus, OperationProgress
from tests import factories as f
from tests.production.test_api import client_for
from tests.production.test_build import aircraft_line, ops, order_for

pytestmark = pytest.mark.django_db


def url(order) -> str:
    return f"/production/orders/{order.pk}/"


def test_the_board_shows_orders_by_status_with_their_progress():
    line = aircraft_line()
    order = order_for(line)
    build.issue_material(actor=line.storekeeper, order=order)
    join, rig = ops(line)
    build.record_operation(actor=line.tech, order=order, operation=join)
    build.raise_ncr(actor=line.inspector, order=order, description="Dent")
    planned = build.create_build_order(
        actor=line.planner,
        product=line.product,
        quantity=1,
        serials=["UAV-002"],
        operator=line.operator,
    )
    c = client_for(line.planner)
    body = c.get("/production/orders/").content.decode()
    in_progress = body.split('id="column-in_progress"')[1].split("</section>")[0]
    assert order.number in in_progress and "UAV-001" in in_progress
    assert "BOM rev A" in in_progress and "operations 1/2" in in_progress
    assert "inspections 0/1" in in_progress and "1 open NCR" in in_progress
    assert planned.number in body.split('id="column-planned"')[1].split("</section>")[0]
    for status in BuildStatus.values:
        assert f'id="column-{status}"' in body
    assert order.number in c.get("/production/orders/?product=UAV-1").content.decode()
    other = c.get("/production/orders/?product=NOPE").content.decode()
    assert order.number not in other
    # the sub-nav links the pages from the BOM list
    boms = c.get("/production/boms/").content.decode()
    assert "/production/orders/" in boms and "/production/ncrs/" in boms


def test_an_order_is_built_through_its_page():
    line = aircraft_line()
    order = build.create_build_order(
        actor=line.planner,
        product=line.product,
        quantity=1,
        serials=["UAV-001"],
        operator=line.operator,
    )
    planner, keeper = client_for(line.planner), client_for(line.storekeeper)
    tech, inspector, quality = (
        client_for(line.tech),
        client_for(line.inspector),
        client_for(line.quality),
    )
    page = planner.get(url(order)).content.decode()
    assert 'id="release-order"' in page and line.sealant_pn.pn in page
    assert planner.post(url(order), {"action": "release"}).status_code == 302
    order.refresh_from_db()
    assert order.status == BuildStatus.RELEASED
    page = keeper.get(url(order)).content.decode()
    assert "short: 1.5 to issue" in page and 'id="issue-material"' in page
    assert keeper.post(url(order), {"action": "reserve"}).status_code == 302
    assert keeper.post(url(order), {"action": "issue"}).status_code == 302
    assert "short:" not in keeper.get(url(order)).content.decode()

    join, rig = ops(line)
    for op in (join, rig):
        r = tech.post(url(order), {"action": "sign_operation", "operation": op.pk, "note": "ok"})
        assert r.status_code == 302 and r["Location"].endswith(f"#op-{op.seq}")
    assert OperationProgress.objects.filter(order=order).count() == 2
    # a failed inspection from its measured values
    failed = {"action": "inspect", "operation": rig.pk, "m-0-name": "elevator up"}
    failed |= {"m-0-value": "31.5", "m-0-lower": "28", "m-0-upper": "30", "m-0-unit": "deg"}
    assert inspector.post(url(order), failed).status_code == 302
    result = InspectionResult.objects.get(order=order)
    assert result.passed is False and result.measurements[0]["upper"] == "30"
    page = inspector.get(url(order)).content.decode()
    assert "elevator up 31.5 deg" in page and "outside" in page

    r = inspector.post(
        url(order), {"action": "raise_ncr", "operation": rig.pk, "description": "Travel high"}
    )
    assert r.status_code == 302
    ncr = order.ncrs.get()
    assert ncr.operation == rig
    disposition = {"action": "disposition_ncr", "ncr": ncr.pk, "disposition": "rework"}
    disposition |= {"concession": "on", "note": "re-rig"}
    assert inspector.post(url(order), disposition).status_code == 302
    ncr.refresh_from_db()
    assert (ncr.disposition, ncr.concession) == ("rework", True)
    # the raiser may not approve; quality may
    refused = quality.post(url(order), {"action": "close_ncr", "ncr": ncr.pk})
    assert refused.status_code == 400 and "not approved" in refused.content.decode()
    assert (
        quality.post(url(order), {"action": "approve_concession", "ncr": ncr.pk}).status_code == 302
    )
    assert quality.post(url(order), {"action": "close_ncr", "ncr": ncr.pk}).status_code == 302
    ncr.refresh_from_db()
    assert ncr.status == NcrStatus.CLOSED

    # completion lists what blocks it, and refuses while the inspection is failed
    page = planner.get(url(order)).content.decode()
    assert 'id="blockers"' in page and "inspection at operation 20" in page
    refused = planner.post(url(order), {"action": "complete"})
    assert refused.status_code == 400 and 'id="error"' in refused.content.decode()
    passing = {"action": "inspect", "operation": rig.pk, "m-0-name": "elevator up"}
    passing |= {"m-0-value": "29.4", "m-0-lower": "28", "m-0-upper": "30", "passed": "pass"}
    assert inspector.post(url(order), passing).status_code == 302
    assert 'id="ready"' in planner.get(url(order)).content.decode()
    assert planner.post(url(order), {"action": "complete"}).status_code == 302
    order.refresh_from_db()
    assert order.status == BuildStatus.COMPLETED
    page = planner.get(url(order)).content.decode()
    assert 'id="accept-order"' in page
    assert planner.post(url(order), {"action": "accept"}).status_code == 302
    order.refresh_from_db()
    assert order.status == BuildStatus.ACCEPTED
    assert "Accepted into" in planner.get(url(order)).content.decode()


def test_refusals_come_back_on_the_page_with_400_or_409():
    line = aircraft_line()
    order = order_for(line)
    join, rig = ops(line)
    tech, inspector = client_for(line.tech), client_for(line.inspector)
    # a conflict: the operation is signed twice
    assert (
        tech.post(url(order), {"action": "sign_operation", "operation": rig.pk}).status_code == 302
    )
    twice = tech.post(url(order), {"action": "sign_operation", "operation": rig.pk})
    assert twice.status_code == 409 and "already signed" in twice.content.decode()
    # a rule: only an inspection point is inspected
    own = {"action": "inspect", "operation": rig.pk, "m-0-name": "travel", "m-0-value": "29"}
    build.record_operation(actor=line.inspector, order=order, operation=join)
    r = inspector.post(url(order), own | {"operation": join.pk})
    assert r.status_code == 400 and "not an inspection point" in r.content.decode()
    # a pass with a value outside its limits; the entered value is kept
    bad = {"action": "inspect", "operation": rig.pk, "m-0-name": "travel", "m-0-value": "35"}
    bad |= {"m-0-upper": "30", "passed": "pass"}
    r = inspector.post(url(order), bad)
    body = r.content.decode()
    assert r.status_code == 400 and "cannot pass" in body and 'value="35"' in body
    r = inspector.post(url(order), {"action": "inspect", "operation": rig.pk, "m-0-value": "x"})
    assert r.status_code == 400 and "name is required" in r.content.decode()
    r = inspector.post(url(order), {"action": "raise_ncr", "description": "  "})
    assert r.status_code == 400 and "say what does not conform" in r.content.decode()
    r = inspector.post(url(order), {"action": "sign_operation", "operation": "999999"})
    assert r.status_code == 400
    r = inspector.post(url(order), {"action": "nonsense"})
    assert r.status_code == 400 and "unknown action" in r.content.decode()
    # a role that may not: 403
    assert client_for(line.storekeeper).post(url(order), {"action": "complete"}).status_code == 403
    assert client_for(line.tech).post(url(order), {"action": "raise_ncr"}).status_code == 403
    ncr = build.raise_ncr(actor=line.quality, order=order, description="Pitch")
    build.disposition_ncr(actor=line.quality, ncr=ncr, disposition="use_as_is", concession=True)
    raiser = client_for(line.quality).post(
        url(order), {"action": "approve_concession", "ncr": ncr.pk}
    )
    assert raiser.status_code == 400 and "someone else approves" in raiser.content.decode()
    r = inspector.post(
        url(order), {"action": "disposition_ncr", "ncr": ncr.pk, "disposition": "pray"}
    )
    assert r.status_code == 400 and "disposition must be one of" in r.content.decode()


def test_short_stock_is_a_conflict_naming_the_part():
    short = aircraft_line(sealant_qty=1)
    order2 = order_for(short, serial="UAV-009")
    r = client_for(short.storekeeper).post(url(order2), {"action": "reserve"})
    assert r.status_code == 409 and f"short of {short.sealant_pn.pn}" in r.content.decode()


def test_the_ncr_list_filters_by_status_order_and_disposition():
    line = aircraft_line()
    order = order_for(line)
    a = build.raise_ncr(actor=line.inspector, order=order, description="Dent on skin")
    b = build.raise_ncr(actor=line.inspector, order=order, description="Loose rivet")
    build.disposition_ncr(actor=line.inspector, ncr=b, disposition="scrap")
    build.close_ncr(actor=line.inspector, ncr=b)
    c = client_for(line.tech)
    body = c.get("/production/ncrs/").content.decode()
    assert a.number in body and b.number in body and order.number in body
    open_ = c.get("/production/ncrs/?status=open").content.decode()
    assert a.number in open_ and b.number not in open_
    scrap = c.get("/production/ncrs/?disposition=scrap").content.decode()
    assert b.number in scrap and a.number not in scrap
    none = c.get("/production/ncrs/?disposition=none").content.decode()
    assert a.number in none and b.number not in none
    assert a.number in c.get(f"/production/ncrs/?order={order.number}").content.decode()
    assert a.number not in c.get("/production/ncrs/?order=BO-NONE").content.decode()


def test_operator_staff_get_403_on_build_order_pages():
    line = aircraft_line()
    order = order_for(line)
    ncr = build.raise_ncr(actor=line.inspector, order=order, description="Dent")
    customer = client_for(f.user(operator=line.operator))
    for page in ("/production/orders/", url(order), "/production/ncrs/"):
        assert customer.get(page).status_code == 403, page
    r = customer.post(url(order), {"action": "close_ncr", "ncr": ncr.pk})
    assert r.status_code == 403
    assert client_for(line.planner).get("/production/orders/999999/").status_code == 404


def test_the_order_page_says_when_its_build_is_a_first_article():
    line = aircraft_line()
    order = build.create_build_order(
        actor=line.planner,
        product=line.product,
        quantity=1,
        serials=["UAV-FA1"],
        operator=line.operator,
    )
    page = client_for(line.planner).get(url(order)).content.decode()
    assert 'id="first-article"' in page and order.bom.revision in page
