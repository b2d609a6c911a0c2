"""`kanat bundle import FILE` / `kanat bundle export [--operator CODE] FILE`."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from kanat.bundles.exporter import export_bundle
from kanat.bundles.importer import import_bundle
from kanat.core.errors import RuleViolation
from kanat.core.models import Operator


class Command(BaseCommand):
    help = (
        "Move a fleet's maintenance-relevant state in and out as a bundle "
        "(../shared/spec/bundle.md). Import is all or nothing and idempotent."
    )

    def add_arguments(self, parser: Any) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        imp = sub.add_parser("import", help="load a bundle (all or nothing; again: no-op)")
        imp.add_argument("file", help="bundle JSON file, or - for standard input")
        exp = sub.add_parser("export", help="write the fleet, or one operator's, as a bundle")
        exp.add_argument("--operator", metavar="CODE", help="only this operator's fleet")
        exp.add_argument("file", help="output file, or - for standard output")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "import":
            path = options["file"]
            try:
                raw = sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()
            except OSError as exc:
                raise CommandError(f"cannot read {path}: {exc.strerror}") from None
            try:
                result = import_bundle(raw)
            except RuleViolation as exc:
                raise CommandError(f"{path}: nothing imported: {exc.message}") from None
            self.stdout.write(f"{path}: {result.summary()}")
            return
        operator = None
        if options["operator"]:
            operator = Operator.objects.filter(code=options["operator"]).first()
            if operator is None:
                raise CommandError(f"unknown operator {options['operator']!r}")
        text = json.dumps(export_bundle(operator=operator), indent=1, ensure_ascii=False)
        if options["file"] == "-":
            self.stdout.write(text)
        else:
            Path(options["file"]).write_text(text + "\n")
            self.stderr.write(f"wrote {options['file']}")
