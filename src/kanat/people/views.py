"""The people page: who holds which qualifications and may sign what, now."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from kanat.people import selectors


def people(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    return render(
        request, "people/people.html", {"holders": selectors.holders(request.user, now), "now": now}
    )
