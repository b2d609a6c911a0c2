"""The transfer dashboard's reads: a handful of grouped queries, whatever the data size, fed
to the Django-free ``kanat.training.trend``.

What the viewer sees (docs/decisions.md, "Transfer dashboard scoping"):

- step and release shares come from ``restrict(viewer)``: an operator user counts only the
  signatures on their own operator's aircraft; hub staff see every operator and the hub total;
- people at each stage and training hours come from the grants, certificates and attendance
  ``restrict(viewer)`` gives: hub staff see everyone's, an operator user only their own staff's
  (trainees are hub staff, so usually none) — never hub-wide figures;
- production localisation is hub-only (as on the production localisation page).

Whether a signature's worker is locally trained is read from every ``Trainee`` (a
classification, not a record shown): an operator user's share counts hub-trained staff who
worked on their aircraft as local without seeing who they are.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Count, Exists, F, OuterRef, Sum
from django.db.models.functions import Coalesce, TruncMonth
from django.utils import timezone

from kanat.core.models import Operator
from kanat.production.views_transfer import localisation_series, point
from kanat.training import trend
from kanat.training.models import (
    Attendance,
    Certificate,
    Origin,
    Provider,
    Requirement,
    RequirementKind,
    Stage,
    StageGrant,
    Trainee,
)
from kanat.training.trend import HUB, Month
from kanat.work.models import Release, SignOff, SignOffKind

MAX_MONTHS = 120
DEFAULT_MONTHS = 13  # this month and the same month a year ago
PROVIDERS = ("licensor", "local_school")  # Provider values
PROVIDER_LABELS = dict(Provider.choices)


class DashboardError(ValueError):
    """Bad parameters: the message names the parameter and what is wrong."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass
class Dashboard:
    months: list[Month]
    hub_view: bool  # the viewer is hub staff
    operators: list[tuple[str, str]]  # (code, name) the viewer may select
    selected: str  # an operator code, or HUB
    steps: dict[str, trend.ShareSeries]
    releases: dict[str, trend.ShareSeries]
    stages: list[trend.StageSnapshot]
    stage_list: list[trend.StageInfo]
    hours: list[trend.HoursPoint]
    localisation: list[Any] = field(default_factory=list)  # production Series
    prices: Any = None
    as_of: dt.datetime | None = None

    @property
    def scope_label(self) -> str:
        if self.selected == HUB:
            return "hub total (all operators)"
        name = dict(self.operators).get(self.selected, "")
        return f"{self.selected} — {name}" if name else self.selected

    def series_keys(self) -> list[str]:
        """The share series the viewer may have: hub total and each operator for hub
        staff, their own operator only for an operator user."""
        codes = [code for code, _ in self.operators]
        return [HUB, *codes] if self.hub_view else codes


def period(params: Any, today: dt.date) -> tuple[Month, Month]:
    """``from``/``to`` (YYYY-MM), or by default this month and the twelve before it (the same
    month a year ago is the trend's baseline, and the current month is seldom complete);
    DashboardError when malformed."""
    default_first, default_last = trend.last_months(today, DEFAULT_MONTHS)
    try:
        first = trend.parse_month(params["from"], "from") if params.get("from") else None
        last = trend.parse_month(params["to"], "to") if params.get("to") else None
    except ValueError as e:
        raise DashboardError(str(e), str(e).split(":")[0]) from e
    if first is None and last is None:
        return default_first, default_last
    if last is None:
        last = max(first, default_last) if first is not None else default_last
        if first is not None and len(trend.month_range(first, last)) > MAX_MONTHS:
            last = trend.month_range(first, last)[MAX_MONTHS - 1]
    if first is None:
        first = trend.last_months(last.last_day, DEFAULT_MONTHS)[0]
    if first > last:
        raise DashboardError(f"from: {first.label} is after to ({last.label})", "from")
    if len(trend.month_range(first, last)) > MAX_MONTHS:
        raise DashboardError(
            f"from/to: {first.label}..{last.label} is more than {MAX_MONTHS} months", "from"
        )
    return first, last


def _month(value: dt.date | dt.datetime) -> Month:
    return Month(value.year, value.month)


def _local(person_field: str) -> Exists:
    return Exists(Trainee.objects.filter(person_id=OuterRef(person_field), origin=Origin.LOCAL))


