"""The first-article API: a first article opened on a build order's serial, its forms 2
and 3 filled and its sign-off through ``/api/first-articles/`` (each a ``fai`` service),
read as a filtered list and as forms 1-3 nested; refusals with 400 naming the field, 409,
403; operator staff refused."""

from __future__ import annotations

import pytest

from kanat.core.models import AuditEvent
from kanat.production.models import FirstArticle
from tests import factories as f
from tests.production.test_api import client_for
from tests.production.test_api_write import post
from tests.production.test_fai_pages import open_one, order_of, people  # noqa: F401

pytestmark = pytest.mark.django_db

BASE = "/api/first-articles/"


def test_a_first_article_is_opened_filled_and_accepted_through_the_api(data, people):  # noqa: F811
    order = order_of(data)
    top = data["product"].part_number
    inspector, quality = client_for(people["inspector"]), client_for(people["quality"])
    r = post(
        inspector,
        BASE,
        {
            "part_number": top.pk,
            "serial": "SN-001",
            "reason": "new_part",
            "organisation": "Kanat hub, Astana",
            "build_order": order.pk,
        },
    )
    assert r.status_code == 201, r.json()
    body = r.json()
    assert body["number"].startswith("FAI-") and body["bom"] == data["a"].pk
    assert body["bom_revision"] == "A" and body["build_order_number"] == order.number
    assert body["detail_or_assembly"] == "assembly" and body["opened_by"] == "insp-ana"
    assert body["materials"] == [] and body["characteristics"] == []
    assert body["open_problems"] == [
        {"field": "characteristics", "message": "form 3 has no characteristics"}
    ]
    url = f"{BASE}{body['id']}/"
    r = post(
        inspector,
        f"{url}form2/",
        {
            "kind": "material",
            "name": "Al 7075-T6 sheet",
            "specification": "AMS 4045",
            "certificate_ref": "COC-1",
        },
    )
    assert r.status_code == 201 and r.json()["certificate_ref"] == "COC-1"
    r = post(
        inspector,
        f"{url}characteristics/",
        {
            "number": 1,
            "requirement": "Hole diameter",
            "nominal": 6.35,
            "tolerance_minus": "0.05",
            "tolerance_plus": "0.05",
            "unit": "mm",
        },
    )
    assert r.status_code == 201 and r.json()["passed"] is None
    assert r.json()["nominal"] == "6.3500"
    r = post(
        inspector,
        f"{url}characteristics/",
        {"number": 2, "requirement": "No burrs", "result": "none seen", "passed": True},
    )
    assert r.status_code == 201 and r.json()["passed"] is True
    r = post(inspector, f"{url}record-result/", {"characteristic": 1, "result": "6.41"})
    assert r.status_code == 200 and r.json()["passed"] is False
    r = post(
        inspector, f"{url}record-result/", {"characteristic": 1, "result": "6.34", "tool": "Pin"}
    )
    assert r.status_code == 200 and r.json()["passed"] is True
    assert r.json()["recorded_by"] == "insp-ana"
    detail = quality.get(url).json()
    assert [m["name"] for m in detail["materials"]] == ["Al 7075-T6 sheet"]
    assert [(c["number"], c["result"], c["tool"]) for c in detail["characteristics"]] == [
        (1, "6.34", "Pin"),
        (2, "none seen", ""),
    ]
    assert detail["open_problems"] == []
    r = post(quality, f"{url}accept/")
    assert r.status_code == 200, r.json()
    assert r.json()["status"] == "accepted" and r.json()["signed_by"] == "qual-bek"
    assert r.json()["signed_at"]
    # the list, Form 1 of each, with its filters
    listed = quality.get(BASE).json()
    assert listed["count"] == 1 and "characteristics" not in listed["results"][0]
    for query in (
        "?status=accepted",
        f"?pn={top.pn}",
        "?product=SATCOM-T1",
        f"?order={order.number}",
        f"?part_number={top.pk}",
        f"?build_order={order.pk}",
    ):
        assert quality.get(BASE + query).json()["count"] == 1, query
    for query in ("?status=open", f"?pn={data['rivet'].pn}", "?product=NOPE", "?order=X"):
        assert quality.get(BASE + query).json()["count"] == 0, query


