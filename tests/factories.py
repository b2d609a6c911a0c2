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
