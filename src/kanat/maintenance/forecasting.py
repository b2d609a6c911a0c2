"""The forecast, Django side: bulk queries feed the core (``kanat.engine.forecast``);
this module only gathers its inputs and presents what it returns."""

from __future__ import annotations

import datetime as dt
import math
import threading
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.core.exceptions import EmptyResultSet
from django.db import connection, connections
from django.db.models import Exists, OuterRef, Q, QuerySet

from kanat.engine import counters as core_counters
from kanat.engine import due
from kanat.engine.timebase import to_us
from kanat.fleet.models import Aircraft, Flight, Installation, Part
from kanat.maintenance.loading import (
    fetch_columns,
    fetch_mixed_columns,
    id_filter,
)
from kanat.maintenance.models import Compliance, RaisedItem, TaskRevision

STATUS_LABELS = {
    "overdue": "overdue",
    "in_tolerance": "in tolerance",
    "due_soon": "due soon",
    "ok": "ok",
}


@dataclass
class DueRow:
    aircraft_pk: int | None
    aircraft_serial: str | None
    part_pk: int | None
    pn: str | None
    serial: str | None
    task_code: str
    title: str
    ata: str
    kind: str
    invented: bool
    due: dict[str, Any]
    remaining: dict[str, float]
    due_date: dt.date | None
    driver: str | None
    status: str
    explanation: list[str] | None = None

    @property
    def part_label(self) -> str:
        return f"{self.pn}/{self.serial}" if self.pn else ""

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]

    @property
    def due_display(self) -> list[tuple[str, str]]:
        return [(u, _fmt(u, v)) for u, v in self.due.items()]

    @property
    def remaining_display(self) -> list[tuple[str, str]]:
        return [(u, _fmt(u, v, remaining=True)) for u, v in self.remaining.items()]


def _fmt(unit: str, value: Any, *, remaining: bool = False) -> str:
    if isinstance(value, dt.date):
        return value.isoformat()
    if unit in ("DY", "MO") and remaining:
        return f"{value:g} d"
    if unit == "FH":
        return f"{value:.1f}"
    return f"{value:g}"


@dataclass
class AircraftStatus:
    aircraft: str
    pk: int
    status: str
    reasons: list[str] = field(default_factory=list)


@dataclass
class Forecast:
    as_of: dt.datetime
    horizon: int
    rows: list[DueRow]
    aircraft_status: list[AircraftStatus]
    aircraft_pk: dict[str, int] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)  # per status, every item
    total: int = 0  # rows matching the filters, before the limit
    atas: list[str] = field(default_factory=list)  # chapters of the tasks in force


@dataclass
class Gathered:
    """Everything the core needs, as arrays, plus the lookups to present its answer."""

    as_of_us: int
    aircraft_pk: np.ndarray
    aircraft_serial: list[str]
    aircraft_report: np.ndarray  # bool: in the requested set (others only carry part history)
    aircraft_operator: np.ndarray
    aircraft_variant: np.ndarray
    aircraft_opening_fh: np.ndarray
    aircraft_opening_fc: np.ndarray
    aircraft_delivered_day: np.ndarray  # days since epoch (UTC dates)
    aircraft_rate_fh: np.ndarray  # NaN: none planned
    aircraft_rate_fc: np.ndarray
    part_pk: np.ndarray
    part_pn: list[str]
    part_serial: list[str]
    part_report: np.ndarray
    part_number: np.ndarray  # part number id
    part_opening_fh: np.ndarray
    part_opening_fc: np.ndarray
    part_manufactured_day: np.ndarray
    installations: core_counters.Installations
    flights: core_counters.Flights
    revisions: list[TaskRevision]
    compliance_task: np.ndarray  # index into revisions
    compliance_aircraft: np.ndarray  # index into aircraft, -1
    compliance_part: np.ndarray  # index into parts, -1
    compliance_done_at: np.ndarray
    compliance_stated_fh: np.ndarray  # NaN: not stated
    compliance_stated_fc: np.ndarray
    compliance_pk: np.ndarray
    # open raised items (task index, aircraft index, due day)
    raised_task: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    raised_aircraft: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    raised_due_day: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))


EPOCH_DAY = dt.date(1970, 1, 1)


def _day(value: dt.date) -> int:
    return (value - EPOCH_DAY).days


