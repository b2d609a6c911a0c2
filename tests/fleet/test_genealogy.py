"""`kanat genealogy`: a serial's story across airframes and the work done to it."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
from django.core.management import CommandError, call_command

from kanat.maintenance import services as mx
from kanat.work import services as work
from tests import factories as f
from tests.factories import utc
from tests.work.scenario import hangar

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("genealogy", *args, stdout=out)
    return out.getvalue()


def test_a_serial_across_two_airframes_with_its_work():
    h = hangar()
    f.flight(h.aircraft, utc(2025, 2, 1, 8), 10)
    mx.record_compliance(actor=None, task=h.tasks["ENG-LL"], part=h.engine, done_at=utc(2025, 3, 1))
    pkg = work.create_package(
        actor=h.planner,
        aircraft=h.aircraft,
        title="Engine change",
        items=[work.DueRef(h.tasks["ENG-LL"], h.engine)],
    )
    work.open_package(actor=h.planner, package=pkg)
    removal = pkg.cards.get().steps.get(kind="remove")
    work.sign_step(actor=h.tech, step=removal, removal_reason="unscheduled")
    other = f.aircraft(operator_=h.operator, variant_=h.aircraft.variant)
    f.install(h.engine, other, dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1))
    later = (dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1)).isoformat()
    s = json.loads(run(h.engine.serial, "--format", "json", "--as-of", later))
    assert s["part"]["pn"] == h.engine.part_number.pn
    assert s["birth"]["build_record"] is None
    first, second = s["installations"]
    assert first["aircraft"] == h.aircraft.serial and first["removal_reason"].startswith("Unsch")
    assert first["part_life_at_installation"] == {"FH": 0.0, "FC": 0}
    assert first["part_life_at_removal"] == {"FH": 10.0, "FC": 1}
    assert second["aircraft"] == other.serial and second["removed_at"] is None
    whats = [d["what"] for d in s["maintenance"]]
    assert whats == ["compliance", f"removed from {h.aircraft.serial}"]
    assert s["maintenance"][1]["reason"] == "unscheduled"
    text = run(h.engine.serial, "--as-of", later)
    assert "removed from" in text and other.serial in text and "no build record" in text


def test_unknown_and_ambiguous_serials_are_named():
    pn1, pn2 = f.part_number(), f.part_number()
    f.part(pn=pn1, serial="S-1")
    f.part(pn=pn2, serial="S-1")
    with pytest.raises(CommandError, match="no part with serial 'S-9'"):
        run("S-9")
    with pytest.raises(CommandError, match="several part numbers"):
        run("S-1")
    assert "never installed" in run("S-1", "--pn", pn1.pn)
    with pytest.raises(CommandError, match="needs an offset"):
        run("S-1", "--pn", pn1.pn, "--as-of", "2025-01-01T00:00:00")


def test_a_bought_in_serial_says_how_it_came_in():
    item = f.serial_stock()
    s = json.loads(run(item.part.serial, "--pn", item.part_number.pn, "--format", "json"))
    got = s["birth"]["receipt"]
    assert got["certificate_ref"] == item.certificate_ref and got["purchase_order"]
    assert "certificate" in run(item.part.serial, "--pn", item.part_number.pn)
