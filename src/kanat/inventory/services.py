"""The write path of the stores: locations, suppliers, purchase orders, receiving, moving,
reserving, issuing, status changes, scrapping and the rotable repair loop.

Every function runs in one transaction, checks the actor's role, locks the rows it decides
on (the stock item, the purchase order and its lines), validates, writes the item, one
``StockMovement`` per item changed, and its audit event. A quantity never goes negative:
the service checks it under the row lock and the database refuses it anyway
(``stock_quantity_gte_0``). Asking for more than is free is a ``Conflict`` (someone may
have just taken it); a request that breaks a rule whatever the stock is a
``RuleViolation``; both name the field at fault and change nothing.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.db.models import Q

from kanat.core import audit
from kanat.core.errors import Conflict, RuleViolation
from kanat.core.models import Operator, User
from kanat.core.roles import Capability
from kanat.core.services import at_or_now, require
from kanat.fleet.models import Installation, Part, PartNumber, PartTracking
from kanat.inventory.models import (
    GoodsReceipt,
    LocationKind,
    MovementKind,
    POStatus,
    PurchaseOrder,
    PurchaseOrderLine,
    Reservation,
    StockItem,
    StockLevel,
    StockLocation,
    StockMovement,
    StockStatus,
    Supplier,
)

#: Part numbers whose items fly: receiving them needs a certificate reference.
FLIGHT_TRACKING = (PartTracking.SERIAL, PartTracking.BATCH)
ZERO = Decimal("0")
ONE = Decimal("1")


# --- helpers ---------------------------------------------------------------------------


def _qty(value: Any, field: str, *, allow_zero: bool = False) -> Decimal:
    """A quantity: a number above zero with at most three decimals."""
    if isinstance(value, float):
        value = str(value)
    try:
        q = Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        raise RuleViolation(f"{field} {value!r} is not a number", field=field) from None
    if not q.is_finite():
        raise RuleViolation(f"{field} {value!r} is not a number", field=field)
    if q < 0 or (q == 0 and not allow_zero):
        raise RuleViolation(f"{field} must be more than zero, not {q}", field=field)
    if q >= Decimal("1e11"):  # before quantize, which cannot hold a larger one
        raise RuleViolation(f"{field} {q} is too large", field=field)
    if q != q.quantize(Decimal("0.001")):
        raise RuleViolation(f"{field} {q} has more than three decimals", field=field)
    return q.quantize(Decimal("0.001"))


def _price(value: Any, field: str) -> Decimal | None:
    """A unit price: empty (unpriced), or a number not below zero with at most four
    decimals."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise RuleViolation(f"{field} {value!r} is not a number", field=field)
    if isinstance(value, float):
        value = str(value)
    try:
        p = Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        raise RuleViolation(f"{field} {value!r} is not a number", field=field) from None
    if not p.is_finite():
        raise RuleViolation(f"{field} {value!r} is not a number", field=field)
    if p < 0:
        raise RuleViolation(f"{field} must not be negative, not {p}", field=field)
    if p >= Decimal("1e14"):  # before quantize, which cannot hold a larger one
        raise RuleViolation(f"{field} {p} is too large", field=field)
    if p != p.quantize(Decimal("0.0001")):
        raise RuleViolation(f"{field} {p} has more than four decimals", field=field)
    return p.quantize(Decimal("0.0001"))


def _currency(value: Any) -> str:
    """An ISO 4217 alphabetic code (three letters, upper case)."""
    code = str(value or "").strip().upper()
    if not re.fullmatch(r"[A-Z]{3}", code):
        raise RuleViolation(
            f"currency {value!r} is not an ISO 4217 code (three letters)", field="currency"
        )
    return code


def _text(value: str | None, field: str, what: str) -> str:
    value = (value or "").strip()
    if not value:
        raise RuleViolation(f"{what} is required", field=field)
    return value


def _locked(item: StockItem | int) -> StockItem:
    pk = item.pk if isinstance(item, StockItem) else item
    try:
        return (
            StockItem.objects.select_for_update(of=("self",))
            .select_related("part_number", "part", "location", "owner", "repair_supplier")
            .get(pk=pk)
        )
    except StockItem.DoesNotExist:
        raise RuleViolation(f"stock item {pk} does not exist", field="item") from None


def _move(
    item: StockItem,
    kind: str,
    *,
    actor: User | None,
    at: dt.datetime,
    quantity: Decimal,
    delta: Decimal = ZERO,
    **kw: Any,
) -> StockMovement:
    return StockMovement.objects.create(
        item=item, kind=kind, quantity=quantity, delta=delta, actor=actor, at=at, **kw
    )


def _audit(actor: User | None, action: str, item: StockItem, **kw: Any) -> None:
    audit.record(actor=actor, action=action, instance=item, operator=item.owner_id, **kw)


def _active_location(location: StockLocation, field: str) -> StockLocation:
    location = StockLocation.objects.get(pk=location.pk)
    if not location.active:
        raise RuleViolation(f"location {location.code} is closed", field=field)
    return location


