"""AS9102 first-article inspection: opened on a serial of a build order, forms 2 and 3
filled while open, accepted only by quality or a hub administrator other than the
preparer once every characteristic passed, rejected with a reason; whether a part / BOM
revision still needs its first article."""

from __future__ import annotations

from decimal import Decimal

import pytest

from kanat.core.errors import Conflict, NotAllowed, RuleViolation
from kanat.core.models import AuditEvent
from kanat.production import build, fai
from kanat.production import services as prod
from kanat.production.models import FaiStatus
from tests import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def people():
    return {
        "inspector": f.user(role="inspector"),
        "quality": f.user(role="quality"),
        "admin": f.user(role="hub_admin"),
        "planner": f.user(role="planner"),
    }


def _order(data):
    f.work_centre(code="FINAL")
    prod.define_routing(
        actor=None,
        part_number=data["product"].part_number,
        operations=[
            {"seq": 10, "work_centre": "FINAL", "description": "Assemble", "standard_hours": 3}
        ],
    )
    return build.create_build_order(
        actor=None, product=data["product"], quantity=1, serials=["SN-001"]
    )


def _open(data, people, **kw):
    top = data["product"].part_number
    return fai.open_first_article(
        actor=people["inspector"],
        part_number=top,
        serial=kw.pop("serial", "SN-001"),
        reason=kw.pop("reason", "new_part"),
        organisation="Kanat hub, Astana",
        **kw,
    )


def test_a_first_article_on_a_build_order_serial_is_filled_and_accepted(data, people):
    top, a = data["product"].part_number, data["a"]
    order = _order(data)
    assert fai.first_article_needed(top, a)
    record = _open(data, people, build_order=order)
    assert record.number.startswith("FAI-") and record.bom == a
    assert record.detail_or_assembly == "assembly" and record.part_revision == "A"
    assert record.part_name == top.description and record.drawing_number == top.pn
    fai.add_form2_entry(
        actor=people["inspector"],
        fai=record,
        kind="material",
        name="Al 7075-T6 sheet",
        specification="AMS 4045",
        code="7075-T6",
        supplier="Metals Ltd",
        certificate_ref="COC-1",
    )
    fai.add_form2_entry(
        actor=people["inspector"],
        fai=record,
        kind="functional_test",
        name="Power-on test",
        specification="ATP-100",
    )
    with pytest.raises(RuleViolation) as exc:  # a material names its certificate
        fai.add_form2_entry(
            actor=people["inspector"], fai=record, kind="material", name="x", specification="y"
        )
    assert exc.value.field == "certificate_ref"
    hole = fai.add_characteristic(
        actor=people["inspector"],
        fai=record,
        number=1,
        reference_location="sheet 1 B4",
        requirement="Hole diameter",
        nominal="6.35",
        tolerance_minus="0.05",
        tolerance_plus="0.05",
        unit="mm",
    )
    finish = fai.add_characteristic(
        actor=people["inspector"], fai=record, number=2, requirement="No burrs"
    )
    with pytest.raises(RuleViolation, match="characteristic 1 has no result"):
        fai.accept_first_article(actor=people["quality"], fai=record)
    # out of tolerance: judged from the limits, and a contradicting verdict is refused
    hole = fai.record_result(
        actor=people["inspector"], characteristic=hole, result="6.41", tool="Pin gauge"
    )
    assert hole.passed is False
    with pytest.raises(RuleViolation) as exc:
        fai.record_result(
            actor=people["inspector"], characteristic=hole, result="6.41", passed=True
        )
    assert exc.value.field == "passed"
    with pytest.raises(RuleViolation) as exc:  # a text requirement needs a verdict
        fai.record_result(actor=people["inspector"], characteristic=finish, result="none seen")
    assert exc.value.field == "passed"
    fai.record_result(
        actor=people["inspector"], characteristic=finish, result="none seen", passed=True
    )
    with pytest.raises(RuleViolation, match=r"characteristic 1 \(Hole diameter\) failed"):
        fai.accept_first_article(actor=people["quality"], fai=record)
    fai.record_result(actor=people["inspector"], characteristic=hole, result="6.36 mm")
    # the preparer does not accept their own first article, nor does a planner
    record.opened_by = people["quality"]
    record.save(update_fields=["opened_by"])
    with pytest.raises(NotAllowed, match="someone else"):
        fai.accept_first_article(actor=people["quality"], fai=record)
    with pytest.raises(NotAllowed):
        fai.accept_first_article(actor=people["planner"], fai=record)
    with pytest.raises(NotAllowed):
        fai.accept_first_article(actor=None, fai=record)
    record = fai.accept_first_article(actor=people["admin"], fai=record)
    assert record.status == FaiStatus.ACCEPTED and record.signed_by == people["admin"]
    assert not fai.first_article_needed(top, a)
    assert fai.first_article_needed(top, data["b"])  # the draft revision B will need one
    assert AuditEvent.objects.filter(action="production.accept_first_article").count() == 1
    # closed: its forms no longer change
    with pytest.raises(Conflict):
        fai.add_characteristic(actor=people["inspector"], fai=record, number=3, requirement="x")
    with pytest.raises(Conflict):
        fai.record_result(actor=people["inspector"], characteristic=hole, result="6.35")
    # the same first article again is refused; a change may repeat it
    with pytest.raises(RuleViolation) as exc:
        _open(data, people, serial="SN-002")
    assert exc.value.field == "reason"
    delta = _open(
        data, people, serial="SN-002", reason="change", scope="partial", partial_reason="New hole"
    )
    assert delta.baseline == record


