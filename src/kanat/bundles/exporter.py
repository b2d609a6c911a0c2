"""`kanat bundle export`: the fleet (or one operator's part of it) as a bundle."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Q

from kanat.core.models import Operator
from kanat.fleet.models import Aircraft, Flight, Installation, Part, PartNumber, Variant
from kanat.maintenance.models import Compliance, Task, TaskRevision


def iso(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def _num(value: float, unit: str) -> float | int:
    return int(value) if unit != "FH" and float(value).is_integer() else value


def _units(values: dict[str, float]) -> dict[str, float | int]:
    return {unit: _num(v, unit) for unit, v in values.items()}


def export_bundle(*, operator: Operator | None = None) -> dict[str, Any]:
    aircraft = Aircraft.objects.select_related("variant", "operator").order_by("serial")
    operators = Operator.objects.order_by("code")
    if operator is not None:
        aircraft = aircraft.filter(operator=operator)
        operators = operators.filter(pk=operator.pk)
    aircraft = list(aircraft)
    ac_ids = [a.pk for a in aircraft]
    installations = list(
        Installation.objects.filter(aircraft_id__in=ac_ids)
        .select_related("part__part_number", "aircraft", "position")
        .order_by("installed_at", "id")
    )
    parts = Part.objects.select_related("part_number").order_by("part_number__pn", "serial")
    if operator is not None:
        parts = parts.filter(
            Q(operator=operator) | Q(installations__aircraft_id__in=ac_ids)
        ).distinct()
    parts = list(parts)
    part_ids = {p.pk for p in parts}
    revisions = _current_revisions()
    variant_codes = {a.variant.code for a in aircraft} if operator is not None else None
    variants = (
        Variant.objects.select_related("aircraft_type")
        .prefetch_related("positions__part_numbers")
        .order_by("code")
    )
    if variant_codes is not None:
        variants = variants.filter(code__in=variant_codes)
    compliance = (
        Compliance.objects.filter(corrected_by__isnull=True)
        .filter(Q(aircraft_id__in=ac_ids) | Q(part_id__in=part_ids))
        .select_related("task", "aircraft", "part__part_number")
        .order_by("done_at", "id")
    )
    return {
        "kanat_bundle": 1,
        "operators": [{"code": o.code, "name": o.name} for o in operators],
        "variants": [
            {
                "code": v.code,
                "type": v.aircraft_type.code,
                "positions": [
                    {
                        "code": p.code,
                        "ata": p.ata,
                        "part_numbers": sorted(x.pn for x in p.part_numbers.all()),
                    }
                    for p in sorted(v.positions.all(), key=lambda p: p.code)
                ],
            }
            for v in variants
        ],
        "part_numbers": [
            {"pn": p.pn, "description": p.description, "tracking": p.tracking}
            for p in PartNumber.objects.order_by("pn")
        ],
        "aircraft": [_aircraft(a) for a in aircraft],
        "parts": [
            {
                "pn": p.part_number.pn,
                "serial": p.serial,
                "manufactured": p.manufactured.isoformat(),
                "opening": {"FH": p.opening_fh, "FC": p.opening_fc},
            }
            for p in parts
        ],
        "installations": [
            {
                "pn": i.part.part_number.pn,
                "serial": i.part.serial,
                "aircraft": i.aircraft.serial,
                "position": i.position.code,
                "installed_at": iso(i.installed_at),
                "removed_at": iso(i.removed_at) if i.removed_at else None,
            }
            for i in installations
        ],
        "flights": [
            {"aircraft": serial, "takeoff": iso(t), "landing": iso(land), "cycles": c}
            for serial, t, land, c in Flight.objects.filter(aircraft_id__in=ac_ids)
            .order_by("aircraft__serial", "takeoff")
            .values_list("aircraft__serial", "takeoff", "landing", "cycles")
            .iterator(chunk_size=10000)
        ],
        "tasks": [_task(rev) for rev in revisions],
        "compliance": [_compliance(c) for c in compliance],
    }


def _aircraft(a: Aircraft) -> dict[str, Any]:
    out: dict[str, Any] = {
        "serial": a.serial,
        "variant": a.variant.code,
        "operator": a.operator.code,
        "delivered": a.delivered.isoformat(),
        "opening": {"FH": a.opening_fh, "FC": a.opening_fc},
    }
    rate = {}
    if a.planned_fh_per_day is not None:
        rate["FH"] = a.planned_fh_per_day
    if a.planned_fc_per_day is not None:
        rate["FC"] = a.planned_fc_per_day
    if rate:
        out["planned_rate"] = rate
    return out


def _current_revisions() -> list[TaskRevision]:
    latest = []
    for task in Task.objects.prefetch_related(
        "revisions__variants", "revisions__part_number"
    ).order_by("code"):
        revs = sorted(task.revisions.all(), key=lambda r: r.number)
        if revs:
            latest.append(revs[-1])
    return latest


def _task(rev: TaskRevision) -> dict[str, Any]:
    out: dict[str, Any] = {"code": rev.task.code, "title": rev.title, "ata": rev.ata}
    if rev.part_number_id:
        out["applies_to"] = {"part_number": rev.part_number.pn}  # type: ignore[union-attr]
    else:
        out["applies_to"] = {"variants": sorted(v.code for v in rev.variants.all())}
    out["kind"] = rev.kind
    for prefix in ("threshold", "interval", "tolerance"):
        values = rev.units(prefix)
        if values:
            out[prefix] = _units(values)
    out["schedule_from"] = rev.schedule_from
    return out


def _compliance(c: Compliance) -> dict[str, Any]:
    out: dict[str, Any] = {"task": c.task.code}
    if c.aircraft_id:
        out["aircraft"] = c.aircraft.serial  # type: ignore[union-attr]
    else:
        out["part"] = {"pn": c.part.part_number.pn, "serial": c.part.serial}  # type: ignore[union-attr]
    out["done_at"] = iso(c.done_at)
    stated = {}
    if c.stated_fh is not None:
        stated["FH"] = c.stated_fh
    if c.stated_fc is not None:
        stated["FC"] = _num(c.stated_fc, "FC")
    if stated:
        out["counters"] = stated
    return out
