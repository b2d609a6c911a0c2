"""The write path of production: build orders, their material, operations, inspections,
non-conformance reports, completion and (for an aircraft) acceptance into the fleet.

Same rules as every ``services.py``: one transaction per call, the actor's capability
checked, the rows decided on locked (``select_for_update(of=("self",))``), the audit event
written inside; bad input raises ``RuleViolation`` naming the field, someone else having
got there first a ``Conflict``; nothing is written then.

An order is made for a product to the BOM revision in force and the latest routing; both
are recorded and never change for it. Its material is the BOM's own lines (level one) ×
the quantity: a sub-assembly on the BOM is built by its own order and issued as a unit.
Stock is reserved and issued through ``kanat.inventory.services`` with the order number as
reference, so the stores' ledger shows every unit the order took; each issue writes a
``BuildConsumption`` (which output serial it went into, which serial or batch it was).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Count, Q

from kanat.core import audit
from kanat.core.errors import Conflict, NotAllowed, RuleViolation
from kanat.core.models import Operator, User
from kanat.core.roles import Capability, Role
from kanat.core.services import at_or_now, require
from kanat.fleet import services as fleet
from kanat.fleet.models import Aircraft, Part, PartTracking, Position
from kanat.inventory import services as inv
from kanat.inventory.models import Reservation, StockItem, StockStatus
from kanat.production import selectors
from kanat.production.models import (
    BomLine,
    BuildConsumption,
    BuildOrder,
    BuildOutput,
    BuildScrap,
    BuildStatus,
    Disposition,
    InspectionResult,
    NcrStatus,
    NonConformance,
    Operation,
    OperationProgress,
    Product,
    ProductKind,
)
from kanat.records.canonical import instant
from kanat.work.services import next_number

ZERO = Decimal(0)
#: who may approve a concession (besides being someone other than the raiser)
CONCESSION_APPROVERS = frozenset({Role.QUALITY, Role.HUB_ADMIN})
WORKING = (BuildStatus.RELEASED, BuildStatus.IN_PROGRESS)
#: the most units one order makes (what its quantity column holds)
MAX_UNITS = 2_147_483_647


# --- helpers ---------------------------------------------------------------------------


def _locked(order: BuildOrder) -> BuildOrder:
    try:
        return (
            BuildOrder.objects.select_for_update(of=("self",))
            .select_related("product__part_number", "product__variant", "bom", "routing")
            .get(pk=order.pk)
        )
    except BuildOrder.DoesNotExist:
        raise RuleViolation(f"build order {order.pk} does not exist", field="order") from None


def _status(order: BuildOrder, allowed: Sequence[str], what: str) -> None:
    if order.status not in allowed:
        raise Conflict(f"{order} is {order.get_status_display().lower()}: {what}", field="status")


def _audit(actor: User | None, action: str, instance: Any, order: BuildOrder, **kw: Any) -> None:
    audit.record(actor=actor, action=action, instance=instance, operator=order.operator_id, **kw)


def _qty(value: Decimal) -> str:
    return f"{value.normalize():f}"


def positions_of(line: BomLine) -> list[str]:
    """The position codes a line's reference designator names ("ENG1, ENG2")."""
    return [code for code in re.split(r"[,\s]+", line.ref_des.strip()) if code]


def _lines(order: BuildOrder) -> list[BomLine]:
    return list(order.bom.lines.select_related("child").order_by("find_number"))


def _check_aircraft_positions(product: Product, lines: list[BomLine]) -> None:
    """Every serialised line of an aircraft names one position of its variant per unit."""
    codes = set(Position.objects.filter(variant=product.variant).values_list("code", flat=True))
    for line in lines:
        if line.child.tracking != PartTracking.SERIAL:
            continue
        named = positions_of(line)
        if not named:
            continue  # built in, not fitted to a position of the fleet configuration
        if len(named) != line.quantity:
            raise RuleViolation(
                f"line {line.find_number}: {line.quantity.normalize():f} × {line.child.pn} "
                f"but {len(named)} position(s) named ({line.ref_des})",
                field=f"bom.lines[{line.find_number}].ref_des",
            )
        unknown = [c for c in named if c not in codes]
        if unknown:
            raise RuleViolation(
                f"line {line.find_number}: {product.variant} has no position {', '.join(unknown)}",
                field=f"bom.lines[{line.find_number}].ref_des",
            )


# --- orders ----------------------------------------------------------------------------


@transaction.atomic
def create_build_order(
    *,
    actor: User | None,
    product: Product,
    quantity: int,
    serials: Sequence[str] = (),
    operator: Operator | None = None,
    planned_start: dt.date | None = None,
    planned_end: dt.date | None = None,
    at: dt.datetime | None = None,
) -> BuildOrder:
    """A planned order for ``quantity`` of a product, to its released BOM and latest
    routing. A serialised product names its output serials (one per unit); an aircraft
    names the operator it is built for."""
    require(actor, Capability.MANAGE_PRODUCTION)
    now = at_or_now(future=True, value=at)
    product = Product.objects.select_related("part_number", "variant").get(pk=product.pk)
    if (
        isinstance(quantity, bool)
        or not isinstance(quantity, int)
        or not 1 <= quantity <= MAX_UNITS
    ):
        raise RuleViolation(
            f"quantity must be a whole number from 1 to {MAX_UNITS}, not {quantity!r}",
            field="quantity",
        )
    bom = selectors.released_bom(product.part_number)
    if bom is None:
        raise RuleViolation(
            f"{product.part_number.pn} has no released BOM: release one first", field="product"
        )
    routing = selectors.routing_in_force(product.part_number)
    if routing is None:
        raise RuleViolation(f"{product.part_number.pn} has no routing", field="product")
    if planned_start and planned_end and planned_end < planned_start:
        raise RuleViolation("planned_end is before planned_start", field="planned_end")
    is_aircraft = product.kind == ProductKind.AIRCRAFT and product.variant_id is not None
    if is_aircraft and operator is None:
        raise RuleViolation(
            f"{product.code} is an aircraft: name the operator it is built for", field="operator"
        )
    serials = [str(s).strip() for s in serials]
    if product.part_number.tracking == PartTracking.SERIAL:
        if len(serials) != quantity or not all(serials):
            raise RuleViolation(
                f"{product.part_number.pn} is serialised: name {quantity} output serial(s)",
                field="serials",
            )
        if len(set(serials)) != len(serials):
            raise RuleViolation("an output serial is named twice", field="serials")
        if any(len(s) > 60 for s in serials):
            raise RuleViolation("an output serial has more than 60 characters", field="serials")
        _check_unclaimed(product, serials)
        if is_aircraft and Aircraft.objects.filter(serial__in=serials).exists():
            raise RuleViolation("an aircraft with that serial already exists", field="serials")
    elif serials:
        raise RuleViolation(
            f"{product.part_number.pn} is tracked by {product.part_number.tracking}: no serials",
            field="serials",
        )
    order = BuildOrder(
        product=product,
        bom=bom,
        routing=routing,
        quantity=quantity,
        operator=operator,
        planned_start=planned_start,
        planned_end=planned_end,
        created_at=now,
        created_by=actor,
    )
    if is_aircraft:
        _check_aircraft_positions(product, _lines(order))
    order.number = next_number("BO", now)
    order.save()
    _claim(order, serials)
    _audit(
        actor,
        "production.create_build_order",
        order,
        order,
        after=audit.snapshot(order) | {"serials": serials},
    )
    return order


