"""The forecast rules of ../shared/spec/forecast.md, one named test per edge case,
end to end: a bundle is imported and `kanat forecast --format json` is read back."""

from __future__ import annotations

import copy
import io
import json
from typing import Any

import pytest
from django.core.management import call_command

from kanat.bundles.importer import import_bundle

pytestmark = pytest.mark.django_db

BASE: dict[str, Any] = {
    "kanat_bundle": 1,
    "operators": [{"code": "OP", "name": "Operator"}],
    "variants": [
        {
            "code": "V",
            "type": "T",
            "positions": [{"code": "ENG", "ata": "72", "part_numbers": ["E"]}],
        }
    ],
    "part_numbers": [{"pn": "E", "description": "Engine", "tracking": "serial"}],
    "aircraft": [
        {
            "serial": "A1",
            "variant": "V",
            "operator": "OP",
            "delivered": "2025-01-01",
            "planned_rate": {"FH": 10.0, "FC": 1.0},
        },
    ],
    "parts": [],
    "installations": [],
    "flights": [],
    "tasks": [],
    "compliance": [],
}


def bundle(**sections: Any) -> dict[str, Any]:
    doc = copy.deepcopy(BASE)
    for key, value in sections.items():
        doc[key] = value
    return doc


def task(code: str = "T1", **fields: Any) -> dict[str, Any]:
    out = {
        "code": code,
        "title": code,
        "ata": "05",
        "applies_to": {"variants": ["V"]},
        "kind": "repeat",
    }
    out.update(fields)
    return out


def run(doc: dict[str, Any], as_of: str, *, horizon: int = 30, aircraft: str | None = None) -> dict:
    import_bundle(json.dumps(doc).encode())
    out = io.StringIO()
    args = ["forecast", "--as-of", as_of, "--horizon", str(horizon), "--format", "json"]
    if aircraft:
        args += ["--aircraft", aircraft]
    call_command(*args, stdout=out)
    return json.loads(out.getvalue())


def item(result: dict, code: str = "T1", part: str | None = None) -> dict:
    found = [
        i for i in result["items"] if i["task"] == code and (i["part"] or {}).get("serial") == part
    ]
    assert len(found) == 1, result["items"]
    return found[0]


def flight(day: str, hours: int = 10, start: int = 0, cycles: int = 1, ac: str = "A1") -> dict:
    return {
        "aircraft": ac,
        "takeoff": f"{day}T{start:02d}:00:00Z",
        "landing": f"{day}T{start + hours:02d}:00:00Z",
        "cycles": cycles,
    }


def test_month_end_clamp_from_the_start_date():
    doc = bundle(tasks=[task(interval={"MO": 1})])
    doc["aircraft"][0]["delivered"] = "2025-01-31"
    got = item(run(doc, "2025-02-01T00:00:00Z"))
    assert got["due"] == {"MO": "2025-02-28"} and got["remaining"] == {"MO": 27}
    assert got["due_date"] == "2025-02-28" and got["driver"] == "MO"


def test_month_end_clamp_leap_year():
    doc = bundle(tasks=[task(interval={"MO": 1})])
    doc["aircraft"][0]["delivered"] = "2024-01-31"
    assert item(run(doc, "2024-02-01T00:00:00Z"))["due"] == {"MO": "2024-02-29"}


def test_last_due_months_chain_on_the_clamped_date():
    """31 Jan -> 28 Feb -> 28 Mar: the previous due is the date as clamped."""
    doc = bundle(
        tasks=[task(interval={"MO": 1}, tolerance={"DY": 3}, schedule_from="last_due")],
        compliance=[{"task": "T1", "aircraft": "A1", "done_at": "2025-03-01T10:00:00Z"}],
    )
    doc["aircraft"][0]["delivered"] = "2025-01-31"
    assert item(run(doc, "2025-03-02T00:00:00Z"))["due"] == {"MO": "2025-03-28"}


def test_threshold_then_interval():
    doc = bundle(
        tasks=[task(threshold={"FH": 100}, interval={"FH": 200, "MO": 6})],
        flights=[flight(f"2025-01-{d:02d}") for d in range(2, 13)],  # 110 FH by 12 Jan
    )
    first = item(run(doc, "2025-01-05T00:00:00Z"))
    assert set(first["due"]) == {"FH"} and first["due"]["FH"] == 100  # threshold units only
    doc["compliance"] = [{"task": "T1", "aircraft": "A1", "done_at": "2025-01-11T12:00:00Z"}]
    after = item(run(doc, "2025-01-20T00:00:00Z"))
    assert after["due"] == {"FH": 300, "MO": "2025-07-11"}  # 100 FH at compliance + 200
    assert after["remaining"]["FH"] == 300 - 110


