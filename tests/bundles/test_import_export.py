"""Bundles: all or nothing, idempotent, errors naming entry and field, export = import."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from kanat.bundles.exporter import export_bundle
from kanat.bundles.importer import import_bundle
from kanat.bundles.parse import BundleError
from kanat.core.models import AuditEvent
from kanat.fleet.models import Aircraft, Flight, Installation
from kanat.maintenance.models import Compliance, TaskRevision

pytestmark = pytest.mark.django_db

EXAMPLE = {
    "kanat_bundle": 1,
    "operators": [{"code": "KZ-AF", "name": "Air operator"}],
    "variants": [
        {
            "code": "ANKA-S",
            "type": "ANKA",
            "positions": [{"code": "ENG", "ata": "72", "part_numbers": ["PD170"]}],
        }
    ],
    "part_numbers": [{"pn": "PD170", "description": "Engine", "tracking": "serial"}],
    "aircraft": [
        {
            "serial": "KZ-001",
            "variant": "ANKA-S",
            "operator": "KZ-AF",
            "delivered": "2025-03-01",
            "opening": {"FH": 120.5, "FC": 40},
            "planned_rate": {"FH": 6.0, "FC": 0.5},
        }
    ],
    "parts": [
        {
            "pn": "PD170",
            "serial": "E-1001",
            "manufactured": "2024-12-01",
            "opening": {"FH": 0, "FC": 0},
        }
    ],
    "installations": [
        {
            "pn": "PD170",
            "serial": "E-1001",
            "aircraft": "KZ-001",
            "position": "ENG",
            "installed_at": "2025-03-01T00:00:00Z",
            "removed_at": None,
        }
    ],
    "flights": [
        {
            "aircraft": "KZ-001",
            "takeoff": "2025-03-02T06:00:00Z",
            "landing": "2025-03-02T18:30:00Z",
            "cycles": 1,
        }
    ],
    "tasks": [
        {
            "code": "05-20-01",
            "title": "Airframe general inspection",
            "ata": "05",
            "applies_to": {"variants": ["ANKA-S"]},
            "kind": "repeat",
            "threshold": {"FH": 100},
            "interval": {"FH": 200, "MO": 6},
            "tolerance": {"FH": 10, "DY": 7},
            "schedule_from": "last_done",
        },
        {
            "code": "72-00-01",
            "title": "Engine hard-time limit",
            "ata": "72",
            "applies_to": {"part_number": "PD170"},
            "kind": "life_limit",
            "threshold": {"FH": 2000},
        },
        {
            "code": "72-10-02",
            "title": "Engine borescope inspection",
            "ata": "72",
            "applies_to": {"part_number": "PD170"},
            "kind": "repeat",
            "interval": {"FH": 300},
            "schedule_from": "last_due",
        },
    ],
    "compliance": [
        {"task": "05-20-01", "aircraft": "KZ-001", "done_at": "2025-06-01T10:00:00Z"},
        {
            "task": "72-10-02",
            "part": {"pn": "PD170", "serial": "E-1001"},
            "done_at": "2025-06-01T10:00:00Z",
        },
        {
            "task": "05-20-01",
            "aircraft": "KZ-001",
            "done_at": "2025-02-20T08:00:00Z",
            "counters": {"FH": 118.0, "FC": 39},
        },
    ],
}


def raw(doc) -> bytes:
    return json.dumps(doc).encode()


def state() -> tuple[int, ...]:
    return (
        Aircraft.objects.count(),
        Flight.objects.count(),
        Installation.objects.count(),
        Compliance.objects.count(),
        TaskRevision.objects.count(),
        AuditEvent.objects.count(),
    )


def _num(value):
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _num(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_num(v) for v in value]
    return value


def _canon(doc):
    """Facts of a bundle, independent of order and of defaults written out."""
    out = {}
    for section, entries in doc.items():
        if section == "kanat_bundle":
            continue
        rows = []
        for e in entries:
            e = dict(e)
            if section == "tasks":
                e.setdefault("schedule_from", "last_done")
            if section == "flights":
                e.setdefault("cycles", 1)
            if section == "installations":
                e.setdefault("removed_at", None)
            rows.append(json.dumps(_num(e), sort_keys=True))
        out[section] = sorted(rows)
    return out


def test_import_export_round_trip_and_idempotence():
    first = import_bundle(raw(EXAMPLE))
    assert first.created["flights"] == 1 and first.created["compliance"] == 3
    before = state()
    again = import_bundle(raw(EXAMPLE))
    assert not any(again.created.values())
    assert state() == before
    assert _canon(json.loads(json.dumps(export_bundle()))) == _canon(EXAMPLE)


def test_export_of_one_operator(tmp_path: Path):
    doc = copy.deepcopy(EXAMPLE)
    doc["operators"].append({"code": "OTHER", "name": "Other"})
    doc["aircraft"].append(dict(doc["aircraft"][0], serial="OT-1", operator="OTHER"))
    import_bundle(raw(doc))
    out = tmp_path / "kz.json"
    call_command("bundle", "export", "--operator", "KZ-AF", str(out))
    got = json.loads(out.read_text())
    assert [a["serial"] for a in got["aircraft"]] == ["KZ-001"]
    assert [o["code"] for o in got["operators"]] == ["KZ-AF"]


@pytest.mark.parametrize(
    ("mutate", "where", "message"),
    [
        (
            lambda d: d["aircraft"][0].update(variant="NOPE"),
            "aircraft[0] (KZ-001).variant",
            "unknown variant",
        ),
        (
            lambda d: d["flights"][0].update(landing="2025-03-02T05:00:00Z"),
            "flights[0] (KZ-001).landing",
            "lands before",
        ),
        (
            lambda d: d["flights"].append(
                dict(
                    d["flights"][0], takeoff="2025-03-02T07:00:00Z", landing="2025-03-02T08:00:00Z"
                )
            ),
            "flights[1] (KZ-001)",
            "overlaps",
        ),
        (
            lambda d: d["flights"][0].update(takeoff="2025-03-02T06:00:00"),
            "flights[0] (KZ-001).takeoff",
            "no offset",
        ),
        (
            lambda d: d["aircraft"][0].update(opening={"FH": -1}),
            "aircraft[0] (KZ-001).opening.FH",
            "negative",
        ),
        (
            lambda d: d["tasks"][1].pop("threshold"),
            "tasks[1] (72-00-01).threshold",
            "needs a threshold",
        ),
        (
            lambda d: d["tasks"][0]["interval"].update(WK=2),
            "tasks[0] (05-20-01).interval.WK",
            "not one of FH, FC, DY, MO",
        ),
        (
            lambda d: (
                d["parts"].append(dict(d["parts"][0], serial="E-2"))
                or d["installations"].append(
                    dict(d["installations"][0], serial="E-2", installed_at="2025-04-01T00:00:00Z")
                )
            ),
            "installations[1] (E-2)",
            "holds two parts at once",
        ),
        (
            lambda d: (
                d["variants"][0]["positions"].append(
                    {"code": "ENG2", "ata": "72", "part_numbers": ["PD170"]}
                )
                or d["installations"].append(
                    dict(
                        d["installations"][0], position="ENG2", installed_at="2025-05-01T00:00:00Z"
                    )
                )
            ),
            "installations[1] (E-1001)",
            "installed in two places at once",
        ),
        (
            lambda d: d["compliance"][0].update(task="99-99"),
            "compliance[0] (99-99).task",
            "unknown task",
        ),
        (
            lambda d: d["compliance"][0].update(part={"pn": "PD170", "serial": "E-1001"}),
            "compliance[0] (05-20-01)",
            "exactly one of aircraft or part",
        ),
        (
            lambda d: d["installations"][0].update(aircraft="KZ-404"),
            "installations[0] (E-1001).aircraft",
            "unknown aircraft",
        ),
    ],
)
def test_bad_bundles_change_nothing_and_name_the_fault(mutate, where, message):
    doc = copy.deepcopy(EXAMPLE)
    mutate(doc)
    before = state()
    with pytest.raises(BundleError) as err:
        import_bundle(raw(doc))
    assert err.value.where.startswith(where), err.value.message
    assert message in err.value.message
    assert state() == before


def test_contradicting_existing_reference_data_is_refused():
    import_bundle(raw(EXAMPLE))
    doc = copy.deepcopy(EXAMPLE)
    doc["part_numbers"][0]["tracking"] = "batch"
    with pytest.raises(BundleError, match=r"part_numbers\[0\] \(PD170\)\.tracking.*contradicts"):
        import_bundle(raw(doc))


def test_a_changed_task_becomes_a_new_revision():
    import_bundle(raw(EXAMPLE))
    doc = copy.deepcopy(EXAMPLE)
    doc["tasks"][2]["interval"] = {"FH": 250}
    result = import_bundle(raw(doc))
    assert result.created["task revisions"] == 1
    revs = TaskRevision.objects.filter(task__code="72-10-02").order_by("number")
    assert [r.interval_fh for r in revs] == [300.0, 250.0]


def test_command_reports_errors_and_not_json(tmp_path: Path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(CommandError, match="not JSON"):
        call_command("bundle", "import", str(bad))
    with pytest.raises(CommandError, match="cannot read"):
        call_command("bundle", "import", str(tmp_path / "missing.json"))
