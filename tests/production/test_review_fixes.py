"""Fixes after a review of the NCR scrap, first-article and stores-page work:

* a first article's Form 1 lists what is built into its serial: not the material an NCR
  scrapped there (its replacement is); a first article is not opened on a scrapped unit,
  and the list's form does not offer one;
* the acceptance of an aircraft order names the units it enters into the fleet, not a
  scrapped one;
* numbers too large for their column are refused naming their field (they were 500s:
  ``decimal.InvalidOperation`` or an integer overflow), and nothing is written."""

from __future__ import annotations

from typing import Any

import pytest

from kanat.core.errors import RuleViolation
from kanat.production import build, fai
from kanat.production import services as prod
from kanat.production.models import FirstArticle, FirstArticleCharacteristic
from tests import factories as f
from tests.production.test_api import client_for
from tests.production.test_build import aircraft_line, order_for
from tests.production.test_ncr_scrap import consumption_of, finish_work

pytestmark = pytest.mark.django_db


def post_json(c: Any, path: str, body: dict[str, Any]) -> Any:
    return c.post(path, body, content_type="application/json")


# --- AS9102 and scrapped material or units --------------------------------------------------


def test_form_1_lists_the_replacement_not_the_scrapped_serial():
    line = aircraft_line()
    order = order_for(line)
    build.issue_material(actor=line.storekeeper, order=order)
    finish_work(line, order)
    engine = consumption_of(order, line.engine_pn)
    scrapped_serial = engine.part.serial
    ncr = build.raise_ncr(actor=line.inspector, order=order, consumption=engine, description="x")
    build.disposition_ncr(actor=line.inspector, ncr=ncr, disposition="scrap")
    replacement = f.serial_stock(pn=line.engine_pn)
    build.issue_material(actor=line.storekeeper, order=order)
    record = fai.open_first_article(
        actor=line.inspector,
        part_number=line.product.part_number,
        serial="UAV-001",
        reason="new_part",
        organisation="Kanat hub",
        build_order=order,
    )
    page = client_for(line.quality).get(f"/production/fai/{record.pk}/").content.decode()
    index = page.split('id="f1-index"')[1].split("</table>")[0]
    engine_row = index.split(f"<td>{line.engine_pn.pn}</td>")[1].split("</tr>")[0]
    assert replacement.part.serial in engine_row
    assert scrapped_serial not in index


def test_a_first_article_is_not_opened_on_a_scrapped_unit():
    line = aircraft_line()
    f.serial_stock(pn=line.engine_pn)
    f.serial_stock(pn=line.avionics_pn)
    order = build.create_build_order(
        actor=line.planner,
        product=line.product,
        quantity=2,
        serials=["UAV-001", "UAV-002"],
        operator=line.operator,
    )
    order = build.release_build_order(actor=line.planner, order=order)
    build.issue_material(actor=line.storekeeper, order=order)
    first = order.outputs.get(serial="UAV-001")
    ncr = build.raise_ncr(actor=line.inspector, order=order, output=first, description="Dropped")
    build.disposition_ncr(actor=line.inspector, ncr=ncr, disposition="scrap")

    with pytest.raises(RuleViolation) as refused:
        fai.open_first_article(
            actor=line.inspector,
            part_number=line.product.part_number,
            serial="UAV-001",
            reason="new_part",
            organisation="Kanat hub",
            build_order=order,
        )
    assert refused.value.field == "serial" and ncr.number in str(refused.value)
    assert not FirstArticle.objects.exists()
    # the list's open form, pre-filled from the order, offers the unit that is built
    page = client_for(line.inspector).get(f"/production/fai/?order={order.number}").content
    form = page.decode().split('id="open-fai"')[1].split("</form>")[0]
    assert 'name="serial" value="UAV-002"' in form and "UAV-001" not in form