def _in_stock(item: StockItem, field: str = "item") -> None:
    if item.status == StockStatus.SCRAPPED:
        raise RuleViolation(f"{item} is scrapped", field=field)
    if item.repair_supplier_id is not None:
        raise RuleViolation(f"{item} is out for repair at {item.repair_supplier}", field=field)
    if item.quantity == 0:
        raise RuleViolation(f"{item} has no stock left", field=field)


def _usable(item: StockItem, at: dt.datetime) -> None:
    _in_stock(item)
    if item.status != StockStatus.SERVICEABLE:
        raise RuleViolation(f"{item} is {item.get_status_display().lower()}", field="item")
    if item.location.kind == LocationKind.QUARANTINE:
        raise RuleViolation(
            f"{item} is in quarantine location {item.location.code}: release it from there first",
            field="item",
        )
    if item.expires_on is not None and item.expires_on < at.date():
        raise RuleViolation(f"{item} expired on {item.expires_on.isoformat()}", field="item")


def _short(item: StockItem, wanted: Decimal, free: Decimal) -> Conflict:
    return Conflict(
        f"{item}: only {free.normalize():f} free at {item.location} "
        f"({item.quantity.normalize():f} on hand, {item.reserved.normalize():f} reserved), "
        f"{wanted.normalize():f} asked",
        field="quantity",
    )


# --- reference data --------------------------------------------------------------------


@transaction.atomic
def create_location(
    *, actor: User | None, code: str, name: str, kind: str = LocationKind.HUB_STORE
) -> StockLocation:
    require(actor, Capability.MANAGE_STOCK)
    code = _text(code, "code", "a location code")
    if kind not in LocationKind.values:
        raise RuleViolation(f"unknown location kind {kind!r}", field="kind")
    if StockLocation.objects.filter(code=code).exists():
        raise RuleViolation(f"location {code} already exists", field="code")
    obj = StockLocation.objects.create(code=code, name=name.strip() or code, kind=kind)
    audit.record(actor=actor, action="inventory.create_location", instance=obj)
    return obj


@transaction.atomic
def create_supplier(
    *, actor: User | None, code: str, name: str, approval: str = "", repairs: bool = False
) -> Supplier:
    require(actor, Capability.PURCHASE)
    code = _text(code, "code", "a supplier code")
    if Supplier.objects.filter(code=code).exists():
        raise RuleViolation(f"supplier {code} already exists", field="code")
    obj = Supplier.objects.create(
        code=code, name=name.strip() or code, approval=approval.strip(), repairs=repairs
    )
    audit.record(actor=actor, action="inventory.create_supplier", instance=obj)
    return obj


@transaction.atomic
def set_min_stock(
    *,
    actor: User | None,
    part_number: PartNumber,
    location: StockLocation,
    minimum: Any,
    owner: Operator | None = None,
) -> StockLevel:
    """The minimum stock of a part number at a location for an owner (None: the hub)."""
    require(actor, Capability.PURCHASE)
    minimum = _qty(minimum, "minimum", allow_zero=True)
    level = (
        StockLevel.objects.select_for_update()
        .filter(part_number=part_number, location=location, owner=owner)
        .first()
    )
    before = None
    if level is None:
        level = StockLevel.objects.create(
            part_number=part_number, location=location, owner=owner, minimum=minimum
        )
    else:
        before = audit.snapshot(level)
        level.minimum = minimum
        level.save(update_fields=["minimum"])
    audit.record(
        actor=actor, action="inventory.set_min_stock", instance=level, operator=owner, before=before
    )
    return level


# --- purchase orders and receiving ------------------------------------------------------


@transaction.atomic
def create_purchase_order(
    *,
    actor: User | None,
    number: str,
    supplier: Supplier,
    lines: Sequence[tuple[PartNumber, Any] | tuple[PartNumber, Any, Any]],
    operator: Operator | None = None,
    notes: str = "",
    at: dt.datetime | None = None,
    currency: str = "KZT",
) -> PurchaseOrder:
    """An order with its lines ``[(part number, quantity), ...]`` or ``[(part number,
    quantity, unit price), ...]`` (a price of None: unpriced), priced in ``currency`` (an
    ISO 4217 code); the stock it brings in belongs to ``operator`` (None: the hub's
    pool)."""
    require(actor, Capability.PURCHASE)
    number = _text(number, "number", "a purchase order number")
    if PurchaseOrder.objects.filter(number=number).exists():
        raise RuleViolation(f"purchase order {number} already exists", field="number")
    if not lines:
        raise RuleViolation("a purchase order needs at least one line", field="lines")
    currency = _currency(currency)
    checked = []
    for i, (pn, quantity, *rest) in enumerate(lines):
        q = _qty(quantity, f"lines[{i}].quantity")
        if pn.tracking == PartTracking.SERIAL and q != q.to_integral_value():
            raise RuleViolation(
                f"{pn.pn} is serialised: order whole units, not {q}", field=f"lines[{i}].quantity"
            )
        if len(rest) > 1:
            raise RuleViolation(
                "a line is (part number, quantity[, unit price])", field=f"lines[{i}]"
            )
        checked.append((pn, q, _price(rest[0] if rest else None, f"lines[{i}].unit_price")))
    order = PurchaseOrder.objects.create(
        number=number,
        supplier=supplier,
        operator=operator,
        created_by=actor,
        created_at=at_or_now(future=True, value=at),
        notes=notes,
        currency=currency,
    )
    PurchaseOrderLine.objects.bulk_create(
        [
            PurchaseOrderLine(order=order, line=i + 1, part_number=pn, quantity=q, unit_price=p)
            for i, (pn, q, p) in enumerate(checked)
        ]
    )
    audit.record(
        actor=actor,
        action="inventory.create_purchase_order",
        instance=order,
        operator=operator,
        after=audit.snapshot(order)
        | {"lines": [[pn.pn, str(q), None if p is None else str(p)] for pn, q, p in checked]},
    )
    return order


