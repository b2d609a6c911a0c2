"""Pages of maintenance execution: the package board, a package, the tablet task card (and
its printable PDF), the defect list and a defect.

Every page reads through ``restrict(request.user)`` (another operator's object is a 404)
and changes things only through ``kanat.work.services``. Actions are plain POST forms
(the pages work without JavaScript); a service's ``RuleViolation`` comes back on the page
as a form error with status 400 (409 for a ``Conflict``), a refused role as a 403.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Prefetch, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.http import urlencode
from django.views.decorators.http import require_http_methods, require_POST

from kanat.core.errors import Conflict, NoAuthority, NotAllowed, RuleViolation
from kanat.core.ids import as_id
from kanat.core.models import Operator, User
from kanat.core.roles import Capability, Role, role_allows
from kanat.core.tenancy import get_restricted_or_404
from kanat.fleet.models import Aircraft, Installation, Part
from kanat.inventory import services as stores
from kanat.inventory.forms import ToStoresForm
from kanat.inventory.models import StockItem
from kanat.maintenance import forecasting
from kanat.maintenance.models import Task
from kanat.people.models import Authorisation, Privilege
from kanat.people.services import chapter_of, signing_authority
from kanat.training import selectors as training
from kanat.training.models import StageGrant, Trainee
from kanat.work import selectors, services
from kanat.work.forms import (
    CardSignForm,
    CorrectionForm,
    CountersignForm,
    DeclineForm,
    DefectForm,
    DeferForm,
    PackageForm,
    ReleaseForm,
    StepSignForm,
    SupervisedStepForm,
)
from kanat.work.models import (
    CardStatus,
    Defect,
    DefectStatus,
    PackageStatus,
    SignOff,
    SignOffKind,
    StepKind,
    SupervisedStep,
    TaskCard,
    TaskStep,
    WorkPackage,
)

# --- helpers ---------------------------------------------------------------------------


def may(user: Any, capability: str) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and role_allows(user.role, capability)


def _call(fn: Callable[..., Any], **kw: Any) -> tuple[Any, RuleViolation | None]:
    """Run a service: its value, or the rule it refused on. A refused role is a 403."""
    try:
        return fn(**kw), None
    except NotAllowed as exc:
        raise PermissionDenied(str(exc)) from None
    except RuleViolation as exc:  # Conflict and NoAuthority included
        return None, exc


def _status(exc: RuleViolation | None) -> int:
    if exc is None:
        return 200
    return 409 if isinstance(exc, Conflict) else 400


def authority_refusal(
    user: Any, privilege: str, aircraft: Aircraft, ata: str, at: dt.datetime
) -> str | None:
    """Why ``user`` may not sign ``privilege`` on this aircraft's type and chapter now
    (``signing_authority``'s reason), or None when they may. A read for the page, so that
    nobody finds out on the click; the service checks again when they sign."""
    try:
        signing_authority(
            signer=user,
            privilege=privilege,
            aircraft_type=aircraft.variant.aircraft_type,
            ata=ata,
            at=at,
        )
    except NoAuthority as exc:
        return exc.message
    except RuleViolation as exc:  # an ATA without a chapter: the service refuses it too
        return exc.message
    return None


def parse_refs(values: list[str], aircraft: Aircraft, user: Any) -> list[services.DueRef]:
    """Due items chosen on a page, each ``TASKCODE|PART_ID`` (part empty for an aircraft
    task), as the service's ``DueRef``s."""
    refs = []
    for value in values:
        code, _, part_id = value.rpartition("|")
        if not code:
            code, part_id = value, ""
        task = Task.objects.filter(code=code).first()
        if task is None:
            raise RuleViolation(f"no task {code!r} in the programme", field="items")
        part = None
        if part_id:
            part = Part.objects.restrict(user).filter(pk=as_id(part_id))
            part = part.select_related("part_number").first()
            if part is None:
                raise RuleViolation(f"no part {part_id!r} for task {code}", field="items")
        refs.append(services.DueRef(task, part))
    return refs


def chosen_defects(values: list[str], aircraft: Aircraft, user: Any) -> list[Defect]:
    ids = [as_id(v) for v in values]
    found = list(Defect.objects.restrict(user).filter(pk__in=ids, aircraft=aircraft))
    if len(found) != len(set(ids)):
        raise RuleViolation(f"a chosen defect is not on {aircraft.serial}", field="defects")
    return sorted(found, key=lambda d: d.number)


def open_defects(aircraft: Aircraft, user: Any, at: dt.datetime) -> list[Defect]:
    """The aircraft's open and deferred defects, each with its clock and whether a card
    not yet released already carries it."""
    busy = set(
        TaskCard.objects.filter(package__aircraft=aircraft, defect__isnull=False)
        .exclude(package__status=PackageStatus.RELEASED)
        .values_list("defect_id", flat=True)
    )
    rows = list(
        Defect.objects.restrict(user)
        .filter(aircraft=aircraft, status__in=[DefectStatus.OPEN, DefectStatus.DEFERRED])
        .order_by("number")
    )
    for d in rows:
        d.clock = selectors.clock(d, at)  # type: ignore[attr-defined]
        d.on_card = d.pk in busy  # type: ignore[attr-defined]
    return rows


def due_choices(aircraft: Aircraft, user: Any, at: dt.datetime) -> list[Any]:
    """The aircraft's due items (the forecast's rows) not already on a card of a package
    not yet released, for adding to a package."""
    result = forecasting.forecast(
        user=user, as_of=at, aircraft=Aircraft.objects.filter(pk=aircraft.pk), stores=False
    )
    taken = set(
        TaskCard.objects.filter(package__aircraft=aircraft, task__isnull=False)
        .exclude(package__status=PackageStatus.RELEASED)
        .values_list("task__code", "part_id")
    )
    return [r for r in result.rows if (r.task_code, r.part_pk) not in taken]


# --- the board -------------------------------------------------------------------------


RELEASED_DAYS = 30  # the board's released column: packages released in the last 30 days


def board(request: HttpRequest) -> HttpResponse:
    """Packages by status. The released column keeps the last ``RELEASED_DAYS`` days, or
    every released package with ``?released=all``."""
    qs = WorkPackage.objects.restrict(request.user)
    hub_staff = request.user.operator_id is None  # type: ignore[union-attr]
    f = {k: request.GET.get(k, "") for k in ("operator", "aircraft", "released")}
    if f["released"] != "all":
        f["released"] = ""
    if f["operator"] and hub_staff:
        qs = qs.filter(aircraft__operator__code=f["operator"])
    if f["aircraft"]:
        qs = qs.filter(aircraft__serial=f["aircraft"])
    since = None if f["released"] else timezone.now() - dt.timedelta(days=RELEASED_DAYS)
    aircraft = Aircraft.objects.restrict(request.user).filter(packages__isnull=False).distinct()
    serials = list(aircraft.order_by("serial").values_list("serial", flat=True))
    if f["aircraft"] and f["aircraft"] not in serials:
        serials.insert(0, f["aircraft"])  # an aircraft with no package yet: keep the choice
    kept = {k: v for k, v in f.items() if v and k != "released"}
    return render(
        request,
        "work/board.html",
        {
            "columns": selectors.board(qs, since),
            "released_days": RELEASED_DAYS,
            "filters": f,
            "all_released_url": "?" + urlencode({**kept, "released": "all"}),
            "recent_released_url": "?" + urlencode(kept) if kept else "?",
            "hub_staff": hub_staff,
            "operators": Operator.objects.restrict(request.user).order_by("code"),
            "aircraft_serials": serials,
        },
    )


# --- packages --------------------------------------------------------------------------


@require_POST
def package_create(request: HttpRequest) -> HttpResponse:
    """A package from the due items and defects ticked on an aircraft's due page."""
    if not may(request.user, Capability.PLAN_WORK):
        raise PermissionDenied("your role may not plan work packages")
    aircraft = get_restricted_or_404(
        Aircraft.objects.select_related("operator", "variant"),
        request.user,
        pk=request.POST.get("aircraft", ""),
    )
    form = PackageForm(request.POST)
    item_values = request.POST.getlist("item")
    defect_values = request.POST.getlist("defect")
    error: RuleViolation | None = None
    if not item_values and not defect_values:
        # no empty drafts: a package is made from what was ticked on the due page
        form.is_valid()
        error = RuleViolation(
            "tick at least one due item or defect on the aircraft's due list: "
            "a package is made from them",
            field="items",
        )
        form.add_service_error(error)
    elif form.is_valid():
        try:
            items = parse_refs(item_values, aircraft, request.user)
            defects = chosen_defects(defect_values, aircraft, request.user)
        except RuleViolation as exc:
            error = exc
        else:
            package, error = _call(
                services.create_package,
                actor=request.user,
                aircraft=aircraft,
                title=form.cleaned_data["title"],
                items=items,
                defects=defects,
                planned_start=form.cleaned_data["planned_start"],
                planned_end=form.cleaned_data["planned_end"],
            )
            if error is None:
                messages.success(
                    request, f"{package.number} created with {package.cards.count()} card(s)."
                )
                return redirect("work:package_detail", package.pk)
        assert error is not None
        form.add_service_error(error)
    return render(
        request,
        "work/package_new.html",
        {
            "aircraft": aircraft,
            "form": form,
            "items": [(v, _item_label(v, request.user)) for v in item_values],
            "defects": chosen_defects_or_none(defect_values, aircraft, request.user),
            "nothing_chosen": not item_values and not defect_values,
        },
        status=_status(error) if error else 400,
    )


def _item_label(value: str, user: Any) -> str:
    code, _, part_id = value.rpartition("|")
    part = Part.objects.restrict(user).filter(pk=as_id(part_id)).first()
    return f"{code or value} on {part}" if part else (code or value)


def chosen_defects_or_none(values: list[str], aircraft: Aircraft, user: Any) -> list[Defect]:
    ids = [i for i in map(as_id, values) if i]
    return list(Defect.objects.restrict(user).filter(pk__in=ids, aircraft=aircraft))


def _package_qs() -> QuerySet[WorkPackage]:
    return WorkPackage.objects.select_related(
        "aircraft__operator", "aircraft__variant__aircraft_type", "created_by"
    )


@require_http_methods(["GET", "POST"])
def package_detail(request: HttpRequest, pk: int) -> HttpResponse:
    package = get_restricted_or_404(_package_qs(), request.user, pk=pk)
    release_form = ReleaseForm(request.POST if request.POST.get("action") == "release" else None)
    error: RuleViolation | None = None
    if request.method == "POST":
        action = request.POST.get("action", "")
        done = ""
        if action == "open":
            _, error = _call(services.open_package, actor=request.user, package=package)
            done = f"{package.number} is open: its cards are issued to the hangar."
        elif action == "add_cards":
            try:
                items = parse_refs(request.POST.getlist("item"), package.aircraft, request.user)
                defects = chosen_defects(
                    request.POST.getlist("defect"), package.aircraft, request.user
                )
            except RuleViolation as exc:
                error = exc
            else:
                cards, error = _call(
                    services.add_cards,
                    actor=request.user,
                    package=package,
                    items=items,
                    defects=defects,
                )
                done = f"{len(cards or [])} card(s) added to {package.number}."
        elif action == "release":
            if release_form.is_valid():
                _, error = _call(
                    services.release_package,
                    actor=request.user,
                    package=package,
                    statement=release_form.cleaned_data["statement"],
                )
                done = f"{package.number} released to service."
                if error is not None:
                    release_form.add_service_error(error)
            else:
                error = RuleViolation("check the release form", field="statement")
        else:
            error = RuleViolation(f"unknown action {action!r}", field="action")
        if error is None:
            messages.success(request, done)
            return redirect("work:package_detail", package.pk)
        package = get_restricted_or_404(_package_qs(), request.user, pk=pk)
    return render(
        request,
        "work/package_detail.html",
        _package_context(request, package, release_form=release_form, error=error),
        status=_status(error),
    )


def _package_context(
    request: HttpRequest,
    package: WorkPackage,
    *,
    release_form: ReleaseForm,
    error: RuleViolation | None,
) -> dict[str, Any]:
    user = request.user
    now = timezone.now()
    signoffs = SignOff.objects.select_related("signer", "step", "part__part_number").order_by(
        "signed_at", "id"
    )
    cards = list(
        package.cards.select_related("task", "part__part_number", "defect").prefetch_related(
            "steps", Prefetch("signoffs", queryset=signoffs)
        )
    )
    for card in cards:
        standing = [s for s in card.signoffs.all() if not _corrected(s, card)]
        by_step = {s.step_id: s for s in standing if s.kind == SignOffKind.STEP}
        card.step_rows = [(step, by_step.get(step.pk)) for step in card.steps.all()]
        card.card_signoff = next((s for s in standing if s.kind == SignOffKind.CARD), None)
        card.inspection = next((s for s in standing if s.kind == SignOffKind.INSPECTION), None)
    may_plan = may(user, Capability.PLAN_WORK)
    may_perform = may(user, Capability.PERFORM_WORK)
    editable = package.status in services.EDITABLE
    # the defects this work found: one still open, not deferred and not rectified by a card
    # of this package blocks the release (release_package's rule, read here beforehand)
    rectified_here = {c.defect_id: c for c in cards if c.defect_id}
    raised = list(
        Defect.objects.restrict(user)
        .filter(step__card__package=package)
        .select_related("step__card")
        .order_by("number")
    )
    blocking = set(selectors.release_blockers(package).values_list("pk", flat=True))
    for d in raised:
        d.clock = selectors.clock(d, now)  # type: ignore[attr-defined]
        d.rectified_by = rectified_here.get(d.pk)  # type: ignore[attr-defined]
        d.blocks = d.pk in blocking  # type: ignore[attr-defined]
    blockers = [d for d in raised if d.blocks]  # type: ignore[attr-defined]
    release_refusal = None
    if package.status == PackageStatus.COMPLETED and may_perform:
        chapters = sorted({_chapter(c.ata) for c in cards})
        reasons = [
            authority_refusal(user, Privilege.RELEASE, package.aircraft, chapter, now)
            for chapter in chapters
        ]
        release_refusal = "; ".join(dict.fromkeys(r for r in reasons if r)) or None
    release = None
    compliances: list[Any] = []
    if package.status == PackageStatus.RELEASED:
        release = package.release
        compliances = list(
            release.compliances.select_related("task", "aircraft", "part__part_number").order_by(
                "task__code"
            )
        )
    return {
        "package": package,
        "cards": cards,
        "error": error,
        "release_form": release_form,
        "release": release,
        "compliances": compliances,
        "may_plan": may_plan,
        "may_perform": may_perform,
        "editable": editable,
        "raised": raised,
        "blockers": blockers,
        "release_refusal": release_refusal,
        "standard_statement": services.STANDARD_STATEMENT,  # signed when left empty
        "due_rows": due_choices(package.aircraft, user, now) if may_plan and editable else [],
        "defects": (
            [d for d in open_defects(package.aircraft, user, now) if not d.on_card]  # type: ignore[attr-defined]
            if may_plan and editable
            else []
        ),
    }


def _chapter(ata: str) -> str:
    try:
        return chapter_of(ata)
    except RuleViolation:
        return ata  # signing_authority names the fault


def _corrected(signoff: SignOff, card: TaskCard) -> bool:
    """Whether a later sign-off of the card corrects this one (from the prefetched rows)."""
    return any(s.corrects_id == signoff.pk for s in card.signoffs.all())


# --- the task card ---------------------------------------------------------------------


def _card_qs() -> QuerySet[TaskCard]:
    return TaskCard.objects.select_related(
        "package__aircraft__operator",
        "package__aircraft__variant__aircraft_type",
        "task",
        "revision",
        "part__part_number",
        "defect",
    )


def install_choices(step: TaskStep, card: TaskCard, user: Any) -> QuerySet[Part]:
    """Serviceable parts in stores for an installation step: of a part number the position
    accepts, owned by the aircraft's operator or the hub's pool, fitted nowhere, and not
    the part this card took off."""
    aircraft = card.package.aircraft
    qs = Part.objects.restrict(user).select_related("part_number")
    if step.position_id is not None:
        qs = qs.filter(part_number__positions=step.position_id)
    elif card.part_id is not None:
        qs = qs.filter(part_number=card.part.part_number_id)  # type: ignore[union-attr]
    else:
        return qs.none()
    fitted = Installation.objects.filter(removed_at__isnull=True).values("part_id")
    removed_here = SignOff.objects.filter(
        card=card, step__kind=StepKind.REMOVE, part__isnull=False
    ).values("part_id")
    return (
        qs.filter(Q(operator=aircraft.operator_id) | Q(operator__isnull=True))
        .exclude(pk__in=fitted)
        .exclude(pk__in=removed_here)
        .order_by("part_number__pn", "serial")
    )


@require_http_methods(["GET", "POST"])
def card_detail(request: HttpRequest, pk: int) -> HttpResponse:
    card = get_restricted_or_404(_card_qs(), request.user, pk=pk)
    user = request.user
    error: RuleViolation | None = None
    bound: dict[str, Any] = {}  # the form that failed, to show again with its error
    if request.method == "POST":
        action = request.POST.get("action", "")
        done = ""
        anchor = "card-signature"  # where the page opens again, with the message
        signoff: SignOff | None = None
        if action == "sign_step":
            step = _step_of(card, request.POST.get("step", ""))
            anchor = f"step-{step.seq}"
            form = StepSignForm(request.POST, parts=install_choices(step, card, user))
            if form.is_valid():
                d = form.cleaned_data
                signoff, error = _call(
                    services.sign_step,
                    actor=user,
                    step=step,
                    value=d["value"],
                    remark=d["remark"],
                    part=d["part"],
                    removal_reason=d["removal_reason"],
                )
                done = f"Step {step.seq} signed."
            else:
                error = RuleViolation(f"step {step.seq}: check the values entered")
            bound[f"step-{step.pk}"] = form
        elif action == "correct":
            corrected = _signoff_of(card, request.POST.get("signoff", ""))
            anchor = f"step-{corrected.step.seq}"  # type: ignore[union-attr]
            form = CorrectionForm(request.POST)
            if form.is_valid():
                d = form.cleaned_data
                signoff, error = _call(
                    services.sign_step,
                    actor=user,
                    step=corrected.step,
                    value=d["value"],
                    remark=d["remark"],
                    corrects=corrected,
                    correction_reason=d["correction_reason"],
                )
                done = f"Step {corrected.step.seq}: sign-off corrected."  # type: ignore[union-attr]
            else:
                error = RuleViolation("a correction needs its reason", field="correction_reason")
            bound[f"correct-{corrected.pk}"] = form
        elif action == "sign_supervised":
            step = _step_of(card, request.POST.get("step", ""))
            anchor = f"step-{step.seq}"
            form = SupervisedStepForm(
                request.POST,
                parts=install_choices(step, card, user),
                supervisors=supervisor_choices(user),
                auto_id=f"supervised-{step.pk}-%s",
            )
            if form.is_valid():
                d = form.cleaned_data
                _, error = _call(
                    services.sign_step_supervised,
                    actor=user,
                    step=step,
                    supervisor=d["supervisor"],
                    value=d["value"],
                    remark=d["remark"],
                    part=d["part"],
                    removal_reason=d["removal_reason"],
                )
                done = (
                    f"Step {step.seq} performed under the supervision of "
                    f"{d['supervisor'].get_username()}: it counts once they countersign."
                )
            else:
                error = RuleViolation(f"step {step.seq}: check the values entered")
            bound[f"supervised-{step.pk}"] = form
        elif action in ("countersign", "decline"):
            entry = _entry_of(card, request.POST.get("entry", ""))
            anchor = f"step-{entry.step.seq}"
            trainee = entry.trainee.get_username()
            if action == "countersign":
                form = CountersignForm(request.POST)
                form.is_valid()
                signoff, error = _call(
                    services.countersign_step,
                    actor=user,
                    entry=entry,
                    remark=form.cleaned_data.get("remark", ""),
                )
                done = f"Step {entry.step.seq} countersigned: performed by {trainee}."
            else:
                form = DeclineForm(request.POST)
                form.is_valid()
                _, error = _call(
                    services.decline_supervised_step,
                    actor=user,
                    entry=entry,
                    reason=form.cleaned_data.get("reason", ""),
                )
                done = f"Step {entry.step.seq}: {trainee}'s work declined; the step is open again."
            bound[f"{action}-{entry.pk}"] = form
        elif action in ("sign_card", "inspect"):
            form = CardSignForm(request.POST)
            form.is_valid()
            remark = form.cleaned_data.get("remark", "")
            fn = services.sign_card if action == "sign_card" else services.inspect_card
            _, error = _call(fn, actor=user, card=card, remark=remark)
            done = "Card signed." if action == "sign_card" else "Inspection signed."
            bound[action] = form
        else:
            error = RuleViolation(f"unknown action {action!r}", field="action")
        if error is None:
            tag = anchor if anchor.startswith("step-") else ""
            messages.success(request, done, extra_tags=tag)
            if signoff is not None and signoff.within_limits is False:
                messages.warning(request, _outside_limits(signoff, card, user), extra_tags=tag)
            return redirect(reverse("work:card_detail", args=[card.pk]) + f"#{anchor}")
        for form in bound.values():
            if not form.errors or error.field in form.fields:
                form.add_service_error(error)
        card = get_restricted_or_404(_card_qs(), user, pk=pk)
    return render(
        request,
        "work/card_detail.html",
        _card_context(request, card, bound, error),
        status=_status(error),
    )


def _outside_limits(signoff: SignOff, card: TaskCard, user: Any) -> str:
    """The message after a reading outside its limits: the defect it raised (or that it
    keeps open), linked, and what that means for the aircraft."""
    step = signoff.step
    assert step is not None
    reading = f"{step.measure_name} {signoff.value:g} {step.measure_unit}".strip()
    serial = card.package.aircraft.serial
    defect = (
        Defect.objects.restrict(user)
        .filter(step=step)
        .exclude(status=DefectStatus.CLOSED)
        .order_by("-raised_at", "-id")
        .first()
    )
    if defect is None:
        return format_html(
            "{} is outside its limits ({}).", reading, step.limits_text or "see the card"
        )
    link = reverse("work:defect_detail", args=[defect.pk])
    if defect.status == DefectStatus.OPEN:
        consequence = format_html(
            "it grounds {} until it is deferred under the MEL or rectified", serial
        )
    else:
        consequence = format_html("it stays deferred under its MEL category")
    return format_html(
        '{} is outside its limits ({}): defect <a href="{}">{}</a> was raised from it; {}.',
        reading,
        step.limits_text or "see the card",
        link,
        defect.number,
        consequence,
    )


def _step_of(card: TaskCard, raw: str) -> TaskStep:
    step = card.steps.select_related("position").filter(pk=as_id(raw)).first()
    if step is None:
        raise Http404("No such step on this card.")
    step.card = card
    return step


def _signoff_of(card: TaskCard, raw: str) -> SignOff:
    signoff = (
        card.signoffs.select_related("step").filter(pk=as_id(raw), kind=SignOffKind.STEP).first()
    )
    if signoff is None:
        raise Http404("No such sign-off on this card.")
    return signoff


def _entry_of(card: TaskCard, raw: str) -> SupervisedStep:
    entry = (
        SupervisedStep.objects.filter(card=card, pk=as_id(raw))
        .select_related("step", "trainee", "supervisor")
        .first()
    )
    if entry is None:
        raise Http404("No such supervised step on this card.")
    return entry


# hub roles that may supervise a trainee's work (the service checks their authority)
SUPERVISOR_ROLES = (Role.TECHNICIAN, Role.INSPECTOR, Role.QUALITY, Role.HUB_ADMIN)


def supervisor_choices(user: Any) -> QuerySet[User]:
    """Who a trainee may name as supervisor: active hub staff of a role that signs work and
    who hold an authorisation that is neither withdrawn nor expired (whether it covers this
    type and chapter now is the service's check, with the reason)."""
    now = timezone.now()
    authorised = Authorisation.objects.filter(
        withdrawn_at__isnull=True, valid_from__lte=now
    ).filter(Q(valid_until__isnull=True) | Q(valid_until__gt=now))
    return (
        User.objects.restrict(user)
        .filter(is_active=True, operator__isnull=True, role__in=SUPERVISOR_ROLES)
        .filter(pk__in=authorised.values("holder_id"))
        .exclude(pk=user.pk)
        .order_by("username")
    )


def supervised_standing(
    user: Any, aircraft: Aircraft, at: dt.datetime
) -> tuple[StageGrant | None, str | None]:
    """The stage grant under which ``user`` may perform steps under supervision on this
    aircraft's type now; else why not, said only to someone in training (a trainee, or a
    holder of a stage grant): for everyone else (None, None)."""
    try:
        return training.supervised_work_grant(user, aircraft.variant.aircraft_type, at), None
    except NoAuthority as exc:
        in_training = (
            Trainee.objects.filter(person=user).exists()
            or StageGrant.objects.filter(person=user).exists()
        )
        return None, exc.message if in_training else None


def _card_context(
    request: HttpRequest, card: TaskCard, bound: dict[str, Any], error: RuleViolation | None
) -> dict[str, Any]:
    user = request.user
    package = card.package
    signoffs = list(
        card.signoffs.select_related(
            "signer", "part__part_number", "installation", "corrects", "performed_by"
        ).order_by("signed_at", "id")
    )
    corrected = {s.corrects_id for s in signoffs if s.corrects_id}
    standing = [s for s in signoffs if s.pk not in corrected]
    working = package.status in services.WORKING
    may_perform = may(user, Capability.PERFORM_WORK)
    card_open = card.status in (CardStatus.OPEN, CardStatus.IN_WORK)
    now = timezone.now()
    aircraft = package.aircraft
    # the messages of a signature show in the step signed (the page opens at its anchor)
    flash = list(messages.get_messages(request))
    by_step: dict[str, list[Any]] = {}
    for m in flash:
        tag = next((t for t in (m.extra_tags or "").split() if t.startswith("step-")), "")
        by_step.setdefault(tag, []).append(m)
    # trainees' supervised work: awaiting its countersignature, or declined
    entries = list(
        SupervisedStep.objects.restrict(user)
        .filter(card=card)
        .select_related("trainee", "supervisor", "decline__declined_by", "countersignature")
    )
    supervised_grant = supervised_refusal = None
    if working and may_perform and card_open and user.operator_id is None:
        supervised_grant, supervised_refusal = supervised_standing(user, aircraft, now)
    steps = []
    all_signed = True
    for step in card.steps.select_related("position"):
        current = next(
            (s for s in standing if s.kind == SignOffKind.STEP and s.step_id == step.pk), None
        )
        history = [s for s in signoffs if s.kind == SignOffKind.STEP and s.step_id == step.pk]
        all_signed = all_signed and current is not None
        row: dict[str, Any] = {
            "step": step,
            "current": current,
            "history": history,
            "messages": by_step.get(f"step-{step.seq}", []),
        }
        if step.kind == StepKind.REMOVE and current is None and step.position_id is not None:
            # what comes off: the part fitted at the position now
            row["fitted"] = (
                Installation.objects.restrict(user)
                .filter(aircraft=aircraft, position_id=step.position_id, removed_at__isnull=True)
                .select_related("part__part_number")
                .first()
            )
        mine = [e for e in entries if e.step_id == step.pk]
        pending = next(
            (
                e
                for e in mine
                if getattr(e, "countersignature", None) is None
                and getattr(e, "decline", None) is None
            ),
            None,
        )
        row["pending"] = pending
        row["declined"] = [e for e in mine if getattr(e, "decline", None) is not None]
        open_step = working and may_perform and card_open and current is None
        if open_step and pending is not None:
            # awaiting the named supervisor: only they act on it
            if pending.supervisor_id == user.pk:
                row["countersign_form"] = bound.get(f"countersign-{pending.pk}") or (
                    CountersignForm()
                )
                row["decline_form"] = bound.get(f"decline-{pending.pk}") or DeclineForm()
            elif pending.trainee_id == user.pk:
                # the trainee may withdraw it (a supervisor away for good would block it)
                row["decline_form"] = bound.get(f"decline-{pending.pk}") or DeclineForm()
                row["withdraw"] = True
        elif open_step:
            parts = install_choices(step, card, user) if step.kind == StepKind.INSTALL else None
            row["form"] = bound.get(f"step-{step.pk}") or StepSignForm(parts=parts)
            if parts is not None:
                row["no_parts"] = not parts.exists()
            if supervised_grant is not None:
                row["supervised_form"] = bound.get(f"supervised-{step.pk}") or (
                    SupervisedStepForm(
                        parts=parts,
                        supervisors=supervisor_choices(user),
                        auto_id=f"supervised-{step.pk}-%s",
                    )
                )
        if (
            working
            and may_perform
            and card_open
            and current is not None
            and step.kind not in (StepKind.REMOVE, StepKind.INSTALL)
        ):
            row["correct_form"] = bound.get(f"correct-{current.pk}") or CorrectionForm(
                initial={"value": current.value}
            )
        if step.kind == StepKind.REMOVE and current is not None and current.part_id is not None:
            row["to_stores"] = to_stores(current, user, bound)
        steps.append(row)
    card_signoff = next((s for s in standing if s.kind == SignOffKind.CARD), None)
    inspection = next((s for s in standing if s.kind == SignOffKind.INSPECTION), None)
    performed = any(
        s.signer_id == user.pk for s in standing if s.kind != SignOffKind.INSPECTION
    ) or any(e.trainee_id == user.pk for e in entries)
    can_sign_card = working and may_perform and card_signoff is None and all_signed
    can_inspect = (
        working
        and may_perform
        and card.critical
        and card.status == CardStatus.SIGNED
        and inspection is None
        and not performed
    )
    raised = list(Defect.objects.restrict(user).filter(step__card=card).order_by("number"))
    for d in raised:
        d.clock = selectors.clock(d, now)  # type: ignore[attr-defined]
    # say at the top, once, why this user's signatures would be refused
    sign_refusal = inspect_refusal = None
    if working and may_perform and card_open:
        sign_refusal = authority_refusal(user, Privilege.TASK, aircraft, card.ata, now)
    if can_inspect:
        inspect_refusal = authority_refusal(user, Privilege.INSPECTION, aircraft, card.ata, now)
    return {
        "card": card,
        "package": package,
        "aircraft": aircraft,
        "top_messages": [m for m in flash if not any(m in row["messages"] for row in steps)],
        "sign_refusal": sign_refusal,
        "inspect_refusal": inspect_refusal,
        "supervised_grant": supervised_grant,
        "supervised_refusal": supervised_refusal,
        "steps": steps,
        "card_signoff": card_signoff,
        "inspection": inspection,
        "error": error,
        "working": working,
        "may_perform": may_perform,
        "can_sign_card": can_sign_card,
        "all_signed": all_signed,
        "can_inspect": can_inspect,
        "performed": performed,
        "sign_card_form": bound.get("sign_card") or CardSignForm(),
        "inspect_form": bound.get("inspect") or CardSignForm(),
        "raised": raised,
    }


# --- a removed part to the stores ------------------------------------------------------


def to_stores(removal: SignOff, user: Any, bound: dict[str, Any]) -> dict[str, Any]:
    """What the card offers for the part a signed removal took off: its stock item once it
    is in the stores (or out for repair from there); nothing when it is fitted again; else
    the form that returns it, to a role that manages stock."""
    part = removal.part
    row: dict[str, Any] = {"part": part}
    row["item"] = (
        StockItem.objects.restrict(user)
        .filter(part=part)
        .filter(Q(quantity__gt=0) | Q(repair_supplier__isnull=False))
        .select_related("location", "repair_supplier")
        .first()
    )
    if row["item"] is None:
        row["fitted"] = Installation.objects.filter(part=part, removed_at__isnull=True).exists()
        if not row["fitted"] and may(user, Capability.MANAGE_STOCK):
            row["form"] = bound.get(f"to-stores-{removal.pk}") or ToStoresForm(user=user)
    return row


@require_POST
def card_to_stores(request: HttpRequest, pk: int) -> HttpResponse:
    """Return the part a signed removal step took off to the stores
    (``inventory.services.return_to_stores``), referenced by package and card."""
    card = get_restricted_or_404(_card_qs(), request.user, pk=pk)
    user = request.user
    if not may(user, Capability.MANAGE_STOCK):
        raise PermissionDenied("your role may not receive parts into the stores")
    removal = _signoff_of(card, request.POST.get("signoff", ""))
    if removal.step.kind != StepKind.REMOVE or removal.part_id is None:  # type: ignore[union-attr]
        raise Http404("No removal sign-off on this card.")
    anchor = f"step-{removal.step.seq}"  # type: ignore[union-attr]
    form = ToStoresForm(request.POST, user=user)
    if form.is_valid():
        item, error = _call(
            stores.return_to_stores,
            actor=user,
            part=removal.part,
            location=form.cleaned_data["location"],
            status=form.cleaned_data["status"],
            reference=f"{card.package.number} card {card.seq}",
        )
        if error is None:
            link = reverse("inventory:item_detail", args=[item.pk])
            done = format_html(
                '{} is in the stores: <a href="{}">{} at {}</a>.',
                item.part,
                link,
                item.get_status_display().lower(),
                item.location,
            )
            messages.success(request, done, extra_tags=anchor)
            return redirect(reverse("work:card_detail", args=[card.pk]) + f"#{anchor}")
        form.add_service_error(error)
    else:
        error = RuleViolation("to stores: check the values entered")
    card = get_restricted_or_404(_card_qs(), user, pk=pk)
    return render(
        request,
        "work/card_detail.html",
        _card_context(request, card, {f"to-stores-{removal.pk}": form}, error),
        status=_status(error),
    )


def card_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    card = get_restricted_or_404(_card_qs(), request.user, pk=pk)
    from kanat.records.pdf import task_card_pdf  # written alongside: imported when asked

    response = HttpResponse(task_card_pdf(card), content_type="application/pdf")
    name = f"{card.package.number}-card-{card.seq}.pdf"
    response["Content-Disposition"] = f'inline; filename="{name}"'
    return response


# --- defects ---------------------------------------------------------------------------

DEFECT_STATUS_FILTERS = {
    "": ("not closed", [DefectStatus.OPEN, DefectStatus.DEFERRED]),
    "open": ("open", [DefectStatus.OPEN]),
    "deferred": ("deferred", [DefectStatus.DEFERRED]),
    "closed": ("closed", [DefectStatus.CLOSED]),
    "all": ("all", list(DefectStatus)),
}


@require_http_methods(["GET", "POST"])
def defect_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    now = timezone.now()
    form = DefectForm(request.POST or None, user=user, initial=_defect_initial(request))
    error: RuleViolation | None = None
    if request.method == "POST":
        if form.is_valid():
            d = form.cleaned_data
            defect, error = _call(
                services.raise_defect,
                actor=user,
                aircraft=d["aircraft"],
                ata=d["ata"],
                description=d["description"],
                source=d["source"],
                source_ref=d["source_ref"],
                found_at=d["found_at"],
            )
            if error is None:
                messages.success(request, f"{defect.number} raised on {defect.aircraft.serial}.")
                return redirect("work:defect_detail", defect.pk)
            form.add_service_error(error)
        else:
            error = RuleViolation("check the defect form")
    f = {k: request.GET.get(k, "") for k in ("status", "aircraft", "ata", "expired")}
    if f["status"] not in DEFECT_STATUS_FILTERS:
        f["status"] = ""
    qs = Defect.objects.restrict(user).select_related("aircraft__operator")
    qs = qs.filter(status__in=DEFECT_STATUS_FILTERS[f["status"]][1])
    if f["aircraft"]:
        qs = qs.filter(aircraft__serial=f["aircraft"])
    if f["ata"]:
        qs = qs.filter(ata__startswith=f["ata"])
    if f["expired"]:
        qs = qs.filter(status=DefectStatus.DEFERRED, deadline__lte=now)
    page = Paginator(qs.order_by("-found_at", "-id"), 100).get_page(request.GET.get("page"))
    for d in page:
        d.clock = selectors.clock(d, now)
    return render(
        request,
        "work/defect_list.html",
        {
            "page": page,
            "filters": f,
            "statuses": [(k, v[0]) for k, v in DEFECT_STATUS_FILTERS.items()],
            "form": form,
            "error": error,
            "may_raise": may(user, Capability.RAISE_DEFECT),
            "now": now,
        },
        status=_status(error),
    )


def _defect_initial(request: HttpRequest) -> dict[str, Any]:
    raw = request.GET.get("aircraft_id", "")
    if as_id(raw):
        return {"aircraft": raw}
    return {}


@require_http_methods(["GET", "POST"])
def defect_detail(request: HttpRequest, pk: int) -> HttpResponse:
    qs = Defect.objects.select_related(
        "aircraft__operator",
        "aircraft__variant__aircraft_type",
        "raised_by",
        "step__card__package",
        "closure__signer",
    )
    defect = get_restricted_or_404(qs, request.user, pk=pk)
    in_force = (
        defect.deferrals.filter(superseded_by__isnull=True).order_by("-signed_at", "-id").first()
        if defect.status == DefectStatus.DEFERRED
        else None
    )
    # a later deferral keeps the category in force (the service refuses a change)
    locked = in_force.category if in_force is not None else None
    initial = {"category": locked, "mel_item": in_force.mel_item} if in_force else None
    form = DeferForm(request.POST or None, initial=initial)
    error: RuleViolation | None = None
    if request.method == "POST":
        if form.is_valid():
            d = form.cleaned_data
            deferral, error = _call(
                services.defer_defect,
                actor=request.user,
                defect=defect,
                category=d["category"],
                mel_item=d["mel_item"],
                reason=d["reason"],
                deadline=d["deadline"],
            )
            if error is None:
                messages.success(
                    request,
                    f"{defect.number} deferred to {deferral.deadline:%Y-%m-%d %H:%M} UTC.",
                )
                return redirect("work:defect_detail", defect.pk)
            form.add_service_error(error)
        else:
            error = RuleViolation("check the deferral form")
    now = timezone.now()
    deferrals = list(
        defect.deferrals.select_related("signer", "supersedes").order_by("signed_at", "id")
    )
    superseded = {d.supersedes_id for d in deferrals if d.supersedes_id}
    closure = getattr(defect, "closure", None) if defect.status == DefectStatus.CLOSED else None
    clock = selectors.clock(defect, now)
    defect.clock = clock  # type: ignore[attr-defined]
    # who may defer, said before the form rather than on its click
    defer_refusal = None
    if defect.status == DefectStatus.CLOSED:
        pass
    elif not may(request.user, Capability.PERFORM_WORK):
        defer_refusal = "Your role does not defer defects: certifying staff do."
    elif clock is not None and clock.expired:
        defer_refusal = (
            f"The deferral ran out at {clock.deadline:%Y-%m-%d %H:%M} UTC: it cannot be "
            f"deferred again. The defect grounds {defect.aircraft.serial} until it is "
            "rectified: add it to a work package from the aircraft's due list."
        )
    else:
        reason = authority_refusal(
            request.user, Privilege.RELEASE, defect.aircraft, defect.ata, now
        )
        if reason:
            defer_refusal = f"You cannot sign a deferral of this defect: {reason}"
    return render(
        request,
        "work/defect_detail.html",
        {
            "defect": defect,
            "clock": clock,
            "deferrals": [(d, d.pk in superseded) for d in deferrals],
            "cards": defect.cards.select_related("package").order_by("package__number", "seq"),
            "closure": closure,
            "form": form,
            "error": error,
            "may_defer": defect.status != DefectStatus.CLOSED and defer_refusal is None,
            "defer_refusal": defer_refusal,
            "locked_category": locked,
            "in_force": in_force,
        },
        status=_status(error),
    )