def test_acceptance_names_only_the_units_built_not_a_scrapped_one():
    line = aircraft_line()
    f.serial_stock(pn=line.engine_pn)
    f.serial_stock(pn=line.avionics_pn)
    order = build.create_build_order(
        actor=line.planner,
        product=line.product,
        quantity=2,
        serials=["UAV-001", "UAV-002"],
        operator=line.operator,
    )
    order = build.release_build_order(actor=line.planner, order=order)
    build.issue_material(actor=line.storekeeper, order=order)
    second = order.outputs.get(serial="UAV-002")
    ncr = build.raise_ncr(actor=line.inspector, order=order, output=second, description="Dropped")
    build.disposition_ncr(actor=line.inspector, ncr=ncr, disposition="scrap")
    build.close_ncr(actor=line.inspector, ncr=ncr)
    finish_work(line, order)
    build.complete_build_order(actor=line.planner, order=order)
    page = client_for(line.planner).get(f"/production/orders/{order.pk}/").content.decode()
    completion = page.split('id="completion"')[1].split("</section>")[0]
    assert "Acceptance enters UAV-001 into" in completion
    assert "UAV-002" not in completion


# --- numbers too large for their column ---------------------------------------------------


def first_article() -> tuple[Any, Any]:
    line = aircraft_line()
    order = order_for(line)
    record = fai.open_first_article(
        actor=line.inspector,
        part_number=line.product.part_number,
        serial="UAV-001",
        reason="new_part",
        organisation="Kanat hub",
        build_order=order,
    )
    return line, record


@pytest.mark.parametrize(
    ("typed", "field"),
    [
        ({"number": "99999999999999999999999"}, "number"),
        ({"number": "2147483648"}, "number"),
        ({"nominal": "1e30", "tolerance_plus": "0.1"}, "nominal"),
        ({"nominal": "12345678901", "tolerance_plus": "0.1"}, "nominal"),
        ({"nominal": "1", "tolerance_plus": "1e30"}, "tolerance_plus"),
    ],
)
def test_a_characteristic_too_large_for_form_3_is_refused_on_the_page(typed, field):
    line, record = first_article()
    c = client_for(line.inspector)
    body = {"action": "add_characteristic", "number": "1", "requirement": "Span"} | typed
    r = c.post(f"/production/fai/{record.pk}/", body)
    assert r.status_code == 400
    assert f'data-field="{field}"' in r.content.decode()
    assert not FirstArticleCharacteristic.objects.exists()
    assert c.get(f"/production/fai/{record.pk}/").status_code == 200


def test_a_characteristic_too_large_is_refused_by_the_api():
    line, record = first_article()
    c = client_for(line.inspector)
    path = f"/api/first-articles/{record.pk}/characteristics/"
    r = post_json(c, path, {"number": 10**22, "requirement": "Span"})
    assert r.status_code == 400 and r.json()["field"] == "number"
    r = post_json(c, path, {"number": 1, "requirement": "Span", "nominal": "1e30"})
    assert r.status_code == 400 and r.json()["field"] == "nominal"
    assert not FirstArticleCharacteristic.objects.exists()


def test_a_build_order_of_too_many_units_is_refused_by_the_api():
    data = f.part_master(tracking="batch")  # a product made by the batch, no serials
    prod.define_product(
        actor=None, code="KIT", name="Kit", kind="satcom_terminal", part_number=data.part_number
    )
    f.bom(data.part_number, [(f.part_master(tracking="consumable").part_number, 1)])
    f.work_centre(code="KIT")
    prod.define_routing(
        actor=None,
        part_number=data.part_number,
        operations=[{"seq": 10, "work_centre": "KIT", "description": "Pack"}],
    )
    from kanat.production.models import Product

    product = Product.objects.get(code="KIT")
    c = client_for(f.user(role="planner"))
    r = post_json(c, "/api/build-orders/", {"product": product.pk, "quantity": 10**20})
    assert r.status_code == 400 and r.json()["field"] == "quantity"
    ok = post_json(c, "/api/build-orders/", {"product": product.pk, "quantity": 5})
    assert ok.status_code == 201, ok.json()


