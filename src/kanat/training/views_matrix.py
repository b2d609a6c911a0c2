"""The team competence matrix (hub staff only; operator staff get 403): rows are the people of
a role (``?role=technician``) or every trainee (``?team=trainees``, the default), columns the
requirements that apply to them, and what each has done, how often
(``kanat.training.matrix``)."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from kanat.core.roles import Role
from kanat.training import matrix as competence


def matrix(request: HttpRequest) -> HttpResponse:
    if request.user.operator_id is not None:  # type: ignore[union-attr]
        raise PermissionDenied("training records are read by hub staff only")
    role = request.GET.get("role", "").strip()
    team = request.GET.get("team", "").strip()
    error = ""
    if role and role not in Role.values:
        error = f"no role {role!r}: choose one of {', '.join(Role.values)}"
        people = []
    elif role:
        people = competence.team(request.user, role=role)
    else:
        team = competence.TRAINEES
        people = competence.team(request.user, trainees=True)
    now = timezone.now()
    mx = competence.matrix(request.user, people, now)
    title = (
        (f"{Role(role).label} team" if not error else "no such team") if role else "All trainees"
    )
    return render(
        request,
        "training/matrix.html",
        {
            "matrix": mx,
            "now": now,
            "role": role,
            "team": team,
            "title": title,
            "roles": Role.choices,
            "error": error,
        },
        status=400 if error else 200,
    )
