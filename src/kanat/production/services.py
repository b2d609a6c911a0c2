"""The write path of engineering data: part masters, products, work centres, BOM
revisions (draft → released → superseded) and routings.

Every function runs in one transaction, checks ``Capability.MANAGE_ENGINEERING`` and
writes its audit event there; bad input raises ``RuleViolation`` naming the field and
changes nothing. A BOM is edited only while it is a draft; releasing it checks the whole
multi-level structure (no empty BOM, every child with a part master in the unit the line
uses, no assembly that contains itself) and supersedes the revision released before.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from kanat.core import audit
from kanat.core.errors import Conflict, RuleViolation
from kanat.core.models import User
from kanat.core.roles import Capability
from kanat.core.services import at_or_now, require
from kanat.fleet.models import PartNumber, PartTracking, Variant
from kanat.production import selectors
from kanat.production.models import (
    Bom,
    BomLine,
    BomStatus,
    MakeBuy,
    Operation,
    Origin,
    PartMaster,
    Product,
    ProductKind,
    Routing,
    UnitOfMeasure,
    WorkCentre,
)
from kanat.production.structure import find_cycle, revision_label

QUANTITY_PLACES = Decimal("0.0001")
HOURS_PLACES = Decimal("0.01")
#: a BOM line's quantity (14 digits, 4 after the point) and standard hours (8, 2) are below
BELOW = {QUANTITY_PLACES: Decimal(10) ** 10, HOURS_PLACES: Decimal(10) ** 6}


def _choice(value: Any, choices: type, field: str) -> str:
    if value not in choices.values:  # type: ignore[attr-defined]
        raise RuleViolation(
            f"{field} must be one of {', '.join(choices.values)}, not {value!r}",  # type: ignore[attr-defined]
            field=field,
        )
    return str(value)


def _decimal(value: Any, field: str, places: Decimal) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise RuleViolation(f"{field}: {value!r} is not a number", field=field)
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise RuleViolation(f"{field}: {value!r} is not a number", field=field) from None
    if not number.is_finite():
        raise RuleViolation(f"{field}: {value!r} is not a number", field=field)
    if abs(number) >= BELOW[places]:  # what the column holds; quantize could not either
        raise RuleViolation(f"{field}: {value} is too large", field=field)
    if number != number.quantize(places):
        digits = -int(places.as_tuple().exponent)
        raise RuleViolation(f"{field}: {value} has more than {digits} decimal places", field=field)
    return number.quantize(places)


def _text(value: Any, field: str, *, required: bool = True) -> str:
    text = str(value or "").strip()
    if required and not text:
        raise RuleViolation(f"{field} is required", field=field)
    return text


# --- part masters, products, work centres ----------------------------------------------


def _master_content(pm: PartMaster) -> dict[str, Any]:
    return {
        "revision": pm.revision,
        "make_buy": pm.make_buy,
        "origin": pm.origin,
        "uom": pm.uom,
        "shelf_life_days": pm.shelf_life_days,
    }


@transaction.atomic
def define_part_master(
    *,
    actor: User | None,
    part_number: PartNumber,
    revision: str,
    make_buy: str,
    origin: str,
    uom: str = UnitOfMeasure.EACH,
    shelf_life_days: int | None = None,
) -> tuple[PartMaster, bool]:
    """Create the part master of a part number, or change it (a no-op when nothing
    changes). Returns the part master and whether it changed now.

    A part on a released BOM keeps its unit of measure (the lines are in it), and a part
    with a released BOM stays a make part."""
    require(actor, Capability.MANAGE_ENGINEERING)
    content = {
        "revision": _text(revision, "revision"),
        "make_buy": _choice(make_buy, MakeBuy, "make_buy"),
        "origin": _choice(origin, Origin, "origin"),
        "uom": _choice(uom, UnitOfMeasure, "uom"),
        "shelf_life_days": shelf_life_days,
    }
    if shelf_life_days is not None and (
        isinstance(shelf_life_days, bool)
        or not isinstance(shelf_life_days, int)
        or shelf_life_days <= 0
    ):
        raise RuleViolation(
            f"shelf_life_days must be a whole number of days above 0 (or empty), "
            f"not {shelf_life_days!r}",
            field="shelf_life_days",
        )
    if len(content["revision"]) > 10:
        raise RuleViolation("revision: 10 characters at most", field="revision")
    pm = PartMaster.objects.select_for_update().filter(part_number=part_number).first()
    before = _master_content(pm) if pm is not None else None
    if before == content:
        return pm, False  # type: ignore[return-value]
    if pm is not None:
        if (
            content["uom"] != pm.uom
            and BomLine.objects.filter(child=part_number, bom__status=BomStatus.RELEASED).exists()
        ):
            raise RuleViolation(
                f"{part_number.pn} is on a released BOM in {pm.uom}: its unit of measure "
                "stays (release BOM revisions in the new unit first)",
                field="uom",
            )
        if (
            content["make_buy"] == MakeBuy.BUY
            and Bom.objects.filter(part_number=part_number, status=BomStatus.RELEASED).exists()
        ):
            raise RuleViolation(
                f"{part_number.pn} has a released BOM: it is made, not bought",
                field="make_buy",
            )
    else:
        pm = PartMaster(part_number=part_number)
    for key, value in content.items():
        setattr(pm, key, value)
    pm.updated_at = timezone.now()
    pm.updated_by = actor
    pm.save()
    audit.record(
        actor=actor,
        action="production.define_part_master",
        instance=pm,
        before=before,
        after=content,
    )
    return pm, True


def _master_of(part_number: PartNumber, field: str) -> PartMaster:
    pm = PartMaster.objects.filter(part_number=part_number).first()
    if pm is None:
        raise RuleViolation(f"{part_number.pn} has no part master", field=field)
    return pm


@transaction.atomic
def define_product(
    *,
    actor: User | None,
    code: str,
    name: str,
    kind: str,
    part_number: PartNumber,
    variant: Variant | None = None,
) -> Product:
    """A product the hub builds: an aircraft (optionally of a fleet variant), a ground
    segment, a SATCOM terminal, a satellite subsystem... made as ``part_number``."""
    require(actor, Capability.MANAGE_ENGINEERING)
    code = _text(code, "code")
    name = _text(name, "name")
    kind = _choice(kind, ProductKind, "kind")
    if variant is not None and kind != ProductKind.AIRCRAFT:
        raise RuleViolation(
            f"only an aircraft product names a fleet variant, not a {kind}", field="variant"
        )
    if _master_of(part_number, "part_number").make_buy != MakeBuy.MAKE:
        raise RuleViolation(
            f"{part_number.pn} is a buy part: a product is made", field="part_number"
        )
    if Product.objects.filter(code=code).exists():
        raise RuleViolation(f"product {code} already exists", field="code")
    taken = Product.objects.filter(part_number=part_number).first()
    if taken is not None:
        raise RuleViolation(
            f"{part_number.pn} is already product {taken.code}", field="part_number"
        )
    product = Product.objects.create(
        code=code,
        name=name,
        kind=kind,
        part_number=part_number,
        variant=variant,
        created_at=timezone.now(),
        created_by=actor,
    )
    audit.record(actor=actor, action="production.define_product", instance=product)
    return product


@transaction.atomic
def define_work_centre(
    *, actor: User | None, code: str, name: str, local: bool = True
) -> WorkCentre:
    """A work centre; ``local`` False for one abroad (the licensor's shop): its hours do not
    count as local production hours."""
    require(actor, Capability.MANAGE_ENGINEERING)
    code = _text(code, "code")
    if WorkCentre.objects.filter(code=code).exists():
        raise RuleViolation(f"work centre {code} already exists", field="code")
    wc = WorkCentre.objects.create(code=code, name=_text(name, "name"), local=bool(local))
    audit.record(actor=actor, action="production.define_work_centre", instance=wc)
    return wc


# --- BOM revisions --------------------------------------------------------------------


def _line_content(line: BomLine) -> dict[str, Any]:
    return {
        "find_number": line.find_number,
        "child": line.child.pn,
        "quantity": str(line.quantity),
        "uom": line.uom,
        "ref_des": line.ref_des,
        "note": line.note,
    }


def _bom_content(bom: Bom) -> dict[str, Any]:
    return {
        "part_number": bom.part_number.pn,
        "revision": bom.revision,
        "status": bom.status,
        "effectivity": bom.effectivity,
        "reason": bom.reason,
        "based_on": bom.based_on.revision if bom.based_on_id else None,
        "lines": [
            _line_content(line)
            for line in bom.lines.select_related("child").order_by("find_number")
        ],
    }


@transaction.atomic
def create_bom_revision(
    *,
    actor: User | None,
    part_number: PartNumber,
    copy_latest: bool = True,
    revision: str = "",
    effectivity: str = "",
    reason: str = "",
    at: dt.datetime | None = None,
) -> Bom:
    """A new draft revision of the BOM of ``part_number`` (a make part), with the lines
    of its latest revision when ``copy_latest``. Its label is the next revision letter
    unless ``revision`` names one. One draft at a time per assembly. ``at``: when it was
    started, if earlier than now (engineering records entered after the fact)."""
    require(actor, Capability.MANAGE_ENGINEERING)
    now = at_or_now(at)
    if _master_of(part_number, "part_number").make_buy != MakeBuy.MAKE:
        raise RuleViolation(
            f"{part_number.pn} is a buy part: only made parts have a BOM", field="part_number"
        )
    # lock the assembly's revisions: two people starting a revision at once get one draft
    existing = list(Bom.objects.select_for_update().filter(part_number=part_number))
    draft = next((b for b in existing if b.status == BomStatus.DRAFT), None)
    if draft is not None:
        raise Conflict(
            f"{part_number.pn} already has a draft revision {draft.revision}: edit or discard it",
            field="part_number",
        )
    number = max((b.number for b in existing), default=0) + 1
    label = _text(revision, "revision", required=False) or revision_label(number)
    if len(label) > 10:
        raise RuleViolation("revision: 10 characters at most", field="revision")
    if any(b.revision == label for b in existing):
        raise RuleViolation(
            f"{part_number.pn} already has a BOM revision {label}", field="revision"
        )
    latest = max(existing, key=lambda b: b.number, default=None)
    bom = Bom(
        part_number=part_number,
        number=number,
        revision=label,
        status=BomStatus.DRAFT,
        based_on=latest if copy_latest else None,
        effectivity=_text(effectivity, "effectivity", required=False),
        reason=_text(reason, "reason", required=False),
        created_at=now,
        created_by=actor,
    )
    try:
        with transaction.atomic():
            bom.save()
    except IntegrityError:
        raise Conflict(
            f"{part_number.pn}: another revision was started at the same time",
            field="part_number",
        ) from None
    if copy_latest and latest is not None:
        BomLine.objects.bulk_create(
            [
                BomLine(
                    bom=bom,
                    find_number=line.find_number,
                    child_id=line.child_id,
                    quantity=line.quantity,
                    uom=line.uom,
                    ref_des=line.ref_des,
                    note=line.note,
                )
                for line in latest.lines.all()
            ]
        )
    audit.record(
        actor=actor,
        action="production.create_bom_revision",
        instance=bom,
        after=_bom_content(bom),
    )
    return bom


def _locked_draft(bom: Bom) -> Bom:
    locked = Bom.objects.select_for_update().select_related("part_number").get(pk=bom.pk)
    if locked.status != BomStatus.DRAFT:
        raise RuleViolation(
            f"{locked} is {locked.status}: a released BOM is never edited, create a new revision",
            field="bom",
        )
    return locked


def _check_line(bom: Bom, child: PartNumber, quantity: Any, uom: str | None) -> tuple[Decimal, str]:
    if child.pk == bom.part_number_id:
        raise RuleViolation(f"{child.pn} cannot contain itself", field="child")
    qty = _decimal(quantity, "quantity", QUANTITY_PLACES)
    if qty <= 0:
        raise RuleViolation(f"quantity must be more than 0, not {qty}", field="quantity")
    if uom is None:
        master = PartMaster.objects.filter(part_number=child).first()
        if master is None:
            raise RuleViolation(
                f"{child.pn} has no part master: give the line's unit of measure", field="uom"
            )
        uom = master.uom
    uom = _choice(uom, UnitOfMeasure, "uom")
    if child.tracking == PartTracking.SERIAL:
        if uom != UnitOfMeasure.EACH:
            raise RuleViolation(
                f"{child.pn} is serialised: it is counted each (ea), not in {uom}", field="uom"
            )
        if qty != qty.to_integral_value():
            raise RuleViolation(
                f"{child.pn} is serialised: the quantity is a whole number, not {qty}",
                field="quantity",
            )
    return qty, uom


@transaction.atomic
def add_bom_line(
    *,
    actor: User | None,
    bom: Bom,
    find_number: int,
    child: PartNumber,
    quantity: Decimal | int | str,
    uom: str | None = None,
    ref_des: str = "",
    note: str = "",
) -> BomLine:
    """A line on a draft BOM: ``quantity`` of ``child`` per assembly, in ``uom`` (default:
    the child's part master's unit)."""
    require(actor, Capability.MANAGE_ENGINEERING)
    locked = _locked_draft(bom)
    if isinstance(find_number, bool) or not isinstance(find_number, int) or find_number < 1:
        raise RuleViolation(
            f"find_number must be a whole number from 1, not {find_number!r}",
            field="find_number",
        )
    if locked.lines.filter(find_number=find_number).exists():
        raise RuleViolation(f"{locked} already has find number {find_number}", field="find_number")
    qty, unit = _check_line(locked, child, quantity, uom)
    line = BomLine.objects.create(
        bom=locked,
        find_number=find_number,
        child=child,
        quantity=qty,
        uom=unit,
        ref_des=_text(ref_des, "ref_des", required=False),
        note=_text(note, "note", required=False),
    )
    audit.record(
        actor=actor, action="production.add_bom_line", instance=line, after=_line_content(line)
    )
    return line


_UNSET: Any = object()


@transaction.atomic
def change_bom_line(
    *,
    actor: User | None,
    line: BomLine,
    quantity: Any = _UNSET,
    uom: Any = _UNSET,
    ref_des: Any = _UNSET,
    note: Any = _UNSET,
) -> BomLine:
    """Change a line of a draft BOM (a different child is a removal and a new line)."""
    require(actor, Capability.MANAGE_ENGINEERING)
    locked_bom = _locked_draft(line.bom)
    current = BomLine.objects.select_related("child").get(pk=line.pk)
    before = _line_content(current)
    qty, unit = _check_line(
        locked_bom,
        current.child,
        current.quantity if quantity is _UNSET else quantity,
        current.uom if uom is _UNSET else uom,
    )
    current.quantity, current.uom = qty, unit
    if ref_des is not _UNSET:
        current.ref_des = _text(ref_des, "ref_des", required=False)
    if note is not _UNSET:
        current.note = _text(note, "note", required=False)
    current.save()
    audit.record(
        actor=actor,
        action="production.change_bom_line",
        instance=current,
        before=before,
        after=_line_content(current),
    )
    return current


@transaction.atomic
def remove_bom_line(*, actor: User | None, line: BomLine) -> None:
    require(actor, Capability.MANAGE_ENGINEERING)
    _locked_draft(line.bom)
    current = BomLine.objects.select_related("child", "bom__part_number").get(pk=line.pk)
    audit.record(
        actor=actor,
        action="production.remove_bom_line",
        instance=current,
        before=_line_content(current),
        after={},
    )
    current.delete()


@transaction.atomic
def discard_bom_draft(*, actor: User | None, bom: Bom) -> None:
    """Drop a draft revision and its lines (it was never released, so nothing was built
    to it)."""
    require(actor, Capability.MANAGE_ENGINEERING)
    locked = _locked_draft(bom)
    audit.record(
        actor=actor,
        action="production.discard_bom_draft",
        instance=locked,
        before=_bom_content(locked),
        after={},
    )
    locked.lines.all().delete()
    locked.delete()


@transaction.atomic
def release_bom(
    *,
    actor: User | None,
    bom: Bom,
    effectivity: str | None = None,
    at: dt.datetime | None = None,
) -> Bom:
    """Release a draft BOM: from now (or ``at``, not before the draft was started nor
    before the revision in force was released) it is the revision in force and never
    changes; the revision released before it is superseded.

    Refused: a BOM without lines, a line whose child has no part master or whose unit is
    not the child's, and an assembly that would contain itself at any level (with the
    released BOMs of its children)."""
    require(actor, Capability.MANAGE_ENGINEERING)
    part_number = bom.part_number
    revisions = {b.pk: b for b in Bom.objects.select_for_update().filter(part_number=part_number)}
    locked = revisions.get(bom.pk)
    if locked is None:
        raise RuleViolation(f"{bom} no longer exists", field="bom")
    if locked.status != BomStatus.DRAFT:
        raise Conflict(f"{locked} is already {locked.status}", field="bom")
    lines = list(locked.lines.select_related("child__master").order_by("find_number"))
    if not lines:
        raise RuleViolation(f"{locked} has no lines: an empty BOM is not released", field="lines")
    for line in lines:
        master = getattr(line.child, "master", None)
        if master is None:
            raise RuleViolation(
                f"line {line.find_number}: {line.child.pn} has no part master",
                field=f"lines[{line.find_number}].child",
            )
        if master.uom != line.uom:
            raise RuleViolation(
                f"line {line.find_number}: {line.child.pn} is counted in {master.uom}, "
                f"not {line.uom}",
                field=f"lines[{line.find_number}].uom",
            )
    structure = selectors.released_structure()
    structure[part_number.pn] = [selectors.as_line(line) for line in lines]
    cycle = find_cycle(part_number.pn, structure)
    if cycle is not None:
        raise RuleViolation(
            f"{part_number.pn} would contain itself: {' > '.join(cycle)}", field="lines"
        )
    now = at_or_now(at)
    previous = next((b for b in revisions.values() if b.status == BomStatus.RELEASED), None)
    if now < locked.created_at:
        raise RuleViolation(
            f"{locked} was started on {locked.created_at:%Y-%m-%d %H:%M} UTC: it is not "
            "released before that",
            field="at",
        )
    if previous is not None and previous.released_at is not None and now < previous.released_at:
        raise RuleViolation(
            f"{previous} was released on {previous.released_at:%Y-%m-%d %H:%M} UTC: the "
            "revision after it is not released before that",
            field="at",
        )
    if previous is not None:
        previous.status = BomStatus.SUPERSEDED
        previous.superseded_at = now
        previous.save(update_fields=["status", "superseded_at"])
        audit.record(
            actor=actor,
            action="production.supersede_bom",
            instance=previous,
            before={"status": BomStatus.RELEASED},
            after={"status": BomStatus.SUPERSEDED, "superseded_by": locked.revision},
        )
    before = _bom_content(locked)
    locked.status = BomStatus.RELEASED
    locked.released_at = now
    locked.released_by = actor
    if effectivity is not None:
        locked.effectivity = _text(effectivity, "effectivity", required=False)
    locked.save()
    audit.record(
        actor=actor,
        action="production.release_bom",
        instance=locked,
        before=before,
        after=_bom_content(locked),
    )
    return locked


# --- routings -------------------------------------------------------------------------


def _check_operations(operations: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    if not isinstance(operations, list | tuple) or not operations:
        raise RuleViolation("a routing has at least one operation", field="operations")
    out: list[dict[str, Any]] = []
    centres = {wc.code: wc for wc in WorkCentre.objects.all()}
    last_seq = 0
    for i, op in enumerate(operations):
        field = f"operations[{i}]"
        if not isinstance(op, Mapping):
            raise RuleViolation(f"{field} must be an object", field=field)
        seq = op.get("seq")
        if isinstance(seq, bool) or not isinstance(seq, int) or seq < 1:
            raise RuleViolation(
                f"{field}.seq must be a whole number from 1, not {seq!r}", field=f"{field}.seq"
            )
        if seq <= last_seq:
            raise RuleViolation(
                f"{field}.seq {seq} does not follow {last_seq}: operations are in order",
                field=f"{field}.seq",
            )
        last_seq = seq
        centre = op.get("work_centre")
        wc = centre if isinstance(centre, WorkCentre) else centres.get(str(centre or ""))
        if wc is None:
            raise RuleViolation(
                f"{field}.work_centre: no work centre {centre!r}", field=f"{field}.work_centre"
            )
        description = _text(op.get("description"), f"{field}.description")
        hours = _decimal(op.get("standard_hours", 0), f"{field}.standard_hours", HOURS_PLACES)
        if hours < 0:
            raise RuleViolation(
                f"{field}.standard_hours must be zero or more", field=f"{field}.standard_hours"
            )
        inspection_point = op.get("inspection_point", False)
        if not isinstance(inspection_point, bool):
            raise RuleViolation(
                f"{field}.inspection_point is true or false", field=f"{field}.inspection_point"
            )
        inspection = _text(op.get("inspection"), f"{field}.inspection", required=False)
        if inspection_point and not inspection:
            raise RuleViolation(
                f"{field}.inspection: an inspection point says what is inspected",
                field=f"{field}.inspection",
            )
        if inspection and not inspection_point:
            raise RuleViolation(
                f"{field}.inspection: only an inspection point says what is inspected",
                field=f"{field}.inspection",
            )
        out.append(
            {
                "seq": seq,
                "work_centre": wc.code,
                "description": description,
                "standard_hours": str(hours),
                "inspection_point": inspection_point,
                "inspection": inspection,
                "_wc": wc,
            }
        )
    return out


def _routing_content(routing: Routing) -> list[dict[str, Any]]:
    return [
        {
            "seq": op.seq,
            "work_centre": op.work_centre.code,
            "description": op.description,
            "standard_hours": str(op.standard_hours),
            "inspection_point": op.inspection_point,
            "inspection": op.inspection,
        }
        for op in routing.operations.select_related("work_centre").order_by("seq")
    ]


@transaction.atomic
def define_routing(
    *,
    actor: User | None,
    part_number: PartNumber,
    operations: Sequence[Mapping[str, Any]],
    reason: str = "",
) -> tuple[Routing, bool]:
    """A new routing revision for a make part: its operations in order (``seq``,
    ``work_centre`` code, ``description``, ``standard_hours``, ``inspection_point`` and
    ``inspection``: what is inspected). Unchanged operations are a no-op. Returns the
    routing in force and whether it was created now."""
    require(actor, Capability.MANAGE_ENGINEERING)
    if _master_of(part_number, "part_number").make_buy != MakeBuy.MAKE:
        raise RuleViolation(
            f"{part_number.pn} is a buy part: only made parts have a routing",
            field="part_number",
        )
    checked = _check_operations(operations)
    content = [{k: v for k, v in op.items() if k != "_wc"} for op in checked]
    # lock the part's master: two routings defined at once are numbered one after the other
    PartMaster.objects.select_for_update().get(part_number=part_number)
    latest = Routing.objects.filter(part_number=part_number).order_by("-number").first()
    if latest is not None and _routing_content(latest) == content:
        return latest, False
    number = (
        Routing.objects.filter(part_number=part_number).aggregate(m=Max("number"))["m"] or 0
    ) + 1
    routing = Routing.objects.create(
        part_number=part_number,
        number=number,
        reason=_text(reason, "reason", required=False),
        created_at=timezone.now(),
        created_by=actor,
    )
    Operation.objects.bulk_create(
        [
            Operation(
                routing=routing,
                seq=op["seq"],
                work_centre=op["_wc"],
                description=op["description"],
                standard_hours=Decimal(op["standard_hours"]),
                inspection_point=op["inspection_point"],
                inspection=op["inspection"],
            )
            for op in checked
        ]
    )
    audit.record(
        actor=actor,
        action="production.define_routing",
        instance=routing,
        before={"operations": _routing_content(latest)} if latest else None,
        after={"operations": content},
    )
    return routing, True