def test_refusals_name_their_field(data, people):  # noqa: F811
    inspector, quality = client_for(people["inspector"]), client_for(people["quality"])
    top = data["product"].part_number
    opening = {"part_number": top.pk, "serial": "SN-1", "reason": "new_part", "organisation": "H"}
    r = post(inspector, BASE, opening | {"reason": "new"})
    assert r.status_code == 400 and r.json()["field"] == "reason"
    r = post(inspector, BASE, opening | {"bom": data["b"].pk})  # a draft
    assert r.status_code == 400 and r.json()["field"] == "bom"
    r = post(inspector, BASE, opening | {"part_number": 999999})
    assert r.status_code == 400 and "part_number" in r.json()
    r = post(client_for(people["planner"]), BASE, opening)
    assert r.status_code == 403
    assert not FirstArticle.objects.exists()
    record = open_one(data, people)
    r = post(inspector, BASE, opening)
    assert r.status_code == 409 and r.json()["field"] == "part_number"
    url = f"{BASE}{record.pk}/"
    events = AuditEvent.objects.count()
    r = post(inspector, f"{url}form2/", {"kind": "material", "name": "x", "specification": "y"})
    assert r.status_code == 400 and r.json()["field"] == "certificate_ref"
    r = post(inspector, f"{url}characteristics/", {"number": 0, "requirement": "x"})
    assert r.status_code == 400 and r.json()["field"] == "number"
    r = post(inspector, f"{url}characteristics/", {"number": 1, "requirement": "x", "nominal": "a"})
    assert r.status_code == 400 and r.json()["field"] == "nominal"
    r = post(inspector, f"{url}record-result/", {"characteristic": 7, "result": "1"})
    assert r.status_code == 400 and "characteristic" in r.json()
    r = post(quality, f"{url}accept/")
    assert r.status_code == 400 and r.json()["field"] == "characteristics"
    r = post(inspector, f"{url}accept/")  # not a signing role
    assert r.status_code == 403
    r = post(quality, f"{url}reject/", {"reason": ""})
    assert r.status_code == 400 and r.json()["field"] == "reason"
    assert AuditEvent.objects.count() == events
    r = post(quality, f"{url}reject/", {"reason": "Wrong material"})
    assert r.status_code == 200 and r.json()["status"] == "rejected"
    assert r.json()["rejection_reason"] == "Wrong material"
    r = post(inspector, f"{url}characteristics/", {"number": 1, "requirement": "x"})
    assert r.status_code == 409 and r.json()["field"] == "status"
    r = post(quality, f"{url}accept/")
    assert r.status_code == 409


def test_the_preparer_does_not_accept_their_own(data, people):  # noqa: F811
    preparer = f.user(role="quality")
    record = open_one(data, people)
    record.opened_by = preparer  # as if a quality engineer had prepared it
    record.save(update_fields=["opened_by"])
    r = post(client_for(preparer), f"{BASE}{record.pk}/accept/")
    assert r.status_code == 403 and "someone else" in r.json()["detail"]


def test_operator_staff_are_refused(data, people):  # noqa: F811
    record = open_one(data, people)
    customer = client_for(f.user(operator=f.operator()))
    for url in (BASE, f"{BASE}{record.pk}/"):
        assert customer.get(url).status_code == 403, url
    assert post(customer, BASE, {"part_number": 1}).status_code == 403
    assert post(customer, f"{BASE}{record.pk}/accept/").status_code == 403
    assert client_for(people["quality"]).get(f"{BASE}999999/").status_code == 404
