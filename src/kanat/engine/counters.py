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

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from kanat.engine.timebase import US_PER_DAY, US_PER_HOUR

BIG = np.iinfo(np.int64).max

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
    """Flights sorted by (aircraft, landing) with prefix sums, for counter queries.

    ``cum_us[k]`` / ``cum_fc[k]`` are the totals of the first k flights in that order
    (``cum_*[0] == 0``). A query (aircraft a, instant t) is answered with two binary
    searches: t becomes its rank among the distinct landing instants (``times``), and
    (a, rank) one int64 key into ``keys`` = aircraft << 32 | rank of the landing.
    """

    aircraft: I64
    landing: I64
    cum_us: I64
    cum_fc: I64
    times: I64  # distinct landing instants, sorted
    # per flight in sorted order: aircraft << 32 | rank of its landing (or the direct key);
    # None when the day table answers
    keys: I64 | None
    starts: I64  # per aircraft index 0..max: its first flight in sorted order (+ end)
    direct: tuple[int, int] | None  # (t0, span): keys are aircraft * span + (landing - t0)
    # a table per aircraft and UTC day: (first day, days + 1, most flights landing on one
    # aircraft-day, table) where table[cell] = rank of the first flight landing on or after
    # the day's start << DAY_SHIFT | flights landing that day -- a query then costs one
    # lookup and a few steps instead of a binary search over every flight
    days: tuple[int, int, int, I64] | None = None
    # (flights + aircraft, 3): per aircraft a, at row starts[a] + a + k, its totals (µs,
    # cycles) after its first k flights and the landing of its next flight (BIG: none), so
    # a query reads one row (rank + a) and steps to the next ones of the same aircraft
    own: I64 | None = None

    @classmethod
    def build(cls, flights: Flights) -> FlightIndex:
        a, t = flights.aircraft, flights.landing
        in_order = a.size < 2 or bool(
            ((a[1:] > a[:-1]) | ((a[1:] == a[:-1]) & (t[1:] >= t[:-1]))).all()
        )
        if in_order:  # as the database returns them (ORDER BY aircraft, landing)
            aircraft, landing, takeoff, cycles = a, t, flights.takeoff, flights.cycles
        else:
            order = np.lexsort((t, a))
            aircraft, landing = a[order], t[order]
            takeoff, cycles = flights.takeoff[order], flights.cycles[order]
        landing = np.ascontiguousarray(landing, dtype=np.int64)  # (np.take copies strided)
        airborne = landing - takeoff
        cum_us = np.concatenate(([0], np.cumsum(airborne, dtype=np.int64)))
        cum_fc = np.concatenate(([0], np.cumsum(cycles, dtype=np.int64)))
        n_air = int(aircraft.max()) + 1 if aircraft.size else 0
        starts = np.searchsorted(aircraft, np.arange(n_air + 1, dtype=np.int64), side="left")
        direct = None
        if landing.size:
            # one int64 key per (aircraft, instant) when the fleet and the time span fit;
            # query instants are clipped into [t0, t0 + span - 1] without changing ranks
            t0 = int(landing.min()) - 1
            span = int(landing.max()) - t0 + 2
            if n_air * span < 2**62:
                direct = (t0, span)
        days = _day_table(aircraft, landing, n_air)
        times = np.zeros(0, dtype=np.int64)
        if days is not None:
            keys = None  # the day table answers (keys made on demand)
        elif direct is not None:
            keys = _direct_keys(aircraft, landing, direct)
        else:
            times, rank = np.unique(landing, return_inverse=True)
            keys = (aircraft.astype(np.int64) << 32) | rank.astype(np.int64).reshape(-1)
        starts = starts.astype(np.int64)
        per_air = np.diff(starts) + 1
        # row starts[a] + a + k: aircraft a after its first k flights
        row = np.arange(landing.shape[0] + n_air, dtype=np.int64)
        row -= np.repeat(np.arange(n_air, dtype=np.int64), per_air)  # its rank
        own = np.empty((row.shape[0], 3), dtype=np.int64)
        own[:, 0] = np.take(cum_us, row) - np.repeat(cum_us[starts[:-1]], per_air)
        own[:, 1] = np.take(cum_fc, row) - np.repeat(cum_fc[starts[:-1]], per_air)
        own[:, 2] = np.take(landing, row, mode="clip")
        own[starts[1:] + np.arange(n_air), 2] = BIG  # after its last flight
        return cls(aircraft, landing, cum_us, cum_fc, times, keys, starts, direct, days, own)

    def rank(self, aircraft: I64, instant: I64, *, inclusive: bool) -> I64:
        """Number of flights (in sorted order) before the query point: every flight of
        an aircraft < a, and those of a landed <= t (``inclusive``) or < t."""
        aircraft = np.asarray(aircraft, dtype=np.int64)
        instant = np.asarray(instant, dtype=np.int64)
        if self.aircraft.shape[0] == 0:
            return np.zeros(aircraft.shape, dtype=np.int64)
        if self.days is not None:
            return self._rank_by_day(aircraft, instant, inclusive)
        side: Literal["left", "right"] = "right" if inclusive else "left"
        if self.direct is not None:
            t0, span = self.direct
            keys = self.keys
            if keys is None:
                keys = _direct_keys(self.aircraft, self.landing, self.direct)
            rel = np.clip(instant, t0, t0 + span - 1) - t0  # clip first: no overflow
            return np.searchsorted(keys, aircraft * span + rel, side=side)
        assert self.keys is not None
        # landings <= t are those whose rank < r (inclusive), < t: rank < r (left)
        r = np.searchsorted(self.times, instant, side=side)
        return np.searchsorted(self.keys, (aircraft << 32) | r.astype(np.int64), side="left")

    def _day_cells(self, aircraft: I64, instant: I64) -> I64:
        """Each query's packed day-table cell (aircraft known to the table)."""
        assert self.days is not None
        d0, width, _most, table = self.days
        cell = np.floor_divide(instant, US_PER_DAY)
        cell -= d0
        if cell.size and (int(cell.min()) < 0 or int(cell.max()) >= width):
            np.maximum(cell, 0, out=cell)  # the first column
            np.minimum(cell, width - 1, out=cell)  # the column past the last day
        cell += aircraft * width
        return table[cell]

    def _step(
        self,
        pos: I64,
        packed: I64,
        instant: I64,
        inclusive: bool,
        landing_at: Callable[[I64], I64],
    ) -> None:
        """Advance ``pos`` (in place) over the flights that landed on the cell's day up to
        each instant: a cell holds at most DAY_TABLE_MOST_PER_DAY of them."""
        assert self.days is not None
        count = packed & DAY_MASK
        go = count > 0
        for k in range(self.days[2]):
            if k:
                go &= count > k
            at = landing_at(pos)
            go &= (at <= instant) if inclusive else (at < instant)
            if not bool(go.any()):
                break
            pos += go

    def _rank_by_day(self, aircraft: I64, instant: I64, inclusive: bool) -> I64:
        n = self.starts.shape[0] - 1
        known = aircraft.size == 0 or (int(aircraft.min()) >= 0 and int(aircraft.max()) < n)
        a = aircraft if known else np.where((aircraft >= 0) & (aircraft < n), aircraft, 0)
        packed = self._day_cells(a, instant)
        r = packed >> DAY_SHIFT
        self._step(r, packed, instant, inclusive, lambda r: np.take(self.landing, r, mode="clip"))
        if known:
            return r
        return np.where(
            (aircraft >= 0) & (aircraft < n), r, np.where(aircraft < 0, 0, self.landing.shape[0])
        )

    def _totals_by_day(self, aircraft: I64, instant: I64, inclusive: bool) -> tuple[I64, I64]:
        """``totals`` of known aircraft from the day table and the ``own`` rows: two
        lookups per query (its day's cell, then its row), the same answer as the ranks."""
        assert self.own is not None
        packed = self._day_cells(aircraft, instant)
        pos = packed >> DAY_SHIFT
        pos += aircraft
        flat = self.own.reshape(-1)  # (a view: np.take would copy a strided column)
        self._step(pos, packed, instant, inclusive, lambda p: np.take(flat, p * 3 + 2))
        got = np.take(self.own, pos, axis=0)  # the row the step read: in cache
        return got[:, 0], got[:, 1]

    def start(self, aircraft: I64) -> I64:
        """Index of each aircraft's first flight in sorted order."""
        aircraft = np.asarray(aircraft, dtype=np.int64)
        n = self.starts.shape[0] - 1
        return self.starts[np.minimum(aircraft, n)]

    def totals(self, aircraft: I64, instant: I64, *, inclusive: bool = True) -> tuple[I64, I64]:
        """Airborne microseconds and cycles of each aircraft's flights landed by each instant.

        ``inclusive``: landing <= instant; otherwise landing < instant.
        """
        aircraft = np.asarray(aircraft, dtype=np.int64)
        instant = np.asarray(instant, dtype=np.int64)
        n = self.starts.shape[0] - 1
        if (
            self.own is not None
            and self.days is not None
            and (aircraft.size == 0 or (int(aircraft.min()) >= 0 and int(aircraft.max()) < n))
        ):
            return self._totals_by_day(aircraft, instant, inclusive)
        hi = self.rank(aircraft, instant, inclusive=inclusive)
        lo = self.start(aircraft)
        return self.cum_us[hi] - self.cum_us[lo], self.cum_fc[hi] - self.cum_fc[lo]


