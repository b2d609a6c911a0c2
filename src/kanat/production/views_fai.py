"""First-article inspection pages (AS9102; hub staff only, operator staff get 403): the
list of first articles (``?status=``, ``?pn=``, ``?product=``, ``?order=``) with the form
that opens one, and a first article as its three forms, printed as an auditor knows them
(Form 1 part number accountability, Form 2 product accountability, Form 3 characteristic
accountability), with the forms that fill it and sign it off.

Every form is a plain POST calling ``kanat.production.fai``; a service's ``RuleViolation``
comes back next to its form with status 400 (409 for a ``Conflict``) and what was typed,
a refused role (``NotAllowed``) the same way with 403.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from kanat.core.errors import NotAllowed, RuleViolation
from kanat.core.ids import as_id
from kanat.core.models import Hub
from kanat.core.roles import Capability, role_allows
from kanat.core.tenancy import get_restricted_or_404
from kanat.fleet.models import PartNumber
from kanat.production import fai
from kanat.production.models import (
    Bom,
    BuildConsumption,
    BuildOrder,
    FaiReason,
    FaiScope,
    FaiStatus,
    FirstArticle,
    FirstArticleCharacteristic,
    Form2Kind,
    PartMaster,
    Product,
)
from kanat.production.views import _http_status, _hub_only, page_links

FAI_PAGE_SIZE = 50
OPEN_FIELDS = (
    "part_number",
    "serial",
    "reason",
    "organisation",
    "build_order",
    "bom",
    "scope",
    "partial_reason",
    "baseline",
    "drawing_number",
)


class Refused(RuleViolation):
    """A ``NotAllowed`` shown on the page (status 403) like a broken rule."""


def _run(fn: Callable[..., Any], **kw: Any) -> Any:
    try:
        return fn(**kw)
    except NotAllowed as exc:
        raise Refused(str(exc)) from None


def _status(error: RuleViolation | None) -> int:
    return 403 if isinstance(error, Refused) else _http_status(error)


def _verdict(raw: str) -> bool | None:
    """The verdict select: ``pass``/``fail``, empty for "from the limits"."""
    return {"pass": True, "fail": False}.get(raw)


def _whole(raw: str) -> Any:
    """A whole number from a form field, or the text itself for the service to refuse."""
    try:
        return int(raw)
    except ValueError:
        return raw


# --- the list and opening a first article ------------------------------------------------


def _open_from_post(request: HttpRequest) -> FirstArticle:
    """Open a first article from the list page's form (names resolved as the caller may
    see them; the service checks the rest)."""
    user: Any = request.user
    post = request.POST
    pn_text = post.get("part_number", "").strip()
    part_number = PartNumber.objects.restrict(user).filter(pn=pn_text).first()
    if part_number is None:
        raise RuleViolation(
            f"part number {pn_text!r} does not exist" if pn_text else "part_number is required",
            field="part_number",
        )
    order_text = post.get("build_order", "").strip()
    order = None
    if order_text:
        order = BuildOrder.objects.restrict(user).filter(number=order_text).first()
        if order is None:
            raise RuleViolation(f"build order {order_text!r} does not exist", field="build_order")
    rev = post.get("bom", "").strip()
    bom = None
    if rev:
        bom = Bom.objects.restrict(user).filter(part_number=part_number, revision=rev).first()
        if bom is None:
            raise RuleViolation(f"{part_number.pn} has no BOM revision {rev!r}", field="bom")
    base_text = post.get("baseline", "").strip()
    baseline = None
    if base_text:
        baseline = FirstArticle.objects.restrict(user).filter(number=base_text).first()
        if baseline is None:
            raise RuleViolation(f"first article {base_text!r} does not exist", field="baseline")
    return _run(
        fai.open_first_article,
        actor=user,
        part_number=part_number,
        serial=post.get("serial", ""),
        reason=post.get("reason", ""),
        organisation=post.get("organisation", ""),
        bom=bom,
        build_order=order,
        scope=post.get("scope", "") or FaiScope.FULL,
        partial_reason=post.get("partial_reason", ""),
        baseline=baseline,
        drawing_number=post.get("drawing_number", ""),
    )


def _prefill(request: HttpRequest, order: BuildOrder | None) -> dict[str, str]:
    """The open form's values: what was typed when it was refused, else (with
    ``?order=NUMBER``) that build order's part number, BOM revision and first serial."""
    if request.method == "POST":
        return {k: request.POST.get(k, "") for k in OPEN_FIELDS}
    hub = Hub.objects.first()
    out = dict.fromkeys(OPEN_FIELDS, "") | {
        "organisation": hub.name if hub else "",
        "reason": FaiReason.NEW_PART,
        "scope": FaiScope.FULL,
    }
    if order is not None:
        pn = order.product.part_number
        first = order.outputs.filter(scrapped_by__isnull=True).order_by("id").first()
        earlier = FirstArticle.objects.filter(part_number=pn, status=FaiStatus.ACCEPTED)
        out |= {
            "part_number": pn.pn,
            "build_order": order.number,
            "bom": order.bom.revision,
            "serial": first.serial if first else "",
            "reason": FaiReason.NEW_BOM_REVISION if earlier.exists() else FaiReason.NEW_PART,
        }
    return out


