"""Demo maintenance programme: invented intervals (marked so) with a compliance history
chosen so that the demo fleet shows items ok, due soon, in tolerance and overdue, and
at least one grounded aircraft."""

from __future__ import annotations

import bisect
import datetime as dt
import random
from typing import Any

from kanat.demo.fleet import DemoFleet
from kanat.fleet import services as fleet_services
from kanat.fleet.models import (
    Aircraft,
    AircraftType,
    AssetKind,
    Flight,
    Installation,
    Part,
    PartNumber,
    Variant,
)
from kanat.maintenance import services
from kanat.maintenance.models import Task

ANKA = ["ANKA-A", "ANKA-B", "ANKA-S", "ANKA-I"]
FLYING = ANKA + ["WING-LOONG-I", "ORLAN-10"]

# code, title, ata, kind, applies (variants list or pn), threshold, interval, tolerance, sched
TASKS: list[tuple[Any, ...]] = [
    (
        "05-20-01",
        "Airframe general visual inspection",
        "05",
        "repeat",
        FLYING,
        None,
        {"FH": 200, "MO": 6},
        {"FH": 10, "DY": 7},
        "last_done",
    ),
    (
        "05-20-02",
        "Annual airworthiness review",
        "05",
        "repeat",
        FLYING,
        None,
        {"MO": 12},
        {"DY": 15},
        "last_due",
    ),
    (
        "32-10-01",
        "Main landing gear detailed inspection",
        "32",
        "repeat",
        ANKA,
        {"FC": 100},
        {"FC": 150, "DY": 180},
        {"FC": 5, "DY": 10},
        "last_done",
    ),
    (
        "30-10-01",
        "De-icing system operational check",
        "30",
        "repeat",
        ANKA,
        None,
        {"MO": 6},
        {"DY": 7},
        "last_done",
    ),
    (
        "57-00-AD1",
        "Directive: wing attach fitting inspection (one-time)",
        "57",
        "once",
        ANKA,
        {"FH": 1500},
        None,
        None,
        "last_done",
    ),
    (
        "72-00-01",
        "Engine hard-time limit",
        "72",
        "life_limit",
        "KN-72100",
        {"FH": 6000},
        None,
        None,
        "last_done",
    ),
    (
        "72-10-02",
        "Engine borescope inspection",
        "72",
        "repeat",
        "KN-72100",
        None,
        {"FH": 300},
        {"FH": 15},
        "last_due",
    ),
    (
        "79-10-01",
        "Engine oil and filter change",
        "79",
        "repeat",
        "KN-72100",
        None,
        {"FH": 100, "MO": 3},
        {"FH": 5, "DY": 5},
        "last_done",
    ),
    (
        "61-10-01",
        "Propeller overhaul",
        "61",
        "repeat",
        "KN-61100",
        None,
        {"FH": 1500, "MO": 36},
        {"FH": 50},
        "last_done",
    ),
    (
        "23-20-01",
        "SATCOM terminal functional test",
        "23",
        "repeat",
        "KN-23200",
        None,
        {"MO": 3},
        {"DY": 7},
        "last_done",
    ),
    (
        "34-10-01",
        "SAR radar calibration",
        "34",
        "repeat",
        "KN-34100",
        None,
        {"MO": 12},
        {"DY": 15},
        "last_done",
    ),
    (
        "72-00-02",
        "Engine hard-time limit (Wing Loong)",
        "72",
        "life_limit",
        "WL-72100",
        {"FH": 2000},
        None,
        None,
        "last_done",
    ),
    (
        "72-00-03",
        "Engine hard-time limit (Orlan-10)",
        "72",
        "life_limit",
        "OR-72100",
        {"FH": 3000},
        None,
        None,
        "last_done",
    ),
    (
        "23-90-01",
        "Ground datalink terminal check",
        "23",
        "repeat",
        "KN-23900",
        None,
        {"MO": 6},
        {"DY": 10},
        "last_done",
    ),
    # added with the task cards (kanat.demo.work); its history draws from its own random
    # stream so the items above keep theirs
    (
        "61-10-02",
        "Propeller blade track and retention inspection",
        "61",
        "repeat",
        "KN-61100",
        None,
        {"FH": 150},
        {"FH": 10},
        "last_done",
    ),
]
#: tasks whose compliance history uses a separate random stream (added after the others)
LATER_TASKS = {"61-10-02"}

AMM = "AMM {} (invented demo reference)"

