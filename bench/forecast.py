"""Forecast benchmark: the core, the end-to-end `kanat forecast`, and a per-item reference.

    .venv/bin/python bench/forecast.py [--aircraft 10000] [--sample 100] [--skip-postgres]
                                       [--keep DIR]

Builds one synthetic fleet (fixed seed): N aircraft of 4 variants and 3 operators, each with
100 aircraft tasks (80 common to all variants, 20 of its variant) and 20 serialised parts
(one per position) carrying 10 part-number tasks each: 300 items per aircraft. Tasks mix
`repeat` (last_done and last_due, some with a threshold), `once` and `life_limit`, in units
FH/FC/DY/MO with tolerances. A year of flights (one every 2-3 days, 2-20 h, some in the air
at the instant), one or two compliance records per item over the past year, some migrated
records with stated counters, some corrected, some after the instant; some parts swapped
between aircraft, some in stores. It times, in one run:

(a) the Django-free core (`kanat.engine.due.forecast`) on arrays built directly, best of 3,
    with the peak memory of the process running it;
(b) `kanat forecast --as-of ... --format json > /dev/null` (and `--format table`) end to end,
    as a process of its own, from a database populated with the same fleet (an SQLite file,
    and PostgreSQL at 127.0.0.1:5432 unless --skip-postgres), with its peak RSS; then the
    same steps in-process with a clock around each (reading, core, airworthiness, writing);
(c) a straightforward per-item reference written here (Python objects and ORM queries, item
    by item) on the first --sample aircraft (and the parts in stores among their first
    parts), scaled per item; it is also a spot check: its due, remaining, due date, driver
    and status are compared with the core's for every item of the sample.

Populating the databases is not timed and writes the tables in bulk (executemany in one
transaction on SQLite, COPY on PostgreSQL), not through the services: it is not a user
write path. --keep DIR keeps the SQLite file (and the PostgreSQL database kanat_bench_forecast) and
reuses them on the next run with the same --aircraft.

It prints figures and ratios measured in this run; it asserts nothing about time.
"""

from __future__ import annotations

import argparse
import calendar
import datetime as dt
import json
import math
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from itertools import repeat
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from kanat.engine import due  # noqa: E402
from kanat.engine.counters import Flights, Installations  # noqa: E402
from kanat.engine.timebase import OPEN_END, US_PER_DAY, US_PER_HOUR  # noqa: E402

PYTHON = ROOT / ".venv" / "bin" / "python"
KANAT = ROOT / ".venv" / "bin" / "kanat"
PG_ADMIN = "postgres://postgres@127.0.0.1:5432/postgres"
PG_DB = "kanat_bench_forecast"
PG_BENCH = f"postgres://postgres@127.0.0.1:5432/{PG_DB}"

AS_OF = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
AS_OF_TEXT = "2026-06-01T00:00:00Z"
AS_OF_US = (AS_OF - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)) // dt.timedelta(microseconds=1)
TODAY = AS_OF_US // US_PER_DAY
MINUTE = 60_000_000
HORIZON = 30
SEED = 2026
BENCH_VERSION = 2  # bump when the synthetic fleet changes (invalidates --keep databases)

N_OPERATORS = 3
N_VARIANTS = 4
COMMON_TASKS = 80  # aircraft tasks of every variant
VARIANT_TASKS = 20  # aircraft tasks of one variant, per variant
PART_NUMBERS = 20  # serialised parts per aircraft, one per position and part number
TASKS_PER_PN = 10
N_AIRCRAFT_TASKS = COMMON_TASKS + N_VARIANTS * VARIANT_TASKS
N_TASKS = N_AIRCRAFT_TASKS + PART_NUMBERS * TASKS_PER_PN
ITEMS_PER_AIRCRAFT = COMMON_TASKS + VARIANT_TASKS + PART_NUMBERS * TASKS_PER_PN
FH, FC, DY, MO = range(4)
UNIT_COMBOS = [(FH,), (FC,), (FH, FC), (DY,), (MO,), (FH, MO), (FC, DY), (FH, FC, MO), (FH, DY)]
UNIT_WEIGHTS = [0.20, 0.08, 0.12, 0.12, 0.12, 0.14, 0.06, 0.08, 0.08]

TARGET_CORE_S = 1.0
TARGET_E2E_S = 15.0
TARGET_MEM_MB = 2048.0
TARGET_RATIO = 100.0


# --- the synthetic fleet, as arrays (index = database id - 1) -----------------------------


