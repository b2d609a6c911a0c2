"""Aircraft and part counters (FH, FC) exactly as ../shared/spec/forecast.md defines.

- An aircraft's FH/FC at instant t = opening balance + the sum over its flights
  whose *landing* is at or before t (a flight in the air counts nothing yet).
- A serialised part's FH/FC at t = opening balance + the FH/FC of flights that
  landed while it was installed (installed_at <= landing < removed_at) and at or
  before t, on whichever aircraft it was.

Everything is vectorised: flights are sorted once per aircraft, prefix sums are
taken once, and each query (aircraft, instant) is answered by a merge-sort rank,
so the cost is O((flights + queries) log) whatever the fleet size.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from kanat.engine.timebase import US_PER_HOUR

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Flights:
    """Flights as parallel arrays. ``aircraft`` indexes the caller's aircraft list."""

    aircraft: I64
    takeoff: I64  # microseconds since the epoch, UTC
    landing: I64
    cycles: I64

    @classmethod
    def empty(cls) -> Flights:
        z = np.zeros(0, dtype=np.int64)
        return cls(z, z, z, z)

    def __len__(self) -> int:
        return int(self.aircraft.shape[0])


@dataclass(frozen=True)
class FlightIndex:
    """Flights sorted by (aircraft, landing) with inclusive prefix sums.

    ``cum_us[k]`` / ``cum_fc[k]`` are the totals of the first k flights in that
    order (so ``cum_*[0] == 0``); a query's rank in the same order gives its total
    over the flights of its aircraft up to the instant, minus the aircraft's base.
    """

    aircraft: I64
    landing: I64
    cum_us: I64
    cum_fc: I64

    @classmethod
    def build(cls, flights: Flights) -> FlightIndex:
        order = np.lexsort((flights.landing, flights.aircraft))
        aircraft = flights.aircraft[order]
        landing = flights.landing[order]
        airborne = (flights.landing - flights.takeoff)[order]
        cum_us = np.concatenate(([0], np.cumsum(airborne, dtype=np.int64)))
        cum_fc = np.concatenate(([0], np.cumsum(flights.cycles[order], dtype=np.int64)))
        return cls(aircraft, landing, cum_us.astype(np.int64), cum_fc.astype(np.int64))

    def rank(self, aircraft: I64, instant: I64, *, inclusive: bool) -> I64:
        """Number of flights (in sorted order) before the query point.

        The query point for (a, t) sits after every flight of aircraft < a, and
        after the flights of aircraft a whose landing is <= t (``inclusive``) or
        < t (not inclusive).
        """
        aircraft = np.asarray(aircraft, dtype=np.int64)
        instant = np.asarray(instant, dtype=np.int64)
        n = self.aircraft.shape[0]
        if n == 0:
            return np.zeros(aircraft.shape, dtype=np.int64)
        # Merge flights and queries in one sort: key (aircraft, time, tie),
        # a query sorts after equal-time flights when inclusive, before otherwise.
        q = aircraft.shape[0]
        all_air = np.concatenate((self.aircraft, aircraft))
        all_time = np.concatenate((self.landing, instant))
        tie_flight = 1 if not inclusive else 0
        tie_query = 0 if not inclusive else 1
        tie = np.concatenate(
            (np.full(n, tie_flight, dtype=np.int8), np.full(q, tie_query, dtype=np.int8))
        )
        is_flight = np.concatenate((np.ones(n, dtype=np.int64), np.zeros(q, dtype=np.int64)))
        order = np.lexsort((tie, all_time, all_air))
        flights_before = np.cumsum(is_flight[order]) - is_flight[order]
        ranks = np.empty(n + q, dtype=np.int64)
        ranks[order] = flights_before
        return ranks[n:]

    def totals(self, aircraft: I64, instant: I64, *, inclusive: bool = True) -> tuple[I64, I64]:
        """Airborne microseconds and cycles of each aircraft's flights landed by each instant.

        ``inclusive``: landing <= instant; otherwise landing < instant.
        """
        aircraft = np.asarray(aircraft, dtype=np.int64)
        hi = self.rank(aircraft, instant, inclusive=inclusive)
        lo = np.searchsorted(self.aircraft, aircraft, side="left")
        return self.cum_us[hi] - self.cum_us[lo], self.cum_fc[hi] - self.cum_fc[lo]


def aircraft_counters(
    opening_fh: F64, opening_fc: I64, flights: Flights, at: I64 | int
) -> tuple[F64, I64]:
    """FH and FC of every aircraft (index 0..n-1) at the instant(s) ``at``."""
    n = opening_fh.shape[0]
    index = FlightIndex.build(flights)
    at_arr = np.broadcast_to(np.asarray(at, dtype=np.int64), (n,))
    us, fc = index.totals(np.arange(n, dtype=np.int64), at_arr)
    return opening_fh + us / US_PER_HOUR, opening_fc + fc


@dataclass(frozen=True)
class Installations:
    """Installation intervals as parallel arrays; ``removed_at`` is OPEN_END when open."""

    part: I64
    aircraft: I64
    installed_at: I64
    removed_at: I64

    @classmethod
    def empty(cls) -> Installations:
        z = np.zeros(0, dtype=np.int64)
        return cls(z, z, z, z)


def part_counters(
    opening_fh: F64,
    opening_fc: I64,
    installations: Installations,
    flights: Flights | FlightIndex,
    at: I64 | int,
) -> tuple[F64, I64]:
    """FH and FC since new of every part (index 0..n-1) at the instant(s) ``at``.

    Flights count when installed_at <= landing < removed_at and landing <= at.
    """
    n = opening_fh.shape[0]
    index = flights if isinstance(flights, FlightIndex) else FlightIndex.build(flights)
    at_arr = np.broadcast_to(np.asarray(at, dtype=np.int64), (n,))
    inst = installations
    at_of = at_arr[inst.part]
    # upper bound: landing < removed_at and landing <= at
    #   == landing <= min(removed_at - 1us, at)
    upper = np.minimum(inst.removed_at - 1, at_of)
    hi_us, hi_fc = index.totals(inst.aircraft, upper, inclusive=True)
    lo_us, lo_fc = index.totals(inst.aircraft, inst.installed_at, inclusive=False)
    valid = upper >= inst.installed_at
    d_us = np.where(valid, hi_us - lo_us, 0)
    d_fc = np.where(valid, hi_fc - lo_fc, 0)
    sum_us = np.zeros(n, dtype=np.int64)
    np.add.at(sum_us, inst.part, d_us)
    sum_fc = np.zeros(n, dtype=np.int64)
    np.add.at(sum_fc, inst.part, d_fc)
    return opening_fh + sum_us / US_PER_HOUR, opening_fc + sum_fc
