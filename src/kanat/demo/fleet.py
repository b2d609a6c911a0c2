"""Demo fleet: the ANKA family and other types, three operators, 26 aircraft, ground
stations, serialised parts with swaps between airframes, and a year of flights."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field

from kanat.core import services as core_services
from kanat.core.models import Operator
from kanat.core.roles import Role
from kanat.fleet import services
from kanat.fleet.models import (
    Aircraft,
    AssetKind,
    Part,
    PartNumber,
    PartTracking,
    Position,
    RemovalReason,
    Variant,
)

INVENTED = "Invented for the demo: not programme data."
ANKA_FIGURES = {
    "class": "MALE UAV, in service since 2013",
    "wingspan_m": 17.5,
    "length_m": 8.6,
    "endurance_h": 30,
    "payload_kg": 200,
    "operating_temperature_c": [-54, 54],
    "source": "public press reports 2022-2023 (programme.md)",
}

# pn, description, tracking, ata
PART_NUMBERS = [
    ("KN-72100", "Heavy-fuel piston engine, ANKA", PartTracking.SERIAL, "72"),
    ("KN-61100", "Three-blade variable-pitch propeller, ANKA", PartTracking.SERIAL, "61"),
    ("KN-32100", "Main landing gear assembly, ANKA", PartTracking.SERIAL, "32"),
    ("KN-30100", "De-icing system controller, ANKA", PartTracking.SERIAL, "30"),
    ("KN-23100", "Line-of-sight datalink airborne terminal", PartTracking.SERIAL, "23"),
    ("KN-23200", "Airborne SATCOM terminal (radome-mounted)", PartTracking.SERIAL, "23"),
    ("KN-23300", "Signals-intelligence payload", PartTracking.SERIAL, "23"),
    ("KN-34100", "Synthetic-aperture radar", PartTracking.SERIAL, "34"),
    ("KN-34200", "GMTI radar", PartTracking.SERIAL, "34"),
    ("KN-46100", "Electro-optical / infrared turret", PartTracking.SERIAL, "46"),
    ("KN-23900", "Ground datalink terminal", PartTracking.SERIAL, "23"),
    ("KN-23910", "Ground SATCOM terminal", PartTracking.SERIAL, "23"),
    ("WL-72100", "Piston engine, Wing Loong", PartTracking.SERIAL, "72"),
    ("WL-61100", "Propeller, Wing Loong", PartTracking.SERIAL, "61"),
    ("WL-46100", "EO/IR turret, Wing Loong", PartTracking.SERIAL, "46"),
    ("OR-72100", "Two-stroke engine, Orlan-10", PartTracking.SERIAL, "72"),
    ("OR-46100", "Camera payload, Orlan-10", PartTracking.SERIAL, "46"),
    ("KN-FLT-12", "Engine oil filter", PartTracking.BATCH, "79"),
    ("KN-OIL-15", "Engine oil, 1 L", PartTracking.CONSUMABLE, "12"),
]

# variant -> [(code, name, ata, parent code, [pn...])]
ANKA_BASE = [
    ("ENG", "Engine", "72", None, ["KN-72100"]),
    ("PROP", "Propeller", "61", "ENG", ["KN-61100"]),
    ("MLG", "Main landing gear", "32", None, ["KN-32100"]),
    ("DEICE", "De-icing controller", "30", None, ["KN-30100"]),
    ("LOS", "LOS datalink terminal", "23", None, ["KN-23100"]),
    ("EOIR", "EO/IR turret", "46", None, ["KN-46100"]),
]
POSITIONS: dict[str, list[tuple[str, str, str, str | None, list[str]]]] = {
    "ANKA-A": ANKA_BASE,
    "ANKA-B": ANKA_BASE + [("RADAR", "SAR / GMTI radar", "34", None, ["KN-34100", "KN-34200"])],
    "ANKA-S": ANKA_BASE
    + [
        ("RADAR", "SAR / GMTI radar", "34", None, ["KN-34100", "KN-34200"]),
        ("SATCOM", "Airborne SATCOM terminal", "23", None, ["KN-23200"]),
    ],
    "ANKA-I": ANKA_BASE + [("SIGINT", "SIGINT payload", "23", None, ["KN-23300"])],
    "WING-LOONG-I": [
        ("ENG", "Engine", "72", None, ["WL-72100"]),
        ("PROP", "Propeller", "61", "ENG", ["WL-61100"]),
        ("EOIR", "EO/IR turret", "46", None, ["WL-46100"]),
    ],
    "ORLAN-10": [
        ("ENG", "Engine", "72", None, ["OR-72100"]),
        ("CAM", "Camera payload", "46", None, ["OR-46100"]),
    ],
    "ANKA-GCS": [
        ("GDT", "Ground datalink terminal", "23", None, ["KN-23900"]),
        ("GST", "Ground SATCOM terminal", "23", None, ["KN-23910"]),
    ],
}

VARIANTS = [
    # type code, type name, manufacturer, kind, variant code, name, description, figures
    (
        "ANKA",
        "ANKA",
        "TUSAŞ (Turkish Aerospace)",
        AssetKind.AIRCRAFT,
        "ANKA-A",
        "ANKA-A",
        "Basic medium-altitude long-endurance reconnaissance version (introduced 2010).",
        ANKA_FIGURES,
    ),
    (
        "ANKA",
        "ANKA",
        "TUSAŞ (Turkish Aerospace)",
        AssetKind.AIRCRAFT,
        "ANKA-B",
        "ANKA-B",
        "Improved variant, first flight 2014, factory tests 2015.",
        ANKA_FIGURES,
    ),
    (
        "ANKA",
        "ANKA",
        "TUSAŞ (Turkish Aerospace)",
        AssetKind.AIRCRAFT,
        "ANKA-S",
        "ANKA-S",
        "Satellite-controlled version: airborne SATCOM terminal in a modified radome (2017).",
        ANKA_FIGURES,
    ),
    (
        "ANKA",
        "ANKA",
        "TUSAŞ (Turkish Aerospace)",
        AssetKind.AIRCRAFT,
        "ANKA-I",
        "ANKA-I",
        "Signals-intelligence variant.",
        ANKA_FIGURES,
    ),
    (
        "WING-LOONG",
        "Wing Loong",
        "AVIC",
        AssetKind.AIRCRAFT,
        "WING-LOONG-I",
        "Wing Loong I",
        "Chinese MALE UAV also flown by the Kazakh air force (mixed fleet).",
        {"source": "programme.md names the type only; no figures used"},
    ),
    (
        "ORLAN-10",
        "Orlan-10",
        "STC",
        AssetKind.AIRCRAFT,
        "ORLAN-10",
        "Orlan-10",
        "Russian small tactical UAV also flown in the region (mixed fleet).",
        {"source": "programme.md names the type only; no figures used"},
    ),
    (
        "ANKA-GCS",
        "ANKA ground control station",
        "TUSAŞ (Turkish Aerospace)",
        AssetKind.GROUND_STATION,
        "ANKA-GCS",
        "ANKA GCS",
        "Ground control station with its ground datalink and SATCOM terminals.",
        {},
    ),
]

OPERATORS = [
    ("KZ-ADF", "Kazakh Air Defence Forces UAV wing (demo tenant)", "KZ"),
    ("RP-B", "Regional partner B air arm (invented)", ""),
    ("RP-C", "Partner C border aviation service (invented)", ""),
]

# operator, serial prefix, [(variant, count)]
FLEET = [
    (
        "KZ-ADF",
        "KZ",
        [("ANKA-A", 2), ("ANKA-B", 3), ("ANKA-S", 4), ("ANKA-I", 1), ("WING-LOONG-I", 2)],
    ),
    ("RP-B", "PB", [("ANKA-S", 3), ("ANKA-B", 3), ("ORLAN-10", 2)]),
    ("RP-C", "PC", [("ANKA-A", 2), ("ANKA-B", 2), ("WING-LOONG-I", 2)]),
]
# typical sortie length in hours (min, max) and days between sorties (min, max)
SORTIES = {"ANKA": (5.0, 22.0, 2, 6), "WING-LOONG": (6.0, 18.0, 3, 7), "ORLAN-10": (1.5, 8.0, 1, 4)}


@dataclass
class DemoFleet:
    """What the fleet loader made, for the loaders of later issues."""

    operators: dict[str, Operator] = field(default_factory=dict)
    aircraft: list[Aircraft] = field(default_factory=list)
    parts: list[Part] = field(default_factory=list)
    go_live: dt.datetime | None = None
    now: dt.datetime | None = None


def load(*, now: dt.datetime, rng: random.Random, log: callable) -> DemoFleet:  # type: ignore[valid-type]
    out = DemoFleet(now=now)
    go_live = (now - dt.timedelta(days=365)).replace(hour=0, minute=0, second=0, microsecond=0)
    out.go_live = go_live
    for code, name, country in OPERATORS:
        out.operators[code] = core_services.create_operator(
            actor=None, code=code, name=name, country=country
        )
    pns = {
        pn: services.create_part_number(
            actor=None,
            pn=pn,
            description=desc,
            tracking=tracking,
            ata=ata,
            manufacturer="invented",
            invented=True,
        )
        for pn, desc, tracking, ata in PART_NUMBERS
    }
    types: dict[str, object] = {}
    variants: dict[str, Variant] = {}
    for tcode, tname, maker, kind, vcode, vname, desc, figures in VARIANTS:
        if tcode not in types:
            types[tcode] = services.create_aircraft_type(
                actor=None,
                code=tcode,
                name=tname,
                manufacturer=maker,
                kind=kind,
                notes="Public figures from press reports; part numbers and intervals invented.",
            )
        variants[vcode] = services.create_variant(
            actor=None,
            aircraft_type=types[tcode],
            code=vcode,
            name=vname,  # type: ignore[arg-type]
            description=desc,
            figures=figures,
        )
    positions: dict[str, dict[str, Position]] = {}
    for vcode, rows in POSITIONS.items():
        positions[vcode] = {}
        for code, name, ata, parent, allowed in rows:
            positions[vcode][code] = services.create_position(
                actor=None,
                variant=variants[vcode],
                code=code,
                name=name,
                ata=ata,
                parent=positions[vcode][parent] if parent else None,
                part_numbers=[pns[p] for p in allowed],
            )
    log(f"reference data: {len(variants)} variants, {len(pns)} part numbers")

    serial_no = 1000
    # spare parts in the hub pool
    for pn, count in (("KN-72100", 3), ("KN-61100", 2), ("KN-46100", 1), ("WL-72100", 1)):
        for _ in range(count):
            serial_no += 1
            out.parts.append(
                services.register_part(
                    actor=None,
                    part_number=pns[pn],
                    serial=f"S{serial_no}",
                    manufactured=(go_live - dt.timedelta(days=rng.randint(30, 400))).date(),
                )
            )
    spares = list(out.parts)

    for op_code, prefix, mix in FLEET:
        operator = out.operators[op_code]
        n = 0
        for vcode, count in mix:
            for _ in range(count):
                n += 1
                delivered = go_live.date() - dt.timedelta(days=rng.randint(60, 1000))
                age_days = (go_live.date() - delivered).days
                opening_fh = round(age_days * rng.uniform(1.2, 3.0), 1) if age_days > 90 else 0.0
                opening_fc = int(opening_fh / rng.uniform(9, 14)) if opening_fh else 0
                aircraft = services.register_aircraft(
                    actor=None,
                    serial=f"{prefix}-{n:03d}",
                    variant=variants[vcode],
                    operator=operator,
                    delivered=delivered,
                    opening_fh=opening_fh,
                    opening_fc=opening_fc,
                    planned_fh_per_day=6.0 if (op_code == "RP-B" and vcode == "ANKA-S") else None,
                )
                out.aircraft.append(aircraft)
                fitted_at = dt.datetime.combine(delivered, dt.time(8), tzinfo=dt.UTC)
                for code, pos in positions[vcode].items():
                    allowed = POSITIONS[vcode]
                    pn = next(r[4][0] for r in allowed if r[0] == code)
                    serial_no += 1
                    # PB-005 received a high-time engine: it runs past its (invented)
                    # hard-time limit during the demo year and grounds the aircraft
                    high_time = aircraft.serial == "PB-005" and code == "ENG"
                    part = services.register_part(
                        actor=None,
                        part_number=pns[pn],
                        serial=f"S{serial_no}",
                        manufactured=delivered - dt.timedelta(days=rng.randint(20, 200)),
                        opening_fh=opening_fh + (3000.0 if high_time else 0.0),
                        opening_fc=opening_fc + (200 if high_time else 0),
                        operator=operator,
                    )
                    out.parts.append(part)
                    services.install_part(
                        actor=None,
                        part=part,
                        aircraft=aircraft,
                        position=pos,
                        installed_at=fitted_at,
                        reference="as delivered",
                    )
        # one ground control station per operator
        gcs = services.register_aircraft(
            actor=None,
            serial=f"{prefix}-GCS-1",
            variant=variants["ANKA-GCS"],
            operator=operator,
            delivered=go_live.date() - dt.timedelta(days=400),
        )
        out.aircraft.append(gcs)
        for code, pos in positions["ANKA-GCS"].items():
            pn = "KN-23900" if code == "GDT" else "KN-23910"
            serial_no += 1
            part = services.register_part(
                actor=None,
                part_number=pns[pn],
                serial=f"S{serial_no}",
                manufactured=go_live.date() - dt.timedelta(days=500),
                operator=operator,
            )
            out.parts.append(part)
            services.install_part(
                actor=None,
                part=part,
                aircraft=gcs,
                position=pos,
                installed_at=dt.datetime.combine(gcs.delivered, dt.time(8), tzinfo=dt.UTC),
                reference="as delivered",
            )
    log(f"fleet: {len(out.aircraft)} assets, {len(out.parts)} serialised parts")

    flights_of = _fly(out.aircraft, go_live, now, rng)
    total = 0
    for aircraft, flights in flights_of.items():
        services.record_flights(actor=None, aircraft=aircraft, flights=flights, source="demo")
        total += len(flights)
    log(f"flights: {total} over the last 365 days")

    _swaps(out, positions, spares, flights_of, rng)
    return out


def _fly(
    fleet: list[Aircraft], start: dt.datetime, now: dt.datetime, rng: random.Random
) -> dict[Aircraft, list[services.FlightInput]]:
    plan: dict[Aircraft, list[services.FlightInput]] = {}
    for aircraft in fleet:
        kind = aircraft.variant.aircraft_type
        if kind.kind != AssetKind.AIRCRAFT:
            continue
        lo_h, hi_h, lo_gap, hi_gap = SORTIES[kind.code]
        t = max(start, dt.datetime.combine(aircraft.delivered, dt.time(6), tzinfo=dt.UTC))
        t += dt.timedelta(days=rng.randint(0, 3), hours=rng.randint(0, 12))
        rows = []
        while True:
            hours = round(rng.uniform(lo_h, hi_h), 2)
            landing = t + dt.timedelta(hours=hours)
            if landing > now - dt.timedelta(hours=6):
                break
            rows.append(services.FlightInput(t, landing, 1, "demo sortie"))
            t = landing + dt.timedelta(days=rng.randint(lo_gap, hi_gap), hours=rng.randint(0, 12))
        plan[aircraft] = rows
    return plan


def _swaps(
    out: DemoFleet,
    positions: dict[str, dict[str, Position]],
    spares: list[Part],
    flights_of: dict[Aircraft, list[services.FlightInput]],
    rng: random.Random,
) -> None:
    """Engine changes: a failed engine replaced from the pool, repaired, and later fitted
    to another aircraft of the same operator, so parts have a life across airframes."""
    anka = [a for a in out.aircraft if a.variant.aircraft_type.code == "ANKA" and flights_of.get(a)]
    spare_engines = [p for p in spares if p.part_number.pn == "KN-72100"]
    for donor, receiver, spare in zip(anka[0::5], anka[2::5], spare_engines, strict=False):
        if donor.operator_id != receiver.operator_id:
            continue
        d_flights = flights_of[donor]
        r_flights = flights_of[receiver]
        k = len(d_flights) // 3
        off = d_flights[k].landing + dt.timedelta(hours=2)
        engine = _fitted(donor, "ENG", off)
        services.remove_part(
            actor=None,
            part=engine,
            removed_at=off,
            reason=RemovalReason.UNSCHEDULED,
            reference="demo: oil pressure fluctuation",
        )
        services.install_part(
            actor=None,
            part=spare,
            aircraft=donor,
            position=positions[donor.variant.code]["ENG"],
            installed_at=off + dt.timedelta(hours=6),
            reference="demo: pool engine fitted",
        )
        # repaired engine goes to the receiver two thirds through the year
        j = 2 * len(r_flights) // 3
        swap = max(r_flights[j].landing, off + dt.timedelta(days=20)) + dt.timedelta(hours=3)
        if any(f.takeoff <= swap < f.landing for f in r_flights):
            continue
        old = _fitted(receiver, "ENG", swap)
        services.remove_part(
            actor=None,
            part=old,
            removed_at=swap,
            reason=RemovalReason.SCHEDULED,
            reference="demo: engine change for overhaul",
        )
        services.install_part(
            actor=None,
            part=engine,
            aircraft=receiver,
            position=positions[receiver.variant.code]["ENG"],
            installed_at=swap + dt.timedelta(hours=5),
            reference="demo: repaired engine fitted",
        )


def _fitted(aircraft: Aircraft, position_code: str, at: dt.datetime) -> Part:
    return Part.objects.get(
        installations__aircraft=aircraft,
        installations__position__code=position_code,
        installations__removed_at__isnull=True,
    )


def demo_users(operators: dict[str, Operator]) -> None:
    users = [
        ("hub", Role.HUB_ADMIN, None, "Hub", "Administrator"),
        ("planner", Role.PLANNER, None, "Aigerim", "Planner"),
        ("technician", Role.TECHNICIAN, None, "Nurlan", "Technician"),
        ("inspector", Role.INSPECTOR, None, "Dana", "Inspector"),
        ("operator-kz", Role.OPERATOR_FLEET_MANAGER, "KZ-ADF", "KZ", "Fleet manager"),
        ("operator-b", Role.OPERATOR_FLEET_MANAGER, "RP-B", "Partner B", "Fleet manager"),
        ("operator-c", Role.OPERATOR_VIEWER, "RP-C", "Partner C", "Viewer"),
    ]
    for username, role, op, first, last in users:
        core_services.create_user(
            actor=None,
            username=username,
            password="demo",
            role=role,
            operator=operators[op] if op else None,
            first_name=first,
            last_name=last,
        )


__all__ = ["DemoFleet", "load", "demo_users", "INVENTED", "PartNumber"]
