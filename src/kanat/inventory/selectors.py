"""Reads of the stores: stock by location and by part number, the ledger balance of an
item, reorder suggestions. Every read takes the user and goes through ``restrict``."""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Q, QuerySet, Sum
from django.utils import timezone

from kanat.fleet.models import Aircraft, PartNumber
from kanat.inventory.models import (
    MovementKind,
    StockItem,
    StockLevel,
    StockLocation,
    StockMovement,
    StockStatus,
)

ZERO = Decimal("0")
#: an average month, for consumption rates
MONTH_DAYS = 30.436875
#: how far ahead the maintenance forecast adds the parts its due task cards need
FORECAST_HORIZON_DAYS = 60


def stock(
    user: Any,
    *,
    location: StockLocation | None = None,
    part_number: PartNumber | None = None,
    include_empty: bool = False,
) -> QuerySet[StockItem]:
    """The items the user may see (on hand or out for repair unless ``include_empty``)."""
    qs = StockItem.objects.restrict(user).select_related(
        "part_number", "part", "location", "owner", "repair_supplier"
    )
    if location is not None:
        qs = qs.filter(location=location)
    if part_number is not None:
        qs = qs.filter(part_number=part_number)
    if not include_empty:
        qs = qs.filter(Q(quantity__gt=0) | Q(repair_supplier__isnull=False))
    return qs


def stock_by_location(user: Any, location: StockLocation) -> QuerySet[StockItem]:
    return stock(user, location=location)


def stock_by_part_number(user: Any, part_number: PartNumber) -> QuerySet[StockItem]:
    return stock(user, part_number=part_number)


def totals(user: Any, *, location: StockLocation | None = None) -> list[dict[str, Any]]:
    """On hand and reserved per part number, location and status (the user's items)."""
    qs = stock(user, location=location).filter(quantity__gt=0)
    return list(
        qs.values("part_number__pn", "location__code", "status")
        .annotate(on_hand=Sum("quantity"), reserved=Sum("reserved"))
        .order_by("part_number__pn", "location__code", "status")
    )


def ledger_balance(item: StockItem) -> Decimal:
    """The item's quantity as its movements say it is (equals ``item.quantity``)."""
    total = StockMovement.objects.filter(item=item).aggregate(s=Sum("delta"))["s"]
    return total if total is not None else ZERO


@dataclass(frozen=True)
class ForecastNeed:
    """A task card due within the horizon that needs the part: one per due item."""

    task_code: str
    aircraft: str
    due_date: dt.date | None
    status: str
    quantity: Decimal


@dataclass(frozen=True)
class Suggestion:
    part_number: PartNumber
    location: StockLocation
    owner_id: int | None
    minimum: Decimal
    on_hand: Decimal
    reserved: Decimal
    monthly_consumption: Decimal
    reorder_point: Decimal
    quantity: Decimal
    #: parts the task cards due within the horizon need (``forecast_needs`` says which)
    forecast_demand: Decimal = ZERO
    forecast_needs: tuple[ForecastNeed, ...] = ()

    @property
    def available(self) -> Decimal:
        return self.on_hand - self.reserved

    @property
    def reasons(self) -> list[str]:
        """Why the reorder point is what it is: minimum, consumption, forecast tasks."""
        out = [f"minimum {_num(self.minimum)}"]
        if self.monthly_consumption:
            out.append(f"consumption {_num(self.monthly_consumption)} a month")
        if self.forecast_needs:
            tasks = ", ".join(
                f"{n.task_code} on {n.aircraft}"
                + (f" due {n.due_date.isoformat()}" if n.due_date else "")
                + f" ×{_num(n.quantity)}"
                for n in self.forecast_needs
            )
            out.append(f"forecast {_num(self.forecast_demand)}: {tasks}")
        return out


def _num(value: Decimal) -> str:
    return format(value.normalize(), "f")