@pytest.mark.parametrize(
    ("done_day", "expected"),
    [
        ("2025-01-11", 200),  # 10 days x 10 FH = 100: on time
        ("2025-01-12", 200),  # 110: late within tolerance 10 -> schedule kept
        ("2025-01-10", 200),  # 90: early within tolerance -> schedule kept
        ("2025-01-13", 220),  # 120: late outside tolerance -> re-based on actual
        ("2025-01-09", 180),  # 80: early outside tolerance -> re-based on actual
    ],
)
def test_last_due_within_and_outside_tolerance(done_day, expected):
    doc = bundle(
        tasks=[task(interval={"FH": 100}, tolerance={"FH": 10}, schedule_from="last_due")],
        flights=[flight(f"2025-01-{d:02d}") for d in range(2, 20)],
        compliance=[{"task": "T1", "aircraft": "A1", "done_at": f"{done_day}T12:00:00Z"}],
    )
    assert item(run(doc, "2025-01-25T00:00:00Z"))["due"] == {"FH": expected}


def test_last_done_always_rebases():
    doc = bundle(
        tasks=[task(interval={"FH": 100}, tolerance={"FH": 10})],
        flights=[flight(f"2025-01-{d:02d}") for d in range(2, 20)],
        compliance=[{"task": "T1", "aircraft": "A1", "done_at": "2025-01-12T12:00:00Z"}],
    )
    assert item(run(doc, "2025-01-25T00:00:00Z"))["due"] == {"FH": 210}


def test_each_unit_rebased_on_its_own():
    doc = bundle(
        tasks=[
            task(
                interval={"FH": 100, "DY": 30},
                tolerance={"FH": 10, "DY": 2},
                schedule_from="last_due",
            )
        ],
        flights=[flight(f"2025-01-{d:02d}") for d in range(2, 13)],
        # 110 FH (within 10 of 100); day 2025-01-12 is 11 days before the DY due 2025-01-31
        compliance=[{"task": "T1", "aircraft": "A1", "done_at": "2025-01-12T12:00:00Z"}],
    )
    got = item(run(doc, "2025-01-20T00:00:00Z"))
    assert got["due"] == {"FH": 200, "DY": "2025-02-11"}


def test_unit_without_previous_due_uses_actual_value():
    doc = bundle(
        tasks=[
            task(
                threshold={"FH": 50},
                interval={"FH": 100, "DY": 30},
                tolerance={"FH": 10, "DY": 5},
                schedule_from="last_due",
            )
        ],
        flights=[flight(f"2025-01-{d:02d}") for d in range(2, 8)],  # 60 FH by 7 Jan
        compliance=[{"task": "T1", "aircraft": "A1", "done_at": "2025-01-07T12:00:00Z"}],
    )
    got = item(run(doc, "2025-01-08T00:00:00Z"))
    assert got["due"] == {
        "FH": 150,
        "DY": "2025-02-06",
    }  # FH kept (60 within 50+10); DY from actual


def test_stated_compliance_counters_win():
    doc = bundle(
        tasks=[task(interval={"FH": 100, "FC": 50})],
        flights=[flight("2025-01-02")],
        compliance=[
            {
                "task": "T1",
                "aircraft": "A1",
                "done_at": "2025-01-03T00:00:00Z",
                "counters": {"FH": 4.5},
            }
        ],
    )
    got = item(run(doc, "2025-01-05T00:00:00Z"))
    assert got["due"] == {"FH": 104.5, "FC": 51}  # FH stated, FC from the flights


def test_compliances_after_as_of_are_ignored():
    doc = bundle(
        tasks=[task(interval={"FH": 100})],
        compliance=[{"task": "T1", "aircraft": "A1", "done_at": "2025-02-01T00:00:00Z"}],
    )
    assert item(run(doc, "2025-01-15T00:00:00Z"))["due"] == {"FH": 100}


def test_once_task_drops_out_when_done():
    doc = bundle(tasks=[task("AD", kind="once", threshold={"DY": 100})])
    assert item(run(doc, "2025-01-10T00:00:00Z"), "AD")["due"] == {"DY": "2025-04-11"}
    doc["compliance"] = [{"task": "AD", "aircraft": "A1", "done_at": "2025-01-09T00:00:00Z"}]
    assert run(doc, "2025-01-10T00:00:00Z")["items"] == []


