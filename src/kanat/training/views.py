"""Training pages (hub staff only; operator staff get 403, as on the production pages):
the course catalogue, a course with its sessions, a session with its people and their
evidence, the authorisation proposals queue and the recurrent-training reminders.

Changes are plain POST forms (the pages work without JavaScript) that call
``kanat.training.services`` and redirect with a message (POST/redirect/GET). A service's
``RuleViolation`` comes back on the page next to the form that failed, with status 400 (409
for a ``Conflict``), and nothing changed; a role without the capability sees no form and
gets a 403 on a post.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Prefetch, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from kanat.core.errors import Conflict, NotAllowed, RuleViolation
from kanat.core.ids import as_id
from kanat.core.roles import Capability, role_allows
from kanat.core.tenancy import get_restricted_or_404
from kanat.training import matrix, reminders, selectors, services
from kanat.training.forms import (
    AssessmentForm,
    AttendanceForm,
    CertificateForm,
    CourseForm,
    EnrolForm,
    GrantForm,
    GrantWithdrawForm,
    ReasonForm,
    SessionForm,
    WithdrawForm,
)
from kanat.training.models import (
    Assessment,
    Certificate,
    Course,
    CourseKind,
    Enrolment,
    Provider,
    Requirement,
    Session,
    Stage,
    StageGrant,
    Trainee,
)

RECENT_GRANTS = 50


def _hub_only(request: HttpRequest) -> None:
    if request.user.operator_id is not None:  # type: ignore[union-attr]
        raise PermissionDenied("training records are kept by the hub for its own staff")


def may(user: Any, capability: str) -> bool:
    """Whether the user's role carries the capability (the service's check, read
    beforehand so that only those who may see the forms)."""
    return bool(getattr(user, "is_authenticated", False)) and role_allows(user.role, capability)


def _require(request: HttpRequest, capability: str) -> None:
    if not may(request.user, capability):
        raise PermissionDenied(f"your role may not: {Capability(capability).label}")


def _status(exc: RuleViolation | None) -> int:
    if exc is None:
        return 200
    return 409 if isinstance(exc, Conflict) else 400


def _form_error(form: Any) -> RuleViolation:
    """What is wrong with a form that did not validate, naming each field."""
    parts = []
    first = None
    for name, errors in form.errors.items():
        label = "form" if name == "__all__" else name.replace("_", " ")
        parts.append(f"{label}: {' '.join(errors)}")
        first = first or (None if name == "__all__" else name)
    return RuleViolation("; ".join(parts), field=first)


def _submit(form: Any, call: Callable[[dict[str, Any]], Any]) -> tuple[Any, RuleViolation | None]:
    """Validate the form and run the service on its values: (result, None) or (None, the
    rule it refused on, also put on the form). A refused role is a 403."""
    if not form.is_valid():
        return None, _form_error(form)
    try:
        return call(form.cleaned_data), None
    except NotAllowed as exc:
        raise PermissionDenied(str(exc)) from None
    except RuleViolation as exc:  # Conflict included
        form.add_service_error(exc)
        return None, exc


def _today() -> dt.date:
    return selectors.utc_day(timezone.now())


# --- the catalogue ---------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def course_list(request: HttpRequest) -> HttpResponse:
    """The catalogue (``?kind=``, ``?provider=``) and the create-course form."""
    _hub_only(request)
    user: Any = request.user
    form = None
    error: RuleViolation | None = None
    if request.method == "POST":
        _require(request, Capability.MANAGE_TRAINING)
        form = CourseForm(request.POST, user=user)
        course, error = _submit(
            form, lambda d: services.create_course(actor=user, **form.service_kwargs())
        )
        if error is None:
            messages.success(request, f"Course {course.code} added to the catalogue.")
            return redirect("training:course_detail", course.pk)
    kind, provider = request.GET.get("kind", ""), request.GET.get("provider", "")
    courses = Course.objects.restrict(user).select_related("aircraft_type", "renews")
    if kind in CourseKind.values:
        courses = courses.filter(kind=kind)
    else:
        kind = ""
    if provider in Provider.values:
        courses = courses.filter(provider=provider)
    else:
        provider = ""
    courses = courses.annotate(
        n_sessions=Count("sessions", distinct=True),
        n_certificates=Count("certificates", distinct=True),
    ).order_by("code")
    may_manage = may(user, Capability.MANAGE_TRAINING)
    return render(
        request,
        "training/course_list.html",
        {
            "courses": courses,
            "kind": kind,
            "provider": provider,
            "kinds": CourseKind.choices,
            "providers": Provider.choices,
            "may_manage": may_manage,
            "form": (form or CourseForm(user=user)) if may_manage else None,
            "error": error,
        },
        status=_status(error),
    )


@require_http_methods(["GET", "POST"])
def course_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A course: its sessions (planned and past), who requires it (stages and roles), its
    certificates' counts; the schedule-session form."""
    _hub_only(request)
    user: Any = request.user
    course = get_restricted_or_404(
        Course.objects.select_related("aircraft_type", "renews"), user, pk=pk
    )
    form = None
    error: RuleViolation | None = None
    if request.method == "POST":
        _require(request, Capability.MANAGE_TRAINING)
        form = SessionForm(request.POST)
        session, error = _submit(
            form, lambda d: services.schedule_session(actor=user, course=course, **d)
        )
        if error is None:
            messages.success(request, f"Session {session.code} scheduled.")
            return redirect("training:session_detail", session.pk)
    today = _today()
    sessions = list(
        Session.objects.restrict(user)
        .filter(course=course)
        .annotate(enrolled=Count("enrolments", filter=Q(enrolments__withdrawn_at__isnull=True)))
        .order_by("-starts_on", "code")
    )
    covered = [course.pk] + ([course.renews_id] if course.renews_id else [])
    requirements = (
        Requirement.objects.restrict(user)
        .filter(course_id__in=covered)
        .select_related("stage__aircraft_type", "course")
        .order_by("stage__aircraft_type__code", "stage__rank", "role", "id")
    )
    in_force = Q(expires_on__isnull=True) | Q(expires_on__gte=today)
    counts = (
        Certificate.objects.restrict(user)
        .filter(course=course)
        .aggregate(
            total=Count("id"),
            in_force=Count("id", filter=in_force),
            expired=Count("id", filter=~in_force),
        )
    )
    may_manage = may(user, Capability.MANAGE_TRAINING)
    return render(
        request,
        "training/course_detail.html",
        {
            "course": course,
            "planned": [s for s in reversed(sessions) if s.ends_on >= today],
            "past": [s for s in sessions if s.ends_on < today],
            "requirements": requirements,
            "renewed_by": Course.objects.restrict(user).filter(renews=course).order_by("code"),
            "counts": counts,
            "may_manage": may_manage,
            "form": (form or SessionForm(initial={"starts_on": today, "ends_on": today}))
            if may_manage
            else None,
            "error": error,
        },
        status=_status(error),
    )


