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

    Most parts have one installation: per part, the columns of its last installation are
    kept in part-indexed tables (``last_*``) so a query gathers from small tables; the
    few parts with several are answered over all their installations."""

    index: FlightIndex
    inst: Installations
    order: I64  # installations by part
    start: I64  # per part: first of its installations in ``order``
    count: I64  # per part: how many
    base_us: I64  # per installation in ``order``
    base_fc: I64
    last_aircraft: I64  # per part: its last installation's aircraft (-1: none)
    last_installed: I64
    last_upper: I64  # removed_at - 1 µs (a landing at removal does not count)
    last_base_us: I64
    last_base_fc: I64
    multi: bool  # some part has more than one installation

    @classmethod
    def build(cls, index: FlightIndex, inst: Installations, n_parts: int) -> PartHistory:
        order = np.argsort(inst.part, kind="stable")
        count = np.bincount(inst.part, minlength=n_parts).astype(np.int64)
        start = np.cumsum(count) - count
        base_us, base_fc = index.totals(
            inst.aircraft[order], inst.installed_at[order], inclusive=False
        )
        has = count > 0
        last = np.where(has, start + count - 1, 0)
        rows = order[last] if order.size else np.zeros(n_parts, np.int64)
        if order.size:
            last_aircraft = np.where(has, inst.aircraft[rows], -1)
            last_installed = np.where(has, inst.installed_at[rows], OPEN_END)
            last_upper = np.where(has, inst.removed_at[rows] - 1, 0)
            last_base_us = np.where(has, base_us[last], 0)
            last_base_fc = np.where(has, base_fc[last], 0)
        else:
            last_aircraft = np.full(n_parts, -1, np.int64)
            last_installed = np.full(n_parts, OPEN_END, np.int64)
            last_upper = last_base_us = last_base_fc = np.zeros(n_parts, np.int64)
        return cls(
            index,
            inst,
            order,
            start,
            count,
            base_us,
            base_fc,
            last_aircraft,
            last_installed,
            last_upper,
            last_base_us,
            last_base_fc,
            bool((count > 1).any()),
        )

    def totals(self, part: I64, at: I64) -> tuple[I64, I64]:
        """Airborne µs and cycles of part[k] up to at[k] (landing <= at), across airframes."""
        n = part.shape[0]
        if n == 0 or self.order.shape[0] == 0:
            return np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64)
        # every part through its last installation (exact for parts with one)
        upper = np.minimum(self.last_upper[part], at)
        installed = self.last_installed[part]
        ac = self.last_aircraft[part]
        hi_us, hi_fc = self.index.totals(np.maximum(ac, 0), upper, inclusive=True)
        valid = upper >= installed
        us = np.where(valid, hi_us - self.last_base_us[part], 0)
        fc = np.where(valid, hi_fc - self.last_base_fc[part], 0)
        if self.multi:
            q = np.nonzero(self.count[part] > 1)[0]
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


def _segments(group: I64, n_groups: int) -> tuple[I64, I64]:
    """For members with a group id: each member's rank within its group (in member
    order) and each group's size."""
    order = np.argsort(group, kind="stable")
    size = np.bincount(group, minlength=n_groups).astype(np.int64)
    start = np.cumsum(size) - size
    rank = np.empty(group.shape[0], dtype=np.int64)
    rank[order] = np.arange(group.shape[0], dtype=np.int64) - np.repeat(start, size)
    return rank, size


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
    p_rank, p_size = _segments(p_group, len(pn_ids) + 1)
    t_pn = np.searchsorted(pn_ids, tasks.part_number)
    t_has_pn = (tasks.part_number >= 0) & (t_pn < len(pn_ids))
    if len(pn_ids):
        t_has_pn &= pn_ids[np.minimum(t_pn, len(pn_ids) - 1)] == tasks.part_number
    pt = np.nonzero(t_has_pn)[0]
    pt_count = p_size[t_pn[pt]]
    task_base = np.full(n_tasks, -1, dtype=np.int64)
    task_base[pt] = n_a + np.cumsum(pt_count) - pt_count
    part_by_group = np.argsort(p_group, kind="stable")
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
    kind = tasks.kind[task]

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
    on_a = (c.aircraft >= 0) & (c.part < 0)
    ca = np.nonzero(on_a)[0]
    if ca.size and var_tasks.size:
        row = row_of_task[c.task[ca]]
        ok = row >= 0
        c_item[ca[ok]] = item_of[row[ok], c.aircraft[ca[ok]]]
    cp = np.nonzero(c.part >= 0)[0]
    if cp.size:
        ps = c.part[cp]
        base = task_base[c.task[cp]]
        ok = (base >= 0) & rep_part[ps] & (tasks.part_number[c.task[cp]] == fleet.part_number[ps])
        c_item[cp[ok]] = base[ok] + p_rank[ps[ok]]
    use = (c_item >= 0) & (c.done_at <= as_of) & (tasks.kind[c.task] != LIFE_LIMIT)
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

    def counters_at(rows: I64) -> tuple[F64, F64]:
        """Item counters (FH, FC) at compliance rows, stated values winning; NaN where
        the task has no usage unit (nothing needs them)."""
        fh = np.full(rows.shape[0], np.nan)
        fc = np.full(rows.shape[0], np.nan)
        items = ci[rows]
        need = usage_t[task[items]]
        item_part = part[items]
        on_air = need & (item_part < 0)
        k = np.nonzero(on_air)[0]
        ac = aircraft[items[k]]
        us, cyc = index.totals(ac, cd[rows[k]])
        fh[k] = fleet.aircraft_opening_fh[ac] + us / US_PER_HOUR
        fc[k] = fleet.aircraft_opening_fc[ac] + cyc
        k = np.nonzero(need & ~on_air)[0]
        pp = item_part[k]
        us, cyc = history.totals(pp, cd[rows[k]])
        fh[k] = fleet.part_opening_fh[pp] + us / US_PER_HOUR
        fc[k] = fleet.part_opening_fc[pp] + cyc
        s = np.nonzero(stated_row[rows])[0]
        if s.size:
            for out, given in ((fh, stated_fh[rows[s]]), (fc, stated_fc[rows[s]])):
                out[s] = np.where(np.isnan(given), out[s], given)
        return fh, fc

    def chunk(lo: int, hi: int) -> None:
        """Every output of items lo..hi-1."""
        t_l = task[lo:hi]
        part_l = part[lo:hi]
        air_l = aircraft[lo:hi]
        kind_l = kind[lo:hi]
        counts_l = counts[lo:hi]
        is_part = part_l >= 0
        safe_part = np.where(is_part, part_l, n_parts)
        safe_air = np.where(air_l >= 0, air_l, n_air)
        cur = [np.where(is_part, part_now[u][safe_part], air_now[u][safe_air]) for u in (FH, FC)]
        start_day = np.where(is_part, manufactured[safe_part], delivered[safe_air])
        if lo >= n_base:  # raised items: due by their day alone
            due_u = [np.full(hi - lo, np.nan) for _ in range(4)]
            basis_u = [np.full(hi - lo, -1, dtype=np.int8) for _ in range(4)]
            basis_u[DY][:] = FROM_RAISED
        else:
            due_u = [first_u[u][t_l] for u in range(4)]  # FH, FC: counter values
            basis_u = [first_basis_u[u][t_l] for u in range(4)]
        tol_l = [tol_tu[u][t_l] for u in range(3)]
        repeat_done = (counts_l > 0) & (kind_l == REPEAT)
        sched_due = sched_due_t[t_l]
        # calendar dues from the start date, for the items whose due comes from it: those
        # never done, and last_due items (their first compliance is tested against it)
        from_start = ~repeat_done | sched_due
        day_u = [np.full(hi - lo, NO_DAY, dtype=np.int64) for _ in range(2)]  # DY, MO
        if lo >= n_base:
            day_u[0][:] = r_due[lo - n_base : hi - n_base]  # (due_u stays NaN: not from start)
        for col, u in ((0, DY), (1, MO)):
            has = np.nonzero(from_start & ~np.isnan(due_u[u]))[0]
            steps = due_u[u][has].astype(np.int64)
            day_u[col][has] = (
                start_day[has] + steps if u == DY else add_months(start_day[has], steps)
            )

        def apply(items: I64, rows: I64, vals: tuple[F64, F64], window: list[B] | None) -> None:
            """Next due of local ``items`` from their compliance ``rows`` with counters
            ``vals`` (base: the actual value, or the previous due where ``window``)."""
            t = t_l[items]
            day = cd[rows] // US_PER_DAY
            for u in range(4):
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
            apply(ld, rows, counters_at(rows), None)
        # last_due: walk every item's history, the k-th compliance of all items at once
        lu_all = np.nonzero(repeat_done & sched_due)[0]
        lu_counts = counts_l[lu_all]
        for k in range(int(lu_counts.max(initial=0))):
            items = lu_all[lu_counts > k]
            rows = starts[lo + items] + k
            vals = counters_at(rows)
            day = cd[rows] // US_PER_DAY
            window = []
            for u in (FH, FC):
                prev = due_u[u][items]
                with np.errstate(invalid="ignore"):
                    window.append(np.abs(vals[u] - prev) <= tol_l[u][items])  # NaN: False
            for col in (0, 1):
                prev = day_u[col][items]
                window.append((prev != NO_DAY) & (np.abs(day - prev) <= tol_l[DY][items]))
            apply(items, rows, vals, window)

        # --- due, remaining, rates, projection -----------------------------------------------
        today_l = np.int64(today)
        due[FH, lo:hi] = due_u[FH]
        due[FC, lo:hi] = due_u[FC]
        for col, u in ((0, DY), (1, MO)):
            d = day_u[col]
            due[u, lo:hi] = np.where(d == NO_DAY, np.nan, d)
        for u in range(4):
            basis[u, lo:hi] = basis_u[u]
        np.subtract(due_u[FH], cur[FH], out=remaining[FH, lo:hi])
        np.subtract(due_u[FC], cur[FC], out=remaining[FC, lo:hi])
        np.subtract(due[DY, lo:hi], today, out=remaining[DY, lo:hi])
        np.subtract(due[MO, lo:hi], today, out=remaining[MO, lo:hi])
        proj = []
        for u in (FH, FC):
            r_u = rate_u[u][safe_air]  # the spare row (no aircraft) is NaN
            with np.errstate(invalid="ignore", divide="ignore"):
                q = np.floor(remaining[u, lo:hi] / r_u)
                ok = np.isfinite(q) & (r_u > 0)
                q[~ok] = 0
                p_u = np.where(ok, today_l + q.astype(np.int64), NO_DAY)
            projected[u, lo:hi] = p_u
            proj.append(p_u)
        proj += day_u
        # the earliest date; on a tie the first unit in FH, FC, DY, MO order
        p_fh = proj[FH]
        none = p_fh == NO_DAY
        dd = np.where(none, BIG, p_fh)
        drv = np.where(none, -1, FH).astype(np.int8)
        for u in (FC, DY, MO):
            p_u = proj[u]
            better = (p_u != NO_DAY) & (p_u < dd)
            dd[better] = p_u[better]
            drv[better] = u
        dd[drv < 0] = NO_DAY
        due_date[lo:hi] = dd
        driver[lo:hi] = drv

        # --- status ------------------------------------------------------------------------
        with np.errstate(invalid="ignore"):
            rem_fh, rem_fc = remaining[FH, lo:hi], remaining[FC, lo:hi]
            past = (rem_fh < 0) | (rem_fc < 0)
            over = (rem_fh < -tol_l[FH]) | (rem_fc < -tol_l[FC])
        tol_dy = tol_l[DY].astype(np.int64)
        for d in day_u:
            has = d != NO_DAY
            past |= has & (today_l > d)
            over |= has & (today_l > d + tol_dy)
        st = np.where((drv >= 0) & (dd <= today_l + horizon), DUE_SOON, OK).astype(np.int8)
        st[past] = IN_TOLERANCE
        st[over] = OVERDUE
        status[lo:hi] = st

    for lo in range(0, n_base, CHUNK):
        chunk(lo, min(n_base, lo + CHUNK))
    if n > n_base:
        chunk(n_base, n)
    keep = ~((kind == ONCE) & (counts > 0))  # a done directive drops out

    # --- airworthiness ----------------------------------------------------------------------
    kept = np.arange(n, dtype=np.int64) if bool(keep.all()) else np.nonzero(keep)[0]
    grounding = np.nonzero(keep & (status == OVERDUE) & (aircraft >= 0))[0]
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


def _pad(values: npt.NDArray[Any], spare: float = 0) -> npt.NDArray[Any]:
    """``values`` with one spare value at the end (the row of "none")."""
    out = np.full(values.shape[0] + 1, spare, dtype=values.dtype)
    out[:-1] = values
    return out


def _key(task: I64, is_part: B, target: I64) -> I64:
    """One int64 per (task, aircraft-or-part, target) for matching compliances to items."""
    return (
        (task.astype(np.int64) << 33) | (is_part.astype(np.int64) << 32) | target.astype(np.int64)
    )


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
