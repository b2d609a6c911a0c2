"""Reads of maintenance execution: what grounds an aircraft, deferral clocks, the board."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet

from kanat.work.models import (
    CardStatus,
    Defect,
    DefectStatus,
    Deferral,
    PackageStatus,
    WorkPackage,
)


@dataclass(frozen=True)
class Clock:
    """A deferral's clock at an instant: time left (negative: overdue by)."""

    deadline: dt.datetime
    left: dt.timedelta

    @property
    def expired(self) -> bool:
        return self.left <= dt.timedelta(0)

    @property
    def text(self) -> str:
        span = abs(self.left)
        days, rest = divmod(int(span.total_seconds()), 86400)
        hours, rest = divmod(rest, 3600)
        words = f"{days} d {hours} h" if days else f"{hours} h {rest // 60} min"
        return f"expired {words} ago" if self.expired else f"{words} left"


def clock(defect: Defect, at: dt.datetime) -> Clock | None:
    if defect.status != DefectStatus.DEFERRED or defect.deadline is None:
        return None
    return Clock(defect.deadline, defect.deadline - at)


def grounding_defects(aircraft_ids: Iterable[int] | None, at: dt.datetime) -> dict[int, list[str]]:
    """Per aircraft, the defects that ground it at ``at``: found by then, not closed by
    then, and not under a deferral in force then (the latest deferral signed by ``at``,
    whose deadline has not passed). Read from the history, so a past instant gets the
    answer it had then. Two queries."""
    qs = Defect.objects.filter(found_at__lte=at).filter(
        Q(closed_at__isnull=True) | Q(closed_at__gt=at)
    )
    if aircraft_ids is not None:
        qs = qs.filter(aircraft_id__in=list(aircraft_ids))
    rows = list(qs.order_by("number").values_list("pk", "aircraft_id", "number"))
    in_force: dict[int, dt.datetime] = {}
    deferrals = (
        Deferral.objects.filter(defect_id__in=[r[0] for r in rows], signed_at__lte=at)
        .order_by("defect_id", "signed_at", "id")
        .values_list("defect_id", "deadline")
    )
    for defect_id, deadline in deferrals:
        in_force[defect_id] = deadline  # the latest signed by then supersedes the others
    out: dict[int, list[str]] = {}
    for pk, ac, number in rows:
        deadline = in_force.get(pk)
        if deadline is None:
            why = f"defect {number} open, not deferred"
        elif deadline <= at:
            why = f"defect {number}: deferral expired {deadline:%Y-%m-%d %H:%M} UTC"
        else:
            continue
        out.setdefault(ac, []).append(why)
    return out


def work_in_hand(aircraft_ids: Iterable[int] | None, at: dt.datetime) -> dict[int, list[str]]:
    """Per aircraft, the packages whose work had started by ``at`` and that were not
    released to service by then: the aircraft is under maintenance until its release
    (a removed engine, an uninspected critical task). One query."""
    qs = WorkPackage.objects.filter(started_at__lte=at).filter(
        Q(released_at__isnull=True) | Q(released_at__gt=at)
    )
    if aircraft_ids is not None:
        qs = qs.filter(aircraft_id__in=list(aircraft_ids))
    out: dict[int, list[str]] = {}
    for ac, number in qs.order_by("number").values_list("aircraft_id", "number"):
        out.setdefault(ac, []).append(f"{number} in work: not released to service")
    return out


def grounding(aircraft_ids: Iterable[int] | None, at: dt.datetime) -> dict[int, list[str]]:
    """What the work adds to an aircraft's airworthiness at ``at``: grounding defects and
    work not released to service."""
    ids = list(aircraft_ids) if aircraft_ids is not None else None
    out = grounding_defects(ids, at)
    for ac, reasons in work_in_hand(ids, at).items():
        out.setdefault(ac, []).extend(reasons)
    return out


def deferred_within(
    qs: QuerySet[Defect], at: dt.datetime, horizon_days: int | None
) -> QuerySet[Defect]:
    """Deferred defects whose deadline falls within the horizon (or has passed)."""
    qs = qs.filter(status=DefectStatus.DEFERRED)
    if horizon_days is not None:
        qs = qs.filter(deadline__lte=at + dt.timedelta(days=horizon_days))
    return qs.order_by("deadline")


def release_blockers(package: WorkPackage) -> QuerySet[Defect]:
    """Defects this package's work found that are open (not deferred) and not rectified by
    a card of the package: the release waits for them."""
    return (
        Defect.objects.filter(step__card__package=package, status=DefectStatus.OPEN)
        .exclude(cards__package=package)
        .order_by("number")
    )


BOARD_COLUMNS = list(PackageStatus)


def board(
    qs: QuerySet[WorkPackage], released_since: dt.datetime | None = None
) -> list[tuple[PackageStatus, list[WorkPackage]]]:
    """Packages by status column, each with its card counts (one query). The released
    column holds those released since ``released_since`` (the board is for work in hand;
    older packages stay on the aircraft's page and in the record package)."""
    if released_since is not None:
        qs = qs.exclude(status=PackageStatus.RELEASED, released_at__lt=released_since)
    rows = (
        qs.select_related("aircraft__variant", "aircraft__operator")
        .annotate(
            n_cards=Count("cards", distinct=True),
            n_done=Count("cards", filter=Q(cards__status=CardStatus.DONE), distinct=True),
        )
        .order_by("planned_start", "number")
    )
    columns: dict[str, list[WorkPackage]] = {s.value: [] for s in BOARD_COLUMNS}
    for p in rows:
        columns[p.status].append(p)
    return [(s, columns[s.value]) for s in BOARD_COLUMNS]
