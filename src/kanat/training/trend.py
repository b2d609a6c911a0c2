"""The transfer dashboard's time-series arithmetic: month buckets, local shares, the people
at each authorisation stage at every month end, and training hours by provider.

Django-free (no database, no settings): ``kanat.training.dashboard`` reads the rows in a few
grouped queries and hands plain dataclasses to these functions, so the rules are tested
without a database.

The month-end stage snapshot follows ``kanat.training.selectors.grant_standing``: a grant
counts from ``granted_at``, ends at its withdrawal (``withdrawn_at <= at``), and lapses on a
day when one of the courses its stage requires has no certificate in force (issued on or
before the day, expiring on or after it, or not expiring). A person counts once per
aircraft-type ladder, at the highest-ranked stage in force.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

HUB = ""  # the operator key of the hub total
MONTH_RE = re.compile(r"^(\d{4})-(\d{2})$")
LAST_YEAR = 9000  # months are read up to here (dates end in 9999)


# --- months ---------------------------------------------------------------------------------


@dataclass(frozen=True, order=True)
class Month:
    year: int
    month: int

    @property
    def label(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def first_day(self) -> dt.date:
        return dt.date(self.year, self.month, 1)

    @property
    def last_day(self) -> dt.date:
        return self.next().first_day - dt.timedelta(days=1)

    @property
    def start(self) -> dt.datetime:
        """The month's first instant (UTC)."""
        return dt.datetime(self.year, self.month, 1, tzinfo=dt.UTC)

    @property
    def end(self) -> dt.datetime:
        """The month's last instant (UTC)."""
        return self.next().start - dt.timedelta(microseconds=1)

    def next(self) -> Month:
        return Month(self.year + 1, 1) if self.month == 12 else Month(self.year, self.month + 1)

    def previous(self) -> Month:
        return Month(self.year - 1, 12) if self.month == 1 else Month(self.year, self.month - 1)

    @classmethod
    def of(cls, day: dt.date) -> Month:
        return cls(day.year, day.month)


def parse_month(text: str, name: str = "month") -> Month:
    """``YYYY-MM``; ValueError naming the parameter and what is wrong."""
    m = MONTH_RE.match(text.strip())
    if not m:
        raise ValueError(f"{name}: {text!r} is not a month written YYYY-MM")
    year, month = int(m.group(1)), int(m.group(2))
    if not 1 <= month <= 12:
        raise ValueError(f"{name}: {text!r} has no month {month:02d}")
    if year < 1900:
        raise ValueError(f"{name}: {text!r} is before 1900")
    if year > LAST_YEAR:  # a month's end is the next month's start: 9999-12 has none
        raise ValueError(f"{name}: {text!r} is after {LAST_YEAR}")
    return Month(year, month)


def month_range(first: Month, last: Month) -> list[Month]:
    """Every month from ``first`` to ``last``, both included."""
    out = []
    m = first
    while m <= last:
        out.append(m)
        m = m.next()
    return out


def last_months(today: dt.date, n: int = 12) -> tuple[Month, Month]:
    """The ``n`` months ending with ``today``'s month."""
    last = Month.of(today)
    first = last
    for _ in range(n - 1):
        first = first.previous()
    return first, last


# --- shares ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Share:
    """``numerator`` of ``denominator``; ``value`` is None when nothing was counted."""

    numerator: int
    denominator: int

    @property
    def value(self) -> float | None:
        return self.numerator / self.denominator if self.denominator else None

    @property
    def percent(self) -> str:
        v = self.value
        return "—" if v is None else f"{v * 100:.0f}%"


@dataclass(frozen=True)
class SignCount:
    """A grouped count of signatures: ``n`` in ``month`` on ``operator``'s aircraft, whose
    worker was (``local``) or was not locally trained."""

    month: Month
    operator: str
    local: bool
    n: int


@dataclass(frozen=True)
class ShareSeries:
    operator: str  # HUB for the total
    points: tuple[tuple[Month, Share], ...]


def shares(
    counts: Iterable[SignCount], months: Sequence[Month], operators: Sequence[str]
) -> dict[str, ShareSeries]:
    """The local share per month, per operator in ``operators`` and for the hub (the total
    over every count, key ``HUB``). Counts outside ``months`` are ignored; an empty month
    is a share of 0 of 0 (value None)."""
    wanted = set(months)
    local: dict[tuple[str, Month], int] = defaultdict(int)
    total: dict[tuple[str, Month], int] = defaultdict(int)
    for c in counts:
        if c.month not in wanted or c.n <= 0:
            continue
        for key in (c.operator, HUB):
            total[key, c.month] += c.n
            if c.local:
                local[key, c.month] += c.n
    out = {}
    for key in (HUB, *[o for o in operators if o != HUB]):
        out[key] = ShareSeries(key, tuple((m, Share(local[key, m], total[key, m])) for m in months))
    return out


