"""The localisation measure: the pure calculation on plain data (no database), and the
page per product over its BOM revisions (hub staff; operator staff get 403)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest

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
