"""What an NCR names is chosen on the build order page and in the API: the serial or
batch issued into the order (not scrapped yet) or one of its units. A scrap disposition
then scraps it; the order page and the NCR list show what the report names, what was
scrapped and whether the replacement is issued; the order completes once it is."""

from __future__ import annotations

from typing import Any

import pytest

from kanat.core.models import AuditEvent
from kanat.production import build
from kanat.production.models import (
    BuildConsumption,
    BuildScrap,
    BuildStatus,
    NcrStatus,
    NonConformance,
)
from tests import factories as f
from tests.production.test_api import client_for
from tests.production.test_build import aircraft_line, order_for
from tests.production.test_ncr_scrap import consumption_of, finish_work, terminal_line

pytestmark = pytest.mark.django_db


def url(order: Any) -> str:
    return f"/production/orders/{order.pk}/"


def post_json(c: Any, path: str, body: dict[str, Any] | None = None) -> Any:
    return c.post(path, body or {}, content_type="application/json")


def section(page: str, anchor: str) -> str:
    """The part of the page from the element with that id to the end of its section."""
    return page.split(f'id="{anchor}"', 1)[1].split("</section>", 1)[0]


def built_and_inspected() -> tuple[Any, Any]:
    line = aircraft_line()
    order = order_for(line)
    build.issue_material(actor=line.storekeeper, order=order)
    finish_work(line, order)
    return line, order


# --- the order page ----------------------------------------------------------------------


def test_the_order_page_names_the_material_scraps_it_and_completes_after_the_replacement():
    line, order = built_and_inspected()
    engine = consumption_of(order, line.engine_pn)
    old_serial = engine.part.serial
    inspector, keeper = client_for(line.inspector), client_for(line.storekeeper)
    planner = client_for(line.planner)

    # the raise form offers the order's issued serials and batches and its unit
    form = inspector.get(url(order)).content.decode().split('id="raise-ncr"')[1]
    form = form.split("</form>")[0]
    assert f'value="consumption-{engine.pk}"' in form and old_serial in form
    sealant = consumption_of(order, line.sealant_pn)
    assert f'value="consumption-{sealant.pk}"' in form and "batch SEAL-7" in form
    assert f'value="output-{order.outputs.get().pk}"' in form and "unit UAV-001" in form

    r = inspector.post(
        url(order),
        {
            "action": "raise_ncr",
            "subject": f"consumption-{engine.pk}",
            "description": "Engine mount flange cracked",
        },
    )
    assert r.status_code == 302
    ncr = NonConformance.objects.get(order=order)
    assert (ncr.consumption, ncr.output) == (engine, None)
    page = inspector.get(url(order)).content.decode()
    shown = section(page, f"ncr-{ncr.pk}")
    assert f"Names: <strong>material line 10: {line.engine_pn.pn} serial {old_serial}" in shown

    r = inspector.post(
        url(order), {"action": "disposition_ncr", "ncr": ncr.pk, "disposition": "scrap"}
    )
    assert r.status_code == 302
    assert BuildScrap.objects.get(ncr=ncr).consumption == engine
    page = inspector.get(url(order)).content.decode()
    shown = section(page, f"ncr-{ncr.pk}")
    assert "Scrapped: <strong>line 10:" in shown and old_serial in shown
    assert "not issued yet" in shown and f"1 of {line.engine_pn.pn} to issue" in shown
    # a scrap is final: its disposition form is not offered again
    assert 'name="disposition"' not in shown and f"Close {ncr.number}" in shown
    # a scrapped serial is no longer offered to a new NCR
    raise_form = page.split('id="raise-ncr"')[1].split("</form>")[0]
    assert f'value="consumption-{engine.pk}"' not in raise_form
    assert inspector.post(url(order), {"action": "close_ncr", "ncr": ncr.pk}).status_code == 302

    # the completion panel names the replacement that is missing, and completing is refused
    blockers = section(page, "completion")
    assert (
        f"line 10: 1 of {line.engine_pn.pn} to be issued to replace what {ncr.number} scrapped"
        in blockers
    )
    refused = planner.post(url(order), {"action": "complete"})
    assert refused.status_code == 400
    assert f"to replace what {ncr.number} scrapped" in refused.content.decode()
    order.refresh_from_db()
    assert order.status == BuildStatus.IN_PROGRESS

    listed = planner.get("/production/ncrs/").content.decode()
    row = listed.split(f'id="ncr-{ncr.number}"')[1].split("</tr>")[0]
    assert old_serial in row and "not issued yet" in row

    # the replacement arrives and is issued from the page
    replacement = f.serial_stock(pn=line.engine_pn)
    assert keeper.post(url(order), {"action": "issue"}).status_code == 302
    page = planner.get(url(order)).content.decode()
    shown = section(page, f"ncr-{ncr.pk}")
    assert "Replacement: <span" in shown and "issued" in shown
    assert replacement.part.serial in shown and "not issued yet" not in shown
    assert 'id="ready"' in page
    row = planner.get("/production/ncrs/").content.decode().split(f'id="ncr-{ncr.number}"')[1]
    assert "issued: line 10" in row.split("</tr>")[0]

    assert planner.post(url(order), {"action": "complete"}).status_code == 302
    order.refresh_from_db()
    assert order.status == BuildStatus.COMPLETED
    assert order.outputs.get().part is not None


