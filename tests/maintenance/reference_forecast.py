"""A straightforward implementation of ../shared/spec/forecast.md, item by item, with
Python dates and loops: written from the spec text alone, to check the vectorised core
against (it shares no code with kanat.engine)."""

from __future__ import annotations

import calendar
import datetime as dt
import math
from dataclasses import dataclass, field

UNITS = ("FH", "FC", "DY", "MO")


@dataclass
class Aircraft:
    serial: str
    variant: str
    delivered: dt.date
    opening: dict[str, float] = field(default_factory=dict)
    planned: dict[str, float] = field(default_factory=dict)


@dataclass
class Part:
    pn: str
    serial: str
    manufactured: dt.date
    opening: dict[str, float] = field(default_factory=dict)


@dataclass
class Installation:
    part: str  # serial
    aircraft: str
    installed_at: dt.datetime
    removed_at: dt.datetime | None


@dataclass
class Flight:
    aircraft: str
    takeoff: dt.datetime
    landing: dt.datetime
    cycles: int = 1


@dataclass
class Task:
    code: str
    kind: str
    variants: list[str] | None = None
    pn: str | None = None
    threshold: dict[str, float] = field(default_factory=dict)
    interval: dict[str, float] = field(default_factory=dict)
    tolerance: dict[str, float] = field(default_factory=dict)
    schedule_from: str = "last_done"


@dataclass
class Compliance:
    task: str
    done_at: dt.datetime
    aircraft: str | None = None
    part: str | None = None
    counters: dict[str, float] = field(default_factory=dict)


@dataclass
class World:
    aircraft: list[Aircraft]
    parts: list[Part]
    installations: list[Installation]
    flights: list[Flight]
    tasks: list[Task]
    compliances: list[Compliance]


def add_months(day: dt.date, n: int) -> dt.date:
    months = day.year * 12 + day.month - 1 + n
    year, month = divmod(months, 12)
    month += 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def hours(f: Flight) -> float:
    return (f.landing - f.takeoff).total_seconds() / 3600


def aircraft_counters(w: World, serial: str, at: dt.datetime) -> dict[str, float]:
    ac = next(a for a in w.aircraft if a.serial == serial)
    fh = ac.opening.get("FH", 0.0)
    fc = ac.opening.get("FC", 0)
    for f in w.flights:
        if f.aircraft == serial and f.landing <= at:
            fh += hours(f)
            fc += f.cycles
    return {"FH": fh, "FC": fc}


def part_counters(w: World, serial: str, at: dt.datetime) -> dict[str, float]:
    part = next(p for p in w.parts if p.serial == serial)
    fh = part.opening.get("FH", 0.0)
    fc = part.opening.get("FC", 0)
    for inst in w.installations:
        if inst.part != serial:
            continue
        for f in w.flights:
            if f.aircraft != inst.aircraft or f.landing > at:
                continue
            if inst.installed_at <= f.landing and (
                inst.removed_at is None or f.landing < inst.removed_at
            ):
                fh += hours(f)
                fc += f.cycles
    return {"FH": fh, "FC": fc}


def aircraft_of_part(w: World, serial: str, at: dt.datetime) -> str | None:
    for inst in w.installations:
        if (
            inst.part == serial
            and inst.installed_at <= at
            and (inst.removed_at is None or at < inst.removed_at)
        ):
            return inst.aircraft
    return None


def rate(w: World, serial: str, unit: str, at: dt.datetime) -> float:
    ac = next(a for a in w.aircraft if a.serial == serial)
    if unit in ac.planned:
        return ac.planned[unit]
    start = dt.datetime.combine(ac.delivered, dt.time(0), tzinfo=dt.UTC)
    window_start = max(at - dt.timedelta(days=90), start)
    total = 0.0
    for f in w.flights:
        if f.aircraft == serial and window_start < f.landing <= at:
            total += hours(f) if unit == "FH" else f.cycles
    days = max((at - window_start).total_seconds() / 86400, 1.0)
    return total / days


