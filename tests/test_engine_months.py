"""Month arithmetic of the forecast core against Python's calendar."""

import calendar
import datetime as dt

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from kanat.engine.months import _add_months_direct, add_months

EPOCH = dt.date(1970, 1, 1)


def expected(day: int, n: int) -> int:
    d = EPOCH + dt.timedelta(days=day)
    total = d.year * 12 + d.month - 1 + n
    y, m = divmod(total, 12)
    last = calendar.monthrange(y, m + 1)[1]
    return (dt.date(y, m + 1, min(d.day, last)) - EPOCH).days


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(-40_000, 140_000), st.integers(0, 600)), min_size=1, max_size=200
    )
)
def test_add_months_matches_the_calendar(pairs):
    """Table lookups (64 dates and more, inside 1900-2299) and the direct arithmetic
    (fewer, or outside) both clamp to the month's last day like the calendar."""
    days = np.array([p[0] for p in pairs], dtype=np.int64)
    months = np.array([p[1] for p in pairs], dtype=np.int64)
    want = [expected(d, n) for d, n in pairs]
    # repeated to cross the 64-date threshold of the tables
    assert add_months(np.tile(days, 64), np.tile(months, 64)).tolist() == want * 64
    assert _add_months_direct(days, months).tolist() == want


def test_month_end_clamp_and_leap_years():
    jan31 = (dt.date(2024, 1, 31) - EPOCH).days
    got = add_months(np.full(100, jan31), np.arange(100) % 3)
    assert [EPOCH + dt.timedelta(days=int(d)) for d in got[:3]] == [
        dt.date(2024, 1, 31),
        dt.date(2024, 2, 29),
        dt.date(2024, 3, 31),
    ]
    # the last table day and the first beyond it
    edge = (dt.date(2299, 12, 31) - EPOCH).days
    assert add_months(np.full(64, edge), np.ones(64, np.int64)).tolist() == [expected(edge, 1)] * 64
