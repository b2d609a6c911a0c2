"""`kanat records verify | export --aircraft SERIAL DIR | verify-package DIR`: check every
operator's chain of signed records; write an aircraft's record package; check one offline."""

from __future__ import annotations

import datetime as dt
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from kanat.records import chain


class Command(BaseCommand):
    help = (
        "Signed records (compliance, sign-offs, releases, deferrals, defect closures) and "
        "their operators' hash chains. `verify` exits 0 when every chain is intact, 1 naming "
        "the first broken record of each chain when a row was altered, deleted or inserted "
        "behind the app's back. `export --aircraft SERIAL DIR` writes the aircraft's record "
        "package (JSON, a PDF report and a manifest) into DIR; `verify-package DIR` checks "
        "one without any database: exit 0, or 1 naming the first problem (file, record)."
    )

    def add_arguments(self, parser: Any) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("verify", help="recompute every chain from the database (exit 0 or 1)")
        export = sub.add_parser(
            "export",
            help="write an aircraft's record package into DIR",
            description=(
                "Write the record package of an aircraft into DIR: package.json (identity, "
                "counters, maintenance history, configuration, life-limited parts, directive "
                "status), records.json (the signed records), chain.json (their chains' links), "
                "report.pdf and manifest.json. DIR must be new, empty, or a previous package "
                "(whose files are replaced). Refused while a chain it needs is broken."
            ),
        )
        export.add_argument("--aircraft", metavar="SERIAL", required=True, help="its serial")
        export.add_argument(
            "--as-of",
            metavar="INSTANT",
            help="ISO 8601 instant with an offset for counters, configuration, life limits "
            "and directive status (default: now); the records are all those signed so far",
        )
        export.add_argument("directory", metavar="DIR", help="the package's folder")
        check = sub.add_parser(
            "verify-package",
            help="check a record package offline (exit 0 or 1)",
            description=(
                "Check a record package without any database: every file against "
                "manifest.json, every record against its link's content hash, every link's "
                "hash and order from #1 to the head, and the history against the records. "
                "Exit 0 when intact, 1 naming the first problem (file, record)."
            ),
        )
        check.add_argument("directory", metavar="DIR", help="the package's folder")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "export":
            self._export(options)
        elif action == "verify-package":
            self._verify_package(options["directory"])
        else:
            self._verify()

    def _verify(self) -> None:
        breaks = chain.verify()
        if not breaks:
            heads = chain.ChainHead.objects.order_by("chain")
            total = sum(h.seq for h in heads)
            self.stdout.write(
                f"intact: {heads.count()} chains, {total} signed records "
                + ", ".join(f"{h.chain} #{h.seq}" for h in heads)
            )
            return
        for b in breaks:
            self.stderr.write(f"BROKEN: {b}")
        sys.exit(1)

    def _export(self, options: dict[str, Any]) -> None:
        from kanat.fleet.models import Aircraft
        from kanat.records import package

        serial = options["aircraft"]
        aircraft = Aircraft.objects.filter(serial=serial).first()
        if aircraft is None:
            raise CommandError(f"no aircraft with serial {serial!r}")
        as_of = None
        if options.get("as_of"):
            raw = options["as_of"]
            try:
                as_of = dt.datetime.fromisoformat(raw)
            except ValueError:
                raise CommandError(f"--as-of {raw!r} is not an ISO 8601 instant") from None
            if as_of.tzinfo is None:
                raise CommandError(f"--as-of {raw!r} has no offset: add Z or +05:00")
        try:
            manifest = package.export(aircraft, options["directory"], as_of=as_of)
        except package.ExportError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            f"exported: record package of {manifest['aircraft']} as of {manifest['as_of']} "
            f"into {options['directory']}, package sha256 {manifest['package_sha256']}"
        )

    def _verify_package(self, directory: str) -> None:
        from kanat.records import package

        result = package.verify_package(directory)
        if isinstance(result, package.Problem):
            self.stderr.write(f"BROKEN: {result}")
            sys.exit(1)
        self.stdout.write(str(result))
