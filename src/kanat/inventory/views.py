"""Pages of the stores: stock by location and part number, a stock item with its ledger,
purchase orders, reorder suggestions. Every query goes through ``restrict()`` (another
operator's object is a 404).

Changes are plain POST forms (the pages work without JavaScript) that call
``kanat.inventory.services`` and redirect with a message (POST/redirect/GET). A service's
``RuleViolation`` comes back on the page next to the form that failed, with status 400
(409 for a ``Conflict``), and nothing changed; a role without the capability sees no form
and gets a 403 on a post.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from kanat.core.errors import Conflict, NotAllowed, RuleViolation
from kanat.core.roles import Capability, role_allows
from kanat.core.tenancy import get_restricted_or_404
from kanat.fleet.models import PartNumber
from kanat.inventory import selectors, services
from kanat.inventory.forms import (
    DeliveryForm,
    ReceiptRows,
    RepairInForm,
    RepairOutForm,
    ScrapForm,
    StatusForm,
    TransferForm,
)
from kanat.inventory.models import (
    POStatus,
    PurchaseOrder,
    PurchaseOrderLine,
    StockItem,
    StockLocation,
    StockMovement,
    StockStatus,
)

PAGE_SIZE = 100


def may_manage_stock(user: Any) -> bool:
    """Whether the user's role receives, moves and scraps stock (the services' check, read
    beforehand so that only those who may see the forms)."""
    return bool(getattr(user, "is_authenticated", False)) and role_allows(
        user.role, Capability.MANAGE_STOCK
    )


def _call(fn: Callable[..., Any], **kw: Any) -> tuple[Any, RuleViolation | None]:
    """Run a service: its value, or the rule it refused on. A refused role is a 403."""
    try:
        return fn(**kw), None
    except NotAllowed as exc:
        raise PermissionDenied(str(exc)) from None
    except RuleViolation as exc:  # Conflict included
        return None, exc


def _status(exc: RuleViolation | None) -> int:
    if exc is None:
        return 200
    return 409 if isinstance(exc, Conflict) else 400


def _require_stock_role(request: HttpRequest) -> None:
    if not may_manage_stock(request.user):
        raise PermissionDenied("your role may not receive, move or scrap stock")


# --- stock ----------------------------------------------------------------------------


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


def _item_qs() -> Any:
    return StockItem.objects.select_related(
        "part_number", "part", "location", "owner", "repair_supplier", "po_line__order", "receipt"
    )


#: the forms of an item page: {action: what it is called in an error}
ITEM_ACTIONS = {
    "transfer": "the transfer",
    "status": "the status change",
    "scrap": "scrapping",
    "repair_out": "sending for repair",
    "repair_in": "receiving from repair",
}


@require_http_methods(["GET", "POST"])
def item_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One stock item: where it is, its status, its movements from the ledger; the forms
    that move it, change its status, scrap it and take it round the rotable loop."""
    user = request.user
    item = get_restricted_or_404(_item_qs(), user, pk=pk)
    error: RuleViolation | None = None
    bound: dict[str, Any] = {}
    if request.method == "POST":
        _require_stock_role(request)
        action = request.POST.get("action", "")
        result: Any = None
        done = ""
        form: Any = None
        if action == "transfer":
            form = TransferForm(request.POST, user=user, exclude=item.location_id)
            if form.is_valid():
                d = form.cleaned_data
                result, error = _call(
                    services.transfer,
                    actor=user,
                    item=item,
                    to_location=d["to_location"],
                    quantity=d["quantity"].strip() or None,
                    reference=d["reference"],
                )
                if result is not None:
                    done = f"{result.quantity.normalize():f} of {item} moved to {result.location}."
        elif action == "status":
            form = StatusForm(request.POST)
            if form.is_valid():
                d = form.cleaned_data
                result, error = _call(
                    services.set_status,
                    actor=user,
                    item=item,
                    status=d["status"],
                    reason=d["reason"],
                )
                if result is not None:
                    done = f"{item} is {result.get_status_display().lower()}."
        elif action == "scrap":
            form = ScrapForm(request.POST)
            if form.is_valid():
                result, error = _call(
                    services.scrap, actor=user, item=item, reason=form.cleaned_data["reason"]
                )
                done = f"{item} scrapped."
        elif action == "repair_out":
            form = RepairOutForm(request.POST, user=user)
            if form.is_valid():
                d = form.cleaned_data
                result, error = _call(
                    services.send_for_repair,
                    actor=user,
                    item=item,
                    supplier=d["supplier"],
                    repair_order=d["repair_order"],
                )
                if result is not None:
                    done = f"{item} sent for repair to {d['supplier']} ({result.repair_order})."
        elif action == "repair_in":
            form = RepairInForm(request.POST, user=user)
            if form.is_valid():
                d = form.cleaned_data
                result, error = _call(
                    services.receive_from_repair,
                    actor=user,
                    item=item,
                    location=d["location"],
                    status=d["status"],
                    certificate_ref=d["certificate_ref"],
                )
                if result is not None:
                    done = (
                        f"{item} back from repair at {result.location}, "
                        f"{result.get_status_display().lower()}."
                    )
        else:
            error = RuleViolation(f"unknown action {action!r}", field="action")
        if form is not None and form.errors:
            error = RuleViolation(f"{ITEM_ACTIONS[action]}: check the values entered")
        elif error is None:
            messages.success(request, done)
            return redirect("inventory:item_detail", result.pk)
        elif form is not None:
            form.add_service_error(error)
        if form is not None:
            bound[action] = form
        item = get_restricted_or_404(_item_qs(), user, pk=pk)
    return render(
        request,
        "inventory/item_detail.html",
        _item_context(request, item, bound, error),
        status=_status(error),
    )