@dataclass(frozen=True)
class Receipt:
    """One thing received on a delivery: a serialised part (quantity 1, ``serial``) or a
    batch (``batch``, quantity) against one line of the order."""

    line: PurchaseOrderLine
    quantity: Any = 1
    serial: str = ""
    batch: str = ""
    certificate_ref: str = ""
    expires_on: dt.date | None = None
    manufactured: dt.date | None = None


def _check_receipt(
    i: int, r: Receipt, line: PurchaseOrderLine, at: dt.datetime, serials: set[tuple[int, str]]
) -> tuple[Decimal, str, str]:
    f = f"receipts[{i}]"
    pn = line.part_number
    q = _qty(r.quantity, f"{f}.quantity")
    serial, batch = (r.serial or "").strip(), (r.batch or "").strip()
    cert = (r.certificate_ref or "").strip()
    if pn.tracking in FLIGHT_TRACKING and not cert:
        raise RuleViolation(
            f"{pn.pn} is a flight part: its certificate of conformity / release certificate "
            "reference is required",
            field=f"{f}.certificate_ref",
        )
    if pn.tracking == PartTracking.SERIAL:
        if q != ONE:
            raise RuleViolation(
                f"{pn.pn} is serialised: receive one serial a time, not {q}",
                field=f"{f}.quantity",
            )
        if not serial:
            raise RuleViolation(f"{pn.pn} is serialised: name the serial", field=f"{f}.serial")
        if batch:
            raise RuleViolation(f"{pn.pn} is serialised, not batched", field=f"{f}.batch")
        if (pn.pk, serial) in serials:
            raise RuleViolation(
                f"serial {pn.pn}/{serial} is twice in this delivery", field=f"{f}.serial"
            )
        serials.add((pn.pk, serial))
        part = Part.objects.filter(part_number=pn, serial=serial).first()
        if part is not None:
            live = (
                StockItem.objects.filter(part=part)
                .filter(Q(quantity__gt=0) | Q(repair_supplier__isnull=False))
                .exists()
            )
            fitted = Installation.objects.filter(part=part, removed_at__isnull=True).exists()
            if live or fitted:
                raise Conflict(
                    f"part {part} is already {'in stock' if live else 'fitted'}",
                    field=f"{f}.serial",
                )
            if part.operator_id != line.order.operator_id:
                raise RuleViolation(
                    f"part {part} belongs to another owner than this order's",
                    field=f"{f}.serial",
                )
    else:
        if serial:
            raise RuleViolation(f"{pn.pn} is tracked by {pn.tracking}", field=f"{f}.serial")
        if pn.tracking == PartTracking.BATCH and not batch:
            raise RuleViolation(f"{pn.pn} is batch-tracked: name the batch", field=f"{f}.batch")
    if r.expires_on is not None and r.expires_on < at.date():
        raise RuleViolation(
            f"{pn.pn} expired on {r.expires_on.isoformat()}: not received",
            field=f"{f}.expires_on",
        )
    return q, serial, batch


