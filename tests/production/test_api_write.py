"""The build-order write API: an aircraft built end to end through ``/api/`` (create,
release, reserve, issue, sign, inspect, NCR, complete, accept), refusals naming their
field with 400/409/403 as ``kanat.api.base`` maps them, operator staff refused."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from kanat.fleet.models import Aircraft, Installation
from kanat.production.models import BuildOrder, NonConformance
from tests import factories as f
from tests.production.test_build import aircraft_line

pytestmark = pytest.mark.django_db


def client_for(user: Any) -> Client:
    c = Client()
    c.force_login(user)
    return c


def post(c: Client, url: str, body: dict[str, Any] | None = None) -> Any:
    return c.post(url, body or {}, content_type="application/json")


def create_body(line: Any, serial: str = "UAV-001") -> dict[str, Any]:
    return {
        "product": line.product.pk,
        "quantity": 1,
        "serials": [serial],
        "operator": line.operator.pk,
        "planned_start": "2026-07-01",
        "planned_end": "2026-07-31",
    }


def test_an_aircraft_is_built_through_the_api_end_to_end():
    line = aircraft_line()
    planner, stores = client_for(line.planner), client_for(line.storekeeper)
    tech, inspector = client_for(line.tech), client_for(line.inspector)
    quality = client_for(line.quality)

    r = post(planner, "/api/build-orders/", create_body(line))
    assert r.status_code == 201, r.json()
    order = r.json()
    assert order["status"] == "planned" and order["serials"] == ["UAV-001"]
    assert order["planned_start"] == "2026-07-01" and order["operator"] == line.operator.pk
    base = f"/api/build-orders/{order['id']}"

    r = post(planner, f"{base}/release/")
    assert r.status_code == 200 and r.json()["status"] == "released"
    r = post(stores, f"{base}/reserve/")
    assert r.status_code == 200 and r.json()["reservations"] == 3
    r = post(stores, f"{base}/issue/")
    assert r.status_code == 200
    issued = {(x["pn"], x["batch"], x["quantity"], x["output"]) for x in r.json()["issued"]}
    assert (line.sealant_pn.pn, "SEAL-7", "1.5", "UAV-001") in issued and len(issued) == 3

    assert post(tech, f"{base}/sign-operation/", {"operation": 10}).status_code == 201
    r = post(tech, f"{base}/sign-operation/", {"operation": 20, "note": "rigged"})
    assert r.status_code == 201 and r.json()["note"] == "rigged"
    travel = {"name": "elevator up", "value": "31.5", "lower": 28, "upper": 30, "unit": "deg"}
    r = post(inspector, f"{base}/inspect/", {"operation": 20, "measurements": [travel]})
    assert r.status_code == 201 and r.json()["passed"] is False

    r = post(
        inspector,
        "/api/ncrs/",
        {"order": order["id"], "operation": 20, "description": "Elevator travel 31.5°"},
    )
    assert r.status_code == 201, r.json()
    ncr = r.json()
    assert ncr["number"].startswith("NCR-") and ncr["operation_seq"] == 20
    nbase = f"/api/ncrs/{ncr['id']}"
    r = post(
        inspector,
        f"{nbase}/disposition/",
        {"disposition": "rework", "concession": True, "note": "Re-rig"},
    )
    assert r.status_code == 200 and r.json()["disposition"] == "rework"

    # not complete yet: the failed inspection and the open NCR, the first one named
    r = post(planner, f"{base}/complete/")
    assert r.status_code == 400 and r.json()["field"] == "inspections[20]"
    # the concession is not approved: the NCR cannot close
    r = post(inspector, f"{nbase}/close/")
    assert r.status_code == 400 and r.json()["field"] == "concession"
    r = post(quality, f"{nbase}/approve-concession/")
    assert r.status_code == 200 and r.json()["concession_approved_by"] == line.quality.pk
    r = post(inspector, f"{nbase}/close/")
    assert r.status_code == 200 and r.json()["status"] == "closed"
    travel["value"] = "29.4"
    r = post(inspector, f"{base}/inspect/", {"operation": 20, "measurements": [travel]})
    assert r.status_code == 201 and r.json()["passed"] is True

    r = post(planner, f"{base}/complete/")
    assert r.status_code == 200 and r.json()["status"] == "completed"
    r = post(planner, f"{base}/accept/")
    assert r.status_code == 200, r.json()
    (made,) = r.json()["aircraft"]
    aircraft = Aircraft.objects.get(pk=made["id"])
    assert aircraft.serial == "UAV-001" and aircraft.operator == line.operator
    fitted = {
        i.position.code
        for i in Installation.objects.filter(aircraft=aircraft, removed_at__isnull=True)
    }
    assert fitted == {"ENG", "AVN"}
    assert BuildOrder.objects.get(pk=order["id"]).status == "accepted"


def test_refusals_name_their_field():
    line = aircraft_line()
    planner, tech = client_for(line.planner), client_for(line.tech)
    # the service's rules: 400 with the field
    body = create_body(line) | {"serials": []}
    r = post(planner, "/api/build-orders/", body)
    assert r.status_code == 400 and r.json()["field"] == "serials"
    r = post(planner, "/api/build-orders/", create_body(line) | {"operator": None})
    assert r.status_code == 400 and r.json()["field"] == "operator"
    r = post(planner, "/api/build-orders/", create_body(line) | {"planned_end": "2026-06-01"})
    assert r.status_code == 400 and r.json()["field"] == "planned_end"
    r = post(planner, "/api/build-orders/", create_body(line) | {"quantity": 0})
    assert r.status_code == 400 and r.json()["field"] == "quantity"
    # the request's shape: 400 keyed by the field
    r = post(planner, "/api/build-orders/", {"quantity": 1})
    assert r.status_code == 400 and "product" in r.json()
    r = post(planner, "/api/build-orders/", create_body(line) | {"product": 999999})
    assert r.status_code == 400 and "product" in r.json()

    order = post(planner, "/api/build-orders/", create_body(line)).json()
    base = f"/api/build-orders/{order['id']}"
    # work on a planned order: its status is not the one the action needs, 409
    r = post(tech, f"{base}/sign-operation/", {"operation": 10})
    assert r.status_code == 409 and r.json()["field"] == "status"
    assert post(planner, f"{base}/release/").status_code == 200
    # released twice: refused, naming the status
    r = post(planner, f"{base}/release/")
    assert r.status_code == 409 and r.json()["field"] == "status"
    r = post(tech, f"{base}/sign-operation/", {"operation": 99})
    assert r.status_code == 400 and "operation" in r.json()
    r = post(tech, f"{base}/sign-operation/", {})
    assert r.status_code == 400 and "operation" in r.json()
    assert post(tech, f"{base}/sign-operation/", {"operation": 20}).status_code == 201
    # signed twice: someone got there first, 409
    r = post(tech, f"{base}/sign-operation/", {"operation": 20})
    assert r.status_code == 409 and r.json()["field"] == "operation"
    # the signer does not inspect their own work
    r = post(tech, f"{base}/inspect/", {"operation": 20, "passed": True})
    assert r.status_code in (400, 403)
    r = post(client_for(line.inspector), f"{base}/inspect/", {"operation": 10, "passed": True})
    assert r.status_code == 400 and r.json()["field"] == "operation"
    # a technician may not release an order, nor a planner approve a concession: 403
    other = post(planner, "/api/build-orders/", create_body(line, "UAV-002")).json()
    r = post(tech, f"/api/build-orders/{other['id']}/release/")
    assert r.status_code == 403
    ncr = post(
        client_for(line.inspector), "/api/ncrs/", {"order": order["id"], "description": "Dent"}
    ).json()
    r = post(client_for(line.inspector), f"/api/ncrs/{ncr['id']}/disposition/", {})
    assert r.status_code == 400 and "disposition" in r.json()
    r = post(
        client_for(line.inspector),
        f"/api/ncrs/{ncr['id']}/disposition/",
        {"disposition": "scrap", "concession": True},
    )
    assert r.status_code == 400 and r.json()["field"] == "concession"
    r = post(planner, f"/api/ncrs/{ncr['id']}/approve-concession/")
    assert r.status_code == 403
    r = post(client_for(line.inspector), "/api/ncrs/", {"order": order["id"], "description": ""})
    assert r.status_code == 400 and r.json()["field"] == "description"


def test_operator_staff_are_refused_every_write():
    line = aircraft_line()
    order = post(client_for(line.planner), "/api/build-orders/", create_body(line)).json()
    post(client_for(line.planner), f"/api/build-orders/{order['id']}/release/")
    ncr = post(
        client_for(line.inspector), "/api/ncrs/", {"order": order["id"], "description": "Dent"}
    ).json()
    op_user = f.user(operator=line.operator, role="operator_fleet_manager")
    c = client_for(op_user)
    base = f"/api/build-orders/{order['id']}"
    for url, body in [
        ("/api/build-orders/", create_body(line, "UAV-009")),
        (f"{base}/release/", {}),
        (f"{base}/reserve/", {}),
        (f"{base}/issue/", {}),
        (f"{base}/sign-operation/", {"operation": 10}),
        (f"{base}/inspect/", {"operation": 20, "passed": True}),
        (f"{base}/complete/", {}),
        (f"{base}/accept/", {}),
        ("/api/ncrs/", {"order": order["id"], "description": "x"}),
        (f"/api/ncrs/{ncr['id']}/disposition/", {"disposition": "scrap"}),
        (f"/api/ncrs/{ncr['id']}/approve-concession/", {}),
        (f"/api/ncrs/{ncr['id']}/close/", {}),
    ]:
        assert post(c, url, body).status_code == 403, url
    assert BuildOrder.objects.count() == 1
    assert BuildOrder.objects.get().status == "released"
    assert NonConformance.objects.count() == 1