# --- a session -------------------------------------------------------------------------------

SESSION_ACTIONS = ("enrol", "withdraw", "attendance", "assessment", "certificate", "cancel")


def _on_session(user: Any, session: Session) -> Any:
    """The session's enrolments still on it (the forms' choices)."""
    return (
        Enrolment.objects.restrict(user)
        .filter(session=session, withdrawn_at__isnull=True)
        .select_related("person")
        .order_by("person__username")
    )


def _standing(user: Any, session: Session) -> Any:
    """Standing (uncorrected) results of the session, for the correction form."""
    return (
        Assessment.objects.restrict(user)
        .filter(enrolment__session=session, corrected_by__isnull=True)
        .select_related("enrolment__person")
        .order_by("enrolment__person__username", "element", "id")
    )


def _session_form(action: str, request: HttpRequest, session: Session, data: Any = None) -> Any:
    user: Any = request.user
    if action == "enrol":
        return EnrolForm(data, user=user)
    if action == "withdraw":
        return WithdrawForm(data, enrolments=_on_session(user, session))
    if action == "attendance":
        return AttendanceForm(data, enrolments=_on_session(user, session))
    if action == "assessment":
        return AssessmentForm(
            data, enrolments=_on_session(user, session), standing=_standing(user, session)
        )
    if action == "certificate":
        return CertificateForm(data, enrolments=_on_session(user, session))
    return ReasonForm(data)


def _session_call(
    action: str, user: Any, session: Session
) -> tuple[Callable[[dict[str, Any]], Any], Callable[[Any], str]]:
    """(the service call on the form's values, the message of what it did)."""
    if action == "enrol":
        return (
            lambda d: services.enrol(actor=user, session=session, person=d["person"]),
            lambda r: f"{r.person.get_username()} enrolled on {session.code}.",
        )
    if action == "withdraw":
        return (
            lambda d: services.withdraw_enrolment(
                actor=user, enrolment=d["enrolment"], reason=d["reason"]
            ),
            lambda r: f"{r.person.get_username()} withdrawn from {session.code}.",
        )
    if action == "attendance":
        return (
            lambda d: services.record_attendance(
                actor=user, enrolment=d["enrolment"], day=d["day"], hours=d["hours"].strip()
            ),
            lambda r: f"{r.hours} h on {r.day} recorded for {r.enrolment.person.get_username()}.",
        )
    if action == "assessment":
        return (
            lambda d: services.record_assessment(
                actor=user,
                enrolment=d["enrolment"],
                element=d["element"],
                score=d["score"],
                remark=d["remark"],
                corrects=d["corrects"],
                correction_reason=d["correction_reason"],
            ),
            lambda r: (
                f"{r.get_element_display()} result {r.score}% "
                f"({'passed' if r.passed else 'not passed'}) recorded for "
                f"{r.enrolment.person.get_username()}"
                + (" (a correction)." if r.corrects_id else ".")
            ),
        )
    if action == "certificate":
        return (
            lambda d: services.issue_certificate(actor=user, enrolment=d["enrolment"]),
            lambda r: f"Certificate {r.number} issued to {r.person.get_username()}.",
        )
    return (
        lambda d: services.cancel_session(actor=user, session=session, reason=d["reason"]),
        lambda r: f"Session {session.code} cancelled.",
    )


