"""Engineering data: part masters, products, BOM revisions and their release, routings."""

from __future__ import annotations

import subprocess
import sys
from decimal import Decimal as D

import pytest

from kanat.core.errors import Conflict, NotAllowed, RuleViolation
from kanat.core.models import AuditEvent
from kanat.production import selectors
from kanat.production import services as prod
from kanat.production.models import (
    Bom,
    BomLine,
    BomStatus,
    Operation,
    PartMaster,
    Product,
    ReleasedBomEdit,
    Routing,
)
from kanat.production.structure import flatten
from tests import factories as f

pytestmark = pytest.mark.django_db


def refused(field: str, fn, /, **kw):
    """Call a service expecting a RuleViolation naming ``field``; nothing was written."""
    audits = AuditEvent.objects.count()
    with pytest.raises(RuleViolation) as exc:
        fn(actor=None, **kw)
    assert exc.value.field == field, exc.value.message
    assert AuditEvent.objects.count() == audits
    return exc.value


# --- part masters -------------------------------------------------------------------


def test_define_part_master_creates_changes_and_is_a_no_op_when_unchanged():
    pn = f.part_number(pn="ANT-100", tracking="serial")
    pm, created = prod.define_part_master(
        actor=None, part_number=pn, revision="A", make_buy="make", origin="local"
    )
    assert created and pm.uom == "ea" and pn.master == pm
    again, changed = prod.define_part_master(
        actor=None, part_number=pn, revision="A", make_buy="make", origin="local"
    )
    assert again.pk == pm.pk and not changed
    pm2, changed = prod.define_part_master(
        actor=None, part_number=pn, revision="B", make_buy="make", origin="imported"
    )
    assert changed and pm2.pk == pm.pk and pm2.revision == "B" and pm2.origin == "imported"
    event = AuditEvent.objects.filter(action="production.define_part_master").first()
    assert event.before["revision"] == "A" and event.after["revision"] == "B"


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"revision": " "}, "revision"),
        ({"make_buy": "borrow"}, "make_buy"),
        ({"origin": "mars"}, "origin"),
        ({"uom": "furlong"}, "uom"),
        ({"shelf_life_days": 0}, "shelf_life_days"),
        ({"shelf_life_days": 1.5}, "shelf_life_days"),
    ],
)
def test_part_master_rules_name_the_field(changes, field):
    kw = {"revision": "A", "make_buy": "buy", "origin": "imported", "uom": "kg"} | changes
    refused(field, prod.define_part_master, part_number=f.part_number(), **kw)
    assert not PartMaster.objects.exists()


def test_shelf_life_is_kept_for_batch_material():
    adhesive = f.part_master(
        tracking="batch", make_buy="buy", origin="imported", uom="kg", shelf_life_days=180
    )
    assert adhesive.shelf_life_days == 180 and adhesive.part_number.tracking == "batch"


def test_a_part_on_a_released_bom_keeps_its_unit_and_an_assembly_stays_made():
    sealant = f.part_master(tracking="batch", make_buy="buy", uom="kg")
    asm = f.part_master()
    f.bom(asm.part_number, [(sealant.part_number, "0.25")])
    refused(
        "uom",
        prod.define_part_master,
        part_number=sealant.part_number,
        revision="A",
        make_buy="buy",
        origin="local",
        uom="g",
    )
    refused(
        "make_buy",
        prod.define_part_master,
        part_number=asm.part_number,
        revision="A",
        make_buy="buy",
        origin="local",
    )


def test_roles_that_may_and_may_not_manage_engineering_data():
    pn = f.part_number()
    for role in ("technician", "inspector", "storekeeper", "training_manager"):
        with pytest.raises(NotAllowed):
            prod.define_part_master(
                actor=f.user(role=role),
                part_number=pn,
                revision="A",
                make_buy="make",
                origin="local",
            )
    with pytest.raises(NotAllowed):
        prod.define_work_centre(actor=f.user(operator=f.operator()), code="X", name="X")
    for role in ("hub_admin", "planner", "quality"):
        prod.define_part_master(
            actor=f.user(role=role),
            part_number=pn,
            revision=role[:10],
            make_buy="make",
            origin="local",
        )
    assert PartMaster.objects.get().updated_by.role == "quality"


# --- products -------------------------------------------------------------------------


def test_products_are_aircraft_or_anything_else_made_here():
    v = f.variant()
    anka = prod.define_product(
        actor=None,
        code="ANKA-S",
        name="ANKA-S airframe",
        kind="aircraft",
        part_number=f.part_master().part_number,
        variant=v,
    )
    satcom = prod.define_product(
        actor=None,
        code="SATCOM-T1",
        name="Airborne SATCOM terminal",
        kind="satcom_terminal",
        part_number=f.part_master().part_number,
    )
    assert anka.variant == v and satcom.variant is None
    assert set(Product.objects.values_list("kind", flat=True)) == {"aircraft", "satcom_terminal"}