def _engine_doc(**extra: Any) -> dict[str, Any]:
    extra.setdefault(
        "tasks",
        [
            {
                "code": "LL",
                "title": "life",
                "ata": "72",
                "applies_to": {"part_number": "E"},
                "kind": "life_limit",
                "threshold": {"FH": 40},
                "tolerance": {"FH": 100},
            }
        ],
    )
    doc = bundle(
        parts=[{"pn": "E", "serial": "E1", "manufactured": "2024-06-01", "opening": {"FH": 10}}],
        **extra,
    )
    doc["aircraft"].append(
        {"serial": "A2", "variant": "V", "operator": "OP", "delivered": "2025-01-01"}
    )
    return doc


def test_parts_moving_between_aircraft_and_landing_at_removal():
    doc = _engine_doc(
        installations=[
            {
                "pn": "E",
                "serial": "E1",
                "aircraft": "A1",
                "position": "ENG",
                "installed_at": "2025-01-01T00:00:00Z",
                "removed_at": "2025-01-03T10:00:00Z",
            },
            {
                "pn": "E",
                "serial": "E1",
                "aircraft": "A2",
                "position": "ENG",
                "installed_at": "2025-01-04T00:00:00Z",
            },
        ],
        flights=[
            flight("2025-01-02"),  # on A1 while fitted: 10
            flight("2025-01-03"),  # lands 10:00 = removal instant: not the part's
            flight("2025-01-05", ac="A2", hours=5),  # on A2: 5
            flight("2025-01-06"),  # A1 after removal: not the part's
        ],
    )
    got = item(run(doc, "2025-01-10T00:00:00Z"), "LL", "E1")
    assert got["aircraft"] == "A2"
    assert got["remaining"] == {"FH": 40 - (10 + 10 + 5)}


def test_flight_in_the_air_at_as_of_counts_nothing():
    doc = bundle(tasks=[task(interval={"FH": 100, "FC": 10})], flights=[flight("2025-01-02")])
    airborne = item(run(doc, "2025-01-02T05:00:00Z"))
    assert airborne["remaining"] == {"FH": 100, "FC": 10}
    landed = item(run(doc, "2025-01-02T10:00:00Z"))
    assert landed["remaining"] == {"FH": 90, "FC": 9}


def test_part_in_stores_life_limit_flagged_without_projection():
    doc = _engine_doc(
        tasks=[
            {
                "code": "LL",
                "title": "life",
                "ata": "72",
                "applies_to": {"part_number": "E"},
                "kind": "life_limit",
                "threshold": {"FH": 5},
                "tolerance": {"FH": 100},
            },
            {
                "code": "CAL",
                "title": "cal",
                "ata": "72",
                "applies_to": {"part_number": "E"},
                "kind": "repeat",
                "interval": {"FH": 100, "MO": 12},
            },
        ]
    )
    result = run(doc, "2025-01-10T00:00:00Z")
    life = item(result, "LL", "E1")
    assert life["aircraft"] is None and life["status"] == "overdue"  # 10 FH > 5: no tolerance
    assert life["due_date"] is None and life["driver"] is None  # no usage projection
    cal = item(result, "CAL", "E1")
    assert cal["due_date"] == "2025-06-01" and cal["driver"] == "MO"
    assert all(s["status"] == "serviceable" for s in result["aircraft_status"])


def test_life_limit_part_grounds_its_aircraft_with_reason():
    doc = _engine_doc(
        installations=[
            {
                "pn": "E",
                "serial": "E1",
                "aircraft": "A1",
                "position": "ENG",
                "installed_at": "2025-01-01T00:00:00Z",
            }
        ],
        flights=[flight(f"2025-01-{d:02d}") for d in range(2, 6)],
    )
    result = run(doc, "2025-01-10T00:00:00Z")
    assert item(result, "LL", "E1")["status"] == "overdue"
    assert result["aircraft_status"] == [
        {"aircraft": "A1", "status": "grounded", "reasons": ["LL E/E1"]},
        {"aircraft": "A2", "status": "serviceable", "reasons": []},
    ]


def test_utc_dates_of_offset_instants():
    doc = bundle(tasks=[task(interval={"DY": 10})])
    # 02:00 at +05:00 is 21:00 UTC the day before
    got = run(doc, "2025-01-11T02:00:00+05:00")
    assert got["as_of"] == "2025-01-10T21:00:00Z"
    assert item(got)["remaining"] == {"DY": 1}
    doc["compliance"] = [{"task": "T1", "aircraft": "A1", "done_at": "2025-01-05T01:00:00+05:00"}]
    assert item(run(doc, "2025-01-11T00:00:00Z"))["due"] == {"DY": "2025-01-14"}