@require_http_methods(["GET", "POST"])
def fai_list(request: HttpRequest) -> HttpResponse:
    """First articles, newest first, with their Form 3 tally; filtered by ``?status=``,
    ``?pn=`` (part number), ``?product=CODE`` and ``?order=NUMBER``. The form at the foot
    opens one (pre-filled from ``?order=``)."""
    _hub_only(request)
    user: Any = request.user
    may_inspect = role_allows(user.role, Capability.INSPECT_PRODUCTION)
    error: RuleViolation | None = None
    if request.method == "POST":
        try:
            record = _open_from_post(request)
        except RuleViolation as exc:
            error = exc
        else:
            messages.success(request, f"{record.number} opened.")
            return redirect("production:fai_detail", pk=record.pk)
    filters = {k: request.GET.get(k, "").strip() for k in ("status", "pn", "product", "order")}
    qs = (
        FirstArticle.objects.restrict(user)
        .select_related("part_number", "bom", "build_order", "opened_by", "signed_by")
        .annotate(
            n_characteristics=Count("characteristics", distinct=True),
            n_passed=Count(
                "characteristics", filter=Q(characteristics__passed=True), distinct=True
            ),
            n_failed=Count(
                "characteristics", filter=Q(characteristics__passed=False), distinct=True
            ),
            n_form2=Count("materials", distinct=True),
        )
        .order_by("-opened_at", "-id")
    )
    if filters["status"] in FaiStatus.values:
        qs = qs.filter(status=filters["status"])
    if filters["pn"]:
        qs = qs.filter(part_number__pn=filters["pn"])
    if filters["product"]:
        qs = qs.filter(part_number__product__code=filters["product"])
    order = None
    if filters["order"]:
        qs = qs.filter(build_order__number=filters["order"])
        order = (
            BuildOrder.objects.restrict(user)
            .select_related("product__part_number", "bom")
            .filter(number=filters["order"])
            .first()
        )
    page = Paginator(qs, FAI_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "production/fai_list.html",
        {
            "page": page,
            "pages": page_links(page, filters),
            "filters": filters,
            "statuses": FaiStatus.choices,
            "products": Product.objects.order_by("code"),
            "part_masters": PartMaster.objects.select_related("part_number").order_by(
                "part_number__pn"
            ),
            "reasons": FaiReason.choices,
            "scopes": FaiScope.choices,
            "may_inspect": may_inspect,
            "form": _prefill(request, order),
            "error": error,
            "error_at": "open" if may_inspect else "top",
        },
        status=_status(error),
    )


# --- one first article: forms 1-3 --------------------------------------------------------


def _fai_qs() -> Any:
    return FirstArticle.objects.select_related(
        "part_number",
        "bom",
        "build_order__routing",
        "baseline",
        "opened_by",
        "signed_by",
    )


def _characteristic_of(record: FirstArticle, raw: str) -> FirstArticleCharacteristic:
    found = record.characteristics.filter(pk=as_id(raw)).first()
    if found is None:
        raise RuleViolation(
            f"characteristic {raw!r} is not on {record.number}", field="characteristic"
        )
    return found


def _fai_action(request: HttpRequest, record: FirstArticle, action: str) -> tuple[str, str]:
    """Do one posted action through ``fai``: (message, anchor). Raises what it refuses."""
    user: Any = request.user
    post = request.POST
    if action == "add_form2":
        entry = _run(
            fai.add_form2_entry,
            actor=user,
            fai=record,
            kind=post.get("kind", ""),
            name=post.get("name", ""),
            specification=post.get("specification", ""),
            code=post.get("code", ""),
            supplier=post.get("supplier", ""),
            certificate_ref=post.get("certificate_ref", ""),
        )
        return f"Form 2: {entry.get_kind_display().lower()} {entry.name} added.", "form2"
    if action == "add_characteristic":
        c = _run(
            fai.add_characteristic,
            actor=user,
            fai=record,
            number=_whole(post.get("number", "").strip()),
            requirement=post.get("requirement", ""),
            reference_location=post.get("reference_location", ""),
            nominal=post.get("nominal", "").strip() or None,
            tolerance_minus=post.get("tolerance_minus", "").strip() or None,
            tolerance_plus=post.get("tolerance_plus", "").strip() or None,
            unit=post.get("unit", ""),
            result=post.get("result", "").strip(),
            passed=_verdict(post.get("passed", "")),
            tool=post.get("tool", ""),
        )
        return f"Form 3: characteristic {c.number} added.", f"char-{c.number}"
    if action == "record_result":
        c = _characteristic_of(record, post.get("characteristic", ""))
        c = _run(
            fai.record_result,
            actor=user,
            characteristic=c,
            result=post.get("result", ""),
            passed=_verdict(post.get("passed", "")),
            tool=post.get("tool", ""),
            ncr_ref=post.get("ncr_ref", ""),
        )
        word = "conforms" if c.passed else "does not conform"
        return f"Characteristic {c.number}: {c.result} {word}.", f"char-{c.number}"
    if action == "accept":
        _run(fai.accept_first_article, actor=user, fai=record)
        return f"{record.number} accepted.", "signoff"
    if action == "reject":
        _run(fai.reject_first_article, actor=user, fai=record, reason=post.get("reason", ""))
        return f"{record.number} rejected.", "signoff"
    raise RuleViolation(f"unknown action {action!r}", field="action")


