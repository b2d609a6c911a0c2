"""Database side of bench/forecast.py: populate, run `kanat forecast`, per-item reference."""

from __future__ import annotations

import calendar
import datetime as dt
import math
import os
import resource
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
KANAT = ROOT / ".venv" / "bin" / "kanat"
PG_ADMIN = "postgres://postgres@127.0.0.1:5432/postgres"
PG_BENCH = "postgres://postgres@127.0.0.1:5432/kanat_bench"
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def _texts(us: np.ndarray, vendor: str) -> list[str]:
    """Instants as the text each backend stores (UTC)."""
    text = np.datetime_as_string(us.astype("datetime64[us]"), unit="us")
    out = np.strings.replace(text.astype(np.dtypes.StringDType()), "T", " ")
    if vendor == "postgresql":
        out = np.strings.add(out, "+00")
    return out.tolist()


def _opt(values: np.ndarray) -> list[Any]:
    return [None if (isinstance(v, float) and math.isnan(v)) else v for v in values.tolist()]


def populate(fleet: Any, url: str) -> None:
    env = dict(os.environ, DATABASE_URL=url)
    subprocess.run([str(KANAT), "migrate", "-v", "0"], check=True, env=env)
    from django.db import connections

    conn = connections["default"]
    from kanat.core.models import Hub, Operator
    from kanat.fleet.models import Aircraft, AircraftType, PartNumber, Position, Variant
    from kanat.maintenance.models import Task, TaskRevision

    vendor = conn.vendor
    Hub.objects.create(pk=1, code="BENCH", name="bench hub")
    ops = Operator.objects.bulk_create(
        [Operator(pk=k + 1, code=f"OP{k}", name=f"Op {k}") for k in range(3)]
    )
    atype = AircraftType.objects.create(code="T", name="type")
    variants = Variant.objects.bulk_create(
        [Variant(pk=k + 1, aircraft_type=atype, code=f"V{k}") for k in range(4)]
    )
    PartNumber.objects.bulk_create(
        [
            PartNumber(pk=k + 1, pn=f"PN{k}", description="part", tracking="serial")
            for k in range(20)
        ]
    )
    positions = []
    for v in variants:
        for k in range(20):
            positions.append(Position(pk=v.pk * 100 + k, variant=v, code=f"P{k}", ata="72"))
    Position.objects.bulk_create(positions)
    Position.part_numbers.through.objects.bulk_create(
        [
            Position.part_numbers.through(position_id=p.pk, partnumber_id=p.pk % 100 + 1)
            for p in positions
        ]
    )
    n = fleet.n_air
    Aircraft.objects.bulk_create(
        [
            Aircraft(
                pk=i + 1,
                serial=f"AC{i:05d}",
                variant_id=int(fleet.variant[i]) + 1,
                operator_id=ops[i % 3].pk,
                delivered=(EPOCH + dt.timedelta(days=int(fleet.delivered[i]))).date(),
                opening_fh=float(fleet.opening_fh[i]),
                opening_fc=int(fleet.opening_fc[i]),
                planned_fh_per_day=8.0 if fleet.planned[i] else None,
            )
            for i in range(n)
        ],
        batch_size=5000,
    )
    now = dt.datetime.now(dt.UTC)
    tasks = Task.objects.bulk_create(
        [Task(pk=t + 1, code=f"{t:03d}-00") for t in range(fleet.n_tasks)]
    )
    kinds = ("repeat", "once", "life_limit")
    revs = []
    for t in range(fleet.n_tasks):
        rev = TaskRevision(
            pk=t + 1,
            task=tasks[t],
            number=1,
            effective_from=dt.datetime(1, 1, 1, tzinfo=dt.UTC),
            title="bench task",
            ata="05",
            kind=kinds[fleet.t_kind[t]],
            part_number_id=int(fleet.t_pn[t]) + 1 if fleet.t_pn[t] >= 0 else None,
            schedule_from="last_due" if fleet.t_sched[t] else "last_done",
            created_at=now,
        )
        for k, unit in enumerate(("fh", "fc", "dy", "mo")):
            th, iv = fleet.t_threshold[t, k], fleet.t_interval[t, k]
            setattr(rev, f"threshold_{unit}", None if np.isnan(th) else float(th))
            setattr(rev, f"interval_{unit}", None if np.isnan(iv) else float(iv))
        for k, unit in enumerate(("fh", "fc", "dy")):
            tol = fleet.t_tolerance[t, k]
            setattr(rev, f"tolerance_{unit}", None if np.isnan(tol) else float(tol))
        revs.append(rev)
    TaskRevision.objects.bulk_create(revs)
    TaskRevision.variants.through.objects.bulk_create(
        [
            TaskRevision.variants.through(taskrevision_id=t + 1, variant_id=v.pk)
            for t in range(100)
            for v in variants
        ]
    )
    day = lambda d: (EPOCH + dt.timedelta(days=int(d))).date().isoformat()  # noqa: E731
    parts = [
        (
            j + 1,
            int(fleet.p_pn[j]) + 1,
            f"SN{j:07d}",
            day(fleet.p_manufactured[j]),
            float(fleet.p_opening_fh[j]),
            int(fleet.p_opening_fc[j]),
            int(fleet.p_air[j] % 3) + 1,
        )
        for j in range(fleet.n_parts)
    ]
    inst_to = np.where(fleet.i_to == np.iinfo(np.int64).max, 0, fleet.i_to)
    from_t, to_t = _texts(fleet.i_from, vendor), _texts(inst_to, vendor)
    installs = [
        (
            k + 1,
            int(fleet.i_part[k]) + 1,
            int(fleet.i_air[k]) + 1,
            (int(fleet.variant[fleet.i_air[k]]) + 1) * 100 + int(fleet.p_pn[fleet.i_part[k]]),
            from_t[k],
            None if fleet.i_to[k] == np.iinfo(np.int64).max else to_t[k],
            "" if fleet.i_to[k] == np.iinfo(np.int64).max else "record",
            "",
        )
        for k in range(fleet.i_part.size)
    ]
    f_to, f_land = _texts(fleet.f_takeoff, vendor), _texts(fleet.f_landing, vendor)
    flights = list(
        zip(
            range(1, fleet.f_air.size + 1),
            (fleet.f_air + 1).tolist(),
            f_to,
            f_land,
            fleet.f_cycles.tolist(),
            ["bundle"] * fleet.f_air.size,
            [""] * fleet.f_air.size,
            strict=True,
        )
    )
    done_t = _texts(fleet.c_done, vendor)
    recorded = _texts(np.full(1, fleet.c_done.max()), vendor)[0]
    owner = (
        np.where(fleet.c_air >= 0, fleet.c_air % 3, fleet.p_air[np.maximum(fleet.c_part, 0)] % 3)
        + 1
    )
    comps = list(
        zip(
            range(1, fleet.c_task.size + 1),
            (fleet.c_task + 1).tolist(),
            [a + 1 if a >= 0 else None for a in fleet.c_air.tolist()],
            [p + 1 if p >= 0 else None for p in fleet.c_part.tolist()],
            owner.tolist(),
            done_t,
            _opt(fleet.c_stated_fh),
            [None] * fleet.c_task.size,
            ["bench"] * fleet.c_task.size,
            [""] * fleet.c_task.size,
            [""] * fleet.c_task.size,
            [recorded] * fleet.c_task.size,
            strict=True,
        )
    )
    tables = [
        (
            "fleet_part",
            "id, part_number_id, serial, manufactured, opening_fh, opening_fc, operator_id",
            parts,
        ),
        (
            "fleet_installation",
            "id, part_id, aircraft_id, position_id, installed_at, removed_at, removal_reason, "
            "reference",
            installs,
        ),
        ("fleet_flight", "id, aircraft_id, takeoff, landing, cycles, source, source_ref", flights),
        (
            "maintenance_compliance",
            "id, task_id, aircraft_id, part_id, operator_id, done_at, stated_fh, stated_fc, "
            "performed_by_label, reference, correction_reason, recorded_at",
            comps,
        ),
    ]
    from django.db import transaction

    with transaction.atomic(), conn.cursor() as cur:
        for table, cols, rows in tables:
            if vendor == "postgresql":
                with cur.cursor.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            else:
                marks = ", ".join("?" for _ in cols.split(","))
                cur.cursor.executemany(f"INSERT INTO {table} ({cols}) VALUES ({marks})", rows)
        if vendor == "postgresql":
            for table in (
                "fleet_part",
                "fleet_installation",
                "fleet_flight",
                "maintenance_compliance",
            ):
                cur.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT max(id) FROM {table}))"
                )
            cur.execute("ANALYZE")
    connections.close_all()
    # leave the database as a live one is between bulk loads: vacuumed (as autovacuum would),
    # written out (a checkpoint, so the timed runs do not share the disk with the load's
    # flush), the SQLite write-ahead log folded into the file
    if url.startswith(("postgres://", "postgresql://")):
        import psycopg

        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("VACUUM (ANALYZE)")
            conn.execute("CHECKPOINT")
    else:
        import sqlite3

        with sqlite3.connect(url.removeprefix("sqlite:///")) as db:
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def _parse(url: str) -> dict[str, Any]:
    import dj_database_url

    return dj_database_url.parse(url)