def test_the_order_page_names_a_unit_and_its_scrap_strikes_the_serial():
    order, _stock = terminal_line()
    inspector = client_for(f.user(role="inspector"))
    build.issue_material(actor=None, order=order)
    t2 = order.outputs.get(serial="T-2")
    r = inspector.post(
        url(order),
        {"action": "raise_ncr", "subject": f"output-{t2.pk}", "description": "Dropped"},
    )
    assert r.status_code == 302
    ncr = NonConformance.objects.get(order=order)
    assert ncr.output == t2
    r = inspector.post(
        url(order), {"action": "disposition_ncr", "ncr": ncr.pk, "disposition": "scrap"}
    )
    assert r.status_code == 302
    page = inspector.get(url(order)).content.decode()
    assert '<del class="scrapped-output">T-2</del>' in section(page, "outputs")
    shown = section(page, f"ncr-{ncr.pk}")
    assert "Scrapped: unit <strong>T-2</strong>, with line 10:" in shown
    assert "Replacement" not in shown  # a scrapped unit needs none
    raise_form = page.split('id="raise-ncr"')[1].split("</form>")[0]
    assert f'value="output-{t2.pk}"' not in raise_form and "unit T-1" in raise_form


def test_the_order_page_refuses_an_item_that_is_not_the_orders_and_writes_nothing():
    line, order = built_and_inspected()
    other = order_for(line, serial="UAV-002")
    inspector = client_for(line.inspector)
    foreign_unit = other.outputs.get()
    for subject in (f"output-{foreign_unit.pk}", "consumption-999999", "engine", "output-x"):
        r = inspector.post(
            url(order), {"action": "raise_ncr", "subject": subject, "description": "Bad"}
        )
        assert r.status_code == 400, subject
        body = r.content.decode()
        assert 'data-field="subject"' in body and "neither material issued into" in body
        # what was typed stays on the form
        assert ">Bad</textarea>" in body
    engine = consumption_of(order, line.engine_pn)
    # a refusal for another reason keeps the item chosen
    blank = inspector.post(
        url(order),
        {"action": "raise_ncr", "subject": f"consumption-{engine.pk}", "description": " "},
    )
    assert blank.status_code == 400
    assert f'value="consumption-{engine.pk}" selected' in blank.content.decode()
    ncr = build.raise_ncr(actor=line.inspector, order=order, consumption=engine, description="x")
    build.disposition_ncr(actor=line.inspector, ncr=ncr, disposition="scrap")
    again = inspector.post(
        url(order),
        {"action": "raise_ncr", "subject": f"consumption-{engine.pk}", "description": "Again"},
    )
    assert again.status_code == 400
    assert 'data-field="consumption"' in again.content.decode()
    assert NonConformance.objects.filter(order=order).count() == 1
    assert (
        not AuditEvent.objects.filter(action="production.raise_ncr")
        .exclude(object_id=str(ncr.pk))
        .exists()
    )


def test_the_raise_form_is_offered_to_inspectors_only():
    line, order = built_and_inspected()
    page = client_for(line.tech).get(url(order)).content.decode()
    assert 'id="raise-ncr"' not in page and 'name="subject"' not in page
    engine = consumption_of(order, line.engine_pn)
    r = client_for(line.tech).post(
        url(order),
        {"action": "raise_ncr", "subject": f"consumption-{engine.pk}", "description": "x"},
    )
    assert r.status_code == 403
    assert not NonConformance.objects.exists()


# --- the API -----------------------------------------------------------------------------


