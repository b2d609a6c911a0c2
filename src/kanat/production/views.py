"""Engineering data pages (hub staff only; operator staff get 403): the BOM revisions of
each assembly, a revision's multi-level tree with its comparison to another revision, and
a routing."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from kanat.core.tenancy import get_restricted_or_404
from kanat.production import selectors
from kanat.production.models import Bom, Routing
from kanat.production.structure import CycleError


def _hub_only(request: HttpRequest) -> None:
    if request.user.operator_id is not None:  # type: ignore[union-attr]
        raise PermissionDenied("engineering data is read by hub staff only")


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
    other_id = request.GET.get("with", "")
    if other_id.isdigit():
        other = Bom.objects.filter(pk=int(other_id)).select_related("part_number").first()
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
