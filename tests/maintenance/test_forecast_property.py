"""The vectorised core against the straightforward reference, on random small fleets
(hypothesis). No database: the core is Django-free."""

from __future__ import annotations

import datetime as dt

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kanat.engine import due
from kanat.engine.counters import Flights, Installations
from kanat.engine.timebase import OPEN_END, to_us
from tests.maintenance import reference_forecast as ref

T0 = dt.datetime(2024, 12, 1, tzinfo=dt.UTC)
EPOCH = dt.date(1970, 1, 1)


def at(hours: int) -> dt.datetime:
    return T0 + dt.timedelta(hours=hours)


units = st.sampled_from(["FH", "FC", "DY", "MO"])


@st.composite
def unit_values(draw, allowed=("FH", "FC", "DY", "MO"), lo=1, hi=60):
    chosen = draw(st.sets(st.sampled_from(allowed), max_size=len(allowed)))
    return {u: float(draw(st.integers(lo, hi))) for u in sorted(chosen)}


@st.composite
def worlds(draw):
    n_air = draw(st.integers(1, 3))
    aircraft = []
    for i in range(n_air):
        planned = {}
        if draw(st.booleans()):
            planned = {
                u: float(draw(st.integers(0, 12)))
                for u in draw(st.sets(st.sampled_from(["FH", "FC"])))
            }
        aircraft.append(
            ref.Aircraft(
                serial=f"A{i}",
                variant=draw(st.sampled_from(["V0", "V1"])),
                delivered=(T0 - dt.timedelta(days=draw(st.integers(-20, 200)))).date(),
                opening={"FH": float(draw(st.integers(0, 50))), "FC": draw(st.integers(0, 20))},
                planned=planned,
            )
        )
    flights = []
    for a in aircraft:
        t = draw(st.integers(0, 100))
        for _ in range(draw(st.integers(0, 8))):
            t += draw(st.integers(0, 200))
            d = draw(st.integers(1, 30))
            flights.append(ref.Flight(a.serial, at(t), at(t + d), draw(st.integers(0, 3))))
            t += d
    parts, installations = [], []
    for j in range(draw(st.integers(0, 3))):
        serial = f"S{j}"
        parts.append(
            ref.Part(
                draw(st.sampled_from(["P0", "P1"])),
                serial,
                (T0 - dt.timedelta(days=draw(st.integers(0, 400)))).date(),
                {"FH": float(draw(st.integers(0, 30))), "FC": draw(st.integers(0, 9))},
            )
        )
        t = draw(st.integers(0, 300))
        for _ in range(draw(st.integers(0, 3))):
            end = t + draw(st.integers(1, 600))
            is_open = draw(st.booleans())
            installations.append(
                ref.Installation(
                    serial,
                    draw(st.sampled_from([a.serial for a in aircraft])),
                    at(t),
                    None if is_open else at(end),
                )
            )
            if is_open:
                break
            t = end + draw(st.integers(0, 50))
    tasks = []
    for k in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["repeat", "repeat", "once", "life_limit"]))
        interval = draw(unit_values()) if kind == "repeat" else {}
        if kind == "repeat" and not interval:
            interval = {"FH": float(draw(st.integers(1, 60)))}
        threshold = draw(unit_values())
        if kind != "repeat" and not threshold:
            threshold = {"DY": float(draw(st.integers(1, 60)))}
        on_part = draw(st.booleans())
        tasks.append(
            ref.Task(
                code=f"T{k}",
                kind=kind,
                variants=None
                if on_part
                else sorted(draw(st.sets(st.sampled_from(["V0", "V1"]), min_size=1))),
                pn=draw(st.sampled_from(["P0", "P1"])) if on_part else None,
                threshold=threshold,
                interval=interval,
                tolerance=draw(unit_values(("FH", "FC", "DY"), 0, 15)),
                schedule_from=draw(st.sampled_from(["last_done", "last_due"])),
            )
        )
    compliances = []
    for _ in range(draw(st.integers(0, 6))):
        task = draw(st.sampled_from(tasks))
        on_part = task.pn is not None and parts and draw(st.booleans())
        stated = {}
        if draw(st.integers(0, 4)) == 0:
            stated = {
                u: float(draw(st.integers(0, 80)))
                for u in draw(st.sets(st.sampled_from(["FH", "FC"]), min_size=1))
            }
        compliances.append(
            ref.Compliance(
                task=task.code,
                done_at=at(draw(st.integers(0, 2000))),
                aircraft=None if on_part else draw(st.sampled_from([a.serial for a in aircraft])),
                part=draw(st.sampled_from([p.serial for p in parts])) if on_part else None,
                counters=stated,
            )
        )
    as_of = at(draw(st.integers(0, 2400)))
    return (
        ref.World(aircraft, parts, installations, flights, tasks, compliances),
        as_of,
        draw(st.integers(0, 60)),
    )