def test_rate_from_the_90_day_window_clipped_at_delivery():
    doc = bundle(
        tasks=[task(interval={"FH": 100})], flights=[flight("2025-01-02"), flight("2025-01-03")]
    )
    del doc["aircraft"][0]["planned_rate"]
    # window (2025-01-01T00:00, 2025-01-05T00:00]: 20 FH over 4 days = 5/day; 80 left
    got = item(run(doc, "2025-01-05T00:00:00Z"))
    assert got["due_date"] == "2025-01-21" and got["driver"] == "FH"


def test_rate_window_at_least_one_day_and_zero_rate_gives_no_date():
    doc = bundle(tasks=[task(interval={"FH": 100})], flights=[flight("2025-01-01", 4)])
    del doc["aircraft"][0]["planned_rate"]
    got = item(run(doc, "2025-01-01T06:00:00Z"))  # 6 h of window counts as 1 day
    assert got["due_date"] == "2025-01-25"  # 96 FH left at 4/day = 24 days
    idle = bundle(tasks=[task(interval={"FH": 100})])
    del idle["aircraft"][0]["planned_rate"]
    assert item(run(idle, "2025-06-01T00:00:00Z"))["due_date"] is None


def test_planned_rate_for_one_unit_only():
    doc = bundle(tasks=[task(interval={"FC": 10})], flights=[flight("2025-01-02", cycles=2)])
    doc["aircraft"][0]["planned_rate"] = {"FH": 10.0}  # FC from the window: 2 in 4 days
    assert item(run(doc, "2025-01-05T00:00:00Z"))["due_date"] == "2025-01-21"


def test_driver_tie_order_and_status_boundaries():
    # FH and DY give the same date: FH first
    doc = bundle(tasks=[task(interval={"FH": 100, "DY": 10})])
    got = item(run(doc, "2025-01-01T00:00:00Z", horizon=10))
    assert got["due_date"] == "2025-01-11" and got["driver"] == "FH"
    assert got["status"] == "due_soon"  # due_date == today + horizon
    assert item(run(doc, "2025-01-01T00:00:00Z", horizon=9))["status"] == "ok"


@pytest.mark.parametrize(
    ("as_of", "status"),
    [
        ("2025-01-11T00:00:00Z", "due_soon"),  # the due date itself: not past due
        ("2025-01-12T00:00:00Z", "in_tolerance"),
        ("2025-01-14T00:00:00Z", "in_tolerance"),  # exactly at tolerance: not overdue
        ("2025-01-15T00:00:00Z", "overdue"),
    ],
)
def test_calendar_status_boundaries(as_of, status):
    doc = bundle(tasks=[task(interval={"DY": 10}, tolerance={"DY": 3})])
    assert item(run(doc, as_of))["status"] == status


@pytest.mark.parametrize(
    ("days", "status"),
    [
        (9, "due_soon"),
        (10, "due_soon"),
        (11, "in_tolerance"),
        (12, "in_tolerance"),
        (13, "overdue"),
    ],
)
def test_usage_status_boundaries(days, status):
    doc = bundle(
        tasks=[task(interval={"FH": 100}, tolerance={"FH": 20})],
        flights=[flight(f"2025-01-{d:02d}") for d in range(2, 2 + days)],
    )
    assert item(run(doc, "2025-01-20T00:00:00Z"))["status"] == status


def test_items_sorted_as_bundle_md_says():
    doc = _engine_doc(
        installations=[
            {
                "pn": "E",
                "serial": "E1",
                "aircraft": "A2",
                "position": "ENG",
                "installed_at": "2025-01-01T00:00:00Z",
            }
        ],
        tasks=[
            task("B", interval={"DY": 10}),
            task("A", interval={"DY": 10}),
            task("Z", interval={"FH": 1000}),
            {
                "code": "P",
                "title": "p",
                "ata": "72",
                "applies_to": {"part_number": "E"},
                "kind": "repeat",
                "interval": {"FH": 1000},
            },
        ],
    )
    del doc["aircraft"][0]["planned_rate"]
    got = [
        (i["due_date"], i["aircraft"], i["task"]) for i in run(doc, "2025-01-02T00:00:00Z")["items"]
    ]
    assert got == [
        ("2025-01-11", "A1", "A"),
        ("2025-01-11", "A1", "B"),
        ("2025-01-11", "A2", "A"),
        ("2025-01-11", "A2", "B"),
        (None, "A1", "Z"),
        (None, "A2", "P"),  # the part on A2 sorts with its aircraft, by task code
        (None, "A2", "Z"),
    ]