def test_refusals_when_opening(data, people):
    top = data["product"].part_number
    order = _order(data)
    with pytest.raises(RuleViolation) as exc:
        _open(data, people, build_order=order, serial="SN-999")
    assert exc.value.field == "serial"
    with pytest.raises(RuleViolation) as exc:
        _open(data, people, bom=data["b"])  # a draft
    assert exc.value.field == "bom"
    with pytest.raises(RuleViolation) as exc:
        _open(data, people, reason="new")
    assert exc.value.field == "reason"
    with pytest.raises(RuleViolation) as exc:
        _open(data, people, scope="partial", partial_reason="x")  # no accepted baseline
    assert exc.value.field == "baseline"
    with pytest.raises(NotAllowed):
        fai.open_first_article(
            actor=people["planner"],
            part_number=top,
            serial="S",
            reason="new_part",
            organisation="Hub",
        )
    _open(data, people)
    with pytest.raises(Conflict, match="already open"):
        _open(data, people, serial="SN-002")


def test_rejected_with_a_reason_and_a_detail_part_is_keyed_by_its_drawing_revision(data, people):
    rivet = data["rivet"]
    record = fai.open_first_article(
        actor=people["inspector"],
        part_number=rivet,
        serial="LOT-7",
        reason="new_part",
        organisation="Supplier",
    )
    assert record.bom is None and record.detail_or_assembly == "detail"
    c = fai.add_characteristic(
        actor=people["inspector"],
        fai=record,
        number=1,
        requirement="Length",
        nominal=Decimal("10"),
        tolerance_plus="0.1",
        tolerance_minus="0",
        result="9.95",
    )
    assert c.passed is False
    with pytest.raises(RuleViolation) as exc:
        fai.reject_first_article(actor=people["quality"], fai=record, reason=" ")
    assert exc.value.field == "reason"
    with pytest.raises(NotAllowed):
        fai.reject_first_article(actor=people["inspector"], fai=record, reason="short")
    record = fai.reject_first_article(actor=people["quality"], fai=record, reason="Short rivets")
    assert record.status == FaiStatus.REJECTED and record.rejection_reason == "Short rivets"
    assert fai.first_article_needed(rivet)
    again = fai.open_first_article(
        actor=people["inspector"],
        part_number=rivet,
        serial="LOT-8",
        reason="new_part",
        organisation="Supplier",
    )
    fai.add_characteristic(
        actor=people["inspector"],
        fai=again,
        number=1,
        requirement="Length",
        nominal="10",
        tolerance_plus="0.1",
        result="10.02",
    )
    fai.accept_first_article(actor=people["quality"], fai=again)
    assert not fai.first_article_needed(rivet)
    # a new drawing revision of the part needs its own first article
    f.part_master(pn=rivet, revision="B", make_buy="buy", origin="imported", tracking="consumable")
    assert fai.first_article_needed(rivet)


def test_an_fai_without_characteristics_is_not_accepted(data, people):
    record = _open(data, people)
    with pytest.raises(RuleViolation, match="form 3 has no characteristics"):
        fai.accept_first_article(actor=people["quality"], fai=record)
