"""`kanat flightlog summarize FILE... [--format json|text] [--limits FILE]` and
`kanat flightlog import FILE --aircraft SERIAL`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from kanat import flightlogs
from kanat.core.errors import Conflict, RuleViolation
from kanat.fleet.models import Aircraft


class Command(BaseCommand):
    help = (
        "Read UAV flight logs (PX4 ULog, ArduPilot DataFlash .bin/.log, MAVLink .tlog, the "
        "Kanat flights CSV; the format is told from the content): summarize prints flights, "
        "airborne time, acceleration and findings without touching the database; import "
        "records the flights and findings on an aircraft (again: no-op)."
    )

    def add_arguments(self, parser: Any) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        summ = sub.add_parser(
            "summarize",
            help="print one JSON object per file (a list for several); nothing is stored",
        )
        summ.add_argument("files", nargs="+", metavar="FILE")
        summ.add_argument("--format", choices=("json", "text"), default="json")
        summ.add_argument(
            "--limits",
            metavar="FILE",
            help="JSON of the limits to check (keys as an aircraft type's limits); "
            "default: outside air -54..+54 degC, touchdown 3 g and 3 m/s sink",
        )
        imp = sub.add_parser("import", help="store a log's flights and findings on an aircraft")
        imp.add_argument("file", metavar="FILE")
        imp.add_argument("--aircraft", metavar="SERIAL", required=True)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "summarize":
            self.summarize(options)
        else:
            self.import_(options)

    def summarize(self, options: dict[str, Any]) -> None:
        limits = None
        if options["limits"]:
            try:
                limits = flightlogs.Limits.from_mapping(
                    json.loads(Path(options["limits"]).read_text())
                )
            except (OSError, ValueError) as exc:
                raise CommandError(f"--limits {options['limits']}: {exc}") from None
        results = []
        failed = []
        for path in options["files"]:
            try:
                results.append(flightlogs.summarize(path, limits))
            except flightlogs.LogError as exc:
                failed.append(f"{path}: {exc}")
                results.append({"file": path, "error": str(exc)})
        if options["format"] == "json":
            doc: Any = results[0] if len(results) == 1 else results
            self.stdout.write(json.dumps(doc, indent=1, ensure_ascii=False))
        else:
            for path, r in zip(options["files"], results, strict=True):
                self.stdout.write(_text(path, r))
        if failed:
            raise CommandError("; ".join(failed))

    def import_(self, options: dict[str, Any]) -> None:
        from kanat.flightdata.services import import_flight_log

        serial = options["aircraft"]
        aircraft = Aircraft.objects.filter(serial=serial).first()
        if aircraft is None:
            raise CommandError(f"unknown aircraft {serial!r}")
        path = options["file"]
        if not Path(path).is_file():
            raise CommandError(f"{path}: no such file")
        try:
            log, created = import_flight_log(actor=None, aircraft=aircraft, path=path)
        except (RuleViolation, Conflict) as exc:
            raise CommandError(f"nothing imported: {exc.message}") from None
        if not created:
            self.stdout.write(
                f"{path}: already imported as log #{log.pk} ({log.name}); nothing changed"
            )
            return
        s = log.summary
        self.stdout.write(
            f"{path}: log #{log.pk} on {aircraft.serial}: {len(s['flights'])} flight(s), "
            f"{s['airborne_s'] / 3600:.2f} h airborne, {len(s['findings'])} finding(s)"
        )


def _text(path: str, r: dict[str, Any]) -> str:
    if "error" in r:
        return f"{path}: {r['error']}\n"
    lines = [
        f"{path}: {r['format']}, {r['duration_s']:.1f} s from {r['start'] or '(no UTC time)'}",
        f"  {len(r['flights'])} flight(s), {r['airborne_s']:.1f} s airborne "
        f"({r['flight_rule']}); max acceleration "
        + (f"{r['max_accel_ms2']:.1f} m/s²" if r["max_accel_ms2"] is not None else "—"),
    ]
    for f in r["flights"]:
        lines.append(
            f"  flight {f['takeoff'] or f['takeoff_s']} → {f['landing'] or f['landing_s']}: "
            f"{f['airborne_s']:.1f} s, {f['cycles']} cycle(s)"
        )
    for x in r["findings"]:
        lines.append(f"  finding {x['code']} at {x['t_s']:.1f} s: {x['message']}")
    for w in r["warnings"]:
        lines.append(f"  warning: {w}")
    return "\n".join(lines) + "\n"