def _direct_keys(aircraft: I64, landing: I64, direct: tuple[int, int]) -> I64:
    t0, span = direct
    return aircraft.astype(np.int64) * span + (landing - t0)


#: the day table is used while it has at most this many cells per flight (plus a floor)
DAY_TABLE_CELLS_PER_FLIGHT = 4
DAY_TABLE_MIN_CELLS = 1 << 20
DAY_TABLE_MOST_PER_DAY = 8
DAY_SHIFT = 4  # bits of a day-table cell that count the flights landing that day
DAY_MASK = (1 << DAY_SHIFT) - 1


def _day_table(aircraft: I64, landing: I64, n_air: int) -> tuple[int, int, int, I64] | None:
    """Per aircraft and UTC day (from the first landing's day to one past the last), the
    rank of the aircraft's first flight landing on or after that day's start; None when
    the table would be large for the flights or one aircraft-day holds many landings."""
    if landing.size == 0:
        return None
    day = np.floor_divide(landing, US_PER_DAY)
    d0 = int(day.min())
    width = int(day.max()) - d0 + 2  # + a column past the last day
    cells = n_air * width
    if cells > max(DAY_TABLE_CELLS_PER_FLIGHT * landing.size, DAY_TABLE_MIN_CELLS):
        return None
    cell = aircraft * width + (day - d0)
    per_cell = np.bincount(cell, minlength=cells)
    most = int(per_cell.max())
    if most > DAY_TABLE_MOST_PER_DAY:
        return None
    table = np.cumsum(per_cell) - per_cell  # exclusive: flights in earlier cells
    table <<= DAY_SHIFT
    table |= per_cell
    return d0, width, most, table.astype(np.int64, copy=False)


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