@transaction.atomic
def receive_against_po(
    *,
    actor: User | None,
    order: PurchaseOrder,
    delivery_ref: str,
    location: StockLocation,
    receipts: Sequence[Receipt],
    at: dt.datetime | None = None,
) -> GoodsReceipt:
    """Receive one delivery: all of it or nothing. Flight parts (serial or batch tracking)
    need their certificate reference; no line may receive more than was ordered. The same
    delivery note received again returns the first receipt (a retry receives nothing)."""
    require(actor, Capability.MANAGE_STOCK)
    now = at_or_now(future=True, value=at)
    delivery_ref = _text(delivery_ref, "delivery_ref", "the delivery note reference")
    order = PurchaseOrder.objects.select_for_update(of=("self",)).get(pk=order.pk)
    done = GoodsReceipt.objects.filter(order=order, delivery_ref=delivery_ref).first()
    if done is not None:
        return done
    if order.status in (POStatus.CANCELLED, POStatus.RECEIVED):
        raise Conflict(
            f"purchase order {order} is {order.get_status_display().lower()}", field="order"
        )
    location = _active_location(location, "location")
    if not receipts:
        raise RuleViolation("a delivery receives at least one item", field="receipts")
    lines = {
        ln.pk: ln
        for ln in PurchaseOrderLine.objects.select_for_update()
        .select_related("part_number", "order")
        .filter(order=order)
    }
    incoming: dict[int, Decimal] = defaultdict(lambda: ZERO)
    serials: set[tuple[int, str]] = set()
    checked = []
    for i, r in enumerate(receipts):
        line = lines.get(getattr(r.line, "pk", None))
        if line is None:
            raise RuleViolation(f"that line is not on order {order}", field=f"receipts[{i}].line")
        q, serial, batch = _check_receipt(i, r, line, now, serials)
        incoming[line.pk] += q
        if line.received + incoming[line.pk] > line.quantity:
            raise RuleViolation(
                f"line {line.line} ({line.part_number.pn}): {line.outstanding.normalize():f} "
                f"outstanding, {incoming[line.pk].normalize():f} received on this delivery",
                field=f"receipts[{i}].quantity",
            )
        checked.append((r, line, q, serial, batch))
    receipt = GoodsReceipt.objects.create(
        order=order,
        delivery_ref=delivery_ref,
        location=location,
        received_by=actor,
        received_at=now,
    )
    items = []
    for r, line, q, serial, batch in checked:
        part = None
        if serial:
            part = Part.objects.filter(part_number=line.part_number, serial=serial).first()
            if part is None:
                part = Part.objects.create(
                    part_number=line.part_number,
                    serial=serial,
                    manufactured=r.manufactured or now.date(),
                    operator=order.operator,
                )
                audit.record(
                    actor=actor,
                    action="fleet.register_part",
                    instance=part,
                    operator=order.operator_id,
                    via="inventory.receive",
                )
        item = StockItem.objects.create(
            part_number=line.part_number,
            part=part,
            batch=batch,
            quantity=q,
            status=StockStatus.SERVICEABLE,
            location=location,
            owner=order.operator,
            expires_on=r.expires_on,
            certificate_ref=(r.certificate_ref or "").strip(),
            receipt=receipt,
            po_line=line,
            received_at=now,
        )
        _move(
            item,
            MovementKind.RECEIVE,
            actor=actor,
            at=now,
            quantity=q,
            delta=q,
            to_location=location,
            to_status=item.status,
            reference=order.number,
            supplier=order.supplier,
            note=delivery_ref,
        )
        items.append(item)
    for pk, q in incoming.items():
        line = lines[pk]
        line.received += q
        line.save(update_fields=["received"])
    before = order.status
    all_in = all(ln.received >= ln.quantity for ln in lines.values())
    order.status = POStatus.RECEIVED if all_in else POStatus.PARTIAL
    order.save(update_fields=["status"])
    audit.record(
        actor=actor,
        action="inventory.receive",
        instance=receipt,
        operator=order.operator_id,
        after=audit.snapshot(receipt)
        | {"items": [i.pk for i in items], "order_status": [before, order.status]},
    )
    return receipt


# --- moving stock ----------------------------------------------------------------------


@transaction.atomic
def transfer(
    *,
    actor: User | None,
    item: StockItem,
    to_location: StockLocation,
    quantity: Any = None,
    reference: str = "",
    at: dt.datetime | None = None,
) -> StockItem:
    """Move an item (or part of a batch) to another location; returns the item there.
    Reserved quantity moves only with the whole item."""
    require(actor, Capability.MANAGE_STOCK)
    now = at_or_now(future=True, value=at)
    item = _locked(item)
    _in_stock(item)
    to_location = _active_location(to_location, "to_location")
    if to_location.pk == item.location_id:
        raise RuleViolation(f"{item} is already at {to_location}", field="to_location")
    q = item.quantity if quantity is None else _qty(quantity, "quantity")
    if item.part_id is not None and q != item.quantity:
        raise RuleViolation(f"{item} is serialised: it moves whole", field="quantity")
    src = item.location
    common = {"from_location": src, "to_location": to_location, "reference": reference.strip()}
    if q == item.quantity:
        item.location = to_location
        item.save(update_fields=["location"])
        _move(item, MovementKind.TRANSFER, actor=actor, at=now, quantity=q, **common)
        _audit(actor, "inventory.transfer", item, before={"location_id": src.pk})
        return item
    if q > item.available:
        raise _short(item, q, item.available)
    item.quantity -= q
    item.save(update_fields=["quantity"])
    moved = StockItem.objects.create(
        part_number=item.part_number,
        batch=item.batch,
        quantity=q,
        status=item.status,
        location=to_location,
        owner=item.owner,
        expires_on=item.expires_on,
        certificate_ref=item.certificate_ref,
        receipt=item.receipt,
        po_line=item.po_line,
        received_at=item.received_at,
    )
    _move(item, MovementKind.TRANSFER, actor=actor, at=now, quantity=q, delta=-q, **common)
    _move(moved, MovementKind.TRANSFER, actor=actor, at=now, quantity=q, delta=q, **common)
    _audit(actor, "inventory.transfer", moved, after=audit.snapshot(moved) | {"from_item": item.pk})
    return moved


