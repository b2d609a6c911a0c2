"""`kanat genealogy SERIAL [--pn PN] [--as-of INSTANT] [--format text|json]`."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from kanat.fleet.genealogy import as_text, story
from kanat.fleet.models import Part


class Command(BaseCommand):
    help = (
        "A serial's full story: what it was built from, where it has been installed (aircraft, "
        "position, when, its own hours and cycles then, why it came off) and what was done to "
        "it (compliance records, signed removal and installation steps)."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("serial", help="the part's serial number")
        parser.add_argument("--pn", help="its part number (needed when serials repeat)")
        parser.add_argument("--as-of", help="an instant with its offset (default: now)")
        parser.add_argument("--format", choices=["text", "json"], default="text")

    def handle(self, *args: Any, **options: Any) -> None:
        parts = Part.objects.select_related("part_number", "operator").filter(
            serial=options["serial"]
        )
        if options["pn"]:
            parts = parts.filter(part_number__pn=options["pn"])
        found = list(parts[:10])
        if not found:
            which = f" of part number {options['pn']}" if options["pn"] else ""
            raise CommandError(f"no part with serial {options['serial']!r}{which}")
        if len(found) > 1:
            pns = ", ".join(p.part_number.pn for p in found)
            raise CommandError(
                f"serial {options['serial']!r} exists under several part numbers ({pns}): "
                "name one with --pn"
            )
        at = timezone.now()
        if options["as_of"]:
            try:
                at = dt.datetime.fromisoformat(options["as_of"].replace("Z", "+00:00"))
            except ValueError:
                raise CommandError(f"--as-of {options['as_of']!r} is not an instant") from None
            if at.tzinfo is None:
                raise CommandError(f"--as-of {options['as_of']} needs an offset (Z or +05:00)")
        s = story(found[0], at)
        if options["format"] == "json":
            self.stdout.write(json.dumps(s, indent=1, ensure_ascii=False))
        else:
            self.stdout.write(as_text(s), ending="")
