"""`kanat records verify`: check every operator's chain of signed records."""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand

from kanat.records import chain


class Command(BaseCommand):
    help = (
        "Check the signed records (every kind Kanat signs: today, compliance records) against "
        "their operators' hash chains. `verify` exits 0 when every chain is intact, 1 naming "
        "the first broken record of each chain when a row was altered, deleted or inserted "
        "behind the app's back."
    )

    def add_arguments(self, parser: Any) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("verify", help="recompute every chain from the database (exit 0 or 1)")

    def handle(self, *args: Any, **options: Any) -> None:
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