def run_forecast(url: str, as_of: dt.datetime, fmt: str = "json") -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of `kanat forecast` as a process of its own."""
    env = dict(os.environ, DATABASE_URL=url)
    command = [
        str(KANAT),
        "forecast",
        "--as-of",
        as_of.isoformat().replace("+00:00", "Z"),
        "--format",
        fmt,
    ]
    gnu_time = Path("/usr/bin/time")
    with tempfile.NamedTemporaryFile("r") as report, open(os.devnull, "w") as sink:
        if gnu_time.exists():
            command = [str(gnu_time), "-o", report.name, "-f", "%M", *command]
        t = time.perf_counter()
        subprocess.run(command, check=True, env=env, stdout=sink)
        wall = time.perf_counter() - t
        text = report.read().strip()
    if text:
        return wall, int(text.splitlines()[-1]) / 1024
    return wall, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def _in_process(action: str, url: str, args: Any) -> str:
    """Run one step in a fresh process configured for that database."""
    env = dict(os.environ, DATABASE_URL=url, DJANGO_SETTINGS_MODULE="kanat.settings")
    done = subprocess.run(
        [
            str(ROOT / ".venv" / "bin" / "python"),
            str(Path(__file__)),
            action,
            url,
            str(args.aircraft),
            str(args.sample),
        ],
        check=True,
        env=env,
        capture_output=True,
        text=True,
    )
    return done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""


def run_all(fleet: Any, args: Any, as_of: dt.datetime) -> dict[str, Any]:
    lines: list[str] = []
    out: dict[str, Any] = {"lines": lines}
    tmp = Path(tempfile.mkdtemp(prefix="kanat-bench-"))
    sqlite_url = f"sqlite:///{tmp / 'bench.sqlite3'}"
    backends = [("SQLite", sqlite_url)]
    if not args.skip_postgres:
        import psycopg

        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute("DROP DATABASE IF EXISTS kanat_bench")
            admin.execute("CREATE DATABASE kanat_bench")
        backends.append(("PostgreSQL", PG_BENCH))
    for name, url in backends:
        t = time.perf_counter()
        _in_process("populate", url, args)
        lines.append(f"    {name} populated in {time.perf_counter() - t:.0f} s (not timed)")
        for fmt in ("json", "table"):
            wall, rss = run_forecast(url, as_of, fmt)
            lines.append(
                f"(b) kanat forecast --format {fmt}, {name}: {wall:.1f} s end to end, "
                f"peak RSS {rss:,.0f} MB"
            )
    figures = _in_process("reference", sqlite_url, args).split()
    per_item, agree, total = float(figures[0]), int(figures[1]), int(figures[2])
    out["reference_per_item"] = per_item
    lines.append(
        f"(c) per-item reference (ORM, item by item) on {args.sample} aircraft: "
        f"{per_item * 1e3:.2f} ms per item; statuses agreeing with the core: {agree}/{total}"
    )
    if not args.skip_postgres:
        import psycopg

        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute("DROP DATABASE IF EXISTS kanat_bench")
    return out


# --- (c) the straightforward reference ---------------------------------------------------


def _add_months(day: dt.date, n: int) -> dt.date:
    total = day.year * 12 + day.month - 1 + n
    y, m = divmod(total, 12)
    return dt.date(y, m + 1, min(day.day, calendar.monthrange(y, m + 1)[1]))


def reference(sample: int, as_of: dt.datetime) -> tuple[float, int, int, str]:
    from kanat.fleet.models import Aircraft, Flight, Installation
    from kanat.maintenance import forecasting
    from kanat.maintenance.models import Compliance, TaskRevision

    aircraft = list(Aircraft.objects.order_by("pk")[:sample])
    revisions = list(TaskRevision.objects.prefetch_related("variants").select_related("task"))
    today = as_of.date()

    def flights_of(ac_id: int) -> list[tuple[dt.datetime, dt.datetime, int]]:
        return list(
            Flight.objects.filter(aircraft_id=ac_id).values_list("takeoff", "landing", "cycles")
        )

    def ac_counters(ac: Aircraft, at: dt.datetime) -> dict[str, float]:
        fh, fc = ac.opening_fh, ac.opening_fc
        for t0, t1, c in flights_of(ac.pk):
            if t1 <= at:
                fh += (t1 - t0).total_seconds() / 3600
                fc += c
        return {"FH": fh, "FC": fc}

    def part_counters(part: Any, at: dt.datetime) -> dict[str, float]:
        fh, fc = part.opening_fh, part.opening_fc
        for inst in Installation.objects.filter(part=part):
            for t0, t1, c in flights_of(inst.aircraft_id):
                if inst.installed_at <= t1 <= at and (
                    inst.removed_at is None or t1 < inst.removed_at
                ):
                    fh += (t1 - t0).total_seconds() / 3600
                    fc += c
        return {"FH": fh, "FC": fc}

    def rate(ac: Aircraft, unit: str) -> float:
        if unit == "FH" and ac.planned_fh_per_day is not None:
            return ac.planned_fh_per_day
        if unit == "FC" and ac.planned_fc_per_day is not None:
            return ac.planned_fc_per_day
        w = max(
            as_of - dt.timedelta(days=90),
            dt.datetime.combine(ac.delivered, dt.time(0), tzinfo=dt.UTC),
        )
        total = 0.0
        for t0, t1, c in flights_of(ac.pk):
            if w < t1 <= as_of:
                total += (t1 - t0).total_seconds() / 3600 if unit == "FH" else c
        return total / max((as_of - w).total_seconds() / 86400, 1)

    results: dict[tuple[str, str, str], str] = {}
    n_items = 0
    t_start = time.perf_counter()
    for ac in aircraft:
        items: list[tuple[Any, Any]] = [
            (rev, None)
            for rev in revisions
            if rev.part_number_id is None and ac.variant_id in {v.pk for v in rev.variants.all()}
        ]
        fitted = (
            Installation.objects.filter(aircraft=ac, installed_at__lte=as_of)
            .exclude(removed_at__lte=as_of)
            .select_related("part__part_number")
        )
        for inst in fitted:
            items += [
                (rev, inst.part)
                for rev in revisions
                if rev.part_number_id == inst.part.part_number_id
            ]
        for rev, part in items:
            n_items += 1
            comps = list(
                Compliance.objects.filter(
                    task_id=rev.task_id,
                    done_at__lte=as_of,
                    **({"part": part} if part else {"aircraft": ac}),
                ).order_by("done_at", "pk")
            )
            if rev.kind == "once" and comps:
                continue
            if rev.kind == "life_limit":
                comps = []
            counters = (
                (lambda at, p=part: part_counters(p, at))
                if part
                else (lambda at, a=ac: ac_counters(a, at))
            )
            start = part.manufactured if part else ac.delivered
            first = rev.units("threshold") or rev.units("interval")
            dues: dict[str, Any] = {}
            for u, v in first.items():
                dues[u] = (
                    v
                    if u in ("FH", "FC")
                    else (
                        start + dt.timedelta(days=int(v))
                        if u == "DY"
                        else _add_months(start, int(v))
                    )
                )
            tol = {} if rev.kind == "life_limit" else rev.units("tolerance")
            for c in comps:
                actual = counters(c.done_at)
                if c.stated_fh is not None:
                    actual["FH"] = c.stated_fh
                if c.stated_fc is not None:
                    actual["FC"] = c.stated_fc
                dday = c.done_at.date()
                new = {}
                for u, v in rev.units("interval").items():
                    prev = dues.get(u)
                    if u in ("FH", "FC"):
                        keep = (
                            rev.schedule_from == "last_due"
                            and prev is not None
                            and abs(actual[u] - prev) <= tol.get(u, 0)
                        )
                        new[u] = (prev if keep else actual[u]) + v
                    else:
                        keep = (
                            rev.schedule_from == "last_due"
                            and prev is not None
                            and abs((dday - prev).days) <= tol.get("DY", 0)
                        )
                        base = prev if keep else dday
                        new[u] = (
                            base + dt.timedelta(days=int(v))
                            if u == "DY"
                            else _add_months(base, int(v))
                        )
                dues = new
            now = counters(as_of)
            past = over = False
            dates = []
            for u, d in dues.items():
                if u in ("FH", "FC"):
                    rem = d - now[u]
                    past |= rem < 0
                    over |= rem < -tol.get(u, 0)
                    r = rate(ac, u)
                    if r > 0:
                        dates.append(today + dt.timedelta(days=math.floor(rem / r)))
                else:
                    past |= today > d
                    over |= today > d + dt.timedelta(days=tol.get("DY", 0))
                    dates.append(d)
            due_date = min(dates) if dates else None
            status = (
                "overdue"
                if over
                else "in_tolerance"
                if past
                else (
                    "due_soon" if due_date and due_date <= today + dt.timedelta(days=30) else "ok"
                )
            )
            results[(ac.serial, rev.task.code, part.serial if part else "")] = status
    elapsed = time.perf_counter() - t_start
    core = forecasting.forecast(
        as_of=as_of, aircraft=Aircraft.objects.filter(pk__in=[a.pk for a in aircraft]), stores=False
    )
    agree = total = 0
    example = ""
    for row in core.rows:
        key = (row.aircraft_serial or "", row.task_code, row.serial or "")
        if key in results:
            total += 1
            if results[key] == row.status:
                agree += 1
            elif not example:
                example = f"{key}: reference {results[key]}, core {row.status}"
    return elapsed / max(n_items, 1), agree, total, example


if __name__ == "__main__":
    import sys

    sys.path.insert(0, str(ROOT / "src"))
    sys.path.insert(0, str(ROOT))
    action, url, n_air, sample = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    import django

    django.setup()
    if action == "populate":
        from bench.forecast import Fleet

        populate(Fleet(n_air), url)
    else:
        from bench.forecast import AS_OF

        per_item, agree, total, example = reference(sample, AS_OF)
        if example:
            print(f"first disagreement: {example}", file=sys.stderr)
        print(per_item, agree, total)
