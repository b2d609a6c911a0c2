"""Factories that build rows through the services (the one write path), as tests need."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

from kanat.core import services as core_services
from kanat.core.models import Operator, User
from kanat.core.roles import Role
from kanat.fleet import services
from kanat.fleet.models import (
    Aircraft,
    Flight,
    Installation,
    Part,
    PartNumber,
    PartTracking,
    Position,
    Variant,
)

_seq = itertools.count(1)


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)


def operator(**kw: Any) -> Operator:
    n = next(_seq)
    return core_services.create_operator(
        actor=None, code=kw.pop("code", f"OP{n}"), name=kw.pop("name", f"Operator {n}"), **kw
    )


def user(*, operator: Operator | None = None, role: str | None = None, **kw: Any) -> User:
    n = next(_seq)
    role = role or (Role.OPERATOR_FLEET_MANAGER if operator else Role.PLANNER)
    return core_services.create_user(
        actor=None,
        username=kw.pop("username", f"user{n}"),
        password=kw.pop("password", "pw-for-tests-1"),
        role=role,
        operator=operator,
        **kw,
    )


def part_number(**kw: Any) -> PartNumber:
    n = next(_seq)
    return services.create_part_number(
        actor=None,
        pn=kw.pop("pn", f"PN{n}"),
        description=kw.pop("description", f"Part {n}"),
        tracking=kw.pop("tracking", PartTracking.SERIAL),
        **kw,
    )


def variant(*, positions: dict[str, list[PartNumber]] | None = None, **kw: Any) -> Variant:
    """A variant with positions {code: [allowed part numbers]} (default: ENG with one PN)."""
    n = next(_seq)
    atype = kw.pop("aircraft_type", None) or services.create_aircraft_type(
        actor=None, code=f"T{n}", name=f"Type {n}", kind=kw.pop("kind", "aircraft")
    )
    v = services.create_variant(actor=None, aircraft_type=atype, code=kw.pop("code", f"V{n}"), **kw)
    for code, pns in (positions if positions is not None else {"ENG": [part_number()]}).items():
        services.create_position(actor=None, variant=v, code=code, ata="72", part_numbers=pns)
    return v


def aircraft(
    *, operator_: Operator | None = None, variant_: Variant | None = None, **kw: Any
) -> Aircraft:
    n = next(_seq)
    return services.register_aircraft(
        actor=None,
        serial=kw.pop("serial", f"AC-{n}"),
        variant=variant_ or variant(),
        operator=operator_ or operator(),
        delivered=kw.pop("delivered", dt.date(2025, 1, 1)),
        **kw,
    )


def part(*, pn: PartNumber | None = None, **kw: Any) -> Part:
    n = next(_seq)
    return services.register_part(
        actor=None,
        part_number=pn or part_number(),
        serial=kw.pop("serial", f"SN-{n}"),
        manufactured=kw.pop("manufactured", dt.date(2024, 1, 1)),
        **kw,
    )


def position(ac: Aircraft, code: str = "ENG") -> Position:
    return Position.objects.get(variant=ac.variant, code=code)


def install(p: Part, ac: Aircraft, at: dt.datetime, code: str = "ENG", **kw: Any) -> Installation:
    return services.install_part(
        actor=None, part=p, aircraft=ac, position=position(ac, code), installed_at=at, **kw
    )


def flight(ac: Aircraft, takeoff: dt.datetime, hours: float, cycles: int = 1) -> Flight:
    return services.record_flight(
        actor=None,
        aircraft=ac,
        takeoff=takeoff,
        landing=takeoff + dt.timedelta(hours=hours),
        cycles=cycles,
    )


def fleet_of(op: Operator, n: int, *, flights_each: int = 3) -> list[Aircraft]:
    """n aircraft of one operator, each with a fitted part and a few flights."""
    pn = part_number()
    v = variant(positions={"ENG": [pn]})
    out = []
    for _ in range(n):
        ac = aircraft(operator_=op, variant_=v)
        install(part(pn=pn), ac, utc(2025, 1, 1))
        for k in range(flights_each):
            flight(ac, utc(2025, 2, 1 + k, 8), 5.5)
        out.append(ac)
    return out


def aircraft_type(**kw: Any) -> Any:
    n = next(_seq)
    return services.create_aircraft_type(
        actor=None, code=kw.pop("code", f"T{n}"), name=kw.pop("name", f"Type {n}"), **kw
    )


def qualification(holder: User, types: list[Any], **kw: Any) -> Any:
    from kanat.people import services as people

    n = next(_seq)
    return people.grant_qualification(
        actor=None,
        holder=holder,
        category=kw.pop("category", "B1"),
        reference=kw.pop("reference", f"KZ.66.{n}"),
        issuing_authority=kw.pop("issuing_authority", "Civil Aviation Committee"),
        aircraft_types=types,
        issued_on=kw.pop("issued_on", dt.date(2024, 1, 1)),
        **kw,
    )


def authorisation(holder: User, qual: Any, privileges: list[str], **kw: Any) -> Any:
    from kanat.people import services as people

    n = next(_seq)
    return people.grant_authorisation(
        actor=None,
        holder=holder,
        number=kw.pop("number", f"CA-{n}"),
        qualification=qual,
        privileges=privileges,
        aircraft_types=kw.pop("aircraft_types", None) or list(qual.aircraft_types.all()),
        valid_from=kw.pop("valid_from", utc(2024, 1, 1)),
        **kw,
    )


# --- stores (kanat.inventory) ----------------------------------------------------------


def location(**kw: Any) -> Any:
    from kanat.inventory import services as inv

    n = next(_seq)
    return inv.create_location(
        actor=None,
        code=kw.pop("code", f"LOC{n}"),
        name=kw.pop("name", f"Store {n}"),
        kind=kw.pop("kind", "hub_store"),
    )


def supplier(**kw: Any) -> Any:
    from kanat.inventory import services as inv

    n = next(_seq)
    return inv.create_supplier(
        actor=None, code=kw.pop("code", f"SUP{n}"), name=kw.pop("name", f"Supplier {n}"), **kw
    )


def purchase_order(lines: list[tuple[PartNumber, Any]], **kw: Any) -> Any:
    from kanat.inventory import services as inv

    n = next(_seq)
    return inv.create_purchase_order(
        actor=None,
        number=kw.pop("number", f"PO-{n}"),
        supplier=kw.pop("supplier_", None) or supplier(),
        lines=lines,
        **kw,
    )


def batch_stock(
    qty: Any = 10, *, pn: PartNumber | None = None, loc: Any = None, owner: Any = None, **kw: Any
) -> Any:
    """A batch of ``qty`` received into a location through a purchase order."""
    from kanat.inventory import services as inv

    n = next(_seq)
    actor, at = kw.pop("actor", None), kw.pop("at", None)
    pn = pn or part_number(tracking=PartTracking.BATCH)
    po = purchase_order([(pn, qty)], operator=owner)
    receipt = inv.receive_against_po(
        actor=actor,
        order=po,
        delivery_ref=f"DN-{n}",
        location=loc or location(),
        receipts=[
            inv.Receipt(
                line=po.lines.get(),
                quantity=qty,
                batch=kw.pop("batch", f"B{n}"),
                certificate_ref=kw.pop("certificate_ref", f"COC-{n}"),
                **kw,
            )
        ],
        at=at,
    )
    return receipt.items.get()


def serial_stock(*, pn: PartNumber | None = None, loc: Any = None, owner: Any = None) -> Any:
    """One serialised part received into a location through a purchase order."""
    from kanat.inventory import services as inv

    n = next(_seq)
    pn = pn or part_number(tracking=PartTracking.SERIAL)
    po = purchase_order([(pn, 1)], operator=owner)
    receipt = inv.receive_against_po(
        actor=None,
        order=po,
        delivery_ref=f"DN-{n}",
        location=loc or location(),
        receipts=[inv.Receipt(line=po.lines.get(), serial=f"RS-{n}", certificate_ref=f"F1-{n}")],
    )
    return receipt.items.get()


# --- production (engineering data) -----------------------------------------------------


def part_master(*, pn: PartNumber | None = None, **kw: Any) -> Any:
    """A part number (made unless given) with its part master (default: made locally, each)."""
    from kanat.production import services as production

    tracking = kw.pop("tracking", PartTracking.SERIAL)
    pn = pn or part_number(tracking=tracking)
    return production.define_part_master(
        actor=None,
        part_number=pn,
        revision=kw.pop("revision", "A"),
        make_buy=kw.pop("make_buy", "make"),
        origin=kw.pop("origin", "local"),
        uom=kw.pop("uom", "ea"),
        **kw,
    )[0]


def bom(assembly: PartNumber, lines: list[tuple[PartNumber, Any]], *, release: bool = True) -> Any:
    """A BOM revision of ``assembly`` with lines [(child, quantity)] numbered 10, 20...;
    released unless ``release`` is false."""
    from kanat.production import services as production

    b = production.create_bom_revision(actor=None, part_number=assembly, copy_latest=False)
    for i, (child, qty) in enumerate(lines, start=1):
        production.add_bom_line(actor=None, bom=b, find_number=10 * i, child=child, quantity=qty)
    return production.release_bom(actor=None, bom=b) if release else b


def work_centre(**kw: Any) -> Any:
    from kanat.production import services as production

    n = next(_seq)
    return production.define_work_centre(
        actor=None, code=kw.pop("code", f"WC{n}"), name=kw.pop("name", f"Work centre {n}")
    )
