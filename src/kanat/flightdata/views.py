"""Flight log pages: the list, the upload (with a progress bar), a log with its flights,
findings and charts. Every query goes through restrict()."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import TemporaryUploadedFile, UploadedFile
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from kanat.core.errors import Conflict, NotAllowed, RuleViolation
from kanat.core.roles import Capability, role_allows
from kanat.core.tenancy import get_restricted_or_404
from kanat.flightdata import plots
from kanat.flightdata.forms import UploadForm
from kanat.flightdata.models import Finding, FlightLog
from kanat.flightdata.services import finding_ref, import_flight_log, raise_finding_defect
from kanat.work.models import Defect

# the ATA chapter a defect raised from a finding starts with (the form lets people change it)
FINDING_ATA = {"BATTERY_LOW": "24", "OVERCURRENT": "24"}
FINDING_ATA_DEFAULT = "05-50"  # unscheduled maintenance checks (overspeed, hard landing...)


def log_list(request: HttpRequest) -> HttpResponse:
    qs = FlightLog.objects.restrict(request.user).select_related("aircraft")
    serial = request.GET.get("aircraft", "")
    if serial:
        qs = qs.filter(aircraft__serial=serial)
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "flightdata/log_list.html",
        {
            "page": page,
            "serial": serial,
            "may_upload": role_allows(request.user.role, Capability.RECORD_FLIGHT),
        },
    )


def _stored_path(upload: UploadedFile) -> str:
    """A path to the uploaded bytes (large uploads are already a temporary file)."""
    if isinstance(upload, TemporaryUploadedFile):
        return upload.temporary_file_path()
    raise ValueError("uploads are kept as temporary files (FILE_UPLOAD_HANDLERS)")


def upload(request: HttpRequest) -> HttpResponse:
    if not role_allows(request.user.role, Capability.RECORD_FLIGHT):
        raise PermissionDenied("your role may not record flights")
    form = UploadForm(request.POST or None, request.FILES or None, user=request.user)
    wants_json = request.headers.get("Accept", "").startswith("application/json")
    if request.method == "POST" and form.is_valid():
        upload_file = form.cleaned_data["file"]
        try:
            log, created = import_flight_log(
                actor=request.user,
                aircraft=form.cleaned_data["aircraft"],
                path=_stored_path(upload_file),
                name=upload_file.name,
            )
        except NotAllowed as exc:
            raise PermissionDenied(str(exc)) from None
        except RuleViolation as exc:  # Conflict included
            status = 409 if isinstance(exc, Conflict) else 400
            if wants_json:
                return JsonResponse({"error": exc.message}, status=status)
            form.add_error("file", exc.message)
        else:
            url = reverse("flightdata:log_detail", args=[log.pk])
            note = "imported" if created else "already imported (nothing changed)"
            if wants_json:
                return JsonResponse({"url": url, "created": created, "message": note})
            messages.success(request, f"{log.name}: {note}.")
            return redirect(url)
    elif request.method == "POST" and wants_json:
        errors = "; ".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items())
        return JsonResponse({"error": errors}, status=400)
    return render(request, "flightdata/upload.html", {"form": form})


def log_detail(request: HttpRequest, pk: int) -> HttpResponse:
    log = get_restricted_or_404(FlightLog.objects.select_related("aircraft"), request.user, pk=pk)
    findings = list(log.findings.select_related("raised__task", "flight").order_by("t_s"))
    refs = {finding_ref(x, log): x for x in findings}
    raised = Defect.objects.restrict(request.user).filter(source_ref__in=list(refs))
    for x in findings:
        x.defect = None
        x.defect_ata = FINDING_ATA.get(x.code, FINDING_ATA_DEFAULT)
    for d in raised:
        refs[d.source_ref].defect = d
    return render(
        request,
        "flightdata/log_detail.html",
        {
            "log": log,
            "s": log.summary,
            "flights": log.flights().order_by("takeoff"),
            "findings": findings,
            "charts": plots.charts(log),
        },
    )


def finding_defect(request: HttpRequest, pk: int) -> HttpResponse:
    """Raise a defect from a flight-log finding (POST), then back to the log."""
    if request.method != "POST":
        return HttpResponse(status=405, headers={"Allow": "POST"})
    finding = get_restricted_or_404(
        Finding.objects.select_related("log", "aircraft"), request.user, pk=pk
    )
    log = finding.log
    url = reverse("flightdata:log_detail", args=[log.pk])
    try:
        defect, created = raise_finding_defect(
            actor=request.user,
            finding=finding,
            ata=request.POST.get("ata") or FINDING_ATA.get(finding.code, FINDING_ATA_DEFAULT),
            description=request.POST.get("description") or "",
        )
    except NotAllowed as exc:
        raise PermissionDenied(str(exc)) from None
    except RuleViolation as exc:
        messages.error(request, f"No defect raised: {exc.message}")
        return redirect(url)
    if not created:
        messages.info(request, f"{defect.number} was already raised from this finding.")
        return redirect(url)
    messages.success(
        request,
        f"{defect.number} raised: it grounds {finding.aircraft} until it is deferred or rectified.",
    )
    return redirect(url)
