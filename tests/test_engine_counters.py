"""The core's counters against a straightforward loop over the spec (no database)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from kanat.engine.counters import Flights, Installations, aircraft_counters, part_counters
from kanat.engine.timebase import OPEN_END, US_PER_HOUR


@st.composite
def fleets(draw):
    n_air = draw(st.integers(1, 4))
    flights = []
    for a in range(n_air):
        t = draw(st.integers(0, 50))
        for _ in range(draw(st.integers(0, 6))):
            t += draw(st.integers(0, 20))
            dur = draw(st.integers(1, 30))
            flights.append((a, t, t + dur, draw(st.integers(0, 3))))
            t += dur
    n_parts = draw(st.integers(1, 4))
    inst = []
    for p in range(n_parts):
        t = draw(st.integers(0, 40))
        for _ in range(draw(st.integers(0, 3))):
            a = draw(st.integers(0, n_air - 1))
            end = t + draw(st.integers(1, 60))
            open_ = draw(st.booleans())
            inst.append((p, a, t, OPEN_END if open_ else end))
            if open_:
                break
            t = end + draw(st.integers(0, 10))
    at = draw(st.integers(0, 400))
    return n_air, flights, n_parts, inst, at


def _arrays(rows, cls, n):
    cols = list(zip(*rows, strict=True)) if rows else [[] for _ in range(n)]
    return cls(*(np.array(c, dtype=np.int64) for c in cols))


@settings(max_examples=300, deadline=None)
@given(fleets())
def test_counters_match_the_spec_loop(case):
    n_air, flights, n_parts, inst, at = case
    fl = _arrays(flights, Flights, 4)
    ins = _arrays(inst, Installations, 4)
    fh, fc = aircraft_counters(np.zeros(n_air), np.zeros(n_air, dtype=np.int64), fl, at)
    for a in range(n_air):
        mine = [f for f in flights if f[0] == a and f[2] <= at]
        assert fc[a] == sum(f[3] for f in mine)
        assert fh[a] == sum(f[2] - f[1] for f in mine) / US_PER_HOUR
    pfh, pfc = part_counters(np.ones(n_parts), np.ones(n_parts, dtype=np.int64), ins, fl, at)
    for p in range(n_parts):
        us = cyc = 0
        for _, a, start, end in (i for i in inst if i[0] == p):
            for fa, t0, t1, c in flights:
                if fa == a and start <= t1 < end and t1 <= at:
                    us += t1 - t0
                    cyc += c
        assert pfc[p] == 1 + cyc
        assert pfh[p] == 1 + us / US_PER_HOUR


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 3), st.integers(0, 5 * 24), st.integers(1, 30)),
        max_size=40,
    ),
    st.lists(st.tuples(st.integers(-1, 5), st.integers(-48, 7 * 24)), min_size=1, max_size=30),
    st.booleans(),
)
def test_rank_by_day_table_matches_binary_search(rows, queries, inclusive):
    """The day table and the binary search give the rank the definition gives."""
    import dataclasses

    from kanat.engine.counters import FlightIndex
    from kanat.engine.timebase import US_PER_DAY

    hour = US_PER_HOUR
    flights = sorted({(a, t * hour // 3, t * hour // 3 + d * hour // 7) for a, t, d in rows})
    fl = Flights(
        np.array([f[0] for f in flights], dtype=np.int64),
        np.array([f[2] - 1 for f in flights], dtype=np.int64),
        np.array([f[2] for f in flights], dtype=np.int64),
        np.ones(len(flights), dtype=np.int64),
    )
    index = FlightIndex.build(fl)
    search = dataclasses.replace(index, days=None)
    a = np.array([q[0] for q in queries], dtype=np.int64)
    t = np.array([q[1] * hour // 2 for q in queries], dtype=np.int64)
    got = index.rank(a, t, inclusive=inclusive)
    assert got.tolist() == search.rank(a, t, inclusive=inclusive).tolist()
    n_air = int(fl.aircraft.max()) + 1 if flights else 0
    for k, (qa, qt) in enumerate(zip(a.tolist(), t.tolist(), strict=True)):
        before = [
            f
            for f in flights
            if f[0] < qa or (f[0] == qa and (f[2] <= qt if inclusive else f[2] < qt))
        ]
        expected = len(before) if qa < n_air or not flights else len(flights)
        assert got[k] == (0 if qa < 0 else expected)
    if flights:
        assert index.days is not None or len(flights) > 8  # the table is in use
    assert US_PER_DAY % hour == 0


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 3), st.integers(0, 5 * 24), st.integers(1, 30)),
        max_size=40,
    ),
    st.lists(st.tuples(st.integers(0, 5), st.integers(-48, 7 * 24)), min_size=1, max_size=30),
    st.booleans(),
)
def test_totals_from_the_day_table_match_the_definition(rows, queries, inclusive):
    """The totals read from the day table and the per-aircraft rows (several landings a
    day included) equal the sums over the flights, and what the binary search gives."""
    import dataclasses

    from kanat.engine.counters import FlightIndex

    hour = US_PER_HOUR
    flights = sorted({(a, t * hour // 3, t * hour // 3 + d * hour // 7) for a, t, d in rows})
    fl = Flights(
        np.array([f[0] for f in flights], dtype=np.int64),
        np.array([f[1] for f in flights], dtype=np.int64),
        np.array([f[2] for f in flights], dtype=np.int64),
        np.array([1 + f[0] % 2 for f in flights], dtype=np.int64),
    )
    index = FlightIndex.build(fl)
    a = np.array([q[0] for q in queries], dtype=np.int64)
    t = np.array([q[1] * hour // 2 for q in queries], dtype=np.int64)
    us, fc = index.totals(a, t, inclusive=inclusive)
    search = dataclasses.replace(index, days=None, own=None)
    s_us, s_fc = search.totals(a, t, inclusive=inclusive)
    for k, (qa, qt) in enumerate(zip(a.tolist(), t.tolist(), strict=True)):
        mine = [f for f in flights if f[0] == qa and (f[2] <= qt if inclusive else f[2] < qt)]
        assert us[k] == s_us[k] == sum(f[2] - f[1] for f in mine)
        assert fc[k] == s_fc[k] == sum(1 + f[0] % 2 for f in mine)
