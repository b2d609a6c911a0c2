"""A small hangar for the execution tests: an aircraft with a fitted engine, a programme with
an ordinary, a critical (measured) and a part task, and people with authorisations."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from kanat.core.models import Operator, User
from kanat.core.roles import Role
from kanat.fleet.models import Aircraft, Part
from kanat.maintenance import services as mx
from kanat.maintenance.models import Task
from tests import factories as f
from tests.factories import utc


@dataclass
class Hangar:
    operator: Operator
    aircraft: Aircraft
    engine: Part
    spare: Part
    planner: User
    tech: User
    tech2: User
    inspector: User
    certifier: User
    tasks: dict[str, Task] = field(default_factory=dict)


def hangar(**kw: Any) -> Hangar:
    engine_pn = f.part_number(pn=kw.get("engine_pn", f"ENG-{next(f._seq)}"))
    v = f.variant(positions={"ENG": [engine_pn]})
    atype = v.aircraft_type
    op = f.operator()
    ac = f.aircraft(operator_=op, variant_=v, delivered=dt.date(2025, 1, 1))
    engine = f.part(pn=engine_pn)
    spare = f.part(pn=engine_pn)
    f.install(engine, ac, utc(2025, 1, 1))
    tasks = {
        "GVI": mx.define_task(
            actor=None,
            code=f"GVI-{ac.pk}",
            title="General visual inspection",
            ata="05-20",
            kind="repeat",
            variants=[v],
            interval={"DY": 30},
        )[0].task,
        "PROP": mx.define_task(
            actor=None,
            code=f"PROP-{ac.pk}",
            title="Propeller blade track and torque",
            ata="61-10",
            kind="repeat",
            variants=[v],
            interval={"FH": 100},
            critical=True,
            instructions={
                "steps": [
                    {"text": "Remove spinner", "reference": "AMM 61-10-00"},
                    {
                        "text": "Measure blade track",
                        "kind": "measure",
                        "measure": {"name": "blade track", "unit": "mm", "min": 0, "max": 2.5},
                    },
                    {"text": "Torque blade bolts", "reference": "AMM 61-10-00 p. 201"},
                ],
                "tools": ["Torque wrench 5-25 Nm", "Tracking stick"],
                "parts": [{"pn": "MS21042-3", "qty": 6}],
                "references": ["AMM 61-10-00"],
            },
        )[0].task,
        "ENG-LL": mx.define_task(
            actor=None,
            code=f"ENGLL-{ac.pk}",
            title="Engine life limit",
            ata="72-00",
            kind="life_limit",
            part_number=engine_pn,
            threshold={"FH": 1500},
        )[0].task,
    }
    planner = f.user(role=Role.PLANNER)
    people = {}
    for name, role, privileges in (
        ("tech", Role.TECHNICIAN, ["task"]),
        ("tech2", Role.TECHNICIAN, ["task"]),
        ("inspector", Role.INSPECTOR, ["task", "inspection"]),
        ("certifier", Role.INSPECTOR, ["task", "inspection", "release"]),
    ):
        u = f.user(role=role)
        q = f.qualification(u, [atype], expires_on=kw.get("expires_on"))
        f.authorisation(u, q, privileges)
        people[name] = u
    return Hangar(op, ac, engine, spare, planner, tasks=tasks, **people)


def sign_all_steps(
    card: Any, signer: User, *, value: float = 1.0, part: Part | None = None
) -> None:
    """Sign every step of a card: measured ones with ``value``, a removal as scheduled, an
    installation with ``part``."""
    from kanat.work import services as work
    from kanat.work.models import StepKind

    for step in card.steps.all():
        kw: dict[str, Any] = {}
        if step.kind == StepKind.MEASURE:
            kw["value"] = value
        if step.kind == StepKind.REMOVE:
            kw["removal_reason"] = "scheduled"
        if step.kind == StepKind.INSTALL:
            kw["part"] = part
        work.sign_step(actor=signer, step=step, **kw)