def _day(d: dt.date) -> int:
    return (d - EPOCH).days


def run_core(w: ref.World, as_of: dt.datetime, horizon: int) -> dict:
    a_idx = {a.serial: i for i, a in enumerate(w.aircraft)}
    p_idx = {p.serial: i for i, p in enumerate(w.parts)}
    variants = {"V0": 0, "V1": 1}
    pns = {"P0": 0, "P1": 1}
    i64 = lambda xs: np.array(xs, dtype=np.int64)  # noqa: E731
    fleet = due.Fleet(
        aircraft_opening_fh=np.array([a.opening["FH"] for a in w.aircraft]),
        aircraft_opening_fc=i64([a.opening["FC"] for a in w.aircraft]),
        aircraft_delivered=i64([_day(a.delivered) for a in w.aircraft]),
        aircraft_variant=i64([variants[a.variant] for a in w.aircraft]),
        aircraft_rate=np.array(
            [[a.planned.get(u, np.nan) for u in ("FH", "FC")] for a in w.aircraft]
        ),
        part_opening_fh=np.array([p.opening["FH"] for p in w.parts]),
        part_opening_fc=i64([p.opening["FC"] for p in w.parts]),
        part_manufactured=i64([_day(p.manufactured) for p in w.parts]),
        part_number=i64([pns[p.pn] for p in w.parts]),
        installations=Installations(
            i64([p_idx[x.part] for x in w.installations]),
            i64([a_idx[x.aircraft] for x in w.installations]),
            i64([to_us(x.installed_at) for x in w.installations]),
            i64(
                [OPEN_END if x.removed_at is None else to_us(x.removed_at) for x in w.installations]
            ),
        ),
        flights=Flights(
            i64([a_idx[f.aircraft] for f in w.flights]),
            i64([to_us(f.takeoff) for f in w.flights]),
            i64([to_us(f.landing) for f in w.flights]),
            i64([f.cycles for f in w.flights]),
        ),
    )
    t_idx = {t.code: k for k, t in enumerate(w.tasks)}
    per_unit = lambda d, us: [[t_.__dict__[d].get(u, np.nan) for u in us] for t_ in w.tasks]  # noqa: E731
    vt, vid = [], []
    for k, t in enumerate(w.tasks):
        for v in t.variants or []:
            vt.append(k)
            vid.append(variants[v])
    tasks = due.Tasks(
        kind=i64([due.KINDS.index(t.kind) for t in w.tasks]),
        schedule_from=i64([1 if t.schedule_from == "last_due" else 0 for t in w.tasks]),
        threshold=np.array(per_unit("threshold", due.UNITS), dtype=float).reshape(-1, 4),
        interval=np.array(per_unit("interval", due.UNITS), dtype=float).reshape(-1, 4),
        tolerance=np.array(per_unit("tolerance", ("FH", "FC", "DY")), dtype=float).reshape(-1, 3),
        part_number=i64([pns[t.pn] if t.pn else -1 for t in w.tasks]),
        variant_task=i64(vt),
        variant_id=i64(vid),
    )
    comps = due.Compliances(
        task=i64([t_idx[c.task] for c in w.compliances]),
        aircraft=i64([a_idx[c.aircraft] if c.aircraft else -1 for c in w.compliances]),
        part=i64([p_idx[c.part] if c.part else -1 for c in w.compliances]),
        done_at=i64([to_us(c.done_at) for c in w.compliances]),
        stated=np.array(
            [[c.counters.get(u, np.nan) for u in ("FH", "FC")] for c in w.compliances], dtype=float
        ).reshape(-1, 2),
    )
    r = due.forecast(fleet, tasks, comps, as_of=to_us(as_of), horizon=horizon)
    items = []
    for i in r.kept.tolist():
        dd = {}
        rem = {}
        for k, unit in enumerate(due.UNITS):
            if np.isnan(r.due[k, i]):
                continue
            value = r.due[k, i]
            dd[unit] = (
                (EPOCH + dt.timedelta(days=int(value))).isoformat() if k >= 2 else float(value)
            )
            rem[unit] = float(r.remaining[k, i])
        items.append(
            {
                "aircraft": w.aircraft[r.aircraft[i]].serial if r.aircraft[i] >= 0 else None,
                "part": w.parts[r.part[i]].serial if r.part[i] >= 0 else None,
                "task": w.tasks[r.task[i]].code,
                "due": dd,
                "remaining": rem,
                "due_date": (EPOCH + dt.timedelta(days=int(r.due_date[i]))).isoformat()
                if r.due_date[i] != due.NO_DAY
                else None,
                "driver": due.UNITS[r.driver[i]] if r.driver[i] >= 0 else None,
                "status": due.STATUSES[r.status[i]],
            }
        )
    grounded = {a.serial: [] for a in w.aircraft}
    for a, i in zip(r.ground_aircraft.tolist(), r.ground_item.tolist(), strict=True):
        p = r.part[i]
        grounded[w.aircraft[a].serial].append(
            w.tasks[r.task[i]].code + (f" {w.parts[p].pn}/{w.parts[p].serial}" if p >= 0 else "")
        )
    return {"items": items, "grounded": {k: sorted(set(v)) for k, v in grounded.items()}}