@pytest.mark.parametrize(
    ("quantity", "hours", "field"),
    [("1e30", 1, "quantity"), ("1e10", 1, "quantity"), (1, "1e30", "standard_hours")],
)
def test_bom_quantities_and_standard_hours_too_large_are_refused(quantity, hours, field):
    top = f.part_master().part_number
    child = f.part_master(tracking="consumable").part_number
    draft = prod.create_bom_revision(actor=None, part_number=top, copy_latest=False)
    f.work_centre(code="ASSY")
    with pytest.raises(RuleViolation) as refused:
        prod.add_bom_line(actor=None, bom=draft, find_number=10, child=child, quantity=quantity)
        prod.define_routing(
            actor=None,
            part_number=top,
            operations=[
                {"seq": 10, "work_centre": "ASSY", "description": "x", "standard_hours": hours}
            ],
        )
    assert refused.value.field.endswith(field)


# --- stock held for a unit scrapped before its material was issued ---------------------------


def test_a_unit_scrapped_before_its_issue_releases_the_stock_held_for_it():
    """Reserved for both units, T-2 scrapped before the issue: the modem held for it is
    released (there is no other way to release a build order's reservation), the other
    one goes into T-1."""
    from kanat.inventory.models import MovementKind, Reservation, StockItem, StockMovement
    from tests.production.test_ncr_scrap import terminal_line

    order, stock = terminal_line()
    keeper, inspector = f.user(role="storekeeper"), f.user(role="inspector")
    build.reserve_material(actor=keeper, order=order)
    assert [StockItem.objects.get(pk=s.pk).reserved for s in stock] == [1, 1]
    t2 = order.outputs.get(serial="T-2")
    ncr = build.raise_ncr(actor=inspector, order=order, output=t2, description="Dropped")
    build.disposition_ncr(actor=inspector, ncr=ncr, disposition="scrap")

    kept, freed = (StockItem.objects.get(pk=s.pk) for s in stock)
    assert (kept.reserved, freed.reserved, freed.available) == (1, 0, 1)
    move = StockMovement.objects.get(item=freed, kind=MovementKind.UNRESERVE)
    assert move.reference == order.number and ncr.number in move.note and move.actor == inspector
    assert Reservation.objects.get(item=freed, reference=order.number).quantity == 0

    (issued,) = build.issue_material(actor=keeper, order=order)
    assert (issued.output.serial, issued.stock_item_id) == ("T-1", kept.pk)
    build.record_operation(actor=None, order=order, operation=order.routing.operations.get())
    build.close_ncr(actor=inspector, ncr=ncr)
    build.complete_build_order(actor=None, order=order)
    # the released modem goes to the next order
    again = build.release_build_order(
        actor=None,
        order=build.create_build_order(
            actor=None, product=order.product, quantity=1, serials=["T-3"]
        ),
    )
    (res,) = build.reserve_material(actor=keeper, order=again)
    assert res.item_id == freed.pk


def test_a_scrapped_unit_releases_its_share_of_a_batch_and_its_serials():
    from decimal import Decimal

    from kanat.inventory.models import StockItem

    line = aircraft_line()
    extra = [f.serial_stock(pn=line.engine_pn), f.serial_stock(pn=line.avionics_pn)]
    order = build.create_build_order(
        actor=line.planner,
        product=line.product,
        quantity=2,
        serials=["UAV-001", "UAV-002"],
        operator=line.operator,
    )
    order = build.release_build_order(actor=line.planner, order=order)
    build.reserve_material(actor=line.storekeeper, order=order)
    assert StockItem.objects.get(pk=line.sealant.pk).reserved == Decimal(3)
    unit = order.outputs.get(serial="UAV-002")
    ncr = build.raise_ncr(actor=line.inspector, order=order, output=unit, description="Dropped")
    build.disposition_ncr(actor=line.inspector, ncr=ncr, disposition="scrap")
    assert StockItem.objects.get(pk=line.sealant.pk).reserved == Decimal("1.5")
    serials = (line.engine, line.avionics, *extra)
    held = sorted(StockItem.objects.get(pk=s.pk).reserved for s in serials)
    assert held == [0, 0, 1, 1]  # one engine and one avionics unit kept
    issued = build.issue_material(actor=line.storekeeper, order=order)
    assert {c.output.serial for c in issued} == {"UAV-001"} and len(issued) == 3
    assert not StockItem.objects.filter(reserved__gt=0).exists()
