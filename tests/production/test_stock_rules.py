"""What the stores refuse around build orders: material issued past its order, another
customer's stock, stock in quarantine; and whom a built serial belongs to."""

from __future__ import annotations

import pytest

from kanat.core.errors import RuleViolation
from kanat.inventory import services as inv
from kanat.production import build
from tests import factories as f
from tests.production.test_build import aircraft_line, order_for

pytestmark = pytest.mark.django_db


def test_a_build_orders_material_is_issued_by_the_order_not_past_it():
    line = aircraft_line()
    order = order_for(line)
    build.reserve_material(actor=line.storekeeper, order=order)
    with pytest.raises(RuleViolation, match="is a build order: issue its material from the order"):
        inv.issue(actor=line.storekeeper, item=line.engine, quantity=1, reference=order.number)
    build.issue_material(actor=line.storekeeper, order=order)
    assert order.consumptions.filter(part=line.engine.part).count() == 1


def test_another_customers_stock_does_not_go_into_an_order():
    line = aircraft_line()
    order = order_for(line)
    theirs = f.serial_stock(pn=line.engine_pn, owner=f.operator())
    with pytest.raises(RuleViolation, match="is not built for it") as exc:
        inv.reserve(actor=line.storekeeper, item=theirs, quantity=1, reference=order.number)
    assert exc.value.field == "reference"


def test_stock_in_a_quarantine_location_is_neither_reserved_nor_issued():
    line = aircraft_line()
    quarantine = f.location(kind="quarantine")
    moved = inv.transfer(actor=line.storekeeper, item=line.sealant, to_location=quarantine)
    for call in (inv.reserve, inv.issue):
        with pytest.raises(RuleViolation, match="quarantine location"):
            call(actor=line.storekeeper, item=moved, quantity=1, reference="WP-X")


def test_a_built_serial_belongs_to_the_customer():
    from tests.production.test_build import (
        test_an_aircraft_is_built_inspected_and_accepted_into_its_operators_fleet as built,
    )  # noqa: E501

    built()
    from kanat.fleet.models import Part

    airframe = Part.objects.get(serial="UAV-001")
    assert airframe.operator is not None