def raw_rows(qs: QuerySet[Any, Any]) -> list[tuple[Any, ...]]:
    """The rows of a ``values_list`` query as the database driver returns them (no
    per-value conversion by Django: dates may come as ISO text on SQLite)."""
    try:
        sql, params = qs.query.sql_with_params()
    except EmptyResultSet:  # e.g. stores of no operator: an operator with no aircraft yet
        return []
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def days_since_epoch(values: list[Any]) -> np.ndarray:
    """Dates (``datetime.date`` or ISO text) as int64 days since 1970-01-01; each
    distinct date converted once (a fleet's dates repeat)."""
    if not values:
        return np.zeros(0, dtype=np.int64)
    distinct = list(dict.fromkeys(values))
    days = np.array(distinct, dtype="datetime64[D]").astype(np.int64).tolist()
    lookup = dict(zip(distinct, days, strict=True))
    return np.array([lookup[v] for v in values], dtype=np.int64)


def revisions_in_force(as_of: dt.datetime) -> list[TaskRevision]:
    """The revision of each task in force at ``as_of`` (the highest number started by then)."""
    latest: dict[int, TaskRevision] = {}
    for rev in (
        TaskRevision.objects.filter(effective_from__lte=as_of)
        .select_related("task", "part_number")
        .prefetch_related("variants")
        .order_by("task_id", "number")
    ):
        latest[rev.task_id] = rev
    return sorted(latest.values(), key=lambda r: r.task_id)  # index order = task id order


def _index_of(ids: list[int]) -> Any:
    """A function from database ids (an array) to positions in ``ids``; -1 for ids not
    in it (or -1 itself)."""
    table = np.full(max(ids, default=0) + 2, -1, dtype=np.int64)
    if ids:
        table[np.array(ids, dtype=np.int64)] = np.arange(len(ids))

    def index(values: np.ndarray) -> np.ndarray:
        values = np.asarray(values, dtype=np.int64)
        inside = (values >= 0) & (values < table.shape[0] - 1)
        return np.where(inside, table[np.where(inside, values, table.shape[0] - 1)], -1)

    return index


def _start(fn: Any, *args: Any) -> Any:
    """Start ``fn(*args)`` in a thread with its own database connection and return a
    function that waits for its value. Inside a transaction (tests) another connection
    would not see its rows, so it runs at once instead. The database does the work
    outside the GIL (SQLite's step, PostgreSQL's server), so reads overlap."""
    if connection.in_atomic_block:
        value = fn(*args)
        return lambda: value
    box: dict[str, Any] = {}

    def work() -> None:
        try:
            box["value"] = fn(*args)
        except BaseException as exc:  # handed to the waiting thread
            box["error"] = exc
        finally:
            connections.close_all()  # this thread's connections

    thread = threading.Thread(target=work, daemon=True)
    thread.start()

    def wait() -> Any:
        thread.join()
        if "error" in box:
            raise box["error"]
        return box["value"]

    return wait


_TARGETS = ("aircraft_id", "part_id")


def _start_compliance_reads(as_of: dt.datetime, *, with_ids: bool) -> list[Any]:
    """Start reading the compliance history as of ``as_of`` (both targets), each on a
    connection of its own; returns the functions that wait for them.

    Records are append-only, so reading up to one id gives every read the same snapshot.
    Each row leaves the database as one packed integer, task << 33 | stated << 32 |
    target, and its instant; the few rows that state counters are read again in the
    same order for their values. A corrected record is left out (its correction counts)."""
    table = Compliance._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT MAX(id) FROM {table}")
        max_id = cursor.fetchone()[0] or 0
    stated = "(stated_fh IS NOT NULL OR stated_fc IS NOT NULL)"
    if connection.vendor == "postgresql":
        packed = "(task_id::bigint << 33) | (({s})::int::bigint << 32) | {t}"
    else:
        packed = "(task_id << 33) | ({s} << 32) | {t}"
    waits = []
    for target in _TARGETS:
        # "+id" keeps SQLite on the corrects_id index (not a scan of every id below max_id)
        live = (
            f"{target} IS NOT NULL AND done_at <= %s AND id <= %s AND id NOT IN "
            f"(SELECT corrects_id FROM {table} WHERE corrects_id IS NOT NULL AND +id <= %s)"
        )
        # the order of the covering indexes (rows at one instant: by their stated counters,
        # then id); the stated rows are read in the same order from their partial index
        order = f"ORDER BY task_id, {target}, done_at, stated_fh, stated_fc, id"
        stated_order = "ORDER BY task_id, aircraft_id, part_id, done_at, stated_fh, stated_fc, id"
        params = [as_of, max_id, max_id]
        ints = [packed.format(s=stated, t=target)] + (["id"] if with_ids else [])
        waits.append(
            _start(fetch_columns, ints, ["done_at"], f"FROM {table} WHERE {live} {order}", params)
        )
        waits.append(
            _start(
                fetch_mixed_columns,
                f"SELECT stated_fh, stated_fc FROM {table} "
                f"WHERE {live} AND {stated} {stated_order}",
                params,
                2,
            )
        )
    return waits