#: written task cards (critical flag and instructions) of some tasks: steps, measured limits,
#: tools, parts and references are all invented for the demo
CARDS: dict[str, tuple[bool, dict[str, Any]]] = {
    "61-10-02": (
        True,
        {
            "steps": [
                {"text": "Remove the spinner", "reference": AMM.format("61-10-00 p. 401")},
                {
                    "text": "Inspect each blade for nicks, erosion and cracks; dress within "
                    "blend limits",
                    "reference": AMM.format("61-10-00 p. 601"),
                },
                {
                    "kind": "measure",
                    "text": "Measure blade track at the tip with the tracking stick",
                    "measure": {"name": "blade track", "unit": "mm", "min": 0, "max": 2.0},
                    "reference": AMM.format("61-10-00 p. 602"),
                },
                {
                    "kind": "measure",
                    "text": "Check blade retention bolt torque",
                    "measure": {
                        "name": "retention bolt torque",
                        "unit": "Nm",
                        "min": 18,
                        "max": 22,
                    },
                },
                {"text": "Refit the spinner and lock-wire the screws"},
            ],
            "tools": ["Propeller tracking stick", "Torque wrench 5-25 Nm", "Lock-wire pliers"],
            "parts": [{"pn": "MS20995C32", "qty": 1}],
            "references": [AMM.format("61-10-00")],
        },
    ),
    "72-10-02": (
        False,
        {
            "steps": [
                {"text": "Remove the injectors of cylinders 1 to 4 for borescope access"},
                {
                    "text": "Borescope each cylinder: walls, piston crown, valves",
                    "reference": AMM.format("72-10-00 p. 601"),
                },
                {
                    "kind": "measure",
                    "text": "Measure the deepest cylinder wall scoring",
                    "measure": {"name": "cylinder wall scoring", "unit": "mm", "max": 0.05},
                },
                {"text": "Refit the injectors with new seals; torque to the AMM value"},
            ],
            "tools": ["Video borescope 6 mm", "Torque wrench 20-100 Nm"],
            "parts": [{"pn": "KN-72100-INJ-SEAL", "qty": 4}],
            "references": [AMM.format("72-10-00")],
        },
    ),
    "72-00-01": (
        True,
        {
            "steps": [
                {"text": "Disconnect fuel, oil, electrical and control connections"},
                {
                    "kind": "remove",
                    "text": "Remove the engine at its hard-time limit",
                    "position": "ENG",
                    "reference": AMM.format("72-00-00 p. 401"),
                },
                {
                    "kind": "install",
                    "text": "Install a serviceable engine; torque the mount bolts",
                    "position": "ENG",
                    "reference": AMM.format("72-00-00 p. 402"),
                },
                {"text": "Reconnect fuel, oil, electrical and control connections"},
                {
                    "kind": "measure",
                    "text": "Ground run: record the maximum static RPM",
                    "measure": {
                        "name": "maximum static RPM",
                        "unit": "rpm",
                        "min": 4800,
                        "max": 5200,
                    },
                },
                {"text": "Leak check after the ground run"},
            ],
            "tools": ["Engine sling KN-T-7201", "Hoist 500 kg", "Torque wrench 20-100 Nm"],
            "parts": [{"pn": "KN-72100", "qty": 1}, {"pn": "KN-72100-MOUNT-BOLT", "qty": 4}],
            "references": [AMM.format("72-00-00")],
        },
    ),
    "32-10-01": (
        False,
        {
            "steps": [
                {"text": "Jack the aircraft; inspect the gear legs, fittings and tyres"},
                {
                    "kind": "measure",
                    "text": "Measure the static shock strut extension",
                    "measure": {"name": "strut extension", "unit": "mm", "min": 85, "max": 95},
                    "reference": AMM.format("32-10-00 p. 601"),
                },
                {"text": "Lubricate the gear pivots; lower the aircraft"},
            ],
            "tools": ["Tripod jacks (2)", "Grease gun"],
            "references": [AMM.format("32-10-00")],
        },
    ),
    "79-10-01": (
        False,
        {
            "steps": [
                {"text": "Drain the engine oil; remove the oil filter"},
                {
                    "kind": "measure",
                    "text": "Cut the filter open: count metal particles over 1 mm",
                    "measure": {"name": "metal particles over 1 mm", "unit": "", "max": 0},
                },
                {"text": "Fit a new filter; refill with approved oil; ground run and check"},
            ],
            "parts": [{"pn": "KN-79100-FLT", "qty": 1}],
            "references": [AMM.format("79-10-00")],
        },
    ),
}

NOTE = "Invented demo interval: not from the type's maintenance manual."