def _check_unclaimed(product: Product, serials: Sequence[str]) -> None:
    """No serial of the product's part number is in the fleet part register already, nor
    claimed by another build order (whatever its state: a claim lasts)."""
    pn = product.part_number
    registered = Part.objects.filter(part_number=pn, serial__in=serials).order_by("serial").first()
    if registered is not None:
        raise RuleViolation(
            f"serial {pn.pn}/{registered.serial} is already in the part register",
            field="serials",
        )
    claimed = (
        BuildOutput.objects.filter(part_number=pn, serial__in=serials)
        .select_related("order")
        .order_by("serial")
        .first()
    )
    if claimed is not None:
        raise Conflict(
            f"serial {pn.pn}/{claimed.serial} is already claimed by build order "
            f"{claimed.order.number}",
            field="serials",
        )


def _claim(order: BuildOrder, serials: Sequence[str]) -> None:
    """Write the order's output serials; the database refuses a serial another order
    claimed between the check and now (``buildoutput_serial_per_pn``)."""
    pn = order.product.part_number
    try:
        with transaction.atomic():
            BuildOutput.objects.bulk_create(
                [BuildOutput(order=order, part_number=pn, serial=s) for s in serials]
            )
    except IntegrityError:
        _check_unclaimed(order.product, serials)  # names the order that got there first
        raise Conflict(
            f"an output serial of {pn.pn} was claimed by another order at the same time",
            field="serials",
        ) from None


@transaction.atomic
def release_build_order(
    *, actor: User | None, order: BuildOrder, at: dt.datetime | None = None
) -> BuildOrder:
    """Planned → released: the shop floor and the stores may work on it."""
    require(actor, Capability.MANAGE_PRODUCTION)
    now = at_or_now(future=True, value=at)
    order = _locked(order)
    _status(order, (BuildStatus.PLANNED,), "only a planned order is released")
    order.status = BuildStatus.RELEASED
    order.released_at = now
    order.save(update_fields=["status", "released_at"])
    _audit(actor, "production.release_build_order", order, order, before={"status": "planned"})
    return order


def _start(order: BuildOrder) -> None:
    if order.status == BuildStatus.RELEASED:
        order.status = BuildStatus.IN_PROGRESS
        order.save(update_fields=["status"])


# --- material --------------------------------------------------------------------------


@dataclass(frozen=True)
class Need:
    line: BomLine
    required: Decimal  # for the whole order
    issued: Decimal
    reserved: Decimal  # held for the order now (not yet issued)

    @property
    def to_issue(self) -> Decimal:
        return self.required - self.issued

    @property
    def to_reserve(self) -> Decimal:
        return max(ZERO, self.to_issue - self.reserved)


def _live_consumptions(order: BuildOrder) -> list[BuildConsumption]:
    """What was issued into the order and still counts: not scrapped (by an NCR), and not
    in an output that was scrapped."""
    return list(
        BuildConsumption.objects.filter(order=order, scrap__isnull=True).exclude(
            output__scrapped_by__isnull=False
        )
    )


def _units(order: BuildOrder) -> Decimal:
    """How many units the order still makes: its quantity, less the output serials scrapped."""
    scrapped = order.outputs.filter(scrapped_by__isnull=False).count()
    if not scrapped:
        return Decimal(order.quantity)
    per_output = Decimal(order.quantity) / order.outputs.count()
    return Decimal(order.quantity) - per_output * scrapped


def material(order: BuildOrder) -> list[Need]:
    """Each line of the order's BOM × the units it still makes: required, issued (what an
    NCR scrapped no longer counts: it needs a replacement issue), still held for it."""
    issued: dict[int, Decimal] = {}
    for c in _live_consumptions(order):
        issued[c.bom_line_id] = issued.get(c.bom_line_id, ZERO) + c.quantity
    units = _units(order)
    held: dict[int, Decimal] = {}
    for r in Reservation.objects.filter(reference=order.number, quantity__gt=0).select_related(
        "item"
    ):
        held[r.item.part_number_id] = held.get(r.item.part_number_id, ZERO) + r.quantity
    out = []
    for line in _lines(order):
        need = Need(
            line=line,
            required=line.quantity * units,
            issued=issued.get(line.pk, ZERO),
            reserved=ZERO,
        )
        take = min(held.get(line.child_id, ZERO), need.to_issue)
        held[line.child_id] = held.get(line.child_id, ZERO) - take
        out.append(Need(line=line, required=need.required, issued=need.issued, reserved=take))
    return out


