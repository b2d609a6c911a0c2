"""Production pages (hub staff only; operator staff get 403): the BOM revisions of each
assembly, a revision's multi-level tree with its comparison to another revision, a
routing; the build order board, a build order with its actions, and the NCR list."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Page, Paginator
from django.db.models import Count
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_http_methods

from kanat.core.errors import Conflict, NotAllowed, RuleViolation
from kanat.core.ids import as_id
from kanat.core.roles import Capability, role_allows
from kanat.core.tenancy import get_restricted_or_404
from kanat.production import build, fai, selectors
from kanat.production.build import Measurement
from kanat.production.models import (
    Bom,
    BuildConsumption,
    BuildOrder,
    BuildStatus,
    Disposition,
    InspectionResult,
    NcrStatus,
    NonConformance,
    Operation,
    OperationProgress,
    Product,
    ProductKind,
    Routing,
)
from kanat.production.structure import CycleError


def _hub_only(request: HttpRequest) -> None:
    if request.user.operator_id is not None:  # type: ignore[union-attr]
        raise PermissionDenied("production data is read by hub staff only")


def bom_list(request: HttpRequest) -> HttpResponse:
    _hub_only(request)
    boms = Bom.objects.restrict(request.user).select_related("part_number")
    return render(request, "production/bom_list.html", {"boms": boms})


def bom_detail(request: HttpRequest, pk: int) -> HttpResponse:
    _hub_only(request)
    bom = get_restricted_or_404(Bom.objects.select_related("part_number"), request.user, pk=pk)
    context: dict[str, Any] = {
        "bom": bom,
        "lines": bom.lines.select_related("child").order_by("find_number"),
        "revisions": Bom.objects.filter(part_number=bom.part_number).order_by("number"),
    }
    try:
        context["rows"] = selectors.explode_bom(bom)
    except CycleError as exc:
        context["cycle"] = str(exc)
    other_id = as_id(request.GET.get("with", ""))
    if other_id:
        other = Bom.objects.filter(pk=other_id).select_related("part_number").first()
        if other is not None:
            context["other"] = other
            context["diff"] = selectors.compare_revisions(other, bom)
    return render(request, "production/bom_detail.html", context)


def routing_detail(request: HttpRequest, pk: int) -> HttpResponse:
    _hub_only(request)
    routing = get_restricted_or_404(
        Routing.objects.select_related("part_number"), request.user, pk=pk
    )
    operations = routing.operations.select_related("work_centre").order_by("seq")
    return render(
        request, "production/routing_detail.html", {"routing": routing, "operations": operations}
    )


# --- build orders and non-conformance reports --------------------------------------------
#
# The build order board, an order (material, operations, inspections, NCRs, completion and
# acceptance) and the NCR list: hub staff only, like the engineering pages. Every action is
# a plain POST form calling ``kanat.production.build`` (the pages work without JavaScript);
# a service's ``RuleViolation`` comes back on the page with status 400 (409 for a
# ``Conflict``), a refused role as a 403.

BOARD_COLUMNS = list(BuildStatus)


def _http_status(error: RuleViolation | None) -> int:
    if error is None:
        return 200
    return 409 if isinstance(error, Conflict) else 400


def _qty(value: Decimal) -> str:
    return f"{value.normalize():f}"


def _progress(order: BuildOrder) -> dict[str, int]:
    """Operations signed / total and inspection points passed (latest result) / points,
    from the order's prefetched rows."""
    operations = list(order.routing.operations.all())
    signed = {p.operation_id for p in order.progress.all()}
    latest: dict[int, bool] = {}
    for r in sorted(order.inspections.all(), key=lambda r: (r.at, r.pk)):
        latest[r.operation_id] = r.passed
    points = [op for op in operations if op.inspection_point]
    return {
        "ops_signed": sum(1 for op in operations if op.pk in signed),
        "ops_total": len(operations),
        "inspections_passed": sum(1 for op in points if latest.get(op.pk)),
        "points": len(points),
        "open_ncrs": sum(1 for n in order.ncrs.all() if n.status == NcrStatus.OPEN),
    }


def page_links(page: Page, keep: dict[str, str]) -> dict[str, Any]:
    """Links to the other pages of a paginated list that keep its filters (``keep``,
    empty ones left out): previous, next and the page numbers (elided in the middle)."""
    kept = {k: v for k, v in keep.items() if v}

    def url(number: int) -> str:
        return "?" + urlencode({**kept, "page": number})

    paginator = page.paginator
    return {
        "previous": url(page.previous_page_number()) if page.has_previous() else "",
        "next": url(page.next_page_number()) if page.has_next() else "",
        "numbers": [
            {"number": n, "url": url(n) if isinstance(n, int) else "", "current": n == page.number}
            for n in paginator.get_elided_page_range(page.number, on_each_side=2, on_ends=1)
        ],
        "count": paginator.count,
    }