def _key(item: dict) -> tuple:
    return (item["task"], item["part"] or "", item["aircraft"] or "")


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(worlds())
def test_core_agrees_with_the_reference(case):
    check_against_reference(case)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(worlds(), st.integers(1, 4), st.integers(1, 5))
def test_core_agrees_when_items_are_worked_in_small_chunks(case, size, own):
    """The core works items a chunk at a time, a large task's items in chunks of their
    own (working only the units the task has); chunk edges must not show."""
    saved = due.CHUNK, due.OWN_CHUNK
    due.CHUNK, due.OWN_CHUNK = size, own
    try:
        check_against_reference(case)
    finally:
        due.CHUNK, due.OWN_CHUNK = saved


def check_against_reference(case) -> None:
    world, as_of, horizon = case
    expected = ref.forecast(world, as_of, horizon)
    got = run_core(world, as_of, horizon)
    exp_items = sorted(expected["items"], key=_key)
    got_items = sorted(got["items"], key=_key)
    assert [_key(i) for i in got_items] == [_key(i) for i in exp_items]
    for g, e in zip(got_items, exp_items, strict=True):
        assert g["due"].keys() == e["due"].keys(), (g, e)
        for unit in g["due"]:
            if unit in ("FH", "FC"):
                assert abs(g["due"][unit] - e["due"][unit]) < 1e-9, (unit, g, e)
                assert abs(g["remaining"][unit] - e["remaining"][unit]) < 1e-9, (unit, g, e)
            else:
                assert g["due"][unit] == e["due"][unit], (unit, g, e)
                assert g["remaining"][unit] == e["remaining"][unit], (unit, g, e)
        assert (g["due_date"], g["driver"], g["status"]) == (
            e["due_date"],
            e["driver"],
            e["status"],
        ), (g, e)
    assert got["grounded"] == expected["grounded"]


def test_raised_items_are_due_by_their_day_with_the_task_tolerance():
    """An item raised on an aircraft (e.g. by a hard landing) is due by its day alone."""
    from kanat.engine.timebase import US_PER_DAY

    fleet = due.Fleet(
        aircraft_opening_fh=np.zeros(2),
        aircraft_opening_fc=np.zeros(2, dtype=np.int64),
        aircraft_delivered=np.array([19095, 19095]),
        aircraft_variant=np.array([7, 7]),
        aircraft_rate=np.full((2, 2), np.nan),
        part_opening_fh=np.zeros(0),
        part_opening_fc=np.zeros(0, dtype=np.int64),
        part_manufactured=np.zeros(0, dtype=np.int64),
        part_number=np.zeros(0, dtype=np.int64),
        installations=Installations.empty(),
        flights=Flights.empty(),
    )
    tasks = due.Tasks(
        kind=np.array([due.REPEAT, due.ONCE]),
        schedule_from=np.zeros(2, dtype=np.int64),
        threshold=np.array([[np.nan] * 4, [np.nan, np.nan, 0.0, np.nan]]),
        interval=np.array([[np.nan, np.nan, 30.0, np.nan], [np.nan] * 4]),
        tolerance=np.array([[np.nan] * 3, [np.nan, np.nan, 2.0]]),
        part_number=np.array([-1, -1]),
        variant_task=np.array([0]),
        variant_id=np.array([7]),
    )
    comps = due.Compliances(
        *(np.zeros(0, dtype=np.int64) for _ in range(4)), stated=np.zeros((0, 2))
    )
    raised = due.Raised(task=np.array([1]), aircraft=np.array([1]), due_day=np.array([19100]))
    for day, status, grounded in (
        (19099, "due_soon", False),
        (19101, "in_tolerance", False),
        (19103, "overdue", True),
    ):
        r = due.forecast(fleet, tasks, comps, as_of=day * US_PER_DAY + 1, raised=raised)
        assert r.task.tolist() == [0, 0, 1] and r.aircraft.tolist() == [0, 1, 1]
        assert r.due[2, 2] == 19100 and np.isnan(r.due[[0, 1, 3], 2]).all()
        assert r.basis[2, 2] == due.FROM_RAISED
        assert due.STATUSES[r.status[2]] == status
        assert r.grounded.tolist() == [False, grounded]
        if grounded:
            assert r.ground_item.tolist() == [2]