def _candidates(order: BuildOrder, line: BomLine, at: dt.datetime) -> list[StockItem]:
    """Serviceable, unexpired stock of the line's part the order may use (the hub's pool or
    the customer's own), first to expire first, then oldest received."""
    owners = Q(owner__isnull=True)
    if order.operator_id is not None:
        owners |= Q(owner_id=order.operator_id)
    return list(
        StockItem.objects.filter(
            owners,
            part_number=line.child,
            status=StockStatus.SERVICEABLE,
            quantity__gt=0,
            repair_supplier__isnull=True,
        )
        .filter(Q(expires_on__isnull=True) | Q(expires_on__gte=at.date()))
        .order_by("expires_on", "received_at", "id")
    )


def _reserve(actor: User | None, order: BuildOrder, at: dt.datetime) -> list[Any]:
    made = []
    for need in material(order):
        wanted = need.to_reserve
        if wanted <= 0:
            continue
        items = _candidates(order, need.line, at)
        free = sum((i.available for i in items), ZERO)
        if free < wanted:
            raise Conflict(
                f"short of {need.line.child.pn} (line {need.line.find_number}): "
                f"{_qty(wanted)} needed, {_qty(free)} free in stock",
                field=f"material[{need.line.find_number}]",
            )
        for item in items:
            if wanted <= 0:
                break
            take = min(item.available, wanted)
            if take <= 0:
                continue
            try:
                made.append(
                    inv.reserve(
                        actor=actor, item=item, quantity=take, reference=order.number, at=at
                    )
                )
            except Conflict as exc:  # someone took it between the read and the lock
                raise Conflict(
                    f"short of {need.line.child.pn} (line {need.line.find_number}): {exc}",
                    field=f"material[{need.line.find_number}]",
                ) from exc
            wanted -= take
    return made


@transaction.atomic
def reserve_material(
    *, actor: User | None, order: BuildOrder, at: dt.datetime | None = None
) -> list[Any]:
    """Hold the stock the order still needs (all of it or nothing): refused, naming the
    part and how much is missing, when the stores do not have it."""
    require(actor, Capability.MANAGE_STOCK)
    now = at_or_now(future=True, value=at)
    order = _locked(order)
    _status(order, (BuildStatus.PLANNED, *WORKING), "its material is no longer reserved")
    made = _reserve(actor, order, now)
    _audit(
        actor,
        "production.reserve_material",
        order,
        order,
        after={"reservations": [r.pk for r in made]},
    )
    return made


@transaction.atomic
def issue_material(
    *, actor: User | None, order: BuildOrder, at: dt.datetime | None = None
) -> list[BuildConsumption]:
    """Issue everything the order still needs, from what is held for it (reserving what is
    not held yet first), unit by unit: each output serial gets its own serialised parts and
    its share of each batch. All of it or nothing."""
    require(actor, Capability.MANAGE_STOCK)
    now = at_or_now(future=True, value=at)
    order = _locked(order)
    _status(order, WORKING, "material is issued to a released order only")
    _reserve(actor, order, now)
    every = list(order.outputs.order_by("id"))
    per_output = Decimal(order.quantity) / (len(every) or 1)
    outputs: list[BuildOutput | None] = [o for o in every if o.scrapped_by_id is None]
    if not every:
        outputs = [None]
    done: dict[tuple[int | None, int], Decimal] = {}
    for c in _live_consumptions(order):
        key = (c.output_id, c.bom_line_id)
        done[key] = done.get(key, ZERO) + c.quantity
    made: list[BuildConsumption] = []
    for line in _lines(order):
        held = list(
            Reservation.objects.filter(
                reference=order.number, quantity__gt=0, item__part_number=line.child
            )
            .select_related("item")
            .order_by("item__expires_on", "item__received_at", "item_id")
        )
        left = {r.item_id: r.quantity for r in held}
        for output in outputs:
            wanted = line.quantity * per_output - done.get(
                (output.pk if output else None, line.pk), ZERO
            )
            for r in held:
                if wanted <= 0:
                    break
                take = min(left[r.item_id], wanted)
                if take <= 0:
                    continue
                move = inv.issue(
                    actor=actor,
                    item=r.item,
                    quantity=take,
                    reference=order.number,
                    at=now,
                    for_build=True,
                )
                left[r.item_id] -= take
                wanted -= take
                made.append(
                    BuildConsumption.objects.create(
                        order=order,
                        output=output,
                        bom_line=line,
                        part_number=line.child,
                        stock_item=r.item,
                        part=r.item.part,
                        batch=r.item.batch,
                        quantity=take,
                        movement=move,
                        at=now,
                        actor=actor,
                    )
                )
            if wanted > 0:  # the reservation above guarantees it; the guard stays
                raise Conflict(
                    f"short of {line.child.pn} (line {line.find_number}): {_qty(wanted)} more",
                    field=f"material[{line.find_number}]",
                )
    _start(order)
    _audit(
        actor,
        "production.issue_material",
        order,
        order,
        after={
            "consumed": [
                [c.output.serial if c.output else None, str(c.part or c.batch), str(c.quantity)]
                for c in made
            ]
        },
    )
    return made


# --- operations and inspections ----------------------------------------------------------


def _operation(order: BuildOrder, operation: Operation) -> Operation:
    if operation.routing_id != order.routing_id:
        raise RuleViolation(
            f"operation {operation.seq} is not on {order}'s routing", field="operation"
        )
    return operation


@transaction.atomic
def record_operation(
    *,
    actor: User | None,
    order: BuildOrder,
    operation: Operation,
    note: str = "",
    at: dt.datetime | None = None,
) -> OperationProgress:
    """An operation of the order's routing done, signed by the actor. Once per operation."""
    require(actor, Capability.PERFORM_PRODUCTION)
    now = at_or_now(future=True, value=at)
    order = _locked(order)
    _status(order, WORKING, "operations are signed on a released order only")
    _operation(order, operation)
    if OperationProgress.objects.filter(order=order, operation=operation).exists():
        raise Conflict(f"operation {operation.seq} of {order} is already signed", field="operation")
    row = OperationProgress.objects.create(
        order=order, operation=operation, signed_by=actor, at=now, note=note.strip()[:300]
    )
    _start(order)
    _audit(actor, "production.record_operation", row, order)
    return row