@require_http_methods(["GET", "POST"])
def session_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A session: the people on it with their attendance, results and certificate; the
    forms that enrol, withdraw, record attendance and results, certify and cancel."""
    _hub_only(request)
    user: Any = request.user
    qs = Session.objects.select_related("course__aircraft_type", "course__renews")
    session = get_restricted_or_404(qs, user, pk=pk)
    bound: dict[str, Any] = {}
    error: RuleViolation | None = None
    action = ""
    if request.method == "POST":
        _require(request, Capability.MANAGE_TRAINING)
        action = request.POST.get("action", "")
        if action not in SESSION_ACTIONS:
            error = RuleViolation(f"unknown action {action!r}", field="action")
            action = ""  # shown at the top of the page
        else:
            form = _session_form(action, request, session, request.POST)
            call, said = _session_call(action, user, session)
            result, error = _submit(form, call)
            if error is None:
                messages.success(request, said(result))
                return redirect(reverse("training:session_detail", args=[session.pk]))
            bound[action] = form
            session = get_restricted_or_404(qs, user, pk=pk)
    return render(
        request,
        "training/session_detail.html",
        _session_context(request, session, bound, error, action),
        status=_status(error),
    )


def _session_context(
    request: HttpRequest,
    session: Session,
    bound: dict[str, Any],
    error: RuleViolation | None,
    error_at: str,
) -> dict[str, Any]:
    user: Any = request.user
    course = session.course
    enrolments = (
        Enrolment.objects.restrict(user)
        .filter(session=session)
        .select_related("person", "certificate")
        .prefetch_related(
            "attendance",
            Prefetch(
                "assessments",
                queryset=Assessment.objects.select_related("corrected_by", "assessor").order_by(
                    "assessed_at", "id"
                ),
            ),
        )
        .order_by("person__username")
    )
    rows = []
    for e in enrolments:
        attendance = list(e.attendance.all())
        assessments = list(e.assessments.all())
        rows.append(
            {
                "enrolment": e,
                "attendance": attendance,
                "hours": sum((a.hours for a in attendance), Decimal("0")),
                "assessments": assessments,
                "certificate": getattr(e, "certificate", None),
            }
        )
    may_manage = may(user, Capability.MANAGE_TRAINING)
    open_ = session.cancelled_at is None
    forms: dict[str, Any] = {}
    if may_manage and open_:
        for action in SESSION_ACTIONS:
            forms[action] = bound.get(action) or _session_form(action, request, session)
    return {
        "session": session,
        "course": course,
        "rows": rows,
        "seats_taken": sum(1 for r in rows if r["enrolment"].withdrawn_at is None),
        "elements": course.elements,
        "needed_hours": course.hours * services.ATTENDANCE_SHARE,
        "may_manage": may_manage,
        "forms": forms,
        "error": error,
        "error_at": error_at,
    }


# --- the proposals queue ---------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def proposals(request: HttpRequest) -> HttpResponse:
    """People whose evidence meets their next stage, each with its checks (``?close=1``:
    also who is close, with what is missing); the grant form per proposal; recent grants
    with their standing and the withdraw form."""
    _hub_only(request)
    user: Any = request.user
    error: RuleViolation | None = None
    error_at = ""
    bound: Any = None
    if request.method == "POST":
        _require(request, Capability.GRANT_STAGE)
        action = request.POST.get("action", "")
        if action == "grant":
            person_id, stage_id = request.POST.get("person", ""), request.POST.get("stage", "")
            error_at = f"grant-{person_id}-{stage_id}"
            trainee = (
                Trainee.objects.restrict(user)
                .filter(person_id=as_id(person_id))
                .select_related("person")
                .first()
            )
            stage = Stage.objects.restrict(user).filter(pk=as_id(stage_id))
            stage = stage.select_related("aircraft_type").first()
            bound = GrantForm(request.POST)
            if trainee is None:
                error = RuleViolation(f"person {person_id!r} is not a trainee", field="person")
            elif stage is None:
                error = RuleViolation(f"stage {stage_id!r} does not exist", field="stage")
            else:
                grant, error = _submit(
                    bound,
                    lambda d: services.grant_stage(
                        actor=user, person=trainee.person, stage=stage, note=d["note"]
                    ),
                )
                if error is None:
                    messages.success(
                        request,
                        f"{grant.number}: {stage.name} granted to {trainee.person.get_username()}.",
                    )
                    return redirect(reverse("training:proposals") + "#grants")
        elif action == "withdraw":
            grant_id = request.POST.get("grant", "")
            error_at = f"withdraw-{grant_id}"
            grant = (
                StageGrant.objects.restrict(user)
                .filter(pk=as_id(grant_id))
                .select_related("person", "stage", "authorisation")
                .first()
            )
            bound = GrantWithdrawForm(request.POST)
            if grant is None:
                error = RuleViolation(f"stage grant {grant_id!r} does not exist", field="grant")
            else:
                _, error = _submit(
                    bound,
                    lambda d: services.withdraw_stage(actor=user, grant=grant, reason=d["reason"]),
                )
                if error is None:
                    messages.success(request, f"{grant.number} withdrawn.")
                    return redirect(reverse("training:proposals") + "#grants")
        else:
            error = RuleViolation(f"unknown action {action!r}", field="action")
    close = request.GET.get("close", "") in ("1", "on", "true") or (
        request.method == "POST" and request.POST.get("close", "") == "1"
    )
    now = timezone.now()
    queue = [
        {"p": p, "key": f"grant-{p.evaluation.person.pk}-{p.evaluation.stage.pk}"}
        for p in matrix.proposals(user, now, include_unmet=close)
    ]
    grants = _recent_grants(user, now)
    keys = {row["key"] for row in queue} | {row["key"] for row in grants}
    return render(
        request,
        "training/proposals.html",
        {
            "proposals": queue,
            "close": close,
            "grants": grants,
            # a refused form's message shows in its row; at the top when the row is gone
            "error_in_row": error is not None and error_at in keys,
            "may_grant": may(user, Capability.GRANT_STAGE),
            "bound": bound,
            "error": error,
            "error_at": error_at,
        },
        status=_status(error),
    )


def _recent_grants(user: Any, at: dt.datetime) -> list[dict[str, Any]]:
    """The latest grants with their standing at ``at`` (bulk: grants, requirements,
    certificates)."""
    grants = list(
        StageGrant.objects.restrict(user)
        .select_related("person", "stage__aircraft_type", "withdrawal", "granted_by")
        .prefetch_related("stage__requirements__course")
        .order_by("-granted_at", "-id")[:RECENT_GRANTS]
    )
    certs = selectors.latest_certificates({g.person_id for g in grants}, selectors.utc_day(at))
    out = []
    for g in grants:
        state, why = selectors.grant_standing(g, at, certs)
        out.append(
            {
                "grant": g,
                "state": state,
                "why": why,
                "withdrawable": getattr(g, "withdrawal", None) is None,
                "key": f"withdraw-{g.pk}",
            }
        )
    return out


# --- recurrent-training reminders ------------------------------------------------------------


def due(request: HttpRequest) -> HttpResponse:
    """Certificates running out within ``?days=`` (default 90) or out with no renewal, per
    person, with the stage grants that lapse with them."""
    _hub_only(request)
    error: RuleViolation | None = None
    try:
        days = reminders.parse_days(request.GET.get("days"))
    except ValueError as exc:
        error = RuleViolation(str(exc), field="days")
        days = reminders.DEFAULT_DAYS
    today = _today()
    people = reminders.due(request.user, today, within_days=days) if error is None else []
    _renewals(request.user, [d for p in people for d in p.rows])
    return render(
        request,
        "training/due.html",
        {
            "people": people,
            "days": days,
            "raw_days": request.GET.get("days", ""),
            "today": today,
            "error": error,
        },
        status=_status(error),
    )


def _renewals(user: Any, rows: list[Any]) -> None:
    """Each reminder's ``renew_with``: the recurrent courses that renew its course (one
    query), so that the page says which course to book."""
    ids = {d.course.pk for d in rows}
    by_course: dict[int, list[Course]] = {}
    for c in Course.objects.restrict(user).filter(renews_id__in=ids).order_by("code"):
        by_course.setdefault(c.renews_id, []).append(c)
    for d in rows:
        d.renew_with = by_course.get(d.course.pk, [])
