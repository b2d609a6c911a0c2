"""Reads of maintenance execution: what grounds an aircraft, deferral clocks, the board."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet

from kanat.work.models import CardStatus, Defect, DefectStatus, PackageStatus, WorkPackage


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
    """Per aircraft, the defects that ground it at ``at``: open and not deferred, or
    deferred past the deadline. One query."""
    qs = Defect.objects.filter(found_at__lte=at).filter(
        Q(status=DefectStatus.OPEN) | Q(status=DefectStatus.DEFERRED, deadline__lte=at)
    )
    if aircraft_ids is not None:
        qs = qs.filter(aircraft_id__in=list(aircraft_ids))
    out: dict[int, list[str]] = {}
    for ac, number, status, deadline in qs.order_by("number").values_list(
        "aircraft_id", "number", "status", "deadline"
    ):
        if status == DefectStatus.OPEN:
            why = f"defect {number} open, not deferred"
        else:
            why = f"defect {number}: deferral expired {deadline:%Y-%m-%d %H:%M} UTC"
        out.setdefault(ac, []).append(why)
    return out


def deferred_within(
    qs: QuerySet[Defect], at: dt.datetime, horizon_days: int | None
) -> QuerySet[Defect]:
    """Deferred defects whose deadline falls within the horizon (or has passed)."""
    qs = qs.filter(status=DefectStatus.DEFERRED)
    if horizon_days is not None:
        qs = qs.filter(deadline__lte=at + dt.timedelta(days=horizon_days))
    return qs.order_by("deadline")


BOARD_COLUMNS = list(PackageStatus)


def board(qs: QuerySet[WorkPackage]) -> list[tuple[PackageStatus, list[WorkPackage]]]:
    """Packages by status column, each with its card counts (one query)."""
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
