"""The localisation measure: the pure calculation on plain data (no database), and the
page per product over its BOM revisions (hub staff; operator staff get 403)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal as D

import pytest
from django.utils import timezone

from kanat.production import services as prod
from kanat.production.localisation import Measure, Op, PartRow, Share, measure, series
from kanat.production.models import WorkCentre
from tests import factories as f
from tests.production.test_api import client_for

# --- the calculation, no database ---------------------------------------------------------


def test_count_value_and_hours_shares():
    rows = [
        PartRow("HARNESS", D(1), is_assembly=True, local=True),
        PartRow("WIRE", D("12.5"), is_assembly=False, local=True, unit_value=D(2)),  # 25
        PartRow("CONNECTOR", D(4), is_assembly=False, local=False, unit_value=D(25)),  # 100
        PartRow("ENGINE", D(1), is_assembly=False, local=False, unit_value=D(875)),  # 875
        PartRow("CONNECTOR", D(2), is_assembly=False, local=False, unit_value=D(25)),  # 50
    ]
    routings = {
        "UAV": [Op("FINAL", D(10), True), Op("PAINT-TR", D(6), False)],
        "HARNESS": [Op("WIRING", D(2), True)],
        "WIRE": [],
    }
    m = measure("UAV", rows, routings, label="B", at=dt.date(2025, 3, 1))
    # distinct part numbers: HARNESS and WIRE local of 4 (CONNECTOR counted once)
    assert m.parts == Share(D(2), D(4)) and m.parts.percent == "50%"
    # value over the leaves only: the harness's value is its wire's
    assert m.value == Share(D(25), D(1050)) and m.unpriced == 0
    assert m.hours == Share(D(12), D(18)) and m.hours.ratio == pytest.approx(2 / 3)


def test_hours_multiply_by_the_quantity_per_product():
    rows = [PartRow("PANEL", D(3), is_assembly=True, local=True)]
    m = measure("TOP", rows, {"PANEL": [Op("BOND", D("1.5"), True)], "TOP": []})
    assert m.hours == Share(D("4.5"), D("4.5"))


def test_value_is_unknown_without_prices_and_unpriced_leaves_are_counted():
    rows = [
        PartRow("A", D(1), is_assembly=False, local=True),
        PartRow("B", D(1), is_assembly=False, local=False),
    ]
    m = measure("TOP", rows, {})
    assert m.value is None and not m.value_known and m.unpriced == 2
    assert m.hours == Share(D(0), D(0)) and m.hours.ratio is None and m.hours.percent == "—"
    partly = measure(
        "TOP", [rows[0], PartRow("B", D(2), is_assembly=False, local=False, unit_value=D(5))], {}
    )
    assert partly.value == Share(D(0), D(10)) and partly.unpriced == 1


def test_a_series_is_ordered_by_date():
    empty = Share(D(0), D(0))
    late = Measure("B", dt.date(2025, 1, 1), empty, None, 0, empty)
    early = Measure("A", dt.date(2024, 1, 1), empty, None, 0, empty)
    s = series("TOP", "Top", [late, early])
    assert [p.label for p in s.points] == ["A", "B"] and s.latest is late


# --- the page ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_page_shows_each_revision_of_each_product(data):
    a, b = data["a"], data["b"]
    top = data["product"].part_number
    # revision B replaces the imported rivets at find number 20 with a local bracket
    bracket = f.part_master(make_buy="make", origin="local").part_number
    prod.remove_bom_line(actor=None, line=b.lines.get(find_number=20))
    prod.add_bom_line(actor=None, bom=b, find_number=30, child=bracket, quantity=1)
    prod.release_bom(actor=None, bom=b)
    WorkCentre.objects.create(code="TR-ANKARA", name="Licensor's line", local=False)
    prod.define_routing(
        actor=None,
        part_number=top,
        operations=[
            {"seq": 10, "work_centre": "TR-ANKARA", "description": "Integrate", "standard_hours": 6}
        ],
    )
    c = client_for(f.user(role="planner"))
    response = c.get("/production/localisation/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "SATCOM-T1" in body and "<svg" in body and "<polyline" in body
    assert 'id="value-unknown"' in body  # purchase-order lines carry no price
    # rev A: top's lines panel (local) and rivets (imported); under the panel, rivets again
    # -> 1 of 2 part numbers local; hours: 2 panels × 2 h local + 6 h abroad
    assert "<td>A</td>" in body and "<td>B</td>" in body
    assert "50% (1 of 2)" in body and "40% (4.00 of 10.00 h)" in body
    # rev B: panel, bracket local; rivets (under the panel) imported
    assert "67% (2 of 3)" in body
    assert a.released_at.date().isoformat() in body


@pytest.mark.django_db
def test_operator_staff_get_403(data):
    c = client_for(f.user(operator=f.operator()))
    assert c.get("/production/localisation/").status_code == 403


# --- value shares from purchase-order prices, the API and the CSV ---------------------------


def _rev_b_with_a_local_bracket(data):
    """Revision B: the top's rivets (find number 20) replaced by a local bracket; the
    panel's rivets stay. Leaves: rev A rivets 4 + 2 × 12 = 28; rev B rivets 24, bracket 1."""
    b = data["b"]
    bracket = f.part_master(make_buy="buy", origin="local", tracking="consumable").part_number
    prod.remove_bom_line(actor=None, line=b.lines.get(find_number=20))
    prod.add_bom_line(actor=None, bom=b, find_number=30, child=bracket, quantity=1)
    prod.release_bom(actor=None, bom=b)
    return bracket


