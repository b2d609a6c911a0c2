"""The maintenance forecast core, exactly as ../shared/spec/forecast.md defines it.

Plain numpy, no Django. ``forecast(inputs)`` takes arrays of aircraft, parts,
installations, flights, task definitions and compliances, and returns, as of one
instant, every item's due per unit, remaining, projected date, driver and status, and
every aircraft's airworthiness. It is vectorised over items: the only Python loops run
over the four units, the task kinds, and the k-th compliance of every item at once
(so as many turns as the longest compliance history, not as many as items).

Units are indexed FH=0, FC=1, DY=2, MO=3. Dates are int64 days since 1970-01-01 (UTC
dates), instants int64 microseconds since the epoch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from kanat.engine.counters import FlightIndex, Flights, Installations
from kanat.engine.months import add_months
from kanat.engine.timebase import OPEN_END, US_PER_DAY, US_PER_HOUR

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
B = npt.NDArray[np.bool_]

UNITS = ("FH", "FC", "DY", "MO")
FH, FC, DY, MO = 0, 1, 2, 3
REPEAT, ONCE, LIFE_LIMIT = 0, 1, 2
KINDS = ("repeat", "once", "life_limit")
LAST_DONE, LAST_DUE = 0, 1
OK, DUE_SOON, IN_TOLERANCE, OVERDUE = 0, 1, 2, 3
STATUSES = ("ok", "due_soon", "in_tolerance", "overdue")
NO_DAY = np.iinfo(np.int64).min  # a null date
# how a unit's due was reached, for explanations
FROM_THRESHOLD, FROM_ZERO_INTERVAL, FROM_ACTUAL, FROM_PREVIOUS_DUE, FROM_RAISED = 0, 1, 2, 3, 4
BASES = (
    "threshold",
    "interval from new",
    "interval from the compliance",
    "interval from the previous due",
    "raised on the aircraft",
)
RATE_WINDOW_DAYS = 90
CHUNK = 1 << 15  # items worked at a time
# a task with at least this many items gets chunks of its own (so a chunk works only the
# units its task has); smaller tasks share chunks
OWN_CHUNK = 1 << 11
BIG = np.iinfo(np.int64).max


@dataclass(frozen=True)
class Fleet:
    """Aircraft (index i) and serialised parts (index j)."""

    aircraft_opening_fh: F64
    aircraft_opening_fc: I64
    aircraft_delivered: I64  # day
    aircraft_variant: I64  # any id
    aircraft_rate: F64  # shape (n, 2): planned FH/day, FC/day; NaN = not planned
    part_opening_fh: F64
    part_opening_fc: I64
    part_manufactured: I64  # day
    part_number: I64  # any id
    installations: Installations
    flights: Flights


@dataclass(frozen=True)
class Tasks:
    """Task definitions (index t). Per-unit arrays have shape (n, 4) in FH, FC, DY, MO
    order, NaN where the unit is absent; tolerance is (n, 3): FH, FC, DY."""

    kind: I64
    schedule_from: I64
    threshold: F64
    interval: F64
    tolerance: F64
    part_number: I64  # -1: applies to variants
    variant_task: I64  # pairs (variant_task[k], variant_id[k]): task applies to variant
    variant_id: I64


@dataclass(frozen=True)
class Raised:
    """One-off items raised on aircraft (an inspection a flight finding calls for): the
    task (index t), the aircraft, the day it is due by. Due by calendar alone (with the
    task's DY tolerance); the caller leaves out the ones done by ``as_of``."""

    task: I64
    aircraft: I64
    due_day: I64

    @classmethod
    def empty(cls) -> Raised:
        z = np.zeros(0, dtype=np.int64)
        return cls(z, z, z)


@dataclass(frozen=True)
class Compliances:
    task: I64
    aircraft: I64  # -1 when on a part
    part: I64  # -1 when on an aircraft
    done_at: I64  # microseconds
    stated: F64  # (n, 2): FH, FC; NaN = not stated


@dataclass(frozen=True)
class Result:
    """One column per item. ``kept`` lists the items of the forecast (a done ``once`` task
    is computed but dropped: it is not in ``kept``). ``aircraft`` is the aircraft the item
    is on at as_of (-1: a part in stores); ``part`` -1 for an aircraft task."""

    as_of: int
    today: int
    horizon: int
    kept: I64
    task: I64
    aircraft: I64
    part: I64
    due: F64  # (4, n) unit-major: counter values for FH/FC, day numbers for DY/MO; NaN absent
    remaining: F64  # (4, n): calendar units in days
    projected: I64  # (2, n): day the usage unit (FH, FC) gives; NO_DAY when none
    due_date: I64  # NO_DAY: none
    driver: npt.NDArray[np.int8]  # -1: none
    status: npt.NDArray[np.int8]
    basis: npt.NDArray[np.int8]  # (4, n) how each unit's due was reached
    last_compliance: I64  # index into the compliances given, -1: never done
    # FH, FC as of as_of, per aircraft (n_air, 2) and per part (n_parts, 2); the rate each
    # aircraft's items use (NaN: none) and whether it was planned
    aircraft_now: F64
    part_now: F64
    aircraft_rate: F64
    aircraft_rate_planned: B
    grounded: B  # per aircraft
    # the (aircraft, item) pairs that ground it
    ground_aircraft: I64
    ground_item: I64

    def current(self, i: int) -> tuple[float, float]:
        """FH, FC of item i as of as_of (its part's, else its aircraft's)."""
        p, a = int(self.part[i]), int(self.aircraft[i])
        row = self.part_now[p] if p >= 0 else self.aircraft_now[a]
        return float(row[0]), float(row[1])

    def rate(self, i: int) -> tuple[tuple[float, float], tuple[bool, bool]]:
        """The FH and FC rates per day item i projects with (NaN: none: a part in stores)
        and whether each was planned."""
        a = int(self.aircraft[i])
        if a < 0:
            return (np.nan, np.nan), (False, False)
        fh, fc = self.aircraft_rate[a]
        p_fh, p_fc = self.aircraft_rate_planned[a]
        return (float(fh), float(fc)), (bool(p_fh), bool(p_fc))


@dataclass(frozen=True)
class PartHistory:
    """Installations grouped by part once per forecast, with each installation's
    aircraft totals at its installation instant (landings before it), so a part's
    counters at any instant cost one binary search per installation.

    Per part, the columns a query needs sit side by side in one row of ``table`` (one
    gather reads them): its last installation's aircraft, start, end and aircraft totals
    at the start, and the totals of its earlier installations (all of them ended before
    the last began). A query at or after the last installation's start is answered from
    that row; the rare query before it (a part that moved, asked about its earlier
    life) goes over every installation."""

    index: FlightIndex
    inst: Installations
    order: I64  # installations by part, then installation instant
    start: I64  # per part: first of its installations in ``order``
    count: I64  # per part: how many
    base_us: I64  # per installation in ``order``
    base_fc: I64
    table: I64  # (n_parts, 7): the columns below
    multi: bool  # some part has more than one installation

    AIRCRAFT, INSTALLED, UPPER, BASE_US, BASE_FC, PRIOR_US, PRIOR_FC = range(7)

    @classmethod
    def build(cls, index: FlightIndex, inst: Installations, n_parts: int) -> PartHistory:
        order = np.lexsort((inst.installed_at, inst.part))
        count = np.bincount(inst.part, minlength=n_parts).astype(np.int64)
        start = np.cumsum(count) - count
        ac = inst.aircraft[order]
        base_us, base_fc = index.totals(ac, inst.installed_at[order], inclusive=False)
        table = np.zeros((n_parts, 7), dtype=np.int64)
        table[:, cls.AIRCRAFT] = -1
        table[:, cls.INSTALLED] = OPEN_END
        has = np.flatnonzero(count > 0)
        if order.size:
            last = start[has] + count[has] - 1
            rows = order[last]
            table[has, cls.AIRCRAFT] = inst.aircraft[rows]
            table[has, cls.INSTALLED] = inst.installed_at[rows]
            table[has, cls.UPPER] = inst.removed_at[rows] - 1
            table[has, cls.BASE_US] = base_us[last]
            table[has, cls.BASE_FC] = base_fc[last]
            # every earlier installation in full (landing < removed_at)
            earlier = np.ones(order.shape[0], dtype=bool)
            earlier[last] = False
            k = np.flatnonzero(earlier)
            if k.size:
                rows = order[k]
                upper = inst.removed_at[rows] - 1
                hi_us, hi_fc = index.totals(ac[k], upper, inclusive=True)
                valid = upper >= inst.installed_at[rows]
                part = inst.part[rows]
                for col, hi, lo in ((cls.PRIOR_US, hi_us, base_us), (cls.PRIOR_FC, hi_fc, base_fc)):
                    d = np.where(valid, hi - lo[k], 0)
                    table[:, col] = np.bincount(part, weights=d, minlength=n_parts).astype(np.int64)
        return cls(
            index, inst, order, start, count, base_us, base_fc, table, bool((count > 1).any())
        )

    def totals(self, part: I64, at: I64) -> tuple[I64, I64]:
        """Airborne µs and cycles of part[k] up to at[k] (landing <= at), across airframes."""
        n = part.shape[0]
        if n == 0 or self.order.shape[0] == 0:
            return np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64)
        row = np.take(self.table, part, axis=0)
        installed = row[:, self.INSTALLED]
        ac = row[:, self.AIRCRAFT]
        upper = np.minimum(row[:, self.UPPER], at)
        hi_us, hi_fc = self.index.totals(np.maximum(ac, 0), upper, inclusive=True)
        valid = upper >= installed
        us = np.where(valid, hi_us - row[:, self.BASE_US], 0)
        fc = np.where(valid, hi_fc - row[:, self.BASE_FC], 0)
        if self.multi:
            us += row[:, self.PRIOR_US]
            fc += row[:, self.PRIOR_FC]
            # before the last installation: over every installation
            q = np.flatnonzero(at < installed)
            if q.size:
                q = q[self.count[part[q]] > 1]
                if q.size:
                    us[q], fc[q] = self._across(part[q], at[q])
        return us, fc

    def _across(self, part: I64, at: I64) -> tuple[I64, I64]:
        """Sums over every installation of parts with several."""
        n = part.shape[0]
        count = self.count[part]
        k = _expand(self.start[part], count)
        query = np.repeat(np.arange(n), count)
        rows = self.order[k]
        inst = self.inst
        upper = np.minimum(inst.removed_at[rows] - 1, at[query])
        hi_us, hi_fc = self.index.totals(inst.aircraft[rows], upper, inclusive=True)
        valid = upper >= inst.installed_at[rows]
        d_us = np.where(valid, hi_us - self.base_us[k], 0)
        d_fc = np.where(valid, hi_fc - self.base_fc[k], 0)
        # sums per query; float64 holds these integers exactly (< 2**53 µs = 285 years)
        us = np.bincount(query, weights=d_us, minlength=n).astype(np.int64)
        fc = np.bincount(query, weights=d_fc, minlength=n).astype(np.int64)
        return us, fc


