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
FROM_THRESHOLD, FROM_ZERO_INTERVAL, FROM_ACTUAL, FROM_PREVIOUS_DUE = 0, 1, 2, 3
BASES = (
    "threshold",
    "interval from new",
    "interval from the compliance",
    "interval from the previous due",
)
RATE_WINDOW_DAYS = 90


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
class Compliances:
    task: I64
    aircraft: I64  # -1 when on a part
    part: I64  # -1 when on an aircraft
    done_at: I64  # microseconds
    stated: F64  # (n, 2): FH, FC; NaN = not stated


@dataclass(frozen=True)
class Result:
    """One row per item. ``aircraft`` is the aircraft the item is on at as_of (-1: a
    part in stores); ``part`` -1 for an aircraft task."""

    as_of: int
    today: int
    horizon: int
    task: I64
    aircraft: I64
    part: I64
    due: F64  # (n, 4): counter values for FH/FC, day numbers for DY/MO; NaN absent
    remaining: F64  # (n, 4): calendar units in days
    projected: I64  # (n, 4): day the unit gives; NO_DAY when none
    due_date: I64  # NO_DAY: none
    driver: I64  # -1: none
    status: I64
    basis: I64  # (n, 4) how each unit's due was reached
    last_compliance: I64  # index into the compliances given, -1: never done
    current: F64  # (n, 2): FH, FC of the item as of as_of
    rate: F64  # (n, 2): rate used per day (NaN: none)
    rate_planned: B  # (n, 2)
    grounded: B  # per aircraft
    # the (aircraft, item) pairs that ground it
    ground_aircraft: I64
    ground_item: I64


def _part_totals(index: FlightIndex, inst: Installations, part: I64, at: I64) -> tuple[I64, I64]:
    """Airborne µs and cycles of part[k] up to at[k] (landing <= at), across airframes."""
    n = part.shape[0]
    if n == 0 or inst.part.shape[0] == 0:
        return np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64)
    order = np.argsort(inst.part, kind="stable")
    ip = inst.part[order]
    start = np.searchsorted(ip, part, side="left")
    stop = np.searchsorted(ip, part, side="right")
    count = stop - start
    total = int(count.sum())
    query = np.repeat(np.arange(n), count)
    offs = np.arange(total) - np.repeat(np.cumsum(count) - count, count)
    rows = order[np.repeat(start, count) + offs]
    upper = np.minimum(inst.removed_at[rows] - 1, at[query])
    lo_us, lo_fc = index.totals(inst.aircraft[rows], inst.installed_at[rows], inclusive=False)
    hi_us, hi_fc = index.totals(inst.aircraft[rows], upper, inclusive=True)
    valid = upper >= inst.installed_at[rows]
    us = np.zeros(n, dtype=np.int64)
    fc = np.zeros(n, dtype=np.int64)
    np.add.at(us, query, np.where(valid, hi_us - lo_us, 0))
    np.add.at(fc, query, np.where(valid, hi_fc - lo_fc, 0))
    return us, fc


def _aircraft_at(inst: Installations, n_parts: int, at: int) -> I64:
    """The aircraft each part is on at ``at`` (installed_at <= at < removed_at), or -1."""
    out = np.full(n_parts, -1, dtype=np.int64)
    on = (inst.installed_at <= at) & (at < inst.removed_at)
    out[inst.part[on]] = inst.aircraft[on]
    return out