def forecast_demand(
    user: Any,
    *,
    part_numbers: dict[str, int],
    at: dt.datetime,
    horizon: int = FORECAST_HORIZON_DAYS,
) -> dict[tuple[int, int | None], list[ForecastNeed]]:
    """The parts (of ``part_numbers``: pn → id) that the task cards of the items due
    within ``horizon`` days of ``at`` need, on the aircraft the user may see: the
    revision in force's ``instructions["parts"]`` × one per due item. Keyed by
    (part number id, operator id) and, for the hub's own stock that covers every operator,
    (part number id, None). One forecast call and two bulk reads, whatever the fleet."""
    from kanat.maintenance import forecasting
    from kanat.maintenance.models import TaskRevision

    out: dict[tuple[int, int | None], list[ForecastNeed]] = defaultdict(list)
    if not part_numbers or horizon <= 0:
        return out
    result = forecasting.forecast(
        user=user,
        as_of=at,
        horizon=horizon,
        aircraft=Aircraft.objects.restrict(user),
        stores=False,
        defects=False,
        statuses={"overdue", "in_tolerance", "due_soon"},
    )
    today = (at.astimezone(dt.UTC) if timezone.is_aware(at) else at).date()
    until = today + dt.timedelta(days=horizon)
    rows = [
        r
        for r in result.rows
        if r.aircraft_pk is not None
        and (r.status == "overdue" or (r.due_date is not None and r.due_date <= until))
    ]
    # the card of each due task: the revision in force at ``at`` (highest number started)
    parts_of: dict[str, list[tuple[int, Decimal]]] = {}
    for code, instructions in (
        TaskRevision.objects.filter(
            task__code__in={r.task_code for r in rows} or {""}, effective_from__lte=at
        )
        .order_by("task_id", "number")
        .values_list("task__code", "instructions")
    ):
        wanted = []
        for item in (instructions or {}).get("parts") or []:
            pn_id = part_numbers.get(str(item.get("pn", "")))
            if pn_id is None:
                continue
            try:
                qty = Decimal(str(item.get("qty", 1)))
            except ArithmeticError:
                continue
            if qty.is_finite() and qty > 0:
                wanted.append((pn_id, qty))
        parts_of[code] = wanted  # later revisions replace earlier ones
    operator_of = dict(
        Aircraft.objects.filter(pk__in={r.aircraft_pk for r in rows} or {0}).values_list(
            "pk", "operator_id"
        )
    )
    for r in rows:
        for pn_id, qty in parts_of.get(r.task_code, ()):
            need = ForecastNeed(
                task_code=r.task_code,
                aircraft=r.aircraft_serial or "",
                due_date=r.due_date,
                status=r.status,
                quantity=qty,
            )
            out[(pn_id, operator_of.get(r.aircraft_pk))].append(need)
            out[(pn_id, None)].append(need)
    return out


def reorder_suggestions(
    user: Any,
    *,
    location: StockLocation | None = None,
    months: int = 6,
    at: dt.datetime | None = None,
    horizon: int | None = FORECAST_HORIZON_DAYS,
) -> list[Suggestion]:
    """For each minimum stock the user may see: serviceable, unexpired on hand minus reserved
    (an item past its shelf life on ``at``'s UTC date is not available) against
    the reorder point: minimum + one month of the average consumption over the last
    ``months`` (from issue movements at that location for that owner) + the parts the
    task cards of items due within ``horizon`` days need (the maintenance forecast, for the
    aircraft of the stock's owner; hub stock covers every operator; ``None`` or 0: left
    out). A suggestion when the available stock is below it, for enough whole units to
    reach it; ``reasons`` says why.

    Forecast demand is counted against every minimum stock of that part and owner (a
    part held at two stores of one owner gets it at both: the forecast does not say
    where the work is done)."""
    at = at or timezone.now()
    today = (at.astimezone(dt.UTC) if timezone.is_aware(at) else at).date()
    since = at - dt.timedelta(days=MONTH_DAYS * months)
    levels = StockLevel.objects.restrict(user).select_related("part_number", "location")
    if location is not None:
        levels = levels.filter(location=location)
    levels = list(levels)
    if not levels:
        return []
    pns = {lv.part_number_id for lv in levels}
    locs = {lv.location_id for lv in levels}
    held: dict[tuple[int, int, int | None], tuple[Decimal, Decimal]] = defaultdict(
        lambda: (ZERO, ZERO)
    )
    for row in (
        StockItem.objects.filter(
            part_number__in=pns,
            location__in=locs,
            status=StockStatus.SERVICEABLE,
            quantity__gt=0,
        )
        .filter(Q(expires_on__isnull=True) | Q(expires_on__gte=today))
        .values("part_number", "location", "owner")
        .annotate(q=Sum("quantity"), r=Sum("reserved"))
    ):
        held[(row["part_number"], row["location"], row["owner"])] = (row["q"], row["r"])
    used: dict[tuple[int, int, int | None], Decimal] = defaultdict(lambda: ZERO)
    for row in (
        StockMovement.objects.filter(
            kind=MovementKind.ISSUE,
            at__gt=since,
            at__lte=at,
            item__part_number__in=pns,
            from_location__in=locs,
        )
        .values("item__part_number", "from_location", "item__owner")
        .annotate(q=Sum("quantity"))
    ):
        used[(row["item__part_number"], row["from_location"], row["item__owner"])] = row["q"]
    needs = (
        forecast_demand(
            user,
            part_numbers={lv.part_number.pn: lv.part_number_id for lv in levels},
            at=at,
            horizon=horizon,
        )
        if horizon
        else {}
    )
    out = []
    for lv in levels:
        key = (lv.part_number_id, lv.location_id, lv.owner_id)
        on_hand, reserved = held[key]
        monthly = (used[key] / Decimal(months)).quantize(Decimal("0.001"))
        due = tuple(needs.get((lv.part_number_id, lv.owner_id), ()))
        demand = sum((n.quantity for n in due), ZERO)
        point = lv.minimum + monthly + demand
        available = on_hand - reserved
        if available >= point:
            continue
        out.append(
            Suggestion(
                part_number=lv.part_number,
                location=lv.location,
                owner_id=lv.owner_id,
                minimum=lv.minimum,
                on_hand=on_hand,
                reserved=reserved,
                monthly_consumption=monthly,
                reorder_point=point,
                quantity=Decimal(math.ceil(point - available)),
                forecast_demand=demand,
                forecast_needs=due,
            )
        )
    return out
