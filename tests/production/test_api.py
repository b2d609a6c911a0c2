"""The engineering data API: read endpoints for hub staff; operator staff are refused."""

from __future__ import annotations

import pytest
from django.test import Client

from tests import factories as f

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


def test_hub_staff_read_boms_with_explosion_and_comparison(data):
    c = client_for(f.user(role="technician"))
    a, b, rivet = data["a"], data["b"], data["rivet"]
    body = c.get("/api/boms/").json()
    assert {row["revision"] for row in body["results"]} == {"A", "B"}
    detail = c.get(f"/api/boms/{a.pk}/").json()
    assert detail["status"] == "released" and [x["quantity"] for x in detail["lines"]] == [
        "2.0000",
        "4.0000",
    ]
    exploded = c.get(f"/api/boms/{a.pk}/explode/?quantity=2").json()
    rivets = [r for r in exploded["rows"] if r["pn"] == rivet.pn]
    assert sorted(r["extended"] for r in rivets) == ["48", "8"]  # 2 × 2 × 12 and 2 × 4
    assert c.get(f"/api/boms/{a.pk}/explode/?quantity=x").status_code == 400
    diff = c.get(f"/api/boms/{a.pk}/compare/?with={b.pk}").json()
    assert diff["added"] == [] and diff["removed"] == []
    assert diff["changed"][0]["fields"] == ["quantity"]
    assert diff["changed"][0]["after"]["quantity"] == "6.0000"
    assert c.get(f"/api/boms/{a.pk}/compare/").status_code == 400
    for bad in ("abc", "²", "9" * 30):  # no number, or none the database takes: 400, not 500
        assert c.get(f"/api/boms/{a.pk}/compare/?with={bad}").status_code == 400
    page = c.get(f"/production/boms/{a.pk}/?with=²")
    assert page.status_code == 200 and "diff" not in page.context
    assert c.get(f"/api/products/{data['product'].pk}/").json()["kind"] == "satcom_terminal"
    ops = c.get(f"/api/routings/{data['routing'].pk}/").json()["operations"]
    assert ops[0]["inspection_point"] and ops[0]["inspection"] == "Tap test"
    assert c.get("/api/part-masters/").json()["count"] == 3
    assert c.get("/api/work-centres/").json()["results"][0]["code"] == "BOND"


def test_operator_staff_are_refused_engineering_data(data):
    c = client_for(f.user(operator=f.operator()))
    for url in (
        "/api/boms/",
        f"/api/boms/{data['a'].pk}/",
        f"/api/boms/{data['a'].pk}/explode/",
        "/api/products/",
        "/api/part-masters/",
        "/api/routings/",
        "/api/work-centres/",
    ):
        assert c.get(url).status_code == 403, url
    assert Client().get("/api/boms/").status_code in (401, 403)
