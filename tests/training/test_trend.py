"""The dashboard's time-series arithmetic, without a database: hand-computed cases."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from kanat.training import trend
from kanat.training.trend import (
    HUB,
    CertSpan,
    GrantSpan,
    HoursCount,
    Month,
    Share,
    SignCount,
    StageInfo,
)


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)


# --- months ---------------------------------------------------------------------------------


def test_months_cross_the_year_and_know_their_ends():
    months = trend.month_range(Month(2025, 11), Month(2026, 2))
    assert [m.label for m in months] == ["2025-11", "2025-12", "2026-01", "2026-02"]
    feb = months[-1]
    assert feb.last_day == dt.date(2026, 2, 28)
    assert feb.end == utc(2026, 2, 28, 23, 59, 59, 999999)
    assert Month(2024, 2).last_day == dt.date(2024, 2, 29)
    assert trend.last_months(dt.date(2026, 3, 15)) == (Month(2025, 4), Month(2026, 3))
    assert trend.month_range(Month(2026, 3), Month(2026, 2)) == []


@pytest.mark.parametrize(
    ("text", "error"),
    [("2026-13", "has no month 13"), ("26-01", "YYYY-MM"), ("2026/01", "YYYY-MM"), ("", "YYYY")],
)
def test_a_bad_month_names_the_parameter(text, error):
    with pytest.raises(ValueError, match=error) as e:
        trend.parse_month(text, "from")
    assert str(e.value).startswith("from:")


# --- shares ---------------------------------------------------------------------------------


def test_shares_per_operator_and_hub_with_empty_months():
    jan, feb, mar = Month(2026, 1), Month(2026, 2), Month(2026, 3)
    counts = [
        SignCount(jan, "A", True, 3),
        SignCount(jan, "A", False, 1),
        SignCount(jan, "B", False, 4),
        SignCount(mar, "B", True, 2),
        SignCount(Month(2025, 12), "A", True, 9),  # outside the period: ignored
    ]
    out = trend.shares(counts, [jan, feb, mar], ["A", "B", "C"])
    assert set(out) == {HUB, "A", "B", "C"}
    assert [s for _, s in out["A"].points] == [Share(3, 4), Share(0, 0), Share(0, 0)]
    assert out["A"].points[0][1].value == 0.75
    assert [s.value for _, s in out["B"].points] == [0.0, None, 1.0]
    assert [s for _, s in out[HUB].points] == [Share(3, 8), Share(0, 0), Share(2, 2)]
    assert all(s.value is None for _, s in out["C"].points)
    assert trend.overall(out[HUB]) == Share(5, 10)
    assert Share(1, 3).percent == "33%" and Share(0, 0).percent == "—"


# --- people at each stage -------------------------------------------------------------------

SUP = StageInfo(1, "UAV", 1, "Supervised")
IND = StageInfo(2, "UAV", 2, "Independent")
OTHER = StageInfo(3, "HELI", 1, "Supervised")
HF = 10  # a course id


def _counts(snaps):
    return {s.month.label: {st.id: n for st, n in s.counts if n} for s in snaps}


def test_a_grant_lapses_mid_year_when_recurrent_training_expires_and_is_renewed():
    months = trend.month_range(Month(2026, 1), Month(2026, 7))
    grants = [
        GrantSpan(7, SUP.id, utc(2026, 1, 10, 9), None, ()),
        GrantSpan(7, IND.id, utc(2026, 3, 5, 9), None, (HF,)),
    ]
    certs = [
        CertSpan(7, HF, dt.date(2024, 4, 1), dt.date(2026, 4, 15)),
        CertSpan(7, HF, dt.date(2026, 6, 3), dt.date(2028, 6, 3)),  # the recurrent course
        CertSpan(8, HF, dt.date(2020, 1, 1), None),  # someone else's
    ]
    snaps = trend.stage_snapshots([SUP, IND], grants, certs, months, utc(2026, 12, 1))
    assert _counts(snaps) == {
        "2026-01": {SUP.id: 1},
        "2026-02": {SUP.id: 1},
        "2026-03": {IND.id: 1},  # the highest stage in force: counted once
        "2026-04": {SUP.id: 1},  # HF expired on 15 April: independent lapsed
        "2026-05": {SUP.id: 1},
        "2026-06": {IND.id: 1},  # renewed on 3 June
        "2026-07": {IND.id: 1},
    }
    assert [s.total for s in snaps] == [1] * 7
    assert snaps[0].at == utc(2026, 1, 31, 23, 59, 59, 999999)


def test_a_withdrawn_grant_ends_and_a_person_counts_once_per_ladder():
    months = trend.month_range(Month(2026, 1), Month(2026, 5))
    grants = [
        GrantSpan(1, SUP.id, utc(2026, 2, 1), utc(2026, 4, 30, 12), ()),
        GrantSpan(1, OTHER.id, utc(2026, 1, 31, 23), None, ()),
        GrantSpan(2, SUP.id, utc(2026, 2, 28, 23, 59, 59, 999999), None, ()),
        GrantSpan(3, IND.id, utc(2026, 3, 1), None, (HF,)),  # never current in HF
        GrantSpan(4, 99, utc(2026, 1, 1), None, ()),  # a stage not on the list: ignored
    ]
    snaps = trend.stage_snapshots([SUP, IND, OTHER], grants, [], months, utc(2026, 12, 1))
    assert _counts(snaps) == {
        "2026-01": {OTHER.id: 1},
        "2026-02": {SUP.id: 2, OTHER.id: 1},  # granted at the month's last instant counts
        "2026-03": {SUP.id: 2, OTHER.id: 1},
        "2026-04": {SUP.id: 1, OTHER.id: 1},  # withdrawn on 30 April
        "2026-05": {SUP.id: 1, OTHER.id: 1},
    }
    # the ladders in order, every stage listed (zero where nobody is)
    assert [st.label for st, _ in snaps[0].counts] == [
        "HELI Supervised",
        "UAV Supervised",
        "UAV Independent",
    ]


def test_the_current_month_is_counted_at_as_of_and_later_months_count_nobody():
    months = trend.month_range(Month(2026, 5), Month(2026, 7))
    grants = [
        GrantSpan(1, SUP.id, utc(2026, 5, 2), utc(2026, 6, 20), ()),
        GrantSpan(2, SUP.id, utc(2026, 6, 1), None, ()),
    ]
    snaps = trend.stage_snapshots([SUP], grants, [], months, utc(2026, 6, 10, 12))
    assert [s.total for s in snaps] == [1, 2, 0]  # on 10 June both are in force
    assert snaps[1].at == utc(2026, 6, 10, 12)


# --- training hours -------------------------------------------------------------------------


def test_hours_by_provider_with_empty_months():
    jan, feb = Month(2026, 1), Month(2026, 2)
    rows = [
        HoursCount(jan, "licensor", Decimal("40.5")),
        HoursCount(jan, "local_school", Decimal("8")),
        HoursCount(jan, "licensor", Decimal("1.5")),
        HoursCount(Month(2026, 3), "licensor", Decimal("99")),  # outside: ignored
    ]
    out = trend.hours_by_provider(rows, [jan, feb], ["licensor", "local_school"])
    assert [p.by_provider for p in out] == [
        (("licensor", Decimal("42.0")), ("local_school", Decimal("8"))),
        (("licensor", Decimal(0)), ("local_school", Decimal(0))),
    ]
    assert out[0].total == Decimal("50.0") and out[1].total == 0
    assert out[0].hours("local_school") == 8