@transaction.atomic
def reserve(
    *,
    actor: User | None,
    item: StockItem,
    quantity: Any,
    reference: str,
    at: dt.datetime | None = None,
) -> Reservation:
    """Hold free quantity of a serviceable item for a build order or work package."""
    require(actor, Capability.MANAGE_STOCK)
    now = at_or_now(future=True, value=at)
    reference = _text(reference, "reference", "the build order or work package reference")
    q = _qty(quantity, "quantity")
    item = _locked(item)
    _usable(item, now)
    _owner_may_use(item, reference)
    if q > item.available:
        raise _short(item, q, item.available)
    res = Reservation.objects.select_for_update().filter(item=item, reference=reference).first()
    if res is None:
        res = Reservation.objects.create(item=item, reference=reference, quantity=q)
    else:
        res.quantity += q
        res.save(update_fields=["quantity"])
    item.reserved += q
    item.save(update_fields=["reserved"])
    _move(item, MovementKind.RESERVE, actor=actor, at=now, quantity=q, reference=reference)
    _audit(actor, "inventory.reserve", item, after={"reference": reference, "quantity": str(q)})
    return res


@transaction.atomic
def unreserve(
    *,
    actor: User | None,
    item: StockItem,
    reference: str,
    quantity: Any = None,
    at: dt.datetime | None = None,
) -> Reservation:
    """Release a reservation (all of it unless ``quantity`` says less)."""
    require(actor, Capability.MANAGE_STOCK)
    now = at_or_now(future=True, value=at)
    reference = _text(reference, "reference", "the reservation's reference")
    item = _locked(item)
    res = Reservation.objects.select_for_update().filter(item=item, reference=reference).first()
    if res is None or res.quantity == 0:
        raise RuleViolation(f"nothing of {item} is reserved for {reference}", field="reference")
    q = res.quantity if quantity is None else _qty(quantity, "quantity")
    if q > res.quantity:
        raise RuleViolation(
            f"only {res.quantity.normalize():f} of {item} is reserved for {reference}",
            field="quantity",
        )
    res.quantity -= q
    res.save(update_fields=["quantity"])
    item.reserved -= q
    item.save(update_fields=["reserved"])
    _move(item, MovementKind.UNRESERVE, actor=actor, at=now, quantity=q, reference=reference)
    _audit(actor, "inventory.unreserve", item, after={"reference": reference, "quantity": str(q)})
    return res


def _owner_may_use(item: StockItem, reference: str) -> None:
    """An operator's stock goes only to that operator's work: a work package of another
    operator's aircraft, or a build order for another customer (or for the hub itself), is
    refused (the hub's pool goes anywhere)."""
    from kanat.production.models import BuildOrder
    from kanat.work.models import WorkPackage

    if item.owner_id is None:
        return
    order = BuildOrder.objects.filter(number=reference).first()
    if order is not None and order.operator_id != item.owner_id:
        raise RuleViolation(
            f"{item} belongs to {item.owner}; build order {order.number} is not built for it",
            field="reference",
        )
    pkg = WorkPackage.objects.filter(number=reference).select_related("aircraft").first()
    if pkg is not None and pkg.aircraft.operator_id != item.owner_id:
        raise RuleViolation(
            f"{item} belongs to {item.owner}; work package {pkg} is another operator's",
            field="reference",
        )


@transaction.atomic
def issue(
    *,
    actor: User | None,
    item: StockItem,
    quantity: Any,
    reference: str,
    at: dt.datetime | None = None,
    for_build: bool = False,
) -> StockMovement:
    """Issue stock to a build order or work package: what is reserved for that reference
    first, then free stock. Never more than is there. A build order's material is issued
    by the order itself (``for_build``: ``production.build.issue_material`` records what
    went into which output)."""
    require(actor, Capability.MANAGE_STOCK)
    now = at_or_now(future=True, value=at)
    reference = _text(reference, "reference", "the build order or work package reference")
    if not for_build:
        from kanat.production.models import BuildOrder

        if BuildOrder.objects.filter(number=reference).exists():
            raise RuleViolation(
                f"{reference} is a build order: issue its material from the order, which "
                "records what went into each output",
                field="reference",
            )
    q = _qty(quantity, "quantity")
    item = _locked(item)
    _usable(item, now)
    if item.part_id is not None and q != ONE:
        raise RuleViolation(f"{item} is serialised: issue 1, not {q}", field="quantity")
    _owner_may_use(item, reference)
    res = Reservation.objects.select_for_update().filter(item=item, reference=reference).first()
    from_res = min(q, res.quantity) if res is not None else ZERO
    if q - from_res > item.available:
        raise _short(item, q, item.available + from_res)
    if from_res:
        res.quantity -= from_res
        res.save(update_fields=["quantity"])
    before = {"quantity": str(item.quantity), "reserved": str(item.reserved)}
    item.quantity -= q
    item.reserved -= from_res
    item.save(update_fields=["quantity", "reserved"])
    move = _move(
        item,
        MovementKind.ISSUE,
        actor=actor,
        at=now,
        quantity=q,
        delta=-q,
        from_location=item.location,
        reference=reference,
        note=f"{from_res.normalize():f} from reservation" if from_res else "",
    )
    _audit(
        actor,
        "inventory.issue",
        item,
        before=before,
        after={
            "quantity": str(item.quantity),
            "reserved": str(item.reserved),
            "reference": reference,
        },
    )
    return move


