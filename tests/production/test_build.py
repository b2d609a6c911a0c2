"""Build orders: an aircraft built from a released BOM, inspected, with an NCR, completed,
accepted into its operator's fleet with its as-built configuration and genealogy; every
refusal naming its field; two orders racing for the last units of a batch."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from django.core.management import call_command

from kanat.core.errors import Conflict, NotAllowed, RuleViolation
from kanat.fleet.models import Aircraft, Installation
from kanat.inventory.models import StockItem, StockMovement
from kanat.production import build
from kanat.production import services as prod
from kanat.production.build import Measurement
from kanat.production.models import BuildConsumption, BuildStatus
from tests import factories as f
from tests.threads import race


@dataclass
class Line:
    operator: Any
    product: Any
    routing: Any
    engine_pn: Any
    avionics_pn: Any
    sealant_pn: Any
    engine: Any  # its stock item
    avionics: Any
    sealant: Any
    planner: Any
    storekeeper: Any
    tech: Any
    inspector: Any
    quality: Any


def aircraft_line(*, sealant_qty: Any = 10) -> Line:
    """An aircraft product (airframe PN of a fleet variant with ENG and AVN positions)
    whose released BOM takes an engine at ENG, an avionics unit at AVN and sealant from a
    batch; a routing with one inspection point; the stock to build one."""
    engine_pn = f.part_master(make_buy="buy", origin="imported").part_number
    avionics_pn = f.part_master(make_buy="buy").part_number
    sealant_pn = f.part_master(tracking="batch", make_buy="buy", uom="kg").part_number
    airframe_pn = f.part_master().part_number
    variant = f.variant(positions={"ENG": [engine_pn], "AVN": [avionics_pn]})
    product = prod.define_product(
        actor=None,
        code="UAV-1",
        name="Tactical UAV",
        kind="aircraft",
        part_number=airframe_pn,
        variant=variant,
    )
    draft = prod.create_bom_revision(actor=None, part_number=airframe_pn, copy_latest=False)
    for fn, child, qty, ref in (
        (10, engine_pn, 1, "ENG"),
        (20, avionics_pn, 1, "AVN"),
        (30, sealant_pn, "1.5", ""),
    ):
        prod.add_bom_line(
            actor=None, bom=draft, find_number=fn, child=child, quantity=qty, ref_des=ref
        )
    prod.release_bom(actor=None, bom=draft)
    f.work_centre(code="ASSY")
    routing, _ = prod.define_routing(
        actor=None,
        part_number=airframe_pn,
        operations=[
            {"seq": 10, "work_centre": "ASSY", "description": "Join", "standard_hours": 8},
            {
                "seq": 20,
                "work_centre": "ASSY",
                "description": "Rig controls",
                "standard_hours": 4,
                "inspection_point": True,
                "inspection": "Control surface travel",
            },
        ],
    )
    loc = f.location()
    return Line(
        operator=f.operator(),
        product=product,
        routing=routing,
        engine_pn=engine_pn,
        avionics_pn=avionics_pn,
        sealant_pn=sealant_pn,
        engine=f.serial_stock(pn=engine_pn, loc=loc),
        avionics=f.serial_stock(pn=avionics_pn, loc=loc),
        sealant=f.batch_stock(sealant_qty, pn=sealant_pn, loc=loc, batch="SEAL-7"),
        planner=f.user(role="planner"),
        storekeeper=f.user(role="storekeeper"),
        tech=f.user(role="technician"),
        inspector=f.user(role="inspector"),
        quality=f.user(role="quality"),
    )


def order_for(line: Line, serial: str = "UAV-001", **kw: Any) -> Any:
    order = build.create_build_order(
        actor=line.planner,
        product=line.product,
        quantity=1,
        serials=[serial],
        operator=line.operator,
        **kw,
    )
    return build.release_build_order(actor=line.planner, order=order)


def ops(line: Line) -> tuple[Any, Any]:
    a, b = line.routing.operations.order_by("seq")
    return a, b


def genealogy(serial: str, *args: str) -> str:
    out = io.StringIO()
    call_command("genealogy", serial, *args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_an_aircraft_is_built_inspected_and_accepted_into_its_operators_fleet():
    line = aircraft_line()
    order = order_for(line)
    assert order.number.startswith("BO-") and order.bom.revision == "A"
    assert order.routing == line.routing and order.status == BuildStatus.RELEASED

    build.reserve_material(actor=line.storekeeper, order=order)
    line.sealant.refresh_from_db()
    assert line.sealant.reserved == Decimal("1.5")
    consumed = build.issue_material(actor=line.storekeeper, order=order)
    assert {(c.part_number.pn, c.batch, c.quantity) for c in consumed} == {
        (line.engine_pn.pn, "", Decimal(1)),
        (line.avionics_pn.pn, "", Decimal(1)),
        (line.sealant_pn.pn, "SEAL-7", Decimal("1.5")),
    }
    assert all(c.output.serial == "UAV-001" for c in consumed)
    line.sealant.refresh_from_db()
    assert (line.sealant.quantity, line.sealant.reserved) == (Decimal("8.5"), 0)
    assert StockMovement.objects.filter(reference=order.number, kind="issue").count() == 3

    join, rig = ops(line)
    build.record_operation(actor=line.tech, order=order, operation=join)
    build.record_operation(actor=line.tech, order=order, operation=rig)
    travel = [Measurement("elevator up", "31.5", lower=28, upper=30, unit="deg")]
    failed = build.record_inspection(
        actor=line.inspector, order=order, operation=rig, measurements=travel
    )
    assert failed.passed is False and failed.measurements[0]["within"] is False

    ncr = build.raise_ncr(
        actor=line.inspector,
        order=order,
        operation=rig,
        description="Elevator travel 31.5° against 28–30°",
    )
    assert ncr.number.startswith("NCR-")
    build.disposition_ncr(
        actor=line.inspector,
        ncr=ncr,
        disposition="rework",
        concession=True,
        note="Re-rig; accept 30.2° stop tolerance",
    )
    with pytest.raises(RuleViolation) as refused:
        build.complete_build_order(actor=line.planner, order=order)
    assert refused.value.field == "inspections[20]"
    assert "failed" in str(refused.value) and ncr.number in str(refused.value)
    build.approve_concession(actor=line.quality, ncr=ncr)
    build.close_ncr(actor=line.inspector, ncr=ncr)
    travel = [Measurement("elevator up", "29.4", lower=28, upper=30, unit="deg")]
    passed = build.record_inspection(
        actor=line.inspector, order=order, operation=rig, measurements=travel
    )
    assert passed.passed is True

    order = build.complete_build_order(actor=line.planner, order=order)
    assert order.status == BuildStatus.COMPLETED
    airframe_part = order.outputs.get().part
    assert airframe_part.serial == "UAV-001" and airframe_part.part_number.pn == (
        line.product.part_number.pn
    )

    (aircraft,) = build.accept_build_order(actor=line.planner, order=order)
    assert Aircraft.objects.get(serial="UAV-001", operator=line.operator) == aircraft
    assert aircraft.variant == line.product.variant
    fitted = {
        (i.position.code, i.part.serial)
        for i in Installation.objects.filter(aircraft=aircraft, removed_at__isnull=True)
    }
    assert fitted == {
        ("ENG", line.engine.part.serial),
        ("AVN", line.avionics.part.serial),
    }
    order.refresh_from_db()
    assert order.status == BuildStatus.ACCEPTED

    engine = json.loads(genealogy(line.engine.part.serial, "--format", "json"))
    assert engine["birth"]["build_record"] is None  # bought in: its birth is its certificate
    (consumption,) = [d for d in engine["maintenance"] if d["what"].startswith("consumed")]
    assert consumption["what"] == f"consumed into UAV-001 by {order.number}"
    (fit,) = engine["installations"]
    assert (fit["aircraft"], fit["operator"], fit["position"]) == (
        "UAV-001",
        line.operator.code,
        "ENG",
    )
    assert fit["reference"] == order.number and fit["removed_at"] is None

    airframe = json.loads(genealogy("UAV-001", "--format", "json"))
    record = airframe["birth"]["build_record"]
    assert record["order"] == order.number and record["bom_revision"] == "A"
    assert record["built_at"] is not None
    assert [(b["pn"], b["serial"], b["batch"], b["quantity"]) for b in record["built_from"]] == [
        (line.engine_pn.pn, line.engine.part.serial, None, "1"),
        (line.avionics_pn.pn, line.avionics.part.serial, None, "1"),
        (line.sealant_pn.pn, None, "SEAL-7", "1.5"),
    ]
    text = genealogy("UAV-001")
    assert f"built by {order.number}" in text and "batch SEAL-7 × 1.5" in text
    assert f"consumed into UAV-001 by {order.number}" in genealogy(line.engine.part.serial)

    with pytest.raises(Conflict) as again:
        build.accept_build_order(actor=line.planner, order=order)
    assert again.value.field == "status"
    assert Aircraft.objects.filter(serial="UAV-001").count() == 1


@pytest.mark.django_db
def test_short_stock_is_refused_naming_the_part_and_how_much():
    line = aircraft_line(sealant_qty=1)
    order = order_for(line)
    with pytest.raises(Conflict) as short:
        build.reserve_material(actor=line.storekeeper, order=order)
    assert short.value.field == "material[30]"
    assert f"short of {line.sealant_pn.pn}" in str(short.value)
    assert "1.5 needed, 1 free" in str(short.value)
    # all or nothing: the engine and avionics lines reserved before it are not held
    assert StockMovement.objects.filter(reference=order.number).count() == 0
    with pytest.raises(Conflict):
        build.issue_material(actor=line.storekeeper, order=order)
    assert not BuildConsumption.objects.filter(order=order).exists()


@pytest.mark.django_db
def test_completion_is_refused_while_an_inspection_is_missing_or_failed_or_an_ncr_is_open():
    line = aircraft_line()
    order = order_for(line)
    build.issue_material(actor=line.storekeeper, order=order)
    join, rig = ops(line)
    with pytest.raises(RuleViolation) as unsigned:
        build.complete_build_order(actor=line.planner, order=order)
    assert unsigned.value.field == "operations[10]"
    build.record_operation(actor=line.tech, order=order, operation=join)
    build.record_operation(actor=line.tech, order=order, operation=rig)
    with pytest.raises(RuleViolation) as missing:
        build.complete_build_order(actor=line.planner, order=order)
    assert missing.value.field == "inspections[20]" and "missing" in str(missing.value)
    build.record_inspection(actor=line.inspector, order=order, operation=rig, passed=False)
    with pytest.raises(RuleViolation) as failed:
        build.complete_build_order(actor=line.planner, order=order)
    assert failed.value.field == "inspections[20]" and "failed" in str(failed.value)
    build.record_inspection(actor=line.inspector, order=order, operation=rig, passed=True)
    ncr = build.raise_ncr(actor=line.inspector, order=order, description="Scratch on skin")
    with pytest.raises(RuleViolation) as open_ncr:
        build.complete_build_order(actor=line.planner, order=order)
    assert open_ncr.value.field == "ncrs" and f"{ncr.number} is open" in str(open_ncr.value)
    with pytest.raises(RuleViolation) as no_disposition:
        build.close_ncr(actor=line.inspector, ncr=ncr)
    assert no_disposition.value.field == "disposition"
    build.disposition_ncr(actor=line.inspector, ncr=ncr, disposition="use_as_is")
    build.close_ncr(actor=line.inspector, ncr=ncr)
    assert build.complete_build_order(actor=line.planner, order=order).status == "completed"


@pytest.mark.django_db
def test_refusals_name_their_field():
    line = aircraft_line()
    order = order_for(line)
    join, rig = ops(line)
    build.issue_material(actor=line.storekeeper, order=order)
    build.record_operation(actor=line.inspector, order=order, operation=rig)
    # a pass with a value outside its limits
    with pytest.raises(RuleViolation) as outside:
        build.record_inspection(
            actor=line.quality,
            order=order,
            operation=rig,
            measurements=[Measurement("travel", 35, lower=28, upper=30)],
            passed=True,
        )
    assert outside.value.field == "measurements"
    # the one who did the work does not inspect it
    with pytest.raises(RuleViolation) as own:
        build.record_inspection(actor=line.inspector, order=order, operation=rig, passed=True)
    assert own.value.field == "inspector"
    with pytest.raises(RuleViolation) as not_point:
        build.record_inspection(actor=line.quality, order=order, operation=join, passed=True)
    assert not_point.value.field == "operation"
    with pytest.raises(Conflict) as twice:
        build.record_operation(actor=line.tech, order=order, operation=rig)
    assert twice.value.field == "operation"
    # a concession approved by its raiser, or by a role that may not
    ncr = build.raise_ncr(actor=line.quality, order=order, description="Wrong rivet pitch")
    build.disposition_ncr(actor=line.quality, ncr=ncr, disposition="use_as_is", concession=True)
    with pytest.raises(RuleViolation) as raiser:
        build.approve_concession(actor=line.quality, ncr=ncr)
    assert raiser.value.field == "approved_by"
    with pytest.raises(NotAllowed):
        build.approve_concession(actor=line.inspector, ncr=ncr)
    with pytest.raises(RuleViolation) as unapproved:
        build.close_ncr(actor=line.quality, ncr=ncr)
    assert unapproved.value.field == "concession"
    with pytest.raises(RuleViolation) as bad:
        build.disposition_ncr(actor=line.quality, ncr=ncr, disposition="pray")
    assert bad.value.field == "disposition"
    # roles
    with pytest.raises(NotAllowed):
        build.record_operation(actor=line.storekeeper, order=order, operation=join)
    with pytest.raises(NotAllowed):
        build.create_build_order(actor=line.tech, product=line.product, quantity=1)
    # an aircraft needs its operator and its serials; a serial is built once
    with pytest.raises(RuleViolation) as no_operator:
        build.create_build_order(
            actor=line.planner, product=line.product, quantity=1, serials=["X"]
        )
    assert no_operator.value.field == "operator"
    with pytest.raises(RuleViolation) as serials:
        build.create_build_order(
            actor=line.planner, product=line.product, quantity=2, operator=line.operator
        )
    assert serials.value.field == "serials"
    with pytest.raises(RuleViolation) as taken:
        order_for(line, serial="UAV-001")
    assert taken.value.field == "serials"
    # acceptance before completion
    with pytest.raises(Conflict) as early:
        build.accept_build_order(actor=line.planner, order=order)
    assert early.value.field == "status"


@pytest.mark.django_db
def test_an_aircraft_bom_line_naming_an_unknown_position_is_refused_at_the_order():
    line = aircraft_line()
    draft = prod.create_bom_revision(actor=None, part_number=line.product.part_number)
    prod.change_bom_line(actor=None, line=draft.lines.get(find_number=10), ref_des="ENG9")
    prod.release_bom(actor=None, bom=draft)
    with pytest.raises(RuleViolation) as unknown:
        order_for(line)
    assert unknown.value.field == "bom.lines[10].ref_des" and "ENG9" in str(unknown.value)


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_two_orders_issuing_the_last_units_of_a_batch_one_wins():
    """A batch of 10 kg and two single-unit orders each needing 6 kg issuing at once:
    exactly one wins, the other is told it is short, nothing goes negative."""
    pn = f.part_master(tracking="batch", make_buy="buy", uom="kg").part_number
    top = f.part_master().part_number
    f.bom(top, [(pn, 6)])
    product = prod.define_product(
        actor=None, code="GS-1", name="Ground station", kind="ground_segment", part_number=top
    )
    f.work_centre(code="BENCH")
    prod.define_routing(
        actor=None,
        part_number=top,
        operations=[{"seq": 10, "work_centre": "BENCH", "description": "Build"}],
    )
    item = f.batch_stock(10, pn=pn)
    orders = []
    for serial in ("GS-1", "GS-2"):
        o = build.create_build_order(actor=None, product=product, quantity=1, serials=[serial])
        orders.append(build.release_build_order(actor=None, order=o))
    keepers = [f.user(role="storekeeper") for _ in orders]
    outcomes = race(
        *[
            (lambda o=o, k=k: build.issue_material(actor=k, order=o))
            for o, k in zip(orders, keepers, strict=True)
        ]
    )
    assert sorted(o.split(":")[0] for o in outcomes) == ["conflict", "won"]
    (lost,) = [o for o in outcomes if o != "won"]
    assert f"short of {pn.pn}" in lost
    item = StockItem.objects.get(pk=item.pk)
    assert (item.quantity, item.reserved) == (Decimal(4), 0)
    consumptions = list(BuildConsumption.objects.all())
    assert len(consumptions) == 1 and consumptions[0].quantity == 6
    assert StockMovement.objects.filter(item=item, kind="issue").count() == 1


@pytest.mark.django_db
def test_build_orders_and_ncrs_are_read_by_hub_staff_only():
    from tests.production.test_api import client_for

    line = aircraft_line()
    order = order_for(line)
    ncr = build.raise_ncr(actor=line.inspector, order=order, description="Dent")
    hub = client_for(line.tech)
    listed = hub.get("/api/build-orders/").json()
    rows = listed["results"] if isinstance(listed, dict) else listed
    assert [r["number"] for r in rows] == [order.number]
    detail = hub.get(f"/api/build-orders/{order.pk}/").json()
    assert detail["serials"] == ["UAV-001"] and detail["bom_revision"] == "A"
    assert hub.get(f"/api/ncrs/{ncr.pk}/").json()["order_number"] == order.number
    customer = client_for(f.user(operator=line.operator))
    assert customer.get("/api/build-orders/").status_code == 403
    assert customer.get(f"/api/ncrs/{ncr.pk}/").status_code == 403


@pytest.mark.django_db
def test_reworked_work_is_inspected_again_after_the_disposition():
    line = aircraft_line()
    order = order_for(line)
    build.issue_material(actor=line.storekeeper, order=order)
    join, rig = ops(line)
    build.record_operation(actor=line.tech, order=order, operation=join)
    build.record_operation(actor=line.tech, order=order, operation=rig)
    build.record_inspection(actor=line.inspector, order=order, operation=rig, passed=True)
    ncr = build.raise_ncr(
        actor=line.inspector, order=order, operation=rig, description="Cable tension low"
    )
    build.disposition_ncr(actor=line.inspector, ncr=ncr, disposition="rework")
    build.close_ncr(actor=line.inspector, ncr=ncr)
    with pytest.raises(RuleViolation, match="repeated after the rework") as again:
        build.complete_build_order(actor=line.planner, order=order)
    assert again.value.field == "inspections[20]"
    build.record_inspection(actor=line.inspector, order=order, operation=rig, passed=True)
    assert build.complete_build_order(actor=line.planner, order=order).status == "completed"