def load(fleet: DemoFleet, *, rng: random.Random, log: Any) -> None:
    variants = {v.code: v for v in Variant.objects.all()}
    pns = {p.pn: p for p in PartNumber.objects.all()}
    tasks: dict[str, Task] = {}
    for code, title, ata, kind, applies, th, iv, tol, sched in TASKS:
        critical, instructions = CARDS.get(code, (False, None))
        rev, _ = services.define_task(
            actor=None,
            code=code,
            title=title,
            ata=ata,
            kind=kind,
            variants=[variants[v] for v in applies] if isinstance(applies, list) else (),
            part_number=pns[applies] if isinstance(applies, str) else None,
            threshold=th,
            interval=iv,
            tolerance=tol,
            schedule_from=sched,
            reason=NOTE,
            invented=True,
            critical=critical,
            instructions=instructions,
        )
        tasks[code] = rev.task
    now = fleet.now
    assert now is not None
    timeline = _timelines()
    made = 0
    # a stream of its own for the tasks added later, seeded from (not drawn from) the main
    # one: the older items keep the history they had before
    later = random.Random(hash(rng.getstate()))
    for aircraft in fleet.aircraft:
        if aircraft.variant.aircraft_type.kind != AssetKind.AIRCRAFT:
            continue
        for code, _t, _a, kind, applies, th, iv, tol, _s in TASKS:
            if not isinstance(applies, list) or aircraft.variant.code not in applies:
                continue
            if kind == "once":
                made += _directive(tasks[code], aircraft, th, timeline[aircraft.pk], now)
                continue
            made += _history(
                tasks[code],
                aircraft,
                None,
                iv,
                tol,
                timeline[aircraft.pk],
                now,
                later if code in LATER_TASKS else rng,
                target=_target(aircraft, code),
                opening=(aircraft.opening_fh, aircraft.opening_fc),
            )
    fitted = Installation.objects.filter(removed_at__isnull=True).select_related(
        "part__part_number", "aircraft"
    )
    for inst in fitted:
        for code, _t, _a, kind, applies, _th, iv, tol, _s in TASKS:
            if applies != inst.part.part_number.pn or kind != "repeat":
                continue
            made += _history(
                tasks[code],
                None,
                inst.part,
                iv,
                tol,
                timeline.get(inst.aircraft_id, []),
                now,
                later if code in LATER_TASKS else rng,
                target=_target(inst.aircraft, code),
                opening=(inst.part.opening_fh, inst.part.opening_fc),
            )
    # spares in stores: preserved and checked a few weeks ago
    in_stores = Part.objects.exclude(installations__removed_at__isnull=True).select_related(
        "part_number"
    )
    for part in in_stores:
        for code, _t, _a, kind, applies, _th, _iv, _tol, _s in TASKS:
            if applies == part.part_number.pn and kind == "repeat":
                services.record_compliance(
                    actor=None,
                    task=tasks[code],
                    part=part,
                    done_at=now
                    - dt.timedelta(days=(later if code in LATER_TASKS else rng).randint(10, 40)),
                    reference="demo: stores preservation check (invented)",
                    performed_by_label="demo storekeeper",
                )
                made += 1
    log(f"programme: {len(tasks)} tasks (invented intervals), {made} compliance records")
    _flight_limits()


#: envelope and limits flight logs are checked against (outside air from the ANKA's public
#: -54..+54 degC envelope; speeds, touchdown and battery limits invented)
LIMITS = {
    "oat_min_c": -54.0,
    "oat_max_c": 54.0,
    "max_speed_ms": 62.0,
    "hard_landing_accel_ms2": 24.5,
    "hard_landing_sink_ms": 3.0,
}


def _flight_limits() -> None:
    """Every aircraft type checks logs against LIMITS; a hard landing raises an inspection
    (invented card) due the day it happened, one day of tolerance."""
    services.define_task(
        actor=None,
        code="05-51-01",
        title="Hard landing inspection (raised by a flight finding)",
        ata="05-51",
        kind="once",
        threshold={"DY": 0},
        tolerance={"DY": 1},
        reason=NOTE,
        invented=True,
    )
    for atype in AircraftType.objects.filter(kind=AssetKind.AIRCRAFT):
        fleet_services.set_type_limits(
            actor=None,
            aircraft_type=atype,
            limits=LIMITS,
            finding_tasks={"HARD_LANDING": "05-51-01"},
        )