# --- status, scrap, repair ---------------------------------------------------------------


@transaction.atomic
def set_status(
    *,
    actor: User | None,
    item: StockItem,
    status: str,
    reason: str = "",
    at: dt.datetime | None = None,
) -> StockItem:
    """Serviceable, unserviceable or quarantine (scrapped goes through ``scrap``)."""
    if status == StockStatus.SCRAPPED:
        return scrap(actor=actor, item=item, reason=reason, at=at)
    require(actor, Capability.MANAGE_STOCK)
    now = at_or_now(future=True, value=at)
    if status not in StockStatus.values:
        raise RuleViolation(f"unknown stock status {status!r}", field="status")
    item = _locked(item)
    _in_stock(item)
    if item.status == status:
        raise RuleViolation(f"{item} is already {status}", field="status")
    if item.reserved and status != StockStatus.SERVICEABLE:
        raise RuleViolation(
            f"{item.reserved.normalize():f} of {item} is reserved: release it first",
            field="status",
        )
    before = item.status
    item.status = status
    item.save(update_fields=["status"])
    _move(
        item,
        MovementKind.STATUS,
        actor=actor,
        at=now,
        quantity=item.quantity,
        from_status=before,
        to_status=status,
        note=reason.strip()[:200],
    )
    _audit(actor, "inventory.set_status", item, before={"status": before})
    return item


@transaction.atomic
def scrap(
    *, actor: User | None, item: StockItem, reason: str, at: dt.datetime | None = None
) -> StockItem:
    """Scrap a whole item: its quantity leaves the stock and it stays scrapped."""
    require(actor, Capability.MANAGE_STOCK)
    now = at_or_now(future=True, value=at)
    reason = _text(reason, "reason", "the reason for scrapping")
    item = _locked(item)
    _in_stock(item)
    if item.reserved:
        raise RuleViolation(
            f"{item.reserved.normalize():f} of {item} is reserved: release it first",
            field="item",
        )
    before = {"status": item.status, "quantity": str(item.quantity)}
    q = item.quantity
    _move(
        item,
        MovementKind.SCRAP,
        actor=actor,
        at=now,
        quantity=q,
        delta=-q,
        from_location=item.location,
        from_status=item.status,
        to_status=StockStatus.SCRAPPED,
        note=reason[:200],
    )
    item.status = StockStatus.SCRAPPED
    item.quantity = ZERO
    item.save(update_fields=["status", "quantity"])
    _audit(actor, "inventory.scrap", item, before=before)
    return item


@transaction.atomic
def scrap_issued_to_build(
    *,
    actor: User | None,
    item: StockItem,
    quantity: Any,
    reference: str,
    reason: str,
    at: dt.datetime | None = None,
) -> StockMovement:
    """Stock issued to a build order (``reference``) and scrapped there by a
    non-conformance report's scrap disposition (called by ``production.build``): a scrap
    movement of the quantity, with no change of the item's quantity (it left the stock
    when it was issued). A serialised part's item becomes scrapped for good: it is never
    returned nor issued again. A batch item keeps its status (what is left of it in the
    stores is not the scrapped material)."""
    require(actor, Capability.INSPECT_PRODUCTION)
    now = at_or_now(future=True, value=at)
    reason = _text(reason, "reason", "the reason for scrapping")
    q = _qty(quantity, "quantity")
    item = _locked(item)
    issued = ZERO
    for m in StockMovement.objects.filter(
        item=item, reference=reference, kind__in=[MovementKind.ISSUE, MovementKind.SCRAP]
    ):
        issued += m.quantity if m.kind == MovementKind.ISSUE else -m.quantity
    if q > issued:
        raise RuleViolation(
            f"only {issued.normalize():f} of {item} issued to {reference} is not scrapped yet, "
            f"{q.normalize():f} asked",
            field="quantity",
        )
    before = {"status": item.status}
    if item.part_id is not None:
        if item.status == StockStatus.SCRAPPED or item.quantity != 0:
            raise Conflict(f"{item} is not in the build {reference}", field="item")
        item.status = StockStatus.SCRAPPED
        item.save(update_fields=["status"])
    move = _move(
        item,
        MovementKind.SCRAP,
        actor=actor,
        at=now,
        quantity=q,
        from_status=before["status"],
        to_status=StockStatus.SCRAPPED,
        reference=reference[:80],
        note=reason[:200],
    )
    _audit(
        actor,
        "inventory.scrap_issued_to_build",
        item,
        before=before,
        after={"status": item.status, "scrapped": str(q), "reference": reference},
    )
    return move