BOARD_PAGE_SIZE = 50


def order_board(request: HttpRequest) -> HttpResponse:
    """Build orders in columns by status, each with its progress, 50 orders a page (by
    planned start); ``?product=CODE``, ``?status=``. Each column's badge counts all its
    orders under the filters, not only this page's."""
    _hub_only(request)
    product = request.GET.get("product", "")
    status = request.GET.get("status", "")
    qs = BuildOrder.objects.restrict(request.user)
    if product:
        qs = qs.filter(product__code=product)
    if status in BuildStatus.values:
        qs = qs.filter(status=status)
    else:
        status = ""
    totals = dict(qs.order_by().values_list("status").annotate(n=Count("id")))
    qs = (
        qs.select_related("product__part_number", "bom", "routing", "operator")
        .prefetch_related("outputs", "progress", "inspections", "ncrs", "routing__operations")
        .order_by("planned_start", "number", "id")
    )
    page = Paginator(qs, BOARD_PAGE_SIZE).get_page(request.GET.get("page"))
    by_status: dict[str, list[Any]] = {s.value: [] for s in BOARD_COLUMNS}
    for order in page.object_list:
        order.p = _progress(order)  # type: ignore[attr-defined]
        by_status[order.status].append(order)
    return render(
        request,
        "production/order_board.html",
        {
            "columns": [
                (s, by_status[s.value], totals.get(s.value, 0))
                for s in BOARD_COLUMNS
                if not status or s.value == status
            ],
            "products": Product.objects.order_by("code"),
            "product": product,
            "status": status,
            "statuses": BuildStatus.choices,
            "page": page,
            "pages": page_links(page, {"product": product, "status": status}),
        },
    )


def _measurements(post: Any) -> list[Measurement]:
    """The measured-value rows of the inspection form (``m-N-name``, ``m-N-value``...),
    blank rows left out; the service checks the numbers."""
    out: list[Measurement] = []
    for i in range(INSPECTION_ROWS):
        row = {k: post.get(f"m-{i}-{k}", "").strip() for k in MEASUREMENT_KEYS}
        if not any(row[k] for k in ("name", "value", "lower", "upper")):
            continue
        if not row["value"]:
            raise RuleViolation(
                f"measurements[{len(out)}]: {row['name'] or 'a row'} has no measured value",
                field=f"measurements[{len(out)}].value",
            )
        out.append(
            Measurement(
                name=row["name"],
                value=row["value"],
                lower=row["lower"] or None,
                upper=row["upper"] or None,
                unit=row["unit"],
            )
        )
    return out


INSPECTION_ROWS = 3
MEASUREMENT_KEYS = ("name", "value", "lower", "upper", "unit")


def _order_qs() -> Any:
    return BuildOrder.objects.select_related(
        "product__part_number", "product__variant", "bom", "routing", "operator"
    )


def _operation_of(order: BuildOrder, raw: str) -> Operation:
    op = Operation.objects.filter(routing=order.routing_id, pk=as_id(raw))
    found = op.first()
    if found is None:
        raise RuleViolation(f"operation {raw!r} is not on {order}'s routing", field="operation")
    return found


def _ncr_of(order: BuildOrder, raw: str) -> NonConformance:
    found = order.ncrs.filter(pk=as_id(raw)).first()
    if found is None:
        raise RuleViolation(f"NCR {raw!r} is not on {order}", field="ncr")
    return found


def _subject_of(order: BuildOrder, raw: str) -> dict[str, Any]:
    """The raise form's "non-conforming item": nothing (the work, or the order as a
    whole), ``consumption-<id>`` (a serial or batch issued into this order) or
    ``output-<id>`` (one of its units), as the ``raise_ncr`` keyword it is. Whether it
    may still be named (not scrapped already) is the service's to say."""
    raw = raw.strip()
    if not raw:
        return {}
    kind, _, pk = raw.partition("-")
    found: Any = None
    if kind == "consumption" and as_id(pk):
        found = BuildConsumption.objects.filter(order=order, pk=as_id(pk)).first()
    elif kind == "output" and as_id(pk):
        found = order.outputs.filter(pk=as_id(pk)).first()
    if found is None:
        raise RuleViolation(
            f"{raw!r} is neither material issued into {order} nor one of its units",
            field="subject",
        )
    return {kind: found}


