"""Pages of the stores: stock by location and part number, purchase orders, reorder
suggestions. Read-only; every query goes through ``restrict()``."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from kanat.core.tenancy import get_restricted_or_404
from kanat.fleet.models import PartNumber
from kanat.inventory import selectors
from kanat.inventory.models import (
    PurchaseOrder,
    PurchaseOrderLine,
    StockItem,
    StockLocation,
    StockMovement,
)

PAGE_SIZE = 100


def stock(request: HttpRequest) -> HttpResponse:
    """Stock by location (``?location=CODE``) and by part number (``?pn=PN``)."""
    locations = StockLocation.objects.restrict(request.user)
    loc_code, pn_text = request.GET.get("location", ""), request.GET.get("pn", "").strip()
    location = locations.filter(code=loc_code).first() if loc_code else None
    part_number = (
        PartNumber.objects.restrict(request.user).filter(pn=pn_text).first() if pn_text else None
    )
    items = selectors.stock(request.user, location=location, part_number=part_number)
    if pn_text and part_number is None:
        items = items.none()
    page = Paginator(items, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "inventory/stock.html",
        {
            "page": page,
            "locations": locations,
            "location": location,
            "pn": pn_text,
            "totals": selectors.totals(request.user, location=location)
            if part_number is None
            else [
                r
                for r in selectors.totals(request.user, location=location)
                if r["part_number__pn"] == part_number.pn
            ],
        },
    )


def po_list(request: HttpRequest) -> HttpResponse:
    orders = PurchaseOrder.objects.restrict(request.user).select_related("supplier", "operator")
    status = request.GET.get("status", "")
    if status:
        orders = orders.filter(status=status)
    page = Paginator(orders, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "inventory/po_list.html", {"page": page, "status": status})


def po_detail(request: HttpRequest, pk: int) -> HttpResponse:
    order = get_restricted_or_404(
        PurchaseOrder.objects.select_related("supplier", "operator").prefetch_related(
            Prefetch("lines", PurchaseOrderLine.objects.select_related("part_number"))
        ),
        request.user,
        pk=pk,
    )
    items = StockItem.objects.restrict(request.user).filter(po_line__order=order)
    moves = (
        StockMovement.objects.restrict(request.user)
        .filter(item__in=items)
        .select_related("item__part_number", "item__part", "from_location", "to_location")
    )
    return render(
        request,
        "inventory/po_detail.html",
        {"order": order, "receipts": order.receipts.select_related("location"), "moves": moves},
    )


def reorder(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "inventory/reorder.html",
        {"suggestions": selectors.reorder_suggestions(request.user)},
    )