def open_raised_items(
    as_of: dt.datetime, ac_ids: list[int], rev_index: dict[int, int], ac_index: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Items raised on these aircraft by ``as_of`` and not closed by then (no compliance of
    the task on the aircraft since it was raised, other than a corrected one)."""
    done = Compliance.objects.filter(
        task_id=OuterRef("task_id"),
        aircraft_id=OuterRef("aircraft_id"),
        done_at__gte=OuterRef("raised_at"),
        done_at__lte=as_of,
        corrected_by__isnull=True,
    )
    rows = list(
        RaisedItem.objects.filter(aircraft_id__in=ac_ids, raised_at__lte=as_of)
        .exclude(Exists(done))
        .order_by("id")
        .values_list("task_id", "aircraft_id", "due_by")
    )
    rows = [r for r in rows if r[0] in rev_index]
    if not rows:
        z = np.zeros(0, dtype=np.int64)
        return z, z, z
    return (
        np.array([rev_index[r[0]] for r in rows], dtype=np.int64),
        ac_index(np.array([r[1] for r in rows], dtype=np.int64)),
        np.array([_day(r[2]) for r in rows], dtype=np.int64),
    )


def _join_compliance_reads(blocks: list[Any]) -> tuple[np.ndarray, ...]:
    """Task ids, aircraft ids (-1), part ids (-1), instants, stated FH and FC (NaN) and
    record ids (empty when not read) of both targets' reads, aircraft first."""
    sizes = [blocks[2 * k][0].shape[0] for k in range(len(_TARGETS))]
    total = sum(sizes)
    with_ids = len(blocks[0]) == 3
    task = np.empty(total, dtype=np.int64)
    on = {t: np.full(total, -1, dtype=np.int64) for t in _TARGETS}
    done = np.empty(total, dtype=np.int64)
    st_fh = np.full(total, np.nan)
    st_fc = np.full(total, np.nan)
    pk = np.empty(total if with_ids else 0, dtype=np.int64)
    at = 0
    for k, target in enumerate(_TARGETS):
        cols, (fh, fc) = blocks[2 * k], blocks[2 * k + 1]
        key = cols[0]
        part = slice(at, at + sizes[k])
        flagged = np.flatnonzero((key >> 32) & 1)
        if flagged.shape[0] != fh.shape[0]:
            raise RuntimeError("compliance records changed while they were read")
        np.right_shift(key, 33, out=task[part])
        np.bitwise_and(key, 0xFFFFFFFF, out=on[target][part])
        done[part] = cols[-1]
        st_fh[at + flagged] = fh
        st_fc[at + flagged] = fc
        if with_ids:
            pk[part] = cols[1]
        at += sizes[k]
    return task, on["aircraft_id"], on["part_id"], done, st_fh, st_fc, pk


def gather(
    *,
    as_of: dt.datetime,
    aircraft: QuerySet[Aircraft] | None,
    parts_in_stores: bool,
    with_ids: bool = True,
) -> Gathered:
    """Bulk-load the inputs of a forecast as of ``as_of``.

    ``aircraft``: the aircraft to report (None: the whole fleet). Their parts are the
    ones installed on them at ``as_of``; ``parts_in_stores`` adds the parts installed
    nowhere (of the same owners). Aircraft a reported part was on before are loaded too,
    to count its flights there, but are not reported. ``with_ids``: also read each
    compliance record's id (for explanations; the bulk outputs do without).
    """
    as_of_us = to_us(as_of)
    # the big reads of compliance history start first, on connections of their own
    comp_waits = _start_compliance_reads(as_of, with_ids=with_ids)
    report_ids: set[int] | None = (
        None if aircraft is None else set(aircraft.values_list("pk", flat=True))
    )
    # parts: installed on reported aircraft at as_of (+ stores)
    at_q = Q(installed_at__lte=as_of) & (Q(removed_at__isnull=True) | Q(removed_at__gt=as_of))
    if report_ids is None:
        part_qs = Part.objects.all()
        if not parts_in_stores:
            part_qs = part_qs.filter(pk__in=Installation.objects.filter(at_q).values("part_id"))
    else:
        fitted = Installation.objects.filter(at_q, aircraft_id__in=report_ids).values("part_id")
        part_q = Q(pk__in=fitted)
        if parts_in_stores:
            owners = set(
                Aircraft.objects.filter(pk__in=report_ids).values_list("operator_id", flat=True)
            )
            part_q |= Q(operator_id__in=owners) & ~Q(
                pk__in=Installation.objects.filter(at_q).values("part_id")
            )
        part_qs = Part.objects.filter(part_q)
    part_rows = raw_rows(
        part_qs.order_by("pk").values_list(
            "pk",
            "part_number__pn",
            "serial",
            "part_number_id",
            "opening_fh",
            "opening_fc",
            "manufactured",
        )
    )
    part_ids = [r[0] for r in part_rows]
    # installations of those parts, and the aircraft they involve
    inst_where, inst_params = id_filter(
        "part_id", part_ids if report_ids is not None or not parts_in_stores else None
    )
    inst_table = Installation._meta.db_table
    inst_cols = fetch_columns(
        ["part_id", "aircraft_id"],
        ["installed_at", "removed_at"],
        f"FROM {inst_table} WHERE {inst_where}",
        inst_params,
    )
    keep = np.isin(inst_cols[0], np.array(part_ids, dtype=np.int64))
    inst_cols = [c[keep] for c in inst_cols]
    involved = set(inst_cols[1].tolist())
    ac_qs = Aircraft.objects.all()
    if report_ids is not None:
        ac_qs = ac_qs.filter(pk__in=report_ids | involved)
    ac_rows = list(
        ac_qs.order_by("pk").values_list(
            "pk",
            "serial",
            "operator_id",
            "variant_id",
            "opening_fh",
            "opening_fc",
            "delivered",
            "planned_fh_per_day",
            "planned_fc_per_day",
        )
    )
    ac_ids = [r[0] for r in ac_rows]
    flight_where, flight_params = id_filter(
        "aircraft_id", ac_ids if report_ids is not None else None
    )
    f_cols = fetch_columns(
        ["aircraft_id", "cycles"],
        ["takeoff", "landing"],
        f"FROM {Flight._meta.db_table} WHERE {flight_where} ORDER BY aircraft_id, landing",
        flight_params,
    )
    f_cols = [f_cols[0], f_cols[2], f_cols[3], f_cols[1]]
    ac_index = _index_of(ac_ids)
    part_index = _index_of(part_ids)
    flights = core_counters.Flights(
        aircraft=ac_index(f_cols[0]),
        takeoff=f_cols[1],
        landing=f_cols[2],
        cycles=f_cols[3],
    )
    installations = core_counters.Installations(
        part=part_index(inst_cols[0]),
        aircraft=ac_index(inst_cols[1]),
        installed_at=inst_cols[2],
        removed_at=inst_cols[3],
    )
    revisions = revisions_in_force(as_of)
    rev_index = {r.task_id: i for i, r in enumerate(revisions)}
    c_task_id, c_ac, c_part, c_done, stated_fh, stated_fc, c_pk = _join_compliance_reads(
        [wait() for wait in comp_waits]
    )
    task_map = np.full(int(c_task_id.max(initial=0)) + 1, -1, dtype=np.int64)
    for task_id, i in rev_index.items():
        if task_id < len(task_map):
            task_map[task_id] = i
    c_task = task_map[c_task_id] if len(c_task_id) else c_task_id
    c_ac_i = ac_index(c_ac)
    c_part_i = part_index(c_part)
    raised = open_raised_items(as_of, ac_ids, rev_index, ac_index)
    relevant: Any = (c_task >= 0) & ((c_ac_i >= 0) | (c_part_i >= 0))
    if bool(relevant.all()):
        relevant = slice(None)  # no copies
    return Gathered(
        as_of_us=as_of_us,
        aircraft_pk=np.array(ac_ids, dtype=np.int64),
        aircraft_serial=[r[1] for r in ac_rows],
        aircraft_report=np.array(
            [report_ids is None or r[0] in report_ids for r in ac_rows], dtype=bool
        ),
        aircraft_operator=np.array([r[2] for r in ac_rows], dtype=np.int64),
        aircraft_variant=np.array([r[3] for r in ac_rows], dtype=np.int64),
        aircraft_opening_fh=np.array([r[4] for r in ac_rows], dtype=np.float64),
        aircraft_opening_fc=np.array([r[5] for r in ac_rows], dtype=np.int64),
        aircraft_delivered_day=np.array([_day(r[6]) for r in ac_rows], dtype=np.int64),
        aircraft_rate_fh=np.array(
            [np.nan if r[7] is None else r[7] for r in ac_rows], dtype=np.float64
        ),
        aircraft_rate_fc=np.array(
            [np.nan if r[8] is None else r[8] for r in ac_rows], dtype=np.float64
        ),
        part_pk=np.array(part_ids, dtype=np.int64),
        part_pn=[r[1] for r in part_rows],
        part_serial=[r[2] for r in part_rows],
        part_report=np.ones(len(part_rows), dtype=bool),
        part_number=np.array([r[3] for r in part_rows], dtype=np.int64),
        part_opening_fh=np.array([r[4] for r in part_rows], dtype=np.float64),
        part_opening_fc=np.array([r[5] for r in part_rows], dtype=np.int64),
        part_manufactured_day=days_since_epoch([r[6] for r in part_rows]),
        installations=installations,
        flights=flights,
        revisions=revisions,
        compliance_task=c_task[relevant],
        compliance_aircraft=c_ac_i[relevant],
        compliance_part=c_part_i[relevant],
        compliance_done_at=c_done[relevant],
        compliance_stated_fh=stated_fh[relevant],
        compliance_stated_fc=stated_fc[relevant],
        compliance_pk=c_pk[relevant] if c_pk.size else c_pk,
        raised_task=raised[0],
        raised_aircraft=raised[1],
        raised_due_day=raised[2],
    )


def run_core(g: Gathered, *, horizon: int, parts_report: np.ndarray | None = None) -> due.Result:
    """Feed the gathered arrays to the core."""
    revs = g.revisions
    nt = len(revs)
    threshold = np.full((nt, 4), np.nan)
    interval = np.full((nt, 4), np.nan)
    tolerance = np.full((nt, 3), np.nan)
    vt, vid = [], []
    for t, rev in enumerate(revs):
        for k, unit in enumerate(due.UNITS):
            threshold[t, k] = _nan(getattr(rev, f"threshold_{unit.lower()}"))
            interval[t, k] = _nan(getattr(rev, f"interval_{unit.lower()}"))
            if k < 3:
                tolerance[t, k] = _nan(getattr(rev, f"tolerance_{unit.lower()}"))
        for v in rev.variants.all():
            vt.append(t)
            vid.append(v.pk)
    tasks = due.Tasks(
        kind=np.array([due.KINDS.index(r.kind) for r in revs], dtype=np.int64),
        schedule_from=np.array(
            [due.LAST_DUE if r.schedule_from == "last_due" else due.LAST_DONE for r in revs],
            dtype=np.int64,
        ),
        threshold=threshold,
        interval=interval,
        tolerance=tolerance,
        part_number=np.array(
            [r.part_number_id if r.part_number_id else -1 for r in revs], dtype=np.int64
        ),
        variant_task=np.array(vt, dtype=np.int64),
        variant_id=np.array(vid, dtype=np.int64),
    )
    fleet = due.Fleet(
        aircraft_opening_fh=g.aircraft_opening_fh,
        aircraft_opening_fc=g.aircraft_opening_fc,
        aircraft_delivered=g.aircraft_delivered_day,
        aircraft_variant=g.aircraft_variant,
        aircraft_rate=np.stack((g.aircraft_rate_fh, g.aircraft_rate_fc), axis=1)
        if len(g.aircraft_rate_fh)
        else np.zeros((0, 2)),
        part_opening_fh=g.part_opening_fh,
        part_opening_fc=g.part_opening_fc,
        part_manufactured=g.part_manufactured_day,
        part_number=g.part_number,
        installations=g.installations,
        flights=g.flights,
    )
    comps = due.Compliances(
        task=g.compliance_task,
        aircraft=g.compliance_aircraft,
        part=g.compliance_part,
        done_at=g.compliance_done_at,
        stated=np.stack((g.compliance_stated_fh, g.compliance_stated_fc), axis=1)
        if len(g.compliance_task)
        else np.zeros((0, 2)),
    )
    return due.forecast(
        fleet,
        tasks,
        comps,
        as_of=g.as_of_us,
        horizon=horizon,
        report_aircraft=g.aircraft_report,
        report_parts=g.part_report,
        raised=due.Raised(g.raised_task, g.raised_aircraft, g.raised_due_day),
    )


def _nan(value: float | None) -> float:
    return np.nan if value is None else float(value)


def forecast(
    *,
    user: Any = None,
    as_of: dt.datetime,
    horizon: int = 30,
    aircraft: QuerySet[Aircraft] | None = None,
    stores: bool | None = None,
    explain: bool = False,
    statuses: set[str] | None = None,
    ata: str | None = None,
    limit: int | None = None,
    defects: bool = True,
) -> Forecast:
    """The forecast as of ``as_of`` for ``aircraft`` (default: every aircraft the user
    may see) with the parts fitted to them, and, unless ``stores`` is False, the parts
    in stores of the same owners (all of them for the whole fleet).

    ``statuses``, ``ata`` (a chapter, or a chapter-section prefix) and ``limit`` choose
    the rows presented (on the arrays, before any row object is made); counts per status
    and airworthiness always cover everything. ``defects``: airworthiness counts the
    grounding defects too (False: bundle.md's v1 output, tasks only)."""
    if aircraft is None and user is not None and getattr(user, "operator_id", None):
        aircraft = Aircraft.objects.restrict(user)
    if stores is None:
        stores = True
    g = gather(as_of=as_of, aircraft=aircraft, parts_in_stores=stores)
    r = run_core(g, horizon=horizon)
    result = present(
        g, r, horizon=horizon, explain=explain, statuses=statuses, ata=ata, limit=limit
    )
    if defects:
        with_defects(result.aircraft_status, as_of)
    return result


def with_defects(statuses: list[AircraftStatus], as_of: dt.datetime) -> None:
    """Airworthiness with the defects that ground an aircraft (open and not deferred, or
    past their deferral's deadline) and its work not yet released to service (a package
    in work or completed) added to the task reasons. The pages and the API's
    aircraft views show this; ``kanat forecast`` and ``/api/forecast/`` keep bundle.md's
    v1 output, which leaves defects out (forecast.md, Airworthiness)."""
    from kanat.work.selectors import grounding

    defects = grounding([s.pk for s in statuses], as_of)
    for s in statuses:
        if s.pk in defects:
            s.status = "grounded"
            s.reasons = s.reasons + defects[s.pk]


def present(
    g: Gathered,
    r: due.Result,
    *,
    horizon: int,
    explain: bool,
    statuses: set[str] | None = None,
    ata: str | None = None,
    limit: int | None = None,
) -> Forecast:
    revs = g.revisions
    order = sorted_items(g, r)
    counts = np.bincount(r.status[r.kept], minlength=len(due.STATUSES))
    if statuses is not None:
        wanted = np.array([due.STATUSES.index(s) for s in statuses], dtype=np.int64)
        order = order[np.isin(r.status[order], wanted)]
    if ata:
        match = np.array(
            [rev.ata == ata or rev.ata.startswith(ata + "-") for rev in revs] or [False]
        )
        order = order[match[r.task[order]]]
    total = int(order.shape[0])
    if limit is not None:
        order = order[:limit]
    rows: list[DueRow] = []
    for i in order.tolist():
        t = revs[int(r.task[i])]
        a = int(r.aircraft[i])
        p = int(r.part[i])
        units_present = ~np.isnan(r.due[:, i])
        due_map: dict[str, Any] = {}
        rem_map: dict[str, float] = {}
        for k, unit in enumerate(due.UNITS):
            if not units_present[k]:
                continue
            value = r.due[k, i]
            due_map[unit] = _date(int(value)) if k >= 2 else _number(value)
            rem_map[unit] = _number(r.remaining[k, i])
        rows.append(
            DueRow(
                aircraft_pk=int(g.aircraft_pk[a]) if a >= 0 else None,
                aircraft_serial=g.aircraft_serial[a] if a >= 0 else None,
                part_pk=int(g.part_pk[p]) if p >= 0 else None,
                pn=g.part_pn[p] if p >= 0 else None,
                serial=g.part_serial[p] if p >= 0 else None,
                task_code=t.task.code,
                title=t.title,
                ata=t.ata,
                kind=t.kind,
                invented=t.invented,
                due=due_map,
                remaining=rem_map,
                due_date=_date(int(r.due_date[i])) if r.due_date[i] != due.NO_DAY else None,
                driver=due.UNITS[int(r.driver[i])] if r.driver[i] >= 0 else None,
                status=due.STATUSES[int(r.status[i])],
                explanation=explain_item(g, r, i) if explain else None,
            )
        )
    aircraft_list = aircraft_statuses(g, r)
    return Forecast(
        as_of=from_us_dt(g.as_of_us),
        horizon=horizon,
        rows=rows,
        aircraft_status=aircraft_list,
        aircraft_pk={s.aircraft: s.pk for s in aircraft_list},
        counts={name: int(counts[k]) for k, name in enumerate(due.STATUSES)},
        total=total,
        atas=sorted({rev.ata for rev in revs}),
    )


def aircraft_statuses(g: Gathered, r: due.Result) -> list[AircraftStatus]:
    """Every reported aircraft, sorted by serial: grounded with its reasons (task code, and
    for a part's task ``PN/SERIAL``), or serviceable."""
    codes = [rev.task.code for rev in g.revisions]
    reasons: dict[int, list[str]] = {}
    # reasons come out in string order when sorted by (code, part label): true whenever no
    # code holds a character at or below the space that separates it from the label
    ordered = all(min(c, default="!") > " " for c in codes)
    if r.ground_item.size:
        # one reason per distinct (aircraft, task, part), via one int64 key
        n_tasks, n_parts = max(len(codes), 1), len(g.part_pn) + 1
        suffixes = [""] + [
            f" {pn}/{serial}" for pn, serial in zip(g.part_pn, g.part_serial, strict=True)
        ]
        task_rank = _rank(codes) if ordered else np.arange(n_tasks)
        part_rank = _rank(suffixes) if ordered else np.arange(n_parts)
        task_of = np.argsort(task_rank)  # rank -> task
        part_of = np.argsort(part_rank)  # rank -> part + 1
        key = (r.ground_aircraft * n_tasks + task_rank[r.task[r.ground_item]]) * n_parts + (
            part_rank[r.part[r.ground_item] + 1]
        )
        key = np.sort(key)  # np.unique is several times slower here
        key = key[np.concatenate(([True], key[1:] != key[:-1]))]
        part = part_of[key % n_parts]  # part + 1
        task = task_of[(key // n_parts) % n_tasks]
        aircraft = key // n_parts // n_tasks
        code_of = np.empty(n_tasks, dtype=object)
        code_of[: len(codes)] = codes
        suffix_of = np.empty(n_parts, dtype=object)  # index part + 1; 0: an aircraft task
        suffix_of[:] = suffixes
        text = list(map(str.__add__, code_of[task].tolist(), suffix_of[part].tolist()))
        bounds = np.flatnonzero(np.diff(aircraft)) + 1
        starts = np.concatenate(([0], bounds)).tolist()
        ends = np.concatenate((bounds, [key.shape[0]])).tolist()
        for a, lo, hi in zip(aircraft[starts].tolist(), starts, ends, strict=True):
            reasons[a] = text[lo:hi] if ordered else sorted(text[lo:hi])
    statuses = [
        AircraftStatus(
            aircraft=g.aircraft_serial[a],
            pk=int(g.aircraft_pk[a]),
            status="grounded" if r.grounded[a] else "serviceable",
            reasons=reasons.get(a, []),
        )
        for a in np.nonzero(g.aircraft_report)[0].tolist()
    ]
    statuses.sort(key=lambda s: s.aircraft)
    return statuses


def sorted_items(g: Gathered, r: due.Result) -> np.ndarray:
    """bundle.md order: due_date (nulls last), aircraft (nulls last), task code, then part
    number and serial (nulls first)."""
    kept = r.kept
    if kept.shape[0] == 0:
        return np.zeros(0, dtype=np.int64)
    big = np.iinfo(np.int64).max
    dd = r.due_date[kept]
    date_key = np.where(dd == due.NO_DAY, big, dd)
    ac_rank = _rank(g.aircraft_serial)
    air = r.aircraft[kept]
    air_key = np.where(air >= 0, ac_rank[np.maximum(air, 0)], big)
    task_rank = _rank([rev.task.code for rev in g.revisions])
    task_key = task_rank[r.task[kept]]
    labels = [f"{pn}\x00{serial}" for pn, serial in zip(g.part_pn, g.part_serial, strict=True)]
    part_rank = _rank(labels)
    part = r.part[kept]
    part_key = np.where(part >= 0, part_rank[np.maximum(part, 0)] if len(labels) else 0, -1)
    # one int64 key when the four ranges fit (a fleet's dates span a few thousand days)
    has = dd != due.NO_DAY
    d_lo = int(dd[has].min()) if bool(has.any()) else 0
    d_span = (int(dd[has].max()) - d_lo + 2) if bool(has.any()) else 1
    spans = (d_span, len(g.aircraft_serial) + 1, len(g.revisions) + 1, len(labels) + 1)
    if math.prod(spans) < 2**62:
        key = np.where(has, dd - d_lo, d_span - 1)
        key *= spans[1]
        key += np.where(air >= 0, air_key, spans[1] - 1)
        key *= spans[2]
        key += task_key
        key *= spans[3]
        key += part_key + 1
        return kept[np.argsort(key)]  # keys are distinct: any sort gives the same order
    return kept[np.lexsort((part_key, task_key, air_key, date_key))]


def _rank(values: list[str]) -> np.ndarray:
    if not values:
        return np.zeros(1, dtype=np.int64)
    order = sorted(range(len(values)), key=values.__getitem__)
    rank = np.empty(len(values), dtype=np.int64)
    rank[np.array(order, dtype=np.int64)] = np.arange(len(values))
    return rank


def from_us_dt(value: int) -> dt.datetime:
    return dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=int(value))


def _date(day: int) -> dt.date:
    return EPOCH_DAY + dt.timedelta(days=day)


def _number(value: float) -> float | int:
    return int(value) if float(value).is_integer() else float(value)


def as_json(result: Forecast) -> dict[str, Any]:
    """The forecast as bundle.md describes the output of `kanat forecast --format json`."""
    return {
        "as_of": result.as_of.isoformat().replace("+00:00", "Z"),
        "items": [
            {
                "aircraft": row.aircraft_serial,
                "part": {"pn": row.pn, "serial": row.serial} if row.pn else None,
                "task": row.task_code,
                "due": {
                    u: v.isoformat() if isinstance(v, dt.date) else v for u, v in row.due.items()
                },
                "remaining": row.remaining,
                "due_date": row.due_date.isoformat() if row.due_date else None,
                "driver": row.driver,
                "status": row.status,
            }
            for row in result.rows
        ],
        "aircraft_status": [
            {"aircraft": s.aircraft, "status": s.status, "reasons": s.reasons}
            for s in result.aircraft_status
        ],
    }


def explain_item(g: Gathered, r: due.Result, i: int) -> list[str]:
    """Plain sentences: which rule, which compliance, which counters and flights."""
    rev = g.revisions[int(r.task[i])]
    lines = [
        f"Rule: {rev.task.code} revision {rev.number} ({rev.get_kind_display()}"
        + (", schedule from the last due" if rev.schedule_from == "last_due" else "")
        + f"): threshold {_units_text(rev.units('threshold'))}, interval "
        f"{_units_text(rev.units('interval'))}, tolerance {_units_text(rev.units('tolerance'))}"
        + (" (a life limit has no tolerance)" if rev.kind == "life_limit" else "")
        + (" — invented demo interval" if rev.invented else "")
        + "."
    ]
    c = int(r.last_compliance[i])
    if c >= 0:
        done = from_us_dt(int(g.compliance_done_at[c]))
        stated = [
            f"{u} {v:g} stated"
            for u, v in (("FH", g.compliance_stated_fh[c]), ("FC", g.compliance_stated_fc[c]))
            if not np.isnan(v)
        ]
        lines.append(
            f"Last compliance: record #{int(g.compliance_pk[c])} done {done:%Y-%m-%d %H:%M}Z"
            + (f" ({', '.join(stated)}; other units from the flights)" if stated else "")
            + "."
        )
    elif rev.kind == "life_limit":
        lines.append("Life limits are counted from new; compliance records do not reset them.")
    else:
        lines.append("Never done: counted from new (zero counters / the start date).")
    for k, unit in enumerate(due.UNITS):
        if np.isnan(r.due[k, i]):
            continue
        basis = due.BASES[int(r.basis[k, i])] if r.basis[k, i] >= 0 else "threshold"
        if k < 2:
            lines.append(
                f"{unit}: due at {r.due[k, i]:.2f} ({basis}); now {r.current(i)[k]:.2f}, "
                f"remaining {r.remaining[k, i]:.2f}" + _projection(r, i, k)
            )
        else:
            lines.append(
                f"{unit}: due {_date(int(r.due[k, i])).isoformat()} ({basis}); "
                f"{r.remaining[k, i]:g} days from {_date(r.today).isoformat()}."
            )
    a = int(r.aircraft[i])
    if a >= 0:
        lines.append(
            f"Counters: flights of {g.aircraft_serial[a]} landed by "
            f"{from_us_dt(g.as_of_us):%Y-%m-%d %H:%M}Z"
            + (", across every aircraft the part was fitted to" if r.part[i] >= 0 else "")
            + "."
        )
    elif r.part[i] >= 0:
        lines.append("The part is in stores: no projection from usage.")
    if r.driver[i] >= 0:
        lines.append(
            f"Due date {_date(int(r.due_date[i])).isoformat()} comes from "
            f"{due.UNITS[int(r.driver[i])]} (the earliest of the units)."
        )
    return lines


def _projection(r: due.Result, i: int, k: int) -> str:
    rates, planned = r.rate(i)
    rate = rates[k]
    if np.isnan(rate) or rate <= 0:
        return "; no utilisation to project a date from."
    source = "planned" if planned[k] else "average of the last 90 days"
    day = r.projected[k, i]
    return (
        f"; at {rate:.3f}/day ({source}) that is "
        f"{_date(int(day)).isoformat() if day != due.NO_DAY else '—'}."
    )


def _units_text(values: dict[str, float]) -> str:
    return ", ".join(f"{u} {v:g}" for u, v in values.items()) or "none"