class Fleet:
    def __init__(self, n_air: int, seed: int = SEED) -> None:
        rng = np.random.default_rng(seed)
        n = n_air
        self.n_air = n
        ids = np.arange(n, dtype=np.int64)
        self.variant = ids % N_VARIANTS
        self.operator = ids % N_OPERATORS
        # aircraft: 2 % delivered in the last 3 months (short 90-day window, fewer flights)
        self.recent = rng.random(n) < 0.02
        age = np.where(self.recent, rng.integers(20, 80, n), rng.integers(400, 2000, n))
        self.delivered = (TODAY - age).astype(np.int64)
        self.opening_fh = np.where(self.recent, 0.0, np.round(rng.uniform(0, 3000, n), 1))
        self.opening_fc = (self.opening_fh / 3).astype(np.int64)
        self.rate_fh = np.where(rng.random(n) < 0.3, np.round(rng.uniform(3, 6, n), 1), np.nan)
        self.rate_fc = np.where(rng.random(n) < 0.15, np.round(rng.uniform(0.3, 0.6, n), 2), np.nan)

        # flights: one every 2 or 3 days from a year ago (or delivery), 2-20 h, taking off
        # 0-20 h into its day slot: a flight ends before the next slot, no overlaps; the
        # last one may still be in the air at the instant
        slots = 183
        first = np.maximum(AS_OF_US - 365 * US_PER_DAY, (self.delivered + 1) * US_PER_DAY)
        first = first + rng.integers(0, 48 * 60, n) * MINUTE
        gaps = rng.integers(2, 4, (n, slots)) * US_PER_DAY
        gaps[:, 0] = 0
        takeoff = first[:, None] + np.cumsum(gaps, axis=1)
        takeoff += rng.integers(0, 20 * 60, (n, slots)) * MINUTE
        landing = takeoff + rng.integers(2 * 60, 20 * 60 + 1, (n, slots)) * MINUTE
        flown = takeoff <= AS_OF_US
        self.f_air = np.broadcast_to(ids[:, None], (n, slots))[flown]
        self.f_takeoff = takeoff[flown]
        self.f_landing = landing[flown]
        draw = rng.random(self.f_air.size)
        self.f_cycles = np.where(draw < 0.01, 3, np.where(draw < 0.06, 2, 1)).astype(np.int64)

        # parts: PART_NUMBERS per aircraft, part j of aircraft a at index a * 20 + j
        npart = n * PART_NUMBERS
        self.n_parts = npart
        self.p_owner = np.repeat(ids, PART_NUMBERS)  # the aircraft it ends on
        self.p_pn = np.tile(np.arange(PART_NUMBERS, dtype=np.int64), n)
        self.p_opening_fh = np.round(rng.uniform(0, 2000, npart), 1)
        self.p_opening_fc = (self.p_opening_fh / 3).astype(np.int64)
        # swaps: in 5 % of the pairs (2k, 2k+1) of aircraft in service for over a year, a
        # few positions swap their parts (each part was on the other aircraft before)
        pairs = np.arange(0, n - 1, 2, dtype=np.int64)
        pairs = pairs[~self.recent[pairs] & ~self.recent[pairs + 1]]
        pairs = pairs[rng.random(pairs.size) < 0.05]
        chosen = rng.random((pairs.size, PART_NUMBERS)) < 0.1
        chosen[np.arange(pairs.size), rng.integers(0, PART_NUMBERS, pairs.size)] = True
        swap_at = AS_OF_US - rng.integers(30, 300, pairs.size) * US_PER_DAY
        swap_at += rng.integers(0, 24 * 60, pairs.size) * MINUTE
        pair_k, slot_k = np.nonzero(chosen)
        a_side = pairs[pair_k] * PART_NUMBERS + slot_k
        b_side = (pairs[pair_k] + 1) * PART_NUMBERS + slot_k
        moved = np.concatenate((a_side, b_side))
        moved_from = np.concatenate((pairs[pair_k] + 1, pairs[pair_k]))  # the other aircraft
        moved_at = np.concatenate((swap_at[pair_k], swap_at[pair_k]))
        first_air = self.p_owner.copy()
        first_air[moved] = moved_from
        start_day = np.minimum(self.delivered[self.p_owner], self.delivered[first_air])
        self.p_manufactured = start_day - rng.integers(10, 300, npart)
        # stores: 0.5 % of the other parts were removed in the last 100 days, not refitted
        fixed = np.ones(npart, dtype=bool)
        fixed[moved] = False
        fixed &= ~self.recent[self.p_owner]  # removed after their aircraft came
        stores = np.nonzero(fixed & (rng.random(npart) < 0.005))[0]
        removed_at = AS_OF_US - rng.integers(1, 100, stores.size) * US_PER_DAY
        removed_at += rng.integers(0, 24 * 60, stores.size) * MINUTE
        self.p_fitted = np.ones(npart, dtype=bool)
        self.p_fitted[stores] = False
        # installations: every part on its owner from delivery (or the swap), open unless
        # in stores; a swapped part also on the other aircraft before the swap
        own_from = self.delivered[self.p_owner] * US_PER_DAY
        own_from[moved] = moved_at
        own_to = np.full(npart, OPEN_END, dtype=np.int64)
        own_to[stores] = removed_at
        reason = np.full(npart, "", dtype=object)
        reason[stores] = "unscheduled"
        self.i_part = np.concatenate((np.arange(npart, dtype=np.int64), moved))
        self.i_air = np.concatenate((self.p_owner, moved_from))
        self.i_from = np.concatenate((own_from, self.delivered[moved_from] * US_PER_DAY))
        self.i_to = np.concatenate((own_to, moved_at))
        self.i_reason = np.concatenate((reason, np.full(moved.size, "transfer", dtype=object)))
        self.n_moved, self.n_stores = int(moved.size), int(stores.size)

        self._tasks(rng)
        self._compliances(rng)

    def _tasks(self, rng: np.random.Generator) -> None:
        nt = N_TASKS
        t = np.arange(nt)
        self.t_pn = np.where(
            t < N_AIRCRAFT_TASKS, -1, (t - N_AIRCRAFT_TASKS) // TASKS_PER_PN
        ).astype(np.int64)
        # variants per aircraft task: common ones all, then VARIANT_TASKS of each variant
        self.t_variants = [
            list(range(N_VARIANTS)) if k < COMMON_TASKS else [(k - COMMON_TASKS) // VARIANT_TASKS]
            for k in range(N_AIRCRAFT_TASKS)
        ] + [[] for _ in range(nt - N_AIRCRAFT_TASKS)]
        kind = np.full(nt, due.REPEAT, dtype=np.int64)
        kind[(t % 25 == 3)] = due.ONCE
        kind[[13, 97]] = due.LIFE_LIMIT  # airframe life limits
        on_pn = t >= N_AIRCRAFT_TASKS
        kind[on_pn & ((t - N_AIRCRAFT_TASKS) % TASKS_PER_PN == 9) & (self.t_pn % 2 == 0)] = (
            due.LIFE_LIMIT
        )
        self.t_kind = kind
        repeat_ = kind == due.REPEAT
        self.t_sched = np.where(repeat_ & (rng.random(nt) < 0.25), due.LAST_DUE, due.LAST_DONE)
        iv = np.full((nt, 4), np.nan)
        th = np.full((nt, 4), np.nan)
        tol = np.full((nt, 3), np.nan)
        combo = rng.choice(len(UNIT_COMBOS), size=nt, p=UNIT_WEIGHTS)
        values = np.stack(
            (
                rng.integers(100, 1200, nt) / 2,  # FH, some with a half hour
                rng.integers(30, 300, nt),
                rng.integers(30, 365, nt),
                rng.integers(3, 24, nt),
            ),
            axis=1,
        ).astype(np.float64)
        for k in range(nt):
            units = UNIT_COMBOS[combo[k]]
            if kind[k] == due.REPEAT:
                for u in units:
                    iv[k, u] = values[k, u]
                if rng.random() < 0.3:  # a threshold on the first unit, maybe a MO one too
                    u = units[0]
                    th[k, u] = np.round(values[k, u] * rng.uniform(1.5, 3.0), 0)
                    if rng.random() < 0.3:
                        th[k, MO] = float(rng.integers(12, 60))
            elif kind[k] == due.ONCE:
                th[k, FH] = float(rng.integers(1000, 8000))
                if rng.random() < 0.5:
                    th[k, MO] = float(rng.integers(6, 60))
            else:
                th[k, FH] = float(rng.integers(3000, 20000))
                if rng.random() < 0.5:
                    th[k, FC] = float(rng.integers(1000, 5000))
            has = ~np.isnan(iv[k]) | ~np.isnan(th[k])
            if has[FH] and rng.random() < 0.7:
                tol[k, 0] = np.round(0.1 * np.nanmin((iv[k, FH], th[k, FH])), 1)
            if has[FC] and rng.random() < 0.4:
                tol[k, 1] = max(1.0, float(int(0.05 * np.nanmin((iv[k, FC], th[k, FC])))))
            if (has[DY] or has[MO]) and rng.random() < 0.6:
                tol[k, 2] = float(rng.integers(3, 31))
        # a life limit has no tolerance whatever the task says: some say one anyway
        self.t_threshold, self.t_interval, self.t_tolerance = th, iv, tol

    def _compliances(self, rng: np.random.Generator) -> None:
        # every item: (task, aircraft) for the tasks of its variant, (task, part) by number
        it_task, it_air, it_part = [], [], []
        for v in range(N_VARIANTS):
            tv = np.array([k for k in range(N_AIRCRAFT_TASKS) if v in self.t_variants[k]])
            av = np.nonzero(self.variant == v)[0]
            it_task.append(np.repeat(tv, av.size))
            it_air.append(np.tile(av, tv.size))
            it_part.append(np.full(tv.size * av.size, -1))
        for pn in range(PART_NUMBERS):
            tp = np.nonzero(self.t_pn == pn)[0]
            pp = np.nonzero(self.p_pn == pn)[0]
            it_task.append(np.repeat(tp, pp.size))
            it_air.append(np.full(tp.size * pp.size, -1))
            it_part.append(np.tile(pp, tp.size))
        task, air, part = (np.concatenate(x).astype(np.int64) for x in (it_task, it_air, it_part))
        self.n_items = int(task.size)
        kind = self.t_kind[task]
        draw = rng.random(task.size)
        count = np.where(
            kind == due.REPEAT,
            (draw >= 0.03).astype(np.int64) + (draw >= 0.5),
            np.where(kind == due.ONCE, (draw < 0.85).astype(np.int64), (draw < 0.01)),
        ).astype(np.int64)
        start = (
            np.where(
                part >= 0,
                self.p_manufactured[np.maximum(part, 0)],
                self.delivered[np.maximum(air, 0)],
            )
            * US_PER_DAY
        )
        lo = np.maximum(AS_OF_US - 360 * US_PER_DAY, start + US_PER_DAY)
        # a maintained fleet: a repeat item's last record some 0-1.05 of its period ago (a few
        # late), the one before about a period earlier; others anywhere in the past year
        rec = np.repeat(np.arange(task.size), count)
        nth = np.arange(rec.size) - np.repeat(np.cumsum(count) - count, count)  # 0: latest
        period = self._period_days()[task]
        phase = rng.uniform(0.02, 1.05, task.size)
        gap = rng.uniform(0.85, 1.15, task.size)
        ago = period[rec] * (phase[rec] + nth * gap[rec]) * US_PER_DAY
        anywhere = lo[rec] + rng.random(rec.size) * (AS_OF_US - lo[rec])
        done = np.where(np.isnan(ago), anywhere, AS_OF_US - np.nan_to_num(ago))
        done = np.maximum(done // MINUTE * MINUTE, lo[rec]).astype(np.int64)
        future = rng.random(rec.size) < 0.005  # recorded ahead: ignored as of the instant
        done[future] = AS_OF_US + rng.integers(1, 10 * 24 * 60, int(future.sum())) * MINUTE
        # migrated records (3 % of items): from before the year of flights, counters stated
        old_lo = AS_OF_US - 399 * US_PER_DAY
        migrated = np.nonzero(
            (rng.random(task.size) < 0.03) & (kind != due.LIFE_LIMIT) & (start < old_lo)
        )[0]
        m_done = old_lo + rng.integers(0, 30 * 24 * 60, migrated.size) * MINUTE
        opening_fh = np.where(
            part >= 0, self.p_opening_fh[np.maximum(part, 0)], self.opening_fh[np.maximum(air, 0)]
        )[migrated]
        opening_fc = np.where(
            part >= 0, self.p_opening_fc[np.maximum(part, 0)], self.opening_fc[np.maximum(air, 0)]
        )[migrated]
        m_fh = np.round(opening_fh * rng.uniform(0.5, 1.0, migrated.size), 1)
        m_fc = np.where(
            rng.random(migrated.size) < 0.5,
            np.floor(opening_fc * rng.uniform(0.5, 1.0, migrated.size)),
            np.nan,
        )
        rec = np.concatenate((rec, migrated))
        done = np.concatenate((done, m_done))
        stated_fh = np.concatenate((np.full(done.size - migrated.size, np.nan), m_fh))
        stated_fc = np.concatenate((np.full(done.size - migrated.size, np.nan), m_fc))
        # corrections (0.3 %): a new record for the same item replaces one, a few days off
        wrong = np.nonzero((rng.random(rec.size) < 0.003) & (done <= AS_OF_US))[0]
        fixed_done = done[wrong] + rng.integers(-3 * 24 * 60, 3 * 24 * 60, wrong.size) * MINUTE
        fixed_done = np.clip(fixed_done, lo[rec[wrong]], AS_OF_US)
        corrects = np.concatenate((np.full(rec.size, -1), wrong))
        rec = np.concatenate((rec, rec[wrong]))
        done = np.concatenate((done, fixed_done))
        stated_fh = np.concatenate((stated_fh, stated_fh[wrong]))
        stated_fc = np.concatenate((stated_fc, stated_fc[wrong]))
        # ids in the order the forecast reads them: aircraft records, then parts', each by
        # task, target and time
        c_task, c_air, c_part = task[rec], air[rec], part[rec]
        order = np.lexsort((done, np.maximum(c_air, c_part), c_task, c_part >= 0))
        rank = np.empty(order.size, dtype=np.int64)
        rank[order] = np.arange(order.size)
        self.c_task, self.c_air, self.c_part = c_task[order], c_air[order], c_part[order]
        self.c_done = done[order]
        self.c_stated_fh, self.c_stated_fc = stated_fh[order], stated_fc[order]
        self.c_corrects = np.where(corrects >= 0, rank[np.maximum(corrects, 0)], -1)[order]
        self.c_live = np.ones(order.size, dtype=bool)
        self.c_live[self.c_corrects[self.c_corrects >= 0]] = False
        self.n_migrated, self.n_corrected = int(migrated.size), int(wrong.size)
        self.n_future = int((self.c_done > AS_OF_US).sum())

    def _period_days(self) -> np.ndarray:
        """Days between two dues of each repeat task at typical use (4.4 FH and 0.42 FC a
        day); NaN for other tasks."""
        per_day = np.array([4.4, 0.42, 1.0, 1 / 30.44])
        with np.errstate(invalid="ignore"):
            days = np.nanmin(
                np.where(np.isnan(self.t_interval), np.inf, self.t_interval / per_day), axis=1
            )
        return np.where(np.isfinite(days), days, np.nan)

    def core_inputs(self) -> tuple[due.Fleet, due.Tasks, due.Compliances]:
        """The core's inputs as gather() would give them (ids = index + 1 for variants
        and part numbers, corrected records left out, records in the database order)."""
        fleet = due.Fleet(
            self.opening_fh,
            self.opening_fc,
            self.delivered,
            self.variant + 1,
            np.stack((self.rate_fh, self.rate_fc), axis=1),
            self.p_opening_fh,
            self.p_opening_fc,
            self.p_manufactured,
            self.p_pn + 1,
            Installations(self.i_part, self.i_air, self.i_from, self.i_to),
            Flights(self.f_air, self.f_takeoff, self.f_landing, self.f_cycles),
        )
        vt = [k for k in range(N_TASKS) for _ in self.t_variants[k]]
        vid = [v + 1 for k in range(N_TASKS) for v in self.t_variants[k]]
        tasks = due.Tasks(
            self.t_kind,
            self.t_sched,
            self.t_threshold,
            self.t_interval,
            self.t_tolerance,
            np.where(self.t_pn >= 0, self.t_pn + 1, -1),
            np.array(vt, dtype=np.int64),
            np.array(vid, dtype=np.int64),
        )
        live = self.c_live & (self.c_done <= AS_OF_US)
        comps = due.Compliances(
            self.c_task[live],
            self.c_air[live],
            self.c_part[live],
            self.c_done[live],
            np.stack((self.c_stated_fh[live], self.c_stated_fc[live]), axis=1),
        )
        return fleet, tasks, comps


def maxrss_mb(who: int = resource.RUSAGE_SELF) -> float:
    return resource.getrusage(who).ru_maxrss / 1024  # kB on Linux


def time_core(fleet: Fleet) -> dict[str, Any]:
    """Best of 3, the items, the process's peak RSS, and the core's own peak above its
    inputs (tracemalloc, which numpy reports its arrays to)."""
    import tracemalloc

    inputs = fleet.core_inputs()
    runs = []
    for _ in range(3):
        t = time.perf_counter()
        result = due.forecast(*inputs, as_of=AS_OF_US, horizon=HORIZON)
        runs.append(time.perf_counter() - t)
    rss = maxrss_mb()
    statuses = np.bincount(result.status[result.kept], minlength=4).tolist()
    grounded = int(result.grounded.sum())
    items, kept = int(result.task.shape[0]), int(result.kept.shape[0])
    del result
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    due.forecast(*inputs, as_of=AS_OF_US, horizon=HORIZON)
    peak = (tracemalloc.get_traced_memory()[1] - base) / 2**20
    tracemalloc.stop()
    return {
        "seconds": min(runs),
        "runs": runs,
        "items": items,
        "kept": kept,
        "statuses": statuses,
        "grounded": grounded,
        "rss_mb": rss,
        "traced_mb": peak,
    }


# --- populating a database (in a process configured for it) ------------------------------


def _instants(us: np.ndarray, vendor: str) -> list[str]:
    """Instants as the text Django stores (UTC 'YYYY-MM-DD HH:MM:SS[.ffffff]'; PostgreSQL
    with its offset)."""
    whole = us % 1_000_000 == 0
    out = np.empty(us.size, dtype=object)
    for mask, unit in ((whole, "s"), (~whole, "us")):
        if mask.any():
            text = np.datetime_as_string(us[mask].astype("datetime64[us]"), unit=unit)
            out[mask] = np.char.replace(text, "T", " ").tolist()
    if vendor == "postgresql":
        return [t + "+00" for t in out.tolist()]
    return out.tolist()


def _days(days: np.ndarray) -> list[str]:
    return np.datetime_as_string(days.astype("datetime64[D]")).tolist()


def _nullable(values: np.ndarray) -> list[Any]:
    return [None if v != v else v for v in values.tolist()]  # NaN -> None


def _bulk_insert(model: Any, n: int, values: dict[str, Any]) -> None:
    """Rows straight into ``model``'s table: ``values`` maps field names to lists (or one
    constant); other fields get NULL or their constant default."""
    from django.db import connection, transaction
    from django.db.models import NOT_PROVIDED

    columns, data = [], []
    for f in model._meta.concrete_fields:
        if f.name in values:
            v = values[f.name]
        elif f.null:
            v = None
        elif f.default is not NOT_PROVIDED and not callable(f.default):
            v = f.get_db_prep_save(f.default, connection)
        else:
            raise ValueError(f"bench: no value for {model.__name__}.{f.name}")
        columns.append(f.column)
        data.append(v)  # a list, or one value for every row
    table = model._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        raw = cursor.cursor
        if connection.vendor == "postgresql":
            texts = [
                ["\\N" if x is None else str(x) for x in col]
                if isinstance(col, list)
                else repeat("\\N" if col is None else str(col), n)
                for col in data
            ]
            rows = map("\t".join, zip(*texts, strict=True))
            with raw.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                while lines := [line for _, line in zip(range(200_000), rows, strict=False)]:
                    copy.write("\n".join(lines) + "\n")
        else:
            marks = ", ".join("?" for _ in columns)
            raw.executemany(
                f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",
                zip(
                    *(col if isinstance(col, list) else repeat(col, n) for col in data), strict=True
                ),
            )


def populate(n_air: int) -> dict[str, Any]:
    """Create the schema (`kanat migrate`) and write the fleet; the process's
    DATABASE_URL names the database."""
    t0 = time.perf_counter()
    subprocess.run([str(KANAT), "migrate", "-v", "0"], check=True, env=dict(os.environ))
    t_migrate = time.perf_counter() - t0
    fleet = Fleet(n_air)
    from django.db import connection, transaction

    from kanat.core.models import Hub, Operator
    from kanat.fleet.models import (
        Aircraft,
        AircraftType,
        Flight,
        Installation,
        Part,
        PartNumber,
        Position,
        Variant,
    )
    from kanat.maintenance.models import Compliance, Task, TaskRevision

    vendor = connection.vendor
    if vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA foreign_keys=OFF")  # the rows are consistent by design
            cursor.execute("PRAGMA synchronous=OFF")
    now = AS_OF - dt.timedelta(days=400)
    with transaction.atomic():
        if not Hub.objects.exists():
            Hub.objects.create(pk=1, code="BENCH", name="bench hub")
        Operator.objects.bulk_create(
            [Operator(pk=k + 1, code=f"OP{k}", name=f"Operator {k}") for k in range(N_OPERATORS)]
        )
        atype = AircraftType.objects.create(pk=1, code="BT", name="bench type")
        Variant.objects.bulk_create(
            [Variant(pk=v + 1, aircraft_type=atype, code=f"BT-{v}") for v in range(N_VARIANTS)]
        )
        PartNumber.objects.bulk_create(
            [
                PartNumber(pk=k + 1, pn=f"PN{k:02d}", description="part", tracking="serial")
                for k in range(PART_NUMBERS)
            ]
        )
        Position.objects.bulk_create(
            [
                Position(pk=(v + 1) * 100 + k, variant_id=v + 1, code=f"P{k:02d}", ata="72")
                for v in range(N_VARIANTS)
                for k in range(PART_NUMBERS)
            ]
        )
        Position.part_numbers.through.objects.bulk_create(
            [
                Position.part_numbers.through(position_id=(v + 1) * 100 + k, partnumber_id=k + 1)
                for v in range(N_VARIANTS)
                for k in range(PART_NUMBERS)
            ]
        )
        delivered = _days(fleet.delivered)
        Aircraft.objects.bulk_create(
            [
                Aircraft(
                    pk=i + 1,
                    serial=f"AC{i:05d}",
                    variant_id=int(fleet.variant[i]) + 1,
                    operator_id=int(fleet.operator[i]) + 1,
                    delivered=dt.date.fromisoformat(delivered[i]),
                    opening_fh=float(fleet.opening_fh[i]),
                    opening_fc=int(fleet.opening_fc[i]),
                    planned_fh_per_day=None if np.isnan(r) else float(r),
                    planned_fc_per_day=None if np.isnan(c) else float(c),
                )
                for i, (r, c) in enumerate(zip(fleet.rate_fh, fleet.rate_fc, strict=True))
            ],
            batch_size=2000,
        )
        Task.objects.bulk_create([Task(pk=t + 1, code=f"T{t:03d}") for t in range(N_TASKS)])
        revisions = []
        for t in range(N_TASKS):
            rev = TaskRevision(
                pk=t + 1,
                task_id=t + 1,
                number=1,
                effective_from=dt.datetime(2000, 1, 1, tzinfo=dt.UTC),
                title=f"bench task {t}",
                ata="05" if fleet.t_pn[t] < 0 else "72",
                kind=due.KINDS[int(fleet.t_kind[t])],
                part_number_id=int(fleet.t_pn[t]) + 1 if fleet.t_pn[t] >= 0 else None,
                schedule_from="last_due" if fleet.t_sched[t] == due.LAST_DUE else "last_done",
                created_at=now,
            )
            for k, unit in enumerate(("fh", "fc", "dy", "mo")):
                th, iv = fleet.t_threshold[t, k], fleet.t_interval[t, k]
                setattr(rev, f"threshold_{unit}", None if np.isnan(th) else float(th))
                setattr(rev, f"interval_{unit}", None if np.isnan(iv) else float(iv))
                if k < 3:
                    tol = fleet.t_tolerance[t, k]
                    setattr(rev, f"tolerance_{unit}", None if np.isnan(tol) else float(tol))
            revisions.append(rev)
        TaskRevision.objects.bulk_create(revisions)
        TaskRevision.variants.through.objects.bulk_create(
            [
                TaskRevision.variants.through(taskrevision_id=t + 1, variant_id=v + 1)
                for t in range(N_TASKS)
                for v in fleet.t_variants[t]
            ]
        )
    part_operator = fleet.operator[fleet.p_owner] + 1
    _bulk_insert(
        Part,
        fleet.n_parts,
        {
            "id": list(range(1, fleet.n_parts + 1)),
            "part_number": (fleet.p_pn + 1).tolist(),
            "serial": [f"SN{j:07d}" for j in range(fleet.n_parts)],
            "manufactured": _days(fleet.p_manufactured),
            "opening_fh": fleet.p_opening_fh.tolist(),
            "opening_fc": fleet.p_opening_fc.tolist(),
            "operator": part_operator.tolist(),
        },
    )
    n_inst = fleet.i_part.size
    open_ = fleet.i_to == OPEN_END
    removed = np.empty(n_inst, dtype=object)
    removed[~open_] = _instants(fleet.i_to[~open_], vendor)
    _bulk_insert(
        Installation,
        n_inst,
        {
            "id": list(range(1, n_inst + 1)),
            "part": (fleet.i_part + 1).tolist(),
            "aircraft": (fleet.i_air + 1).tolist(),
            "position": (
                (fleet.variant[fleet.i_air] + 1) * 100 + fleet.p_pn[fleet.i_part]
            ).tolist(),
            "installed_at": _instants(fleet.i_from, vendor),
            "removed_at": removed.tolist(),
            "removal_reason": fleet.i_reason.tolist(),
            "reference": "",
        },
    )
    nf = fleet.f_air.size
    _bulk_insert(
        Flight,
        nf,
        {
            "id": list(range(1, nf + 1)),
            "aircraft": (fleet.f_air + 1).tolist(),
            "takeoff": _instants(fleet.f_takeoff, vendor),
            "landing": _instants(fleet.f_landing, vendor),
            "cycles": fleet.f_cycles.tolist(),
            "source": "log",
            "source_ref": "",
        },
    )
    nc = fleet.c_task.size
    owner = np.where(
        fleet.c_air >= 0,
        fleet.operator[np.maximum(fleet.c_air, 0)],
        fleet.operator[fleet.p_owner[np.maximum(fleet.c_part, 0)]],
    )
    _bulk_insert(
        Compliance,
        nc,
        {
            "id": list(range(1, nc + 1)),
            "task": (fleet.c_task + 1).tolist(),
            "aircraft": [a + 1 if a >= 0 else None for a in fleet.c_air.tolist()],
            "part": [p + 1 if p >= 0 else None for p in fleet.c_part.tolist()],
            "operator": (owner + 1).tolist(),
            "done_at": _instants(fleet.c_done, vendor),
            "stated_fh": _nullable(fleet.c_stated_fh),
            "stated_fc": _nullable(fleet.c_stated_fc),
            "performed_by_label": "bench",
            "reference": "",
            "corrects": [c + 1 if c >= 0 else None for c in fleet.c_corrects.tolist()],
            "correction_reason": ["" if c < 0 else "wrong date" for c in fleet.c_corrects.tolist()],
            "recorded_at": _instants(fleet.c_done + US_PER_HOUR, vendor),
        },
    )
    if vendor == "postgresql":
        with connection.cursor() as cursor:
            for model in (Operator, AircraftType, Variant, PartNumber, Position, Aircraft, Task):
                _setval(cursor, model._meta.db_table)
            for model in (TaskRevision, Part, Installation, Flight, Compliance):
                _setval(cursor, model._meta.db_table)
            cursor.execute("VACUUM ANALYZE")  # as autovacuum would have by then
    return {"migrate_s": t_migrate, "rows": nf + nc + n_inst + fleet.n_parts}


def _setval(cursor: Any, table: str) -> None:
    cursor.execute(
        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
        f"(SELECT COALESCE(max(id), 1) FROM {table}))"
    )


# --- (b) end to end ----------------------------------------------------------------------


def run_forecast(url: str, fmt: str) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of `kanat forecast ... > /dev/null`, a process of
    its own (GNU time reports its maximum resident set)."""
    env = dict(os.environ, DATABASE_URL=url)
    command = [str(KANAT), "forecast", "--as-of", AS_OF_TEXT, "--format", fmt]
    with tempfile.NamedTemporaryFile("r") as report, open(os.devnull, "w") as sink:
        gnu_time = Path("/usr/bin/time")
        if gnu_time.exists():
            command = [str(gnu_time), "-o", report.name, "-f", "%M", *command]
        t = time.perf_counter()
        subprocess.run(command, check=True, env=env, stdout=sink)
        wall = time.perf_counter() - t
        text = report.read().strip()
    if text:
        return wall, int(text.splitlines()[-1]) / 1024
    return wall, maxrss_mb(resource.RUSAGE_CHILDREN)


def phases() -> dict[str, Any]:
    """The steps of `kanat forecast --format json` (its handle()), in-process, with a clock
    around each; the statuses it finds, to compare with the core run on the arrays."""
    from kanat.maintenance import forecasting
    from kanat.maintenance.jsonout import write_json

    clock = [time.perf_counter()]

    def lap() -> float:
        clock.append(time.perf_counter())
        return clock[-1] - clock[-2]

    out: dict[str, Any] = {}
    g = forecasting.gather(as_of=AS_OF, aircraft=None, parts_in_stores=True)
    out["gather_s"] = lap()
    r = forecasting.run_core(g, horizon=HORIZON)
    out["core_s"] = lap()
    statuses = forecasting.aircraft_statuses(g, r)
    out["airworthiness_s"] = lap()
    size = 0
    with open(os.devnull, "w") as sink:
        for chunk in write_json(
            g,
            r,
            [{"aircraft": s.aircraft, "status": s.status, "reasons": s.reasons} for s in statuses],
        ):
            size += len(chunk)
            sink.write(chunk)
    out["json_s"] = lap()
    out["json_mb"] = size / 2**20
    out["total_s"] = clock[-1] - clock[0]
    out["statuses"] = np.bincount(r.status[r.kept], minlength=4).tolist()
    out["grounded"] = sum(s.status == "grounded" for s in statuses)
    out["rss_mb"] = maxrss_mb()
    return out


# --- (c) the straightforward reference ---------------------------------------------------


def _add_months(day: dt.date, n: int) -> dt.date:
    total = day.year * 12 + day.month - 1 + n
    y, m = divmod(total, 12)
    return dt.date(y, m + 1, min(day.day, calendar.monthrange(y, m + 1)[1]))


def _calendar(base: dt.date, unit: str, n: float) -> dt.date:
    return base + dt.timedelta(days=int(n)) if unit == "DY" else _add_months(base, int(n))


UNIT_NAMES = ("FH", "FC", "DY", "MO")


def reference(sample: int) -> dict[str, Any]:
    """forecast.md item by item with model instances and ORM queries, on the first
    ``sample`` aircraft (their tasks and those of the parts fitted to them) and the parts
    in stores among their first parts; timed, then compared with the core."""
    from django.db.models import F, Q, Sum

    from kanat.fleet.models import Aircraft, Flight, Installation, Part
    from kanat.maintenance import forecasting
    from kanat.maintenance.models import Compliance, TaskRevision

    as_of, today = AS_OF, AS_OF.date()
    t_start = time.perf_counter()
    in_force: dict[int, Any] = {}
    for rev in (
        TaskRevision.objects.filter(effective_from__lte=as_of)
        .select_related("task")
        .prefetch_related("variants")
        .order_by("task_id", "number")
    ):
        in_force[rev.task_id] = rev
    revisions = list(in_force.values())

    def flown(flights: Any) -> tuple[float, int]:
        total = flights.aggregate(air=Sum(F("landing") - F("takeoff")), cycles=Sum("cycles"))
        return (total["air"] or dt.timedelta(0)) / dt.timedelta(hours=1), total["cycles"] or 0

    def aircraft_counters(ac: Any, at: dt.datetime) -> dict[str, float]:
        hours, cycles = flown(Flight.objects.filter(aircraft=ac, landing__lte=at))
        return {"FH": ac.opening_fh + hours, "FC": ac.opening_fc + cycles}

    def part_counters(part: Any, at: dt.datetime) -> dict[str, float]:
        fh, fc = part.opening_fh, part.opening_fc
        for inst in Installation.objects.filter(part=part, installed_at__lte=at):
            flights = Flight.objects.filter(
                aircraft_id=inst.aircraft_id, landing__gte=inst.installed_at, landing__lte=at
            )
            if inst.removed_at is not None:
                flights = flights.filter(landing__lt=inst.removed_at)
            hours, cycles = flown(flights)
            fh += hours
            fc += cycles
        return {"FH": fh, "FC": fc}

    def rate(ac: Any, unit: str) -> float:
        planned = ac.planned_fh_per_day if unit == "FH" else ac.planned_fc_per_day
        if planned is not None:
            return planned
        since = max(
            as_of - dt.timedelta(days=90),
            dt.datetime.combine(ac.delivered, dt.time(0), tzinfo=dt.UTC),
        )
        hours, cycles = flown(
            Flight.objects.filter(aircraft=ac, landing__gt=since, landing__lte=as_of)
        )
        days = max((as_of - since) / dt.timedelta(days=1), 1.0)
        return (hours if unit == "FH" else cycles) / days

    def item(rev: Any, ac: Any, part: Any) -> dict[str, Any] | None:
        """One item: ``ac`` the aircraft it is on at as_of (None: a part in stores)."""
        target = {"part": part} if part is not None else {"aircraft": ac}
        comps = list(
            Compliance.objects.filter(
                task_id=rev.task_id, done_at__lte=as_of, corrected_by__isnull=True, **target
            ).order_by("done_at", "id")
        )
        if rev.kind == "once" and comps:
            return None  # done: drops out
        life = rev.kind == "life_limit"
        if life:
            comps = []

        def counters(at: dt.datetime) -> dict[str, float]:
            return part_counters(part, at) if part is not None else aircraft_counters(ac, at)

        start = part.manufactured if part is not None else ac.delivered
        tol = {} if life else rev.units("tolerance")
        interval = rev.units("interval")
        dues = {
            u: v if u in ("FH", "FC") else _calendar(start, u, v)
            for u, v in (rev.units("threshold") or interval).items()
        }
        for c in comps:
            actual = counters(c.done_at)
            if c.stated_fh is not None:
                actual["FH"] = c.stated_fh
            if c.stated_fc is not None:
                actual["FC"] = c.stated_fc
            done_day = c.done_at.astimezone(dt.UTC).date()
            last_due = rev.schedule_from == "last_due"
            nxt: dict[str, Any] = {}
            for u, step in interval.items():
                prev = dues.get(u)
                if u in ("FH", "FC"):
                    t = tol.get(u, 0.0)
                    inside = last_due and prev is not None and prev - t <= actual[u] <= prev + t
                    nxt[u] = (prev if inside else actual[u]) + step
                else:
                    t = dt.timedelta(days=tol.get("DY", 0.0))
                    inside = last_due and prev is not None and prev - t <= done_day <= prev + t
                    nxt[u] = _calendar(prev if inside else done_day, u, step)
            dues = nxt
        now = counters(as_of) if {"FH", "FC"} & dues.keys() else {}
        remaining: dict[str, float] = {}
        dates: list[tuple[dt.date, int]] = []
        past = over = False
        for k, u in enumerate(UNIT_NAMES):
            if u not in dues:
                continue
            if u in ("FH", "FC"):
                rem = dues[u] - now[u]
                remaining[u] = rem
                past |= rem < 0
                over |= rem < -tol.get(u, 0.0)
                per_day = rate(ac, u) if ac is not None else 0.0
                if per_day > 0:
                    dates.append((today + dt.timedelta(days=math.floor(rem / per_day)), k))
            else:
                remaining[u] = (dues[u] - today).days
                past |= today > dues[u]
                over |= today > dues[u] + dt.timedelta(days=tol.get("DY", 0.0))
                dates.append((dues[u], k))
        due_date, driver = min(dates) if dates else (None, None)
        soon = due_date is not None and due_date <= today + dt.timedelta(days=HORIZON)
        status = "overdue" if over else "in_tolerance" if past else "due_soon" if soon else "ok"
        return {
            "due": dues,
            "remaining": remaining,
            "due_date": due_date,
            "driver": UNIT_NAMES[driver] if driver is not None else None,
            "status": status,
        }

    results: dict[tuple[Any, ...], dict[str, Any]] = {}
    grounded: dict[str, list[str]] = {}
    evaluated = 0
    fitted_at = Q(installed_at__lte=as_of) & (Q(removed_at__isnull=True) | Q(removed_at__gt=as_of))
    aircraft = list(Aircraft.objects.order_by("pk")[:sample])
    for ac in aircraft:
        reasons = grounded.setdefault(ac.serial, [])
        work: list[tuple[Any, Any]] = [
            (rev, None)
            for rev in revisions
            if rev.part_number_id is None and any(v.pk == ac.variant_id for v in rev.variants.all())
        ]
        for inst in Installation.objects.filter(fitted_at, aircraft=ac).select_related(
            "part__part_number"
        ):
            work += [
                (rev, inst.part)
                for rev in revisions
                if rev.part_number_id == inst.part.part_number_id
            ]
        for rev, part in work:
            evaluated += 1
            got = item(rev, ac, part)
            if got is None:
                continue
            key = (
                ac.serial,
                rev.task.code,
                part.part_number.pn if part else None,
                part.serial if part else None,
            )
            results[key] = got
            if got["status"] == "overdue":
                reasons.append(rev.task.code + (f" {key[2]}/{key[3]}" if part else ""))
    in_stores = (
        Part.objects.filter(pk__lte=sample * PART_NUMBERS)
        .exclude(pk__in=Installation.objects.filter(fitted_at).values("part_id"))
        .select_related("part_number")
    )
    for part in in_stores:
        for rev in revisions:
            if rev.part_number_id == part.part_number_id:
                evaluated += 1
                got = item(rev, None, part)
                if got is not None:
                    results[(None, rev.task.code, part.part_number.pn, part.serial)] = got
    elapsed = time.perf_counter() - t_start

    # the spot check: the core (through gather) on the same aircraft and the parts in stores
    core = forecasting.forecast(
        as_of=as_of,
        horizon=HORIZON,
        aircraft=Aircraft.objects.filter(pk__in=[a.pk for a in aircraft]),
        stores=True,
    )
    rows = {(r.aircraft_serial, r.task_code, r.pn, r.serial): r for r in core.rows}
    fields = ("due", "remaining", "due_date", "driver", "status")
    agree = dict.fromkeys(fields, 0)
    examples: dict[str, str] = {}
    missing = 0
    for key, ref in results.items():
        row = rows.get(key)
        if row is None:
            missing += 1
            examples.setdefault("missing", f"{key}: not in the core's forecast")
            continue
        mine = {
            "due": row.due,
            "remaining": row.remaining,
            "due_date": row.due_date,
            "driver": row.driver,
            "status": row.status,
        }
        for name in fields:
            if _same(ref[name], mine[name]):
                agree[name] += 1
            else:
                examples.setdefault(
                    name, f"{key}: reference {ref[name]!r}, core {mine[name]!r} (reference {ref})"
                )
    extra = sum(1 for key in rows if key[0] is not None and key not in results)
    air_agree = 0
    for s in core.aircraft_status:
        if s.aircraft in grounded:
            ref_status = "grounded" if grounded[s.aircraft] else "serviceable"
            if ref_status == s.status and sorted(set(grounded[s.aircraft])) == s.reasons:
                air_agree += 1
            else:
                examples.setdefault(
                    "aircraft_status",
                    f"{s.aircraft}: reference {ref_status} {sorted(set(grounded[s.aircraft]))}, "
                    f"core {s.status} {s.reasons}",
                )
    return {
        "seconds": elapsed,
        "evaluated": evaluated,
        "per_item_s": elapsed / max(evaluated, 1),
        "compared": len(results),
        "agree": agree,
        "missing": missing,
        "extra": extra,
        "aircraft": len(grounded),
        "aircraft_agree": air_agree,
        "examples": examples,
    }


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, float | int) and isinstance(b, float | int):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    return bool(a == b)


# --- orchestration -------------------------------------------------------------------------


def step(action: str, url: str, args: argparse.Namespace) -> dict[str, Any]:
    """Run one step in a fresh process configured for that database; its last line of
    output is a JSON object."""
    env = dict(os.environ, DATABASE_URL=url, DJANGO_SETTINGS_MODULE="kanat.settings")
    done = subprocess.run(
        [
            str(PYTHON),
            str(Path(__file__)),
            "--step",
            action,
            "--aircraft",
            str(args.aircraft),
            "--sample",
            str(args.sample),
        ],
        env=env,
        capture_output=True,
        text=True,
    )
    if done.returncode:
        sys.stderr.write(done.stderr)
        raise SystemExit(f"bench step {action} failed on {url}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _pg_admin(sql: str) -> list[Any]:
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        cur = admin.execute(sql)
        return cur.fetchall() if cur.description else []


def _table(rows: Sequence[tuple[str, str, str]]) -> str:
    widths = [max(len(r[k]) for r in rows) for k in range(3)]
    out = []
    for n, r in enumerate(rows):
        out.append("| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |")
        if n == 0:
            out.append("| " + " | ".join("-" * w for w in widths) + " |")
    return "\n".join(out)


def _verdict(value: float, target: float, *, below: bool = True) -> str:
    ok = value < target if below else value >= target
    return "met" if ok else "**missed**"


def main(argv: Iterable[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--aircraft", type=int, default=10_000, help="fleet size (10000)")
    parser.add_argument("--sample", type=int, default=100, help="aircraft of the reference (100)")
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--keep", metavar="DIR", help="keep (and reuse) the databases")
    parser.add_argument("--step", help=argparse.SUPPRESS)
    args = parser.parse_args(None if argv is None else list(argv))

    if args.step:  # inside a process configured for one database
        import django

        django.setup()
        if args.step == "populate":
            out = populate(args.aircraft)
        elif args.step == "phases":
            out = phases()
        else:
            out = reference(args.sample)
        print(json.dumps(out, default=str))
        return

    t = time.perf_counter()
    fleet = Fleet(args.aircraft)
    print(
        f"synthetic fleet (built in {time.perf_counter() - t:.1f} s): {fleet.n_air:,} aircraft, "
        f"{fleet.n_parts:,} parts ({fleet.n_moved:,} swapped between aircraft, "
        f"{fleet.n_stores:,} in stores), {fleet.n_items:,} items, {fleet.f_air.size:,} flights, "
        f"{fleet.c_task.size:,} compliance records ({fleet.n_migrated:,} migrated with stated "
        f"counters, {fleet.n_corrected:,} corrected, {fleet.n_future:,} after the instant)",
        flush=True,
    )
    core = time_core(fleet)
    print(
        f"(a) core: {core['seconds']:.2f} s for {core['items']:,} items "
        f"({core['kept']:,} in the forecast), best of "
        + ", ".join(f"{s:.2f}" for s in core["runs"])
        + f"; process peak RSS {core['rss_mb']:,.0f} MB, core's own peak above its inputs "
        f"{core['traced_mb']:,.0f} MB; statuses ok/due_soon/in_tolerance/overdue "
        f"{core['statuses']}, {core['grounded']:,} aircraft grounded",
        flush=True,
    )
    del fleet

    keep = Path(args.keep).resolve() if args.keep else None
    tmp = keep or Path(tempfile.mkdtemp(prefix="kanat-bench-"))
    tmp.mkdir(parents=True, exist_ok=True)
    marker = tmp / "bench.json"
    done_before = json.loads(marker.read_text()) if keep and marker.exists() else {}
    stamp = {"aircraft": args.aircraft, "version": BENCH_VERSION, "seed": SEED}
    sqlite_file = tmp / "bench.sqlite3"
    backends = [("SQLite", f"sqlite:///{sqlite_file}")]
    if not args.skip_postgres:
        backends.append(("PostgreSQL", PG_BENCH))
    figures: dict[str, dict[str, Any]] = {}
    for name, url in backends:
        reuse = done_before.get(name) == stamp
        if name == "SQLite":
            reuse = reuse and sqlite_file.exists()
        else:
            exists = bool(_pg_admin(f"SELECT 1 FROM pg_database WHERE datname = '{PG_DB}'"))
            reuse = reuse and exists
        if reuse:
            print(f"    {name}: reusing the database populated before", flush=True)
        else:
            if name == "SQLite":
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{sqlite_file}{suffix}").unlink(missing_ok=True)
            else:
                _pg_admin(f"DROP DATABASE IF EXISTS {PG_DB}")
                _pg_admin(f"CREATE DATABASE {PG_DB}")
            t = time.perf_counter()
            info = step("populate", url, args)
            print(
                f"    {name}: populated in {time.perf_counter() - t:.0f} s "
                f"({info['rows']:,} rows; not timed)",
                flush=True,
            )
            if keep:
                done_before[name] = stamp
                marker.write_text(json.dumps(done_before))
        fig: dict[str, Any] = {}
        for fmt in ("json", "table"):
            wall, rss = run_forecast(url, fmt)
            fig[fmt] = (wall, rss)
            print(
                f"(b) kanat forecast --format {fmt}, {name}: {wall:.1f} s end to end, "
                f"peak RSS {rss:,.0f} MB",
                flush=True,
            )
        ph = step("phases", url, args)
        fig["phases"] = ph
        print(
            f"    in-process, {name}: gather {ph['gather_s']:.1f} s, core {ph['core_s']:.1f} s, "
            f"airworthiness {ph['airworthiness_s']:.1f} s, JSON writing {ph['json_s']:.1f} s "
            f"({ph['json_mb']:,.0f} MB); total {ph['total_s']:.1f} s, peak RSS "
            f"{ph['rss_mb']:,.0f} MB; statuses {ph['statuses']} "
            + ("= the core on the arrays" if ph["statuses"] == core["statuses"] else "!= core (a)"),
            flush=True,
        )
        figures[name] = fig

    ref = step("reference", backends[0][1], args)
    core_per_item = core["seconds"] / core["items"]
    ratio = ref["per_item_s"] / core_per_item
    print(
        f"(c) reference (ORM, item by item), {args.sample} aircraft + parts in stores: "
        f"{ref['evaluated']:,} items in {ref['seconds']:.1f} s = {ref['per_item_s'] * 1e3:.2f} ms "
        f"per item; core {core_per_item * 1e6:.3f} µs per item -> {ratio:,.0f}x",
        flush=True,
    )
    print(
        f"    spot check on {ref['compared']:,} items: "
        + ", ".join(f"{k} {v:,}" for k, v in ref["agree"].items())
        + f" agree; missing in the core {ref['missing']}; aircraft statuses "
        f"{ref['aircraft_agree']}/{ref['aircraft']}",
        flush=True,
    )
    for name, text in ref["examples"].items():
        print(f"    first disagreement ({name}): {text}")

    if keep:
        print(f"kept: {backends[0][1]}" + ("" if args.skip_postgres else f" and {PG_BENCH}"))
    else:
        shutil.rmtree(tmp, ignore_errors=True)
        if not args.skip_postgres:
            _pg_admin(f"DROP DATABASE IF EXISTS {PG_DB}")

    print()
    print(summary(args, core, figures, ref, ratio))


def summary(
    args: argparse.Namespace,
    core: dict[str, Any],
    figures: dict[str, dict[str, Any]],
    ref: dict[str, Any],
    ratio: float,
) -> str:
    rows: list[tuple[str, str, str]] = [("figure", "measured", "target")]
    rows.append(
        (
            "(a) core, best of 3",
            f"{core['seconds']:.2f} s for {core['items']:,} items "
            f"({core['items'] / core['seconds'] / 1e6:.2f} M items/s)",
            f"< {TARGET_CORE_S:g} s: " + _verdict(core["seconds"], TARGET_CORE_S),
        )
    )
    rows.append(
        (
            "(a) peak RSS of the process running the core",
            f"{core['rss_mb']:,.0f} MB (the core's own peak above its inputs "
            f"{core['traced_mb']:,.0f} MB)",
            f"< {TARGET_MEM_MB:,.0f} MB: " + _verdict(core["rss_mb"], TARGET_MEM_MB),
        )
    )
    for name, fig in figures.items():
        for fmt in ("json", "table"):
            wall, rss = fig[fmt]
            target = (
                f"< {TARGET_E2E_S:g} s: {_verdict(wall, TARGET_E2E_S)}; "
                f"< {TARGET_MEM_MB:,.0f} MB: {_verdict(rss, TARGET_MEM_MB)}"
            )
            rows.append(
                (
                    f"(b) kanat forecast --format {fmt}, {name}",
                    f"{wall:.1f} s, peak RSS {rss:,.0f} MB",
                    target if fmt == "json" else "",
                )
            )
        ph = fig["phases"]
        rows.append(
            (
                f"    in-process steps, {name}",
                f"gather {ph['gather_s']:.1f} s + core {ph['core_s']:.1f} s + airworthiness "
                f"{ph['airworthiness_s']:.1f} s + JSON {ph['json_s']:.1f} s",
                "",
            )
        )
    rows.append(
        (
            f"(c) reference per item ({args.sample} aircraft)",
            f"{ref['per_item_s'] * 1e3:.2f} ms ({ref['evaluated']:,} items in "
            f"{ref['seconds']:.0f} s)",
            "",
        )
    )
    rows.append(
        (
            "per item, reference / core",
            f"{ratio:,.0f}x",
            f">= {TARGET_RATIO:g}x: " + _verdict(ratio, TARGET_RATIO, below=False),
        )
    )
    agree = ref["agree"]
    rows.append(
        (
            "spot check: items agreeing (status / due / due date)",
            f"{agree['status']:,} / {agree['due']:,} / {agree['due_date']:,} of "
            f"{ref['compared']:,}; aircraft {ref['aircraft_agree']}/{ref['aircraft']}",
            "all",
        )
    )
    return _table(rows)


if __name__ == "__main__":
    main()