def _order_action(request: HttpRequest, order: BuildOrder, action: str) -> tuple[str, str]:
    """Do one posted action through ``build``: (message, anchor). Raises what it refuses."""
    user: Any = request.user
    post = request.POST

    def run(fn: Callable[..., Any], **kw: Any) -> Any:
        try:
            return fn(actor=user, **kw)
        except NotAllowed as exc:
            raise PermissionDenied(str(exc)) from None

    if action == "release":
        run(build.release_build_order, order=order)
        return f"{order} released.", "order-status"
    if action == "reserve":
        made = run(build.reserve_material, order=order)
        return f"{len(made)} reservation(s) made for {order}.", "material"
    if action == "issue":
        made = run(build.issue_material, order=order)
        return f"{len(made)} issue(s) to {order}.", "material"
    if action == "sign_operation":
        op = _operation_of(order, post.get("operation", ""))
        run(build.record_operation, order=order, operation=op, note=post.get("note", ""))
        return f"Operation {op.seq} signed.", f"op-{op.seq}"
    if action == "inspect":
        op = _operation_of(order, post.get("operation", ""))
        verdict = post.get("passed", "")
        passed = {"pass": True, "fail": False}.get(verdict)
        result = run(
            build.record_inspection,
            order=order,
            operation=op,
            measurements=_measurements(post),
            passed=passed,
            note=post.get("note", ""),
        )
        word = "passed" if result.passed else "failed"
        return f"Inspection at operation {op.seq} {word}.", f"op-{op.seq}"
    if action == "raise_ncr":
        raw = post.get("operation", "")
        at = _operation_of(order, raw) if raw else None
        ncr = run(
            build.raise_ncr,
            order=order,
            operation=at,
            description=post.get("description", ""),
            **_subject_of(order, post.get("subject", "")),
        )
        return f"{ncr} raised.", f"ncr-{ncr.pk}"
    if action == "disposition_ncr":
        ncr = _ncr_of(order, post.get("ncr", ""))
        run(
            build.disposition_ncr,
            ncr=ncr,
            disposition=post.get("disposition", ""),
            concession=post.get("concession") == "on",
            note=post.get("note", ""),
        )
        return f"{ncr}: disposition recorded.", f"ncr-{ncr.pk}"
    if action == "approve_concession":
        ncr = _ncr_of(order, post.get("ncr", ""))
        run(build.approve_concession, ncr=ncr)
        return f"{ncr}: concession approved.", f"ncr-{ncr.pk}"
    if action == "close_ncr":
        ncr = _ncr_of(order, post.get("ncr", ""))
        run(build.close_ncr, ncr=ncr)
        return f"{ncr} closed.", f"ncr-{ncr.pk}"
    if action == "complete":
        run(build.complete_build_order, order=order)
        return f"{order} completed.", "completion"
    if action == "accept":
        made = run(build.accept_build_order, order=order)
        serials = ", ".join(a.serial for a in made)
        return f"{order} accepted: {serials} in the fleet.", "completion"
    raise RuleViolation(f"unknown action {action!r}", field="action")


@require_http_methods(["GET", "POST"])
def order_detail(request: HttpRequest, pk: int) -> HttpResponse:
    _hub_only(request)
    order = get_restricted_or_404(_order_qs(), request.user, pk=pk)
    error: RuleViolation | None = None
    anchor = ""
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            done, anchor = _order_action(request, order, action)
        except RuleViolation as exc:  # Conflict included
            error = exc
            anchor = _error_anchor(request, action)
        else:
            messages.success(request, done)
            return redirect(reverse("production:order_detail", args=[order.pk]) + f"#{anchor}")
        order = get_restricted_or_404(_order_qs(), request.user, pk=pk)
    return render(
        request,
        "production/order_detail.html",
        _order_context(request, order, error, anchor),
        status=_http_status(error),
    )


def _error_anchor(request: HttpRequest, action: str) -> str:
    """Where a refused action's message shows: its own section of the page."""
    if action in ("sign_operation", "inspect"):
        return "operations"
    if action == "raise_ncr" or action.endswith("_ncr") or action == "approve_concession":
        return "ncrs"
    if action in ("reserve", "issue"):
        return "material"
    if action in ("complete", "accept"):
        return "completion"
    return "order-status"