@dataclass(frozen=True)
class Measurement:
    """A measured value and its limits (either may be open)."""

    name: str
    value: Any
    lower: Any = None
    upper: Any = None
    unit: str = ""


def _measurements(values: Sequence[Measurement]) -> tuple[list[dict[str, Any]], list[str]]:
    rows, outside = [], []
    for i, m in enumerate(values):
        field = f"measurements[{i}]"
        name = (m.name or "").strip()
        if not name:
            raise RuleViolation(f"{field}.name is required", field=f"{field}.name")
        nums = {}
        for key in ("value", "lower", "upper"):
            raw = getattr(m, key)
            if raw is None and key != "value":
                nums[key] = None
                continue
            try:
                num = Decimal(str(raw))
            except Exception:  # noqa: BLE001 - any unparseable value
                raise RuleViolation(
                    f"{field}.{key}: {raw!r} is not a number", field=f"{field}.{key}"
                ) from None
            if not num.is_finite():
                raise RuleViolation(
                    f"{field}.{key}: {raw!r} is not a number", field=f"{field}.{key}"
                )
            nums[key] = num
        lo, hi, v = nums["lower"], nums["upper"], nums["value"]
        if lo is not None and hi is not None and lo > hi:
            raise RuleViolation(f"{field}: lower limit above upper", field=f"{field}.lower")
        within = (lo is None or v >= lo) and (hi is None or v <= hi)
        if not within:
            outside.append(f"{name} {v} {m.unit}".strip() + f" outside [{lo}, {hi}]")
        rows.append(
            {
                "name": name,
                "value": str(v),
                "lower": None if lo is None else str(lo),
                "upper": None if hi is None else str(hi),
                "unit": m.unit,
                "within": within,
            }
        )
    return rows, outside


@transaction.atomic
def record_inspection(
    *,
    actor: User | None,
    order: BuildOrder,
    operation: Operation,
    measurements: Sequence[Measurement] = (),
    passed: bool | None = None,
    note: str = "",
    at: dt.datetime | None = None,
) -> InspectionResult:
    """The result of an inspection point, after its operation is signed, by someone other
    than who signed it. The verdict follows the measurements (all within limits: pass)
    unless ``passed`` says otherwise; a pass with a value outside its limits is refused."""
    require(actor, Capability.INSPECT_PRODUCTION)
    now = at_or_now(future=True, value=at)
    order = _locked(order)
    _status(order, WORKING, "inspections are recorded on a released order only")
    _operation(order, operation)
    if not operation.inspection_point:
        raise RuleViolation(
            f"operation {operation.seq} is not an inspection point", field="operation"
        )
    done = OperationProgress.objects.filter(order=order, operation=operation).first()
    if done is None:
        raise RuleViolation(
            f"operation {operation.seq} is not signed yet: inspect the work once it is done",
            field="operation",
        )
    if actor is not None and done.signed_by_id == actor.pk:
        raise RuleViolation(
            f"{actor.get_username()} signed operation {operation.seq}: another person inspects it",
            field="inspector",
        )
    rows, outside = _measurements(measurements)
    if passed is None:
        if not rows:
            raise RuleViolation("give the measured values or the verdict", field="passed")
        passed = not outside
    elif passed and outside:
        raise RuleViolation(f"cannot pass: {'; '.join(outside)}", field="measurements")
    row = InspectionResult.objects.create(
        order=order,
        operation=operation,
        measurements=rows,
        passed=bool(passed),
        inspector=actor,
        at=now,
        note=note.strip()[:300],
    )
    _audit(actor, "production.record_inspection", row, order)
    return row


# --- non-conformance reports -------------------------------------------------------------


def _locked_ncr(ncr: NonConformance) -> NonConformance:
    return (
        NonConformance.objects.select_for_update(of=("self",))
        .select_related("order")
        .get(pk=ncr.pk)
    )


@transaction.atomic
def raise_ncr(
    *,
    actor: User | None,
    order: BuildOrder,
    description: str,
    operation: Operation | None = None,
    consumption: BuildConsumption | None = None,
    output: BuildOutput | None = None,
    at: dt.datetime | None = None,
) -> NonConformance:
    """A non-conformance on the order: of the work at ``operation``, of issued material
    (``consumption``: the serial or batch issued into the order) or of a unit (``output``).
    What it names is what a scrap disposition scraps."""
    require(actor, Capability.INSPECT_PRODUCTION)
    now = at_or_now(future=True, value=at)
    order = _locked(order)
    _status(order, WORKING, "a non-conformance is raised on a released order")
    if operation is not None:
        _operation(order, operation)
    if consumption is not None:
        consumption = (
            BuildConsumption.objects.filter(pk=consumption.pk, order=order)
            .select_related("output")
            .first()
        )
        if consumption is None:
            raise RuleViolation(f"that material was not issued into {order}", field="consumption")
        if BuildScrap.objects.filter(consumption=consumption).exists():
            raise RuleViolation(f"{consumption} is already scrapped", field="consumption")
    if consumption is not None and output is not None:
        raise RuleViolation(
            "name the issued material (consumption) or the unit (output), not both: a scrap "
            "disposition scraps one of them",
            field="output",
        )
    if output is not None:
        output = BuildOutput.objects.filter(pk=output.pk, order=order).first()
        if output is None:
            raise RuleViolation(f"that output is not one of {order}'s", field="output")
        if output.scrapped_by_id is not None:
            raise RuleViolation(f"output {output.serial} is already scrapped", field="output")
    description = (description or "").strip()
    if not description:
        raise RuleViolation("say what does not conform", field="description")
    ncr = NonConformance.objects.create(
        number=next_number("NCR", now),
        order=order,
        operation=operation,
        consumption=consumption,
        output=output,
        description=description,
        raised_by=actor,
        raised_at=now,
    )
    _audit(actor, "production.raise_ncr", ncr, order)
    return ncr


