"""An NCR's scrap disposition scraps what it names, in the stores' ledger too: a scrapped
serial or batch quantity no longer satisfies its BOM line, the order is not completed
until a replacement is issued, and the as-built record and genealogy show the
replacement; a unit scrapped for its workmanship is never completed."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from kanat.core.errors import Conflict, RuleViolation
from kanat.fleet.models import Installation, Part
from kanat.inventory import selectors as stores
from kanat.inventory import services as inv
from kanat.inventory.models import StockItem, StockMovement, StockStatus
from kanat.production import build
from kanat.production import services as prod
from kanat.production.models import BuildConsumption, BuildScrap, BuildStatus
from tests import factories as f
from tests.production.test_build import aircraft_line, genealogy, ops, order_for


def finish_work(line, order):
    join, rig = ops(line)
    build.record_operation(actor=line.tech, order=order, operation=join)
    build.record_operation(actor=line.tech, order=order, operation=rig)
    build.record_inspection(actor=line.inspector, order=order, operation=rig, passed=True)


def consumption_of(order, pn):
    return BuildConsumption.objects.get(order=order, part_number=pn)


@pytest.mark.django_db
def test_a_scrapped_serial_is_replaced_before_the_order_completes():
    line = aircraft_line()
    order = order_for(line)
    build.issue_material(actor=line.storekeeper, order=order)
    finish_work(line, order)
    bad = consumption_of(order, line.engine_pn)
    scrapped_engine = bad.part
    ncr = build.raise_ncr(
        actor=line.inspector,
        order=order,
        consumption=bad,
        description="Engine mount flange cracked on fitting",
    )
    assert ncr.consumption == bad
    build.disposition_ncr(actor=line.inspector, ncr=ncr, disposition="scrap")

    # the stores: the engine's item is scrapped, with a scrap movement under the order
    item = StockItem.objects.get(pk=line.engine.pk)
    assert item.status == StockStatus.SCRAPPED and item.quantity == 0
    move = StockMovement.objects.get(item=item, kind="scrap")
    assert (move.reference, move.quantity, move.delta) == (order.number, Decimal(1), 0)
    assert ncr.number in move.note
    assert stores.ledger_balance(item) == item.quantity
    (scrap,) = BuildScrap.objects.filter(order=order)
    assert (scrap.ncr, scrap.consumption, scrap.movement) == (ncr, bad, move)

    # the line is no longer satisfied: the order names what is missing
    need = {n.line.find_number: n for n in build.material(order)}
    assert (need[10].issued, need[10].to_issue) == (0, 1)
    build.close_ncr(actor=line.inspector, ncr=ncr)
    refused = build.blockers(order)
    assert refused == [
        (
            "material[10]",
            f"line 10: 1 of {line.engine_pn.pn} to be issued to replace what {ncr.number} scrapped",
        )
    ]
    with pytest.raises(RuleViolation) as early:
        build.complete_build_order(actor=line.planner, order=order)
    assert early.value.field == "material[10]"
    assert ncr.number in str(early.value) and line.engine_pn.pn in str(early.value)
    assert order.outputs.get().part is None

    # the scrapped part is never issued nor returned again
    with pytest.raises(RuleViolation, match="scrapped"):
        inv.issue(actor=line.storekeeper, item=item, quantity=1, reference="WP-X")
    with pytest.raises(RuleViolation):
        inv.scrap(actor=line.storekeeper, item=item, reason="again")
    with pytest.raises(Conflict, match="short of"):  # nothing else in stock: not it either
        build.issue_material(actor=line.storekeeper, order=order)

    # a replacement serial arrives and is issued for the same line
    replacement = f.serial_stock(pn=line.engine_pn)
    (issued,) = build.issue_material(actor=line.storekeeper, order=order)
    assert (issued.bom_line.find_number, issued.part) == (10, replacement.part)
    assert build.blockers(order) == []
    order = build.complete_build_order(actor=line.planner, order=order)
    assert order.status == BuildStatus.COMPLETED

    (aircraft,) = build.accept_build_order(actor=line.planner, order=order)
    fitted = Installation.objects.get(aircraft=aircraft, position__code="ENG")
    assert fitted.part == replacement.part
    assert not Installation.objects.filter(part=scrapped_engine).exists()

    record = json.loads(genealogy("UAV-001", "--format", "json"))["birth"]["build_record"]
    engines = [b["serial"] for b in record["built_from"] if b["pn"] == line.engine_pn.pn]
    assert engines == [replacement.part.serial]
    text = genealogy(scrapped_engine.serial)
    assert f"consumed into UAV-001 (scrapped under {ncr.number}) by {order.number}" in text


@pytest.mark.django_db
def test_a_scrapped_batch_quantity_is_issued_again_and_the_rest_of_the_batch_stays():
    line = aircraft_line()
    order = order_for(line)
    build.issue_material(actor=line.storekeeper, order=order)
    finish_work(line, order)
    sealant = consumption_of(order, line.sealant_pn)
    ncr = build.raise_ncr(
        actor=line.quality, order=order, consumption=sealant, description="Sealant not cured"
    )
    build.disposition_ncr(actor=line.quality, ncr=ncr, disposition="scrap")
    build.close_ncr(actor=line.quality, ncr=ncr)
    batch = StockItem.objects.get(pk=line.sealant.pk)
    # 1.5 kg left the stock when issued; the rest of the batch is still serviceable
    assert (batch.status, batch.quantity) == (StockStatus.SERVICEABLE, Decimal("8.5"))
    move = StockMovement.objects.get(item=batch, kind="scrap")
    assert (move.quantity, move.delta, move.reference) == (Decimal("1.5"), 0, order.number)
    (field, message), *_ = build.blockers(order)
    assert field == "material[30]" and "1.5 of" in message and ncr.number in message
    (again,) = build.issue_material(actor=line.storekeeper, order=order)
    assert (again.batch, again.quantity) == ("SEAL-7", Decimal("1.5"))
    batch.refresh_from_db()
    assert batch.quantity == Decimal(7) and stores.ledger_balance(batch) == batch.quantity
    order = build.complete_build_order(actor=line.planner, order=order)
    built_from = build.build_record(order.outputs.get().part)["built_from"]  # type: ignore[index]
    assert [b["quantity"] for b in built_from if b["batch"] == "SEAL-7"] == ["1.5"]


@pytest.mark.django_db
def test_a_workmanship_scrap_scraps_the_unit_and_everything_in_it():
    """An NCR naming no material on a one-unit order scraps that unit: its output serial
    is never completed, its material is scrapped with it and needs no replacement."""
    line = aircraft_line()
    order = order_for(line)
    build.issue_material(actor=line.storekeeper, order=order)
    finish_work(line, order)
    _, rig = ops(line)
    ncr = build.raise_ncr(
        actor=line.inspector, order=order, operation=rig, description="Wing spar overtorqued"
    )
    build.disposition_ncr(actor=line.inspector, ncr=ncr, disposition="scrap")
    build.close_ncr(actor=line.inspector, ncr=ncr)
    output = order.outputs.get()
    assert output.scrapped_by == ncr
    assert BuildScrap.objects.filter(ncr=ncr).count() == 3
    for item in (line.engine, line.avionics):
        assert StockItem.objects.get(pk=item.pk).status == StockStatus.SCRAPPED
    assert all(n.required == 0 and n.to_issue == 0 for n in build.material(order))
    assert build.blockers(order) == [
        ("outputs", f"every output serial is scrapped ({ncr.number}): nothing to complete")
    ]
    with pytest.raises(RuleViolation) as refused:
        build.complete_build_order(actor=line.planner, order=order)
    assert refused.value.field == "outputs"
    assert not Part.objects.filter(serial="UAV-001").exists()
    # the serial stays claimed: a scrapped unit's serial is not built again
    with pytest.raises(Conflict, match=order.number):
        order_for(line, serial="UAV-001")


def terminal_line():
    """A serialised SATCOM terminal made of a serialised modem, built two at a time."""
    modem = f.part_master(make_buy="buy").part_number
    top = f.part_master().part_number
    f.bom(top, [(modem, 1)])
    product = prod.define_product(
        actor=None, code="SAT-T", name="SATCOM terminal", kind="satcom_terminal", part_number=top
    )
    f.work_centre(code="BENCH")
    prod.define_routing(
        actor=None,
        part_number=top,
        operations=[{"seq": 10, "work_centre": "BENCH", "description": "Build"}],
    )
    loc = f.location()
    stock = [f.serial_stock(pn=modem, loc=loc) for _ in range(2)]
    order = build.create_build_order(
        actor=None, product=product, quantity=2, serials=["T-1", "T-2"]
    )
    order = build.release_build_order(actor=None, order=order)
    return order, stock


@pytest.mark.django_db
def test_on_an_order_of_several_units_a_scrap_names_the_unit_and_the_rest_completes():
    order, stock = terminal_line()
    build.issue_material(actor=None, order=order)
    build.record_operation(actor=None, order=order, operation=order.routing.operations.get())
    vague = build.raise_ncr(actor=None, order=order, description="Something is wrong")
    with pytest.raises(RuleViolation) as which:
        build.disposition_ncr(actor=None, ncr=vague, disposition="scrap")
    assert which.value.field == "disposition" and "name the issued material" in str(which.value)
    assert not BuildScrap.objects.exists()  # nothing written
    t2 = order.outputs.get(serial="T-2")
    ncr = build.raise_ncr(actor=None, order=order, output=t2, description="Dropped")
    build.disposition_ncr(actor=None, ncr=ncr, disposition="scrap")
    for n in (vague, ncr):
        if n is vague:
            build.disposition_ncr(actor=None, ncr=n, disposition="use_as_is")
        build.close_ncr(actor=None, ncr=n)
    assert [(n.required, n.issued) for n in build.material(order)] == [(1, 1)]
    order = build.complete_build_order(actor=None, order=order)
    assert [(o.serial, o.part is not None) for o in order.outputs.order_by("serial")] == [
        ("T-1", True),
        ("T-2", False),
    ]
    scrapped_modem = BuildConsumption.objects.get(output=t2).stock_item
    assert StockItem.objects.get(pk=scrapped_modem.pk).status == StockStatus.SCRAPPED


@pytest.mark.django_db
def test_a_scrap_is_final_and_names_only_the_orders_own_material():
    line = aircraft_line()
    order = order_for(line)
    build.issue_material(actor=line.storekeeper, order=order)
    engine = consumption_of(order, line.engine_pn)
    ncr = build.raise_ncr(actor=line.inspector, order=order, consumption=engine, description="FOD")
    build.disposition_ncr(actor=line.inspector, ncr=ncr, disposition="scrap")
    with pytest.raises(Conflict) as final:
        build.disposition_ncr(actor=line.inspector, ncr=ncr, disposition="use_as_is")
    assert final.value.field == "disposition"
    with pytest.raises(RuleViolation, match="already scrapped") as twice:
        build.raise_ncr(actor=line.inspector, order=order, consumption=engine, description="x")
    assert twice.value.field == "consumption"
    other = order_for(line, serial="UAV-002")
    with pytest.raises(RuleViolation) as foreign:
        build.raise_ncr(actor=line.inspector, order=other, consumption=engine, description="x")
    assert foreign.value.field == "consumption"
    # the stores do not scrap what was not issued to the order named
    avionics = consumption_of(order, line.avionics_pn)
    with pytest.raises(RuleViolation) as not_issued:
        inv.scrap_issued_to_build(
            actor=line.inspector,
            item=avionics.stock_item,
            quantity=1,
            reference=other.number,
            reason="wrong order",
        )
    assert not_issued.value.field == "quantity"