def _counts(qs: Any, operator_path: str) -> list[trend.SignCount]:
    rows = (
        qs.annotate(m=TruncMonth("signed_at", tzinfo=dt.UTC), op=F(operator_path))
        .values("m", "op", "is_local")
        .annotate(n=Count("id"))
        .order_by()
    )
    return [trend.SignCount(_month(r["m"]), r["op"], bool(r["is_local"]), r["n"]) for r in rows]


def step_counts(viewer: Any, first: Month, last: Month) -> list[trend.SignCount]:
    """Standing step sign-offs by month, operator and whether the worker (the trainee who
    performed it, else the signer) is locally trained: one grouped query."""
    qs = (
        SignOff.objects.restrict(viewer)
        .filter(
            kind=SignOffKind.STEP,
            corrected_by__isnull=True,
            signed_at__gte=first.start,
            signed_at__lte=last.end,
        )
        .annotate(worker=Coalesce("performed_by_id", "signer_id"))
        .annotate(is_local=_local("worker"))
    )
    return _counts(qs, "card__package__aircraft__operator__code")


def release_counts(viewer: Any, first: Month, last: Month) -> list[trend.SignCount]:
    """Releases by month, operator and whether the signer is locally trained."""
    qs = (
        Release.objects.restrict(viewer)
        .filter(signed_at__gte=first.start, signed_at__lte=last.end)
        .annotate(is_local=_local("signer_id"))
    )
    return _counts(qs, "package__aircraft__operator__code")


def stage_data(
    viewer: Any,
) -> tuple[list[trend.StageInfo], list[trend.GrantSpan], list[trend.CertSpan]]:
    """Every ladder's stages, the grants the viewer may see with the courses each stage
    requires, and those people's certificates: four queries."""
    stages = [
        trend.StageInfo(s["id"], s["aircraft_type__code"], s["rank"], s["name"])
        for s in Stage.objects.values("id", "aircraft_type__code", "rank", "name").order_by(
            "aircraft_type__code", "rank"
        )
    ]
    required: dict[int, list[int]] = {}
    for stage_id, course_id in Requirement.objects.filter(
        stage__isnull=False, kind=RequirementKind.COURSE, course__isnull=False
    ).values_list("stage_id", "course_id"):
        required.setdefault(stage_id, []).append(course_id)
    visible = StageGrant.objects.restrict(viewer)
    grants = [
        trend.GrantSpan(
            g["person_id"],
            g["stage_id"],
            g["granted_at"],
            g["withdrawal__withdrawn_at"],
            tuple(required.get(g["stage_id"], ())),
        )
        for g in visible.values("person_id", "stage_id", "granted_at", "withdrawal__withdrawn_at")
    ]
    certs = [
        trend.CertSpan(c["person_id"], c["covers_id"], c["issued_on"], c["expires_on"])
        for c in Certificate.objects.restrict(viewer)
        .filter(person_id__in=visible.values("person_id"))
        .values("person_id", "covers_id", "issued_on", "expires_on")
    ]
    return stages, grants, certs


def hours_counts(viewer: Any, first: Month, last: Month) -> list[trend.HoursCount]:
    """Attendance hours by month of the attendance day and the course's provider."""
    rows = (
        Attendance.objects.restrict(viewer)
        .filter(day__gte=first.first_day, day__lte=last.last_day)
        .annotate(m=TruncMonth("day"), provider=F("enrolment__session__course__provider"))
        .values("m", "provider")
        .annotate(h=Sum("hours"))
        .order_by()
    )
    return [trend.HoursCount(_month(r["m"]), r["provider"], r["h"] or Decimal(0)) for r in rows]


def operators_for(viewer: Any) -> list[tuple[str, str]]:
    return list(Operator.objects.restrict(viewer).order_by("code").values_list("code", "name"))