@transaction.atomic
def disposition_ncr(
    *,
    actor: User | None,
    ncr: NonConformance,
    disposition: str,
    concession: bool = False,
    note: str = "",
    at: dt.datetime | None = None,
) -> NonConformance:
    """Decide what is done with the non-conforming item; ``concession`` flags a deviation
    accepted as it is (it then needs an approval before the report is closed)."""
    require(actor, Capability.INSPECT_PRODUCTION)
    now = at_or_now(future=True, value=at)
    ncr = _locked_ncr(ncr)
    if ncr.status != NcrStatus.OPEN:
        raise Conflict(f"{ncr} is closed", field="status")
    if disposition not in Disposition.values:
        raise RuleViolation(
            f"disposition must be one of {', '.join(Disposition.values)}, not {disposition!r}",
            field="disposition",
        )
    if concession and disposition == Disposition.SCRAP:
        raise RuleViolation("a scrapped item needs no concession", field="concession")
    if ncr.disposition == Disposition.SCRAP:
        raise Conflict(f"{ncr} is dispositioned scrap: a scrap is final", field="disposition")
    before = audit.snapshot(ncr)
    scrapped: list[str] = []
    if disposition == Disposition.SCRAP:
        scrapped = _scrap(actor, ncr, now)
    ncr.disposition = disposition
    ncr.disposition_note = note.strip()[:300]
    ncr.dispositioned_by = actor
    ncr.dispositioned_at = now
    ncr.concession = bool(concession)
    ncr.concession_approved_by = None
    ncr.concession_approved_at = None
    ncr.save()
    after = audit.snapshot(ncr) | ({"scrapped": scrapped} if scrapped else {})
    _audit(actor, "production.disposition_ncr", ncr, ncr.order, before=before, after=after)
    return ncr


def _scrap_consumption(
    actor: User | None, ncr: NonConformance, order: BuildOrder, c: BuildConsumption, now: Any
) -> str:
    move = inv.scrap_issued_to_build(
        actor=actor,
        item=c.stock_item,
        quantity=c.quantity,
        reference=order.number,
        reason=f"{ncr.number}: {ncr.description}",
        at=now,
    )
    BuildScrap.objects.create(
        order=order, ncr=ncr, consumption=c, quantity=c.quantity, movement=move, at=now, actor=actor
    )
    what = f"serial {c.part.serial}" if c.part_id else f"batch {c.batch or '-'}"  # type: ignore[union-attr]
    return f"line {c.bom_line.find_number}: {c.part_number.pn} {what} × {_qty(c.quantity)}"


def _scrap(actor: User | None, ncr: NonConformance, now: Any) -> list[str]:
    """A scrap disposition scraps what the NCR names, in the stores' ledger too:

    * issued material (``ncr.consumption``): that serial, or that batch quantity, is
      scrapped; its BOM line needs a replacement issue before the order completes;
    * a unit (``ncr.output``; or, for an NCR naming no material nor unit, the order's only
      output serial): the unit and every material issued into it are scrapped; the order
      never completes that serial (nor needs its material any more).

    An NCR naming neither on an order of several outputs, or of no output serials, is
    refused: it says what is scrapped first."""
    order = _locked(ncr.order)
    _status(order, WORKING, "its material is scrapped on a released order only")
    if ncr.consumption_id is not None:
        c = (
            BuildConsumption.objects.select_related("stock_item", "part", "part_number", "bom_line")
            .filter(pk=ncr.consumption_id)
            .get()
        )
        if BuildScrap.objects.filter(consumption=c).exists():
            raise Conflict(f"{c} is already scrapped", field="consumption")
        if c.output_id is not None and c.output.scrapped_by_id is not None:  # type: ignore[union-attr]
            raise Conflict(f"output {c.output.serial} is already scrapped", field="consumption")  # type: ignore[union-attr]
        return [_scrap_consumption(actor, ncr, order, c, now)]
    output = ncr.output
    if output is None:
        outputs = list(order.outputs.filter(scrapped_by__isnull=True))
        if len(outputs) != 1:
            raise RuleViolation(
                f"{ncr} names no material nor unit: name the issued material (consumption) or "
                "the output serial that is scrapped in a new NCR",
                field="disposition",
            )
        output = outputs[0]
    output = BuildOutput.objects.select_for_update(of=("self",)).get(pk=output.pk)
    if output.scrapped_by_id is not None:
        raise Conflict(f"output {output.serial} is already scrapped", field="output")
    done = [f"output {output.serial}"]
    live = (
        BuildConsumption.objects.filter(order=order, output=output, scrap__isnull=True)
        .select_related("stock_item", "part", "part_number", "bom_line")
        .order_by("bom_line__find_number", "id")
    )
    for c in live:
        done.append(_scrap_consumption(actor, ncr, order, c, now))
    output.scrapped_by = ncr
    output.save(update_fields=["scrapped_by"])
    return done + _release_excess(actor, ncr, order, now)


def _release_excess(
    actor: User | None, ncr: NonConformance, order: BuildOrder, now: Any
) -> list[str]:
    """Release the stock held for the order beyond what it still needs to issue (a unit
    scrapped before its material was issued needs none); what ``issue_material`` would
    take first is kept."""
    need: dict[int, Decimal] = {}
    for n in material(order):
        need[n.line.child_id] = need.get(n.line.child_id, ZERO) + max(ZERO, n.to_issue)
    done = []
    for r in (
        Reservation.objects.filter(reference=order.number, quantity__gt=0)
        .select_related("item__part_number", "item__part")
        .order_by("item__expires_on", "item__received_at", "item_id")
    ):
        pn = r.item.part_number_id
        # stock is held to the thousandth: keep what covers the need
        wanted = max(ZERO, need.get(pn, ZERO)).quantize(Decimal("0.001"), ROUND_CEILING)
        keep = min(r.quantity, wanted)
        need[pn] = need.get(pn, ZERO) - keep
        extra = r.quantity - keep
        if extra <= 0:
            continue
        inv.release_for_build(
            actor=actor,
            item=r.item,
            reference=order.number,
            quantity=extra,
            reason=f"{ncr.number}: no longer needed by {order.number}",
            at=now,
        )
        done.append(f"released {_qty(extra)} of {r.item} held for {order.number}")
    return done