def test_the_api_names_the_material_scraps_it_and_completes_after_the_replacement():
    line, order = built_and_inspected()
    inspector, keeper = client_for(line.inspector), client_for(line.storekeeper)
    planner = client_for(line.planner)
    base = f"/api/build-orders/{order.pk}"

    detail = planner.get(f"{base}/").json()
    (unit,) = detail["outputs"]
    assert (unit["serial"], unit["scrapped_by"]) == ("UAV-001", None)
    engine = next(c for c in detail["consumptions"] if c["pn"] == line.engine_pn.pn)
    assert (engine["find_number"], engine["output"], engine["scrapped_by"]) == (
        10,
        "UAV-001",
        None,
    )

    r = post_json(
        inspector,
        "/api/ncrs/",
        {"order": order.pk, "consumption": engine["id"], "description": "Flange cracked"},
    )
    assert r.status_code == 201, r.json()
    ncr = r.json()
    assert (ncr["consumption"], ncr["output"]) == (engine["id"], None)
    assert ncr["names"]["kind"] == "material"
    assert (ncr["names"]["serial"], ncr["names"]["output"]) == (engine["serial"], "UAV-001")
    assert ncr["scrapped"] == [] and ncr["replacement"] is None

    r = post_json(inspector, f"/api/ncrs/{ncr['id']}/disposition/", {"disposition": "scrap"})
    assert r.status_code == 200, r.json()
    body = r.json()
    (gone,) = body["scrapped"]
    assert (gone["find_number"], gone["serial"], gone["quantity"]) == (10, engine["serial"], "1")
    assert body["scrapped_output"] is None
    assert body["replacement"]["issued"] is False
    assert body["replacement"]["pending"] == [f"line 10: 1 of {line.engine_pn.pn} to issue"]
    after = planner.get(f"{base}/").json()
    assert [c["scrapped_by"] for c in after["consumptions"] if c["id"] == engine["id"]] == [
        ncr["number"]
    ]
    assert post_json(inspector, f"/api/ncrs/{ncr['id']}/close/").status_code == 200

    refused = post_json(planner, f"{base}/complete/")
    assert refused.status_code == 400
    assert refused.json()["field"] == "material[10]"
    assert ncr["number"] in refused.json()["detail"]

    replacement = f.serial_stock(pn=line.engine_pn)
    r = post_json(keeper, f"{base}/issue/")
    assert r.status_code == 200
    (issued,) = r.json()["issued"]
    assert issued["serial"] == replacement.part.serial and issued["id"]
    listed = planner.get("/api/ncrs/", {"order": order.pk}).json()
    rows = listed["results"] if isinstance(listed, dict) else listed
    (row,) = [x for x in rows if x["id"] == ncr["id"]]
    assert row["replacement"]["issued"] is True
    assert any(replacement.part.serial in t for t in row["replacement"]["by"])

    done = post_json(planner, f"{base}/complete/")
    assert done.status_code == 200 and done.json()["status"] == "completed"


def test_the_api_names_a_unit_and_refuses_what_is_not_the_orders():
    order, _stock = terminal_line()
    build.issue_material(actor=None, order=order)
    inspector = client_for(f.user(role="inspector"))
    t1, t2 = order.outputs.order_by("serial")
    other, _ = _second_terminal_order()

    # another order's unit or material, or both at once: refused naming the field
    foreign = BuildConsumption.objects.filter(order=other).first()
    cases = [
        ({"output": other.outputs.first().pk}, "output"),
        ({"consumption": foreign.pk}, "consumption"),
        (
            {"consumption": BuildConsumption.objects.filter(output=t1).first().pk, "output": t1.pk},
            "output",
        ),
    ]
    for extra, field in cases:
        r = post_json(inspector, "/api/ncrs/", {"order": order.pk, "description": "x", **extra})
        assert r.status_code == 400, r.json()
        assert r.json()["field"] == field, r.json()
    missing = post_json(
        inspector, "/api/ncrs/", {"order": order.pk, "description": "x", "output": 999999}
    )
    assert missing.status_code == 400 and "output" in missing.json()
    assert not NonConformance.objects.filter(order=order).exists()

    r = post_json(
        inspector, "/api/ncrs/", {"order": order.pk, "output": t2.pk, "description": "Dropped"}
    )
    assert r.status_code == 201, r.json()
    ncr = r.json()
    assert ncr["names"] == {"kind": "unit", "output": t2.pk, "serial": "T-2", "text": "unit T-2"}
    r = post_json(inspector, f"/api/ncrs/{ncr['id']}/disposition/", {"disposition": "scrap"})
    assert r.status_code == 200, r.json()
    assert r.json()["scrapped_output"] == "T-2" and r.json()["replacement"] is None
    assert [s["find_number"] for s in r.json()["scrapped"]] == [10]
    units = {
        u["serial"]: u["scrapped_by"]
        for u in inspector.get(f"/api/build-orders/{order.pk}/").json()["outputs"]
    }
    assert units == {"T-1": None, "T-2": ncr["number"]}
    # the scrapped unit is named no more
    again = post_json(
        inspector, "/api/ncrs/", {"order": order.pk, "output": t2.pk, "description": "x"}
    )
    assert again.status_code == 400 and again.json()["field"] == "output"
    assert NonConformance.objects.get(pk=ncr["id"]).status == NcrStatus.OPEN


def _second_terminal_order() -> tuple[Any, Any]:
    """Another order of the terminal of ``terminal_line`` with its own material issued."""
    from kanat.production.models import Product

    product = Product.objects.get(code="SAT-T")
    stock = [f.serial_stock(pn=product.part_number.boms.get().lines.get().child)]
    order = build.create_build_order(actor=None, product=product, quantity=1, serials=["T-9"])
    order = build.release_build_order(actor=None, order=order)
    build.issue_material(actor=None, order=order)
    return order, stock
