"""`kanat forecast --as-of INSTANT [--horizon DAYS] [--aircraft SERIAL] [--format json|table]`."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from kanat.fleet.models import Aircraft
from kanat.maintenance import forecasting
from kanat.maintenance.jsonout import write_json


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
        if options["format"] == "json":
            g = forecasting.gather(as_of=as_of, aircraft=aircraft, parts_in_stores=aircraft is None)
            r = forecasting.run_core(g, horizon=options["horizon"])
            statuses = [
                {"aircraft": s.aircraft, "status": s.status, "reasons": s.reasons}
                for s in forecasting.aircraft_statuses(g, r)
            ]
            for chunk in write_json(g, r, statuses):
                self.stdout.write(chunk, ending="")
            return
        result = forecasting.forecast(
            as_of=as_of,
            horizon=options["horizon"],
            aircraft=aircraft,
            stores=aircraft is None,
        )
        self.stdout.write(table(result))


def table(result: forecasting.Forecast) -> str:
    head = ["STATUS", "DUE DATE", "BY", "AIRCRAFT", "PART", "TASK", "DUE", "REMAINING"]
    rows = [head]
    for r in result.rows:
        rows.append(
            [
                r.status_label,
                r.due_date.isoformat() if r.due_date else "-",
                r.driver or "-",
                r.aircraft_serial or "(stores)",
                r.part_label or "-",
                r.task_code,
                " ".join(f"{u} {v}" for u, v in r.due_display),
                " ".join(f"{u} {v}" for u, v in r.remaining_display),
            ]
        )
    widths = [max(len(row[k]) for row in rows) for k in range(len(head))]
    lines = [f"Forecast as of {result.as_of:%Y-%m-%d %H:%M}Z, horizon {result.horizon} days", ""]
    lines += [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows
    ]
    lines.append("")
    for s in result.aircraft_status:
        lines.append(
            f"{s.aircraft}: {s.status}" + (f" ({', '.join(s.reasons)})" if s.reasons else "")
        )
    return "\n".join(lines)