def _priced(data, bracket):
    rivet = data["rivet"]
    now = timezone.now()
    f.purchase_order([(rivet, 100, 10), (bracket, 5, 400)], at=now - dt.timedelta(days=30))
    f.purchase_order([(rivet, 100, "12.5")], at=now - dt.timedelta(days=10))  # the latest
    # a price in another currency is not converted: left out, and said so
    f.purchase_order([(bracket, 1, 1)], currency="USD", at=now - dt.timedelta(days=1))


@pytest.mark.django_db
def test_value_shares_come_from_the_latest_price_in_the_dominant_currency(data):
    bracket = _rev_b_with_a_local_bracket(data)
    _priced(data, bracket)
    body = client_for(f.user(role="planner")).get("/production/localisation/").content.decode()
    assert 'id="value-unknown"' not in body and 'id="value-basis"' in body
    assert "1 line in USD" in body
    # rev A: 28 rivets × 12.5 = 350, none local
    assert "0% (0.00 of 350.00 KZT)" in body
    # rev B: the bracket 400 (KZT, not the USD price) local of 400 + 24 × 12.5 = 700
    assert "57% (400.00 of 700.00 KZT)" in body


@pytest.mark.django_db
def test_a_part_priced_only_in_another_currency_is_unpriced(data):
    bracket = _rev_b_with_a_local_bracket(data)
    f.purchase_order([(data["rivet"], 10, 3), (data["rivet"], 5, 3)])
    f.purchase_order([(bracket, 1, 1)], currency="EUR")
    body = client_for(f.user(role="planner")).get("/api/localisation/").json()
    (product,) = body["results"]
    assert body["value_currency"] == "KZT" and body["left_out_lines_by_currency"] == {"EUR": 1}
    rev_b = product["points"][1]
    assert rev_b["revision"] == "B" and rev_b["unpriced_leaves"] == 1
    assert rev_b["share_by_value"] == 0.0 and rev_b["value_total"] == "72"  # 24 × 3


@pytest.mark.django_db
def test_the_api_gives_each_products_points(data):
    bracket = _rev_b_with_a_local_bracket(data)
    c = client_for(f.user(role="planner"))
    unpriced = c.get("/api/localisation/").json()
    assert unpriced["value_currency"] is None
    assert all(p["share_by_value"] is None for p in unpriced["results"][0]["points"])
    _priced(data, bracket)
    response = c.get("/api/localisation/")
    assert response.status_code == 200
    (product,) = response.json()["results"]
    assert product["pn"] == data["product"].part_number.pn and "SATCOM-T1" in product["product"]
    a, b = product["points"]
    assert a == {
        "revision": "A",
        "date": data["a"].released_at.date().isoformat(),
        "share_by_count": 0.5,
        "parts_local": "1",
        "parts_total": "2",
        "share_by_value": 0.0,
        "value_local": "0",
        "value_total": "350",
        "value_currency": "KZT",
        "unpriced_leaves": 0,
        "share_by_hours": 1.0,
        "hours_local": "4",
        "hours_total": "4",
    }
    assert b["revision"] == "B" and b["share_by_count"] == round(2 / 3, 4)
    assert b["share_by_value"] == round(400 / 700, 4) == 0.5714
    assert (b["value_local"], b["value_total"]) == ("400", "700")


@pytest.mark.django_db
def test_the_api_is_hub_staff_only(data):
    c = client_for(f.user(operator=f.operator()))
    assert c.get("/api/localisation/").status_code == 403


@pytest.mark.django_db
def test_the_page_downloads_as_csv(data):
    bracket = _rev_b_with_a_local_bracket(data)
    _priced(data, bracket)
    c = client_for(f.user(role="planner"))
    assert 'href="?format=csv"' in c.get("/production/localisation/").content.decode()
    response = c.get("/production/localisation/?format=csv")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [r["revision"] for r in rows] == ["A", "B"]
    assert rows[1]["share_by_value"] == "0.5714" and rows[1]["value_currency"] == "KZT"
    assert rows[0]["pn"] == data["product"].part_number.pn
    operator = client_for(f.user(operator=f.operator()))
    assert operator.get("/production/localisation/?format=csv").status_code == 403
