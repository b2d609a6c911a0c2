"""The people pages: who holds which qualifications and may sign what, now; and a person's
page with their training record: origin, stage grants on each ladder, certificates, the
experience logbook and their competence matrix.

Every read goes through ``restrict(request.user)``: another operator's person is a 404, and
operator staff see only their own operator's people.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.http import urlencode

from kanat.core.models import User
from kanat.core.tenancy import get_restricted_or_404
from kanat.people import selectors
from kanat.people.models import IN_FORCE, Authorisation, Qualification
from kanat.training import matrix as competence
from kanat.training import selectors as training
from kanat.training.models import Certificate, Course, Stage, StageGrant, Trainee

LOGBOOK_PAGE_SIZE = 50
EXPIRING_DAYS = 90  # a certificate "expires soon" within this many days


def people(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    holders = selectors.holders(request.user, now)
    _stage_lapses(holders, now)
    return render(request, "people/people.html", {"holders": holders, "now": now})


def _stage_lapses(holders: list[selectors.Holder], now: dt.datetime) -> None:
    """An authorisation issued with a stage grant signs only while the grant stands (the
    sign-off check, ``people.services.signing_authority``): one in force whose grant lapsed
    (recurrent training expired) or was withdrawn shows that state, and ``lapse_reason``
    says why. In bulk: a few queries whatever the number of people."""
    live = {
        a.pk: (h, i)
        for h in holders
        for i, (a, state) in enumerate(h.authorisations)
        if state == IN_FORCE
    }
    if not live:
        return
    grants = list(
        StageGrant.objects.filter(authorisation_id__in=list(live))
        .select_related("stage", "withdrawal")
        .prefetch_related("stage__requirements__course")
    )
    certs = training.latest_certificates({g.person_id for g in grants}, training.utc_day(now))
    for g in grants:
        state, why = training.grant_standing(g, now, certs)
        if state == training.IN_FORCE_STAGE:
            continue
        holder, i = live[g.authorisation_id]
        auth = holder.authorisations[i][0]
        auth.lapse_reason = why
        holder.authorisations[i] = (auth, f"stage {state}")


def _holder(viewer: Any, person: User, now: dt.datetime) -> selectors.Holder:
    """``selectors.holders`` for one person: their qualifications and authorisations with
    each row's state now (an authorisation in force resting on a qualification that is not
    shows the qualification's state, as the sign-off check enforces)."""
    holder = selectors.Holder(person)
    quals = (
        Qualification.objects.restrict(viewer)
        .filter(holder=person)
        .prefetch_related("aircraft_types")
        .order_by("issued_on", "id")
    )
    holder.qualifications = [(q, q.standing(now)[0]) for q in quals]
    auths = (
        Authorisation.objects.restrict(viewer)
        .filter(holder=person)
        .select_related("qualification")
        .prefetch_related("aircraft_types")
        .order_by("valid_from", "id")
    )
    for a in auths:
        state = a.standing(now)[0]
        q_state = a.qualification.standing(now)[0]
        if state == IN_FORCE and q_state != IN_FORCE:
            state = f"qualification {q_state}"
        holder.authorisations.append((a, state))
    _stage_lapses([holder], now)
    return holder


def _certificates(viewer: Any, person: User, today: dt.date) -> list[dict[str, Any]]:
    """The person's certificates, newest first, each with its state today: current,
    expiring soon (within ``EXPIRING_DAYS``), expired; and whether a later one renewed it."""
    rows = list(
        Certificate.objects.restrict(viewer)
        .filter(person=person)
        .select_related("course", "covers")
        .order_by("-issued_on", "-id")
    )
    best = training.latest_certificates([person.pk], today)
    # the recurrent courses that renew each course (one query): what an expired one needs
    renewals: dict[int, list[Course]] = {}
    recurrent = Course.objects.restrict(viewer).filter(renews_id__in={c.covers_id for c in rows})
    for course in recurrent.order_by("code"):
        renewals.setdefault(course.renews_id, []).append(course)
    out = []
    for cert in rows:
        current = best.get((person.pk, cert.covers_id))
        renewed = current is not None and current.pk != cert.pk
        if cert.expires_on is None:
            state, css = "no expiry", "ok"
        elif cert.expires_on < today:
            state, css = f"expired {cert.expires_on}", "overdue"
        elif cert.expires_on <= today + dt.timedelta(days=EXPIRING_DAYS):
            days = (cert.expires_on - today).days
            state, css = f"expires in {days} days", "due_soon"
        else:
            state, css = f"current until {cert.expires_on}", "ok"
        out.append(
            {
                "cert": cert,
                "state": state,
                "css": css,
                "renewed_by": current if renewed and not cert.current(today) else None,
                "renew_with": renewals.get(cert.covers_id, []) if css != "ok" else [],
            }
        )
    return out