def forecast(
    fleet: Fleet,
    tasks: Tasks,
    compliances: Compliances,
    *,
    as_of: int,
    horizon: int = 30,
    report_aircraft: B | None = None,
    report_parts: B | None = None,
) -> Result:
    """The forecast as of ``as_of`` (µs). ``report_*`` masks limit the items made
    (others still count for part histories); default: all."""
    n_air = fleet.aircraft_opening_fh.shape[0]
    n_parts = fleet.part_opening_fh.shape[0]
    index = FlightIndex.build(fleet.flights)
    today = int(np.floor_divide(as_of, US_PER_DAY))
    rep_air = np.ones(n_air, bool) if report_aircraft is None else report_aircraft
    rep_part = np.ones(n_parts, bool) if report_parts is None else report_parts

    # --- the items --------------------------------------------------------------------
    vt, vid = tasks.variant_task, tasks.variant_id
    air_ids = np.nonzero(rep_air)[0]
    # pair every (task, variant) with the aircraft of that variant
    a_order = air_ids[np.argsort(fleet.aircraft_variant[air_ids], kind="stable")]
    a_var = fleet.aircraft_variant[a_order]
    lo = np.searchsorted(a_var, vid, side="left")
    hi = np.searchsorted(a_var, vid, side="right")
    cnt = hi - lo
    it_task_a = np.repeat(vt, cnt)
    offs = np.arange(int(cnt.sum())) - np.repeat(np.cumsum(cnt) - cnt, cnt)
    it_air_a = a_order[np.repeat(lo, cnt) + offs]
    pn_tasks = np.nonzero(tasks.part_number >= 0)[0]
    part_ids = np.nonzero(rep_part)[0]
    p_order = part_ids[np.argsort(fleet.part_number[part_ids], kind="stable")]
    p_num = fleet.part_number[p_order]
    lo = np.searchsorted(p_num, tasks.part_number[pn_tasks], side="left")
    hi = np.searchsorted(p_num, tasks.part_number[pn_tasks], side="right")
    cnt = hi - lo
    it_task_p = np.repeat(pn_tasks, cnt)
    offs = np.arange(int(cnt.sum())) - np.repeat(np.cumsum(cnt) - cnt, cnt)
    it_part_p = p_order[np.repeat(lo, cnt) + offs]
    n_a, n_p = it_task_a.shape[0], it_task_p.shape[0]
    task = np.concatenate((it_task_a, it_task_p)).astype(np.int64)
    part = np.concatenate((np.full(n_a, -1, np.int64), it_part_p)).astype(np.int64)
    on_air = _aircraft_at(fleet.installations, n_parts, as_of)
    aircraft = np.concatenate((it_air_a, on_air[it_part_p] if n_p else it_part_p)).astype(np.int64)
    n = task.shape[0]
    is_part = part >= 0
    kind = tasks.kind[task]
    sched = tasks.schedule_from[task]

    # --- current counters and start dates ----------------------------------------------
    cur = np.zeros((n, 2), dtype=np.float64)
    a_us, a_fc = index.totals(it_air_a, np.full(n_a, as_of, np.int64))
    cur[:n_a, 0] = fleet.aircraft_opening_fh[it_air_a] + a_us / US_PER_HOUR
    cur[:n_a, 1] = fleet.aircraft_opening_fc[it_air_a] + a_fc
    p_us, p_fc = _part_totals(index, fleet.installations, it_part_p, np.full(n_p, as_of, np.int64))
    cur[n_a:, 0] = fleet.part_opening_fh[it_part_p] + p_us / US_PER_HOUR
    cur[n_a:, 1] = fleet.part_opening_fc[it_part_p] + p_fc
    start_day = np.concatenate(
        (fleet.aircraft_delivered[it_air_a], fleet.part_manufactured[it_part_p])
    ).astype(np.int64)

    # --- compliances of each item, in order --------------------------------------------
    c = compliances
    item_key = np.where(is_part, part, aircraft)  # target index within its kind
    valid_c = (c.done_at <= as_of) & (tasks.kind[c.task] != LIFE_LIMIT)
    # items are identified by (task, kind of target, target); map compliances onto them
    key_items = _key(task, is_part, item_key)
    c_is_part = c.part >= 0
    c_target = np.where(c_is_part, c.part, c.aircraft)
    key_c = _key(c.task, c_is_part, c_target)
    item_order = np.argsort(key_items, kind="stable")
    sorted_keys = key_items[item_order]
    pos = np.searchsorted(sorted_keys, key_c)
    pos_clip = np.minimum(pos, max(n - 1, 0))
    matched = valid_c & (n > 0) & (sorted_keys[pos_clip] == key_c) if n else np.zeros(0, bool)
    c_idx = np.nonzero(matched)[0]
    c_item = item_order[pos_clip[c_idx]]
    # order by (item, done_at, given order)
    corder = np.lexsort((c_idx, c.done_at[c_idx], c_item))
    c_idx, c_item = c_idx[corder], c_item[corder]
    # counters at each compliance: stated values win, else the item's counters then
    c_at = c.done_at[c_idx]
    c_vals = np.zeros((c_idx.shape[0], 2), dtype=np.float64)
    on_part = is_part[c_item]
    ai = np.nonzero(~on_part)[0]
    us, fc = index.totals(aircraft[c_item[ai]], c_at[ai])
    c_vals[ai, 0] = fleet.aircraft_opening_fh[aircraft[c_item[ai]]] + us / US_PER_HOUR
    c_vals[ai, 1] = fleet.aircraft_opening_fc[aircraft[c_item[ai]]] + fc
    pi = np.nonzero(on_part)[0]
    us, fc = _part_totals(index, fleet.installations, part[c_item[pi]], c_at[pi])
    c_vals[pi, 0] = fleet.part_opening_fh[part[c_item[pi]]] + us / US_PER_HOUR
    c_vals[pi, 1] = fleet.part_opening_fc[part[c_item[pi]]] + fc
    stated = c.stated[c_idx]
    c_vals = np.where(np.isnan(stated), c_vals, stated)
    c_day = np.floor_divide(c_at, US_PER_DAY)

    # --- due per unit ---------------------------------------------------------------------
    th = tasks.threshold[task]
    iv = tasks.interval[task]
    tol = np.nan_to_num(tasks.tolerance[task], nan=0.0)
    tol[kind == LIFE_LIMIT] = 0.0
    has_th = ~np.all(np.isnan(th), axis=1)
    first = np.where(has_th[:, None], th, iv)  # never done: threshold alone, else interval
    due = np.full((n, 4), np.nan)
    basis = np.full((n, 4), -1, dtype=np.int64)
    due[:, :2] = first[:, :2]
    due_days = np.full((n, 2), NO_DAY, dtype=np.int64)  # DY, MO as day numbers
    dy = ~np.isnan(first[:, DY])
    due_days[dy, 0] = start_day[dy] + first[dy, DY].astype(np.int64)
    mo = ~np.isnan(first[:, MO])
    due_days[mo, 1] = add_months(start_day[mo], first[mo, MO].astype(np.int64))
    present = ~np.isnan(first)
    basis[present] = np.where(has_th[:, None], FROM_THRESHOLD, FROM_ZERO_INTERVAL).repeat(4, 1)[
        present
    ]
    last_c = np.full(n, -1, dtype=np.int64)

    # k-th compliance of every item at once
    starts = (
        np.searchsorted(c_item, np.arange(n), side="left") if c_item.size else np.zeros(n, np.int64)
    )
    counts = np.bincount(c_item, minlength=n) if c_item.size else np.zeros(n, np.int64)
    has_iv = ~np.isnan(iv)
    for k in range(int(counts.max(initial=0))):
        items = np.nonzero(counts > k)[0]
        rows = starts[items] + k
        last_c[items] = c_idx[rows]
        repeat = kind[items] == REPEAT
        items, rows = items[repeat], rows[repeat]
        if items.size == 0:
            continue
        by_due = sched[items] == LAST_DUE
        for u in (FH, FC):
            has = has_iv[items, u]
            actual = c_vals[rows, u]
            prev = due[items, u]
            in_window = by_due & ~np.isnan(prev) & (np.abs(actual - prev) <= tol[items, u])
            base = np.where(in_window, prev, actual)
            due[items, u] = np.where(has, base + iv[items, u], np.nan)
            basis[items, u] = np.where(has, np.where(in_window, FROM_PREVIOUS_DUE, FROM_ACTUAL), -1)
        actual_day = c_day[rows]
        for col, u in ((0, DY), (1, MO)):
            has = has_iv[items, u]
            prev = due_days[items, col]
            known = prev != NO_DAY
            in_window = (
                by_due & known & (np.abs(actual_day - np.where(known, prev, 0)) <= tol[items, DY])
            )
            base = np.where(in_window, prev, actual_day)
            step = np.nan_to_num(iv[items, u]).astype(np.int64)
            nxt = base + step if u == DY else add_months(base, step)
            due_days[items, col] = np.where(has, nxt, NO_DAY)
            basis[items, u] = np.where(has, np.where(in_window, FROM_PREVIOUS_DUE, FROM_ACTUAL), -1)

    keep = ~((kind == ONCE) & (last_c >= 0))  # a done directive drops out
    due[:, DY] = np.where(due_days[:, 0] != NO_DAY, due_days[:, 0], np.nan)
    due[:, MO] = np.where(due_days[:, 1] != NO_DAY, due_days[:, 1], np.nan)

    # --- remaining, rates, projection ----------------------------------------------------
    remaining = np.full((n, 4), np.nan)
    remaining[:, :2] = due[:, :2] - cur
    remaining[:, 2:] = due[:, 2:] - today
    rate = np.full((n, 2), np.nan)
    planned = np.zeros((n, 2), dtype=bool)
    ac_rate, ac_planned = _rates(fleet, index, as_of)
    has_ac = aircraft >= 0
    rate[has_ac] = ac_rate[aircraft[has_ac]]
    planned[has_ac] = ac_planned[aircraft[has_ac]]
    projected = np.full((n, 4), NO_DAY, dtype=np.int64)
    for u in (FH, FC):
        r = rate[:, u]
        ok = ~np.isnan(remaining[:, u]) & ~np.isnan(r) & (r > 0)
        projected[ok, u] = today + np.floor(remaining[ok, u] / r[ok]).astype(np.int64)
    projected[:, DY] = due_days[:, 0]
    projected[:, MO] = due_days[:, 1]
    masked = np.where(projected == NO_DAY, np.iinfo(np.int64).max, projected)
    driver = np.argmin(masked, axis=1).astype(np.int64)  # first minimum: FH, FC, DY, MO
    due_date = masked[np.arange(n), driver]
    none = due_date == np.iinfo(np.int64).max
    driver[none] = -1
    due_date[none] = NO_DAY

    # --- status ----------------------------------------------------------------------------
    usage_over = np.zeros(n, bool)
    usage_past = np.zeros(n, bool)
    for u in (FH, FC):
        rem = remaining[:, u]
        has = ~np.isnan(rem)
        usage_over |= has & (rem < -tol[:, u])
        usage_past |= has & (rem < 0)
    cal_over = np.zeros(n, bool)
    cal_past = np.zeros(n, bool)
    for col in (0, 1):
        d = due_days[:, col]
        has = d != NO_DAY
        cal_over |= has & (today > d + tol[:, DY].astype(np.int64))
        cal_past |= has & (today > d)
    status = np.full(n, OK, dtype=np.int64)
    soon = (due_date != NO_DAY) & (due_date <= today + horizon)
    status[soon] = DUE_SOON
    status[usage_past | cal_past] = IN_TOLERANCE
    status[usage_over | cal_over] = OVERDUE

    # --- airworthiness ----------------------------------------------------------------------
    sel = np.nonzero(keep)[0]
    grounding = sel[(status[sel] == OVERDUE) & (aircraft[sel] >= 0)]
    grounded = np.zeros(n_air, dtype=bool)
    grounded[aircraft[grounding]] = True
    return Result(
        as_of=as_of,
        today=today,
        horizon=horizon,
        task=task[sel],
        aircraft=aircraft[sel],
        part=part[sel],
        due=due[sel],
        remaining=remaining[sel],
        projected=projected[sel],
        due_date=due_date[sel],
        driver=driver[sel],
        status=status[sel],
        basis=basis[sel],
        last_compliance=last_c[sel],
        current=cur[sel],
        rate=rate[sel],
        rate_planned=planned[sel],
        grounded=grounded,
        ground_aircraft=aircraft[grounding],
        ground_item=np.searchsorted(sel, grounding),
    )


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