@transaction.atomic
def approve_concession(
    *, actor: User, ncr: NonConformance, at: dt.datetime | None = None
) -> NonConformance:
    """A quality engineer or the hub administrator, not the raiser, approves the deviation."""
    now = at_or_now(future=True, value=at)
    if actor is None or not actor.is_active or actor.role not in CONCESSION_APPROVERS:
        who = actor.get_username() if actor is not None else "the system"
        raise NotAllowed(f"{who} may not approve a concession (quality or hub administrator)")
    ncr = _locked_ncr(ncr)
    if ncr.status != NcrStatus.OPEN:
        raise Conflict(f"{ncr} is closed", field="status")
    if not ncr.concession:
        raise RuleViolation(f"{ncr} asks for no concession", field="concession")
    if ncr.concession_approved_by_id is not None:
        raise Conflict(f"the concession of {ncr} is already approved", field="approved_by")
    if ncr.raised_by_id == actor.pk:
        raise RuleViolation(
            f"{actor.get_username()} raised {ncr}: someone else approves its concession",
            field="approved_by",
        )
    ncr.concession_approved_by = actor
    ncr.concession_approved_at = now
    ncr.save(update_fields=["concession_approved_by", "concession_approved_at"])
    _audit(actor, "production.approve_concession", ncr, ncr.order)
    return ncr


@transaction.atomic
def close_ncr(
    *, actor: User | None, ncr: NonConformance, at: dt.datetime | None = None
) -> NonConformance:
    require(actor, Capability.INSPECT_PRODUCTION)
    now = at_or_now(future=True, value=at)
    ncr = _locked_ncr(ncr)
    if ncr.status != NcrStatus.OPEN:
        raise Conflict(f"{ncr} is already closed", field="status")
    if not ncr.disposition:
        raise RuleViolation(f"{ncr} has no disposition yet", field="disposition")
    if ncr.concession and ncr.concession_approved_by_id is None:
        raise RuleViolation(f"the concession of {ncr} is not approved", field="concession")
    ncr.status = NcrStatus.CLOSED
    ncr.closed_by = actor
    ncr.closed_at = now
    ncr.save(update_fields=["status", "closed_by", "closed_at"])
    _audit(actor, "production.close_ncr", ncr, ncr.order, before={"status": "open"})
    return ncr


# --- completion and acceptance -----------------------------------------------------------


def blockers(order: BuildOrder) -> list[tuple[str, str]]:
    """What stands between the order and its completion: (field, message) pairs."""
    out: list[tuple[str, str]] = []
    outputs = list(order.outputs.select_related("scrapped_by"))
    if outputs and all(o.scrapped_by_id is not None for o in outputs):
        ncrs = ", ".join(sorted(o.scrapped_by.number for o in outputs))
        out.append(("outputs", f"every output serial is scrapped ({ncrs}): nothing to complete"))
    scrapped: dict[int, list[BuildScrap]] = {}
    for s in BuildScrap.objects.filter(
        order=order, ncr__scrapped_output__isnull=True
    ).select_related("ncr", "consumption"):
        scrapped.setdefault(s.consumption.bom_line_id, []).append(s)
    for need in material(order):
        if need.to_issue <= 0:
            continue
        fn, pn = need.line.find_number, need.line.child.pn
        lost = scrapped.get(need.line.pk)
        if lost:
            ncrs = ", ".join(sorted({s.ncr.number for s in lost}))
            message = (
                f"line {fn}: {_qty(need.to_issue)} of {pn} to be issued to replace what "
                f"{ncrs} scrapped"
            )
        else:
            message = f"{_qty(need.to_issue)} of {pn} not issued"
        out.append((f"material[{fn}]", message))
    signed = set(
        OperationProgress.objects.filter(order=order).values_list("operation_id", flat=True)
    )
    latest: dict[int, InspectionResult] = {}
    for r in InspectionResult.objects.filter(order=order).order_by("at", "id"):
        latest[r.operation_id] = r
    for op in order.routing.operations.order_by("seq"):
        if op.pk not in signed:
            out.append(
                (f"operations[{op.seq}]", f"operation {op.seq} ({op.description}) not signed")
            )
        if op.inspection_point:
            result = latest.get(op.pk)
            if result is None:
                out.append(
                    (
                        f"inspections[{op.seq}]",
                        f"inspection at operation {op.seq} ({op.inspection}) missing",
                    )
                )
            elif not result.passed:
                out.append(
                    (
                        f"inspections[{op.seq}]",
                        f"inspection at operation {op.seq} ({op.inspection}) failed",
                    )
                )
    for ncr in order.ncrs.filter(status=NcrStatus.OPEN).order_by("number"):
        out.append(("ncrs", f"{ncr.number} is open"))
    # reworked or repaired work is inspected again: the inspection point of the NCR's
    # operation needs a passing result recorded after the disposition
    redo = order.ncrs.filter(
        disposition__in=[Disposition.REWORK, Disposition.REPAIR],
        operation__inspection_point=True,
        dispositioned_at__isnull=False,
    ).select_related("operation")
    for ncr in redo.order_by("number"):
        op = ncr.operation
        result = latest.get(op.pk)  # type: ignore[union-attr]
        if result is not None and result.passed and result.at <= ncr.dispositioned_at:  # type: ignore[operator]
            out.append(
                (
                    f"inspections[{op.seq}]",  # type: ignore[union-attr]
                    f"inspection at operation {op.seq} is repeated after the "  # type: ignore[union-attr]
                    f"{ncr.get_disposition_display().lower()} of {ncr.number}",
                )
            )
    return out