def _ladders(person: User, now: dt.datetime, row: Any) -> list[dict[str, Any]]:
    """Each ladder the person is on: its stages by rank, the person's grants on each with
    their standing now, the current stage and the next."""
    grants = training.standing_grants(person, now)
    by_stage: dict[int, list[tuple[Any, str, str]]] = {}
    for g, state, why in grants:
        by_stage.setdefault(g.stage_id, []).append((g, state, why))
    type_ids = {ladder.aircraft_type.pk for ladder in row.ladders} if row else set()
    type_ids |= {g.stage.aircraft_type_id for g, _, _ in grants}
    stages = Stage.objects.filter(aircraft_type_id__in=type_ids).select_related("aircraft_type")
    ladders: dict[int, dict[str, Any]] = {}
    for stage in stages.order_by("aircraft_type__code", "rank"):
        ladder = ladders.setdefault(
            stage.aircraft_type_id,
            {"aircraft_type": stage.aircraft_type, "stages": [], "current": None, "next": None},
        )
        ladder["stages"].append({"stage": stage, "grants": by_stage.get(stage.pk, [])})
    for type_id, ladder in ladders.items():
        current = training.current_stage(grants, type_id)
        rank = current.stage.rank if current else 0
        ladder["current"] = current
        # no stage in force because a grant lapsed: the heading says so (the rows say why)
        ladder["lapsed"] = current is None and any(
            state == training.LAPSED for s in ladder["stages"] for _, state, _ in s["grants"]
        )
        ladder["next"] = next(
            (s["stage"] for s in ladder["stages"] if s["stage"].rank > rank), None
        )
    return list(ladders.values())


def _logbook_rows(page: Any, person: User) -> list[dict[str, Any]]:
    rows = []
    for s in page:
        supervised = s.performed_by_id == person.pk
        rows.append(
            {
                "signoff": s,
                "aircraft": s.card.package.aircraft,
                "type": s.card.package.aircraft.variant.aircraft_type,
                "chapter": training.chapter(s.card.ata),
                "supervisor": s.signer if supervised else None,
            }
        )
    return rows


def _pages(page: Any) -> dict[str, Any]:
    def url(number: int) -> str:
        return "?" + urlencode({"page": number}) + "#logbook"

    return {
        "previous": url(page.previous_page_number()) if page.has_previous() else "",
        "next": url(page.next_page_number()) if page.has_next() else "",
        "numbers": [
            {"number": n, "url": url(n) if isinstance(n, int) else "", "current": n == page.number}
            for n in page.paginator.get_elided_page_range(page.number, on_each_side=2, on_ends=1)
        ],
    }


def person(request: HttpRequest, pk: int) -> HttpResponse:
    """A person's page (``restrict``: another operator's person is a 404)."""
    viewer = request.user
    subject = get_restricted_or_404(User.objects.select_related("operator"), viewer, pk=pk)
    now = timezone.now()
    today = training.utc_day(now)
    mx = competence.matrix(viewer, [subject], now)
    row = mx.row_of(subject)
    paginator = Paginator(training.logbook(viewer, subject), LOGBOOK_PAGE_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    ladders = _ladders(subject, now, row)
    return render(
        request,
        "people/person.html",
        {
            "subject": subject,
            "now": now,
            "holder": _holder(viewer, subject, now),
            "trainee": Trainee.objects.restrict(viewer).filter(person=subject).first(),
            "ladders": ladders,
            # a supervised stage issues no authorisation: say what the trainee works under
            "supervised_now": any(
                ladder["current"] is not None and ladder["current"].stage.supervised_work
                for ladder in ladders
            ),
            "certificates": _certificates(viewer, subject, today),
            "expiring_days": EXPIRING_DAYS,
            "page": page,
            "pages": _pages(page),
            "logbook": _logbook_rows(page, subject),
            "matrix": mx,
            "row": row,
            "requirements": mx.person_cells(subject),
        },
    )