def _item_context(
    request: HttpRequest, item: StockItem, bound: dict[str, Any], error: RuleViolation | None
) -> dict[str, Any]:
    user = request.user
    may = may_manage_stock(user)
    out_for_repair = item.repair_supplier_id is not None
    in_stock = item.quantity > 0 and item.status != StockStatus.SCRAPPED and not out_for_repair
    forms: dict[str, Any] = {}
    if may and in_stock:
        forms["transfer"] = bound.get("transfer") or TransferForm(
            user=user, exclude=item.location_id
        )
        forms["status"] = bound.get("status") or StatusForm(
            initial={
                "status": StockStatus.UNSERVICEABLE
                if item.status == StockStatus.SERVICEABLE
                else StockStatus.SERVICEABLE
            }
        )
        forms["scrap"] = bound.get("scrap") or ScrapForm()
        if item.part_id is not None and item.status == StockStatus.UNSERVICEABLE:
            forms["repair_out"] = bound.get("repair_out") or RepairOutForm(user=user)
    if may and out_for_repair:
        forms["repair_in"] = bound.get("repair_in") or RepairInForm(user=user)
    movements = (
        StockMovement.objects.restrict(user)
        .filter(item=item)
        .select_related("from_location", "to_location", "supplier", "actor")
    )
    return {
        "item": item,
        "movements": movements,
        "balance": selectors.ledger_balance(item),
        "reservations": item.reservations.filter(quantity__gt=0),
        "forms": forms,
        "may": may,
        "in_stock": in_stock,
        "out_for_repair": out_for_repair,
        "error": error,
    }


# --- purchase orders ------------------------------------------------------------------


def po_list(request: HttpRequest) -> HttpResponse:
    orders = PurchaseOrder.objects.restrict(request.user).select_related("supplier", "operator")
    status = request.GET.get("status", "")
    if status:
        orders = orders.filter(status=status)
    page = Paginator(orders, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "inventory/po_list.html", {"page": page, "status": status})


def _po_qs() -> Any:
    return PurchaseOrder.objects.select_related("supplier", "operator").prefetch_related(
        Prefetch("lines", PurchaseOrderLine.objects.select_related("part_number"))
    )


RECEIVING = (POStatus.OPEN, POStatus.PARTIAL)


@require_http_methods(["GET", "POST"])
def po_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """An order, its deliveries and the movements of what they brought in; the form that
    receives a delivery against its lines."""
    user = request.user
    order = get_restricted_or_404(_po_qs(), user, pk=pk)
    error: RuleViolation | None = None
    delivery = rows = None
    if request.method == "POST":
        _require_stock_role(request)
        delivery = DeliveryForm(request.POST, user=user)
        rows = ReceiptRows(request.POST, form_kwargs={"order": order, "user": user})
        if delivery.is_valid() and rows.is_valid():
            chosen = rows.rows()
            ref = delivery.cleaned_data["delivery_ref"].strip()
            again = order.receipts.filter(delivery_ref=ref).first() if ref else None
            receipt, error = _call(
                services.receive_against_po,
                actor=user,
                order=order,
                delivery_ref=ref,
                location=delivery.cleaned_data["location"],
                receipts=[
                    services.Receipt(
                        line=d["line"],
                        quantity=d["quantity"].strip(),
                        serial=d["serial"],
                        batch=d["batch"],
                        certificate_ref=d["certificate_ref"],
                        expires_on=d["expires_on"],
                    )
                    for _, d in chosen
                ],
            )
            if error is None:
                if again is not None:
                    messages.info(
                        request,
                        f"Delivery {again.delivery_ref} was received already on "
                        f"{again.received_at:%Y-%m-%d %H:%M} UTC: nothing received again.",
                    )
                else:
                    n = receipt.items.count()
                    messages.success(
                        request,
                        f"Delivery {receipt.delivery_ref} received at {receipt.location}: "
                        f"{n} item{'' if n == 1 else 's'}.",
                    )
                return redirect("inventory:po_detail", order.pk)
            _receipt_error(error, delivery, rows, chosen)
        else:
            error = RuleViolation("the delivery: check the values entered")
        order = get_restricted_or_404(_po_qs(), user, pk=pk)
    may = may_manage_stock(user) and order.status in RECEIVING
    if may and delivery is None:
        delivery = DeliveryForm(user=user)
        rows = ReceiptRows(form_kwargs={"order": order, "user": user})
    items = (
        StockItem.objects.restrict(user)
        .filter(po_line__order=order)
        .select_related("part_number", "part", "location", "repair_supplier")
    )
    moves = (
        StockMovement.objects.restrict(user)
        .filter(item__in=items)
        .select_related("item__part_number", "item__part", "from_location", "to_location")
    )
    return render(
        request,
        "inventory/po_detail.html",
        {
            "order": order,
            "receipts": order.receipts.select_related("location"),
            "items": items,
            "moves": moves,
            "may_receive": may,
            "delivery": delivery if may else None,
            "rows": rows if may else None,
            "error": error,
        },
        status=_status(error),
    )


def _receipt_error(
    error: RuleViolation, delivery: DeliveryForm, rows: Any, chosen: list[tuple[int, Any]]
) -> None:
    """Put the service's error next to what it names: ``receipts[i].field`` on the i-th
    row received (its row on the form), anything else on the delivery."""
    field = error.field or ""
    if field.startswith("receipts[") and "]" in field:
        index, _, name = field[len("receipts[") :].partition("]")
        name = name.lstrip(".")
        if index.isascii() and index.isdigit() and int(index) < len(chosen):
            row = rows.forms[chosen[int(index)][0]]
            row.add_service_error(error, name or None)
            return
    delivery.add_service_error(error)


def reorder(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "inventory/reorder.html",
        {"suggestions": selectors.reorder_suggestions(request.user)},
    )