@transaction.atomic
def release_for_build(
    *,
    actor: User | None,
    item: StockItem,
    reference: str,
    quantity: Any,
    reason: str,
    at: dt.datetime | None = None,
) -> Reservation:
    """Stock held for a build order (``reference``) that the order no longer needs, released
    by the order itself (called by ``production.build`` when an NCR's scrap disposition
    scraps a unit before its material was issued): the inspector who dispositions it
    releases it, as they record the scrap. An unreserve movement like ``unreserve``."""
    require(actor, Capability.INSPECT_PRODUCTION)
    now = at_or_now(future=True, value=at)
    reason = _text(reason, "reason", "the reason for releasing")
    q = _qty(quantity, "quantity")
    item = _locked(item)
    res = Reservation.objects.select_for_update().filter(item=item, reference=reference).first()
    if res is None or res.quantity < q:
        held = res.quantity if res is not None else ZERO
        raise Conflict(
            f"only {held.normalize():f} of {item} is held for {reference}, "
            f"{q.normalize():f} to release",
            field="quantity",
        )
    res.quantity -= q
    res.save(update_fields=["quantity"])
    item.reserved -= q
    item.save(update_fields=["reserved"])
    _move(
        item,
        MovementKind.UNRESERVE,
        actor=actor,
        at=now,
        quantity=q,
        reference=reference[:80],
        note=reason[:200],
    )
    _audit(
        actor,
        "inventory.release_for_build",
        item,
        after={"reference": reference, "quantity": str(q), "reason": reason},
    )
    return res


@transaction.atomic
def send_for_repair(
    *,
    actor: User | None,
    item: StockItem,
    supplier: Supplier,
    repair_order: str,
    at: dt.datetime | None = None,
) -> StockItem:
    """The rotable loop, out: an unserviceable serialised part leaves for a repair shop."""
    require(actor, Capability.MANAGE_STOCK)
    now = at_or_now(future=True, value=at)
    repair_order = _text(repair_order, "repair_order", "the repair order reference")
    item = _locked(item)
    if item.part_id is None:
        raise RuleViolation(f"{item} is not a serialised part", field="item")
    _in_stock(item)
    if item.status != StockStatus.UNSERVICEABLE:
        raise RuleViolation(
            f"{item} is {item.status}: only an unserviceable part goes for repair", field="item"
        )
    if not supplier.repairs:
        raise RuleViolation(f"supplier {supplier} does not repair parts", field="supplier")
    _move(
        item,
        MovementKind.REPAIR_OUT,
        actor=actor,
        at=now,
        quantity=ONE,
        delta=-ONE,
        from_location=item.location,
        from_status=item.status,
        reference=repair_order,
        supplier=supplier,
    )
    item.quantity = ZERO
    item.repair_supplier = supplier
    item.repair_order = repair_order
    item.save(update_fields=["quantity", "repair_supplier", "repair_order"])
    _audit(actor, "inventory.send_for_repair", item)
    return item


@transaction.atomic
def receive_from_repair(
    *,
    actor: User | None,
    item: StockItem,
    location: StockLocation,
    certificate_ref: str = "",
    status: str = StockStatus.SERVICEABLE,
    at: dt.datetime | None = None,
) -> StockItem:
    """The rotable loop, back: the part returns repaired (serviceable, with its release
    certificate) or not (unserviceable / quarantine)."""
    require(actor, Capability.MANAGE_STOCK)
    now = at_or_now(future=True, value=at)
    item = _locked(item)
    if item.repair_supplier_id is None:
        raise RuleViolation(f"{item} is not out for repair", field="item")
    if status not in (
        StockStatus.SERVICEABLE,
        StockStatus.UNSERVICEABLE,
        StockStatus.QUARANTINE,
    ):
        raise RuleViolation(f"a part comes back from repair as {status}? no", field="status")
    certificate_ref = (certificate_ref or "").strip()
    if status == StockStatus.SERVICEABLE and not certificate_ref:
        raise RuleViolation(
            f"{item} comes back serviceable: its release certificate reference is required",
            field="certificate_ref",
        )
    location = _active_location(location, "location")
    before = audit.snapshot(item)
    _move(
        item,
        MovementKind.REPAIR_IN,
        actor=actor,
        at=now,
        quantity=ONE,
        delta=ONE,
        to_location=location,
        from_status=item.status,
        to_status=status,
        reference=item.repair_order,
        supplier=item.repair_supplier,
        note=certificate_ref[:200],
    )
    item.quantity = ONE
    item.location = location
    item.status = status
    if certificate_ref:
        item.certificate_ref = certificate_ref
    item.repair_supplier = None
    item.repair_order = ""
    item.save(
        update_fields=[
            "quantity",
            "location",
            "status",
            "certificate_ref",
            "repair_supplier",
            "repair_order",
        ]
    )
    _audit(actor, "inventory.receive_from_repair", item, before=before)
    return item


# --- parts coming back: off an aircraft, out of production --------------------------------

#: what a part taken off an aircraft may come back to the stores as
RETURN_STATUSES = (StockStatus.UNSERVICEABLE, StockStatus.QUARANTINE, StockStatus.SERVICEABLE)


def _locked_part(part: Part) -> Part:
    try:
        return (
            Part.objects.select_for_update(of=("self",))
            .select_related("part_number", "operator")
            .get(pk=part.pk)
        )
    except Part.DoesNotExist:
        raise RuleViolation(f"part {part.pk} does not exist", field="part") from None