def _aircraft_at(inst: Installations, n_parts: int, at: int) -> I64:
    """The aircraft each part is on at ``at`` (installed_at <= at < removed_at), or -1."""
    out = np.full(n_parts, -1, dtype=np.int64)
    on = (inst.installed_at <= at) & (at < inst.removed_at)
    out[inst.part[on]] = inst.aircraft[on]
    return out


def _segments(group: I64, n_groups: int) -> tuple[I64, I64, I64]:
    """For members with a group id: each member's rank within its group (in member
    order), each group's size, and the members grouped (stable)."""
    order = np.argsort(group, kind="stable")
    size = np.bincount(group, minlength=n_groups).astype(np.int64)
    start = np.cumsum(size) - size
    rank = np.empty(group.shape[0], dtype=np.int64)
    rank[order] = np.arange(group.shape[0], dtype=np.int64) - np.repeat(start, size)
    return rank, size, order


def _expand(base: I64, count: I64) -> I64:
    """Concatenated ranges base[k] .. base[k] + count[k] - 1."""
    total = int(count.sum())
    offs = np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(count) - count, count)
    return np.repeat(base, count) + offs


def forecast(
    fleet: Fleet,
    tasks: Tasks,
    compliances: Compliances,
    *,
    as_of: int,
    horizon: int = 30,
    report_aircraft: B | None = None,
    report_parts: B | None = None,
    raised: Raised | None = None,
) -> Result:
    """The forecast as of ``as_of`` (µs). ``report_*`` masks limit the items made
    (other aircraft and parts still count for part histories); default: all. ``raised``
    items (of reported aircraft) come after the programme's.

    Compliances may come in any order; given sorted by (task, target, done_at) they are
    used as they are."""
    n_air = fleet.aircraft_opening_fh.shape[0]
    n_parts = fleet.part_opening_fh.shape[0]
    n_tasks = tasks.kind.shape[0]
    index = FlightIndex.build(fleet.flights)
    today = int(as_of // US_PER_DAY)
    rep_air = np.ones(n_air, bool) if report_aircraft is None else report_aircraft
    rep_part = np.ones(n_parts, bool) if report_parts is None else report_parts

    # --- items: aircraft tasks x reported aircraft of their variants, in (task, aircraft)
    #     order; then part tasks x reported parts of their part number, in (task, part)
    #     order. Compliances sorted the same way (by task, target, done_at) need no sort.
    var_ids, a_var = np.unique(fleet.aircraft_variant, return_inverse=True)
    a_var = a_var.reshape(-1).astype(np.int64)
    pair_var = np.searchsorted(var_ids, tasks.variant_id)
    known = pair_var < len(var_ids)
    known[known] &= var_ids[pair_var[known]] == tasks.variant_id[known]
    applies = np.zeros((n_tasks, len(var_ids)), dtype=bool)
    applies[tasks.variant_task[known], pair_var[known]] = True
    var_tasks = np.nonzero(applies.any(axis=1))[0]
    member = applies[var_tasks][:, a_var] & rep_air[None, :]  # (variant tasks, aircraft)
    flat = member.ravel()
    pos = np.cumsum(flat, dtype=np.int64) - 1
    item_of = np.where(flat, pos, -1).reshape(member.shape)  # item of (task row, aircraft)
    row_of_task = np.full(n_tasks, -1, dtype=np.int64)
    row_of_task[var_tasks] = np.arange(var_tasks.shape[0])
    rows_t, it_air_a = np.nonzero(member)
    it_task_a = var_tasks[rows_t].astype(np.int64)
    it_air_a = it_air_a.astype(np.int64)
    n_a = it_task_a.shape[0]

    pn_ids, p_pn = np.unique(fleet.part_number, return_inverse=True)
    p_pn = p_pn.reshape(-1).astype(np.int64)
    p_group = np.where(rep_part, p_pn, len(pn_ids))
    p_rank, p_size, part_by_group = _segments(p_group, len(pn_ids) + 1)
    t_pn = np.searchsorted(pn_ids, tasks.part_number)
    t_has_pn = (tasks.part_number >= 0) & (t_pn < len(pn_ids))
    if len(pn_ids):
        t_has_pn &= pn_ids[np.minimum(t_pn, len(pn_ids) - 1)] == tasks.part_number
    pt = np.nonzero(t_has_pn)[0]
    pt_count = p_size[t_pn[pt]]
    task_base = np.full(n_tasks, -1, dtype=np.int64)
    task_base[pt] = n_a + np.cumsum(pt_count) - pt_count
    p_start = np.cumsum(p_size) - p_size
    it_part_p = part_by_group[_expand(p_start[t_pn[pt]], pt_count)]
    it_task_p = np.repeat(pt, pt_count)
    n_p = it_part_p.shape[0]
    raised = raised or Raised.empty()
    mine = rep_air[raised.aircraft] if raised.aircraft.size else np.zeros(0, bool)
    r_task, r_air, r_due = raised.task[mine], raised.aircraft[mine], raised.due_day[mine]
    n_base = n_a + n_p
    n = n_base + r_task.shape[0]

    task = np.concatenate((it_task_a, it_task_p, r_task))
    part = np.concatenate((np.full(n_a, -1, np.int64), it_part_p, np.full(r_task.shape[0], -1)))
    on_air = _aircraft_at(fleet.installations, n_parts, as_of)
    aircraft = np.concatenate((it_air_a, on_air[it_part_p], r_air))

    # --- counters now, per aircraft and per part (gathered per item chunk by chunk) -------
    ids = np.arange(n_air, dtype=np.int64)
    us, fc = index.totals(ids, np.full(n_air, as_of, np.int64))
    # per-aircraft and per-part tables carry one spare last entry: the index of "none"
    # (a part task's item has no aircraft table row of its own, nor an aircraft's a part)
    air_now = (
        _pad(fleet.aircraft_opening_fh + us / US_PER_HOUR),
        _pad(fleet.aircraft_opening_fc + fc),
    )
    pids = np.arange(n_parts, dtype=np.int64)
    history = PartHistory.build(index, fleet.installations, n_parts)
    us, fc = history.totals(pids, np.full(n_parts, as_of, np.int64))
    part_now = (_pad(fleet.part_opening_fh + us / US_PER_HOUR), _pad(fleet.part_opening_fc + fc))
    manufactured = _pad(fleet.part_manufactured)
    delivered = _pad(fleet.aircraft_delivered)

    # --- compliances onto items ------------------------------------------------------------
    c = compliances
    c_item = np.full(c.task.shape[0], -1, dtype=np.int64)
    # a life limit is never reset: its tasks match no compliance
    life_t = tasks.kind == LIFE_LIMIT
    ca = np.flatnonzero((c.aircraft >= 0) & (c.part < 0))
    if ca.size and var_tasks.size:
        row = np.where(life_t, -1, row_of_task)[c.task[ca]]
        ac = c.aircraft[ca]
        ok = (row >= 0) & (ac < n_air)
        if not bool(ok.all()):
            ca, row, ac = ca[ok], row[ok], ac[ok]
        c_item[ca] = item_of.reshape(-1)[row * n_air + ac]  # -1: not an item
    cp = np.flatnonzero(c.part >= 0)
    if cp.size:
        ps = c.part[cp]
        tt = c.task[cp]
        base = np.where(life_t, -1, task_base)[tt]
        # the part is reported and of the task's part number
        pn_rep = np.where(rep_part, fleet.part_number, -2)
        ok = (base >= 0) & (tasks.part_number[tt] == pn_rep[ps])
        c_item[cp[ok]] = base[ok] + p_rank[ps[ok]]
    use = (c_item >= 0) & (c.done_at <= as_of)
    every = bool(use.all())  # the usual case: no copies of the compliance columns
    c_idx = np.arange(use.shape[0], dtype=np.int64) if every else np.nonzero(use)[0]
    ci = c_item if every else c_item[c_idx]
    cd = c.done_at if every else c.done_at[c_idx]
    if ci.size > 1:
        step_ok = (ci[1:] > ci[:-1]) | ((ci[1:] == ci[:-1]) & (cd[1:] >= cd[:-1]))
        if not bool(step_ok.all()):
            order = np.lexsort((cd, ci))
            c_idx, ci, cd = c_idx[order], ci[order], cd[order]
            every = False
    counts = (
        np.bincount(ci, minlength=n).astype(np.int64, copy=False) if n else np.zeros(0, np.int64)
    )
    starts = np.cumsum(counts) - counts
    done = counts > 0
    last_row = np.where(done, starts + counts - 1, -1)
    if every:
        last_c = last_row
    else:
        last_c = np.where(done, c_idx[np.maximum(last_row, 0)] if c_idx.size else -1, -1)

    # --- per task, per unit ----------------------------------------------------------------
    th = tasks.threshold
    iv = tasks.interval
    tol_t = np.nan_to_num(tasks.tolerance, nan=0.0)
    tol_t[tasks.kind == LIFE_LIMIT] = 0.0
    has_th_t = ~np.all(np.isnan(th), axis=1)
    first_t = np.where(has_th_t[:, None], th, iv)
    first_u = [np.ascontiguousarray(first_t[:, u]) for u in range(4)]
    iv_u = [np.ascontiguousarray(iv[:, u]) for u in range(4)]
    tol_tu = [np.ascontiguousarray(tol_t[:, u]) for u in range(3)]
    first_basis_t = np.where(has_th_t, FROM_THRESHOLD, FROM_ZERO_INTERVAL).astype(np.int8)
    first_basis_u = [
        np.where(np.isnan(first_u[u]), -1, first_basis_t).astype(np.int8) for u in range(4)
    ]
    usage_t = ~np.all(np.isnan(iv[:, :2]), axis=1)
    # which units each task has (bit u), so a chunk skips the units none of its items have
    units_t = np.zeros(n_tasks, dtype=np.int64)
    for u in range(4):
        units_t |= (~np.isnan(first_u[u]) | ~np.isnan(iv_u[u])).astype(np.int64) << u
    sched_due_t = tasks.schedule_from == LAST_DUE
    # stated counters are rare (migrated records): a mask per compliance row
    if every:
        stated_fh, stated_fc = c.stated[:, 0], c.stated[:, 1]
    else:
        stated_fh = c.stated[c_idx, 0] if c_idx.size else np.zeros(0)
        stated_fc = c.stated[c_idx, 1] if c_idx.size else np.zeros(0)
    stated_row = ~np.isnan(stated_fh)
    stated_row |= ~np.isnan(stated_fc)
    ac_rate, ac_planned = _rates(fleet, index, as_of)
    rate_u = [_pad(ac_rate[:, u], np.nan) for u in (FH, FC)]

    # --- outputs, filled chunk by chunk of items -----------------------------------------
    # unit-major (4, n): each unit's row is one contiguous array. Working a chunk at a
    # time keeps every temporary small (in cache, no fresh pages to fault in).
    due = np.empty((4, n))
    remaining = np.empty((4, n))
    projected = np.empty((2, n), dtype=np.int64)
    basis = np.empty((4, n), dtype=np.int8)
    due_date = np.empty(n, dtype=np.int64)
    driver = np.empty(n, dtype=np.int8)
    status = np.empty(n, dtype=np.int8)

    def counters_at(rows: I64, scope: int) -> tuple[F64, F64]:
        """Item counters (FH, FC) at compliance rows, stated values winning; NaN where
        the task has no usage unit (nothing needs them). ``scope``: the rows' items are
        all of one task and all on aircraft or all on parts (>= 0: the task), else -1."""
        items = ci[rows]
        at = cd[rows]
        if scope >= 0:  # one task: on aircraft or on parts, usage units or none
            if not usage_t[scope]:
                return np.full(rows.shape[0], np.nan), np.full(rows.shape[0], np.nan)
            if rows.shape[0] == 0 or ci[rows[0]] < n_a:  # aircraft items
                ac = np.take(aircraft, items)
                us, cyc = index.totals(ac, at)
                fh = fleet.aircraft_opening_fh[ac] + us / US_PER_HOUR
                fc = (fleet.aircraft_opening_fc[ac] + cyc).astype(np.float64)
            else:
                pp = np.take(part, items)
                us, cyc = history.totals(pp, at)
                fh = fleet.part_opening_fh[pp] + us / US_PER_HOUR
                fc = (fleet.part_opening_fc[pp] + cyc).astype(np.float64)
        else:
            fh = np.full(rows.shape[0], np.nan)
            fc = np.full(rows.shape[0], np.nan)
            need = usage_t[task[items]]
            item_part = part[items]
            on_air = need & (item_part < 0)
            k = np.nonzero(on_air)[0]
            ac = aircraft[items[k]]
            us, cyc = index.totals(ac, at[k])
            fh[k] = fleet.aircraft_opening_fh[ac] + us / US_PER_HOUR
            fc[k] = fleet.aircraft_opening_fc[ac] + cyc
            k = np.nonzero(need & ~on_air)[0]
            pp = item_part[k]
            us, cyc = history.totals(pp, at[k])
            fh[k] = fleet.part_opening_fh[pp] + us / US_PER_HOUR
            fc[k] = fleet.part_opening_fc[pp] + cyc
        s = np.nonzero(stated_row[rows])[0]
        if s.size:
            for out, given in ((fh, stated_fh[rows[s]]), (fc, stated_fc[rows[s]])):
                out[s] = np.where(np.isnan(given), out[s], given)
        return fh, fc

    # read-only stand-ins for the units a chunk's items do not have
    nan_full = np.full(CHUNK, np.nan)
    none_full = np.full(CHUNK, -1, dtype=np.int8)
    no_full = np.zeros(CHUNK, dtype=bool)

    def chunk(lo: int, hi: int) -> None:
        """Every output of items lo..hi-1 (at most CHUNK)."""
        nan_l, none_l, no_l = nan_full[: hi - lo], none_full[: hi - lo], no_full[: hi - lo]
        t_l = task[lo:hi]
        part_l = part[lo:hi]
        air_l = aircraft[lo:hi]
        counts_l = counts[lo:hi]
        # items of one task (they come grouped by task): its values are scalars
        t0 = int(t_l[0])
        pure = lo < n_base and t0 == int(t_l[-1])

        def per_task(values: npt.NDArray[Any]) -> Any:
            """Each item's value of a per-task array (one scalar when ``pure``)."""
            return values[t0] if pure else values[t_l]

        kind_l = per_task(tasks.kind)
        safe_air = air_l if lo < n_a and hi <= n_a else np.where(air_l >= 0, air_l, n_air)
        only_air = hi <= n_a or lo >= n_base  # aircraft (or raised) items only
        only_parts = lo >= n_a and hi <= n_base
        safe_part = part_l if only_parts else np.where(part_l >= 0, part_l, n_parts)

        def per_target(of_part: npt.NDArray[Any], of_air: npt.NDArray[Any]) -> Any:
            """Each item's value from its part's table, else its aircraft's."""
            if only_air:
                return of_air[safe_air]
            if only_parts:
                return of_part[part_l]
            return np.where(part_l >= 0, of_part[safe_part], of_air[safe_air])

        if lo >= n_base:  # raised items: due by their day alone
            has_u = [False, False, True, False]
            due_u = [np.full(hi - lo, np.nan) for _ in range(4)]
            basis_u = [np.full(hi - lo, -1, dtype=np.int8) for _ in range(4)]
            basis_u[DY][:] = FROM_RAISED
        else:
            bits = int(units_t[t0]) if pure else int(np.bitwise_or.reduce(units_t[t_l]))
            has_u = [bool(bits >> u & 1) for u in range(4)]
            # FH, FC: counter values; absent units stay NaN (-1 basis) and are not worked
            m = hi - lo
            if pure:
                due_u = [np.full(m, first_u[u][t0]) if has_u[u] else nan_l for u in range(4)]
                basis_u = [
                    np.full(m, first_basis_u[u][t0], np.int8) if has_u[u] else none_l
                    for u in range(4)
                ]
            else:
                due_u = [first_u[u][t_l] if has_u[u] else nan_l for u in range(4)]
                basis_u = [first_basis_u[u][t_l] if has_u[u] else none_l for u in range(4)]
        # the days' tolerance is the calendar units': DY and MO
        tol_l = [
            per_task(tol_tu[u]) if has_u[u] or u == DY and has_u[MO] else np.float64(0)
            for u in range(3)
        ]
        # counters now (FH, FC) of the units the items have, and their start dates
        cur = [per_target(part_now[u], air_now[u]) if has_u[u] else nan_l for u in (FH, FC)]
        calendar = (has_u[DY] or has_u[MO]) and lo < n_base
        start_day = per_target(manufactured, delivered) if calendar else None
        repeat_done = (counts_l > 0) & (kind_l == REPEAT)
        sched_due = per_task(sched_due_t)
        scope = t0 if pure and (hi <= n_a or lo >= n_a) else -1
        # calendar dues from the start date, for the items whose due comes from it: those
        # never done, and last_due items (their first compliance is tested against it)
        from_start = ~repeat_done | sched_due
        day_u = [np.full(hi - lo, NO_DAY, dtype=np.int64) for _ in range(2)]  # DY, MO
        if lo >= n_base:
            day_u[0][:] = r_due[lo - n_base : hi - n_base]  # (due_u stays NaN: not from start)
        for col, u in ((0, DY), (1, MO)):
            if not has_u[u] or start_day is None:
                continue
            has = np.nonzero(from_start & ~np.isnan(due_u[u]))[0]
            steps = due_u[u][has].astype(np.int64)
            day_u[col][has] = (
                start_day[has] + steps if u == DY else add_months(start_day[has], steps)
            )

        def apply(items: I64, rows: I64, vals: tuple[F64, F64], window: list[B] | None) -> None:
            """Next due of local ``items`` from their compliance ``rows`` with counters
            ``vals`` (base: the actual value, or the previous due where ``window``)."""
            t = t0 if pure else t_l[items]
            day = cd[rows] // US_PER_DAY
            for u in range(4):
                if not has_u[u]:
                    continue
                step = iv_u[u][t]
                has = ~np.isnan(step)
                if u < 2:
                    actual = vals[u]
                    base = (
                        actual if window is None else np.where(window[u], due_u[u][items], actual)
                    )
                    due_u[u][items] = base + step  # NaN where the unit is absent
                else:
                    prev = day_u[u - 2][items]
                    base_day: I64 = np.asarray(
                        day if window is None else np.where(window[u], prev, day), dtype=np.int64
                    )
                    whole = np.where(has, step, 0).astype(np.int64)
                    nxt = base_day + whole if u == DY else add_months(base_day, whole)
                    day_u[u - 2][items] = np.where(has, nxt, NO_DAY)
                b = (
                    FROM_ACTUAL
                    if window is None
                    else np.where(window[u], FROM_PREVIOUS_DUE, FROM_ACTUAL)
                )
                basis_u[u][items] = np.where(has, b, -1)

        # last_done: only the last compliance matters
        ld = np.nonzero(repeat_done & ~sched_due)[0]
        if ld.size:
            rows = last_row[lo + ld]
            apply(ld, rows, counters_at(rows, scope), None)
        # last_due: walk every item's history, the k-th compliance of all items at once
        lu_all = np.nonzero(repeat_done & sched_due)[0]
        lu_counts = counts_l[lu_all]
        for k in range(int(lu_counts.max(initial=0))):
            items = lu_all[lu_counts > k]
            rows = starts[lo + items] + k
            vals = counters_at(rows, scope)
            day = cd[rows] // US_PER_DAY
            window = []
            for u in (FH, FC):
                if not has_u[u]:
                    window.append(no_l)  # not read: apply() skips the unit
                    continue
                prev = due_u[u][items]
                with np.errstate(invalid="ignore"):
                    window.append(np.abs(vals[u] - prev) <= _at(tol_l[u], items))  # NaN: no
            for col, u in ((0, DY), (1, MO)):
                if not has_u[u]:
                    window.append(no_l)
                    continue
                prev = day_u[col][items]
                window.append((prev != NO_DAY) & (np.abs(day - prev) <= _at(tol_l[DY], items)))
            apply(items, rows, vals, window)

        # --- due, remaining, rates, projection -----------------------------------------------
        today_l = np.int64(today)
        for u in range(4):
            basis[u, lo:hi] = basis_u[u]
            if not has_u[u]:
                due[u, lo:hi] = np.nan
                remaining[u, lo:hi] = np.nan
                if u < 2:
                    projected[u, lo:hi] = NO_DAY
                continue
            if u < 2:
                due[u, lo:hi] = due_u[u]
                np.subtract(due_u[u], cur[u], out=remaining[u, lo:hi])
            else:
                d = day_u[u - 2]
                due[u, lo:hi] = np.where(d == NO_DAY, np.nan, d)
                np.subtract(due[u, lo:hi], today, out=remaining[u, lo:hi])
        proj: list[I64 | None] = []
        for u in (FH, FC):
            if not has_u[u]:
                proj.append(None)
                continue
            r_u = rate_u[u][safe_air]  # the spare row (no aircraft) is NaN
            with np.errstate(invalid="ignore", divide="ignore"):
                q = np.floor(remaining[u, lo:hi] / r_u)
                ok = np.isfinite(q) & (r_u > 0)
                q[~ok] = 0
                p_u = np.where(ok, today_l + q.astype(np.int64), NO_DAY)
            projected[u, lo:hi] = p_u
            proj.append(p_u)
        proj += [day_u[0] if has_u[DY] else None, day_u[1] if has_u[MO] else None]
        # the earliest date; on a tie the first unit in FH, FC, DY, MO order
        dd = np.full(hi - lo, BIG, dtype=np.int64)
        drv = np.full(hi - lo, -1, dtype=np.int8)
        for u in range(4):
            pu = proj[u]
            if pu is None:
                continue
            better = (pu != NO_DAY) & (pu < dd)
            dd[better] = pu[better]
            drv[better] = u
        dd[drv < 0] = NO_DAY
        due_date[lo:hi] = dd
        driver[lo:hi] = drv

        # --- status ------------------------------------------------------------------------
        past = np.zeros(hi - lo, dtype=bool)
        over = np.zeros(hi - lo, dtype=bool)
        for u in (FH, FC):
            if has_u[u]:
                rem = remaining[u, lo:hi]
                with np.errstate(invalid="ignore"):
                    past |= rem < 0
                    over |= rem < -tol_l[u]
        tol_dy = tol_l[DY].astype(np.int64)
        for col, u in ((0, DY), (1, MO)):
            if not has_u[u]:
                continue
            d = day_u[col]
            has = d != NO_DAY
            past |= has & (today_l > d)
            over |= has & (today_l > d + tol_dy)
        st = np.where((drv >= 0) & (dd <= today_l + horizon), DUE_SOON, OK).astype(np.int8)
        st[past] = IN_TOLERANCE
        st[over] = OVERDUE
        status[lo:hi] = st

        # --- a done directive drops out; overdue items ground their aircraft -------------------
        dropped = (counts_l > 0) & (kind_l == ONCE)
        grounds = over if only_air else over & (air_l >= 0)
        if bool(np.any(dropped)):
            drop_items.append(lo + np.flatnonzero(dropped))
            grounds = grounds & ~dropped
        ground_items.append(lo + np.flatnonzero(grounds))

    drop_items: list[I64] = []
    ground_items: list[I64] = []
    for lo, hi in _chunks(task[:n_base]):
        chunk(lo, hi)
    for lo in range(n_base, n, CHUNK):  # raised items
        chunk(lo, min(n, lo + CHUNK))

    # --- airworthiness ----------------------------------------------------------------------
    if drop_items:
        keep = np.ones(n, dtype=bool)
        keep[np.concatenate(drop_items)] = False
        kept = np.flatnonzero(keep)
    else:
        kept = np.arange(n, dtype=np.int64)
    grounding = np.concatenate(ground_items) if ground_items else np.zeros(0, np.int64)
    grounded = np.zeros(n_air, dtype=bool)
    grounded[aircraft[grounding]] = True
    return Result(
        as_of=as_of,
        today=today,
        horizon=horizon,
        kept=kept,
        task=task,
        aircraft=aircraft,
        part=part,
        due=due,
        remaining=remaining,
        projected=projected,
        due_date=due_date,
        driver=driver,
        status=status,
        basis=basis,
        last_compliance=last_c,
        aircraft_now=np.stack((air_now[0][:-1], air_now[1][:-1]), axis=1),
        part_now=np.stack((part_now[0][:-1], part_now[1][:-1]), axis=1),
        aircraft_rate=ac_rate,
        aircraft_rate_planned=ac_planned,
        grounded=grounded,
        ground_aircraft=aircraft[grounding],
        ground_item=grounding,
    )


def _at(values: Any, items: I64) -> Any:
    """``values[items]``, or ``values`` itself when it is one scalar for every item."""
    return values if np.ndim(values) == 0 else values[items]


def _chunks(task: I64) -> list[tuple[int, int]]:
    """Item ranges of at most CHUNK items: a task with OWN_CHUNK items or more gets ranges
    of its own, smaller neighbours share one (items come grouped by task)."""
    n = task.shape[0]
    if n == 0:
        return []
    edges = np.flatnonzero(task[1:] != task[:-1]) + 1
    starts = np.concatenate(([0], edges)).tolist()
    ends = np.concatenate((edges, [n])).tolist()
    out: list[tuple[int, int]] = []
    lo = -1  # start of a shared range being filled (-1: none)
    for a, b in zip(starts, ends, strict=True):
        if b - a >= OWN_CHUNK:
            if lo >= 0:
                out.append((lo, a))
                lo = -1
            out.append((a, b))
            continue
        if lo >= 0 and b - lo > CHUNK:
            out.append((lo, a))
            lo = -1
        if lo < 0:
            lo = a
    if lo >= 0:
        out.append((lo, n))
    # (a shared range can outgrow CHUNK when OWN_CHUNK > CHUNK: split it)
    return [(x, min(b, x + CHUNK)) for a, b in out for x in range(a, b, CHUNK)]


def _pad(values: npt.NDArray[Any], spare: float = 0) -> npt.NDArray[Any]:
    """``values`` with one spare value at the end (the row of "none")."""
    out = np.full(values.shape[0] + 1, spare, dtype=values.dtype)
    out[:-1] = values
    return out


def _rates(fleet: Fleet, index: FlightIndex, as_of: int) -> tuple[F64, B]:
    """Per aircraft and unit (FH, FC): the planned rate when given, else the average per
    day over (W, as_of], W = later of as_of - 90 days and delivery at 00:00 UTC."""
    n = fleet.aircraft_opening_fh.shape[0]
    ids = np.arange(n, dtype=np.int64)
    w = np.maximum(as_of - RATE_WINDOW_DAYS * US_PER_DAY, fleet.aircraft_delivered * US_PER_DAY)
    w = np.minimum(w, as_of)  # delivered after as_of: an empty window
    us_d, fc_d = index.totals(ids, np.full(n, as_of, np.int64))
    us_w, fc_w = index.totals(ids, w)
    days = np.maximum((as_of - w) / US_PER_DAY, 1.0)
    window = np.stack(((us_d - us_w) / US_PER_HOUR / days, (fc_d - fc_w) / days), axis=1)
    planned = ~np.isnan(fleet.aircraft_rate)
    return np.where(planned, fleet.aircraft_rate, window), planned


__all__ = [
    "BASES",
    "KINDS",
    "STATUSES",
    "UNITS",
    "NO_DAY",
    "OPEN_END",
    "Compliances",
    "Fleet",
    "Result",
    "Tasks",
    "forecast",
]
