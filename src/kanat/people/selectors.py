"""Reads of qualifications and authorisations for pages (restricted to the viewer)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from kanat.core.models import User
from kanat.people.models import IN_FORCE, Authorisation, Qualification


@dataclass
class Holder:
    person: User
    qualifications: list[tuple[Qualification, str]] = field(default_factory=list)
    authorisations: list[tuple[Authorisation, str]] = field(default_factory=list)


def holders(viewer: Any, now: dt.datetime) -> list[Holder]:
    """Everyone the viewer may see who holds a qualification, with each row's state; three
    queries whatever the number of people."""
    out: dict[int, Holder] = {}
    quals = (
        Qualification.objects.restrict(viewer)
        .select_related("holder", "holder__operator")
        .prefetch_related("aircraft_types")
        .order_by("holder__username", "issued_on", "id")
    )
    for q in quals:
        out.setdefault(q.holder_id, Holder(q.holder)).qualifications.append((q, q.standing(now)[0]))
    auths = (
        Authorisation.objects.restrict(viewer)
        .select_related("holder", "qualification")
        .prefetch_related("aircraft_types")
        .order_by("holder__username", "valid_from", "id")
    )
    for a in auths:
        state = a.standing(now)[0]
        q_state = a.qualification.standing(now)[0]
        if state == IN_FORCE and q_state != IN_FORCE:
            # what the sign-off check enforces: an authorisation rests on its qualification
            state = f"qualification {q_state}"
        out.setdefault(a.holder_id, Holder(a.holder)).authorisations.append((a, state))
    return sorted(out.values(), key=lambda h: h.person.get_username())