def _not_fitted_nor_in_stock(part: Part) -> None:
    fitted = (
        Installation.objects.filter(part=part, removed_at__isnull=True)
        .select_related("aircraft")
        .first()
    )
    if fitted is not None:
        raise RuleViolation(
            f"part {part} is fitted to {fitted.aircraft}: remove it first", field="part"
        )
    live = (
        StockItem.objects.filter(part=part)
        .filter(Q(quantity__gt=0) | Q(repair_supplier__isnull=False))
        .select_related("location", "repair_supplier")
        .first()
    )
    if live is not None:
        where = live.repair_supplier or live.location
        raise Conflict(f"part {part} is already in stock ({where})", field="part")


@transaction.atomic
def return_to_stores(
    *,
    actor: User | None,
    part: Part,
    location: StockLocation,
    status: str,
    reference: str,
    at: dt.datetime | None = None,
) -> StockItem:
    """A serialised part taken off an aircraft comes into the stores: unserviceable (to go
    for repair: the start of the rotable loop), quarantine (to be investigated) or
    serviceable. Its stock item is revived when it had one (issued earlier) or made; it
    belongs to the part's owner (None: the hub's pool). ``reference`` is the work package or
    task card it came off by."""
    require(actor, Capability.MANAGE_STOCK)
    now = at_or_now(future=True, value=at)
    reference = _text(reference, "reference", "the work package or task card reference")
    if status not in RETURN_STATUSES:
        raise RuleViolation(
            f"a part comes back as {', '.join(RETURN_STATUSES)}, not {status!r}", field="status"
        )
    part = _locked_part(part)
    if not Installation.objects.filter(part=part).exists():
        raise RuleViolation(
            f"part {part} was never fitted to an aircraft: receive it against an order",
            field="part",
        )
    _not_fitted_nor_in_stock(part)
    location = _active_location(location, "location")
    item = (
        StockItem.objects.select_for_update(of=("self",))
        .filter(part=part)
        .order_by("-received_at", "-id")
        .first()
    )
    if item is not None and item.status == StockStatus.SCRAPPED:
        raise RuleViolation(f"part {part} was scrapped in the stores", field="part")
    before = audit.snapshot(item) if item is not None else None
    from_status = item.status if item is not None else ""
    if item is None:
        item = StockItem.objects.create(
            part_number=part.part_number,
            part=part,
            quantity=ONE,
            status=status,
            location=location,
            owner=part.operator,
            received_at=now,
        )
    else:
        item.quantity = ONE
        item.reserved = ZERO
        item.status = status
        item.location = location
        item.owner = part.operator
        item.save(update_fields=["quantity", "reserved", "status", "location", "owner"])
    _move(
        item,
        MovementKind.RETURN,
        actor=actor,
        at=now,
        quantity=ONE,
        delta=ONE,
        to_location=location,
        from_status=from_status,
        to_status=status,
        reference=reference[:80],
        note="taken off an aircraft",
    )
    _audit(
        actor,
        "inventory.return_to_stores",
        item,
        before=before,
        after=audit.snapshot(item) | {"reference": reference},
    )
    return item


@transaction.atomic
def receive_from_production(
    *,
    actor: User | None,
    part: Part,
    location: StockLocation,
    reference: str,
    at: dt.datetime | None = None,
) -> StockItem:
    """A serialised output of a completed build order enters the stores, serviceable, so a
    sub-assembly built here can be reserved and issued to another order. ``reference`` is
    the order that built it; the item belongs to that order's operator (None: the hub's
    pool) and its certificate is the order's build record."""
    from kanat.production.models import BuildOutput, BuildStatus, ProductKind

    require(actor, Capability.MANAGE_STOCK)
    now = at_or_now(future=True, value=at)
    reference = _text(reference, "reference", "the build order that made the part")
    part = _locked_part(part)
    output = BuildOutput.objects.filter(part=part).select_related("order__product").first()
    if output is None:
        raise RuleViolation(f"part {part} was not built by a build order", field="part")
    order = output.order
    if reference != order.number:
        raise RuleViolation(
            f"part {part} was built by {order.number}, not {reference}", field="reference"
        )
    if order.status != BuildStatus.COMPLETED:
        raise RuleViolation(
            f"{order.number} is {order.get_status_display().lower()}: only a completed "
            "order's output enters the stores",
            field="part",
        )
    if order.product.kind == ProductKind.AIRCRAFT:
        raise RuleViolation(
            f"part {part} is an aircraft: it is accepted into its fleet", field="part"
        )
    _not_fitted_nor_in_stock(part)
    if StockItem.objects.filter(part=part).exists():
        raise Conflict(f"part {part} was received from production already", field="part")
    location = _active_location(location, "location")
    item = StockItem.objects.create(
        part_number=part.part_number,
        part=part,
        quantity=ONE,
        status=StockStatus.SERVICEABLE,
        location=location,
        owner=order.operator,
        certificate_ref=f"build record {order.number}",
        received_at=now,
    )
    _move(
        item,
        MovementKind.RECEIVE,
        actor=actor,
        at=now,
        quantity=ONE,
        delta=ONE,
        to_location=location,
        to_status=item.status,
        reference=order.number,
        note="from production",
    )
    _audit(
        actor,
        "inventory.receive_from_production",
        item,
        after=audit.snapshot(item) | {"order": order.number},
    )
    return item