def _order_context(
    request: HttpRequest, order: BuildOrder, error: RuleViolation | None, error_at: str
) -> dict[str, Any]:
    user: Any = request.user
    signed = {
        p.operation_id: p
        for p in OperationProgress.objects.filter(order=order).select_related("signed_by")
    }
    results: dict[int, list[InspectionResult]] = {}
    for r in InspectionResult.objects.filter(order=order).select_related("inspector"):
        results.setdefault(r.operation_id, []).append(r)
    post = request.POST if error is not None else QueryDict()
    refill = post.get("operation", "") if error is not None else ""
    operations = []
    for op in order.routing.operations.select_related("work_centre").order_by("seq"):
        history = results.get(op.pk, [])
        again = error is not None and refill == str(op.pk)
        operations.append(
            {
                "op": op,
                "signed": signed.get(op.pk),
                "results": history,
                "latest": history[-1] if history else None,
                # the inspection form's rows, with what was typed when it was refused
                "rows": [
                    {k: post.get(f"m-{i}-{k}", "") if again else "" for k in MEASUREMENT_KEYS}
                    | {"i": i}
                    for i in range(INSPECTION_ROWS)
                ],
                "note": post.get("note", "") if again else "",
                "verdict": post.get("passed", "") if again else "",
            }
        )
    needs = [
        {
            "line": n.line,
            "required": _qty(n.required),
            "issued": _qty(n.issued),
            "reserved": _qty(n.reserved),
            "to_issue": _qty(n.to_issue) if n.to_issue > 0 else "",
        }
        for n in build.material(order)
    ]
    working = order.status in build.WORKING
    ncrs = list(
        order.ncrs.select_related(
            "operation", "raised_by", "dispositioned_by", "concession_approved_by", "closed_by"
        ).order_by("number")
    )
    material = build.ncr_material(ncrs)
    for n in ncrs:
        n.m = material[n.pk]  # type: ignore[attr-defined]
    outputs = list(order.outputs.select_related("part", "scrapped_by").order_by("id"))
    may_inspect = role_allows(user.role, Capability.INSPECT_PRODUCTION)
    is_aircraft = order.product.kind == ProductKind.AIRCRAFT and order.product.variant_id
    return {
        "order": order,
        "outputs": outputs,
        "built": [o for o in outputs if o.scrapped_by_id is None],
        "needs": needs,
        "short": [n for n in needs if n["to_issue"]],
        "operations": operations,
        "ncrs": ncrs,
        # the raise form's "non-conforming item" choices
        "subjects": [
            (f"{kind}-{obj.pk}", label, kind) for kind, obj, label in build.ncr_subjects(order)
        ]
        if working and may_inspect
        else [],
        "blockers": build.blockers(order) if working else [],
        # AS9102: the first article of a new part or BOM revision gets its inspection
        "first_article_needed": fai.first_article_needed(order.product.part_number, order.bom),
        "first_articles": order.first_articles.select_related("signed_by").order_by(
            "opened_at", "id"
        ),
        "working": working,
        "is_aircraft": bool(is_aircraft),
        "dispositions": Disposition.choices,
        "may_manage": role_allows(user.role, Capability.MANAGE_PRODUCTION),
        "may_stock": role_allows(user.role, Capability.MANAGE_STOCK),
        "may_perform": role_allows(user.role, Capability.PERFORM_PRODUCTION),
        "may_inspect": may_inspect,
        "may_approve": user.role in build.CONCESSION_APPROVERS,
        "error": error,
        "error_at": error_at,
        "posted": request.POST if error else {},
    }


def ncr_list(request: HttpRequest) -> HttpResponse:
    """Every NCR; ``?status=open|closed``, ``?order=NUMBER``, ``?disposition=...``
    (``none``: not dispositioned yet)."""
    _hub_only(request)
    f = {k: request.GET.get(k, "") for k in ("status", "order", "disposition")}
    qs = NonConformance.objects.restrict(request.user).select_related(
        "order__product", "operation", "raised_by"
    )
    if f["status"] in NcrStatus.values:
        qs = qs.filter(status=f["status"])
    if f["order"]:
        qs = qs.filter(order__number=f["order"])
    if f["disposition"] == "none":
        qs = qs.filter(disposition="")
    elif f["disposition"] in Disposition.values:
        qs = qs.filter(disposition=f["disposition"])
    ncrs = list(qs.order_by("-raised_at", "-id"))
    material = build.ncr_material(ncrs)
    for n in ncrs:
        n.m = material[n.pk]  # type: ignore[attr-defined]
    return render(
        request,
        "production/ncr_list.html",
        {
            "ncrs": ncrs,
            "filters": f,
            "statuses": NcrStatus.choices,
            "dispositions": Disposition.choices,
            "orders": BuildOrder.objects.restrict(request.user)
            .filter(ncrs__isnull=False)
            .distinct()
            .order_by("number")
            .values_list("number", flat=True),
        },
    )
