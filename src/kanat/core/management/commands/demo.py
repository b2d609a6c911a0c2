"""`kanat demo`: load the demo hub into an empty database (idempotent)."""

from __future__ import annotations

import random
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from kanat.core import services as core_services
from kanat.core.models import Hub, Operator, User
from kanat.demo import fleet as demo_fleet
from kanat.demo import production as demo_production
from kanat.demo import programme as demo_programme
from kanat.demo import training as demo_training
from kanat.demo import work as demo_work
from kanat.fleet.models import Aircraft, Part


class Command(BaseCommand):
    help = (
        "Load the demo hub (ANKA family and a mixed fleet, three operators, a year of "
        "flights, a maintenance programme, certifying staff, work packages in every state "
        "and defects, engineering data and stores; demo users hub / planner / technician / "
        "inspector / operator-kz / operator-b with password 'demo') into an empty database. "
        "Running it again on a demo database changes nothing; it refuses a database that "
        "holds other data."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--seed", type=int, default=2022, help="random seed (default 2022)")
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="load only into an empty database; otherwise do nothing (used by make run)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        hub = Hub.objects.filter(pk=1).first()
        if hub is not None and hub.is_demo:
            self.stdout.write("The demo is already loaded: nothing changed.")
            return
        if hub is not None or any(
            model.objects.exists() for model in (Operator, User, Aircraft, Part)
        ):
            if options["if_empty"]:
                self.stdout.write("The database holds data: the demo is not loaded.")
                return
            raise CommandError(
                "This database holds non-demo data; `kanat demo` loads only into an empty "
                "database (demo users must never exist beside real ones)."
            )
        rng = random.Random(options["seed"])
        now = timezone.now().replace(minute=0, second=0, microsecond=0)
        with transaction.atomic():
            core_services.ensure_hub(
                actor=None, code="KANAT-HUB", name="Kanat regional MRO hub (demo)", is_demo=True
            )
            fleet = demo_fleet.load(now=now, rng=rng, log=self.stdout.write)
            demo_programme.load(fleet, rng=rng, log=self.stdout.write)
            demo_fleet.demo_users(fleet.operators)
            assert fleet.go_live is not None
            staff = demo_work.load_people(now=now, go_live=fleet.go_live, log=self.stdout.write)
            demo_work.load_work(fleet, staff, log=self.stdout.write)
            demo_training.load(fleet, staff, log=self.stdout.write)
            demo_work.withdraw(staff)
            demo_production.load(fleet, log=self.stdout.write)
        self.stdout.write(
            self.style.SUCCESS(
                "Demo loaded. Log in as hub, planner, technician, inspector, dana (training "
                "manager), operator-kz or operator-b with the password 'demo'."
            )
        )
