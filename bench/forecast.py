"""Forecast benchmark: the core, the end-to-end `kanat forecast`, and a per-item reference.

    .venv/bin/python bench/forecast.py [--aircraft 10000] [--sample 100] [--skip-postgres]
    .venv/bin/python bench/forecast.py --core-only --repeat 5      # (a) alone, five times

Builds one synthetic fleet (fixed seed): N aircraft with 100 aircraft tasks each and 20
serialised parts with 10 part-number tasks each (300 items per aircraft), a year of flights
(a sortie every 2 days), one or two compliance records per item, some with stated counters,
and times in one run:

(a) the Django-free core on arrays (best of 3 separate calls, after a first one);
(b) `kanat forecast --as-of ... --format json > /dev/null` end to end from a database
    populated with the same fleet (SQLite file, and PostgreSQL at 127.0.0.1:5432 unless
    --skip-postgres), with the peak memory of that process;
(c) a straightforward per-item reference (Python objects and ORM queries, item by item) on
    the first --sample aircraft, scaled per item, and how many of its statuses the core agrees
    with.

Populating the databases is not timed and writes the tables in bulk (not a user write path).
It prints figures and ratios; it asserts nothing about time.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

from kanat.engine import due  # noqa: E402
from kanat.engine.counters import Flights, Installations  # noqa: E402
from kanat.engine.timebase import OPEN_END, US_PER_DAY, US_PER_HOUR  # noqa: E402

AIRCRAFT_TASKS = 100
PARTS_PER_AIRCRAFT = 20
TASKS_PER_PN = 10
FLIGHTS_PER_AIRCRAFT = 180
AS_OF = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
AS_OF_US = (AS_OF - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)) // dt.timedelta(microseconds=1)
N_VARIANTS = 4


class Fleet:
    """The synthetic fleet as plain arrays (indices = row order = database ids - 1)."""

    def __init__(self, n_air: int, seed: int = 2022) -> None:
        rng = np.random.default_rng(seed)
        self.n_air = n_air
        self.variant = np.arange(n_air, dtype=np.int64) % N_VARIANTS
        self.delivered = (AS_OF_US // US_PER_DAY - rng.integers(400, 2000, n_air)).astype(np.int64)
        self.opening_fh = np.round(rng.uniform(0, 3000, n_air), 1)
        self.opening_fc = (self.opening_fh / 10).astype(np.int64)
        self.planned = rng.random(n_air) < 0.3
        # flights: a sortie every 2 days over the last year, 2-20 h
        nf = FLIGHTS_PER_AIRCRAFT
        start = AS_OF_US - 365 * US_PER_DAY
        self.f_air = np.repeat(np.arange(n_air, dtype=np.int64), nf)
        slot = np.tile(np.arange(nf, dtype=np.int64), n_air) * 2 * US_PER_DAY
        self.f_takeoff = start + slot + rng.integers(0, 20, n_air * nf) * US_PER_HOUR
        self.f_landing = self.f_takeoff + rng.integers(2 * 60, 20 * 60, n_air * nf) * 60_000_000
        self.f_cycles = np.where(rng.random(n_air * nf) < 0.05, 2, 1).astype(np.int64)
        # parts: 20 per aircraft, part number = slot; installed since delivery; every 50th
        # part came from another aircraft (history across airframes)
        n_parts = n_air * PARTS_PER_AIRCRAFT
        self.n_parts = n_parts
        self.p_pn = np.tile(np.arange(PARTS_PER_AIRCRAFT, dtype=np.int64), n_air)
        self.p_air = np.repeat(np.arange(n_air, dtype=np.int64), PARTS_PER_AIRCRAFT)
        self.p_manufactured = self.delivered[self.p_air] - rng.integers(10, 300, n_parts)
        self.p_opening_fh = np.round(rng.uniform(0, 2000, n_parts), 1)
        self.p_opening_fc = (self.p_opening_fh / 10).astype(np.int64)
        moved = np.nonzero(rng.random(n_parts) < 0.02)[0]
        inst_part = [np.arange(n_parts, dtype=np.int64)]
        inst_air = [self.p_air]
        fit = AS_OF_US - 200 * US_PER_DAY
        inst_from = [
            np.where(
                np.isin(np.arange(n_parts), moved), fit, self.delivered[self.p_air] * US_PER_DAY
            )
        ]
        inst_to = [np.full(n_parts, OPEN_END, dtype=np.int64)]
        inst_part.append(moved)
        inst_air.append((self.p_air[moved] + 1) % n_air)
        inst_from.append(np.full(moved.size, AS_OF_US - 400 * US_PER_DAY, dtype=np.int64))
        inst_to.append(np.full(moved.size, fit - US_PER_DAY, dtype=np.int64))
        self.i_part = np.concatenate(inst_part)
        self.i_air = np.concatenate(inst_air)
        self.i_from = np.concatenate(inst_from).astype(np.int64)
        self.i_to = np.concatenate(inst_to).astype(np.int64)
        # tasks: 100 on variants (each applies to every variant), 10 per part number
        n_tasks = AIRCRAFT_TASKS + PARTS_PER_AIRCRAFT * TASKS_PER_PN
        self.n_tasks = n_tasks
        self.t_kind = np.zeros(n_tasks, dtype=np.int64)
        self.t_kind[::25] = due.ONCE
        self.t_kind[7::40] = due.LIFE_LIMIT
        self.t_sched = (np.arange(n_tasks) % 5 == 0).astype(np.int64)  # 20% last_due
        self.t_threshold = np.full((n_tasks, 4), np.nan)
        self.t_interval = np.full((n_tasks, 4), np.nan)
        self.t_tolerance = np.full((n_tasks, 3), np.nan)
        units = rng.integers(0, 4, n_tasks)
        self.t_interval[:, 0] = np.where(units != 2, rng.integers(50, 600, n_tasks), np.nan)
        self.t_interval[:, 1] = np.where(units == 1, rng.integers(30, 300, n_tasks), np.nan)
        self.t_interval[:, 2] = np.where(units == 2, rng.integers(30, 365, n_tasks), np.nan)
        self.t_interval[:, 3] = np.where(units >= 2, rng.integers(3, 24, n_tasks), np.nan)
        self.t_tolerance[:, 0] = 10.0
        self.t_tolerance[:, 2] = 7.0
        once = self.t_kind != due.REPEAT
        self.t_threshold[once, 0] = rng.integers(1000, 6000, int(once.sum()))
        self.t_interval[once] = np.nan
        self.t_pn = np.full(n_tasks, -1, dtype=np.int64)
        self.t_pn[AIRCRAFT_TASKS:] = np.repeat(np.arange(PARTS_PER_AIRCRAFT), TASKS_PER_PN)
        # compliances: one per repeat/once item in the last 300 days, a second for half
        c_task, c_air, c_part = [], [], []
        for t in range(AIRCRAFT_TASKS):
            if self.t_kind[t] == due.LIFE_LIMIT:
                continue
            c_task.append(np.full(n_air, t))
            c_air.append(np.arange(n_air))
            c_part.append(np.full(n_air, -1))
        for t in range(AIRCRAFT_TASKS, n_tasks):
            if self.t_kind[t] == due.LIFE_LIMIT:
                continue
            parts = np.nonzero(self.p_pn == self.t_pn[t])[0]
            c_task.append(np.full(parts.size, t))
            c_air.append(np.full(parts.size, -1))
            c_part.append(parts)
        ct, ca, cp = (np.concatenate(x).astype(np.int64) for x in (c_task, c_air, c_part))
        twice = rng.random(ct.size) < 0.5
        ct, ca, cp = (np.concatenate((x, x[twice])) for x in (ct, ca, cp))
        cd = AS_OF_US - rng.integers(1, 300 * 24, ct.size) * US_PER_HOUR + 30 * 60_000_000
        order = np.lexsort((cd, cp, ca, ct, cp >= 0))
        self.c_task, self.c_air, self.c_part, self.c_done = (
            ct[order],
            ca[order],
            cp[order],
            cd[order],
        )
        stated = rng.random(ct.size) < 0.05
        self.c_stated_fh = np.where(stated, np.round(rng.uniform(0, 500, ct.size), 1), np.nan)

    @property
    def items(self) -> int:
        return self.n_air * (AIRCRAFT_TASKS + PARTS_PER_AIRCRAFT * TASKS_PER_PN)

    def core_inputs(self) -> tuple[due.Fleet, due.Tasks, due.Compliances]:
        rate = np.full((self.n_air, 2), np.nan)
        rate[self.planned, 0] = 8.0
        fleet = due.Fleet(
            self.opening_fh,
            self.opening_fc,
            self.delivered,
            self.variant,
            rate,
            self.p_opening_fh,
            self.p_opening_fc,
            self.p_manufactured,
            self.p_pn,
            Installations(self.i_part, self.i_air, self.i_from, self.i_to),
            Flights(self.f_air, self.f_takeoff, self.f_landing, self.f_cycles),
        )
        vt = np.repeat(np.arange(AIRCRAFT_TASKS), N_VARIANTS)
        vid = np.tile(np.arange(N_VARIANTS), AIRCRAFT_TASKS)
        tasks = due.Tasks(
            self.t_kind,
            self.t_sched,
            self.t_threshold,
            self.t_interval,
            self.t_tolerance,
            self.t_pn,
            vt.astype(np.int64),
            vid.astype(np.int64),
        )
        stated = np.stack((self.c_stated_fh, np.full(self.c_done.size, np.nan)), axis=1)
        comps = due.Compliances(self.c_task, self.c_air, self.c_part, self.c_done, stated)
        return fleet, tasks, comps


def time_core(fleet: Fleet) -> tuple[float, float, int, float]:
    """Best of 3 runs (each after the previous result is freed, as separate calls would
    be), the first run in this process, the items forecast, and the core's peak memory
    above its inputs (tracemalloc, which numpy reports its arrays to) in MB."""
    import tracemalloc

    inputs = fleet.core_inputs()
    best = math.inf
    first = 0.0
    result = None
    for n in range(4):
        result = None  # the previous run's outputs go back to the allocator first
        t = time.perf_counter()
        result = due.forecast(*inputs, as_of=AS_OF_US)
        took = time.perf_counter() - t
        if n == 0:
            first = took
        else:
            best = min(best, took)
    del result
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    result = due.forecast(*inputs, as_of=AS_OF_US)
    peak = (tracemalloc.get_traced_memory()[1] - base) / 2**20
    tracemalloc.stop()
    return best, first, int(result.kept.shape[0]), peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--aircraft", type=int, default=10_000)
    parser.add_argument("--sample", type=int, default=100)
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument(
        "--core-only", action="store_true", help="time the core only (a), N times with --repeat"
    )
    parser.add_argument("--repeat", type=int, default=1, help="with --core-only: runs of (a)")
    args = parser.parse_args()
    t = time.perf_counter()
    fleet = Fleet(args.aircraft)
    print(
        f"synthetic fleet: {args.aircraft} aircraft, {fleet.items:,} items, "
        f"{fleet.f_air.size:,} flights, {fleet.c_task.size:,} compliances "
        f"(built in {time.perf_counter() - t:.1f} s)"
    )
    for _ in range(args.repeat if args.core_only else 1):
        core_s, core_first, core_items, core_mb = time_core(fleet)
        print(
            f"(a) core: {core_s:.2f} s for {core_items:,} items ({core_items / core_s / 1e6:.2f} "
            f"M items/s, best of 3 after a first run of {core_first:.2f} s in this process); its "
            f"peak memory above its inputs {core_mb:,.0f} MB",
            flush=True,
        )
    if args.core_only:
        return
    from bench import forecast_db

    rows = forecast_db.run_all(fleet, args, AS_OF)
    for line in rows["lines"]:
        print(line)
    ref_per_item = rows.get("reference_per_item")
    if ref_per_item:
        core_per_item = core_s / core_items
        print(
            f"per item: reference {ref_per_item * 1e6:,.0f} µs, core {core_per_item * 1e6:.3f} µs "
            f"-> core is {ref_per_item / core_per_item:,.0f}x faster per item"
        )


if __name__ == "__main__":
    main()