def _error_anchor(request: HttpRequest, action: str) -> str:
    """Where a refused action's message shows: next to its own form."""
    if action == "add_form2":
        return "add-form2"
    if action == "add_characteristic":
        return "add-characteristic"
    if action == "record_result":
        return f"result-{request.POST.get('characteristic', '')}"
    if action in ("accept", "reject"):
        return "signoff"
    return "fai-status"


@require_http_methods(["GET", "POST"])
def fai_detail(request: HttpRequest, pk: int) -> HttpResponse:
    _hub_only(request)
    record = get_restricted_or_404(_fai_qs(), request.user, pk=pk)
    error: RuleViolation | None = None
    error_at = ""
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            done, anchor = _fai_action(request, record, action)
        except RuleViolation as exc:  # Conflict and Refused included
            error = exc
            error_at = _error_anchor(request, action)
        else:
            messages.success(request, done)
            return redirect(reverse("production:fai_detail", args=[record.pk]) + f"#{anchor}")
        record = get_restricted_or_404(_fai_qs(), request.user, pk=pk)
    return render(
        request,
        "production/fai_detail.html",
        _fai_context(request, record, error, error_at),
        status=_status(error),
    )


def _components(record: FirstArticle) -> list[dict[str, Any]]:
    """Form 1 fields 15-18 of an assembly: each BOM line's part number and name, the
    serials or batches built into this serial (from its build order's consumptions) and
    the accepted first article of that part number at its current drawing revision. What an
    NCR's scrap disposition scrapped is not in the serial (its replacement is)."""
    if record.bom_id is None:
        return []
    lines = list(record.bom.lines.select_related("child").order_by("find_number"))
    used: dict[int, list[str]] = defaultdict(list)
    if record.build_order_id is not None:
        for c in (
            BuildConsumption.objects.filter(
                order_id=record.build_order_id, output__serial=record.serial, scrap__isnull=True
            )
            .select_related("part")
            .order_by("id")
        ):
            used[c.part_number_id].append(c.part.serial if c.part_id else c.batch)
    revisions = dict(
        PartMaster.objects.filter(part_number__in=[x.child_id for x in lines]).values_list(
            "part_number_id", "revision"
        )
    )
    accepted: dict[int, str] = {}
    for pn_id, rev, number in (
        FirstArticle.objects.filter(
            part_number__in=[x.child_id for x in lines], status=FaiStatus.ACCEPTED
        )
        .order_by("signed_at", "id")
        .values_list("part_number_id", "part_revision", "number")
    ):
        if revisions.get(pn_id) == rev:
            accepted[pn_id] = number  # the latest wins
    return [
        {
            "line": x,
            "serials": [s for s in used.get(x.child_id, []) if s],
            "fai": accepted.get(x.child_id, ""),
        }
        for x in lines
    ]


def _fai_context(
    request: HttpRequest, record: FirstArticle, error: RuleViolation | None, error_at: str
) -> dict[str, Any]:
    user: Any = request.user
    posted = request.POST if error is not None else QueryDict()
    action = posted.get("action", "")
    characteristics = list(record.characteristics.select_related("recorded_by").order_by("number"))
    refill = posted.get("characteristic", "") if action == "record_result" else ""
    rows = [
        {
            "c": c,
            "anchor": f"result-{c.pk}",
            # the result form, with what was typed when it was refused
            "typed": {k: posted.get(k, "") for k in ("result", "passed", "tool", "ncr_ref")}
            if refill == str(c.pk)
            else {"result": "", "passed": "", "tool": c.tool, "ncr_ref": c.ncr_ref},
        }
        for c in characteristics
    ]
    is_open = record.status == FaiStatus.OPEN
    may_inspect = role_allows(user.role, Capability.INSPECT_PRODUCTION)
    shown = {"fai-status", "signoff"}
    if is_open and may_inspect:
        shown |= {"add-form2", "add-characteristic", *(row["anchor"] for row in rows)}
    if error_at not in shown:  # its form is not on the page (any more): say it at the top
        error_at = "fai-status"
    materials = list(record.materials.order_by("id"))
    return {
        "fai": record,
        "components": _components(record),
        "materials": [m for m in materials if m.kind != Form2Kind.FUNCTIONAL_TEST],
        "tests": [m for m in materials if m.kind == Form2Kind.FUNCTIONAL_TEST],
        "rows": rows,
        "problems": fai.open_problems(record) if is_open else [],
        "is_open": is_open,
        "kinds": Form2Kind.choices,
        "may_inspect": may_inspect,
        "may_sign": user.role in fai.SIGNING_ROLES,
        "next_number": (characteristics[-1].number + 1) if characteristics else 1,
        "error": error,
        "error_at": error_at,
        "posted": posted if action in ("add_form2", "add_characteristic", "reject") else {},
    }
