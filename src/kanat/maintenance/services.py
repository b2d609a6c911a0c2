"""Write path of the maintenance programme and compliance records."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from kanat.core import audit
from kanat.core.errors import RuleViolation
from kanat.core.models import User
from kanat.core.roles import Capability
from kanat.core.services import require
from kanat.fleet.models import Aircraft, Part, PartNumber, PartTracking, Variant
from kanat.maintenance.models import (
    TOLERANCE_UNITS,
    UNITS,
    Compliance,
    RaisedItem,
    ScheduleFrom,
    Task,
    TaskKind,
    TaskRevision,
)
from kanat.records import chain

RULE_FIELDS = ("title", "ata", "kind", "schedule_from")


def check_units(
    values: Mapping[str, Any] | None, field: str, allowed: tuple[str, ...]
) -> dict[str, float]:
    """{'FH': 100} checked: known units, numbers, not negative. Names the field at fault."""
    if values is None:
        return {}
    if not isinstance(values, Mapping):
        raise RuleViolation(f'{field} must be an object of units, e.g. {{"FH": 100}}', field=field)
    out = {}
    for unit, value in values.items():
        if unit not in allowed:
            raise RuleViolation(
                f"{field}: unit {unit!r} is not one of {', '.join(allowed)}",
                field=f"{field}.{unit}",
            )
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise RuleViolation(
                f"{field}.{unit}: {value!r} is not a number", field=f"{field}.{unit}"
            )
        if value < 0:
            raise RuleViolation(f"{field}.{unit}: {value} is negative", field=f"{field}.{unit}")
        if unit != "FH" and float(value) != int(value):
            raise RuleViolation(
                f"{field}.{unit}: {value} is not a whole number", field=f"{field}.{unit}"
            )
        out[unit] = float(value)
    return out


def check_task_rules(
    *,
    kind: str,
    threshold: Mapping[str, Any] | None,
    interval: Mapping[str, Any] | None,
    tolerance: Mapping[str, Any] | None,
    schedule_from: str,
) -> tuple[dict[str, float], dict[str, float], dict[str, float]]:
    if kind not in TaskKind.values:
        raise RuleViolation(
            f"kind must be one of {', '.join(TaskKind.values)}, not {kind!r}", field="kind"
        )
    if schedule_from not in ScheduleFrom.values:
        raise RuleViolation(
            f"schedule_from must be one of {', '.join(ScheduleFrom.values)}, not {schedule_from!r}",
            field="schedule_from",
        )
    th = check_units(threshold, "threshold", UNITS)
    iv = check_units(interval, "interval", UNITS)
    if tolerance and "MO" in tolerance:
        raise RuleViolation(
            "tolerance: unit 'MO' is not a tolerance unit: calendar tolerance is given in DY",
            field="tolerance.MO",
        )
    tol = check_units(tolerance, "tolerance", TOLERANCE_UNITS)
    if kind in (TaskKind.ONCE, TaskKind.LIFE_LIMIT) and not th:
        raise RuleViolation(f"a {kind} task needs a threshold", field="threshold")
    if kind == TaskKind.REPEAT and not iv:
        raise RuleViolation("a repeat task needs an interval", field="interval")
    for unit, value in iv.items():
        if value <= 0:
            raise RuleViolation(f"interval.{unit} must be more than 0", field=f"interval.{unit}")
    return th, iv, tol


def _revision_content(rev: TaskRevision) -> dict[str, Any]:
    return {
        "title": rev.title,
        "ata": rev.ata,
        "kind": rev.kind,
        "schedule_from": rev.schedule_from,
        "variants": sorted(v.code for v in rev.variants.all()),
        "part_number": rev.part_number.pn if rev.part_number_id else None,
        "threshold": rev.units("threshold"),
        "interval": rev.units("interval"),
        "tolerance": rev.units("tolerance"),
        "critical": rev.critical,
        "instructions": rev.instructions,
    }


STEP_KINDS = ("action", "measure", "remove", "install")


def _text_list(values: Any, field: str) -> list[str]:
    if values is None:
        return []
    if not isinstance(values, list | tuple) or not all(isinstance(v, str) for v in values):
        raise RuleViolation(f"{field} must be a list of texts", field=field)
    return [v.strip() for v in values if v.strip()]


def _number_or_none(value: Any, field: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise RuleViolation(f"{field}: {value!r} is not a number", field=field)
    return float(value)


def _check_step(step: Any, field: str) -> dict[str, Any]:
    if not isinstance(step, Mapping):
        raise RuleViolation(f"{field} must be an object with a text", field=field)
    text = str(step.get("text") or "").strip()
    if not text:
        raise RuleViolation(f"{field}.text: a step says what to do", field=f"{field}.text")
    kind = step.get("kind", "action")
    if kind not in STEP_KINDS:
        raise RuleViolation(
            f"{field}.kind must be one of {', '.join(STEP_KINDS)}, not {kind!r}",
            field=f"{field}.kind",
        )
    out: dict[str, Any] = {"text": text, "kind": kind}
    if step.get("reference"):
        out["reference"] = str(step["reference"])
    if kind == "measure":
        m = step.get("measure")
        if not isinstance(m, Mapping) or not m.get("name"):
            raise RuleViolation(
                f"{field}.measure: a measuring step names what it measures and its limits",
                field=f"{field}.measure",
            )
        lo = _number_or_none(m.get("min"), f"{field}.measure.min")
        hi = _number_or_none(m.get("max"), f"{field}.measure.max")
        if lo is None and hi is None:
            raise RuleViolation(f"{field}.measure: give min, max or both", field=f"{field}.measure")
        if lo is not None and hi is not None and lo > hi:
            raise RuleViolation(f"{field}.measure: min {lo} is above max {hi}", field=field)
        out["measure"] = {
            "name": str(m["name"]),
            "unit": str(m.get("unit") or ""),
            "min": lo,
            "max": hi,
        }
    if kind in ("remove", "install"):
        if not step.get("position"):
            raise RuleViolation(
                f"{field}.position: a {kind} step names the position (its code)",
                field=f"{field}.position",
            )
        out["position"] = str(step["position"])
    return out


def check_instructions(values: Mapping[str, Any] | None) -> dict[str, Any]:
    """A task card's content, checked: ``steps`` (text, kind, measure limits, position),
    ``tools``, ``parts`` (``{"pn", "qty"}``) and manual ``references``."""
    if not values:
        return {}
    if not isinstance(values, Mapping):
        raise RuleViolation("instructions must be an object", field="instructions")
    unknown = set(values) - {"steps", "tools", "parts", "references"}
    if unknown:
        raise RuleViolation(
            f"instructions: unknown key {sorted(unknown)[0]!r}", field="instructions"
        )
    steps = values.get("steps") or []
    if not isinstance(steps, list | tuple):
        raise RuleViolation("instructions.steps must be a list", field="instructions.steps")
    out: dict[str, Any] = {
        "steps": [_check_step(s, f"instructions.steps[{i}]") for i, s in enumerate(steps)]
    }
    out["tools"] = _text_list(values.get("tools"), "instructions.tools")
    out["references"] = _text_list(values.get("references"), "instructions.references")
    parts = []
    for i, item in enumerate(values.get("parts") or []):
        field = f"instructions.parts[{i}]"
        if not isinstance(item, Mapping) or not item.get("pn"):
            raise RuleViolation(f"{field} names a part number (pn)", field=field)
        qty = item.get("qty", 1)
        if isinstance(qty, bool) or not isinstance(qty, int | float) or qty <= 0:
            raise RuleViolation(f"{field}.qty must be a positive number", field=f"{field}.qty")
        parts.append({"pn": str(item["pn"]), "qty": qty})
    out["parts"] = parts
    return out


@transaction.atomic
def define_task(
    *,
    actor: User | None,
    code: str,
    title: str,
    ata: str,
    kind: str,
    variants: Iterable[Variant] = (),
    part_number: PartNumber | None = None,
    threshold: Mapping[str, Any] | None = None,
    interval: Mapping[str, Any] | None = None,
    tolerance: Mapping[str, Any] | None = None,
    schedule_from: str = ScheduleFrom.LAST_DONE,
    effective_from: dt.datetime | None = None,
    reason: str = "",
    invented: bool = False,
    critical: bool = False,
    instructions: Mapping[str, Any] | None = None,
) -> tuple[TaskRevision, bool]:
    """Create a task, or a new revision of it when its content changed (else a no-op).

    A ``once`` task with neither variants nor a part number applies only where an event
    raises it (an inspection a flight finding calls for, see ``RaisedItem``).

    Returns the revision in force and whether it was created now.

    The first revision is in force from the beginning; a later one from
    ``effective_from`` (default: now), so forecasts of earlier instants keep the rules
    known then.
    """
    require(actor, Capability.MANAGE_PROGRAMME)
    code = code.strip()
    if not code:
        raise RuleViolation("a task needs a code", field="code")
    th, iv, tol = check_task_rules(
        kind=kind,
        threshold=threshold,
        interval=interval,
        tolerance=tolerance,
        schedule_from=schedule_from,
    )
    variant_list = list(variants)
    if variant_list and part_number is not None:
        raise RuleViolation(
            "a task applies either to listed variants or to one part number", field="applies_to"
        )
    if not variant_list and part_number is None and kind != TaskKind.ONCE:
        raise RuleViolation(
            "a task that applies to no variant and no part number is raised on an aircraft "
            "by an event (a flight finding): it must be of kind once",
            field="applies_to",
        )
    if part_number is not None and part_number.tracking != PartTracking.SERIAL:
        raise RuleViolation(
            f"{part_number.pn} is not serialised: tasks follow serialised parts",
            field="applies_to.part_number",
        )
    card = check_instructions(instructions)
    task, created = Task.objects.select_for_update().get_or_create(code=code)
    content = {
        "title": title,
        "ata": ata,
        "kind": kind,
        "schedule_from": schedule_from,
        "variants": sorted(v.code for v in variant_list),
        "part_number": part_number.pn if part_number else None,
        "threshold": th,
        "interval": iv,
        "tolerance": tol,
        "critical": bool(critical),
        "instructions": card,
    }
    latest = (
        None
        if created
        else TaskRevision.objects.filter(task=task)
        .order_by("-number")
        .select_related("part_number")
        .prefetch_related("variants")
        .first()
    )
    if latest is not None and _revision_content(latest) == content:
        return latest, False
    number = (TaskRevision.objects.filter(task=task).aggregate(m=Max("number"))["m"] or 0) + 1
    now = timezone.now()
    rev = TaskRevision(
        task=task,
        number=number,
        title=title,
        ata=ata,
        kind=kind,
        part_number=part_number,
        schedule_from=schedule_from,
        reason=reason,
        effective_from=(
            dt.datetime(1, 1, 1, tzinfo=dt.UTC) if number == 1 else (effective_from or now)
        ),
        created_at=now,
        created_by=actor,
        invented=invented,
        critical=bool(critical),
        instructions=card,
    )
    for prefix, values in (("threshold", th), ("interval", iv), ("tolerance", tol)):
        for unit, value in values.items():
            setattr(rev, f"{prefix}_{unit.lower()}", value)
    rev.save()
    rev.variants.set(variant_list)
    audit.record(
        actor=actor,
        action="maintenance.define_task",
        instance=rev,
        before=_revision_content(latest) if latest else None,
        after=content,
    )
    return rev, True


def revision_in_force(task: Task, at: dt.datetime) -> TaskRevision | None:
    return (
        TaskRevision.objects.filter(task=task, effective_from__lte=at).order_by("-number").first()
    )


@transaction.atomic
def record_compliance(
    *,
    actor: User | None,
    task: Task,
    done_at: dt.datetime,
    aircraft: Aircraft | None = None,
    part: Part | None = None,
    stated: Mapping[str, float] | None = None,
    reference: str = "",
    performed_by_label: str = "",
    corrects: Compliance | None = None,
    correction_reason: str = "",
    qualification_ref: str = "",
) -> Compliance:
    """Record that a task was done on an aircraft or a part (append-only), signed into
    its operator's chain of records (``qualification_ref``: what the signer certified
    under; empty for records entered from other systems)."""
    require(actor, Capability.RECORD_COMPLIANCE)
    if (aircraft is None) == (part is None):
        raise RuleViolation("a compliance names exactly one of aircraft or part", field="target")
    if done_at.tzinfo is None or done_at.utcoffset() is None:
        raise RuleViolation(
            f"done_at {done_at.isoformat()} has no time zone offset", field="done_at"
        )
    counters = check_units(stated, "counters", ("FH", "FC"))
    rev = revision_in_force(task, done_at) or revision_in_force(task, timezone.now())
    if rev is None:
        raise RuleViolation(f"task {task.code} has no revision", field="task")
    raised_here = (
        aircraft is not None
        and RaisedItem.objects.filter(task=task, aircraft=aircraft, raised_at__lte=done_at).exists()
    )
    if (
        aircraft is not None
        and not raised_here
        and (
            rev.part_number_id is not None
            or not rev.variants.filter(pk=aircraft.variant_id).exists()
        )
    ):
        raise RuleViolation(
            f"task {task.code} does not apply to {aircraft.serial} ({aircraft.variant.code})",
            field="aircraft",
        )
    if part is not None and rev.part_number_id != part.part_number_id:
        raise RuleViolation(f"task {task.code} does not apply to part {part}", field="part")
    if corrects is not None:
        if Compliance.objects.filter(corrects=corrects).exists():
            raise RuleViolation(f"compliance {corrects.pk} was already corrected", field="corrects")
        if not correction_reason:
            raise RuleViolation("a correction needs its reason", field="correction_reason")
    obj = Compliance(
        task=task,
        aircraft=aircraft,
        part=part,
        operator_id=aircraft.operator_id if aircraft else part.operator_id,  # type: ignore[union-attr]
        done_at=done_at.astimezone(dt.UTC),
        stated_fh=counters.get("FH"),
        stated_fc=counters.get("FC"),
        performed_by=actor,
        performed_by_label=performed_by_label or (actor.get_username() if actor else ""),
        reference=reference,
        corrects=corrects,
        correction_reason=correction_reason,
        recorded_at=timezone.now(),
    )
    obj.save()
    chain.sign(
        obj,
        kind="compliance",
        operator_id=obj.operator_id,
        signer=actor,
        signer_label=obj.performed_by_label or "system",
        qualification_ref=qualification_ref,
        at=obj.recorded_at,
    )
    audit.record(
        actor=actor, action="maintenance.record_compliance", instance=obj, operator=obj.operator_id
    )
    return obj
