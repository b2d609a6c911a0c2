"""How much of a product is local: the measure of the technology transfer.

Django-free (no database, no settings): the selector in
``kanat.production.views_transfer`` feeds it plain data, so the rules are tested
without a database.

For one product at one BOM revision (a point in time), from the multi-level explosion
of its BOM and the routings in force:

- **parts by count**: the distinct part numbers in the explosion (assemblies included:
  a locally made harness is a local part) whose part master says ``local``, over all;
- **parts by value**: over the bought-in leaves (rows that are not assemblies, whose
  value is not already the sum of their children), extended quantity × unit value of
  the local ones over all priced ones. A leaf without a unit value is left out and
  counted in ``unpriced``; with no priced leaf the share is unknown (``None``);
- **production hours**: the standard hours of the product's own routing and of the
  routing of every part in the explosion (× its extended quantity), at work centres
  marked local, over all.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

ZERO = Decimal(0)


@dataclass(frozen=True)
class PartRow:
    """One row of the exploded BOM: ``extended`` of ``part_number`` per one product."""

    part_number: str
    extended: Decimal
    is_assembly: bool
    local: bool
    unit_value: Decimal | None = None


@dataclass(frozen=True)
class Op:
    """One operation of a routing: its standard hours per unit and whether its work
    centre is local."""

    work_centre: str
    standard_hours: Decimal
    local: bool


@dataclass(frozen=True)
class Share:
    """``local`` of ``total``; ``ratio`` is ``None`` when the total is zero."""

    local: Decimal
    total: Decimal

    @property
    def ratio(self) -> float | None:
        return float(self.local / self.total) if self.total else None

    @property
    def percent(self) -> str:
        ratio = self.ratio
        return "—" if ratio is None else f"{ratio * 100:.0f}%"


@dataclass(frozen=True)
class Measure:
    """The localisation of one product at one point in time."""

    label: str
    at: dt.date | None
    parts: Share
    value: Share | None
    unpriced: int
    hours: Share

    @property
    def value_known(self) -> bool:
        return self.value is not None


def measure(
    product: str,
    rows: Sequence[PartRow],
    routings: Mapping[str, Sequence[Op]],
    *,
    label: str = "",
    at: dt.date | None = None,
) -> Measure:
    """The shares local of ``product`` (its part number) from its exploded BOM ``rows``
    and the routings in force by part number."""
    local_by_pn: dict[str, bool] = {}
    quantity_by_pn: dict[str, Decimal] = {}
    value_local = value_total = ZERO
    priced = unpriced = 0
    for row in rows:
        local_by_pn[row.part_number] = row.local
        quantity_by_pn[row.part_number] = quantity_by_pn.get(row.part_number, ZERO) + row.extended
        if row.is_assembly:
            continue
        if row.unit_value is None:
            unpriced += 1
            continue
        priced += 1
        amount = row.extended * row.unit_value
        value_total += amount
        if row.local:
            value_local += amount
    parts = Share(
        local=Decimal(sum(1 for is_local in local_by_pn.values() if is_local)),
        total=Decimal(len(local_by_pn)),
    )
    hours_local = hours_total = ZERO
    quantity_by_pn[product] = quantity_by_pn.get(product, ZERO) + 1
    for pn, quantity in quantity_by_pn.items():
        for op in routings.get(pn, ()):
            hours = op.standard_hours * quantity
            hours_total += hours
            if op.local:
                hours_local += hours
    return Measure(
        label=label,
        at=at,
        parts=parts,
        value=Share(value_local, value_total) if priced else None,
        unpriced=unpriced,
        hours=Share(hours_local, hours_total),
    )


@dataclass(frozen=True)
class Series:
    """One product's measures over time, oldest first."""

    product: str
    name: str
    points: tuple[Measure, ...]

    @property
    def latest(self) -> Measure | None:
        return self.points[-1] if self.points else None


def series(product: str, name: str, points: Sequence[Measure]) -> Series:
    """The points ordered by date (undated last), then by label."""
    ordered = sorted(
        points,
        key=lambda m: (m.at is None, m.at or dt.date.min, m.label),
    )
    return Series(product=product, name=name, points=tuple(ordered))
