"""`kanat forecast --as-of INSTANT [--horizon DAYS] [--aircraft SERIAL] [--format json|table]`."""

from __future__ import annotations

import datetime as dt
import os
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from kanat.fleet.models import Aircraft
from kanat.maintenance import forecasting
from kanat.maintenance.jsonout import write_json
from kanat.maintenance.parallel import available_cores
from kanat.maintenance.tableout import write_table


class Command(BaseCommand):
    help = (
        "Print the maintenance forecast as of an instant (../shared/spec/forecast.md): "
        "every item's due per unit, remaining, due date, driver and status, and every "
        "aircraft's airworthiness. JSON exactly as ../shared/spec/bundle.md describes."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--as-of",
            required=True,
            metavar="INSTANT",
            help="ISO 8601 instant with an offset, e.g. 2025-07-01T00:00:00Z",
        )
        parser.add_argument(
            "--horizon",
            type=int,
            default=30,
            metavar="DAYS",
            help="due-soon horizon in days (default 30)",
        )
        parser.add_argument("--aircraft", metavar="SERIAL", help="only this aircraft")
        parser.add_argument(
            "--format",
            choices=["json", "table"],
            default="table",
            help="json (bundle.md) or a table for people (default)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        raw = options["as_of"]
        try:
            as_of = dt.datetime.fromisoformat(raw)
        except ValueError:
            raise CommandError(f"--as-of {raw!r} is not an ISO 8601 instant") from None
        if as_of.tzinfo is None:
            raise CommandError(f"--as-of {raw!r} has no offset: add Z or +05:00")
        if options["horizon"] < 0:
            raise CommandError("--horizon must be zero or more days")
        aircraft = None
        if options["aircraft"]:
            aircraft = Aircraft.objects.filter(serial=options["aircraft"])
            if not aircraft.exists():
                raise CommandError(f"unknown aircraft {options['aircraft']!r}")
        clock = _Clock()
        g = forecasting.gather(
            as_of=as_of, aircraft=aircraft, parts_in_stores=aircraft is None, with_ids=False
        )
        clock.lap("read")
        r = forecasting.run_core(g, horizon=options["horizon"])
        clock.lap("core")
        statuses = forecasting.aircraft_statuses(g, r)
        clock.lap("airworthiness")
        if options["format"] == "json":
            chunks = write_json(
                g,
                r,
                [
                    {"aircraft": s.aircraft, "status": s.status, "reasons": s.reasons}
                    for s in statuses
                ],
                processes=available_cores(),
            )
        else:
            chunks = write_table(
                g,
                r,
                [(s.aircraft, s.status, s.reasons) for s in statuses],
                options["horizon"],
                processes=available_cores(),
            )
        for chunk in chunks:
            self.stdout.write(chunk, ending="")
        clock.lap("write")
        clock.report(self.stderr)


class _Clock:
    """Phase timings on stderr when KANAT_TIMINGS is set (for the benchmarks)."""

    def __init__(self) -> None:
        self.on = bool(os.environ.get("KANAT_TIMINGS"))
        self.last = time.perf_counter()
        self.laps: list[tuple[str, float]] = []

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps.append((name, now - self.last))
        self.last = now

    def report(self, out: Any) -> None:
        if self.on:
            out.write("timings: " + ", ".join(f"{n} {s:.2f} s" for n, s in self.laps))
