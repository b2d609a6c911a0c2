"""Demo production and stores: the engineering data of what the venture builds locally and
the hub's stores, all invented (part numbers, suppliers, orders, certificates, batches).

Engineering: an ANKA-S airframe kit (fuselage and wing assemblies, harnesses, the SATCOM
terminal as a sub-assembly of its own, the engine and propeller bought in), a star tracker
for a Ghalam/KazSat-class satellite and a ground control station. Part masters say make or
buy and local or imported; the kit's BOM has two revisions (the licensor's harness in A, the
locally made one in B: the technology transfer's rising local share). Routings have
inspection points at the work centres.

Stores: the hub's stores and cold store, a line station per operator, the production line
and quarantine; four suppliers (the licensor, a local machine shop, an avionics distributor
and a repair station); purchase orders open, partly received and received; stock received
against them with certificate references (the hub's unfitted spares included); batches with
shelf life, one expired; a part out for repair; minimum stock levels below which
``/stores/reorder/`` suggests orders; issues to work packages and kit builds.

Production line: build orders in every state, through ``kanat.production.build``. The
licensor's airframe sets (structure, harnesses, bought-in equipment) for the first locally
assembled ANKA-S; a SATCOM terminal built here, received into the stores from production and
built into the first airframe; that airframe accepted into the Kazakh operator's fleet with
its as-built configuration; one completed awaiting acceptance (a concession on its record);
one in progress (an inspection failed then passed after rework, an NCR open); one released
with its material reserved; one planned, short of the V-tail still on order; a star tracker
released, waiting for its optical head.

Everything goes through ``kanat.production.services``, ``kanat.production.build`` and
``kanat.inventory.services``. Serials fitted to aircraft never enter the stores.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from kanat.core.models import User
from kanat.demo.fleet import DemoFleet
from kanat.fleet import services as fleet_services
from kanat.fleet.models import Part, PartNumber, PartTracking, Variant
from kanat.inventory import services as stores
from kanat.inventory.models import LocationKind, PurchaseOrder, StockItem, StockStatus
from kanat.production import build
from kanat.production import services as prod
from kanat.production.build import Measurement
from kanat.production.models import BuildOrder, Disposition, Product, ProductKind
from kanat.work.models import WorkPackage

INVENTED = "(invented)"
SERIAL, BATCH, CONSUMABLE = PartTracking.SERIAL, PartTracking.BATCH, PartTracking.CONSUMABLE

# part numbers the fleet already has: make/buy, origin, unit
FLEET_MASTERS = {
    "KN-72100": ("buy", "imported"),  # engine, from the licensor
    "KN-61100": ("buy", "imported"),  # propeller
    "KN-32100": ("buy", "imported"),  # main landing gear
    "KN-23100": ("buy", "imported"),  # LOS datalink terminal
    "KN-46100": ("buy", "imported"),  # EO/IR turret
    "KN-23200": ("make", "local"),  # the airborne SATCOM terminal: integrated locally
    "KN-23900": ("buy", "imported"),
    "KN-23910": ("buy", "imported"),
    "KN-FLT-12": ("buy", "imported"),
    "KN-OIL-15": ("buy", "imported"),
}

# new part numbers: pn, description, tracking, ata, make/buy, origin, unit, shelf life (days)
NEW_PARTS: list[tuple[str, str, str, str, str, str, str, int | None]] = [
    (
        "KN-10000-S",
        "ANKA-S airframe kit, local final assembly",
        SERIAL,
        "",
        "make",
        "local",
        "ea",
        None,
    ),
    ("KN-53100", "Fuselage assembly, ANKA-S", SERIAL, "53", "make", "local", "ea", None),
    ("KN-53110", "Fuselage composite shell", SERIAL, "53", "make", "local", "ea", None),
    (
        "KN-53120",
        "Fuselage frame set, machined aluminium",
        BATCH,
        "53",
        "buy",
        "local",
        "set",
        None,
    ),
    ("KN-57100", "Wing assembly (LH or RH)", SERIAL, "57", "make", "local", "ea", None),
    ("KN-57120", "Wing spar, machined", BATCH, "57", "buy", "local", "ea", None),
    ("KN-55100", "V-tail assembly", SERIAL, "55", "buy", "imported", "ea", None),
    (
        "KN-92100",
        "Main wiring harness (licensor-built)",
        BATCH,
        "92",
        "buy",
        "imported",
        "ea",
        None,
    ),
    ("KN-92110", "Main wiring harness (built locally)", BATCH, "92", "make", "local", "ea", None),
    ("KN-92200", "Payload wiring harness", BATCH, "92", "make", "local", "ea", None),
    ("KN-92300", "SATCOM terminal harness", BATCH, "23", "make", "local", "ea", None),
    ("KN-23210", "SATCOM modem", SERIAL, "23", "buy", "imported", "ea", None),
    ("KN-23220", "SATCOM antenna pedestal", SERIAL, "23", "buy", "imported", "ea", None),
    ("KN-23230", "SATCOM radome, composite", SERIAL, "23", "make", "local", "ea", None),
    (
        "KN-CF-200",
        "Carbon/epoxy prepreg, 200 g/m2 (frozen)",
        BATCH,
        "51",
        "buy",
        "imported",
        "m2",
        365,
    ),
    ("KN-ADH-01", "Two-part structural paste adhesive", BATCH, "51", "buy", "imported", "kg", 365),
    (
        "KN-SEAL-01",
        "Polysulfide fuel-tank and fairing sealant",
        BATCH,
        "51",
        "buy",
        "imported",
        "kg",
        270,
    ),
    ("KN-FAST-01", "Airframe fastener kit", CONSUMABLE, "51", "buy", "imported", "kit", None),
    ("KN-WIRE-22", "Aerospace wire, 22 AWG", CONSUMABLE, "92", "buy", "imported", "m", None),
    (
        "KN-CONN-38",
        "Circular connector, MIL-DTL-38999 style",
        BATCH,
        "92",
        "buy",
        "imported",
        "ea",
        None,
    ),
    (
        "GH-ST-100",
        "Star tracker assembly, Ghalam/KazSat class",
        SERIAL,
        "",
        "make",
        "local",
        "ea",
        None,
    ),
    ("GH-ST-110", "Star tracker optical head", SERIAL, "", "buy", "imported", "ea", None),
    ("GH-ST-120", "Star tracker processing unit", SERIAL, "", "make", "local", "ea", None),
    ("GH-ST-121", "Processing board, bare (FPGA)", SERIAL, "", "buy", "imported", "ea", None),
    ("GH-ST-130", "Stray-light baffle, machined", BATCH, "", "buy", "local", "ea", None),
    ("GH-ST-140", "Star tracker harness", BATCH, "", "make", "local", "ea", None),
    ("GH-ADH-02", "Low-outgassing space-grade adhesive", BATCH, "", "buy", "imported", "g", 180),
    (
        "KN-GCS-100",
        "ANKA ground control station, integrated shelter",
        SERIAL,
        "",
        "make",
        "local",
        "ea",
        None,
    ),
    ("KN-GCS-110", "Shelter, 20 ft, EMI-hardened", SERIAL, "", "buy", "local", "ea", None),
    ("KN-GCS-120", "Pilot / payload operator console", SERIAL, "", "buy", "local", "ea", None),
    ("KN-92400", "GCS cable set", BATCH, "", "make", "local", "ea", None),
]

# assembly -> lines (find number, child, quantity, ref des); one released revision each
BOMS: dict[str, list[tuple[int, str, Any, str]]] = {
    "KN-53110": [(10, "KN-CF-200", "14", ""), (20, "KN-ADH-01", "0.2", "")],
    "KN-53100": [
        (10, "KN-53110", 1, ""),
        (20, "KN-53120", 1, "FR1-FR9"),
        (30, "KN-ADH-01", "0.4", ""),
        (40, "KN-FAST-01", 1, ""),
        (50, "KN-SEAL-01", "0.2", ""),
    ],
    "KN-57100": [
        (10, "KN-CF-200", "9", ""),
        (20, "KN-57120", 2, "front, rear spar"),
        (30, "KN-ADH-01", "0.3", ""),
        (40, "KN-SEAL-01", "0.1", ""),
    ],
    "KN-92110": [(10, "KN-WIRE-22", 140, ""), (20, "KN-CONN-38", 16, "P1-P16")],
    "KN-92200": [(10, "KN-WIRE-22", 45, ""), (20, "KN-CONN-38", 6, "P20-P25")],
    "KN-92300": [(10, "KN-WIRE-22", 12, ""), (20, "KN-CONN-38", 4, "P30-P33")],
    "KN-92400": [(10, "KN-WIRE-22", 80, ""), (20, "KN-CONN-38", 10, "J1-J10")],
    "KN-23230": [(10, "KN-CF-200", "2.5", ""), (20, "KN-ADH-01", "0.05", "")],
    "KN-23200": [
        (10, "KN-23210", 1, "A1"),
        (20, "KN-23220", 1, "A2"),
        (30, "KN-23230", 1, "radome"),
        (40, "KN-92300", 1, "W1"),
    ],
    "GH-ST-140": [(10, "KN-WIRE-22", 3, ""), (20, "KN-CONN-38", 2, "J1, J2")],
    "GH-ST-120": [(10, "GH-ST-121", 1, "A1"), (20, "KN-CONN-38", 2, "J1, J2")],
    "GH-ST-100": [
        (10, "GH-ST-110", 1, "optical head"),
        (20, "GH-ST-120", 1, "processing unit"),
        (30, "GH-ST-130", 1, "baffle"),
        (40, "GH-ST-140", 1, "W1"),
        (50, "GH-ADH-02", 12, "baffle bond"),
    ],
    "KN-GCS-100": [
        (10, "KN-GCS-110", 1, "shelter"),
        (20, "KN-GCS-120", 2, "pilot, payload operator"),
        (30, "KN-23900", 1, "GDT"),
        (40, "KN-23910", 1, "GST"),
        (50, "KN-92400", 1, "W1-W10"),
    ],
}
# the kit, revision A: the licensor's main harness (superseded by B below)
KIT = "KN-10000-S"
# (structure is built in, not fitted to a position of the fleet configuration: its
# designation goes in the line's note, the reference designator names fleet positions only)
KIT_REV_A: list[tuple[int, str, Any, str]] = [
    (10, "KN-53100", 1, ""),
    (20, "KN-57100", 2, ""),
    (30, "KN-55100", 1, ""),
    (40, "KN-92100", 1, "W1 (licensor-built)"),
    (50, "KN-23200", 1, "SATCOM"),
    (60, "KN-72100", 1, "ENG"),
    (70, "KN-61100", 1, "PROP"),
    (80, "KN-32100", 1, "MLG"),
    (90, "KN-23100", 1, "LOS"),
    (100, "KN-SEAL-01", "0.6", ""),
    (110, "KN-FAST-01", 2, ""),
]

KIT_NOTES = {"KN-53100": "fuselage", "KN-57100": "LH, RH", "KN-55100": "V-tail"}

PRODUCTS = [
    ("ANKA-S-KIT", "ANKA-S airframe kit (local final assembly)", ProductKind.AIRCRAFT, KIT),
    ("SATCOM-AIR", "Airborne SATCOM terminal", ProductKind.SATCOM_TERMINAL, "KN-23200"),
    (
        "GH-ST-100",
        f"Star tracker for a Ghalam/KazSat-class satellite {INVENTED}",
        ProductKind.SATELLITE_SUBSYSTEM,
        "GH-ST-100",
    ),
    ("GCS-ANKA", "ANKA ground control station shelter", ProductKind.GROUND_SEGMENT, "KN-GCS-100"),
]

WORK_CENTRES = [
    ("COMPOSITE", "Composite shop: lay-up, autoclave, NDT"),
    ("HARNESS", "Harness shop"),
    ("FINAL", "Final assembly hall"),
    ("TEST", "Test bench"),
    ("CLEAN", "Clean room, ISO 7 (satellite subsystems)"),
]


def _op(
    seq: int, wc: str, description: str, hours: float | int, inspection: str = ""
) -> dict[str, Any]:
    return {
        "seq": seq,
        "work_centre": wc,
        "description": description,
        "standard_hours": str(hours),
        "inspection_point": bool(inspection),
        "inspection": inspection,
    }


HARNESS_ROUTING = [
    _op(10, "HARNESS", "Cut, strip and mark wires to the wire list", 6),
    _op(
        20,
        "HARNESS",
        "Crimp contacts and assemble on the form board",
        14,
        "Crimp pull test on first-off samples",
    ),
    _op(
        30,
        "TEST",
        "Continuity and insulation test",
        2,
        "Continuity; insulation resistance at 500 V DC",
    ),
]
ROUTINGS: dict[str, list[dict[str, Any]]] = {
    "KN-53110": [
        _op(
            10,
            "COMPOSITE",
            "Lay up the shell in the mould",
            18,
            "Ply count and orientation against the ply book; FOD check before bagging",
        ),
        _op(
            20,
            "COMPOSITE",
            "Autoclave cure",
            8,
            "Cure record (temperature, pressure, vacuum) against the cure cycle",
        ),
        _op(30, "COMPOSITE", "Trim and drill", 6),
        _op(
            40,
            "COMPOSITE",
            "Ultrasonic inspection",
            4,
            "C-scan: no delamination or porosity beyond the acceptance standard",
        ),
    ],
    "KN-57100": [
        _op(10, "COMPOSITE", "Lay up and cure the skins", 30, "Ply book and cure record"),
        _op(
            20,
            "FINAL",
            "Bond the spars and close the wing",
            12,
            "Bond-line thickness and squeeze-out; witness coupon",
        ),
        _op(
            30,
            "COMPOSITE",
            "Ultrasonic inspection of the bond lines",
            6,
            "C-scan of every bond line",
        ),
    ],
    "KN-53100": [
        _op(10, "FINAL", "Install the frames in the shell", 16),
        _op(20, "FINAL", "Fasten and seal", 10, "Fastener torque; sealant fillets continuous"),
    ],
    "KN-23230": [
        _op(10, "COMPOSITE", "Lay up and cure the radome", 10, "Ply book and cure record"),
        _op(
            20,
            "TEST",
            "RF transmission loss",
            2,
            "Transmission loss in the Ku band within the drawing's limit",
        ),
    ],
    "KN-23200": [
        _op(10, "FINAL", "Integrate modem, pedestal, harness and radome", 8),
        _op(
            20,
            "TEST",
            "RF functional and pointing test",
            4,
            "EIRP, G/T and pointing accuracy against the acceptance test procedure",
        ),
        _op(
            30,
            "FINAL",
            "Final inspection",
            1,
            "Configuration against the released BOM revision; certificates of the bought-in parts",
        ),
    ],
    KIT: [
        _op(
            10,
            "FINAL",
            "Mate wings and V-tail to the fuselage",
            24,
            "Attachment fittings torque, duplicate inspection",
        ),
        _op(
            20,
            "FINAL",
            "Install the engine and the propeller",
            12,
            "Engine mount torque; propeller blade track",
        ),
        _op(
            30,
            "FINAL",
            "Route and clamp the harnesses",
            16,
            "Routing, clamping, separation from fuel and hot lines",
        ),
        _op(40, "FINAL", "Install SATCOM terminal, LOS terminal and landing gear", 10),
        _op(
            50,
            "TEST",
            "Systems functional test",
            8,
            "Flight-control sense and travel; avionics built-in tests",
        ),
        _op(60, "TEST", "Engine ground run", 4, "Engine parameters within the acceptance limits"),
    ],
    "GH-ST-120": [
        _op(10, "CLEAN", "Fit the board in its housing, connectors", 6),
        _op(
            20,
            "TEST",
            "Functional test of the processing unit",
            4,
            "Functional test to the acceptance test procedure",
        ),
    ],
    "GH-ST-100": [
        _op(
            10,
            "CLEAN",
            "Integrate optical head, processing unit, baffle",
            10,
            "Particle count and torque",
        ),
        _op(
            20,
            "TEST",
            "Star-field simulator and thermal cycling",
            24,
            "Attitude accuracy on the simulator; functional after 8 thermal cycles",
        ),
        _op(
            30,
            "CLEAN",
            "Final inspection and packing",
            2,
            "Cleanliness, configuration and the end-item data pack",
        ),
    ],
    "KN-GCS-100": [
        _op(10, "FINAL", "Install consoles and terminals in the shelter", 20),
        _op(20, "FINAL", "Install the cable set", 8, "Cable routing and connector mating"),
        _op(
            30,
            "TEST",
            "End-to-end link test with the aircraft simulator",
            6,
            "Command and video links end to end",
        ),
    ],
    "KN-92110": HARNESS_ROUTING,
    "KN-92200": HARNESS_ROUTING,
    "KN-92300": HARNESS_ROUTING,
    "KN-92400": HARNESS_ROUTING,
    "GH-ST-140": HARNESS_ROUTING,
}

LOCATIONS = [
    ("HUB-MAIN", "Hub main stores", LocationKind.HUB_STORE),
    ("HUB-COLD", "Hub cold store (prepreg, adhesives, sealants)", LocationKind.HUB_STORE),
    ("LS-KZ", "Line station, Kazakh operator", LocationKind.LINE_STATION),
    ("LS-PB", "Line station, partner B", LocationKind.LINE_STATION),
    ("LS-PC", "Line station, partner C", LocationKind.LINE_STATION),
    ("PROD-LINE", "Production line, kit assembly", LocationKind.PRODUCTION_LINE),
    ("QUAR", "Quarantine", LocationKind.QUARANTINE),
]
SUPPLIERS = [
    ("LIC", f"Airframe licensor, TUSAŞ-style {INVENTED}", f"Part-21G DOA/POA {INVENTED}", False),
    (
        "KZ-MECH",
        f"Saryarka Precision Machining LLP {INVENTED}",
        f"JV supplier approval SA-014 {INVENTED}",
        False,
    ),
    ("AVX", f"Steppe Avionics Distribution {INVENTED}", f"ASA-100 distributor {INVENTED}", False),
    (
        "REP-145",
        f"Karaganda Component Repair Station {INVENTED}",
        f"Part-145 KZ.145.0031 {INVENTED}",
        True,
    ),
]


def load(fleet: DemoFleet, *, log: Any) -> None:
    assert fleet.now is not None
    now = fleet.now
    users = {
        u.username: u
        for u in User.objects.filter(username__in=["hub", "planner", "technician", "inspector"])
    }
    pns = _engineering(users["hub"], now, log)
    s = _stores(fleet, pns, users, now, log)
    _build_orders(s, fleet, log)


# --- engineering ------------------------------------------------------------------------


def _engineering(hub: User, now: dt.datetime, log: Any) -> dict[str, PartNumber]:
    pns = {p.pn: p for p in PartNumber.objects.filter(pn__in=FLEET_MASTERS)}
    for pn, (make_buy, origin) in FLEET_MASTERS.items():
        prod.define_part_master(
            actor=hub, part_number=pns[pn], revision="A", make_buy=make_buy, origin=origin
        )
    for pn, desc, tracking, ata, make_buy, origin, uom, shelf in NEW_PARTS:
        pns[pn] = fleet_services.create_part_number(
            actor=hub,
            pn=pn,
            description=f"{desc} {INVENTED}",
            tracking=tracking,
            ata=ata,
            manufacturer="invented",
            invented=True,
        )
        prod.define_part_master(
            actor=hub,
            part_number=pns[pn],
            revision="A",
            make_buy=make_buy,
            origin=origin,
            uom=uom,
            shelf_life_days=shelf,
        )
    for code, name in WORK_CENTRES:
        prod.define_work_centre(actor=hub, code=code, name=name)

    # the engineering data predates the demo's year; the kit's revision B (the harness made
    # locally) was released shortly before the first locally assembled kit
    initial, rev_b_started, rev_b_released = (now - dt.timedelta(days=d) for d in (400, 110, 100))

    def bom(assembly: str, lines: list[tuple[int, str, Any, str]], **kw: Any) -> None:
        draft = prod.create_bom_revision(actor=hub, part_number=pns[assembly], at=initial, **kw)
        for find, child, qty, ref in lines:
            prod.add_bom_line(
                actor=hub,
                bom=draft,
                find_number=find,
                child=pns[child],
                quantity=qty,
                ref_des=ref,
                note=KIT_NOTES.get(child, "") if assembly == KIT else "",
            )
        prod.release_bom(actor=hub, bom=draft, at=initial + dt.timedelta(hours=2))

    for assembly, lines in BOMS.items():
        bom(assembly, lines, effectivity="from the first article", reason="initial release")
    # the kit: A with the licensor's harness, then B with the locally built harnesses
    bom(KIT, KIT_REV_A, effectivity="kits 01-03", reason="initial release (licensor harness)")
    rev_b = prod.create_bom_revision(
        actor=hub,
        part_number=pns[KIT],
        effectivity="kit 04 onwards",
        reason="technology transfer: main harness built locally; payload harness added",
        at=rev_b_started,
    )
    for line in rev_b.lines.select_related("child"):
        if line.child.pn == "KN-92100":
            prod.remove_bom_line(actor=hub, line=line)
        elif line.child.pn == "KN-SEAL-01":
            prod.change_bom_line(actor=hub, line=line, quantity="0.5")
    prod.add_bom_line(
        actor=hub, bom=rev_b, find_number=41, child=pns["KN-92110"], quantity=1, ref_des="W1"
    )
    prod.add_bom_line(
        actor=hub, bom=rev_b, find_number=42, child=pns["KN-92200"], quantity=1, ref_des="W2"
    )
    prod.release_bom(actor=hub, bom=rev_b, at=rev_b_released)

    for code, name, kind, pn in PRODUCTS:
        prod.define_product(
            actor=hub,
            code=code,
            name=name,
            kind=kind,
            part_number=pns[pn],
            variant=Variant.objects.get(code="ANKA-S") if kind == ProductKind.AIRCRAFT else None,
        )
    for pn, operations in ROUTINGS.items():
        prod.define_routing(
            actor=hub, part_number=pns[pn], operations=operations, reason="first article"
        )
    # the main harness's routing, revision 2: a hi-pot test added after a chafed wire
    prod.define_routing(
        actor=hub,
        part_number=pns["KN-92110"],
        operations=[
            *HARNESS_ROUTING,
            _op(
                40, "TEST", "Dielectric withstanding test", 1, "No breakdown at 1500 V AC for 60 s"
            ),
        ],
        reason="hi-pot test added (quality finding QF-26-007, invented)",
    )
    local = sum(1 for p in NEW_PARTS if p[5] == "local") + sum(
        1 for v in FLEET_MASTERS.values() if v[1] == "local"
    )
    log(
        f"production: {len(FLEET_MASTERS) + len(NEW_PARTS)} part masters ({local} local), "
        f"{len(PRODUCTS)} products, {len(BOMS) + 1} BOMs (the kit in revisions A and B), "
        f"{len(ROUTINGS)} routings"
    )
    return pns


# --- stores -----------------------------------------------------------------------------


class _Stores:
    """The stores' writes at past instants ``days`` ago, by the hub's storekeeping users
    (``hub`` moves stock, ``planner`` buys)."""

    def __init__(self, pns: dict[str, PartNumber], users: dict[str, User], now: dt.datetime):
        self.pns, self.now, self.users = pns, now, users
        self.keeper, self.buyer = users["hub"], users["planner"]
        self.loc = {
            code: stores.create_location(actor=self.keeper, code=code, name=name, kind=kind)
            for code, name, kind in LOCATIONS
        }
        self.sup = {
            code: stores.create_supplier(
                actor=self.buyer, code=code, name=name, approval=approval, repairs=repairs
            )
            for code, name, approval, repairs in SUPPLIERS
        }
        self.orders = 0

    def ago(self, days: float) -> dt.datetime:
        return self.now - dt.timedelta(days=days)

    def order(
        self,
        supplier: str,
        days: float,
        lines: list[tuple[str, Any]] | list[tuple[str, Any, Any]],
        operator: Any = None,
        currency: str = "KZT",
    ) -> PurchaseOrder:
        """``lines``: (pn, quantity) or (pn, quantity, unit price in ``currency``); every
        price is invented, of a plausible order of magnitude only."""
        self.orders += 1
        priced = any(len(line) > 2 for line in lines)
        return stores.create_purchase_order(
            actor=self.buyer,
            number=f"PO-{1000 + self.orders}",
            supplier=self.sup[supplier],
            lines=[(self.pns[pn], *rest) for pn, *rest in lines],
            operator=operator,
            notes=f"Demo order {INVENTED}" + (f"; unit prices {INVENTED}" if priced else ""),
            at=self.ago(days),
            currency=currency,
        )

    def receive(
        self,
        order: PurchaseOrder,
        days: float,
        location: str,
        rows: list[tuple[str, Any, str, int | None]],
    ) -> list[StockItem]:
        """``rows``: (pn, quantity, serial or batch, shelf life left in days or None)."""
        at = self.ago(days)
        lines = {ln.part_number.pn: ln for ln in order.lines.select_related("part_number")}
        n = order.receipts.count() + 1
        delivery = f"DN-{order.number[3:]}-{n}"
        receipts = []
        for i, (pn, qty, ident, life) in enumerate(rows, 1):
            line = lines[pn]
            serial = ident if line.part_number.tracking == SERIAL else ""
            receipts.append(
                stores.Receipt(
                    line=line,
                    quantity=qty,
                    serial=serial,
                    batch="" if serial else ident,
                    certificate_ref=f"{order.supplier.code} CoC {delivery}/{i} {INVENTED}",
                    expires_on=(self.now + dt.timedelta(days=life)).date() if life else None,
                    manufactured=(at - dt.timedelta(days=60)).date() if serial else None,
                )
            )
        receipt = stores.receive_against_po(
            actor=self.keeper,
            order=order,
            delivery_ref=delivery,
            location=self.loc[location],
            receipts=receipts,
            at=at,
        )
        return list(receipt.items.select_related("part_number", "part").order_by("id"))

    def issue(self, item: StockItem, qty: Any, reference: str, days: float) -> None:
        stores.issue(
            actor=self.keeper, item=item, quantity=qty, reference=reference, at=self.ago(days)
        )

    def level(self, pn: str, location: str, minimum: Any, owner: Any = None) -> None:
        stores.set_min_stock(
            actor=self.buyer,
            part_number=self.pns[pn],
            location=self.loc[location],
            minimum=minimum,
            owner=owner,
        )


def _item(items: list[StockItem], ident: str) -> StockItem:
    return next(i for i in items if ident in (i.batch, i.part.serial if i.part else ""))


def _stores(
    fleet: DemoFleet,
    pns: dict[str, PartNumber],
    users: dict[str, User],
    now: dt.datetime,
    log: Any,
) -> _Stores:
    s = _Stores(pns, users, now)
    ops = fleet.operators

    # materials from the licensor: an early delivery (its sealant is past its shelf life
    # now), the rest two months ago
    materials = s.order(
        "LIC",
        320,
        [
            ("KN-CF-200", 300, 46_000),
            ("KN-ADH-01", 12, 62_000),
            ("KN-SEAL-01", 11, 41_500),
            ("KN-FAST-01", 10, 385_000),
            ("GH-ADH-02", 500, 950),
        ],
    )
    early = s.receive(
        materials,
        300,
        "HUB-COLD",
        [
            ("KN-CF-200", 120, "PP-2541", 65),
            ("KN-ADH-01", 6, "AD-2541", 65),
            ("KN-SEAL-01", 5, "SL-2541", -30),  # expired a month ago
        ],
    )
    late = s.receive(
        materials,
        60,
        "HUB-COLD",
        [
            ("KN-CF-200", 180, "PP-2610", 305),
            ("KN-ADH-01", 6, "AD-2610", 305),
            ("KN-SEAL-01", 6, "SL-2610", 210),
            ("GH-ADH-02", 500, "GA-2610", 120),
        ],
    )
    fasteners = s.receive(materials, 58, "HUB-MAIN", [("KN-FAST-01", 10, "", None)])

    # the hub's spares (the fleet's pool parts never fitted) came with the initial spares
    # package; only unfitted serials enter the stores
    spares = list(
        Part.objects.filter(operator__isnull=True, installations__isnull=True)
        .select_related("part_number")
        .order_by("part_number__pn", "serial")
    )
    if spares:
        counts: dict[str, int] = {}
        for p in spares:
            counts[p.part_number.pn] = counts.get(p.part_number.pn, 0) + 1
            pns.setdefault(p.part_number.pn, p.part_number)
        # the initial spares package was priced as one lump sum: its lines carry no price
        opening = s.order("LIC", 300, list(counts.items()))
        s.receive(opening, 290, "HUB-MAIN", [(p.part_number.pn, 1, p.serial, None) for p in spares])

    # rotables and kit parts from the licensor, in two deliveries
    kit_parts = s.order(
        "LIC",
        200,
        [
            ("KN-72100", 2, 162_000_000),
            ("KN-61100", 2, 11_800_000),
            ("KN-23100", 2, 44_500_000),
            ("KN-46100", 1, 348_000_000),
            ("KN-55100", 2, 27_600_000),
            ("KN-23210", 2, 37_900_000),
            ("KN-23220", 2, 29_400_000),
        ],
    )
    first = s.receive(
        kit_parts,
        180,
        "HUB-MAIN",
        [
            ("KN-72100", 1, "E72-2601", None),
            ("KN-72100", 1, "E72-2602", None),
            ("KN-61100", 1, "P61-2601", None),
            ("KN-61100", 1, "P61-2602", None),
            ("KN-23100", 1, "L23-2601", None),
            ("KN-23100", 1, "L23-2602", None),
            ("KN-46100", 1, "T46-2601", None),
        ],
    )
    second = s.receive(
        kit_parts,
        150,
        "HUB-MAIN",
        [
            ("KN-55100", 1, "VT-2601", None),
            ("KN-55100", 1, "VT-2602", None),
            ("KN-23210", 1, "M-2601", None),
            ("KN-23210", 1, "M-2602", None),
            ("KN-23220", 1, "AP-2601", None),
            ("KN-23220", 1, "AP-2602", None),
        ],
    )
    # harness materials from the distributor: partly delivered
    avionics = s.order(
        "AVX",
        160,
        [("KN-CONN-38", 400, 18_200), ("KN-WIRE-22", 2000, 640), ("GH-ST-110", 1, 91_000_000)],
    )
    harness = s.receive(
        avionics,
        140,
        "HUB-MAIN",
        [("KN-CONN-38", 250, "C38-26A", None), ("KN-WIRE-22", 2000, "", None)],
    )
    # machined parts from the local machine shop: partly delivered
    machined = s.order(
        "KZ-MECH",
        120,
        [("KN-53120", 6, 2_450_000), ("KN-57120", 12, 1_850_000), ("GH-ST-130", 4, 920_000)],
    )
    parts = s.receive(
        machined,
        90,
        "HUB-MAIN",
        [("KN-53120", 4, "FS-2601", None), ("KN-57120", 8, "SP-2601", None)],
    )
    s.receive(machined, 40, "HUB-MAIN", [("KN-53120", 2, "FS-2602", None)])
    # two spars failed the incoming dimensional check: quarantined
    bad = stores.transfer(
        actor=s.keeper,
        item=_item(parts, "SP-2601"),
        to_location=s.loc["QUAR"],
        quantity=2,
        reference=f"NCR-26-012 {INVENTED}",
        at=s.ago(88),
    )
    stores.set_status(
        actor=s.keeper,
        item=bad,
        status=StockStatus.QUARANTINE,
        reason="spar cap thickness out of drawing tolerance (incoming inspection)",
        at=s.ago(88),
    )

    # the operators' line stations: oil and filters, the last order partly delivered
    line_stock = {}
    for op_code, station, days, filters in (
        ("KZ-ADF", "LS-KZ", 190, 24),
        ("RP-B", "LS-PB", 185, 12),
        ("RP-C", "LS-PC", 140, 6),
    ):
        order = s.order(
            "LIC",
            days + 10,
            [
                ("KN-FLT-12", 24 if op_code == "KZ-ADF" else 12, 45_500),
                ("KN-OIL-15", 60 if op_code == "KZ-ADF" else 40, 9_600),
            ],
            operator=ops[op_code],
        )
        got = s.receive(
            order,
            days,
            station,
            [
                ("KN-FLT-12", filters, f"FLT-{station[3:]}-26", None),
                ("KN-OIL-15", order.lines.get(line=2).quantity, "", None),
            ],
        )
        line_stock[op_code] = (station, days, got)
    # open orders: the next engine and prepreg for the hub, oil for the Kazakh operator
    # the licensor quoted the next engine and prepreg in US dollars: the localisation
    # page does not convert it (its value shares stay in KZT and say so)
    s.order("LIC", 5, [("KN-72100", 1, 325_000), ("KN-CF-200", 100, 94)], currency="USD")
    s.order("LIC", 3, [("KN-OIL-15", 40, 9_800)], operator=ops["KZ-ADF"])

    # --- consumption ----------------------------------------------------------------
    # kits 01 and 02 from the early materials, kit 03 from the production line
    old_cf, old_adh, old_seal = (_item(early, b) for b in ("PP-2541", "AD-2541", "SL-2541"))
    kit_cf = Decimal("34.5")  # shell 14 + wings 2 x 9 + radome 2.5
    for kit, days in (("01", 250), ("02", 160)):
        ref = f"ANKA-S kit {kit}"
        s.issue(old_cf, kit_cf, f"{ref}: composite lay-up", days)
        s.issue(old_adh, "1.25", f"{ref}: bonding", days - 2)
        s.issue(old_seal, "1", f"{ref}: sealing", days - 5)
    line_cf = stores.transfer(
        actor=s.keeper,
        item=_item(late, "PP-2610"),
        to_location=s.loc["PROD-LINE"],
        quantity=40,
        reference="ANKA-S kit 03",
        at=s.ago(55),
    )
    s.issue(line_cf, kit_cf, "ANKA-S kit 03: composite lay-up", 50)
    s.issue(old_adh, "1.25", "ANKA-S kit 03: bonding", 48)
    # (the first local airframes take all but 1 kg of what is left before it expires)
    s.issue(old_seal, "1", "ANKA-S kit 03: sealing", 45)
    s.issue(fasteners[0], 3, "ANKA-S kit 03: structure", 45)
    s.issue(_item(parts, "FS-2601"), 1, "ANKA-S kit 03: fuselage", 60)
    s.issue(_item(parts, "SP-2601"), 4, "ANKA-S kit 03: wings", 58)
    for ident in ("E72-2601", "P61-2601", "VT-2601", "M-2601", "AP-2601"):
        s.issue(_item(first + second, ident), 1, "ANKA-S kit 03: final assembly", 30)
    conn, wire = _item(harness, "C38-26A"), harness[1]
    for kit, days in (("03", 120), ("04", 40)):
        s.issue(conn, 26, f"ANKA-S kit {kit}: harnesses", days)
        s.issue(wire, 197, f"ANKA-S kit {kit}: harnesses", days)
    # kit 04: what it needs is held for it
    stores.reserve(actor=s.keeper, item=line_cf, quantity=5, reference="ANKA-S kit 04")
    stores.reserve(
        actor=s.keeper, item=_item(first, "E72-2602"), quantity=1, reference="ANKA-S kit 04"
    )

    # the rotable loop: a datalink terminal that failed its bench test is at the repair
    # station; a turret went and came back repaired
    for ident, days, why, order_ref in (
        ("T46-2601", 130, "IR channel drops out on the bench test", "RO-26-0009"),
        ("L23-2601", 100, "no RF output on channel 2 (incoming bench test)", "RO-26-0014"),
    ):
        item = stores.set_status(
            actor=s.keeper,
            item=_item(first, ident),
            status=StockStatus.UNSERVICEABLE,
            reason=why,
            at=s.ago(days),
        )
        stores.send_for_repair(
            actor=s.keeper,
            item=item,
            supplier=s.sup["REP-145"],
            repair_order=f"{order_ref} {INVENTED}",
            at=s.ago(days - 5),
        )
    stores.receive_from_repair(
        actor=s.keeper,
        item=_item(first, "T46-2601"),
        location=s.loc["HUB-MAIN"],
        certificate_ref=f"REP-145 release certificate 26-0412 {INVENTED}",
        at=s.ago(70),
    )

    # the line stations: oil changes of the demo's work packages and oil top-ups from the
    # technical logs
    packages = {
        p.aircraft.serial: p
        for p in WorkPackage.objects.filter(
            title__icontains="oil change", opened_at__isnull=False
        ).select_related("aircraft")
    }
    for op_code, (_station, days, got) in line_stock.items():
        filters, oil = got
        for p in packages.values():
            if p.aircraft.operator_id == ops[op_code].pk:
                at = (now - p.opened_at).total_seconds() / 86400
                s.issue(filters, 1, p.number, at)
                s.issue(oil, 4, p.number, at)
        fleet_serials = sorted(
            a.serial
            for a in fleet.aircraft
            if a.operator_id == ops[op_code].pk and "GCS" not in a.serial
        )
        day, k = days - 5, 0
        while day > 3:
            serial = fleet_serials[k % len(fleet_serials)]
            s.issue(oil, 2, f"Oil top-up, tech log {serial}", day)
            day, k = day - 21, k + 1

    # minimum stock: some of these are below their reorder point (see /stores/reorder/)
    for pn, location, minimum in (
        ("KN-72100", "HUB-MAIN", 2),
        ("KN-CONN-38", "HUB-MAIN", 200),
        ("KN-57120", "HUB-MAIN", 4),
        ("KN-FAST-01", "HUB-MAIN", 4),
        ("KN-CF-200", "HUB-COLD", 150),
        ("KN-ADH-01", "HUB-COLD", 4),
        ("KN-SEAL-01", "HUB-COLD", 4),
        ("KN-CF-200", "PROD-LINE", 20),
    ):
        s.level(pn, location, minimum)
    for op_code, station, oil in (
        ("KZ-ADF", "LS-KZ", 40),
        ("RP-B", "LS-PB", 12),
        ("RP-C", "LS-PC", 12),
    ):
        s.level("KN-FLT-12", station, 6, owner=ops[op_code])
        s.level("KN-OIL-15", station, oil, owner=ops[op_code])
    log(
        f"stores: {len(LOCATIONS)} locations, {len(SUPPLIERS)} suppliers, {s.orders} purchase "
        f"orders, {StockItem.objects.count()} stock items"
    )
    return s


# --- build orders -----------------------------------------------------------------------

#: the licensor's airframe sets for the first five local final assemblies (the fifth
#: V-tail is still on order) and the local SATCOM terminal's radome and harness
AIRFRAME_SETS: list[tuple[str, int, list[str]]] = [
    ("KN-53100", 5, [f"FU-26{n:02d}" for n in range(1, 6)]),
    ("KN-57100", 10, [f"WG-26{n:02d}" for n in range(1, 11)]),
    ("KN-55100", 4, [f"VT-26{n:02d}" for n in range(3, 6)]),
    ("KN-23200", 4, [f"SC-26{n:02d}" for n in range(1, 5)]),
    ("KN-72100", 5, [f"E72-26{n:02d}" for n in range(3, 8)]),
    ("KN-61100", 2, ["P61-2603", "P61-2604"]),
    ("KN-32100", 5, [f"G32-26{n:02d}" for n in range(1, 6)]),
    ("KN-23100", 4, [f"L23-26{n:02d}" for n in range(3, 7)]),
]


class _Line:
    """The production line's writes at past instants, by the demo's users: ``planner``
    plans and completes, ``hub`` keeps the stores, ``technician`` signs operations,
    ``inspector`` inspects and raises non-conformances, ``hub`` approves concessions."""

    def __init__(self, s: _Stores):
        self.s = s
        self.planner, self.keeper = s.users["planner"], s.users["hub"]
        self.tech, self.inspector = s.users["technician"], s.users["inspector"]

    def order(
        self, code: str, serial: str, days: float, operator: Any = None, release: float = 0
    ) -> BuildOrder:
        at = self.s.ago(days)
        order = build.create_build_order(
            actor=self.planner,
            product=Product.objects.get(code=code),
            quantity=1,
            serials=[serial],
            operator=operator,
            planned_start=(at + dt.timedelta(days=2)).date(),
            planned_end=(at + dt.timedelta(days=40)).date(),
            at=at,
        )
        if release:
            order = build.release_build_order(
                actor=self.planner, order=order, at=self.s.ago(release)
            )
        return order

    def material(self, order: BuildOrder, days: float, issue: float = 0) -> None:
        build.reserve_material(actor=self.keeper, order=order, at=self.s.ago(days))
        if issue:
            build.issue_material(actor=self.keeper, order=order, at=self.s.ago(issue))

    def work(self, order: BuildOrder, days: float, upto: int = 10**6, step: float = 1.5) -> float:
        """Sign the routing's operations (to ``upto``), each inspection point passed by the
        inspector an hour later; returns the day after the last."""
        for op in order.routing.operations.order_by("seq"):
            if op.seq > upto:
                break
            self.sign(order, op, days)
            if op.inspection_point:
                self.inspect(order, op, days - 0.05, passed=True)
            days -= step
        return days

    def sign(self, order: BuildOrder, op: Any, days: float) -> None:
        build.record_operation(actor=self.tech, order=order, operation=op, at=self.s.ago(days))

    def inspect(self, order: BuildOrder, op: Any, days: float, **kw: Any) -> None:
        build.record_inspection(
            actor=self.inspector, order=order, operation=op, at=self.s.ago(days), **kw
        )


def _build_orders(s: _Stores, fleet: DemoFleet, log: Any) -> None:
    ops = fleet.operators
    line = _Line(s)
    # the SATCOM terminal's composite radome and harness, and the airframe sets
    parts = s.order("LIC", 140, [("KN-23230", 1), ("KN-92300", 1)])
    s.receive(
        parts, 130, "HUB-MAIN", [("KN-23230", 1, "RD-2601", None), ("KN-92300", 1, "SH-2601", None)]
    )
    sets = s.order(
        "LIC",
        115,
        [(pn, n) for pn, n, _ in AIRFRAME_SETS]
        + [("KN-92110", 5), ("KN-92200", 5), ("KN-FAST-01", 10)],
    )
    s.receive(
        sets,
        100,
        "HUB-MAIN",
        [(pn, 1, serial, None) for pn, _, serials in AIRFRAME_SETS for serial in serials]
        + [
            ("KN-92110", 5, "MH-2601", None),
            ("KN-92200", 5, "PH-2601", None),
            ("KN-FAST-01", 10, "", None),
        ],
    )

    # a SATCOM terminal built here: completed, into the stores, then into the first airframe
    satcom = line.order("SATCOM-AIR", "SAT-L001", 128, release=127)
    line.material(satcom, 126, issue=125)
    line.work(satcom, 124)
    build.complete_build_order(actor=line.planner, order=satcom, at=s.ago(118))
    (output,) = satcom.outputs.select_related("part")
    stores.receive_from_production(
        actor=line.keeper,
        part=output.part,
        location=s.loc["HUB-MAIN"],
        reference=satcom.number,
        at=s.ago(117),
    )

    # the first local ANKA-S: built, completed and accepted into the Kazakh fleet
    first = line.order("ANKA-S-KIT", "KZ-013", 92, operator=ops["KZ-ADF"], release=90)
    line.material(first, 89, issue=88)
    line.work(first, 85, step=8)
    build.complete_build_order(actor=line.planner, order=first, at=s.ago(30))
    build.accept_build_order(actor=line.planner, order=first, at=s.ago(20))

    # the second: completed, awaiting the customer's acceptance; a concession on its record
    second = line.order("ANKA-S-KIT", "KZ-014", 70, operator=ops["KZ-ADF"], release=69)
    line.material(second, 68, issue=66)
    routing = list(second.routing.operations.order_by("seq"))
    day = line.work(second, 62, upto=20, step=6)
    ncr = build.raise_ncr(
        actor=line.inspector,
        order=second,
        operation=routing[2],
        description=(
            "Harness clamp spacing 310 mm at the aft bay against 250 mm maximum on the "
            "installation drawing"
        ),
        at=s.ago(day),
    )
    build.disposition_ncr(
        actor=line.inspector,
        ncr=ncr,
        disposition=Disposition.USE_AS_IS,
        concession=True,
        note="Stress check: no chafing risk at 310 mm; drawing to be revised (invented)",
        at=s.ago(day - 1),
    )
    build.approve_concession(actor=line.keeper, ncr=ncr, at=s.ago(day - 2))
    build.close_ncr(actor=line.inspector, ncr=ncr, at=s.ago(day - 2))
    day = day - 3
    for op in routing[2:]:
        line.sign(second, op, day)
        if op.inspection_point:
            line.inspect(second, op, day - 0.05, passed=True)
        day -= 5
    build.complete_build_order(actor=line.planner, order=second, at=s.ago(5))

    # the third, for partner B: in progress; the wing-attachment torque inspection failed,
    # the fittings were re-torqued and passed; an NCR open on the engine installation
    third = line.order("ANKA-S-KIT", "PB-009", 40, operator=ops["RP-B"], release=38)
    line.material(third, 37, issue=36)
    routing = list(third.routing.operations.order_by("seq"))
    line.sign(third, routing[0], 30)
    torque = {"name": "Wing attachment bolt torque", "lower": 95, "upper": 105, "unit": "N·m"}
    line.inspect(
        third,
        routing[0],
        29.9,
        measurements=[Measurement(value=88, **torque)],
        note="Aft LH fitting under-torqued",
    )
    line.inspect(
        third,
        routing[0],
        28,
        measurements=[Measurement(value=101, **torque)],
        note="Re-torqued and witnessed",
    )
    line.sign(third, routing[1], 20)
    build.raise_ncr(
        actor=line.inspector,
        order=third,
        operation=routing[1],
        description="Engine mount isolator cracked on installation (invented)",
        at=s.ago(19),
    )

    # the fourth: released, its material held for it; the fifth planned, short of a V-tail
    fourth = line.order("ANKA-S-KIT", "KZ-015", 15, operator=ops["KZ-ADF"], release=12)
    line.material(fourth, 11)
    line.order("ANKA-S-KIT", "PB-010", 3, operator=ops["RP-B"])
    # a star tracker released to the clean room, waiting for its optical head (on order)
    line.order("GH-ST-100", "ST-0001", 10, release=8)
    log(f"production line: {BuildOrder.objects.count()} build orders")