@transaction.atomic
def complete_build_order(
    *, actor: User | None, order: BuildOrder, at: dt.datetime | None = None
) -> BuildOrder:
    """Completed once every unit's material is issued, every operation signed, every
    inspection point passed (its latest result), every NCR closed and what a scrap
    disposition scrapped replaced; the output serials (but a scrapped unit's) are then
    registered as fleet parts, each built to the order's BOM revision."""
    require(actor, Capability.MANAGE_PRODUCTION)
    now = at_or_now(future=True, value=at)
    order = _locked(order)
    _status(order, (BuildStatus.IN_PROGRESS,), "only an order in progress is completed")
    refused = blockers(order)
    if refused:
        raise RuleViolation(
            f"{order} cannot be completed: " + "; ".join(m for _, m in refused),
            field=refused[0][0],
        )
    for output in order.outputs.select_for_update().filter(scrapped_by__isnull=True).order_by("id"):
        part = fleet.register_part(
            actor=actor,
            part_number=order.product.part_number,
            serial=output.serial,
            manufactured=now.date(),
            operator=order.operator,  # the customer's (None: the hub's own)
        )
        output.part = part
        output.save(update_fields=["part"])
    order.status = BuildStatus.COMPLETED
    order.completed_at = now
    order.completed_by = actor
    order.save(update_fields=["status", "completed_at", "completed_by"])
    _audit(actor, "production.complete_build_order", order, order, before={"status": "in_progress"})
    return order


@transaction.atomic
def accept_build_order(
    *,
    actor: User | None,
    order: BuildOrder,
    at: dt.datetime | None = None,
) -> list[Aircraft]:
    """An aircraft's customer acceptance: each output serial enters the fleet of the
    order's operator as an aircraft of the product's variant, with every serialised part
    issued into it installed at the position its BOM line names, at this instant: the
    as-built configuration."""
    require(actor, Capability.MANAGE_PRODUCTION)
    now = at_or_now(future=True, value=at)
    order = _locked(order)
    product = order.product
    if product.kind != ProductKind.AIRCRAFT or product.variant_id is None:
        raise RuleViolation(
            f"{product.code} is not an aircraft of a fleet variant", field="product"
        )
    _status(order, (BuildStatus.COMPLETED,), "only a completed order is accepted")
    positions = {p.code: p for p in Position.objects.filter(variant=product.variant)}
    made = []
    for output in order.outputs.filter(scrapped_by__isnull=True).order_by("id"):
        ac = fleet.register_aircraft(
            actor=actor,
            serial=output.serial,
            variant=product.variant,
            operator=order.operator,
            delivered=now.date(),
        )
        used: dict[int, int] = {}
        consumed = (
            BuildConsumption.objects.filter(
                order=order, output=output, part__isnull=False, scrap__isnull=True
            )
            .select_related("bom_line", "part")
            .order_by("bom_line__find_number", "id")
        )
        for c in consumed:
            codes = positions_of(c.bom_line)
            if not codes:
                continue
            k = used.get(c.bom_line_id, 0)
            used[c.bom_line_id] = k + 1
            fleet.install_part(
                actor=actor,
                part=c.part,
                aircraft=ac,
                position=positions[codes[k]],
                installed_at=now,
                reference=order.number,
            )
        made.append(ac)
    order.status = BuildStatus.ACCEPTED
    order.accepted_at = now
    order.accepted_by = actor
    order.save(update_fields=["status", "accepted_at", "accepted_by"])
    _audit(
        actor,
        "production.accept_build_order",
        order,
        order,
        before={"status": "completed"},
        after=audit.snapshot(order) | {"aircraft": [a.serial for a in made]},
    )
    return made


# --- reads -------------------------------------------------------------------------------


def build_record(part: Part) -> dict[str, Any] | None:
    """The build record of a serial made by a build order (None: not built in Kanat)."""
    output = (
        BuildOutput.objects.filter(part=part).select_related("order__bom", "order__product").first()
    )
    if output is None:
        return None
    order = output.order
    consumed = (
        BuildConsumption.objects.filter(order=order, output=output, scrap__isnull=True)
        .select_related("part_number", "part", "bom_line")
        .order_by("bom_line__find_number", "id")
    )
    return {
        "order": order.number,
        "product": order.product.code,
        "bom_revision": order.bom.revision,
        "built_at": instant(order.completed_at),
        "built_from": [
            {
                "find_number": c.bom_line.find_number,
                "pn": c.part_number.pn,
                "serial": c.part.serial if c.part_id else None,
                "batch": c.batch or None,
                "quantity": _qty(c.quantity),
                "position": c.bom_line.ref_des or None,
            }
            for c in consumed
        ],
    }


def consumed_into(part: Part) -> list[dict[str, Any]]:
    """The builds a serial went into (one at most); ``into`` says when an NCR scrapped it
    there (it is then in no build record)."""
    out = []
    for c in BuildConsumption.objects.filter(part=part).select_related(
        "order__product", "output", "actor", "scrap__ncr"
    ):
        into = c.output.serial if c.output_id else c.order.product.code
        scrap = getattr(c, "scrap", None)
        if scrap is not None:
            into += f" (scrapped under {scrap.ncr.number})"
        out.append(
            {
                "pk": c.pk,
                "at": c.at,
                "order": c.order.number,
                "into": into,
                "by": c.actor.get_username() if c.actor_id else None,
            }
        )
    return out


# --- what an NCR names, what it scrapped, the replacement ---------------------------------


def _consumption_text(c: BuildConsumption) -> str:
    what = f"serial {c.part.serial}" if c.part_id else f"batch {c.batch or '-'}"  # type: ignore[union-attr]
    into = f" in {c.output.serial}" if c.output_id else ""  # type: ignore[union-attr]
    return f"line {c.bom_line.find_number}: {c.part_number.pn} {what} × {_qty(c.quantity)}{into}"