def forecast(w: World, as_of: dt.datetime, horizon: int = 30) -> dict:
    today = as_of.astimezone(dt.UTC).date()
    items = []
    for task in w.tasks:
        if task.pn is None:
            targets = [
                ("aircraft", a.serial) for a in w.aircraft if a.variant in (task.variants or [])
            ]
        else:
            targets = [("part", p.serial) for p in w.parts if p.pn == task.pn]
        for kind, serial in targets:
            done = [
                c
                for c in w.compliances
                if c.task == task.code
                and c.done_at <= as_of
                and (c.aircraft if kind == "aircraft" else c.part) == serial
                and (c.part is None if kind == "aircraft" else c.aircraft is None)
            ]
            done.sort(key=lambda c: c.done_at)
            if task.kind == "life_limit":
                done = []
            if task.kind == "once" and done:
                continue

            def counters(
                at: dt.datetime, kind: str = kind, serial: str = serial
            ) -> dict[str, float]:
                if kind == "aircraft":
                    return aircraft_counters(w, serial, at)
                return part_counters(w, serial, at)

            if kind == "aircraft":
                start = next(a for a in w.aircraft if a.serial == serial).delivered
            else:
                start = next(p for p in w.parts if p.serial == serial).manufactured
            first = task.threshold if task.threshold else task.interval
            due: dict[str, object] = {}
            for unit, value in first.items():
                if unit in ("FH", "FC"):
                    due[unit] = float(value)
                elif unit == "DY":
                    due[unit] = start + dt.timedelta(days=int(value))
                else:
                    due[unit] = add_months(start, int(value))
            for c in done:
                actual = counters(c.done_at)
                actual.update(c.counters)
                actual_day = c.done_at.astimezone(dt.UTC).date()
                new: dict[str, object] = {}
                for unit, value in task.interval.items():
                    prev = due.get(unit)
                    if unit in ("FH", "FC"):
                        tol = task.tolerance.get(unit, 0)
                        a = actual[unit]
                        keep = (
                            task.schedule_from == "last_due"
                            and prev is not None
                            and prev - tol <= a <= prev + tol
                        )
                        new[unit] = (prev if keep else a) + value
                    else:
                        tol = task.tolerance.get("DY", 0)
                        keep = (
                            task.schedule_from == "last_due"
                            and prev is not None
                            and prev - dt.timedelta(days=tol)
                            <= actual_day
                            <= prev + dt.timedelta(days=tol)
                        )
                        base = prev if keep else actual_day
                        new[unit] = (
                            base + dt.timedelta(days=int(value))
                            if unit == "DY"
                            else add_months(base, int(value))
                        )
                due = new
            now = counters(as_of)
            on = serial if kind == "aircraft" else aircraft_of_part(w, serial, as_of)
            remaining: dict[str, float] = {}
            dates: dict[str, dt.date] = {}
            for unit in UNITS:
                if unit not in due:
                    continue
                if unit in ("FH", "FC"):
                    remaining[unit] = due[unit] - now[unit]
                    if on is not None:
                        r = rate(w, on, unit, as_of)
                        if r > 0:
                            dates[unit] = today + dt.timedelta(days=math.floor(remaining[unit] / r))
                else:
                    remaining[unit] = (due[unit] - today).days
                    dates[unit] = due[unit]
            due_date, driver = None, None
            for unit in UNITS:
                if unit in dates and (due_date is None or dates[unit] < due_date):
                    due_date, driver = dates[unit], unit
            tol = {} if task.kind == "life_limit" else task.tolerance
            overdue = past = False
            for unit, rem in remaining.items():
                if unit in ("FH", "FC"):
                    overdue |= rem < -tol.get(unit, 0)
                    past |= rem < 0
                else:
                    overdue |= today > due[unit] + dt.timedelta(days=tol.get("DY", 0))
                    past |= today > due[unit]
            if overdue:
                status = "overdue"
            elif past:
                status = "in_tolerance"
            elif due_date is not None and due_date <= today + dt.timedelta(days=horizon):
                status = "due_soon"
            else:
                status = "ok"
            items.append(
                {
                    "aircraft": on,
                    "part": serial if kind == "part" else None,
                    "task": task.code,
                    "due": {
                        u: (v.isoformat() if isinstance(v, dt.date) else v) for u, v in due.items()
                    },
                    "remaining": remaining,
                    "due_date": due_date.isoformat() if due_date else None,
                    "driver": driver,
                    "status": status,
                }
            )
    grounded: dict[str, list[str]] = {a.serial: [] for a in w.aircraft}
    for it in items:
        if it["status"] == "overdue" and it["aircraft"] is not None:
            grounded[it["aircraft"]].append(
                it["task"] + (f" {_pn(w, it['part'])}/{it['part']}" if it["part"] else "")
            )
    return {"items": items, "grounded": {k: sorted(set(v)) for k, v in grounded.items()}}


def _pn(w: World, serial: str) -> str:
    return next(p.pn for p in w.parts if p.serial == serial)