def build(
    viewer: Any,
    first: Month,
    last: Month,
    *,
    operator: str = "",
    now: dt.datetime | None = None,
) -> Dashboard:
    """The dashboard as ``viewer`` may see it. ``operator``: a code the viewer may select
    (LookupError otherwise); empty: the hub total for hub staff, their own for an operator
    user."""
    now = now or timezone.now()
    hub_view = viewer.operator_id is None
    operators = operators_for(viewer)
    codes = [code for code, _ in operators]
    if operator and operator not in codes:
        raise LookupError(f"no operator {operator!r} here")
    selected = operator or (HUB if hub_view else (codes[0] if codes else HUB))
    months = trend.month_range(first, last)
    steps = trend.shares(step_counts(viewer, first, last), months, codes)
    releases = trend.shares(release_counts(viewer, first, last), months, codes)
    stages, grants, certs = stage_data(viewer)
    snapshots = trend.stage_snapshots(stages, grants, certs, months, now)
    hours = trend.hours_by_provider(hours_counts(viewer, first, last), months, PROVIDERS)
    d = Dashboard(
        months=months,
        hub_view=hub_view,
        operators=operators,
        selected=selected,
        steps=steps,
        releases=releases,
        stages=snapshots,
        stage_list=stages,
        hours=hours,
        as_of=now,
    )
    if hub_view:
        d.localisation, d.prices = localisation_series()
    return d


# --- plain data: the CSV's rows and the API's body -----------------------------------------


def _num(value: Any) -> str:
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value else "0"
    return str(value)


def _value(v: float | None) -> str:
    return "" if v is None else f"{v:.4f}"


def tidy_rows(d: Dashboard) -> list[dict[str, str]]:
    """One row per month, series and operator: numerator, denominator and value (the share
    0–1, or hours / people where there is no denominator)."""
    out: list[dict[str, str]] = []

    def row(month: str, series: str, op: str, num: Any, den: Any, value: str) -> None:
        out.append(
            {
                "month": month,
                "series": series,
                "operator": op,
                "numerator": _num(num),
                "denominator": "" if den is None else _num(den),
                "value": value,
            }
        )

    for name, data in (("local_step_share", d.steps), ("local_release_share", d.releases)):
        for key in d.series_keys():
            for m, share in data[key].points:
                row(
                    m.label,
                    name,
                    key or "hub",
                    share.numerator,
                    share.denominator,
                    _value(share.value),
                )
    scope = "hub" if d.hub_view else (d.operators[0][0] if d.operators else "")
    for snap in d.stages:
        for stage, n in snap.counts:
            row(snap.month.label, f"people_at_stage:{stage.label}", scope, n, None, str(n))
    for hp in d.hours:
        for provider, hours in hp.by_provider:
            part = hours / hp.total if hp.total else None
            row(
                hp.month.label,
                f"training_hours:{provider}",
                scope,
                hours,
                hp.total,
                "" if part is None else f"{part:.4f}",
            )
    for series in d.localisation:
        for m in series.points:
            month = m.at.strftime("%Y-%m") if m.at else ""
            for key, measured in (
                ("parts_count", m.parts),
                ("parts_value", m.value),
                ("production_hours", m.hours),
            ):
                if measured is None:
                    continue
                row(
                    month,
                    f"localisation_{key}:{series.product}",
                    "hub",
                    measured.local,
                    measured.total,
                    _value(measured.ratio),
                )
    return out


def as_json(d: Dashboard) -> dict[str, Any]:
    def shares(data: dict[str, trend.ShareSeries]) -> dict[str, Any]:
        return {
            (key or "hub"): [
                {
                    "month": m.label,
                    "local": s.numerator,
                    "total": s.denominator,
                    "share": None if s.value is None else round(s.value, 4),
                }
                for m, s in data[key].points
            ]
            for key in d.series_keys()
        }

    return {
        "from": d.months[0].label,
        "to": d.months[-1].label,
        "scope": "hub" if d.hub_view else "operator",
        "operators": [{"code": c, "name": n} for c, n in d.operators],
        "local_step_share": shares(d.steps),
        "local_release_share": shares(d.releases),
        "people_at_stage": [
            {
                "month": s.month.label,
                "at": s.at.isoformat(),
                "stages": [
                    {"ladder": st.ladder, "rank": st.rank, "stage": st.name, "people": n}
                    for st, n in s.counts
                ],
            }
            for s in d.stages
        ],
        "training_hours": [
            {"month": p.month.label} | {prov: _num(h) for prov, h in p.by_provider} for p in d.hours
        ],
        "localisation": [
            {
                "pn": s.product,
                "product": s.name,
                "points": [point(m, d.prices) for m in s.points],
            }
            for s in d.localisation
        ]
        if d.hub_view
        else None,
        "value_currency": d.prices.currency if d.prices is not None else None,
    }