def test_product_rules_name_the_field():
    made = f.part_master().part_number
    base = {"code": "P1", "name": "Power unit", "kind": "satellite_subsystem", "part_number": made}
    refused("kind", prod.define_product, **base | {"kind": "submarine"})
    refused("variant", prod.define_product, **base | {"variant": f.variant()})
    refused("part_number", prod.define_product, **base | {"part_number": f.part_number()})
    bought = f.part_master(make_buy="buy").part_number
    refused("part_number", prod.define_product, **base | {"part_number": bought})
    refused("name", prod.define_product, **base | {"name": ""})
    prod.define_product(actor=None, **base)
    refused("code", prod.define_product, **base | {"part_number": f.part_master().part_number})
    refused("part_number", prod.define_product, **base | {"code": "P2"})


# --- BOM revisions --------------------------------------------------------------------


@pytest.fixture
def terminal():
    """A SATCOM terminal: an antenna sub-assembly (2 panels, 12 rivets each) and rivets."""
    rivet = f.part_master(tracking="consumable", make_buy="buy", origin="imported").part_number
    panel = f.part_master(tracking="batch").part_number
    antenna = f.part_master().part_number
    top = f.part_master().part_number
    f.bom(panel, [(rivet, 12)])
    f.bom(antenna, [(panel, 2)])
    return {"rivet": rivet, "panel": panel, "antenna": antenna, "top": top}