def ncr_subjects(order: BuildOrder) -> list[tuple[str, Any, str]]:
    """What an NCR on the order may name as not conforming: ``("consumption", c, label)``
    for each serial or batch issued into it and not scrapped (nor in a scrapped unit), and
    ``("output", o, label)`` for each of its units (output serials) not scrapped."""
    out: list[tuple[str, Any, str]] = []
    for c in (
        BuildConsumption.objects.filter(order=order, scrap__isnull=True)
        .exclude(output__scrapped_by__isnull=False)
        .select_related("part", "part_number", "bom_line", "output")
        .order_by("bom_line__find_number", "output_id", "id")
    ):
        out.append(("consumption", c, _consumption_text(c)))
    for o in order.outputs.filter(scrapped_by__isnull=True).order_by("id"):
        out.append(("output", o, f"unit {o.serial}"))
    return out


def ncr_material(ncrs: Sequence[NonConformance]) -> dict[int, dict[str, Any]]:
    """For each NCR (by pk): ``names`` (what it says does not conform: the issued material,
    the unit, or None for the work or the order as a whole), ``scrapped`` (what its scrap
    disposition scrapped: each material, and ``scrapped_output`` the unit's serial) and
    ``replacement`` (None when nothing scrapped needs one, as when the unit went with it;
    else whether every BOM line it left short for its unit is issued again, and with what).
    A few queries for any number of NCRs."""
    ncrs = list(ncrs)
    if not ncrs:
        return {}
    ids = [n.pk for n in ncrs]
    named = {
        c.pk: c
        for c in BuildConsumption.objects.filter(
            pk__in=[n.consumption_id for n in ncrs if n.consumption_id]
        ).select_related("part", "part_number", "bom_line", "output")
    }
    units = {
        o.pk: o
        for o in BuildOutput.objects.filter(
            Q(pk__in=[n.output_id for n in ncrs if n.output_id]) | Q(scrapped_by__in=ids)
        ).select_related("scrapped_by")
    }
    scrapped_unit = {o.scrapped_by_id: o for o in units.values() if o.scrapped_by_id}
    scraps: dict[int, list[BuildScrap]] = {}
    for s in BuildScrap.objects.filter(ncr__in=ids).select_related(
        "consumption__part",
        "consumption__part_number",
        "consumption__bom_line",
        "consumption__output__scrapped_by",
        "order",
    ):
        scraps.setdefault(s.ncr_id, []).append(s)
    # what was issued for the (unit, line) of each scrapped material and still counts
    lost = [s for n in ncrs if n.pk not in scrapped_unit for s in scraps.get(n.pk, [])]
    live: dict[tuple[int, int | None, int], list[BuildConsumption]] = {}
    outputs_of: dict[int, int] = {}
    if lost:
        order_ids = {s.order_id for s in lost}
        for c in BuildConsumption.objects.filter(
            order__in=order_ids,
            bom_line__in={s.consumption.bom_line_id for s in lost},
            scrap__isnull=True,
        ).select_related("part", "part_number", "bom_line", "output"):
            live.setdefault((c.order_id, c.output_id, c.bom_line_id), []).append(c)
        outputs_of = dict(
            BuildOutput.objects.filter(order__in=order_ids)
            .order_by()
            .values_list("order")
            .annotate(n=Count("id"))
        )
    out: dict[int, dict[str, Any]] = {}
    for n in ncrs:
        names: dict[str, Any] | None = None
        if n.consumption_id and n.consumption_id in named:
            c = named[n.consumption_id]
            names = {
                "kind": "material",
                "consumption": c.pk,
                "find_number": c.bom_line.find_number,
                "pn": c.part_number.pn,
                "serial": c.part.serial if c.part_id else None,  # type: ignore[union-attr]
                "batch": c.batch or None,
                "quantity": _qty(c.quantity),
                "output": c.output.serial if c.output_id else None,  # type: ignore[union-attr]
                "text": _consumption_text(c),
            }
        elif n.output_id and n.output_id in units:
            o = units[n.output_id]
            names = {"kind": "unit", "output": o.pk, "serial": o.serial, "text": f"unit {o.serial}"}
        unit = scrapped_unit.get(n.pk)
        rows = sorted(
            scraps.get(n.pk, []), key=lambda s: (s.consumption.bom_line.find_number, s.pk)
        )
        scrapped = [
            {
                "find_number": s.consumption.bom_line.find_number,
                "pn": s.consumption.part_number.pn,
                "serial": s.consumption.part.serial if s.consumption.part_id else None,  # type: ignore[union-attr]
                "batch": s.consumption.batch or None,
                "quantity": _qty(s.quantity),
                "at": s.at,
                "text": _consumption_text(s.consumption),
            }
            for s in rows
        ]
        replacement: dict[str, Any] | None = None
        if unit is None and rows:
            needed, issued, by, pending = False, True, [], []
            for s in rows:
                c = s.consumption
                gone = c.output if c.output_id and c.output.scrapped_by_id else None  # type: ignore[union-attr]
                if gone is not None:  # the unit was scrapped since: nothing to replace
                    continue
                needed = True
                line = c.bom_line
                order = s.order
                per_output = Decimal(order.quantity) / (outputs_of.get(order.pk) or 1)
                now = live.get((order.pk, c.output_id, line.pk), [])
                have = sum((x.quantity for x in now), ZERO)
                if have < line.quantity * per_output:
                    issued = False
                    pending.append(
                        f"line {line.find_number}: {_qty(line.quantity * per_output - have)} "
                        f"of {c.part_number.pn} to issue"
                    )
                by += [t for t in (_consumption_text(x) for x in now if x.pk > c.pk) if t not in by]
            if needed:
                replacement = {"issued": issued, "by": by, "pending": pending}
        out[n.pk] = {
            "names": names,
            "scrapped": scrapped,
            "scrapped_output": unit.serial if unit is not None else None,
            "replacement": replacement,
        }
    return out
