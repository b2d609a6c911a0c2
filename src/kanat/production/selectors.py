"""Reads of engineering data that need more than a queryset: the released structure,
a BOM's multi-level explosion and the comparison of two revisions (computed by the
Django-free ``kanat.production.structure`` on plain lines)."""

from __future__ import annotations

from decimal import Decimal

from kanat.fleet.models import PartNumber
from kanat.production.models import Bom, BomLine, BomStatus, Routing
from kanat.production.structure import Comparison, Line, Row, compare, explode


def as_line(line: BomLine) -> Line:
    return Line(
        find_number=line.find_number,
        child=line.child.pn,
        quantity=line.quantity,
        uom=line.uom,
        ref_des=line.ref_des,
    )


def lines_of(bom: Bom) -> list[Line]:
    return [as_line(line) for line in bom.lines.select_related("child").order_by("find_number")]


def released_structure() -> dict[str, list[Line]]:
    """Every released BOM's lines, by the part number of the assembly (one query)."""
    structure: dict[str, list[Line]] = {}
    for line in (
        BomLine.objects.filter(bom__status=BomStatus.RELEASED)
        .select_related("child", "bom__part_number")
        .order_by("bom__part_number__pn", "find_number")
    ):
        structure.setdefault(line.bom.part_number.pn, []).append(as_line(line))
    return structure


def released_bom(part_number: PartNumber) -> Bom | None:
    """The revision in force of an assembly's BOM."""
    return Bom.objects.filter(part_number=part_number, status=BomStatus.RELEASED).first()


def explode_bom(bom: Bom, *, quantity: Decimal = Decimal(1)) -> list[Row]:
    """The multi-level explosion of ``bom`` (a draft or any revision) for ``quantity``
    assemblies: its own lines at level 1, then below each child the child's released
    BOM, quantities multiplied down the levels."""
    structure = released_structure()
    structure[bom.part_number.pn] = lines_of(bom)
    return explode(bom.part_number.pn, structure, quantity=quantity)


def compare_revisions(a: Bom, b: Bom) -> Comparison:
    """Lines added, removed and changed from revision ``a`` to revision ``b``."""
    return compare(lines_of(a), lines_of(b))


def routing_in_force(part_number: PartNumber) -> Routing | None:
    return Routing.objects.filter(part_number=part_number).order_by("-number").first()
