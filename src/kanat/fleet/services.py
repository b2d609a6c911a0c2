"""The write path of the fleet: every change runs in one transaction with its audit event.

Each function takes the acting user first (``actor``; ``None`` is the system, i.e.
a management command run by the host's administrator) and refuses with a
``RuleViolation`` that names what is wrong, changing nothing.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from kanat.core import audit
from kanat.core.errors import Conflict, RuleViolation
from kanat.core.models import Operator, User
from kanat.core.roles import Capability
from kanat.core.services import require
from kanat.fleet.models import (
    Aircraft,
    AircraftType,
    AssetKind,
    Flight,
    FlightSource,
    Installation,
    Part,
    PartNumber,
    PartTracking,
    Position,
    RemovalReason,
    Variant,
)

#: How far ahead of the server's clock a hand-entered instant may be (clock differences).
CLOCK_ALLOWANCE = dt.timedelta(minutes=10)


def _aware(value: dt.datetime, field: str) -> dt.datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise RuleViolation(f"{field} {value.isoformat()} has no time zone offset", field=field)
    return value.astimezone(dt.UTC)


def _non_negative(value: float | int, field: str) -> None:
    if value is None or value < 0:
        raise RuleViolation(f"{field} must be zero or more, not {value}", field=field)


# --- reference data -------------------------------------------------------------------


@transaction.atomic
def create_aircraft_type(
    *,
    actor: User | None,
    code: str,
    name: str,
    manufacturer: str = "",
    kind: str = AssetKind.AIRCRAFT,
    notes: str = "",
) -> AircraftType:
    require(actor, Capability.MANAGE_REFERENCE)
    if kind not in AssetKind.values:
        raise RuleViolation(f"unknown asset kind {kind!r}", field="kind")
    if AircraftType.objects.filter(code=code).exists():
        raise RuleViolation(f"aircraft type {code} already exists", field="code")
    obj = AircraftType.objects.create(
        code=code, name=name, manufacturer=manufacturer, kind=kind, notes=notes
    )
    audit.record(actor=actor, action="fleet.create_aircraft_type", instance=obj)
    return obj


@transaction.atomic
def set_type_limits(
    *,
    actor: User | None,
    aircraft_type: AircraftType,
    limits: dict[str, Any],
    finding_tasks: dict[str, str] | None = None,
) -> AircraftType:
    """Set the envelope and limits flight logs are checked against (keys of
    ``kanat.flightlogs.findings.Limits``) and the task each finding code raises."""
    from kanat.flightlogs.findings import FINDING_CODES, Limits

    require(actor, Capability.MANAGE_REFERENCE)
    try:
        checked = Limits.from_mapping(limits).as_dict()
    except ValueError as exc:
        raise RuleViolation(str(exc), field="limits") from None
    tasks = dict(finding_tasks or {})
    for code, task in tasks.items():
        if code not in FINDING_CODES:
            raise RuleViolation(
                f"unknown finding {code!r}; findings are {', '.join(FINDING_CODES)}",
                field="finding_tasks",
            )
        if not isinstance(task, str) or not task:
            raise RuleViolation(
                f"finding {code}: the task code must be text", field="finding_tasks"
            )
    obj = AircraftType.objects.select_for_update().get(pk=aircraft_type.pk)
    before = {"limits": obj.limits, "finding_tasks": obj.finding_tasks}
    obj.limits = {k: v for k, v in checked.items() if v is not None}
    obj.finding_tasks = tasks
    obj.save(update_fields=["limits", "finding_tasks"])
    audit.record(
        actor=actor,
        action="fleet.set_type_limits",
        instance=obj,
        before=before,
        after={"limits": obj.limits, "finding_tasks": obj.finding_tasks},
    )
    return obj


@transaction.atomic
def create_variant(
    *,
    actor: User | None,
    aircraft_type: AircraftType,
    code: str,
    name: str = "",
    description: str = "",
    figures: dict[str, Any] | None = None,
) -> Variant:
    require(actor, Capability.MANAGE_REFERENCE)
    if Variant.objects.filter(code=code).exists():
        raise RuleViolation(f"variant {code} already exists", field="code")
    obj = Variant.objects.create(
        aircraft_type=aircraft_type,
        code=code,
        name=name,
        description=description,
        figures=figures or {},
    )
    audit.record(actor=actor, action="fleet.create_variant", instance=obj)
    return obj


@transaction.atomic
def create_part_number(
    *,
    actor: User | None,
    pn: str,
    description: str,
    tracking: str,
    manufacturer: str = "",
    ata: str = "",
    invented: bool = False,
) -> PartNumber:
    require(actor, Capability.MANAGE_REFERENCE)
    if tracking not in PartTracking.values:
        raise RuleViolation(
            f"tracking must be one of {', '.join(PartTracking.values)}, not {tracking!r}",
            field="tracking",
        )
    if PartNumber.objects.filter(pn=pn).exists():
        raise RuleViolation(f"part number {pn} already exists", field="pn")
    obj = PartNumber.objects.create(
        pn=pn,
        description=description,
        tracking=tracking,
        manufacturer=manufacturer,
        ata=ata,
        invented=invented,
    )
    audit.record(actor=actor, action="fleet.create_part_number", instance=obj)
    return obj


@transaction.atomic
def create_position(
    *,
    actor: User | None,
    variant: Variant,
    code: str,
    ata: str,
    name: str = "",
    parent: Position | None = None,
    part_numbers: Iterable[PartNumber] = (),
) -> Position:
    require(actor, Capability.MANAGE_REFERENCE)
    if parent is not None and parent.variant_id != variant.pk:
        raise RuleViolation(
            f"parent position {parent.code} belongs to {parent.variant.code}, not {variant.code}",
            field="parent",
        )
    if Position.objects.filter(variant=variant, code=code).exists():
        raise RuleViolation(f"{variant.code} already has a position {code}", field="code")
    if not ata.strip():
        raise RuleViolation("a position needs its ATA chapter", field="ata")
    obj = Position.objects.create(variant=variant, code=code, ata=ata, name=name, parent=parent)
    pns = list(part_numbers)
    not_serial = [p.pn for p in pns if p.tracking != PartTracking.SERIAL]
    if not_serial:
        raise RuleViolation(
            f"positions hold serialised parts; not serialised: {', '.join(not_serial)}",
            field="part_numbers",
        )
    obj.part_numbers.set(pns)
    after = audit.snapshot(obj) | {"part_numbers": sorted(p.pn for p in pns)}
    audit.record(actor=actor, action="fleet.create_position", instance=obj, after=after)
    return obj


@transaction.atomic
def allow_part_number(
    *, actor: User | None, position: Position, part_number: PartNumber
) -> Position:
    require(actor, Capability.MANAGE_REFERENCE)
    if part_number.tracking != PartTracking.SERIAL:
        raise RuleViolation(f"{part_number.pn} is not serialised", field="part_number")
    before = sorted(position.part_numbers.values_list("pn", flat=True))
    position.part_numbers.add(part_number)
    audit.record(
        actor=actor,
        action="fleet.allow_part_number",
        instance=position,
        before={"part_numbers": before},
        after={"part_numbers": sorted({*before, part_number.pn})},
    )
    return position


# --- aircraft and parts ---------------------------------------------------------------


@transaction.atomic
def register_aircraft(
    *,
    actor: User | None,
    serial: str,
    variant: Variant,
    operator: Operator,
    delivered: dt.date,
    opening_fh: float = 0.0,
    opening_fc: int = 0,
    planned_fh_per_day: float | None = None,
    planned_fc_per_day: float | None = None,
) -> Aircraft:
    require(actor, Capability.MANAGE_FLEET)
    serial = serial.strip()
    if not serial:
        raise RuleViolation("an aircraft needs a serial", field="serial")
    _non_negative(opening_fh, "opening_fh")
    _non_negative(opening_fc, "opening_fc")
    for name, rate in (
        ("planned_fh_per_day", planned_fh_per_day),
        ("planned_fc_per_day", planned_fc_per_day),
    ):
        if rate is not None:
            _non_negative(rate, name)
    if Aircraft.objects.filter(serial=serial).exists():
        raise RuleViolation(f"aircraft {serial} already exists", field="serial")
    obj = Aircraft.objects.create(
        serial=serial,
        variant=variant,
        operator=operator,
        delivered=delivered,
        opening_fh=opening_fh,
        opening_fc=opening_fc,
        planned_fh_per_day=planned_fh_per_day,
        planned_fc_per_day=planned_fc_per_day,
    )
    audit.record(actor=actor, action="fleet.register_aircraft", instance=obj, operator=operator)
    return obj


@transaction.atomic
def register_part(
    *,
    actor: User | None,
    part_number: PartNumber,
    serial: str,
    manufactured: dt.date,
    opening_fh: float = 0.0,
    opening_fc: int = 0,
    operator: Operator | None = None,
) -> Part:
    require(actor, Capability.MANAGE_FLEET)
    if part_number.tracking != PartTracking.SERIAL:
        raise RuleViolation(
            f"{part_number.pn} is tracked by {part_number.tracking}, not by serial",
            field="part_number",
        )
    serial = serial.strip()
    if not serial:
        raise RuleViolation("a part needs a serial", field="serial")
    _non_negative(opening_fh, "opening_fh")
    _non_negative(opening_fc, "opening_fc")
    if Part.objects.filter(part_number=part_number, serial=serial).exists():
        raise RuleViolation(f"part {part_number.pn}/{serial} already exists", field="serial")
    obj = Part.objects.create(
        part_number=part_number,
        serial=serial,
        manufactured=manufactured,
        opening_fh=opening_fh,
        opening_fc=opening_fc,
        operator=operator,
    )
    audit.record(actor=actor, action="fleet.register_part", instance=obj, operator=operator)
    return obj


# --- configuration --------------------------------------------------------------------


def _overlaps(qs: Any, start: dt.datetime, end: dt.datetime | None) -> Any:
    """Rows of qs whose [installed_at, removed_at) meets [start, end)."""
    qs = qs.filter(Q(removed_at__isnull=True) | Q(removed_at__gt=start))
    if end is not None:
        qs = qs.filter(installed_at__lt=end)
    return qs


@transaction.atomic
def install_part(
    *,
    actor: User | None,
    part: Part,
    aircraft: Aircraft,
    position: Position,
    installed_at: dt.datetime,
    removed_at: dt.datetime | None = None,
    removal_reason: str = "",
    reference: str = "",
) -> Installation:
    """Fit a part into a position of an aircraft from ``installed_at`` on.

    ``removed_at`` records a closed, historical installation (a migrated record).
    """
    require(actor, Capability.CHANGE_CONFIGURATION)
    installed_at = _aware(installed_at, "installed_at")
    if removed_at is not None:
        removed_at = _aware(removed_at, "removed_at")
        if removed_at <= installed_at:
            raise RuleViolation(
                f"removed_at {removed_at.isoformat()} is not after installed_at "
                f"{installed_at.isoformat()}",
                field="removed_at",
            )
        if removal_reason and removal_reason not in RemovalReason.values:
            raise RuleViolation(
                f"unknown removal reason {removal_reason!r}", field="removal_reason"
            )
    # Lock the part and the aircraft so that two people fitting the same part, or into
    # the same position, serialise here; the loser sees the winner's row below.
    part = (
        Part.objects.select_for_update(of=("self",)).select_related("part_number").get(pk=part.pk)
    )
    aircraft = (
        Aircraft.objects.select_for_update(of=("self",))
        .select_related("variant")
        .get(pk=aircraft.pk)
    )
    if removed_at is None:
        _not_in_stores(part)
    if position.variant_id != aircraft.variant_id:
        raise RuleViolation(
            f"position {position.code} belongs to {position.variant.code}; "
            f"{aircraft.serial} is a {aircraft.variant.code}",
            field="position",
        )
    if not position.part_numbers.filter(pk=part.part_number_id).exists():
        allowed = ", ".join(position.part_numbers.values_list("pn", flat=True)) or "none"
        raise RuleViolation(
            f"{part.part_number.pn} is not allowed in {aircraft.variant.code} position "
            f"{position.code} (allowed: {allowed})",
            field="position",
        )
    if installed_at.date() < part.manufactured:
        raise RuleViolation(
            f"{part} was manufactured on {part.manufactured.isoformat()}, after "
            f"{installed_at.isoformat()}",
            field="installed_at",
        )
    if part.operator_id is not None and part.operator_id != aircraft.operator_id:
        raise RuleViolation(
            f"{part} belongs to another operator than {aircraft.serial}'s; transfer it first",
            field="part",
        )
    clash = (
        _overlaps(Installation.objects.filter(part=part), installed_at, removed_at)
        .select_related("aircraft", "position")
        .first()
    )
    if clash is not None:
        raise Conflict(
            f"{part} is already installed on {clash.aircraft.serial} position "
            f"{clash.position.code} from {clash.installed_at.isoformat()}"
            + (f" to {clash.removed_at.isoformat()}" if clash.removed_at else " (still fitted)"),
            field="part",
        )
    taken = (
        _overlaps(
            Installation.objects.filter(aircraft=aircraft, position=position),
            installed_at,
            removed_at,
        )
        .select_related("part__part_number")
        .first()
    )
    if taken is not None:
        raise Conflict(
            f"{aircraft.serial} position {position.code} already holds {taken.part} from "
            f"{taken.installed_at.isoformat()}"
            + (f" to {taken.removed_at.isoformat()}" if taken.removed_at else " (still fitted)"),
            field="position",
        )
    try:
        with transaction.atomic():
            obj = Installation.objects.create(
                part=part,
                aircraft=aircraft,
                position=position,
                installed_at=installed_at,
                removed_at=removed_at,
                removal_reason=removal_reason if removed_at else "",
                reference=reference,
            )
    except IntegrityError as exc:  # a concurrent installation won the race
        raise Conflict(
            f"{part} or position {position.code} was changed by someone else; reload and retry"
        ) from exc
    if part.operator_id is None:
        before = audit.snapshot(part)
        part.operator_id = aircraft.operator_id
        part.save(update_fields=["operator"])
        audit.record(
            actor=actor,
            action="fleet.assign_part_owner",
            instance=part,
            operator=aircraft.operator_id,
            before=before,
        )
    audit.record(
        actor=actor, action="fleet.install_part", instance=obj, operator=aircraft.operator_id
    )
    return obj


def _not_in_stores(part: Part) -> None:
    """A part on a stores shelf is fitted only once the stores have issued it (to the work
    package or build order): the stock and the configuration never both hold it."""
    from kanat.inventory.models import StockItem

    item = StockItem.objects.select_related("location").filter(part=part, quantity__gt=0).first()
    if item is not None:
        raise RuleViolation(
            f"{part} is in stores ({item.location.code}, {item.get_status_display().lower()}): "
            "have the stores issue it to the work before fitting it",
            field="part",
        )


@transaction.atomic
def remove_part(
    *,
    actor: User | None,
    part: Part,
    removed_at: dt.datetime,
    reason: str,
    reference: str = "",
    installation: Installation | None = None,
) -> Installation:
    """Close the part's open installation at ``removed_at``.

    ``installation`` names the row the caller saw: if it was closed (or replaced) in the
    meantime, the removal is refused instead of closing another row."""
    require(actor, Capability.CHANGE_CONFIGURATION)
    removed_at = _aware(removed_at, "removed_at")
    if reason not in RemovalReason.values:
        raise RuleViolation(
            f"removal reason must be one of {', '.join(RemovalReason.values)}, not {reason!r}",
            field="reason",
        )
    Part.objects.select_for_update().get(pk=part.pk)
    current = (
        Installation.objects.select_for_update(of=("self",))
        .filter(part=part, removed_at__isnull=True)
        .select_related("aircraft", "position")
        .first()
    )
    if current is None:
        raise Conflict(f"{part} is not installed anywhere", field="part")
    if installation is not None and current.pk != installation.pk:
        raise Conflict(
            f"installation {installation.pk} is no longer the open one of {part}; reload",
            field="installation",
        )
    if removed_at <= current.installed_at:
        raise RuleViolation(
            f"removal at {removed_at.isoformat()} is not after its installation at "
            f"{current.installed_at.isoformat()}",
            field="removed_at",
        )
    before = audit.snapshot(current)
    current.removed_at = removed_at
    current.removal_reason = reason
    if reference:
        current.reference = f"{current.reference}; {reference}" if current.reference else reference
    current.save(update_fields=["removed_at", "removal_reason", "reference"])
    audit.record(
        actor=actor,
        action="fleet.remove_part",
        instance=current,
        operator=current.aircraft.operator_id,
        before=before,
    )
    return current


@transaction.atomic
def transfer_part(*, actor: User | None, part: Part, operator: Operator | None) -> Part:
    """Change the owner of a part that is not installed (e.g. back to the hub pool)."""
    require(actor, Capability.MANAGE_FLEET)
    part = Part.objects.select_for_update().get(pk=part.pk)
    if Installation.objects.filter(part=part, removed_at__isnull=True).exists():
        raise RuleViolation(f"{part} is installed: remove it before transferring it", field="part")
    before = audit.snapshot(part)
    part.operator = operator
    part.save(update_fields=["operator"])
    audit.record(
        actor=actor,
        action="fleet.transfer_part",
        instance=part,
        operator=operator or before["operator_id"],
        before=before,
    )
    return part


# --- flights --------------------------------------------------------------------------


@dataclass(frozen=True)
class FlightInput:
    takeoff: dt.datetime
    landing: dt.datetime
    cycles: int = 1
    source_ref: str = ""


@transaction.atomic
def record_flights(
    *,
    actor: User | None,
    aircraft: Aircraft,
    flights: Sequence[FlightInput],
    source: str = FlightSource.MANUAL,
) -> list[Flight]:
    """Record one aircraft's flights, all or nothing.

    Refused, naming the flight: a landing not after its takeoff, negative cycles, a
    flight that overlaps another (in the batch or already recorded). A flight may land
    exactly when the next takes off.
    """
    require(actor, Capability.RECORD_FLIGHT)
    if actor is not None and actor.operator_id not in (None, aircraft.operator_id):
        raise RuleViolation(f"aircraft {aircraft.serial} is not yours", field="aircraft")
    if source not in FlightSource.values:
        raise RuleViolation(f"unknown flight source {source!r}", field="source")
    rows: list[tuple[dt.datetime, dt.datetime, int, str]] = []
    latest = timezone.now() + CLOCK_ALLOWANCE
    for n, f in enumerate(flights, start=1):
        takeoff = _aware(f.takeoff, f"flight {n} takeoff")
        landing = _aware(f.landing, f"flight {n} landing")
        if landing <= takeoff:
            raise RuleViolation(
                f"flight {n}: landing {landing.isoformat()} is not after takeoff "
                f"{takeoff.isoformat()}",
                field="landing",
            )
        if landing > latest:  # by hand, from a file or a log's clock: never ahead of now
            raise RuleViolation(
                f"flight {n}: landing {landing.isoformat()} is in the future", field="landing"
            )
        if f.cycles is None or f.cycles < 0:
            raise RuleViolation(
                f"flight {n}: cycles must be zero or more, not {f.cycles}", field="cycles"
            )
        rows.append((takeoff, landing, f.cycles, f.source_ref))
    if not rows:
        return []
    aircraft = (
        Aircraft.objects.select_for_update(of=("self",))
        .select_related("variant__aircraft_type")
        .get(pk=aircraft.pk)
    )
    if aircraft.variant.aircraft_type.kind != AssetKind.AIRCRAFT:
        raise RuleViolation(
            f"{aircraft.serial} is a ground asset: it does not fly", field="aircraft"
        )
    rows.sort()
    for prev, cur in zip(rows, rows[1:], strict=False):
        if cur[0] < prev[1]:
            raise RuleViolation(
                f"flights {prev[0].isoformat()}–{prev[1].isoformat()} and "
                f"{cur[0].isoformat()}–{cur[1].isoformat()} overlap",
                field="takeoff",
            )
    existing = list(
        Flight.objects.filter(
            aircraft=aircraft, takeoff__lt=rows[-1][1], landing__gt=rows[0][0]
        ).values_list("takeoff", "landing")
    )
    if existing:
        existing.sort()
        starts = [e[0] for e in existing]
        for takeoff, landing, _c, _r in rows:
            i = bisect.bisect_left(starts, landing)
            # candidates: existing flights starting before this landing; the latest-ending
            # among those just before i decides (flights of one aircraft never overlap)
            if i > 0 and existing[i - 1][1] > takeoff:
                other = existing[i - 1]
                raise Conflict(
                    f"{aircraft.serial} already has a flight from {other[0].isoformat()} to "
                    f"{other[1].isoformat()} that overlaps {takeoff.isoformat()}–"
                    f"{landing.isoformat()}",
                    field="takeoff",
                )
    created = Flight.objects.bulk_create(
        [
            Flight(
                aircraft=aircraft,
                takeoff=takeoff,
                landing=landing,
                cycles=cycles,
                source=source,
                source_ref=ref,
            )
            for takeoff, landing, cycles, ref in rows
        ]
    )
    if any(f.pk is None for f in created):  # backends without RETURNING
        created = list(
            Flight.objects.filter(
                aircraft=aircraft, takeoff__gte=rows[0][0], landing__lte=rows[-1][1]
            ).order_by("takeoff")
        )
    audit.record_many(
        actor=actor,
        action="fleet.record_flight",
        instances=created,
        operator=aircraft.operator_id,
        via=source,
    )
    return created


def record_flight(
    *,
    actor: User | None,
    aircraft: Aircraft,
    takeoff: dt.datetime,
    landing: dt.datetime,
    cycles: int = 1,
    source: str = FlightSource.MANUAL,
    source_ref: str = "",
) -> Flight:
    """Record one flight (see ``record_flights``)."""
    return record_flights(
        actor=actor,
        aircraft=aircraft,
        flights=[FlightInput(takeoff, landing, cycles, source_ref)],
        source=source,
    )[0]
