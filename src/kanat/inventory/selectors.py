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

from kanat.fleet.models import PartNumber
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

    @property
    def available(self) -> Decimal:
        return self.on_hand - self.reserved


def reorder_suggestions(
    user: Any,
    *,
    location: StockLocation | None = None,
    months: int = 6,
    at: dt.datetime | None = None,
) -> list[Suggestion]:
    """For each minimum stock the user may see: serviceable, unexpired on hand minus reserved
    (an item past its shelf life on ``at``'s UTC date is not available) against
    the reorder point (minimum + one month of the average consumption over the last
    ``months``, from issue movements at that location for that owner). A suggestion when
    the available stock is below it, for enough whole units to reach it."""
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
    out = []
    for lv in levels:
        key = (lv.part_number_id, lv.location_id, lv.owner_id)
        on_hand, reserved = held[key]
        monthly = (used[key] / Decimal(months)).quantize(Decimal("0.001"))
        point = lv.minimum + monthly
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
            )
        )
    return out