def overall(series: ShareSeries) -> Share:
    """The share over the whole period."""
    return Share(
        sum(s.numerator for _, s in series.points), sum(s.denominator for _, s in series.points)
    )


# --- people at each stage -------------------------------------------------------------------


@dataclass(frozen=True)
class StageInfo:
    id: int
    ladder: str  # the aircraft type's code
    rank: int
    name: str

    @property
    def label(self) -> str:
        return f"{self.ladder} {self.name}"


@dataclass(frozen=True)
class GrantSpan:
    """A stage grant: from ``granted_at`` to its withdrawal, while the ``required`` courses
    (ids) are in force."""

    person: int
    stage: int
    granted_at: dt.datetime
    withdrawn_at: dt.datetime | None
    required: tuple[int, ...] = ()


@dataclass(frozen=True)
class CertSpan:
    """A certificate giving ``person`` currency in ``course`` from ``issued_on`` through
    ``expires_on`` (None: for good)."""

    person: int
    course: int
    issued_on: dt.date
    expires_on: dt.date | None


@dataclass(frozen=True)
class StageSnapshot:
    month: Month
    at: dt.datetime
    counts: tuple[tuple[StageInfo, int], ...]

    @property
    def total(self) -> int:
        return sum(n for _, n in self.counts)


def _current(spans: Sequence[CertSpan], day: dt.date) -> bool:
    return any(s.issued_on <= day and (s.expires_on is None or day <= s.expires_on) for s in spans)


def in_force(
    grant: GrantSpan, at: dt.datetime, certs: Mapping[tuple[int, int], Sequence[CertSpan]]
) -> bool:
    """Whether the grant is in force at ``at``: granted, not withdrawn, not lapsed."""
    if at < grant.granted_at:
        return False
    if grant.withdrawn_at is not None and grant.withdrawn_at <= at:
        return False
    day = at.astimezone(dt.UTC).date()
    return all(_current(certs.get((grant.person, c), ()), day) for c in grant.required)


def stage_snapshots(
    stages: Sequence[StageInfo],
    grants: Iterable[GrantSpan],
    certs: Iterable[CertSpan],
    months: Sequence[Month],
    as_of: dt.datetime,
) -> list[StageSnapshot]:
    """The people at each stage at each month's end (at ``as_of`` for a month not yet over;
    a month starting after ``as_of`` counts nobody): each person once per ladder, at the
    highest-ranked stage whose grant is in force."""
    info = {s.id: s for s in stages}
    by_key: dict[tuple[int, int], list[CertSpan]] = defaultdict(list)
    for c in certs:
        by_key[c.person, c.course].append(c)
    spans = [g for g in grants if g.stage in info]
    ordered = sorted(stages, key=lambda s: (s.ladder, s.rank))
    out = []
    for m in months:
        at = min(m.end, as_of)
        best: dict[tuple[int, str], StageInfo] = {}
        if m.start <= as_of:
            for g in spans:
                if not in_force(g, at, by_key):
                    continue
                stage = info[g.stage]
                key = (g.person, stage.ladder)
                held = best.get(key)
                if held is None or stage.rank > held.rank:
                    best[key] = stage
        tally: dict[int, int] = defaultdict(int)
        for stage in best.values():
            tally[stage.id] += 1
        out.append(StageSnapshot(m, at, tuple((s, tally[s.id]) for s in ordered)))
    return out


# --- training hours -------------------------------------------------------------------------


@dataclass(frozen=True)
class HoursCount:
    month: Month
    provider: str
    hours: Decimal


@dataclass(frozen=True)
class HoursPoint:
    month: Month
    by_provider: tuple[tuple[str, Decimal], ...]

    @property
    def total(self) -> Decimal:
        return sum((h for _, h in self.by_provider), Decimal(0))

    def hours(self, provider: str) -> Decimal:
        return dict(self.by_provider).get(provider, Decimal(0))


def hours_by_provider(
    rows: Iterable[HoursCount], months: Sequence[Month], providers: Sequence[str]
) -> list[HoursPoint]:
    """Hours delivered per month by each provider (zero where none); rows outside the
    months or of another provider are ignored."""
    sums: dict[tuple[Month, str], Decimal] = defaultdict(Decimal)
    for r in rows:
        sums[r.month, r.provider] += r.hours
    return [HoursPoint(m, tuple((p, sums[m, p]) for p in providers)) for m in months]