def _directive(
    task: Task,
    aircraft: Aircraft,
    threshold: dict[str, float],
    timeline: list[tuple[dt.datetime, float, int]],
    now: dt.datetime,
) -> int:
    """A one-time directive: done by the aircraft that were near its threshold, left open
    on the others; KZ-009 missed it and is grounded by it."""
    limit = threshold.get("FH")
    total = aircraft.opening_fh + (timeline[-1][1] if timeline else 0.0)
    if limit is None or total < 0.97 * limit or aircraft.serial == "KZ-009":
        return 0
    at = 0.95 * limit - aircraft.opening_fh
    if at < 0:
        when, stated = (
            (timeline[0][0] if timeline else now) - dt.timedelta(days=20),
            {"FH": round(0.95 * limit, 1)},
        )
    else:
        idx = bisect.bisect_left([t[1] for t in timeline], at)
        when, stated = timeline[min(idx, len(timeline) - 1)][0] + dt.timedelta(hours=2), None
    services.record_compliance(
        actor=None,
        task=task,
        aircraft=aircraft,
        done_at=when,
        stated=stated,
        reference="demo: directive embodied (invented)",
        performed_by_label="demo technician",
    )
    return 1


def _target(aircraft: Aircraft, code: str) -> float:
    """Where in its interval each demo item stands (fraction used), to show every status."""
    special = {
        ("KZ-004", "05-20-01"): 1.12,  # overdue beyond tolerance: grounded
        ("PB-002", "05-20-01"): 1.03,  # past due, within tolerance
        ("KZ-008", "32-10-01"): 1.02,
        ("PC-003", "79-10-01"): 1.25,  # overdue oil change: grounded
    }
    return special.get((aircraft.serial, code), -1.0)


def _timelines() -> dict[int, list[tuple[dt.datetime, float, int]]]:
    """Per aircraft: (landing, FH, FC) cumulative since the opening balance."""
    out: dict[int, list[tuple[dt.datetime, float, int]]] = {}
    fh: dict[int, float] = {}
    fc: dict[int, int] = {}
    for ac_id, takeoff, landing, cycles in Flight.objects.order_by(
        "aircraft_id", "landing"
    ).values_list("aircraft_id", "takeoff", "landing", "cycles"):
        fh[ac_id] = fh.get(ac_id, 0.0) + (landing - takeoff).total_seconds() / 3600
        fc[ac_id] = fc.get(ac_id, 0) + cycles
        out.setdefault(ac_id, []).append((landing, fh[ac_id], fc[ac_id]))
    return out


def _history(
    task: Task,
    aircraft: Aircraft | None,
    part: Any,
    interval: dict[str, float] | None,
    tolerance: dict[str, float] | None,
    timeline: list[tuple[dt.datetime, float, int]],
    now: dt.datetime,
    rng: random.Random,
    *,
    target: float,
    opening: tuple[float, int] = (0.0, 0),
) -> int:
    """Record the last compliance so that the item has used ``target`` of its interval
    (random when negative) in its most constrained unit.

    Each unit gives the instant at which the item had used that fraction; the latest of
    them is the compliance. Usage further back than the recorded flights becomes a
    migrated record with stated counters, as a real migration would carry."""
    if not interval:
        return 0
    used = (
        target
        if target >= 0
        else (rng.uniform(0.88, 0.99) if rng.random() < 0.15 else rng.uniform(0.1, 0.8))
    )
    candidates: list[tuple[dt.datetime, dict[str, float] | None]] = []
    for unit in ("DY", "MO"):
        if unit in interval:
            days = interval[unit] * (1 if unit == "DY" else 30.44)
            candidates.append((now - dt.timedelta(days=days * used), None))
    for k, unit in ((1, "FH"), (2, "FC")):
        if unit not in interval or not timeline:
            continue
        total = timeline[-1][k]
        want = total - interval[unit] * used
        values = [t[k] for t in timeline]
        if want >= 0:
            idx = bisect.bisect_left(values, want)
            candidates.append(
                (timeline[min(idx, len(timeline) - 1)][0] + dt.timedelta(hours=1), None)
            )
        elif opening[k - 1] + want >= 0:
            # before the recorded flights: a migrated record states its counters
            value = opening[k - 1] + want
            stated = {unit: round(value, 1) if unit == "FH" else float(int(value))}
            candidates.append((timeline[0][0] - dt.timedelta(days=3), stated))
    if not candidates:
        return 0
    when, stated = max(candidates, key=lambda c: c[0])
    services.record_compliance(
        actor=None,
        task=task,
        done_at=when,
        aircraft=aircraft,
        part=part,
        stated=stated,
        reference="demo work order (invented)",
        performed_by_label="demo technician",
    )
    return 1
