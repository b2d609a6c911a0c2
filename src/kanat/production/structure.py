"""Product structure on plain data: explosion, cycles and revision comparison.

Django-free (no database, no settings): the services and selectors feed it the lines of
the bills of materials as ``Line`` values keyed by the part number of the assembly they
build, so the rules here are tested without a database.

A structure is ``{assembly part number: its lines}``. A line's child that has lines of its
own in the structure is a sub-assembly: the explosion descends into it and multiplies the
quantities down the levels. Quantities are ``Decimal`` so 0.1 × 3 is exactly 0.3.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal


@dataclass(frozen=True)
class Line:
    """One line of a bill of materials: ``quantity`` of ``child`` per one assembly."""

    find_number: int
    child: str
    quantity: Decimal
    uom: str
    ref_des: str = ""


Structure = Mapping[str, Sequence[Line]]


@dataclass(frozen=True)
class Row:
    """One line of an indented (multi-level) explosion.

    ``path`` is the part numbers from the top assembly down to this row's child;
    ``extended`` the quantity of the child per ``quantity`` top assemblies (every level's
    quantities multiplied); ``is_assembly`` whether the child has lines of its own.
    """

    level: int
    path: tuple[str, ...]
    find_number: int
    child: str
    quantity_per: Decimal
    extended: Decimal
    uom: str
    ref_des: str
    is_assembly: bool


class CycleError(ValueError):
    """The structure contains an assembly that (indirectly) contains itself."""

    def __init__(self, cycle: Sequence[str]) -> None:
        self.cycle = list(cycle)
        super().__init__("the structure contains itself: " + " > ".join(self.cycle))


def find_cycle(root: str, structure: Structure) -> list[str] | None:
    """The first path from ``root`` that comes back to a part number already on it
    (``["A", "B", "A"]``), or ``None`` when the structure under ``root`` is a tree/DAG."""
    on_path: list[str] = []
    on_path_set: set[str] = set()
    done: set[str] = set()

    def visit(pn: str) -> list[str] | None:
        if pn in on_path_set:
            return on_path[on_path.index(pn) :] + [pn]
        if pn in done:
            return None
        on_path.append(pn)
        on_path_set.add(pn)
        for line in structure.get(pn, ()):
            found = visit(line.child)
            if found is not None:
                return found
        on_path.pop()
        on_path_set.discard(pn)
        done.add(pn)
        return None

    return visit(root)


def explode(root: str, structure: Structure, *, quantity: Decimal = Decimal(1)) -> list[Row]:
    """The indented explosion of ``quantity`` × ``root``: every line at every level,
    depth first in find-number order, with extended quantities. Raises ``CycleError``
    rather than recursing forever."""
    cycle = find_cycle(root, structure)
    if cycle is not None:
        raise CycleError(cycle)
    rows: list[Row] = []

    def descend(pn: str, path: tuple[str, ...], per: Decimal, level: int) -> None:
        for line in sorted(structure.get(pn, ()), key=lambda x: (x.find_number, x.child)):
            extended = per * line.quantity
            child_path = path + (line.child,)
            rows.append(
                Row(
                    level=level,
                    path=child_path,
                    find_number=line.find_number,
                    child=line.child,
                    quantity_per=line.quantity,
                    extended=extended,
                    uom=line.uom,
                    ref_des=line.ref_des,
                    is_assembly=bool(structure.get(line.child)),
                )
            )
            descend(line.child, child_path, extended, level + 1)

    descend(root, (root,), quantity, 1)
    return rows


def flatten(rows: Iterable[Row], *, leaves_only: bool = False) -> dict[str, Decimal]:
    """Total quantity per part number over an explosion (a summarised bill: what to make
    or buy for the quantity exploded). ``leaves_only`` leaves out sub-assemblies."""
    totals: dict[str, Decimal] = {}
    for row in rows:
        if leaves_only and row.is_assembly:
            continue
        totals[row.child] = totals.get(row.child, Decimal(0)) + row.extended
    return dict(sorted(totals.items()))


@dataclass(frozen=True)
class Change:
    """A line present in both revisions whose quantity, unit or reference differ."""

    find_number: int
    child: str
    before: Line
    after: Line
    fields: tuple[str, ...]


@dataclass(frozen=True)
class Comparison:
    added: list[Line] = field(default_factory=list)
    removed: list[Line] = field(default_factory=list)
    changed: list[Change] = field(default_factory=list)

    @property
    def same(self) -> bool:
        return not (self.added or self.removed or self.changed)


COMPARED_FIELDS = ("quantity", "uom", "ref_des")


def compare(before: Sequence[Line], after: Sequence[Line]) -> Comparison:
    """Lines added, removed and changed from ``before`` to ``after``. A line is matched
    by its find number and child part number: the same find number with another child is
    a removal and an addition."""

    def keyed(lines: Sequence[Line]) -> dict[tuple[int, str], Line]:
        return {(line.find_number, line.child): line for line in lines}

    a, b = keyed(before), keyed(after)
    added = [b[k] for k in sorted(b.keys() - a.keys())]
    removed = [a[k] for k in sorted(a.keys() - b.keys())]
    changed = []
    for k in sorted(a.keys() & b.keys()):
        differs = tuple(f for f in COMPARED_FIELDS if getattr(a[k], f) != getattr(b[k], f))
        if differs:
            changed.append(Change(k[0], k[1], a[k], b[k], differs))
    return Comparison(added=added, removed=removed, changed=changed)


#: Revision letters as ASME Y14.35 has them: I, O, Q, S, X and Z are not used (they read
#: as digits or each other); after Y come AA, AB...
REVISION_LETTERS = "ABCDEFGHJKLMNPRTUVWY"


def revision_label(number: int) -> str:
    """The letter of the ``number``-th revision: 1 → A, 20 → Y, 21 → AA."""
    if number < 1:
        raise ValueError(f"revision numbers start at 1, not {number}")
    base = len(REVISION_LETTERS)
    out = ""
    n = number
    while n > 0:
        n, rem = divmod(n - 1, base)
        out = REVISION_LETTERS[rem] + out
    return out