def test_a_bom_revision_is_drafted_released_and_superseded(terminal):
    top, antenna, rivet = terminal["top"], terminal["antenna"], terminal["rivet"]
    planner = f.user(role="planner")
    a = prod.create_bom_revision(actor=planner, part_number=top, reason="first issue")
    assert (a.revision, a.number, a.status) == ("A", 1, "draft")
    prod.add_bom_line(actor=planner, bom=a, find_number=10, child=antenna, quantity=1)
    line = prod.add_bom_line(
        actor=planner, bom=a, find_number=20, child=rivet, quantity="4", ref_des="BRKT-1"
    )
    assert line.uom == "ea" and line.quantity == D(4)
    a = prod.release_bom(actor=planner, bom=a, effectivity="from S/N 001")
    assert a.status == "released" and a.released_by == planner and a.released_at
    assert a.effectivity == "from S/N 001"
    assert selectors.released_bom(top) == a

    b = prod.create_bom_revision(actor=planner, part_number=top, reason="more rivets")
    assert (b.revision, b.based_on) == ("B", a)
    assert [(x.find_number, x.child_id, x.quantity) for x in b.lines.all()] == [
        (10, antenna.pk, D(1)),
        (20, rivet.pk, D(4)),
    ]
    prod.change_bom_line(actor=planner, line=b.lines.get(find_number=20), quantity=6)
    b = prod.release_bom(actor=planner, bom=b)
    a.refresh_from_db()
    assert a.status == "superseded" and a.superseded_at == b.released_at
    assert selectors.released_bom(top) == b
    # the superseded revision still says what it said: serials built to A keep it
    assert a.lines.get(find_number=20).quantity == D(4)
    actions = list(
        AuditEvent.objects.filter(action__startswith="production.")
        .filter(object_id__in=[str(a.pk), str(b.pk)], model="production.bom")
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions == [
        "production.create_bom_revision",
        "production.release_bom",
        "production.create_bom_revision",
        "production.supersede_bom",
        "production.release_bom",
    ]


def test_a_new_revision_may_start_empty_and_be_labelled(terminal):
    top = terminal["top"]
    f.bom(top, [(terminal["antenna"], 1)])
    b = prod.create_bom_revision(actor=None, part_number=top, copy_latest=False, revision="A1")
    assert b.revision == "A1" and b.based_on is None and not b.lines.exists()


def test_bom_revision_rules_name_the_field(terminal):
    top = terminal["top"]
    refused("part_number", prod.create_bom_revision, part_number=terminal["rivet"])  # buy
    refused("part_number", prod.create_bom_revision, part_number=f.part_number())  # no master
    draft = prod.create_bom_revision(actor=None, part_number=top)
    with pytest.raises(Conflict) as exc:
        prod.create_bom_revision(actor=None, part_number=top)
    assert exc.value.field == "part_number" and "draft revision A" in exc.value.message
    prod.discard_bom_draft(actor=None, bom=draft)
    assert not Bom.objects.filter(part_number=top).exists()
    f.bom(top, [(terminal["antenna"], 1)])
    refused("revision", prod.create_bom_revision, part_number=top, revision="A")


def test_line_rules_name_the_field(terminal):
    top, antenna, rivet = terminal["top"], terminal["antenna"], terminal["rivet"]
    bom = prod.create_bom_revision(actor=None, part_number=top)
    ok = {"bom": bom, "find_number": 10, "child": rivet, "quantity": 2}
    refused("child", prod.add_bom_line, **ok | {"child": top})
    refused("quantity", prod.add_bom_line, **ok | {"quantity": 0})
    refused("quantity", prod.add_bom_line, **ok | {"quantity": "-1"})
    refused("quantity", prod.add_bom_line, **ok | {"quantity": "two"})
    refused("quantity", prod.add_bom_line, **ok | {"quantity": "0.00001"})
    refused("quantity", prod.add_bom_line, **ok | {"quantity": True})
    refused("find_number", prod.add_bom_line, **ok | {"find_number": 0})
    refused("uom", prod.add_bom_line, **ok | {"uom": "furlong"})
    # a serialised child is counted each, in whole numbers
    refused("quantity", prod.add_bom_line, **ok | {"child": antenna, "quantity": "1.5"})
    refused("uom", prod.add_bom_line, **ok | {"child": antenna, "uom": "kg"})
    # a child without a part master needs the line's unit
    refused("uom", prod.add_bom_line, **ok | {"child": f.part_number()})
    prod.add_bom_line(actor=None, **ok)
    refused("find_number", prod.add_bom_line, **ok | {"child": antenna, "quantity": 1})
    line = bom.lines.get()
    refused("quantity", prod.change_bom_line, line=line, quantity=-3)
    assert bom.lines.get().quantity == D(2)


def test_release_refuses_an_empty_bom(terminal):
    bom = prod.create_bom_revision(actor=None, part_number=terminal["top"])
    refused("lines", prod.release_bom, bom=bom)
    assert Bom.objects.get(pk=bom.pk).status == "draft"


def test_release_refuses_a_child_without_part_master_or_in_another_unit(terminal):
    top = terminal["top"]
    stranger = f.part_number(tracking="consumable")
    bom = prod.create_bom_revision(actor=None, part_number=top)
    prod.add_bom_line(actor=None, bom=bom, find_number=10, child=terminal["antenna"], quantity=1)
    prod.add_bom_line(actor=None, bom=bom, find_number=20, child=stranger, quantity=1, uom="ea")
    err = refused("lines[20].child", prod.release_bom, bom=bom)
    assert stranger.pn in err.message
    prod.remove_bom_line(actor=None, line=bom.lines.get(find_number=20))
    prod.add_bom_line(
        actor=None, bom=bom, find_number=30, child=terminal["rivet"], quantity=1, uom="kg"
    )
    refused("lines[30].uom", prod.release_bom, bom=bom)


def test_release_refuses_a_cycle_at_any_level(terminal):
    rivet, panel, antenna = terminal["rivet"], terminal["panel"], terminal["antenna"]
    # panel's next revision would contain the antenna, which contains the panel
    bom = prod.create_bom_revision(actor=None, part_number=panel)
    prod.add_bom_line(actor=None, bom=bom, find_number=20, child=antenna, quantity=1)
    err = refused("lines", prod.release_bom, bom=bom)
    assert f"{panel.pn} > {antenna.pn} > {panel.pn}" in err.message
    assert Bom.objects.get(pk=bom.pk).status == "draft"
    # three levels: top > antenna > panel, then panel's revision names the top
    top = terminal["top"]
    f.bom(top, [(antenna, 1)])
    prod.remove_bom_line(actor=None, line=bom.lines.get(find_number=20))
    prod.add_bom_line(actor=None, bom=bom, find_number=20, child=top, quantity=1)
    err = refused("lines", prod.release_bom, bom=bom)
    assert f"{panel.pn} > {top.pn} > {antenna.pn} > {panel.pn}" in err.message
    # without the loop it releases, and the antenna's released BOM is untouched
    prod.remove_bom_line(actor=None, line=bom.lines.get(find_number=20))
    prod.change_bom_line(actor=None, line=bom.lines.get(find_number=10), quantity=16)
    prod.release_bom(actor=None, bom=bom)
    assert selectors.released_bom(panel).lines.get().child == rivet


def test_a_released_bom_refuses_edits_at_the_service_level(terminal):
    released = selectors.released_bom(terminal["panel"])
    line = released.lines.get()
    kw = {"bom": released, "find_number": 20, "child": terminal["rivet"], "quantity": 1}
    refused("bom", prod.add_bom_line, **kw)
    refused("bom", prod.change_bom_line, line=line, quantity=99)
    refused("bom", prod.remove_bom_line, line=line)
    refused("bom", prod.discard_bom_draft, bom=released)
    with pytest.raises(Conflict):
        prod.release_bom(actor=None, bom=released)
    assert BomLine.objects.get(pk=line.pk).quantity == D(12)


def test_a_released_bom_refuses_edits_at_the_model_level(terminal):
    released = selectors.released_bom(terminal["panel"])
    line = released.lines.get()
    line.quantity = D(99)
    with pytest.raises(ReleasedBomEdit):
        line.save()
    with pytest.raises(ReleasedBomEdit):
        line.delete()
    with pytest.raises(ReleasedBomEdit):
        BomLine.objects.filter(pk=line.pk).update(quantity=5)
    with pytest.raises(ReleasedBomEdit):
        BomLine.objects.filter(pk=line.pk).delete()
    with pytest.raises(ReleasedBomEdit):
        BomLine.objects.bulk_update([line], ["quantity"])
    with pytest.raises(ReleasedBomEdit):
        BomLine.objects.create(bom=released, find_number=99, child=line.child, quantity=1)
    with pytest.raises(ReleasedBomEdit):
        BomLine.objects.bulk_create(
            [BomLine(bom=released, find_number=98, child=line.child, quantity=1, uom="ea")]
        )
    released.effectivity = "rewritten"
    with pytest.raises(ReleasedBomEdit):
        released.save()
    released.status = BomStatus.DRAFT
    with pytest.raises(ReleasedBomEdit):
        released.save(update_fields=["status"])
    with pytest.raises(ReleasedBomEdit):
        released.delete()
    with pytest.raises(ReleasedBomEdit):
        Bom.objects.filter(pk=released.pk).update(status="draft")
    fresh = Bom.objects.get(pk=released.pk)
    assert (fresh.status, fresh.effectivity) == ("released", "")
    assert fresh.lines.get().quantity == D(12)


def test_explode_a_product_bom_multiplies_down_the_levels(terminal):
    top = terminal["top"]
    bom = f.bom(top, [(terminal["antenna"], 1), (terminal["rivet"], 4)])
    rows = selectors.explode_bom(bom, quantity=D(2))
    got = {r.path[1:]: (r.level, r.extended) for r in rows}
    a, p, r = terminal["antenna"].pn, terminal["panel"].pn, terminal["rivet"].pn
    assert got == {
        (a,): (1, D(2)),
        (a, p): (2, D(4)),
        (a, p, r): (3, D(48)),
        (r,): (1, D(8)),
    }
    # a draft explodes too (its own lines, its children's released BOMs)
    draft = prod.create_bom_revision(actor=None, part_number=top)
    prod.change_bom_line(actor=None, line=draft.lines.get(find_number=10), quantity=3)
    assert flatten(selectors.explode_bom(draft))[r] == D(3 * 2 * 12 + 4)


def test_compare_revisions(terminal):
    top, antenna, rivet, panel = (
        terminal["top"],
        terminal["antenna"],
        terminal["rivet"],
        terminal["panel"],
    )
    a = f.bom(top, [(antenna, 1), (rivet, 4)])
    b = prod.create_bom_revision(actor=None, part_number=top)
    prod.change_bom_line(actor=None, line=b.lines.get(find_number=20), quantity=6, ref_des="X")
    prod.remove_bom_line(actor=None, line=b.lines.get(find_number=10))
    prod.add_bom_line(actor=None, bom=b, find_number=30, child=panel, quantity=1)
    diff = selectors.compare_revisions(a, b)
    assert [x.child for x in diff.added] == [panel.pn]
    assert [x.child for x in diff.removed] == [antenna.pn]
    assert [(c.child, c.fields) for c in diff.changed] == [(rivet.pn, ("quantity", "ref_des"))]
    assert selectors.compare_revisions(a, a).same


# --- routings -------------------------------------------------------------------------


def ops(wc_a, wc_b):
    return [
        {"seq": 10, "work_centre": wc_a.code, "description": "Lay up panel", "standard_hours": 3},
        {
            "seq": 20,
            "work_centre": wc_b,
            "description": "Cure and inspect",
            "standard_hours": "1.5",
            "inspection_point": True,
            "inspection": "Bond line: no voids (tap test)",
        },
    ]


def test_define_routing_is_a_revisioned_sequence_of_operations():
    panel = f.part_master().part_number
    layup, cure = f.work_centre(code="LAYUP"), f.work_centre(code="AUTOCLAVE")
    r1, created = prod.define_routing(actor=None, part_number=panel, operations=ops(layup, cure))
    assert created and r1.number == 1
    assert [(o.seq, o.work_centre.code, o.inspection_point) for o in r1.operations.all()] == [
        (10, "LAYUP", False),
        (20, "AUTOCLAVE", True),
    ]
    assert r1.operations.get(seq=20).standard_hours == D("1.50")
    same, created = prod.define_routing(actor=None, part_number=panel, operations=ops(layup, cure))
    assert same == r1 and not created
    changed = ops(layup, cure)
    changed[0]["standard_hours"] = 2.5
    r2, created = prod.define_routing(actor=None, part_number=panel, operations=changed)
    assert created and r2.number == 2 and selectors.routing_in_force(panel) == r2
    assert r1.operations.get(seq=10).standard_hours == D(3)  # revision 1 is kept as it was
    with pytest.raises(PermissionError):
        r1.save()
    with pytest.raises(PermissionError):
        Operation.objects.filter(routing=r1).update(standard_hours=9)


@pytest.mark.parametrize(
    "change, field",
    [
        (lambda o: o.__setitem__(1, o[1] | {"seq": 10}), "operations[1].seq"),
        (lambda o: o.__setitem__(0, o[0] | {"seq": 0}), "operations[0].seq"),
        (lambda o: o.__setitem__(0, o[0] | {"work_centre": "NOPE"}), "operations[0].work_centre"),
        (lambda o: o.__setitem__(0, o[0] | {"description": ""}), "operations[0].description"),
        (lambda o: o.__setitem__(0, o[0] | {"standard_hours": -1}), "operations[0].standard_hours"),
        (lambda o: o.__setitem__(1, o[1] | {"inspection": ""}), "operations[1].inspection"),
        (lambda o: o.__setitem__(0, o[0] | {"inspection": "x"}), "operations[0].inspection"),
        (
            lambda o: o.__setitem__(0, o[0] | {"inspection_point": "yes"}),
            "operations[0].inspection_point",
        ),
        (lambda o: o.clear(), "operations"),
    ],
)
def test_routing_rules_name_the_field(change, field):
    panel = f.part_master().part_number
    operations = ops(f.work_centre(), f.work_centre())
    change(operations)
    refused(field, prod.define_routing, part_number=panel, operations=operations)
    assert not Routing.objects.exists()


def test_bought_parts_have_no_routing():
    bought = f.part_master(make_buy="buy").part_number
    wc = f.work_centre()
    refused("part_number", prod.define_routing, part_number=bought, operations=ops(wc, wc))


def test_work_centre_codes_are_unique():
    f.work_centre(code="CLEAN-ROOM")
    refused("code", prod.define_work_centre, code="CLEAN-ROOM", name="Again")


def test_the_structure_module_needs_no_django():
    code = (
        "import sys, kanat.production.structure; "
        "assert not [m for m in sys.modules if m.startswith('django')], 'django imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_bom_is_started_and_released_at_past_instants_in_order(terminal):
    """Engineering records entered after the fact keep their dates (the localisation over
    time reads them): not in the future, not released before it was started, nor before
    the revision it supersedes."""
    import datetime as dt

    from django.utils import timezone

    top, antenna = terminal["top"], terminal["antenna"]
    planner = f.user(role="planner")
    now = timezone.now()
    ago = [now - dt.timedelta(days=d) for d in (300, 299, 100, 50)]
    with pytest.raises(RuleViolation, match="future") as err:
        prod.create_bom_revision(actor=planner, part_number=top, at=now + dt.timedelta(days=1))
    assert err.value.field == "at"
    a = prod.create_bom_revision(actor=planner, part_number=top, at=ago[1])
    prod.add_bom_line(actor=planner, bom=a, find_number=10, child=antenna, quantity=1)
    with pytest.raises(RuleViolation, match="not released before that"):
        prod.release_bom(actor=planner, bom=a, at=ago[0])
    a = prod.release_bom(actor=planner, bom=a, at=ago[1])
    assert a.released_at == ago[1] and a.created_at == ago[1]
    b = prod.create_bom_revision(actor=planner, part_number=top, at=ago[2])
    with pytest.raises(RuleViolation, match="not released before that"):
        prod.release_bom(actor=planner, bom=b, at=ago[1] - dt.timedelta(hours=1))
    b = prod.release_bom(actor=planner, bom=b, at=ago[3])
    a.refresh_from_db()
    assert a.superseded_at == b.released_at == ago[3]
