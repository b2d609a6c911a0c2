"""Reads of the fleet: counters, configuration at an instant, part histories.

Counters come from the Django-free core (``kanat.engine.counters``); this module
only feeds it with bulk queries, so the number of queries does not grow with the
fleet.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from django.db.models import Q, QuerySet

from kanat.engine import counters
from kanat.engine.timebase import OPEN_END, to_us
from kanat.fleet.models import Aircraft, Flight, Installation, Part, Position


@dataclass(frozen=True)
class Counters:
    fh: float
    fc: int


def _flights_of(
    aircraft_ids: Sequence[int], at: dt.datetime
) -> tuple[counters.Flights, dict[int, int]]:
    index = {pk: i for i, pk in enumerate(aircraft_ids)}
    rows = list(
        Flight.objects.filter(aircraft_id__in=aircraft_ids, landing__lte=at).values_list(
            "aircraft_id", "takeoff", "landing", "cycles"
        )
    )
    if not rows:
        return counters.Flights.empty(), index
    return (
        counters.Flights(
            aircraft=np.fromiter((index[r[0]] for r in rows), dtype=np.int64, count=len(rows)),
            takeoff=np.fromiter((to_us(r[1]) for r in rows), dtype=np.int64, count=len(rows)),
            landing=np.fromiter((to_us(r[2]) for r in rows), dtype=np.int64, count=len(rows)),
            cycles=np.fromiter((r[3] for r in rows), dtype=np.int64, count=len(rows)),
        ),
        index,
    )


def aircraft_counters(aircraft: Iterable[Aircraft], at: dt.datetime) -> dict[int, Counters]:
    """FH/FC of each aircraft at ``at`` (flights landed at or before it). One query."""
    items = list(aircraft)
    if not items:
        return {}
    ids = [a.pk for a in items]
    flights, _ = _flights_of(ids, at)
    fh, fc = counters.aircraft_counters(
        np.array([a.opening_fh for a in items], dtype=np.float64),
        np.array([a.opening_fc for a in items], dtype=np.int64),
        flights,
        to_us(at),
    )
    return {pk: Counters(float(h), int(c)) for pk, h, c in zip(ids, fh, fc, strict=True)}


def part_counters(parts: Iterable[Part], at: dt.datetime) -> dict[int, Counters]:
    """FH/FC since new of each part at ``at``, across every aircraft it was on.

    Two queries: the parts' installations, then the flights of those aircraft.
    """
    items = list(parts)
    if not items:
        return {}
    ids = [p.pk for p in items]
    pindex = {pk: i for i, pk in enumerate(ids)}
    inst_rows = list(
        Installation.objects.filter(part_id__in=ids, installed_at__lte=at).values_list(
            "part_id", "aircraft_id", "installed_at", "removed_at"
        )
    )
    aircraft_ids = sorted({r[1] for r in inst_rows})
    flights, aindex = (
        _flights_of(aircraft_ids, at) if aircraft_ids else (counters.Flights.empty(), {})
    )
    n = len(inst_rows)
    installations = counters.Installations(
        part=np.fromiter((pindex[r[0]] for r in inst_rows), dtype=np.int64, count=n),
        aircraft=np.fromiter((aindex[r[1]] for r in inst_rows), dtype=np.int64, count=n),
        installed_at=np.fromiter((to_us(r[2]) for r in inst_rows), dtype=np.int64, count=n),
        removed_at=np.fromiter(
            (OPEN_END if r[3] is None else to_us(r[3]) for r in inst_rows), dtype=np.int64, count=n
        ),
    )
    fh, fc = counters.part_counters(
        np.array([p.opening_fh for p in items], dtype=np.float64),
        np.array([p.opening_fc for p in items], dtype=np.int64),
        installations,
        flights,
        to_us(at),
    )
    return {pk: Counters(float(h), int(c)) for pk, h, c in zip(ids, fh, fc, strict=True)}


def part_counters_at(part: Part, instants: Sequence[dt.datetime]) -> list[Counters]:
    """One part's FH/FC since new at each of several instants (its life story). Two
    queries, whatever the number of instants."""
    if not instants:
        return []
    last = max(instants)
    inst_rows = list(
        Installation.objects.filter(part=part, installed_at__lte=last).values_list(
            "aircraft_id", "installed_at", "removed_at"
        )
    )
    aircraft_ids = sorted({r[0] for r in inst_rows})
    flights, aindex = (
        _flights_of(aircraft_ids, last) if aircraft_ids else (counters.Flights.empty(), {})
    )
    k, m = len(instants), len(inst_rows)
    # the part once per instant: k copies of its installation rows
    installations = counters.Installations(
        part=np.repeat(np.arange(k, dtype=np.int64), m),
        aircraft=np.tile(np.array([aindex[r[0]] for r in inst_rows], dtype=np.int64), k),
        installed_at=np.tile(np.array([to_us(r[1]) for r in inst_rows], dtype=np.int64), k),
        removed_at=np.tile(
            np.array(
                [OPEN_END if r[2] is None else to_us(r[2]) for r in inst_rows], dtype=np.int64
            ),
            k,
        ),
    )
    fh, fc = counters.part_counters(
        np.full(k, part.opening_fh, dtype=np.float64),
        np.full(k, part.opening_fc, dtype=np.int64),
        installations,
        flights,
        np.array([to_us(t) for t in instants], dtype=np.int64),
    )
    return [Counters(float(h), int(c)) for h, c in zip(fh, fc, strict=True)]


def installed_at_instant(at: dt.datetime) -> Q:
    """Rows of Installation in force at ``at``: installed_at <= at < removed_at."""
    return Q(installed_at__lte=at) & (Q(removed_at__isnull=True) | Q(removed_at__gt=at))


@dataclass
class Slot:
    """A position of the aircraft's tree with what was in it at the instant."""

    position: Position
    depth: int
    installation: Installation | None


def configuration(aircraft: Aircraft, at: dt.datetime) -> list[Slot]:
    """The aircraft's position tree (depth-first) with the part in each slot at ``at``."""
    positions = list(
        Position.objects.filter(variant_id=aircraft.variant_id).prefetch_related("part_numbers")
    )
    fitted = {
        inst.position_id: inst
        for inst in Installation.objects.filter(
            installed_at_instant(at), aircraft=aircraft
        ).select_related("part__part_number")
    }
    children: dict[int | None, list[Position]] = {}
    for pos in positions:
        children.setdefault(pos.parent_id, []).append(pos)
    slots: list[Slot] = []

    def walk(parent: int | None, depth: int) -> None:
        for pos in sorted(children.get(parent, []), key=lambda p: (p.ata, p.code)):
            slots.append(Slot(pos, depth, fitted.get(pos.pk)))
            walk(pos.pk, depth + 1)

    walk(None, 0)
    return slots


def current_installations(parts: QuerySet[Part]) -> dict[int, Installation]:
    """Open installation of each part in ``parts`` (one query)."""
    return {
        inst.part_id: inst
        for inst in Installation.objects.filter(
            part__in=parts, removed_at__isnull=True
        ).select_related("aircraft", "position")
    }


def airborne_now(aircraft_ids: Sequence[int], at: dt.datetime) -> set[int]:
    """Aircraft with a recorded flight in progress at ``at`` (took off, not landed)."""
    return set(
        Flight.objects.filter(
            aircraft_id__in=aircraft_ids, takeoff__lte=at, landing__gt=at
        ).values_list("aircraft_id", flat=True)
    )
